"""The experiment spec: every malformed experiment gets one line naming the field (and exit 3
from the CLI, before anything is touched); the published JSON Schema is the model's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaos.errors import SpecError
from chaos.spec import load_experiment, parse_experiment, schema_text

ROOT = Path(__file__).resolve().parents[2]
GOOD = {"name": "x", "injections": [{"via": "fis"}], "hypotheses": [{"check": "error-rate", "max": 0.01}]}


def _with(**changes):
    data = json.loads(json.dumps(GOOD))
    data.update(changes)
    return data


@pytest.mark.parametrize("data, field, words", [
    (_with(injections=[{"via": "fis", "select": {"percent": 150}}]), "injections[0].select.percent", "less than or equal to 100"),
    (_with(hypotheses=[{"check": "error-rate"}]), "hypotheses[0].max", "Field required"),
    (_with(hypotheses=[{"check": "cordoned-within"}]), "hypotheses[0].max", "Field required"),
    (_with(injections=[{"via": "fis", "at": "-3s"}]), "injections[0].at", "negative"),
    (_with(injections=[{"via": "fis", "at": -3}]), "injections[0].at", "greater than or equal to 0"),
    (_with(injections=[{"via": "fis", "at": "20m"}]), "experiment", "past the experiment's duration"),
    (_with(injections=[{"via": "fis", "at": "1m", "waves": 20, "every": "1m"}]), "experiment", "past the experiment's duration"),
    (_with(injections=[{"via": "fis", "bogus": 1}]), "injections[0].bogus", "remove it"),
    (_with(colour="blue"), "colour", "remove it"),
    (_with(hypotheses=[{"check": "nope", "max": 1}]), "hypotheses[0]", "unknown check 'nope'"),
    (_with(target={"kind": "eks"}), "target", "allowed_accounts"),
    (_with(target={"kind": "eks", "allowed_accounts": ["123456789012"]}), "target", "allowed_contexts"),
    (_with(hypotheses=[{"check": "error-rate", "max": "abc"}]), "hypotheses[0].max", "valid number"),
    (_with(injections=[{"via": "fis", "notice": "soon"}]), "injections[0].notice", "not a duration"),
    (_with(injections=[{"via": "fis", "kind": "rebalance"}]), "injections[0]", "no rebalance-only action"),
    (_with(injections=[{"via": "metadata", "kind": "capacity-error", "select": {"node_group": "a"}}]), "injections[0]", "use via fis"),
    (_with(injections=[{"via": "fis", "select": {"count": 1, "percent": 5}}]), "injections[0].select", "one way"),
    (_with(injections=[]), "injections", "at least 1"),
    (_with(name="has space"), "name", "pattern"),
    (_with(hypotheses=[{"check": "error-rate", "max": 0.1}, {"check": "error-rate", "max": 0.2}]), "experiment", "named twice"),
])
def test_each_mistake_is_one_line_naming_the_field(data, field, words):
    with pytest.raises(SpecError) as caught:
        parse_experiment(data, "exp.yaml")
    message = str(caught.value)
    assert message.startswith(f"exp.yaml: {field}:"), message
    assert words in message and "\n" not in message


def test_not_a_mapping_and_bad_yaml(tmp_path):
    with pytest.raises(SpecError, match="is a mapping"):
        parse_experiment(["a"], "exp.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match=r"not valid YAML.*line 2"):
        load_experiment(bad)
    with pytest.raises(SpecError, match="cannot read"):
        load_experiment(tmp_path / "missing.yaml")


def test_durations_read_as_cluster_seconds():
    spec = parse_experiment(_with(injections=[{"via": "fis", "at": "1.5m", "notice": "3m"}],
                                  hypotheses=[{"check": "p99-latency", "max": "800ms"}]), "x")
    assert spec.injections[0].at == 90 and spec.injections[0].notice == 180
    assert spec.hypotheses[0].max == pytest.approx(0.8)


def test_every_shipped_experiment_is_valid():
    files = sorted((ROOT / "experiments").glob("*.yaml"))
    assert len(files) >= 9
    for f in files:
        load_experiment(f)


def test_published_schema_is_the_models():
    published = (ROOT / "docs" / "experiment.schema.json").read_text()
    assert published == schema_text(), "docs/experiment.schema.json is stale: run `spotchaos schema --write docs`"
    schema = json.loads(published)
    assert {"name", "injections", "hypotheses"} <= set(schema["required"])


def test_the_reference_tables_are_the_modules():
    """docs/experiment.md's fault and check tables are written from the registries: every kind and
    check has its row, with its options, and the published page is what the modules say now."""
    from chaos.inject import FAULT_TYPES, KINDS
    from chaos.reference import with_tables
    from chaos.spec import CHECKS

    published = (ROOT / "docs" / "experiment.md").read_text()
    assert published == with_tables(published), "docs/experiment.md's tables are stale: run `spotchaos schema --write docs`"
    for kind, fault in zip(KINDS, FAULT_TYPES, strict=True):
        (row,) = [line for line in published.splitlines() if line.startswith(f"| `{kind}` |")]
        assert all(f"`{option}`" in row for option in set(fault.model_fields) - {"name", "via", "kind", "select", "at", "waves", "every"})
    assert all(f"| `{check}` |" in published for check in CHECKS)
    with pytest.raises(ValueError, match="no faults block"):
        with_tables("# a page without the markers\n")


def test_schema_write_refreshes_both_files(tmp_path):
    (tmp_path / "experiment.md").write_text((ROOT / "docs" / "experiment.md").read_text().replace("| `rebalance` |", "| `stale` |"))
    result = subprocess.run([sys.executable, "-m", "chaos.cli", "schema", "--write", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "experiment.schema.json").read_text() == schema_text()
    assert (tmp_path / "experiment.md").read_text() == (ROOT / "docs" / "experiment.md").read_text()
    (tmp_path / "experiment.md").write_text("no markers\n")
    result = subprocess.run([sys.executable, "-m", "chaos.cli", "schema", "--write", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "no faults block" in result.stderr and "Traceback" not in result.stderr


def test_validate_cli_exits_3_before_touching_anything(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_with(injections=[{"via": "fis", "select": {"percent": 101}}])))
    for command in ("validate", "run", "plan"):
        proc = subprocess.run([sys.executable, "-m", "chaos.cli", command, str(bad)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert proc.returncode == 3, proc.stderr
        assert "injections[0].select.percent" in proc.stderr and "Traceback" not in proc.stderr
        assert not (tmp_path / "spotchaos-runs").exists()


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=12))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)
_keys = st.sampled_from(["name", "target", "cluster", "traffic", "injections", "hypotheses", "stop_conditions", "guardrails", "duration", "extra"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _values, max_size=6), st.booleans())
def test_fuzzed_experiments_give_one_clear_error_or_a_valid_spec(data, start_from_good):
    if start_from_good:
        data = {**GOOD, **data}
    try:
        parse_experiment(data, "fuzz.yaml")
    except SpecError as exc:
        assert str(exc).startswith("fuzz.yaml: ") and "\n" not in str(exc)


def test_every_shipped_experiment_reads_back_from_its_journal_record():
    """The run writes the parsed experiment into its journal; reports parse it again from there."""
    for path in sorted((ROOT / "experiments").glob("*.yaml")):
        spec = load_experiment(path)
        again = parse_experiment(json.loads(json.dumps(spec.model_dump(mode="json"))))
        assert again == spec, path.name


def test_one_injection_alone_keeps_its_label_and_says_which_ones_there_are():
    from chaos.spec import only_injection

    spec = parse_experiment(_with(injections=[{"via": "fis"}, {"via": "metadata", "name": "imds", "at": "1m"}],
                                  expect={"verdict": "failed", "breached": ["error-rate"]}), "x.yaml")
    first, second = only_injection(spec, 0, "x.yaml"), only_injection(spec, "imds", "x.yaml")
    assert [(i.label(0), i.via) for i in first.injections] == [("injection-1", "fis")]  # journaled under the label it has in the file
    assert [(i.label(0), i.via, i.at) for i in second.injections] == [("imds", "metadata", 60.0)]
    assert only_injection(spec, "injection-2", "x.yaml").injections == second.injections
    assert first.expect.verdict == "passed"  # the whole experiment's expectation is not one fault's
    single = parse_experiment(_with(expect={"verdict": "failed", "breached": ["error-rate"]}), "x.yaml")
    assert only_injection(single, 0, "x.yaml").expect == single.expect  # one of one: the same experiment
    with pytest.raises(SpecError, match=r"injection 2: the experiment has injections\[0\] to injections\[1\]; .* injection-1, imds"):
        only_injection(spec, 2, "x.yaml")
    with pytest.raises(SpecError, match="injection 'nope': no injection of that name; give one of injection-1, imds"):
        only_injection(spec, "nope", "x.yaml")


def test_run_with_an_unknown_injection_exits_3_naming_the_ones_there_are(tmp_path):
    done = subprocess.run([sys.executable, "-m", "chaos.cli", "run", str(ROOT / "experiments/single-spot-node-fis.yaml"), "--injection", "nope",
                           "--no-live", "--report-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "give one of one-spot-node" in done.stderr and not (tmp_path / "run").exists()
