"""The results store: every run's rows in a database, SQLite in the user's data directory by
default, any SQLAlchemy URL for a team ($SPOTCHAOS_HISTORY, `--history URL`; `off` records
nothing).  A run is one
transaction keyed by its run id: recording it again replaces it, and two runs finishing together
both land (SQLite waits for the other writer)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    desc,
    event,
    insert,
    select,
)
from sqlalchemy.engine import Engine
from tenacity import retry, retry_if_exception, stop_after_delay, wait_exponential

from chaos.errors import ChaosError
from chaos.history.rows import RunRows, run_rows
from chaos.redaction import redact_urls
from chaos.report.data import ReportData

META = MetaData()
RUNS = Table(
    "runs", META,
    Column("run_id", String(200), primary_key=True), Column("experiment", String(100), index=True), Column("content_hash", String(32)),
    Column("profile", String(50)), Column("target", String(20)), Column("region", String(30)), Column("spotchaos_version", String(30)),
    Column("started", String(40), index=True), Column("duration_s", Float), Column("verdict", String(20)), Column("exit_code", Integer),
    Column("reason", Text), Column("complete", Boolean), Column("requests", Integer), Column("errors", Integer), Column("error_rate", Float),
    Column("p50_ms", Float), Column("p99_ms", Float), Column("max_ms", Float), Column("run_dir", Text),
    Column("kubernetes_version", String(60)), Column("nth_version", String(60)), Column("cluster_autoscaler_version", String(60)),
    Column("lbc_version", String(60)), Column("account", String(60)), Column("context", String(60)), Column("cluster", String(60)),
    Column("karpenter_version", String(60)),
)
HYPOTHESES = Table(
    "hypotheses", META,
    Column("run_id", String(200), index=True), Column("name", String(100)), Column("check", String(60)), Column("status", String(20)),
    Column("value", Float), Column("bound", String(100)), Column("measured", String(200)),
)
MILESTONE_ROWS = Table(
    "milestones", META,
    Column("run_id", String(200), index=True), Column("node", String(200)), Column("instance", String(40)), Column("milestone", String(40)),
    Column("seconds", Float),
)

UPLOADS = Table(  # where `--upload` put a run's files (kept when the run is imported again)
    "uploads", META,
    Column("run_id", String(200), index=True), Column("url", Text),
)


class HistoryError(ChaosError):
    """The results store cannot be opened or written; names the URL (without its password)."""


def default_url() -> str:
    """$SPOTCHAOS_HISTORY, else SQLite at $XDG_DATA_HOME/spotchaos/history.sqlite (~/.local/share)."""
    env = os.environ.get("SPOTCHAOS_HISTORY")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return f"sqlite:///{Path(base) / 'spotchaos' / 'history.sqlite'}"


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: say so without echoing it whole
        return redact_urls(url[:60])


@retry(retry=retry_if_exception(lambda e: "locked" in str(e)), stop=stop_after_delay(30), wait=wait_exponential(multiplier=0.01, max=0.5),
       reraise=True)
def _wal(conn: Any) -> None:
    """SQLite's write-ahead log, so readers never wait for a run being recorded.  Switching a new
    file to it takes the file's exclusive lock, and SQLite does not wait for that lock on this
    pragma: several processes opening a new store together get "database is locked", retried."""
    conn.execute("PRAGMA journal_mode=WAL")


def open_store(url: str | None = None) -> Engine:
    """The store at `url`, at the current schema (migrated when it was older)."""
    from chaos.history.migrate import StoreRefused, check_sqlite_file, upgrade

    url = url or default_url()
    try:
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            check_sqlite_file(path)  # before anything writes to it
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})
        if url.startswith("sqlite"):
            event.listen(engine, "connect", lambda conn, _: _wal(conn))
        upgrade(engine)
    except StoreRefused as exc:
        raise HistoryError(f"history store {_shown(url)}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - a bad URL, a missing driver, an unreachable server: one line naming it
        raise HistoryError(f"history store {_shown(url)}: {type(exc).__name__}: {redact_urls((str(exc).splitlines() or [''])[0][:200])}") from None
    return engine


def record(engine: Engine, rows: RunRows) -> None:
    run_id = rows.run["run_id"]
    with engine.begin() as conn:
        for table in (MILESTONE_ROWS, HYPOTHESES, RUNS):
            conn.execute(delete(table).where(table.c.run_id == run_id))
        conn.execute(insert(RUNS), [rows.run])
        if rows.hypotheses:
            conn.execute(insert(HYPOTHESES), rows.hypotheses)
        if rows.milestones:
            conn.execute(insert(MILESTONE_ROWS), rows.milestones)


def runs(engine: Engine, experiment: str | None = None, since: str | None = None, target: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The runs, newest first (`since`: an ISO date or time, compared with when each started)."""
    query = select(RUNS).order_by(desc(RUNS.c.started)).limit(limit)
    if experiment:
        query = query.where(RUNS.c.experiment == experiment)
    return _rows(engine, query, since, target)


