"""The HTML report in a real browser (Debian's Chromium, headless) at a laptop's viewport,
1366x768: the page is no wider than the window, so nobody scrolls sideways, with eight interrupted
nodes of long names, two target groups and every picture.  The browser lays the page out and
measures it (a script in a copy of the page writes the widths into its title, read back with
--dump-dom); a screenshot of the same viewport is kept beside the report.  Nothing is mocked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from chaos.report.write import write_reports
from tests.unit.test_verdicts import good_journal, node, pod

pytestmark = pytest.mark.integration

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1366,768"]
MEASURE = "<script>document.title = document.documentElement.scrollWidth + 'x' + document.documentElement.clientWidth</script>"


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed here (Debian's chromium); CI installs it")
    return found


def _busy_journal() -> list[dict]:
    """The good journal, plus seven more interrupted nodes of long names across two target groups."""
    records = good_journal()
    for i in range(7):
        name = f"ip-10-0-{100 + i}-{200 + i}.us-east-1.compute.internal-very-long-node-name"
        iid, ip = f"i-0cccccccccccccc{i:02d}", f"127.16.{100 + i}.3"
        records += [
            node(95.0, node=name, instance=iid, group="spot-8vcpu-32gb-a-rather-long-group-name"), pod(95.0, f"resnet-{i}", node=name, ip=ip),
            {"t": 95.0, "kind": "target", "group": "k8s-serving-resnetgrpc-0123456789", "target": ip, "state": "healthy"},
            {"t": 130.0 + i, "kind": "injected", "injection": "pool", "via": "fis", "action": "spot-interruption", "instance": iid, "node": name,
             "reclaim_t": 250.0 + i},
            node(133.0 + i, node=name, instance=iid, group="spot-8vcpu-32gb-a-rather-long-group-name", unschedulable=True),
            {"t": 136.0 + i, "kind": "target", "group": "k8s-serving-resnetgrpc-0123456789", "target": ip, "state": "draining"},
        ]
    return sorted(records, key=lambda r: r["t"])


def test_the_report_fits_a_laptop_screen_in_a_real_browser(chromium: str, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    journal.write_text("".join(json.dumps(r) + "\n" for r in _busy_journal()))
    _, paths = write_reports(journal)
    html = paths["html"].read_text()
    assert html.count("<img") == 2  # the timeline and the per-node Gantt
    measured = tmp_path / "measured.html"
    measured.write_text(html.replace("</body></html>", MEASURE + "</body></html>"))
    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", measured.as_uri()],
                         capture_output=True, text=True, timeout=120)
    title = dom.stdout[dom.stdout.index("<title>") + 7:dom.stdout.index("</title>")]
    page_width, window_width = (int(x) for x in title.split("x"))
    assert window_width > 1300, title  # the laptop viewport, less a scrollbar
    assert page_width <= window_width, f"the report is {page_width} px wide in a {window_width} px window: it scrolls sideways"
    shot = tmp_path / "report-1366x768.png"
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", paths["html"].as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
