"""The run history at scale: the time to record one run (its row, hypotheses and node milestones,
one transaction) and the time `spotchaos trend` takes (the queries, the trend logic, the Markdown
and the HTML page with its charts) with 10,000 runs of one experiment stored, on SQLite and on
PostgreSQL side by side.  PostgreSQL is a server this script starts (Debian's binaries, as the
tests do; skipped when absent).

    .venv/bin/python bench/history_store.py                # 10,000 runs
    .venv/bin/python bench/history_store.py --runs 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.history import trend_page  # noqa: E402
from chaos.history.rows import RunRows, run_rows  # noqa: E402
from chaos.history.store import hypothesis_history, milestone_history, open_store, record  # noqa: E402
from chaos.history.trend import milestone_trends, trends  # noqa: E402
from chaos.journal import read_journal  # noqa: E402
from chaos.report.data import build  # noqa: E402
from tests.unit.test_verdicts import good_journal  # noqa: E402


def template(directory: Path) -> RunRows:
    records = good_journal()
    records[0] |= {"run_id": "template", "wall": "2026-01-01T00:00:00Z"}
    (directory / "journal.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return run_rows(build(read_journal(directory / "journal.jsonl")), str(directory))


def nth_run(rows: RunRows, i: int) -> RunRows:
    run_id = f"bench-{i:06d}"
    started = (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")  # hourly runs
    wobble = (i * 7919 % 100) / 100
    return RunRows({**rows.run, "run_id": run_id, "started": started},
                   [{**h, "run_id": run_id, "value": None if h["value"] is None else h["value"] * (0.9 + 0.2 * wobble)} for h in rows.hypotheses],
                   [{**m, "run_id": run_id, "seconds": m["seconds"] * (0.9 + 0.2 * wobble)} for m in rows.milestones])


def measure(url: str, rows: RunRows, runs: int) -> dict[str, float]:
    engine = open_store(url)
    write_ms: list[float] = []
    for i in range(runs):
        start = time.perf_counter()
        record(engine, nth_run(rows, i))
        write_ms.append((time.perf_counter() - start) * 1000)
    experiment = rows.run["experiment"]
    start = time.perf_counter()
    items = trends(hypothesis_history(engine, experiment))
    milestones = milestone_trends(milestone_history(engine, experiment))
    queried = time.perf_counter()
    trend_page.markdown_page(experiment, items, milestones)
    trend_page.html_page(experiment, items, milestones)
    done = time.perf_counter()
    return {"write_first_100_ms": statistics.mean(write_ms[:100]), "write_last_100_ms": statistics.mean(write_ms[-100:]),
            "trend_query_s": queried - start, "trend_total_s": done - start, "points": float(sum(len(t.points) for t in items))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="history-bench-"))
    rows = template(work)
    print(f"{args.runs} runs of one experiment, {len(rows.hypotheses)} hypotheses and {len(rows.milestones)} milestone rows each", flush=True)
    results = {"SQLite (WAL)": measure(f"sqlite:///{work / 'history.sqlite'}", rows, args.runs)}
    from tests.postgres import _binaries, fresh_database, postgres_server

    if _binaries() is not None:
        with postgres_server() as base:
            results["PostgreSQL 15"] = measure(fresh_database(base), rows, args.runs)
    else:
        print("PostgreSQL: not installed here; SQLite only")
    print(f"\n{'store':16} {'write/run, first 100':>22} {'write/run, last 100':>21} {'trend queries':>14} {'trend total':>12}")
    for name, r in results.items():
        print(f"{name:16} {r['write_first_100_ms']:19.2f} ms {r['write_last_100_ms']:18.2f} ms {r['trend_query_s']:12.2f} s {r['trend_total_s']:10.2f} s")


if __name__ == "__main__":
    main()
