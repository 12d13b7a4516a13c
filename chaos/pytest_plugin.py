"""The pytest plugin (entry point `pytest11: spotchaos`).

- YAML experiments under an `experiments/` directory are collected as test items, one per
  experiment: it passes when the run reaches what the experiment expects (`expect`, passed by
  default), and a failure shows every hypothesis with its measured value and bound.
- `--spot-target local|eks` and `--spot-speed N` override every experiment's target.
- Local simulators are forked from one process per pytest process that imported the simulator
  once (chaos/host/forkserver.py): about two CPU seconds less per experiment;
  `--spot-no-sim-fork` starts each as its own process.
- `--spot-history URL`, `--spot-upload s3://BUCKET/PREFIX`, `--spot-notify URL` (and
  `--spot-notify-always`): where each run's results go, as `spotchaos run`'s options; a
  notification goes out when a run did not reach what its experiment expects, or regressed.
- Fixtures for Python suites (async, with pytest-asyncio): `spot_options`, `spot_report_dir`,
  and `spot_experiment`, an async callable that runs an experiment (a file or a mapping with
  overrides) and returns its outcome (verdict, journal records, report data)."""

from __future__ import annotations

import argparse
import copy
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from chaos.host.forkserver import ForkServer, share_with_children, stop_shared
from chaos.identity import new_run_id
from chaos.journal import Record
from chaos.report.data import ReportData
from chaos.spec import Experiment, load_experiment, parse_experiment
from chaos.verdict.expectation import describe, undecided, unmet
from chaos.verdict.outcome import Verdict
from cluster.clock_speed import parse_speed
from cluster.user_yaml import YamlProblem, parse_yaml, read_limited

if TYPE_CHECKING:
    from chaos.run.results import Destinations

DESTINATIONS = pytest.StashKey["Destinations | None"]()
FORKS = pytest.StashKey[ForkServer]()
SHARED_FORKS = pytest.StashKey[Path]()


def _speed(value: str) -> float | str:
    try:
        return parse_speed(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r}: {exc}") from None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spotchaos")
    group.addoption("--spot-target", choices=("local", "eks"), default=None, help="Run experiments against local (a simulator per run) or eks.")
    group.addoption("--spot-speed", type=_speed, default=None, help="Cluster clock speed of local simulators: a number, or auto.")
    group.addoption("--spot-report-dir", default=None, help="Where runs leave journals and reports (default: pytest's tmp dir).")
    group.addoption("--spot-history", default=None, help="The run history: an SQLAlchemy URL, or off (default: $SPOTCHAOS_HISTORY or SQLite).")
    group.addoption("--spot-upload", default=None, help="Put each run's journal and reports in S3 at s3://BUCKET/PREFIX/RUN_ID/.")
    group.addoption("--spot-notify", default=None, help="POST a summary to this webhook when a run does not reach what it expects, or regressed.")
    group.addoption("--spot-notify-always", action="store_true", default=False, help="With --spot-notify: after every run.")
    group.addoption("--spot-metrics", action="append", default=[], help="Push each run's metrics: prometheus://HOST:PORT/JOB or cloudwatch://NAMESPACE (repeatable).")
    group.addoption("--spot-no-sim-fork", action="store_true", default=False,
                    help="Start each local simulator as its own process, not forked from one that imported the simulator once.")


def destinations(config: pytest.Config) -> Destinations | None:
    """The results' destinations from the options, checked once (a usage error names the option);
    None when none is given (the defaults: the run history only)."""
    upload, notify, history = config.getoption("--spot-upload"), config.getoption("--spot-notify"), config.getoption("--spot-history")
    metrics = config.getoption("--spot-metrics") or []
    if not (upload or notify or history or metrics or config.getoption("--spot-notify-always")):
        return None
    from chaos.aws.upload_destination import parse_s3_url
    from chaos.delivery.metrics import parse_metrics_url
    from chaos.delivery.webhook import check_url
    from chaos.errors import ChaosError
    from chaos.history.store import check_store
    from chaos.run.results import Destinations

    if config.getoption("--spot-notify-always") and not notify:
        raise pytest.UsageError("--spot-notify-always needs --spot-notify URL")
    try:
        to = Destinations(history, parse_s3_url(upload) if upload else None,
                          check_url(notify) if notify else None, config.getoption("--spot-notify-always"),
                          tuple(parse_metrics_url(m) for m in metrics))
        check_store(history)
        return to
    except ChaosError as exc:
        raise pytest.UsageError(str(exc).replace("--upload", "--spot-upload").replace("--notify", "--spot-notify").replace("--history", "--spot-history").replace("--metrics", "--spot-metrics")) from None


def _starts_workers(config: pytest.Config) -> bool:
    """pytest-xdist's controller: it runs no test itself, its workers do."""
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None)) and config.pluginmanager.hasplugin("xdist")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[DESTINATIONS] = destinations(config)
    if config.getoption("--spot-no-sim-fork"):
        return
    if _starts_workers(config):  # the workers share one fork server, which the first of them to need it starts
        config.stash[SHARED_FORKS] = share_with_children()
        return
    from chaos.target import fork_simulators

    config.stash[FORKS] = forks = ForkServer.from_environment()  # started once the session is seen to run experiments
    fork_simulators(forks)


def pytest_unconfigure(config: pytest.Config) -> None:
    forks = config.stash.get(FORKS, None)
    if forks is not None:
        from chaos.target import fork_simulators

        fork_simulators(None)
        forks.close()
    shared = config.stash.get(SHARED_FORKS, None)
    if shared is not None:
        stop_shared(shared)


@dataclass
class Outcome:
    verdict: Verdict
    records: list[Record]
    report: ReportData
    report_dir: Path

    @property
    def hypotheses(self) -> dict[str, Any]:
        return {h.name: h for h in self.verdict.hypotheses}


