"""The timeline plot: error rate and p99 per real second of traffic against run time, with a
marker for each interrupted node's milestones."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from chaos.report.data import ReportData  # noqa: E402

MARKERS = {"notice": ("tab:red", "notice"), "cordon": ("tab:orange", "cordon"), "drained": ("tab:green", "drained"),
           "target_draining": ("tab:purple", "target draining"), "reclaimed": ("black", "reclaimed"), "replacement_ready": ("tab:blue", "replacement Ready")}


def timeline_png(data: ReportData) -> bytes:
    seconds = data.traffic.seconds
    fig, (ax_err, ax_lat) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True)
    xs = [(s.start_t + s.end_t) / 2 for s in seconds]
    ax_err.plot(xs, [s.error_rate * 100 for s in seconds], color="tab:red", linewidth=1.2)
    ax_err.set_ylabel("errors %")
    ax_err.set_ylim(bottom=0, top=max([s.error_rate * 100 for s in seconds] + [1.0]) * 1.1)
    ax_lat.plot(xs, [s.p99_ms or 0 for s in seconds], color="tab:blue", linewidth=1.2)
    ax_lat.set_ylabel("p99 ms")
    ax_lat.set_xlabel(f"run time (cluster seconds, {data.speed:g}x real time)")
    used: set[str] = set()
    for m in data.nodes:
        for key, (color, label) in MARKERS.items():
            t = getattr(m, key)
            if t is None:
                continue
            for ax in (ax_err, ax_lat):
                ax.axvline(t, color=color, linestyle="--", linewidth=0.8, alpha=0.7, label=label if key not in used and ax is ax_err else None)
            used.add(key)
    if used:
        ax_err.legend(loc="upper right", fontsize=7, ncol=3)
    ax_err.set_title(f"{data.spec.name}: {data.verdict.status}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()
