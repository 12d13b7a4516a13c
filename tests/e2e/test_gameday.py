"""A game day driven as a person drives it: tmux runs `spotchaos gameday` on the simulator,
send-keys answers the prompts, types a note and presses `a` mid-run, capture-pane reads the
screen; an observer adds a note with `spotchaos note` and follows along with `spotchaos watch` in
a second window.  Asserts what the screens show at each step, that the journal holds the notes at
the right times, that the abort rolled everything back, and that the postmortem draft has the
timeline with the notes.  tmux is a real terminal here: nothing of the program is mocked."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from chaos.verdict.outcome import left_behind
from cluster.waiting import wait_for
from tests.e2e.test_experiments import ROOT
from tests.records import typed
from tests.support.journals import read_whole_journal

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("spot_sim_forks")]  # runs fork their simulators from the session's server

Tmux = Callable[..., str]


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed; .ci/run installs it")
        pytest.skip("tmux is not installed here (Debian's tmux); CI installs it")
    socket = tmp_path / "tmux.sock"

    def run(*args: str) -> str:
        return subprocess.run(["tmux", "-S", str(socket), *args], capture_output=True, text=True, check=True).stdout

    yield run
    subprocess.run(["tmux", "-S", str(socket), "kill-server"], capture_output=True)


def _screen(tmux: Tmux, target: str) -> str:
    return tmux("capture-pane", "-p", "-J", "-t", target)  # -J: a line the terminal wrapped reads whole


def _shows(tmux: Tmux, target: str, pattern: str, timeout: float, what: str) -> re.Match[str]:
    return wait_for(lambda: re.search(pattern, _screen(tmux, target)), timeout, what, describe=lambda: _screen(tmux, target)[-1500:])


def _journal(out: Path) -> str:
    path = out / "journal.jsonl"
    return path.read_text() if path.exists() else ""


def _start_day(tmux: Tmux, tmp_path: Path, experiment_file: str, size: tuple[int, int]) -> Path:
    """The experiment, with a long tail (the abort comes mid-run, never after the verdict), as a
    game day in a tmux window of `size`; returns its run directory."""
    out = tmp_path / "day"
    experiment = yaml.safe_load((ROOT / "experiments" / experiment_file).read_text())
    experiment["traffic"]["tail"] = "10m"
    (tmp_path / "day.yaml").write_text(yaml.safe_dump(experiment, sort_keys=False))
    cli = f"{shlex.quote(sys.executable)} -m chaos.cli"
    day = f"cd {shlex.quote(str(ROOT))} && SPOTCHAOS_AUTHOR=ana {cli} gameday {tmp_path}/day.yaml --report-dir {out}; " \
          f"echo $? > {tmp_path}/exit-code"
    # a detached tmux sizes its windows by default-size; remain-on-exit keeps a pane readable after its program ends
    tmux("-f", "/dev/null", "new-session", "-d", "-s", "setup", ";", "set-option", "-g", "default-size", f"{size[0]}x{size[1]}", ";",
         "set-option", "-g", "remain-on-exit", "on")
    tmux("new-session", "-d", "-s", "day", "-x", str(size[0]), "-y", str(size[1]), day)
    return out


def _type(tmux: Tmux, text: str) -> None:
    tmux("send-keys", "-t", "day:0", "-l", text)
    tmux("send-keys", "-t", "day:0", "Enter")


def _ended(tmux: Tmux, tmp_path: Path) -> str:
    code = wait_for(lambda: (tmp_path / "exit-code").read_text().strip() if (tmp_path / "exit-code").exists() else None, 180, "the game day to end")
    assert code == "2", _screen(tmux, "day:0")
    return code


def _check_the_record(out: Path, notes: set[str], gates: tuple[str, ...] = ("go",)) -> str:
    """The journal: the go (and each later gate), the notes between the injection and the abort, a
    complete rollback; the postmortem: the timeline with the notes and the abort in order, the
    team's sections."""
    records = read_whole_journal(out / "journal.jsonl")
    by_kind = {k: [r for r in records if r["kind"] == k] for k in ("decision", "note", "injected", "abort", "go_no_go")}
    assert [(d["gate"], d["go"], d["author"]) for d in by_kind["decision"]] == [(g, True, "ana") for g in gates]
    assert len(by_kind["go_no_go"]) >= 6 and all(c["ok"] for c in by_kind["go_no_go"])
    injected_t, abort_t = min(r["t"] for r in by_kind["injected"]), by_kind["abort"][0]["t"]
    assert {n["author"] for n in by_kind["note"]} == notes
    for n in by_kind["note"]:
        assert injected_t <= n["t"] <= abort_t, (n, injected_t, abort_t)
    assert by_kind["abort"][0]["reason"] == "aborted by the driver, ana"
    assert left_behind(typed(records)) == []
    assert all(r["ok"] for r in records if r["kind"] == "rollback")
    postmortem = (out / "postmortem.md").read_text()
    assert "![timeline](timeline.png)" in postmortem and (out / "timeline.png").exists()
    timeline = postmortem[postmortem.index("## Timeline"):postmortem.index("## Hypotheses")]
    assert "**aborted**: aborted by the driver, ana" in timeline
    for section in ("## Impact", "## What went well", "## What went wrong", "## Action items"):
        assert section in postmortem
    return timeline


