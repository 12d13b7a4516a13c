"""SIGKILL or Ctrl-C `spotchaos run` at random points across its phases, then `spotchaos cleanup`, and count
what is left of each run on the cluster (a simulator this script starts, as an account that
outlives the harness): FIS experiments running, templates and IAM roles carrying the run id,
metadata notices it gave, live instances of a cluster it provisioned and anything else of it
marked with the run id (AWS tags, Kubernetes labels); and whether its journal still reports.
Every fourth run also deletes the run directory and cleans by `--run-id`, which finds the
cluster by its tags.  Prints one row per kill and the totals, which must all
be 0.  The injection alternates between FIS and the metadata mock.

With `--signals INT,KILL` the signal alternates: a SIGINT is a Ctrl-C, after which the run rolls
back by itself; every other one is sent during the rollback, twice (the second leaves the rest to
`spotchaos cleanup`).  A run interrupted must never exit 1 (failed): that counts as `exit_1`.

    .venv/bin/python bench/kill_points.py              # 20 kills, seed 1
    .venv/bin/python bench/kill_points.py --kills 5 --seed 7
    .venv/bin/python bench/kill_points.py --signals INT,KILL
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_sim  # noqa: E402 - after the path is set
from tests.e2e.run_marks import marked_by_run  # noqa: E402
from tests.e2e.test_experiments import fresh_machine_env  # noqa: E402

RUN_ID_TAG = "spotchaos:run-id"
TERMINAL = ("completed", "stopped", "failed", "cancelled")


def experiment(directory: Path, state_dir: Path, via: str) -> Path:
    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["target"] = {"simulator": {"state_dir": str(state_dir)}}
    data["traffic"].update({"rate": 50, "warmup": "10s", "tail": "10s"})
    data["injections"][0]["via"] = via
    path = directory / f"{via}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def left_of(sim, run_id: str) -> dict[str, int]:
    fis, iam, ec2 = sim.aws("fis"), sim.aws("iam"), sim.aws("ec2")
    running = sum(1 for e in fis.list_experiments()["experiments"] if (e.get("tags") or {}).get(RUN_ID_TAG) == run_id and e["state"]["status"] not in TERMINAL)
    templates = sum(1 for t in fis.list_experiment_templates()["experimentTemplates"] if (t.get("tags") or {}).get(RUN_ID_TAG) == run_id)
    roles = sum(1 for r in iam.list_roles(PathPrefix="/spotchaos/")["Roles"]
                if {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=r["RoleName"])["Tags"]}.get(RUN_ID_TAG) == run_id)
    with urllib.request.urlopen(sim.endpoints.extra["control_url"].rstrip("/") + "/v1/instances", timeout=10) as resp:
        notices = sum(1 for i in json.load(resp)["instances"] if i.get("notice_owner") == run_id and i.get("notice") and i.get("alive"))
    reservations = ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
    instances = sum(len(r["Instances"]) for r in reservations)
    marked = sum(len(v) for v in marked_by_run(sim, run_id).values())  # anything else of a cluster it provisioned
    return {"fis_running": running, "templates": templates, "roles": roles, "notices": notices, "instances": instances, "marked": marked}


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chaos.cli", *args], capture_output=True, text=True, timeout=timeout, env=fresh_machine_env(), cwd=ROOT)


def journal_has(journal: Path, needle: str) -> bool:
    return journal.exists() and needle in journal.read_text(errors="replace")


def interrupt(proc: subprocess.Popen[bytes], journal: Path, how: str, delay: float) -> str:
    """Send the signal(s) and wait for the run to end; what was done."""
    def wait_until(done, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and proc.poll() is None and not done():
            time.sleep(0.05)

    if how == "INT in rollback":  # Ctrl-C once the rollback began, and again when it answered
        wait_until(lambda: journal_has(journal, '"phase":"rollback"'), 300)
        if proc.poll() is not None:
            return "ended"
        proc.send_signal(signal.SIGINT)
        wait_until(lambda: journal_has(journal, "SIGINT during the rollback"), 30)
        proc.send_signal(signal.SIGINT)
    else:
        wait_until(lambda: False, delay)
        if proc.poll() is not None:
            return "ended"
        proc.send_signal(signal.SIGKILL if how == "KILL" else signal.SIGINT)
    proc.wait(timeout=600)
    return "killed" if how == "KILL" else f"exit {proc.returncode}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--longest", type=float, default=45.0, help="real seconds after the start the latest kill may come")
    ap.add_argument("--signals", default="KILL", help="KILL, INT or INT,KILL (alternating; every other INT is sent during the rollback, twice)")
    args = ap.parse_args()
    signals = [s.strip().upper() for s in args.signals.split(",") if s.strip()]
    if not signals or any(s not in ("INT", "KILL") for s in signals):
        ap.error("--signals: INT, KILL or INT,KILL")
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kill-points-"))
    sim = start_sim(work / "sim", speed=10.0, node_address_octet=110, imds={"port": 1352})
    totals: dict[str, int] = {"exit_1": 0}
    rows = []
    ints = 0
    try:
        for k in range(args.kills):
            via = "fis" if k % 2 == 0 else "metadata"
            out = work / f"run-{k}"
            delay = rng.uniform(0.5, args.longest)
            how = signals[k % len(signals)]
            if how == "INT":
                how = "INT in rollback" if ints % 2 == 1 else "INT"
                ints += 1
            proc = subprocess.Popen([sys.executable, "-m", "chaos.cli", "run", str(experiment(work, sim.state_dir, via)), "--report-dir", str(out), "--no-live"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=fresh_machine_env(), cwd=ROOT)
            try:
                ended = interrupt(proc, out / "journal.jsonl", how, delay)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if ended == "exit 1":
                totals["exit_1"] += 1
            journal = out / "journal.jsonl"
            phases = [json.loads(line).get("phase") for line in journal.read_text(errors="replace").splitlines() if '"kind":"phase"' in line] if journal.exists() else []
            run_id = json.loads(journal.read_text().splitlines()[0])["run_id"] if journal.exists() else None
            by_id = k % 4 == 3
            if run_id is None:
                cleaned = "no journal yet"
            elif by_id:
                shutil.rmtree(out)
                c = cli("cleanup", "--run-id", run_id, "--state-dir", str(sim.state_dir))
                cleaned = f"--run-id exit {c.returncode}"
            else:
                c = cli("cleanup", str(out))
                cleaned = f"exit {c.returncode}"
            reports = "-" if by_id or run_id is None else str(cli("report", str(journal), "--out", str(work / f"report-{k}"), timeout=120).returncode)
            left = left_of(sim, run_id) if run_id else left_of(sim, "none")
            for key, n in left.items():
                totals[key] = totals.get(key, 0) + n
            rows.append((k, via, f"{delay:5.1f}s", phases[-1] if phases else "-", ended, cleaned, reports, left))
            at = "rollback" if how == "INT in rollback" else f"{delay:5.1f}s"
            print(f"{k:2} {via:8} {how:15} at {at:8} in {phases[-1] if phases else '-':22} {ended:8} cleanup {cleaned:24} report exit {reports:2}  left {left}",
                  flush=True)
            if any(left.values()):  # never stack one run's leftovers onto the next
                cli("teardown", "--profile", "hardened", "--state-dir", str(sim.state_dir))
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{len(rows)} kills; left behind in total: {totals}")
    print("all zero" if not any(totals.values()) else "SOMETHING WAS LEFT")
    sys.exit(0 if not any(totals.values()) else 1)


if __name__ == "__main__":
    main()
