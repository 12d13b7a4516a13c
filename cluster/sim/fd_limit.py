"""Open files: every simulated pod that serves is a real listening socket, every node a metadata
server, every connection a file.  50,000 pods need more than the usual soft limit (1,024, or
20,000 here), so the simulator raises its own limit at start: to the hard limit, and past it when
it may (root, up to the kernel's fs.nr_open).  Past the limit a pod cannot listen, and says so."""

from __future__ import annotations

import resource
from pathlib import Path

import structlog

log = structlog.get_logger("sim.fd_limit")

WANTED = 262_144  # 5,000 nodes x (10 serving pods + a metadata server) with room for connections


def _kernel_ceiling() -> int:
    try:
        return int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        return WANTED


def raise_open_files(wanted: int = WANTED) -> int:
    """Raise RLIMIT_NOFILE towards `wanted`; the soft limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, _kernel_ceiling())
    if hard != resource.RLIM_INFINITY and hard < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))  # allowed with CAP_SYS_RESOURCE
            hard = target
        except (ValueError, OSError):
            pass
    new_soft = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if new_soft > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
            soft = new_soft
        except (ValueError, OSError) as exc:
            log.warning("open_files_limit_kept", soft=soft, hard=hard, error=str(exc))
    log.debug("open_files_limit", soft=soft, hard=hard)
    return soft
