"""The merge of load shards' reports (ClusterTraffic._take, no cluster needed: the reports are
fed as the log follower hands them over): a shard's seconds count once, also when it was
declared lost and its end report still arrives afterwards."""

from __future__ import annotations

from pathlib import Path

from chaos.clock import RunClock
from chaos.journal import Journal, of
from chaos.journal.records import ExperimentRecord, ShardLostRecord
from chaos.load.profile import constant
from chaos.load.run import LoadSpec
from chaos.load.stats import Outcome, Recorder
from chaos.observe.cluster_traffic import ClusterTraffic, ShardPlacement
from chaos.spec import Traffic
from chaos.undo.writer import UndoWriter


def _recorder(requests: int) -> Recorder:
    r = Recorder(per_second_histograms=True)
    for _ in range(requests):
        r.record(0.5, 0.01, Outcome.OK, 200)
    r.flush()
    return r


def test_a_lost_shards_late_end_report_is_not_counted_twice(tmp_path: Path) -> None:
    clock = RunClock()
    journal = Journal(tmp_path / "journal.jsonl", clock)
    journal.write(ExperimentRecord(name="x", spec={}, run_id="x-1"))
    traffic = Traffic(placement="cluster", shards=2, body="none")
    ct = ClusterTraffic(traffic, LoadSpec("http://127.0.0.1:9/", constant(10, 2), per_second_histograms=True), journal, clock,
                        ShardPlacement(None, "ns", "x-1", UndoWriter(journal), 1.0), lambda t0, buckets: None)
    seen = _recorder(5)
    ct._take(1, {"index": 1, "live": {"0": seen.buckets[0].encode()}}, 0.0)
    ct._lost(ct.shards[1], "its node is gone")
    ct._take(1, {"index": 1, "final": {"recorder": seen.encode(), "dispatched": 5, "last_dispatch": 0.5, "lateness": ""}}, 1.0)
    assert ct.merged.recorder.totals()[Outcome.OK] == 5  # from the live seconds, once
    assert [r.index for r in of(journal.snapshot(), ShardLostRecord)] == [1]
