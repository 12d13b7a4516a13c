"""The Job controller's decisions (pure), as kubernetes pkg/controller/job makes them: Indexed
pods per open index within parallelism, per-index backoff that fails an index alone, the global
backoff limit that fails the Job and ends its pods, and the compressed index ranges."""

from __future__ import annotations

from cluster.sim.controllers.job_indexes import JobSpec, Outcomes, decide, format_ranges


def test_ranges_compress_as_the_api_writes_them() -> None:
    assert format_ranges({0, 1, 2, 4, 6, 7}) == "0-2,4,6-7"
    assert format_ranges(set()) == "" and format_ranges({3}) == "3"


def test_indexed_pods_for_the_open_indexes_within_parallelism() -> None:
    spec = JobSpec(indexed=True, completions=4, parallelism=2)
    assert decide(spec, Outcomes()).create == [0, 1]
    running = Outcomes(succeeded={0}, active={1: 1})
    assert decide(spec, running).create == [2]
    assert decide(spec, Outcomes(succeeded={0, 1, 2, 3})).finished == "Complete"


def test_per_index_backoff_fails_the_index_alone_and_the_job_at_the_end() -> None:
    spec = JobSpec(indexed=True, completions=3, parallelism=3, backoff_limit_per_index=0, max_failed_indexes=3)
    lost = Outcomes(failures={1: 1}, active={0: 1, 2: 1})
    d = decide(spec, lost)
    assert d.failed_indexes == {1} and d.create == [] and d.finished is None and not d.delete_active  # the others go on
    d = decide(spec, Outcomes(succeeded={0, 2}, failures={1: 1}))
    assert d.finished == "FailedIndexes" and not d.delete_active
    assert decide(JobSpec(True, 3, 3, backoff_limit_per_index=0, max_failed_indexes=0), lost).finished == "MaxFailedIndexesExceeded"


def test_the_global_backoff_limit_fails_the_job_and_ends_its_pods() -> None:
    spec = JobSpec(indexed=True, completions=2, parallelism=2, backoff_limit=1)
    assert decide(spec, Outcomes(failures={0: 1}, active={1: 1})).create == [0]  # retried: one failure is within the limit
    d = decide(spec, Outcomes(failures={0: 2}, active={1: 1}))
    assert d.finished == "BackoffLimitExceeded" and d.delete_active


def test_non_indexed_counts_successes() -> None:
    spec = JobSpec(indexed=False, completions=3, parallelism=2)
    assert decide(spec, Outcomes()).create == [-1, -1]
    assert decide(spec, Outcomes(succeeded={0, 1}, active={-1: 1})).create == []
    assert decide(spec, Outcomes(succeeded={0, 1, 2})).finished == "Complete"
