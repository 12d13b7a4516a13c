"""Destinations for a run's results, checked before the run starts: `--upload` must be an S3 URL
with a valid bucket, `--notify` an http(s) URL, `--notify-always` needs `--notify`; each mistake
is one line and exit 3, and nothing runs.  When a notification is due is pure."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from chaos.aws.upload_destination import UploadInputError, content_type, parse_s3_url
from chaos.cli import app
from chaos.delivery.notification import should_notify
from tests.e2e.test_experiments import ROOT

EXPERIMENT = str(ROOT / "experiments" / "single-spot-node-fis.yaml")


def test_s3_destinations_and_keys():
    dest = parse_s3_url("s3://chaos-results/nightly/staging/")
    assert (dest.bucket, dest.prefix) == ("chaos-results", "nightly/staging")
    assert dest.key("run-1", "report.html") == "nightly/staging/run-1/report.html"
    assert parse_s3_url("s3://chaos-results").key("run-1", "journal.jsonl") == "run-1/journal.jsonl"
    assert content_type("report.html").startswith("text/html") and content_type("junit.xml") == "application/xml"
    for bad in ("http://x/y", "chaos-results/x", "s3://", "s3://UPPER/x", "s3://a/x", "s3://bad..name/x", "s3://ok-bucket/x?versionId=1"):
        with pytest.raises(UploadInputError, match="--upload"):
            parse_s3_url(bad)


def test_when_a_notification_is_due():
    assert should_notify("failed", False, False) and should_notify("aborted", False, False) and should_notify("error", False, False)
    assert should_notify("passed", True, False)  # regressed
    assert not should_notify("passed", False, False) and should_notify("passed", False, True)


@pytest.mark.parametrize(("args", "needle"), [
    (["--upload", "http://bucket/x"], "is not an S3 URL; give s3://BUCKET/PREFIX"),
    (["--upload", "s3://Bad_Bucket/x"], "is not a valid S3 bucket name"),
    (["--notify", "ftp://hooks.example/x"], "is not an http(s) URL"),
    (["--notify-always"], "--notify-always needs --notify URL"),
])
def test_bad_destinations_are_refused_before_the_run(args, needle, tmp_path):
    result = CliRunner().invoke(app, ["run", EXPERIMENT, "--report-dir", str(tmp_path / "run"), *args])
    assert result.exit_code == 3 and needle in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "run").exists()  # nothing ran


def test_cron_schedules_as_the_api_server_parses_them():
    from chaos.runner.cron_schedule import schedule_problem

    for good in ("0 3 * * *", "*/15 * * * *", "30 2 * * 1-5", "0 0 1 JAN,jul *", "0 6 * * MON-FRI", "@daily", "0 0 * * 7", "5 4 * * sun"):
        assert schedule_problem(good) is None, good
    for bad, needle in (("every night", "2 fields"), ("60 * * * *", "minute '60'"), ("0 3 * * * *", "6 fields"), ("*/0 * * * *", "step of 0"),
                        ("TZ=UTC 0 3 * * *", "time zone"), ("0 3 32 * *", "day of month '32'"), ("0 3 * FOO *", "month 'FOO'")):
        problem = schedule_problem(bad)
        assert problem is not None and needle in problem, (bad, problem)