def _override(spec: Experiment, target: str | None, speed: float | str | None, changes: dict[str, Any] | None = None) -> Experiment:
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


async def run_outcome(spec: Experiment, report_dir: Path, to: Destinations | None = None) -> Outcome:
    from chaos.host.low_priority import at_low_priority
    from chaos.report.write import write_reports
    from chaos.run import RunOptions, run_experiment
    from chaos.run.results import Destinations, deliver

    _, run = await run_experiment(spec, RunOptions(report_dir))
    data, reports = at_low_priority(lambda: write_reports(run.journal.path))  # other experiments beside this one may still be measuring
    delivered = deliver(data, report_dir, reports, to or Destinations(), as_expected=not unmet(spec, data.verdict))
    for line in delivered.warnings + [f"regressed: {r.line()}" for r in delivered.regressions]:
        warnings.warn(line, stacklevel=2)
    return Outcome(data.verdict, data.records, data, report_dir)


@pytest.fixture(scope="session")
def spot_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    return {"target": request.config.getoption("--spot-target"), "speed": request.config.getoption("--spot-speed")}


@pytest.fixture(scope="session")
def spot_sim_forks(request: pytest.FixtureRequest) -> Iterator[None]:
    """The `spotchaos run`s a test starts as processes of their own fork their simulators from this
    session's fork server (as the session's own experiments do), instead of each importing the
    simulator anew: about two CPU seconds a run (chaos/host/forkserver.py)."""
    forks = request.config.stash.get(FORKS, None)
    if forks is not None:
        forks.export_to_children()
    yield


@pytest.fixture
def spot_report_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    base = request.config.getoption("--spot-report-dir")
    return Path(base) / request.node.name if base else tmp_path / "spotchaos"


@pytest.fixture
def spot_experiment(request: pytest.FixtureRequest, spot_options: dict[str, Any], spot_report_dir: Path) -> Iterator[Callable[..., Awaitable[Outcome]]]:
    """`outcome = await spot_experiment("experiments/x.yaml", traffic={"rate": 100})`."""

    async def run(source: str | Path | dict[str, Any], **changes: Any) -> Outcome:
        spec = load_experiment(Path(source)) if isinstance(source, str | Path) else parse_experiment(copy.deepcopy(source), "experiment")
        spec = _override(spec, spot_options["target"], spot_options["speed"], changes)
        return await run_outcome(spec, spot_report_dir / new_run_id(spec.name), request.config.stash[DESTINATIONS])

    yield run


# ---------------------------------------------------------------------------- YAML collection

def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and "experiments" in file_path.parts:
        try:
            data = parse_yaml(read_limited(file_path))
        except (OSError, YamlProblem):
            data = None
        if isinstance(data, dict) and "injections" in data and "hypotheses" in data:
            cluster = data.get("cluster")
            twin = isinstance(cluster, dict) and "from" in cluster
            return ExperimentFile.from_parent(parent, path=file_path, twin=twin)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Twins first, the rest in their order: building a twin makes a run the longest kind, and a
    parallel session (pytest-xdist, `--dist load`) ends sooner when the longest start first and
    the short ones fill in at the end.  A session of experiments only starts its simulator fork
    server now, so that it imports the simulator while the session sets up, not in the first run
    (a session with other tests starts it at its first experiment: a test that times something on
    a quiet machine may come first)."""
    items.sort(key=lambda item: not (isinstance(item, ExperimentItem) and item.twin))
    forks = config.stash.get(FORKS, None)
    if forks is not None and items and all(isinstance(i, ExperimentItem) or "spot_experiment" in getattr(i, "fixturenames", ()) for i in items):
        forks.start_soon()


class ExperimentFile(pytest.File):
    def __init__(self, *args: Any, twin: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.twin = twin

    def collect(self) -> Iterator[pytest.Item]:
        yield ExperimentItem.from_parent(self, name=self.path.stem, twin=self.twin)


class ExperimentFailed(Exception):
    pass


class ExperimentItem(pytest.Item):
    def __init__(self, *args: Any, twin: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.twin = twin  # its cluster is a twin built from the user's files (cluster.from)

    def runtest(self) -> None:
        from chaos.host import event_loop

        spec = load_experiment(self.path)
        spec = _override(spec, self.config.getoption("--spot-target"), self.config.getoption("--spot-speed"))
        base = self.config.getoption("--spot-report-dir")
        # each run its own directory: a rerun into the same --spot-report-dir keeps the earlier journal
        report_dir = Path(base) / new_run_id(spec.name) if base else self.config._tmp_path_factory.mktemp(spec.name)  # type: ignore[attr-defined]
        outcome = event_loop.run(run_outcome(spec, report_dir, self.config.stash[DESTINATIONS]))
        self.user_properties.append(("report", str(report_dir / "report.html")))
        if outcome.verdict.status == "inconclusive":  # measured on a starved machine: no verdict either way, and it says why
            pytest.skip(f"{outcome.verdict.reason}; reports: {report_dir}")
        open_ = undecided(spec, outcome.verdict)
        if open_ and not unmet(spec, outcome.verdict, judged_only=True):
            # all it expects is there but a breach it expects, judged inconclusive: neither confirmed nor refuted
            reasons = "; ".join(f"{h.name}: {h.detail}" for h in outcome.verdict.hypotheses if h.name in open_)
            pytest.skip(f"inconclusive: expected breaches measured only while the machine was starved ({reasons}); reports: {report_dir}")
        problems = unmet(spec, outcome.verdict)
        if problems:
            raise ExperimentFailed("; ".join(problems) + "\n" + describe(outcome.verdict) + f"\nreports: {report_dir}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ExperimentFailed):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"experiment {self.name}"
