"""The run history's schema is its Alembic migrations: a new store gets exactly today's tables,
a store written before migrations existed is stamped and upgraded with its rows kept, stores
opened together for the first time all come up, and an SQLite file that is corrupt or another
program's is refused in one line without a byte of it changing.  Real SQLite files throughout."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from chaos.history.migrate import HEAD, REVISIONS
from chaos.history.store import META, HistoryError, open_store, runs


def _schema(engine) -> dict[str, tuple[set[str], set[str]]]:
    found = inspect(engine)
    return {t: ({c["name"] for c in found.get_columns(t)}, {i["name"] for i in found.get_indexes(t)})
            for t in found.get_table_names() if t != "alembic_version"}


def test_head_is_the_newest_migration():
    config = Config()
    config.set_main_option("script_location", "chaos.history:migrations")
    scripts = ScriptDirectory.from_config(config)
    assert scripts.get_current_head() == HEAD
    assert tuple(reversed([s.revision for s in scripts.walk_revisions()])) == REVISIONS


def test_a_store_written_by_a_newer_version_is_refused_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(HistoryError, match="written by a newer spotchaos"):
        open_store(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"  # untouched


def test_a_new_store_has_exactly_the_tables_the_code_uses(tmp_path):
    migrated = open_store(f"sqlite:///{tmp_path / 'new.sqlite'}")
    declared = create_engine(f"sqlite:///{tmp_path / 'declared.sqlite'}")
    META.create_all(declared)
    assert _schema(migrated) == _schema(declared)
    with migrated.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD


def test_a_store_from_before_migrations_is_upgraded_with_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    old = create_engine(f"sqlite:///{path}")
    with old.begin() as conn:  # what the version before migrations made: the first schema, no version table
        config = Config()
        config.set_main_option("script_location", "chaos.history:migrations")
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO runs (run_id, experiment, started, verdict) VALUES ('r1', 'e', '2026-11-01T00:00:00Z', 'passed')"))
    assert "kubernetes_version" not in {c["name"] for c in inspect(old).get_columns("runs")}
    engine = open_store(f"sqlite:///{path}")
    assert "uploads" in inspect(engine).get_table_names()
    assert "kubernetes_version" in {c["name"] for c in inspect(engine).get_columns("runs")}
    assert [r["run_id"] for r in runs(engine)] == ["r1"]
    open_store(f"sqlite:///{path}")  # current now: nothing to do


def test_stores_opened_together_for_the_first_time_all_come_up(tmp_path, store_url):
    url = store_url
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            open_store(url)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def _foreign(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL)")
        db.execute("INSERT INTO invoices (amount) VALUES (42.0)")


@pytest.mark.parametrize(("make", "needle"), [
    (_foreign, "holds another program's tables (invoices)"),
    # SQLite's header with garbage after it: read through SQLite alone (the next test), it is a corrupt file as the rest
    (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200), "is not an SQLite database (corrupt"),
    (lambda p: p.write_text("name,value\na,1\n"), "is not an SQLite database"),
])
def test_a_corrupt_or_foreign_sqlite_file_is_refused_untouched(tmp_path, make, needle):
    path = tmp_path / "theirs.sqlite"
    make(path)
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="history store") as info:
        open_store(f"sqlite:///{path}")
    assert needle in str(info.value)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["theirs.sqlite"]


def test_opening_the_store_again_keeps_the_locks_of_the_connections_already_open(tmp_path):
    # a file descriptor of our own on the store, closed, drops the POSIX locks of every SQLite connection of this
    # process on it: another process closing its connection then takes itself for the last one and checkpoints and
    # deletes the write-ahead log under the open ones (a user's store was found corrupt this way)
    url = f"sqlite:///{tmp_path / 'history.sqlite'}"
    first = open_store(url)
    with first.connect() as conn:  # an earlier run's store, its connection still open in the pool
        conn.execute(text("SELECT count(*) FROM runs")).all()
        open_store(url).dispose()  # the next run's check of the store, in the same process
        other = subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('SELECT 1 FROM runs').fetchall(); c.close()",
                                str(tmp_path / "history.sqlite")], capture_output=True, text=True, timeout=60)
        assert other.returncode == 0, other.stderr
        assert (tmp_path / "history.sqlite-wal").exists()  # still this process's: not checkpointed away by the other one
    first.dispose()
