"""The Load Balancer Controller's IngressGroup rules (pkg/ingress/group_loader.go) and path order
(model_build_listener_rules.go sortIngressPaths), as the pure functions the simulator builds with."""

from __future__ import annotations

from typing import Any

import pytest

from cluster.components.lbc import (
    AnnotationError,
    GroupId,
    exclusive,
    group_id,
    group_load_balancer_name,
    load_balancer_name,
    sorted_members,
    sorted_paths,
)


def _ing(ns: str, name: str, **annotations: str) -> dict[str, Any]:
    return {"metadata": {"namespace": ns, "name": name, "annotations": {f"alb.ingress.kubernetes.io/{k.replace('_', '.')}": v for k, v in annotations.items()}}}


def test_an_ingress_without_a_group_name_is_its_own_group() -> None:
    assert group_id(_ing("shop", "web")) == GroupId("shop", "web")
    assert str(group_id(_ing("shop", "web"))) == "shop/web"
    explicit = group_id(_ing("shop", "web", group_name="retail-app-group"))
    assert explicit.explicit and str(explicit) == "retail-app-group"
    assert group_id(_ing("other", "api", group_name="retail-app-group")) == explicit


@pytest.mark.parametrize("name", ["Retail", "retail_group", "-retail", "retail.", "a" * 64])
def test_a_group_name_lbc_refuses_is_refused_with_its_message(name: str) -> None:
    with pytest.raises(AnnotationError, match="groupName must"):
        group_id(_ing("shop", "web", group_name=name))


def test_members_go_by_group_order_then_namespace_and_name() -> None:
    members = [_ing("ui", "ui", group_order="10"), _ing("orders", "orders"), _ing("catalog", "catalog"), _ing("admin", "admin", group_order="-5")]
    assert [m["metadata"]["name"] for m in sorted_members(members)] == ["admin", "catalog", "orders", "ui"]
    with pytest.raises(AnnotationError, match=r"within \[-1000:1000\]"):
        sorted_members([_ing("ui", "ui", group_order="1001")])
    with pytest.raises(AnnotationError, match="failed to parse integer annotation"):
        sorted_members([_ing("ui", "ui", group_order="first")])


def test_paths_go_exact_then_longest_prefix_then_implementation_specific_as_listed() -> None:
    paths = [{"path": "/", "pathType": "Prefix"}, {"path": "/legacy/*"}, {"path": "/api/v1", "pathType": "Prefix"},
             {"path": "/healthz", "pathType": "Exact"}, {"path": "/b/*", "pathType": "ImplementationSpecific"}]
    assert [p["path"] for p in sorted_paths(paths)] == ["/healthz", "/api/v1", "/", "/legacy/*", "/b/*"]
    with pytest.raises(AnnotationError, match="unknown pathType"):
        sorted_paths([{"path": "/", "pathType": "Regex"}])


def test_exclusive_annotations_must_agree_across_the_group() -> None:
    assert exclusive({"a/x": "internet-facing", "b/y": "internet-facing"}, "scheme") == "internet-facing"
    with pytest.raises(AnnotationError, match="conflicting scheme"):
        exclusive({"a/x": "internal", "b/y": "internet-facing"}, "scheme")


def test_the_load_balancer_is_named_after_the_group() -> None:
    name = group_load_balancer_name(GroupId("", "retail-app-group"), "retail-store", "internet-facing")
    assert name.startswith("k8s-retailappgroup-") and len(name) <= 32
    assert name != group_load_balancer_name(GroupId("", "retail-app-group"), "retail-store", "internal")
    assert group_load_balancer_name(GroupId("shop", "web"), "retail-store", "internal") == load_balancer_name("shop", "web")