def test_a_guided_game_day_with_notes_an_observer_and_an_abort(tmux: Tmux, tmp_path: Path) -> None:
    out = _start_day(tmux, tmp_path, "single-spot-node-fis.yaml", (160, 50))
    cli = f"{shlex.quote(sys.executable)} -m chaos.cli"

    # go / no-go: executed checks with their evidence, then the cluster's name typed to go
    go = _shows(tmux, "day:0", r"Type the cluster name \((\S+)\) and Enter to GO", 150, "the go prompt")
    screen = _screen(tmux, "day:0")
    for check in ("pass  plan: takes 1 of", "pass  FIS safety lever released", "pass  steady state held", "pass  no FIS experiment of ours running"):
        assert check in screen, screen
    _type(tmux, "not-the-cluster")
    _shows(tmux, "day:0", r"that is not '" + re.escape(go.group(1)), 10, "the wrong name refused")
    assert '"decision"' not in _journal(out)
    _type(tmux, go.group(1))

    # the observers' window follows the same run
    # (the shell outlives watch so that the pane keeps what watch printed last: a dead pane shows tmux's own screen)
    tmux("new-window", "-d", "-t", "day", f"cd {shlex.quote(str(ROOT))} && {cli} watch {out}; sleep 600")
    wait_for(lambda: '"kind":"injected"' in _journal(out), 120, "the injection")
    _shows(tmux, "day:0", r"reclaim in", 30, "the interrupted node on the driver's screen")
    node = re.search(r'"kind":"injected".*?"node":"([^"]+)"', _journal(out))
    assert node is not None
    _shows(tmux, "day:1", re.escape(node.group(1).split(".")[0]), 15, "the interrupted node on the observer's screen")

    # a note from the driver, one from an observer, which the observer's screen shows within a second
    tmux("send-keys", "-t", "day:0", "n")
    _shows(tmux, "day:0", r"note \(Enter writes it", 10, "the note prompt")
    _type(tmux, "drain started, targets draining")
    wait_for(lambda: "drain started, targets draining" in _journal(out), 10, "the driver's note in the journal")
    noted = subprocess.run([sys.executable, "-m", "chaos.cli", "note", str(out), "saw a 5xx blip on the dashboard", "--author", "obs"],
                           capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert noted.returncode == 0 and noted.stdout.startswith("noted at t="), noted.stdout + noted.stderr
    _shows(tmux, "day:1", r"obs: saw a 5xx blip", 1.0, "the observer's note on the observer's screen")

    # abort mid-run: confirm, and everything rolls back
    tmux("send-keys", "-t", "day:0", "a")
    _shows(tmux, "day:0", r"Abort the run and roll everything back\? \[y/N\]", 10, "the abort confirmation")
    tmux("send-keys", "-t", "day:0", "y")
    _ended(tmux, tmp_path)
    final = _screen(tmux, "day:0")
    assert "ABORTED" in final and "postmortem.md" in final, final
    _shows(tmux, "day:1", r"verdict: aborted", 15, "the verdict on the observer's screen")

    timeline = _check_the_record(out, {"ana", "obs"})
    assert "**note** (ana, driver): drain started, targets draining" in timeline
    assert "**note** (obs, observer): saw a 5xx blip on the dashboard" in timeline
    assert timeline.index("one-spot-node") < timeline.index("drain started") < timeline.index("**aborted**")


def test_a_pool_loss_game_day_in_a_small_terminal_goes_line_by_line(tmux: Tmux, tmp_path: Path) -> None:
    """The pool-loss experiment in a 72x20 terminal: too small for the screen, so one line per
    event and the prompts as lines; the same go, note and abort.  The go releases the capacity
    error; the interruption 10 s later is a second injection, so it waits for its own gate."""
    out = _start_day(tmux, tmp_path, "pool-loss-ice.yaml", (72, 20))
    go = _shows(tmux, "day:0", r"Type the cluster name \((\S+)\) and Enter to GO", 150, "the go prompt")
    assert "one line per event" in _journal_free_screen(tmux)
    _type(tmux, go.group(1))
    _shows(tmux, "day:0", r"wave 1 of two-4vcpu-nodes is due; wave 1 of no-capacity-4vcpu put a capacity error on prod-4vcpu-16gb-spot",
           120, "the second injection's gate, with what the first did")
    _shows(tmux, "day:0", r"Fire wave 1 of two-4vcpu-nodes\? \[y/N\]", 10, "the second injection's prompt")
    assert '"action":"capacity-error"' in _journal(out) and '"action":"spot-interruption"' not in _journal(out)
    tmux("send-keys", "-t", "day:0", "y")
    wait_for(lambda: '"action":"spot-interruption"' in _journal(out), 120, "the two nodes' notices")
    _shows(tmux, "day:0", r"two-4vcpu-nodes: spot-interruption of", 15, "the notice as a line")
    tmux("send-keys", "-t", "day:0", "n")
    _shows(tmux, "day:0", r"note \(Enter writes it, Esc drops it\):", 10, "the note prompt as a line")
    _type(tmux, "capacity errors on the 4vcpu group")
    _shows(tmux, "day:0", r"capacity errors on the 4vcpu group", 10, "the typed note echoed")
    wait_for(lambda: "capacity errors on the 4vcpu group" in _journal(out), 10, "the note in the journal")
    tmux("send-keys", "-t", "day:0", "a")
    tmux("send-keys", "-t", "day:0", "y")
    _ended(tmux, tmp_path)
    timeline = _check_the_record(out, {"ana"}, ("go", "wave 1 of two-4vcpu-nodes"))
    assert "**note** (ana, driver): capacity errors on the 4vcpu group" in timeline
    assert timeline.index("no-capacity-4vcpu") < timeline.index("capacity errors on the 4vcpu") < timeline.index("**aborted**")


def _journal_free_screen(tmux: Tmux) -> str:
    return tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", "day:0")


def test_gameday_refuses_without_a_terminal_in_one_line() -> None:
    proc = subprocess.run([sys.executable, "-m", "chaos.cli", "gameday", "experiments/single-spot-node-fis.yaml"], capture_output=True, text=True,
                          timeout=60, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert proc.returncode == 3  # an input error, like every other (2 means aborted)
    assert "use `spotchaos run FILE`" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
