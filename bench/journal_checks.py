"""What the run's in-flight checks cost as the journal grows: each tick (5 a second) the run
evaluates its stop conditions, the live view's traffic line and whether every node hypothesis is
decided.  Before: each rescanned the whole journal.  Now stop conditions and the traffic line read
a fold kept record by record (chaos/traffic_fold.py); "decided" still rescans (not yet a fold).

Prints the cost of one tick after one new record, at 10k and 100k journal records, side by side.

    .venv/bin/python bench/journal_checks.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.spec import parse_experiment  # noqa: E402
from chaos.traffic_fold import TrafficFold  # noqa: E402
from chaos.traffic_stats import traffic_stats  # noqa: E402
from chaos.verify import evaluate  # noqa: E402

SPEC = parse_experiment({"name": "bench", "cluster": {"profile": None}, "injections": [{"via": "fis"}],
                         "hypotheses": [{"check": "cordoned-within", "max": 10}, {"check": "drained-before-reclaim"}, {"check": "error-rate", "max": 0.01}],
                         "stop_conditions": [{"error_rate": 0.5, "window": "20s"}]})


def journal(n: int) -> list[dict]:
    """A run's journal of n records: one traffic record a second, the rest pods, nodes and targets."""
    rng = random.Random(n)
    records: list[dict] = [{"t": 0.0, "kind": "experiment", "name": "bench"},
                           {"t": 1.0, "kind": "injected", "instance": "i-0000000000000001", "node": "n1", "action": "spot-interruption", "reclaim_t": 121.0}]
    second = 0
    while len(records) < n:
        t = len(records) / 50
        if t >= second:
            records.append({"t": t, "kind": "traffic", "second": second, "start_t": float(second), "end_t": second + 1.0, "requests": 400, "backend_5xx": rng.randint(0, 2)})
            second += 1
        kind = rng.choice(("pod", "target", "node"))
        if kind == "pod":
            records.append({"t": t, "kind": "pod", "pod": f"default/resnet-v1-x-{rng.randint(0, 40)}", "node": f"n{rng.randint(1, 20)}", "ready": True})
        elif kind == "target":
            records.append({"t": t, "kind": "target", "target": f"10.0.0.{rng.randint(1, 40)}", "state": "healthy"})
        else:
            records.append({"t": t, "kind": "node", "node": f"n{rng.randint(1, 20)}", "instance": f"i-{rng.randint(1, 20):016x}", "ready": True})
    return records


def per_tick(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def measure(n: int) -> None:
    records = journal(n)
    fold = TrafficFold()
    for r in records:
        fold.add(r)
    nxt = {"t": 1e9, "kind": "traffic", "second": 10**6, "start_t": 1e6, "end_t": 1e6 + 1, "requests": 400}
    repeat = 20 if n <= 10_000 else 5

    def stop_before() -> None:
        traffic_stats(records + [nxt]).recent_rate(20)

    def stop_now() -> None:
        fold.add(nxt)
        fold.recent_rate(20)

    def live_before() -> None:
        stats = traffic_stats(records)
        _ = (stats.seconds[-5:], stats.requests)

    def live_now() -> None:
        _ = (fold.recent(5), fold.requests)

    def decided() -> None:
        evaluate(SPEC, records, records[-1]["t"], final=False)

    for name, before, now in (("stop conditions", stop_before, stop_now), ("live view traffic line", live_before, live_now), ("decided", decided, None)):
        b = per_tick(before, repeat)
        a = f"{per_tick(now, 2000):9.4f} ms" if now else "   (rescan)"
        print(f"{n:>8,}  {name:<22} {b:13.3f} ms {a:>12}")


def main() -> None:
    print(f"{'records':>8}  {'check':<22} {'rescan (before)':>16} {'fold (now)':>12}")
    for n in (10_000, 100_000):
        measure(n)


if __name__ == "__main__":
    main()
