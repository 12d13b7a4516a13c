"""The report's pictures, on one time axis (run time, cluster seconds), each interrupted node's
milestones marked across them: error rate and p99 per second; requests per second by outcome
(what was sent, and how it was answered); serving replicas Ready vs desired; targets per state per
target group; Ready nodes per group and capacity type.  And a per-node Gantt of the milestones
(notice -> cordon -> drained, out of the load balancer, reclaim; the replacement's launch ->
Ready) with the two-minute deadline marked.  Sized to fit a laptop screen's width."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from chaos.evidence.traffic_stats import ERROR_CLASSES  # noqa: E402
from chaos.report.data import ReportData  # noqa: E402
from chaos.report.series import ClusterSeries, Steps, cluster_series  # noqa: E402

WIDTH_IN, DPI = 12.5, 90  # 1,125 px: inside a 1,366 px laptop screen with the page's margins
MARKERS = {"notice": ("tab:red", "notice"), "cordon": ("tab:orange", "cordon"), "drained": ("tab:green", "drained"),
           "target_draining": ("tab:purple", "target draining"), "reclaimed": ("black", "reclaimed"), "replacement_ready": ("tab:blue", "replacement Ready")}
OUTCOME_COLORS = {"ok": "tab:green", "balancer_5xx": "tab:red", "backend_5xx": "tab:orange", "connection": "tab:purple", "timeout": "tab:brown",
                  "other": "tab:gray"}
STATE_COLORS = {"healthy": "tab:green", "initial": "tab:blue", "draining": "tab:orange", "unhealthy": "tab:red"}
LINESTYLES = ("-", "--", ":", "-.")
DEADLINE_S = 120.0  # a Spot notice's two minutes, when the injection recorded no reclaim time


def _png(fig: plt.Figure) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return buf.getvalue()


def _steps(ax: Axes, series: Steps, end: float, **style: object) -> None:
    if not series:
        return
    xs = [t for t, _ in series] + [end]
    ys = [v for _, v in series] + [series[-1][1]]
    ax.step(xs, ys, where="post", **style)  # type: ignore[arg-type]


def _milestone_lines(data: ReportData, axes: list[Axes]) -> None:
    used: set[str] = set()
    for m in data.nodes:
        for key, (color, label) in MARKERS.items():
            t = getattr(m, key)
            if t is None:
                continue
            for ax in axes:
                ax.axvline(t, color=color, linestyle="--", linewidth=0.8, alpha=0.6, label=label if key not in used and ax is axes[0] else None)
            used.add(key)
    if used:
        axes[0].legend(loc="upper right", fontsize=7, ncol=6)


def _label(group: str) -> str:
    return group if len(group) <= 28 else group[:25] + "..."


def timeline_png(data: ReportData) -> bytes:
    """Six panels over run time: error rate, p99 (and the run's loop lag), requests by outcome,
    replicas, targets by state and Ready nodes per group, with the node milestones as lines."""
    seconds = data.traffic.seconds
    series: ClusterSeries = cluster_series(data.records, data.spec.cluster.service.deployment if data.spec.cluster.service else None)
    end = max([r.t for r in data.records] + [0.0])
    fig, axes = plt.subplots(6, 1, figsize=(WIDTH_IN, 13), sharex=True, gridspec_kw={"height_ratios": [1, 1, 1.3, 1, 1.3, 1]})
    ax_err, ax_lat, ax_req, ax_rep, ax_tg, ax_nodes = axes
    _errors_and_latency(data, ax_err, ax_lat)
    _requests(seconds, ax_req)
    _cluster(series, end, ax_rep, ax_tg, ax_nodes)
    ax_nodes.set_xlabel(f"run time (cluster seconds, {data.speed:g}x real time)")
    for ax in (ax_lat, ax_req, ax_rep, ax_tg, ax_nodes):  # headroom: a count that holds at its maximum stays off the frame
        ax.set_ylim(bottom=0, top=max(1.0, ax.get_ylim()[1]) * 1.15)
    _milestone_lines(data, list(axes))
    return _png(fig)


def _errors_and_latency(data: ReportData, ax_err: Any, ax_lat: Any) -> None:
    seconds = data.traffic.seconds
    xs = [(s.start_t + s.end_t) / 2 for s in seconds]
    ax_err.plot(xs, [s.error_rate * 100 for s in seconds], color="tab:red", linewidth=1.2)
    ax_err.set_ylabel("errors %")
    ax_err.set_ylim(bottom=0, top=max([s.error_rate * 100 for s in seconds] + [1.0]) * 1.1)
    ax_err.set_title(f"{data.spec.name}: {data.verdict.status}")
    ax_lat.plot(xs, [s.p99_ms or 0 for s in seconds], color="tab:blue", linewidth=1.2, label="p99")
    health = data.health  # the run's own health: how late its loops ran, beside the latency it measured
    if health:
        ax_lat.plot([(h.start_t + h.end_t) / 2 for h in health], [h.worst_lag_ms for h in health], color="tab:gray", linewidth=1.0, linestyle=":",
                    label="worst loop lag (harness or simulator)")
        ax_lat.legend(loc="upper left", fontsize=7, ncol=2)
    ax_lat.set_ylabel("ms")


def _requests(seconds: list[Any], ax_req: Any) -> None:
    """Requests sent per second, stacked by how they were answered (or not)."""
    width = [max(s.end_t - s.start_t, 1e-3) for s in seconds]
    bottom = [0.0] * len(seconds)
    for outcome in ("ok", *ERROR_CLASSES):
        per = [float(s.requests - s.errors) if outcome == "ok" else float(s.by_class.get(outcome, 0)) for s in seconds]
        if not any(per):
            continue
        ax_req.bar([s.start_t for s in seconds], per, width=width, bottom=bottom, align="edge", color=OUTCOME_COLORS.get(outcome, "tab:gray"),
                   label=outcome, linewidth=0)
        bottom = [b + p for b, p in zip(bottom, per, strict=True)]
    ax_req.set_ylabel("requests / s")
    if seconds:
        ax_req.legend(loc="lower left", fontsize=7, ncol=6)


def _cluster(series: ClusterSeries, end: float, ax_rep: Any, ax_tg: Any, ax_nodes: Any) -> None:
    _steps(ax_rep, series.replicas_desired, end, color="tab:gray", linestyle="--", label="desired")
    _steps(ax_rep, series.replicas_ready, end, color="tab:green", label="Ready")
    ax_rep.set_ylabel("replicas")
    if series.replicas_desired:
        ax_rep.legend(loc="lower left", fontsize=7, ncol=2)
    groups = sorted({g for g, _ in series.targets})
    for (group, state), steps in sorted(series.targets.items()):
        style = LINESTYLES[groups.index(group) % len(LINESTYLES)]
        _steps(ax_tg, steps, end, color=STATE_COLORS.get(state, "tab:gray"), linestyle=style, label=f"{state} ({_label(group)})")
    ax_tg.set_ylabel("targets")
    if series.targets:
        ax_tg.legend(loc="lower left", fontsize=7, ncol=4)
    for i, ((group, capacity), steps) in enumerate(sorted(series.nodes.items())):
        _steps(ax_nodes, steps, end, color=f"C{i % 10}", label=f"{_label(group)} ({capacity})")
    ax_nodes.set_ylabel("Ready nodes")
    if series.nodes:
        ax_nodes.legend(loc="lower left", fontsize=7, ncol=4)


def gantt_png(data: ReportData) -> bytes | None:
    """One row per interrupted node: notice -> cordon -> drained, out of the load balancer, the
    reclaim, and its replacement's launch -> Ready; the deadline (the reclaim the notice promised)
    as a red tick.  None without interrupted nodes."""
    if not data.nodes:
        return None
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.2 + 0.45 * len(data.nodes)))
    used: set[str] = set()

    def bar(row: int, start: float | None, stop: float | None, color: str, label: str, height: float = 0.5) -> None:
        if start is None or stop is None or stop < start:
            return
        ax.barh(row, max(stop - start, 0.5), left=start, height=height, color=color, label=label if label not in used else None)
        used.add(label)

    names = []
    for row, m in enumerate(data.nodes):
        names.append((m.node or m.instance).split(".", 1)[0])
        bar(row, m.notice, m.cordon, "tab:orange", "notice -> cordon")
        bar(row, m.cordon, m.drained, "tab:green", "cordon -> drained")
        bar(row, m.notice, m.targets_out, "tab:purple", "notice -> out of the ALB", height=0.18)
        bar(row, m.replacement_requested, m.replacement_ready, "tab:blue", "replacement launch -> Ready", height=0.3)
        if m.reclaimed is not None:
            ax.plot([m.reclaimed], [row], marker="x", color="black", label="reclaimed" if "reclaimed" not in used else None)
            used.add("reclaimed")
        if m.warned:
            deadline = m.expected_reclaim if m.expected_reclaim is not None else m.notice + DEADLINE_S
            ax.plot([deadline, deadline], [row - 0.4, row + 0.4], color="red", linewidth=2, label="deadline (2-minute notice)" if "deadline" not in used else None)
            used.add("deadline")
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"run time (cluster seconds, {data.speed:g}x real time)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35 if len(names) < 3 else -0.15), fontsize=7, ncol=6)
    return _png(fig)
