"""What the run's in-flight checks cost as the journal grows: each tick (5 a second) the run
evaluates its stop conditions, the live view (traffic line and node table) and whether every node
hypothesis is decided.  Before: each rescanned the whole journal.  Now each reads a fold kept
record by record as the journal's listener: traffic (chaos/evidence/traffic_fold.py) and the interrupted
nodes' milestones (MilestoneFold in chaos/evidence/milestones.py), whose cost is that of the interrupted
nodes' own records, not the journal's.

The journal is a run's: 200 nodes with their pods and targets changing state, one traffic record
a second, one node interrupted.  Prints the cost of one tick after one new record, at 10k and 100k
journal records, side by side.

    .venv/bin/python bench/journal_checks.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos.evidence.milestones import MilestoneFold, node_milestones  # noqa: E402
from chaos.evidence.traffic_fold import TrafficFold  # noqa: E402
from chaos.evidence.traffic_stats import traffic_stats  # noqa: E402
from chaos.journal import parse_record  # noqa: E402
from chaos.spec import Scope, parse_experiment  # noqa: E402
from chaos.verdict.outcome import evaluate  # noqa: E402

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
        pod = rng.randint(0, 999)  # 1,000 pods, five a node, each on its own node and IP
        node = pod // 5 + 1
        if kind == "pod":
            records.append({"t": t, "kind": "pod", "pod": f"default/resnet-v1-x-{pod}", "node": f"n{node}", "ip": f"10.0.{pod // 250}.{pod % 250}",
                            "ready": rng.random() < 0.9})
        elif kind == "target":
            records.append({"t": t, "kind": "target", "target": f"10.0.{pod // 250}.{pod % 250}", "state": rng.choice(("healthy", "unhealthy"))})
        else:
            records.append({"t": t, "kind": "node", "node": f"n{node}", "instance": f"i-{node:016x}", "ready": True})
    return records


def per_tick(fn, repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def measure(n: int) -> None:
    records = [parse_record(r) for r in journal(n)]
    fold = TrafficFold()
    nodes = MilestoneFold()
    for r in records:
        fold.add(r)
        nodes.add(r)
    nxt = parse_record({"t": 1e9, "kind": "traffic", "second": 10**6, "start_t": 1e6, "end_t": 1e6 + 1, "requests": 400})
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

    node_scope = frozenset({Scope.NODE})
    pod_update = parse_record({"t": 1e9, "kind": "pod", "pod": "default/resnet-v1-x-999", "node": "n200", "ip": "10.0.3.249", "ready": True})

    def decided_before() -> None:
        evaluate(SPEC, records, records[-1].t, final=False, scopes=node_scope)

    def decided_now() -> None:
        nodes.add(pod_update)
        evaluate(SPEC, [], records[-1].t, final=False, scopes=node_scope, nodes=nodes.milestones())

    def table_before() -> None:
        node_milestones(records)

    def table_now() -> None:
        nodes.add(pod_update)
        nodes.milestones()

    checks = (("stop conditions", stop_before, stop_now), ("live view traffic line", live_before, live_now),
              ("live view node table", table_before, table_now), ("decided", decided_before, decided_now))
    for name, before, now in checks:
        print(f"{n:>8,}  {name:<22} {per_tick(before, repeat):13.3f} ms {per_tick(now, 500):9.4f} ms")


def main() -> None:
    print(f"{'records':>8}  {'check':<22} {'rescan (before)':>16} {'fold (now)':>12}")
    for n in (10_000, 100_000):
        measure(n)


if __name__ == "__main__":
    main()
