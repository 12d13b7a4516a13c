"""The game-day screen (rich renderables, pure): the run's state at a glance for the driver and
the observers.  Per interrupted node its milestones and the countdown to its reclaim; target
health per target group; serving replicas; nodes per group and capacity type; error rate and p99
over the last minute as sparklines; FIS experiments; hypotheses decided so far; the latest notes;
and, under the header, the prompt or the keys."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from chaos.evidence.milestones import NodeMilestones
from chaos.evidence.traffic_fold import TrafficFold
from chaos.gameday.cluster_fold import ClusterFold
from chaos.journal import Record
from chaos.report.postmortem import moment_of
from chaos.terminal.names import short_name

BLOCKS = "▁▂▃▄▅▆▇█"
NODE_STEPS = (("cordon", "cordon"), ("drained", "drained"), ("targets_out", "ALB out"), ("reclaimed", "reclaim"), ("replacement_ready", "replaced"))
KEYS = "keys: [n] note  [a] abort (rolls back)  [h] help"
HELP = ("n: type a note; Enter writes it to the journal at the cluster time it was typed, Esc drops it.\n"
        "a: abort the run; y confirms, and everything the run did is rolled back (as Ctrl-C does).\n"
        "h: this help.  Observers: `spotchaos watch RUN_DIR` shows this screen, `spotchaos note RUN_DIR TEXT` adds a note.")


MIN_COLUMNS, MIN_LINES = 80, 24  # below this the screen does not fit: one line per event instead


def fits(console: Console) -> bool:
    width, height = console.size
    return width >= MIN_COLUMNS and height >= MIN_LINES


def print_event(console: Console, record: Record) -> None:
    """The small-terminal view: one line for each record worth a line on the timeline."""
    moment = moment_of(record)
    if moment is not None:
        console.print(f"t={moment.t:7.1f}s  {moment.what}", highlight=False, markup=False, soft_wrap=True)


def terminal_console() -> Console:
    """A console sized by the terminal itself: COLUMNS and LINES left in the environment by a shell
    (stale after a resize, or inherited from another terminal) would size the screen wrong."""
    return Console(_environ={k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")})


@dataclass(frozen=True)
class Decided:
    name: str
    status: str
    measured: str


def sparkline(values: Sequence[float], top: float | None = None) -> str:
    if not values:
        return ""
    high = top if top else max(values) or 1.0
    return "".join(BLOCKS[min(len(BLOCKS) - 1, int(v / high * (len(BLOCKS) - 1) + 0.5))] if high else BLOCKS[0] for v in values)


def _nodes(now: float, nodes: list[NodeMilestones]) -> Table:
    table = Table("interrupted", "notice", *[title for _, title in NODE_STEPS], "reclaim in", box=None, pad_edge=False, title_justify="left")
    for m in nodes:
        steps = [("-" if m.since_notice(k) is None else f"+{m.since_notice(k):.0f}s") for k, _ in NODE_STEPS]
        if m.reclaimed is not None or m.expected_reclaim is None:
            left = "-"
        else:
            seconds = m.expected_reclaim - now
            left = Text(f"{seconds:.0f}s", style="bold red" if seconds < 30 else "yellow") if seconds > 0 else Text("due", style="bold red")
        table.add_row(short_name(m.node or m.instance), f"t={m.notice:.0f}s", *steps, left)
    return table


def _cluster(fold: ClusterFold) -> Table:
    table = Table("", "", box=None, pad_edge=False, show_header=False)
    for group, counts in sorted(fold.target_counts().items()):
        states = "  ".join(f"{s} {counts[s]}" for s in ("healthy", "initial", "draining", "unhealthy", "unused") if counts.get(s))
        table.add_row(f"targets {group}", states or "none")
    for name, (ready, desired) in sorted(fold.replicas.items()):
        style = "green" if ready >= desired else "yellow"
        table.add_row(f"replicas {name}", Text(f"{ready}/{desired} Ready", style=style))
    for (group, capacity), (ready, total) in sorted(fold.node_counts().items()):
        table.add_row(f"nodes {group}", f"{ready}/{total} Ready ({capacity})")
    for eid, state in fold.fis.items():
        table.add_row(f"FIS {eid}", state)
    return table


def screen(name: str, fold: ClusterFold, nodes: list[NodeMilestones], traffic: TrafficFold, decided: Sequence[Decided], *,
           prompt: str | None = None, show_help: bool = False, read_only: bool = False) -> RenderableType:
    recent = traffic.recent(60)
    rates = [s.errors / s.requests if s.requests else 0.0 for s in recent]
    p99s = [s.p99_ms or 0.0 for s in recent]
    last = recent[-5:]
    n = sum(s.requests for s in last)
    rate = sum(s.errors for s in last) / n if n else 0.0
    head = Text.assemble((name, "bold"), f"  phase {fold.phase}  t={fold.now:.0f}s  ",
                         (f"errors {rate:.2%}", "red" if rate else "green"), f"  p99 {max(p99s[-5:], default=0):.0f} ms  requests {traffic.requests}")
    # the prompt (or the keys) comes right under the header: a screen taller than the terminal is
    # cut at the bottom, and what the driver must answer must never be what is cut
    parts: list[RenderableType] = [head]
    if prompt is not None:
        parts.append(Text(prompt, style="bold yellow"))
    elif not read_only:
        parts.append(Text(HELP if show_help else KEYS, style="dim"))
    parts += [Text.assemble("error rate, last minute ", (sparkline(rates, max(max(rates, default=0), 0.01)), "red")),
              Text.assemble("p99 (ms), last minute   ", (sparkline(p99s), "cyan"), f" max {max(p99s, default=0):.0f}")]
    if fold.verdict is not None:
        parts.append(Text(f"verdict: {fold.verdict.status} - {fold.verdict.reason}", style="bold"))
    for note in fold.notes[-3:]:
        parts.append(Text(f"note t={note.t:.0f}s {note.author}: {note.text}", style="magenta"))
    parts += [Text(""), _nodes(fold.now, nodes) if nodes else Text("no node interrupted yet", style="dim"), Text(""), _cluster(fold)]
    if decided:
        parts.append(Text(""))
        parts += [Text.assemble((f"{d.status:9}", "green" if d.status == "pass" else "red" if d.status == "fail" else "dim"), f" {d.name}: {d.measured}")
                  for d in decided]
    return Group(*parts)