def _rows(engine: Engine, query: Any, since: str | None, target: str | None) -> list[dict[str, Any]]:
    """The query's rows, of runs started at or after `since` on `target` when given."""
    if since:
        query = query.where(RUNS.c.started >= since)
    if target:
        query = query.where(RUNS.c.target == target)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def hypotheses_of(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(HYPOTHESES).where(HYPOTHESES.c.run_id == run_id))]


def remember(data: ReportData, run_dir: Path, url: str | None = None) -> str | None:
    """Record a finished run; a store that fails never fails the run: the reason comes back, to warn with."""
    if _off(url):
        return None
    try:
        record(open_store(url), run_rows(data, str(run_dir.resolve())))
    except HistoryError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - the journal has the run; the store is a convenience
        return f"history store {_shown(url or default_url())}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


def check_store(url: str | None) -> None:
    """Before a run: the store it will record in opens (HistoryError naming it otherwise), so a bad
    --history fails in a second, not after the whole run.  Nothing to check when it is off."""
    if not _off(url):
        open_store(url).dispose()


def refuse_off(url: str | None) -> None:
    """For the commands that read the history: `off` keeps none, so there is nothing to read."""
    if _off(url):
        raise HistoryError("--history off (or SPOTCHAOS_HISTORY=off) keeps no run history, so there is nothing to read; "
                           "give the store's URL, or leave --history out for the default store")


def _off(url: str | None) -> bool:
    return url == "off" or (url is None and os.environ.get("SPOTCHAOS_HISTORY") == "off")


def record_uploads(run_id: str, urls: list[str], url: str | None = None) -> str | None:
    """Where a run's files were uploaded; like `remember`, a failing store comes back as a reason."""
    if _off(url) or not urls:
        return None
    try:
        engine = open_store(url)
        with engine.begin() as conn:
            conn.execute(delete(UPLOADS).where(UPLOADS.c.run_id == run_id))
            conn.execute(insert(UPLOADS), [{"run_id": run_id, "url": u} for u in urls])
    except HistoryError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - the uploads happened; only their record is missing
        return f"history store {_shown(url or default_url())}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return None


def uploads_of(engine: Engine, run_id: str) -> list[str]:
    with engine.connect() as conn:
        return [r.url for r in conn.execute(select(UPLOADS.c.url).where(UPLOADS.c.run_id == run_id).order_by(UPLOADS.c.url))]


