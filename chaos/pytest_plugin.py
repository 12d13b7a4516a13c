"""The pytest plugin (entry point `pytest11: spotchaos`).

- YAML experiments under an `experiments/` directory are collected as test items, one per
  experiment: it passes when the run reaches what the experiment expects (`expect`, passed by
  default), and a failure shows every hypothesis with its measured value and bound.
- `--spot-target local|eks` and `--spot-speed N` override every experiment's target.
- Fixtures for Python suites (async, with pytest-asyncio): `spot_options`, `spot_report_dir`,
  and `spot_experiment`, an async callable that runs an experiment (a file or a mapping with
  overrides) and returns its outcome (verdict, journal records, report data)."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaos.expectation import describe, unmet
from chaos.journal import Record
from chaos.report.data import ReportData
from chaos.run_identity import new_run_id
from chaos.spec import Experiment, load_experiment, parse_experiment
from chaos.verify import Verdict


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spotchaos")
    group.addoption("--spot-target", choices=("local", "eks"), default=None, help="Run experiments against local (a simulator per run) or eks.")
    group.addoption("--spot-speed", type=float, default=None, help="Cluster clock speed of local simulators.")
    group.addoption("--spot-report-dir", default=None, help="Where runs leave journals and reports (default: pytest's tmp dir).")


@dataclass
class Outcome:
    verdict: Verdict
    records: list[Record]
    report: ReportData
    report_dir: Path

    @property
    def hypotheses(self) -> dict[str, Any]:
        return {h.name: h for h in self.verdict.hypotheses}


def _override(spec: Experiment, target: str | None, speed: float | None, changes: dict[str, Any] | None = None) -> Experiment:
    data = spec.model_dump(mode="json", exclude_unset=True)
    for key, value in (changes or {}).items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) and isinstance(data.get(key), dict) else value
    if target is not None or speed is not None:
        data.setdefault("target", {})
        if target is not None:
            data["target"]["kind"] = target
        if speed is not None:
            data["target"]["speed"] = speed
    return parse_experiment(data, spec.name)


async def run_outcome(spec: Experiment, report_dir: Path) -> Outcome:
    from chaos.history_store import remember
    from chaos.report.write import write_reports
    from chaos.run import RunOptions, run_experiment

    _, run = await run_experiment(spec, RunOptions(report_dir))
    data, _ = write_reports(run.journal.path)
    problem = remember(data, report_dir)
    if problem:
        warnings.warn(f"not recorded in the run history: {problem}", stacklevel=2)
    return Outcome(data.verdict, data.records, data, report_dir)


@pytest.fixture(scope="session")
def spot_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"target": request.config.getoption("--spot-target"), "speed": request.config.getoption("--spot-speed")}


@pytest.fixture
def spot_report_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    base = request.config.getoption("--spot-report-dir")
    return Path(base) / request.node.name if base else tmp_path / "spotchaos"


@pytest.fixture
def spot_experiment(spot_options: dict[str, Any], spot_report_dir: Path) -> Iterator[Callable[..., Awaitable[Outcome]]]:
    """`outcome = await spot_experiment("experiments/x.yaml", traffic={"rate": 100})`."""

    async def run(source: str | Path | dict[str, Any], **changes: Any) -> Outcome:
        spec = load_experiment(Path(source)) if isinstance(source, str | Path) else parse_experiment(copy.deepcopy(source), "experiment")
        spec = _override(spec, spot_options["target"], spot_options["speed"], changes)
        return await run_outcome(spec, spot_report_dir / new_run_id(spec.name))

    yield run


# ---------------------------------------------------------------------------- YAML collection

def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and "experiments" in file_path.parts:
        try:
            data = yaml.safe_load(file_path.read_text())
        except (OSError, yaml.YAMLError):
            data = None
        if isinstance(data, dict) and "injections" in data and "hypotheses" in data:
            return ExperimentFile.from_parent(parent, path=file_path)
    return None


class ExperimentFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield ExperimentItem.from_parent(self, name=self.path.stem)


class ExperimentFailed(Exception):
    pass


class ExperimentItem(pytest.Item):
    def runtest(self) -> None:
        from chaos import event_loop

        spec = load_experiment(self.path)
        spec = _override(spec, self.config.getoption("--spot-target"), self.config.getoption("--spot-speed"))
        base = self.config.getoption("--spot-report-dir")
        # each run its own directory: a rerun into the same --spot-report-dir keeps the earlier journal
        report_dir = Path(base) / new_run_id(spec.name) if base else self.config._tmp_path_factory.mktemp(spec.name)  # type: ignore[attr-defined]
        outcome = event_loop.run(run_outcome(spec, report_dir))
        self.user_properties.append(("report", str(report_dir / "report.html")))
        problems = unmet(spec, outcome.verdict)
        if problems:
            raise ExperimentFailed("; ".join(problems) + "\n" + describe(outcome.verdict) + f"\nreports: {report_dir}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ExperimentFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"experiment {self.name}"
