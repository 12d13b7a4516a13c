"""JUnit XML: one test case per hypothesis, failures carrying the measured value and bound; an
inconclusive one (breached only while the run was starved) is skipped, with what was starved."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from chaos.report.data import ReportData


def render(data: ReportData) -> str:
    v = data.verdict
    suite = ET.Element("testsuite", name=data.spec.name, tests=str(len(v.hypotheses)),
                       failures=str(sum(h.status in ("fail", "undecided") for h in v.hypotheses)),
                       errors="1" if v.status in ("error", "aborted") else "0",
                       skipped=str(sum(h.status == "inconclusive" for h in v.hypotheses)))
    for h in v.hypotheses:
        case = ET.SubElement(suite, "testcase", classname=f"spotchaos.{data.spec.name}", name=h.name)
        if h.status in ("fail", "undecided"):
            failure = ET.SubElement(case, "failure", message=f"{h.name}: measured {h.measured}, bound {h.bound}", type=h.status)
            failure.text = h.detail or ""
        elif h.status == "inconclusive":
            ET.SubElement(case, "skipped", message=f"inconclusive: {h.detail}")
    if v.status in ("error", "aborted"):
        case = ET.SubElement(suite, "testcase", classname=f"spotchaos.{data.spec.name}", name="experiment")
        ET.SubElement(case, "error", message=f"{v.status}: {v.reason}", type=v.status)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
