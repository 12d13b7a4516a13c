"""The `spotchaos` command line: the composition root that starts simulators and runs the harness.
Each command group is a module of its own; importing them registers their commands on `app`."""

from __future__ import annotations

import os
import signal
import sys

import typer
from rich.markup import escape

from chaos import __version__
from chaos.cli import cluster, experiment, gameday, history, load, sim  # noqa: F401 - registers the commands
from chaos.cli.app import app, err, out


@app.command()
def version() -> None:
    """Print the version."""
    out.print(__version__)


def main() -> None:
    """Exit codes: a command's own; a usage error (unknown option, a value of the wrong type) is an
    input error like any other, 3: click's 2 would read as "aborted" for `run`."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # typer's click: usage errors and bad parameter values
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {escape(str(exc))}", highlight=False)
        sys.exit(3)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C outside a run's own handling (writing reports, say)
        err.print("aborted")
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last net: one line, the traceback only when asked for
        if os.environ.get("SPOTCHAOS_DEBUG"):
            raise
        err.print(f"[red]error:[/red] unexpected {type(exc).__name__}: {escape(str(exc).splitlines()[0][:300] if str(exc) else '')} "
                  "(set SPOTCHAOS_DEBUG=1 for the traceback)", highlight=False, soft_wrap=True)
        sys.exit(3)
    _exit(code if isinstance(code, int) else 0)


def _exit(code: int) -> None:
    """Exit with the command's code; a Ctrl-C while the process winds down (joining the threads
    that read the cluster) ends it at once with that code, not with a KeyboardInterrupt's."""
    def now(*_: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    signal.signal(signal.SIGINT, now)
    signal.signal(signal.SIGTERM, now)
    sys.exit(code)

