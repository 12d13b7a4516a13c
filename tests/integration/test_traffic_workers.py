"""An experiment's traffic from two worker processes (`traffic.workers: 2`) against the
fixed-delay target: the journal gets one `traffic` record per second, written while the load
goes, with every request of the schedule counted once and the target's latency, as with one
process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chaos.clock import RunClock
from chaos.journal import Journal
from chaos.journal.records import ExperimentRecord, TrafficRecord
from chaos.observe.traffic import TrafficRun
from chaos.spec import Traffic
from tests.integration.test_generator_latency import fixed_delay_url  # noqa: F401 - the fixture
from tests.support.journals import read_whole_journal

pytestmark = pytest.mark.integration


async def test_two_workers_write_the_seconds_as_they_go_and_count_each_request_once(fixed_delay_url: str, tmp_path: Path) -> None:  # noqa: F811
    journal = Journal(tmp_path / "journal.jsonl", RunClock())
    journal.write(ExperimentRecord(name="traffic-workers"))
    run = TrafficRun(Traffic(rate=200, body="tensor", workers=2), fixed_delay_url, journal, RunClock(), 4.0)
    seen_while_running: list[int] = []
    journal.listeners.append(lambda r: seen_while_running.append(r.second) if isinstance(r, TrafficRecord) and not task.done() else None)
    task = asyncio.create_task(run.run())
    summary = await task
    journal.close()
    assert summary["workers"] == 2 and summary["dispatched"] == summary["completed"] == summary["outcomes"]["ok"] == 800
    traffic = [r for r in read_whole_journal(journal.path) if r["kind"] == "traffic"]
    latest = {r["second"]: r for r in traffic}
    assert [latest[s]["requests"] for s in sorted(latest)] == [200, 200, 200, 200]
    # nothing answers faster than the delay; the tail gets room: this runs on a 2-core machine beside the simulator
    assert all(20.0 <= latest[s]["p99_ms"] <= 40.0 for s in latest), [latest[s]["p99_ms"] for s in sorted(latest)]
    assert seen_while_running, "no second was written while the load went"
