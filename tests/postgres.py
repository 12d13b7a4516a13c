"""A PostgreSQL server of the tests' own: Debian's binaries, a data directory in a temporary
directory, listening only on a Unix socket there (no port to clash), stopped at the end.  On CI
`.ci/run` installs postgresql, and a missing server fails the tests that need it; elsewhere they
are skipped with the reason."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server() -> Iterator[str]:
    """The server's base URL (its `postgres` database), for SQLAlchemy with psycopg.  Its directory
    is its own under /tmp (pytest's are private to root, and the server runs as `postgres`)."""
    bin_dir = _binaries()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: .ci/run installs Debian's postgresql for these tests")
        pytest.skip("PostgreSQL is not installed here (Debian's postgresql); CI installs it")
    directory = Path(tempfile.mkdtemp(prefix="spotchaos-postgres-"))
    data, sockets = directory / "data", directory / "sockets"
    sockets.mkdir(parents=True)
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (directory, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
    subprocess.run(_as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"]),
                   check=True, capture_output=True)
    options = f"-k {sockets} -c listen_addresses='' -p 5432 -c fsync=off -c max_connections=50"
    subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(directory / "server.log"), "-w", "start"]),
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sockets}&port=5432"
    finally:
        subprocess.run(_as_postgres([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(directory, ignore_errors=True)


def fresh_database(base_url: str) -> str:
    """A new, empty database on the server; its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    name = f"history_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(host=url.query["host"], port=int(url.query["port"]), user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)
