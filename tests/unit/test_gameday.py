"""The game day's pure parts: the prompt the driver types into, the go/no-go checks from what the
run recorded, the folds and screen the driver and observers see, following a journal being
written, an observer's note stamped in cluster time, and the postmortem draft."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from chaos.evidence.milestones import MilestoneFold
from chaos.evidence.traffic_fold import TrafficFold
from chaos.gameday.cluster_fold import ClusterFold
from chaos.gameday.follow import Follower, append_note, cluster_now
from chaos.gameday.prompt import ESC, Prompt
from chaos.gameday.screen import Decided, screen, sparkline
from chaos.journal import JournalError, read_journal_checked
from chaos.report.data import build
from chaos.report.postmortem import draft
from chaos.run.go_no_go import doctor_check, fis_check, from_records
from chaos.spec import parse_experiment
from cluster.doctor import Finding
from cluster.doctor.findings import Level
from tests.records import typed
from tests.unit.test_verdicts import NODE, SPEC, good_journal


def _type(prompt: Prompt, keys: str) -> Prompt:
    for k in keys:
        prompt.feed(k)
    return prompt


def test_the_go_prompt_takes_only_the_cluster_name_typed_exactly():
    p = _type(Prompt("type the cluster name", expect="prod-east"), "prod-wes\x7ft\r")
    assert not p.done and "not 'prod-east'" in p.hint and p.text == ""
    assert _type(p, "prod-east\r").done and p.answer == "prod-east"
    dropped = _type(Prompt("go?", expect="prod-east"), "pro" + ESC)
    assert dropped.done and dropped.answer is None


def test_a_confirmation_takes_y_and_nothing_else_and_an_empty_line_is_not_an_answer():
    assert _type(Prompt("abort?", single_key=True), "y").answer == "y"
    assert _type(Prompt("abort?", single_key=True), "a").answer is None
    note = _type(Prompt("note:"), "\r")
    assert not note.done and note.hint
    assert _type(note, "drain slow\r").answer == "drain slow"


def _spec():
    return parse_experiment(SPEC, "test")


def test_go_no_go_from_the_records_shows_evidence_and_fails_what_did_not_hold():
    records = [{"t": 0.0, "kind": "experiment"},
               {"t": 1.0, "kind": "guardrails", "target": "eks", "account": "111122223333", "context": "prod"},
               {"t": 1.0, "kind": "safety_lever", "status": "disengaged", "reason": ""},
               {"t": 5.0, "kind": "plan", "injections": [{"first_wave": [{"node": NODE, "az": "us-east-1a"}]}], "nodes": 5,
                "interrupted_at_most": 1, "share": 0.2},
               {"t": 30.0, "kind": "steady_state", "when": "before", "ok": False, "problems": ["error rate 2% over 1%"], "requests": 900,
                "error_rate": 0.02, "ready": 10, "desired": 10}]
    checks = {c.name: c for c in from_records(_spec(), typed(records))}
    assert checks["plan"].ok and NODE in checks["plan"].evidence and "1 of 5 nodes (20%" in checks["plan"].evidence
    assert checks["account and context allowed"].evidence == "account 111122223333, context prod"
    assert checks["FIS safety lever released"].ok
    assert not checks["steady state held"].ok and "error rate 2% over 1%" in checks["steady state held"].evidence
    engaged = from_records(_spec(), typed([*records[:2], {"t": 1.0, "kind": "safety_lever", "status": "engaged", "reason": "game over"}]))
    assert not {c.name: c for c in engaged}["FIS safety lever released"].ok
    assert not {c.name: c for c in engaged}["plan"].ok  # no plan recorded


def test_doctor_errors_and_fis_experiments_still_running_are_no_go():
    warning = Finding("nth", Level.WARNING, "ds/nth", "old", "why", "fix")
    error = Finding("nth", Level.ERROR, "ds/nth", "CORDON_ONLY=1: nodes are never drained", "why", "fix")
    assert doctor_check([warning]).ok
    assert not doctor_check([warning, error]).ok and "CORDON_ONLY=1" in doctor_check([error]).evidence
    assert fis_check([]).ok
    assert not fis_check([("EXP123", "run-1")]).ok and "EXP123 (run run-1)" in fis_check([("EXP123", "run-1")]).evidence


def _folded(records):
    fold, milestones, traffic = ClusterFold(), MilestoneFold(), TrafficFold()
    for r in typed(records):
        fold.add(r)
        milestones.add(r)
        traffic.add(r)
    return fold, milestones, traffic


def test_the_cluster_fold_counts_targets_nodes_and_replicas_as_they_change():
    records = good_journal()
    upto = [r for r in records if r["t"] <= 128.0]
    fold, _, _ = _folded(upto)
    assert fold.target_counts() == {"tg": {"draining": 1}}
    assert fold.replicas == {"serving/resnet-v1": (9, 10)}
    fold, _, _ = _folded(records)
    assert fold.target_counts() == {} and fold.replicas == {"serving/resnet-v1": (10, 10)}
    assert sum(total for _, total in fold.node_counts().values()) == 2


def test_the_screen_shows_the_countdown_to_the_reclaim_the_notes_and_the_prompt():
    records = [r for r in good_journal() if r["t"] <= 200.0] + [{"t": 200.0, "kind": "note", "text": "drain looks slow", "author": "ana"}]
    fold, milestones, traffic = _folded(records)
    console = Console(width=120, record=True, color_system=None)
    console.print(screen("unit", fold, milestones.milestones(), traffic, [Decided("cordoned-within", "pass", "5.0 s")],
                         prompt="Type the cluster name (prod) and Enter to GO"))
    text = console.export_text()
    assert NODE.split(".")[0] in text and "40s" in text  # reclaim at 240, now 200
    assert "note t=200s ana: drain looks slow" in text
    assert "pass      cordoned-within: 5.0 s" in text
    assert "Type the cluster name (prod)" in text
    assert "replicas serving/resnet-v1  10/10 Ready" in text and "nodes spot-a                1/1 Ready (SPOT)" in text


def test_sparkline_scales_to_its_top():
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([]) == ""


def test_a_follower_returns_whole_lines_only_as_they_are_written(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text('{"t":0.0,"kind":"experiment"}\n{"t":1.0,"kind":"pha')
    follower = Follower(path)
    assert [r.kind for r in follower.poll()] == ["experiment"]
    with path.open("a") as f:
        f.write('se","phase":"connect"}\n{"t":2.0,"kind":"node","ready":true}\n')  # the node record lacks its name
    assert [getattr(r, "phase", None) for r in follower.poll()] == ["connect"]
    assert follower.poll() == []


def test_cluster_time_now_runs_at_the_runs_speed_from_its_last_record():
    records = [{"t": 0.0, "kind": "experiment", "wall": "2026-11-27T10:00:00.000Z"},
               {"t": 0.5, "kind": "connected", "speed": 10.0, "wall": "2026-11-27T10:00:00.050Z"},
               {"t": 100.0, "kind": "phase", "phase": "observe", "wall": "2026-11-27T10:00:10.000Z"}]
    from datetime import datetime
    now = datetime.fromisoformat("2026-11-27T10:00:12+00:00").timestamp()
    assert cluster_now(typed(records), now) == pytest.approx(120.0)


def test_an_observers_note_lands_in_the_journal_and_a_finished_run_refuses_one(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in good_journal()))
    record = append_note(tmp_path, "ALB 5xx alarm fired", "observer-1")
    reading = read_journal_checked(path)
    assert reading.malformed == [] and reading.records[-1] == record
    assert record.author == "observer-1" and record.role == "observer"
    with path.open("a") as f:
        f.write(json.dumps({"t": 400.0, "kind": "verdict", "status": "passed"}) + "\n")
    with pytest.raises(JournalError, match="the run has ended"):
        append_note(Path(path), "too late", "observer-1")


def test_the_postmortem_draft_has_the_timeline_with_the_notes_in_place_and_empty_sections():
    records = good_journal() + [
        {"t": 110.0, "kind": "go_no_go", "check": "FIS safety lever released", "ok": True, "evidence": "disengaged"},
        {"t": 111.0, "kind": "override", "check": "doctor: cluster Spot-ready", "reason": "known finding, accepted", "author": "ana"},
        {"t": 112.0, "kind": "decision", "gate": "go", "go": True, "author": "ana"},
        {"t": 127.0, "kind": "note", "text": "NTH cordoned it", "author": "ana", "role": "driver"},
        {"t": 200.0, "kind": "rollback", "step": "stop traffic", "ok": True, "detail": "done"},
    ]
    text = draft(build(typed(sorted(records, key=lambda r: r["t"]))))
    timeline = text[text.index("## Timeline"):text.index("## Hypotheses")]
    lines = [line for line in timeline.splitlines() if line.startswith("| ") and "t (s)" not in line]
    whats = [line.split("|")[3].strip() for line in lines]
    assert whats.index("**go** (go) by ana") < whats.index(next(w for w in whats if w.startswith("one: spot-interruption")))
    note_at = whats.index("**note** (ana, driver): NTH cordoned it")
    assert whats[note_at - 1].startswith(f"{NODE}: first pod evicted") and whats[note_at + 1].startswith(f"{NODE}: out of the load balancer")
    assert "**override** of doctor: cluster Spot-ready by ana: known finding, accepted" in whats
    assert "- ok: stop traffic (done)" in text
    for section in ("## Impact", "## What went well", "## What went wrong", "## Action items"):
        assert section in text
