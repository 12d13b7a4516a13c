"""A finished run's results leave the machine: the journal and reports go to S3 (the simulator's
S3, through boto3 as the environment configures it) with their URLs recorded in the run history,
and a summary goes to a webhook (a local HTTP receiver, as Slack or Teams would get it), only on
failure or regression unless asked always.  A failing upload or webhook is a warning, retried
first, and changes nothing else: the verdict, the history row and the run directory stay."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chaos.aws.upload_destination import parse_s3_url
from chaos.delivery.webhook import check_url
from chaos.history.store import open_store, runs, uploads_of
from chaos.report.write import write_reports
from chaos.run.results import Destinations, deliver
from chaos.spec import parse_experiment
from chaos.verdict.outcome import verdict
from tests.records import typed
from tests.support.journals import read_whole_journal as read_journal
from tests.unit.test_verdicts import good_journal, traffic


class Receiver:
    """An incoming webhook on loopback: answers each POST with the next planned status (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.posts: list[dict] = []
        self.statuses = list(statuses or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = outer.statuses.pop(0) if outer.statuses else 200
                outer.posts.append({"status": status, "type": self.headers["Content-Type"], "body": json.loads(body)})
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/secret-token"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _run_dir(tmp_path: Path, name: str, records: list[dict]) -> tuple[Path, dict[str, Path]]:
    directory = tmp_path / name
    directory.mkdir()
    records = [dict(r) for r in records]
    records[0] |= {"run_id": f"{name}-20261127T100000Z-abc123", "wall": "2026-11-27T10:00:00Z"}
    judged = verdict(parse_experiment(records[0]["spec"], "journal"), typed(records))  # as a run that ended writes it
    records.append({"t": max(r["t"] for r in records), "kind": "verdict", **judged.as_dict()})
    (directory / "journal.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")
    data, paths = write_reports(directory / "journal.jsonl")
    return directory, paths


def _failed_journal() -> list[dict]:
    base = good_journal()
    return sorted([r for r in base if not (r["kind"] == "traffic" and r["second"] in (3, 4))] + [traffic(3, 100, 40), traffic(4, 100, 40)],
                  key=lambda r: r["t"])


@pytest.fixture
def s3_env(sim, monkeypatch):
    """boto3 as the environment configures it, pointed at the simulator's S3."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.endpoints.aws_endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", sim.endpoints.region)
    s3 = sim.aws("s3")
    s3.create_bucket(Bucket="chaos-results")
    return s3


def test_a_failed_run_is_uploaded_recorded_and_notified(tmp_path, s3_env, receiver):
    history = f"sqlite:///{tmp_path / 'h.sqlite'}"
    hook = receiver([503])  # the first post is refused: retried
    directory, reports = _run_dir(tmp_path, "failing", _failed_journal())
    data, _ = write_reports(directory / "journal.jsonl")
    assert data.verdict.status == "failed"
    to = Destinations(history, parse_s3_url("s3://chaos-results/nightly/"), check_url(hook.url))
    done = deliver(data, directory, reports, to)
    assert done.warnings == []
    run_id = read_journal(directory / "journal.jsonl")[0]["run_id"]
    keys = {o["Key"] for o in s3_env.list_objects_v2(Bucket="chaos-results", Prefix=f"nightly/{run_id}/")["Contents"]}
    files = ("journal.jsonl", "report.md", "report.html", "report.json", "junit.xml", "metrics.openmetrics.txt", "timeline.png", "gantt.png")
    assert keys == {f"nightly/{run_id}/{n}" for n in files}
    png = s3_env.get_object(Bucket="chaos-results", Key=f"nightly/{run_id}/timeline.png")
    assert png["ContentType"] == "image/png" and png["Body"].read() == reports["timeline"].read_bytes()
    html = s3_env.get_object(Bucket="chaos-results", Key=f"nightly/{run_id}/report.html")
    assert html["ContentType"].startswith("text/html") and html["Body"].read() == reports["html"].read_bytes()
    engine = open_store(history)
    assert [r["verdict"] for r in runs(engine)] == ["failed"]
    assert uploads_of(engine, run_id) == sorted(done.uploaded) and len(done.uploaded) == len(files)
    assert [p["status"] for p in hook.posts] == [503, 200] and done.notified == 200
    body = hook.posts[-1]["body"]
    assert hook.posts[-1]["type"] == "application/json"
    assert "FAILED" in body["text"] and "error-rate" in body["text"] and f"s3://chaos-results/nightly/{run_id}/report.html" in body["text"]
    assert body["spotchaos"]["status"] == "failed" and body["spotchaos"]["run_id"] == run_id
    assert "error-rate" in [b["name"] for b in body["spotchaos"]["breached"]]


def test_a_passed_run_notifies_only_when_asked_always(tmp_path, receiver):
    hook = receiver()
    directory, reports = _run_dir(tmp_path, "passing", good_journal())
    data, _ = write_reports(directory / "journal.jsonl")
    assert data.verdict.status == "passed"
    quiet = deliver(data, directory, reports, Destinations("off", notify=check_url(hook.url)))
    assert quiet.notified is None and hook.posts == []
    loud = deliver(data, directory, reports, Destinations("off", notify=check_url(hook.url), notify_always=True))
    assert loud.notified == 200 and "PASSED" in hook.posts[0]["body"]["text"]
    assert str(reports["html"].resolve()) in hook.posts[0]["body"]["text"]  # not uploaded: the local report


def test_failing_destinations_are_warnings_and_change_nothing_else(tmp_path, s3_env, receiver):
    history = f"sqlite:///{tmp_path / 'h.sqlite'}"
    hook = receiver([400])  # refused for good: not retried
    directory, reports = _run_dir(tmp_path, "failing", _failed_journal())
    data, _ = write_reports(directory / "journal.jsonl")
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    done = deliver(data, directory, reports, Destinations(history, parse_s3_url("s3://no-such-bucket/x"), check_url(hook.url)))
    assert len(done.warnings) == 2, done.warnings
    upload, notify = done.warnings
    assert "upload to s3://no-such-bucket/x failed" in upload and "NoSuchBucket" in upload and str(directory) in upload
    assert "answered 400" in notify and "secret-token" not in notify  # the webhook's secret path never shows
    assert done.uploaded == [] and len(hook.posts) == 1
    assert [r["verdict"] for r in runs(open_store(history))] == ["failed"]  # still recorded
    assert {p.name: p.read_bytes() for p in directory.iterdir() if p.name in before and p.name != "report.md"} == \
        {k: v for k, v in before.items() if k != "report.md"}  # the run's files are as they were (report.md gains the comparison)
