"""What the Job controller decides for a Job, from the indexes' outcomes so far (pure).

Follows kubernetes pkg/controller/job (job_controller.go, indexed_job_utils.go,
backoff_utils.go), v1.33:
- Indexed: one pod per index from 0 to completions-1, at most `parallelism` active; an index is
  done when one of its pods succeeds; `completedIndexes` / `failedIndexes` are written as
  compressed ranges ("0-2,4").
- NonIndexed: pods until `completions` succeeded (any pod counts).
- Failures: a pod that failed, or went away before it succeeded (its node lost), counts as a
  failure.  With `backoffLimitPerIndex`, an index whose failures exceed it fails alone (no more
  pods for it) and the Job goes on; it fails (FailedIndexes) once every index is finished and
  some failed, or when more than `maxFailedIndexes` failed (MaxFailedIndexesExceeded).  Without
  it, more failures than `backoffLimit` (default 6) fail the Job (BackoffLimitExceeded) and its
  active pods are deleted.
- `restartPolicy: OnFailure` containers restart in place in a real kubelet; here such a pod's
  failure is counted like Never's (docs/simulator.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BACKOFF_LIMIT = 6


def format_ranges(indexes: set[int]) -> str:
    out: list[str] = []
    run: list[int] = []
    for i in sorted(indexes):
        if run and i == run[-1] + 1:
            run.append(i)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
        run = [i]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 1 else str(run[0]))
    return ",".join(out)


@dataclass
class Outcomes:
    """What became of a Job's pods so far."""

    succeeded: set[int] = field(default_factory=set)  # indexes (NonIndexed: one number per success)
    failures: dict[int, int] = field(default_factory=dict)  # index -> failed pods (NonIndexed: all under -1)
    active: dict[int, int] = field(default_factory=dict)  # index -> active pods (NonIndexed: all under -1)

    def failed_total(self) -> int:
        return sum(self.failures.values())


@dataclass(frozen=True)
class JobSpec:
    indexed: bool
    completions: int
    parallelism: int
    backoff_limit: int = DEFAULT_BACKOFF_LIMIT
    backoff_limit_per_index: int | None = None
    max_failed_indexes: int | None = None


@dataclass(frozen=True)
class Decision:
    create: list[int]  # indexes to start a pod for (NonIndexed: -1 per pod)
    failed_indexes: frozenset[int]
    finished: str | None  # None (running), "Complete", or the Failed condition's reason
    delete_active: bool  # the Job failed as a whole: its active pods go


def decide(spec: JobSpec, seen: Outcomes) -> Decision:
    if not spec.indexed:
        return _non_indexed(spec, seen)
    limit = spec.backoff_limit_per_index
    failed = frozenset(i for i, n in seen.failures.items() if limit is not None and n > limit and i not in seen.succeeded)
    if limit is None and seen.failed_total() > spec.backoff_limit:
        return Decision([], failed, "BackoffLimitExceeded", True)
    if spec.max_failed_indexes is not None and len(failed) > spec.max_failed_indexes:
        return Decision([], failed, "MaxFailedIndexesExceeded", True)
    open_indexes = [i for i in range(spec.completions) if i not in seen.succeeded and i not in failed]
    if not open_indexes:
        return Decision([], failed, "FailedIndexes" if failed else "Complete", False)
    room = spec.parallelism - sum(seen.active.values())
    waiting = [i for i in open_indexes if not seen.active.get(i)]
    return Decision(waiting[:max(0, room)], failed, None, False)


def _non_indexed(spec: JobSpec, seen: Outcomes) -> Decision:
    if seen.failed_total() > spec.backoff_limit:
        return Decision([], frozenset(), "BackoffLimitExceeded", True)
    done = len(seen.succeeded)
    if done >= spec.completions:
        return Decision([], frozenset(), "Complete", False)
    active = sum(seen.active.values())
    want = min(spec.parallelism, spec.completions - done) - active
    return Decision([-1] * max(0, want), frozenset(), None, False)
