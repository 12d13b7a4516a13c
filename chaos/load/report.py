"""How a load run shows itself to people: live progress while it runs and a short table after."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from chaos.host.event_loop import new_loop
from chaos.load.run import LoadSpec, Snapshot, run_load


def run_with_progress(spec: LoadSpec, show: bool, console: Console) -> dict[str, Any]:
    """Run on a fresh (uvloop) event loop, with a live line when `show`."""
    loop = new_loop()
    try:
        if not show:
            return loop.run_until_complete(run_load(spec))
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            def progress(s: Snapshot) -> None:
                rate = s.dispatched / s.elapsed if s.elapsed > 0 else 0.0
                live.update(f"{s.elapsed:6.1f}s  sent {s.dispatched}  done {s.completed}  errors {s.errors}  {rate:8.1f} rps  conns {s.open_connections}")
            return loop.run_until_complete(run_load(spec, progress))
    finally:
        loop.close()


def print_summary(summary: dict[str, Any], console: Console) -> None:
    lat = summary["latency_ms"]
    table = Table(title=f"{summary['method']} {summary['url']}", show_header=True)
    for col in ("requests", "rps (wanted/achieved)", "errors", "p50 ms", "p99 ms", "max ms"):
        table.add_column(col)
    table.add_row(
        str(summary["completed"]), f"{summary['intended_rps']}/{summary['achieved_rps']}",
        f"{summary['errors']} ({summary['error_rate']:.2%})",
        str(lat["p50"]), str(lat["p99"]), str(lat["max"]),
    )
    console.print(table)
    bad = {k: v for k, v in summary["outcomes"].items() if k != "ok" and v}
    if bad:
        console.print("errors by class: " + ", ".join(f"{k}={v}" for k, v in bad.items()))
