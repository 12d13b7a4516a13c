"""ALB timeouts on their own simulator (the idle timeout shortened to 0.5 s): a target that
stays silent past it gets the client a 504 from the balancer.  Its simulator has its own node
address range, so pod addresses do not collide with the shared simulator's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from kubernetes import client

from cluster.demo import alb_ingress, serving_deployment, serving_service
from cluster.waiting import wait_for
from tests.conftest import SimProcess, start_sim
from tests.integration.helpers import namespace, node_group, wait_ready_nodes, wait_running

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def short_idle_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimProcess]:
    handle = start_sim(tmp_path_factory.mktemp("alb-timeouts"), alb={"idle_timeout": 0.5}, node_address_octet=90)
    yield handle
    handle.stop()


def test_a_target_silent_past_the_idle_timeout_gets_a_504(short_idle_sim: SimProcess) -> None:
    core, apps, _, api_client = short_idle_sim.kube()
    net = client.NetworkingV1Api(api_client)
    ns = namespace(core, "slow")
    node_group(short_idle_sim, "slow", ("m5.xlarge",), 1)
    wait_ready_nodes(core, "slow", 1, 60)
    body = serving_deployment("resnet", 1, {"nodegroup-under-test": "slow"})
    body["spec"]["template"]["metadata"]["annotations"] = {"sim.spotchaos.io/service-time-ms": "2000", "sim.spotchaos.io/model-load-seconds": "0"}
    apps.create_namespaced_deployment(ns, body)
    core.create_namespaced_service(ns, serving_service("resnet"))
    net.create_namespaced_ingress(ns, alb_ingress("resnet", {"nodegroup-under-test": "slow"}))
    wait_running(core, ns, "resnet", 1, 60)

    def url() -> str | None:
        entries = (net.read_namespaced_ingress("resnet", ns).status.load_balancer.ingress) or []
        return f"http://{entries[0].ip}:{entries[0].ports[0].port if entries[0].ports else 80}/v1/models/resnet:predict" if entries else None

    alb = wait_for(url, 30, "ALB address")
    elb = short_idle_sim.aws("elbv2")
    arn = wait_for(lambda: next((t["TargetGroupArn"] for t in elb.describe_target_groups()["TargetGroups"]), None), 30, "target group")
    wait_for(lambda: [d["TargetHealth"]["State"] for d in elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]] == ["healthy"], 30, "healthy target")
    r = requests.post(alb, json={"instances": [[1.0]]}, timeout=10)  # the model answers a GET fast, a predict in 2 s
    assert r.status_code == 504 and r.headers["Server"] == "awselb/2.0" and "504 Gateway Time-out" in r.text
    assert r.elapsed.total_seconds() < 1.5
