"""The pytest plugin: YAML experiments under experiments/ are collected as one item each (other
YAML is left alone), and an item passes only when the run reaches what the experiment expects."""

from __future__ import annotations

import shutil
from pathlib import Path

from chaos.spec import parse_experiment
from chaos.verdict.expectation import undecided, unmet
from chaos.verdict.outcome import HypothesisResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
pytest_plugins = ["pytester"]


def test_yaml_experiments_are_collected_one_item_each(pytester):
    folder = pytester.path / "experiments"
    folder.mkdir()
    for name in ("single-spot-node-fis.yaml", "bad-no-pdb.yaml"):
        shutil.copy(ROOT / "experiments" / name, folder / name)
    (folder / "values.yaml").write_text("replicas: 3\n")  # not an experiment
    result = pytester.runpytest("--collect-only", "-q", "experiments")
    result.stdout.fnmatch_lines(["experiments/bad-no-pdb.yaml::bad-no-pdb", "experiments/single-spot-node-fis.yaml::single-spot-node-fis", "2 tests collected*"])


def test_twins_are_collected_first_so_a_parallel_session_starts_its_longest_runs_first(pytester):
    folder = pytester.path / "experiments"
    folder.mkdir()
    for name in ("bad-no-pdb.yaml", "single-spot-node-fis.yaml", "twin-shop-spot.yaml"):
        shutil.copy(ROOT / "experiments" / name, folder / name)
    result = pytester.runpytest("--collect-only", "-q", "-p", "no:xdist", "experiments")
    result.stdout.fnmatch_lines(["experiments/twin-shop-spot.yaml::twin-shop-spot", "experiments/bad-no-pdb.yaml::bad-no-pdb",
                                 "experiments/single-spot-node-fis.yaml::single-spot-node-fis", "3 tests collected*"])


def _verdict(status: str, failing: list[str]) -> Verdict:
    hs = [HypothesisResult(n, "error-rate", "<= 1%", "5%", 0.05, "fail" if n in failing else "pass") for n in ("a", "b")]
    return Verdict(status, "x", hs)


def test_expectations():
    base = {"name": "x", "injections": [{"via": "fis"}], "hypotheses": [{"check": "error-rate", "max": 0.01, "name": "a"}, {"check": "error-rate", "max": 0.02, "name": "b"}]}
    good = parse_experiment(base)
    assert unmet(good, _verdict("passed", [])) == []
    assert unmet(good, _verdict("failed", ["a"]))  # a good experiment that failed
    bad = parse_experiment({**base, "expect": {"verdict": "failed", "breached": ["a"]}})
    assert unmet(bad, _verdict("failed", ["a"])) == []
    assert unmet(bad, _verdict("failed", ["b"])) == ["expected a to be breached, but it held"]
    assert unmet(bad, _verdict("passed", []))


def test_an_expected_breach_judged_inconclusive_is_neither_met_nor_held():
    """A known-bad run whose expected breach was measured only while the machine was starved: the
    plugin skips it saying why (no verdict either way), instead of failing it as "it held"."""
    base = {"name": "x", "injections": [{"via": "fis"}], "hypotheses": [{"check": "error-rate", "max": 0.01, "name": "a"}, {"check": "error-rate", "max": 0.02, "name": "b"}],
            "expect": {"verdict": "failed", "breached": ["a", "b"]}}
    bad = parse_experiment(base)
    starved = Verdict("failed", "x", [HypothesisResult("a", "error-rate", "<= 1%", "5%", 0.05, "fail"),
                                      HypothesisResult("b", "error-rate", "<= 2%", "9%", 0.09, "inconclusive", "the host was starved")])
    assert undecided(bad, starved) == ["b"]
    assert unmet(bad, starved, judged_only=True) == []
    assert unmet(bad, starved) == ["expected b to be breached; it could not be judged (inconclusive: measured while the machine was starved)"]
    held = Verdict("failed", "x", [HypothesisResult("a", "error-rate", "<= 1%", "5%", 0.05, "pass"), starved.hypotheses[1]])
    assert unmet(bad, held, judged_only=True) == ["expected a to be breached, but it held"]  # a real miss stays one


def test_results_destinations_are_checked_before_any_experiment_runs(pytester):
    folder = pytester.path / "experiments"
    folder.mkdir()
    shutil.copy(ROOT / "experiments" / "single-spot-node-fis.yaml", folder / "single-spot-node-fis.yaml")
    bad_upload = pytester.runpytest("--spot-upload", "http://bucket/x", "experiments")
    assert bad_upload.ret == 4  # a usage error: nothing ran
    bad_upload.stderr.fnmatch_lines(["*--spot-upload: 'http://bucket/x' is not an S3 URL*"])
    alone = pytester.runpytest("--spot-notify-always", "experiments")
    assert alone.ret == 4
    alone.stderr.fnmatch_lines(["*--spot-notify-always needs --spot-notify URL*"])


def test_a_suite_notifies_on_unmet_expectations_not_on_known_bad_failures():
    from chaos.delivery.notification import should_notify

    assert not should_notify("failed", False, False, as_expected=True)  # a known-bad experiment failed, as it should
    assert should_notify("passed", False, False, as_expected=False)  # ... and one that passed is the news
    assert should_notify("failed", True, False, as_expected=True)  # regressed