def hypothesis_history(engine: Engine, experiment: str, since: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
    """Every recorded hypothesis result of an experiment with its run's when, where and what
    (content hash, profile, spotchaos's and the cluster's components' versions), oldest first."""
    columns = (RUNS.c.run_id, RUNS.c.started, RUNS.c.content_hash, RUNS.c.profile, RUNS.c.spotchaos_version, RUNS.c.target, RUNS.c.run_dir,
               RUNS.c.kubernetes_version, RUNS.c.nth_version, RUNS.c.cluster_autoscaler_version, RUNS.c.lbc_version, RUNS.c.karpenter_version, HYPOTHESES.c.name, HYPOTHESES.c.check, HYPOTHESES.c.status, HYPOTHESES.c.value, HYPOTHESES.c.bound)
    return _of_experiment(engine, HYPOTHESES, columns, experiment, since, target)


def _of_experiment(engine: Engine, table: Table, columns: tuple[Any, ...], experiment: str, since: str | None, target: str | None) -> list[dict[str, Any]]:
    """`columns` of a per-run table joined with its runs of `experiment`, oldest run first."""
    query = select(*columns).join(table, table.c.run_id == RUNS.c.run_id).where(RUNS.c.experiment == experiment).order_by(RUNS.c.started)
    return _rows(engine, query, since, target)


def baseline_ids(engine: Engine, run: dict[str, Any], count: int) -> list[str]:
    """The last `count` passing runs of the same experiment, target (and on it the same account,
    context and cluster) and profile before `run` (newest first)."""
    same_place = [RUNS.c[col].is_not_distinct_from(run.get(col)) for col in ("account", "context", "cluster")]
    query = (select(RUNS.c.run_id).where(RUNS.c.experiment == run["experiment"], RUNS.c.target == run["target"], RUNS.c.profile == run["profile"],
                                         *same_place, RUNS.c.verdict == "passed", RUNS.c.run_id != run["run_id"], RUNS.c.started < run["started"])
             .order_by(desc(RUNS.c.started)).limit(count))
    with engine.connect() as conn:
        return [r.run_id for r in conn.execute(query)]


def baseline(engine: Engine, run: dict[str, Any], count: int) -> list[list[dict[str, Any]]]:
    """Hypothesis rows of each baseline run (newest first)."""
    return [hypotheses_of(engine, i) for i in baseline_ids(engine, run, count)]


def milestones_of(engine: Engine, run_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(MILESTONE_ROWS).where(MILESTONE_ROWS.c.run_id == run_id))]


def compare(data: ReportData, run_dir: Path, url: str | None = None, runs_back: int = 10) -> tuple[list[Any], int] | None:
    """(regressions, baseline runs) of a recorded run against its baseline: its hypotheses'
    measurements, then its node milestones; None when the store is off or unreadable."""
    from chaos.history.regression import milestone_regressions, regressions

    if _off(url) or data.verdict.status == "inconclusive":  # measured on a starved machine: its figures are no trend
        return None
    try:
        engine = open_store(url)
        rows = run_rows(data, str(run_dir.resolve()))
        ids = baseline_ids(engine, rows.run, runs_back)
        past = [hypotheses_of(engine, i) for i in ids]
        past_milestones = [milestones_of(engine, i) for i in ids]
    except Exception:  # noqa: BLE001 - the comparison is advice; the run's verdict stands without it
        return None
    return regressions(rows.hypotheses, past) + milestone_regressions(rows.milestones, past_milestones), len(ids)


def comparison_markdown(result: tuple[list[Any], int]) -> str:
    regs, runs_back = result
    lines = ["", f"## Compared with the last {runs_back} passing runs", ""]
    if runs_back == 0:
        lines.append("No earlier passing run of this experiment, target and profile in the run history yet.")
    elif not regs:
        lines.append("No measurement moved toward its bound beyond the tolerance.")
    else:
        lines += [f"- REGRESSED {r.line()}" for r in regs]
    return "\n".join(lines) + "\n"


def record_and_compare(data: ReportData, run_dir: Path, url: str | None, markdown: Path | None) -> tuple[str | None, list[Any]]:
    """After a run: record it, compare it with its baseline, and add the comparison to its
    Markdown report; (why it was not recorded or None, the regressions)."""
    problem = remember(data, run_dir, url)
    compared = None if problem else compare(data, run_dir, url)
    if compared is None:
        return problem, []
    if markdown is not None:
        with markdown.open("a") as md:
            md.write(comparison_markdown(compared))
    return problem, compared[0]


def milestone_history(engine: Engine, experiment: str, since: str | None = None, target: str | None = None) -> list[dict[str, Any]]:
    """Every recorded node milestone of an experiment with its run's start, oldest first."""
    columns = (RUNS.c.run_id, RUNS.c.started, MILESTONE_ROWS.c.node, MILESTONE_ROWS.c.milestone, MILESTONE_ROWS.c.seconds)
    return _of_experiment(engine, MILESTONE_ROWS, columns, experiment, since, target)
