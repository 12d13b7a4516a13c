"""IngressGroups as the AWS Load Balancer Controller builds them: Ingresses in two namespaces with
one `group.name` share one ALB, their rules in the group's order; each keeps its own target group
and health check; an invalid group name fails that Ingress's build with LBC's message; an Ingress
that leaves takes only its own rules with it.  Real HTTP through the simulated ALB, boto3 for
ELBv2 and the Python kubernetes client for the API."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from kubernetes import client

from cluster.waiting import wait_for
from tests.integration.helpers import (
    deployment,
    ingress_address,
    namespace,
    node_group,
    wait_ready_nodes,
    wait_running,
)

pytestmark = pytest.mark.integration

GROUP = "ingress-groups"


def _app(core: Any, apps: Any, ns: str, name: str) -> None:
    d = deployment(name, 1, GROUP, cpu="100m")
    c = d["spec"]["template"]["spec"]["containers"][0]
    c["image"] = f"registry.example.com/shop/{name}:1.0"
    c["ports"] = [{"containerPort": 8080, "name": "http"}]
    c["readinessProbe"] = {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 2}
    apps.create_namespaced_deployment(ns, d)
    core.create_namespaced_service(ns, {"metadata": {"name": name}, "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]}})


def _ingress(name: str, path: str, service: str, group: str, order: int | None = None) -> dict[str, Any]:
    annotations = {"alb.ingress.kubernetes.io/target-type": "ip", "alb.ingress.kubernetes.io/scheme": "internet-facing",
                   "alb.ingress.kubernetes.io/healthcheck-path": "/health", "alb.ingress.kubernetes.io/group.name": group}
    if order is not None:
        annotations["alb.ingress.kubernetes.io/group.order"] = str(order)
    backend = {"service": {"name": service, "port": {"number": 80}}}
    return {"metadata": {"name": name, "annotations": annotations},
            "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [{"path": path, "pathType": "Prefix", "backend": backend}]}}]}}


def _answered_by(url: str) -> str | None:
    r = requests.get(url, timeout=5)
    return r.json()["namespace"] if r.status_code == 200 else str(r.status_code)


def test_ingresses_with_one_group_name_share_one_alb_in_the_groups_order(sim: Any) -> None:
    core, apps, _, api_client = sim.kube()
    net = client.NetworkingV1Api(api_client)
    node_group(sim, GROUP, ("m5.xlarge",), 1)
    wait_ready_nodes(core, GROUP, 1, 60)
    catalog, ui = namespace(core, "ig-catalog"), namespace(core, "ig-ui")
    _app(core, apps, catalog, "catalog")
    _app(core, apps, ui, "ui")
    wait_running(core, catalog, "catalog", 1, 60)
    wait_running(core, ui, "ui", 1, 60)
    # ui's "/" would take every path if it came first: group.order puts the catalog's rule before it
    net.create_namespaced_ingress(ui, _ingress("ui", "/", "ui", "retail-app-group", order=10))
    net.create_namespaced_ingress(catalog, _ingress("catalog", "/catalog", "catalog", "retail-app-group"))

    url = wait_for(lambda: (lambda a, b: a if a and a == b else None)(ingress_address(net, ui, "ui"), ingress_address(net, catalog, "catalog")), 60,
                   "both Ingresses to get the group's one address")
    elb = sim.aws("elbv2")
    balancers = [b for b in elb.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"].startswith("k8s-retailappgroup-")]
    assert len(balancers) == 1, [b["LoadBalancerName"] for b in elb.describe_load_balancers()["LoadBalancers"]]
    assert wait_for(lambda: _answered_by(f"{url}/catalog/products") == catalog or None, 60, "the catalog's path through the group's ALB",
                    describe=lambda: _answered_by(f"{url}/catalog/products"))
    assert wait_for(lambda: _answered_by(f"{url}/") == ui or None, 60, "the ui's path through the group's ALB")
    listener = elb.describe_listeners(LoadBalancerArn=balancers[0]["LoadBalancerArn"])["Listeners"][0]
    rules = sorted((r for r in elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if not r["IsDefault"]), key=lambda r: int(r["Priority"]))
    assert [r["Conditions"][0]["PathPatternConfig"]["Values"] for r in rules] == [["/catalog", "/catalog/*"], ["/*"]]

    # an invalid group name fails that Ingress's build with LBC's message; the group is untouched
    net.create_namespaced_ingress(ui, _ingress("bad", "/bad", "ui", "Retail_Group"))
    event = wait_for(lambda: next((e for e in core.list_namespaced_event(ui).items if e.involved_object.name == "bad" and e.reason == "FailedBuildModel"), None),
                     30, "FailedBuildModel on the Ingress with the bad group name")
    assert "groupName must consist of lower case alphanumeric characters" in event.message
    assert _answered_by(f"{url}/catalog/x") == catalog

    # the ui leaving the group takes only its rule: "/" falls to the listener's default 404
    net.delete_namespaced_ingress("ui", ui)
    assert wait_for(lambda: _answered_by(f"{url}/") == "404" or None, 60, "the ui's rule to go with its Ingress")
    assert _answered_by(f"{url}/catalog/x") == catalog
    assert len([b for b in elb.describe_load_balancers()["LoadBalancers"] if b["LoadBalancerName"].startswith("k8s-retailappgroup-")]) == 1
