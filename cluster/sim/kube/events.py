"""Kubernetes Events as the simulated components record them (core/v1, aggregated by reason)."""

from __future__ import annotations

from typing import Any

from cluster.sim.kube.api import KubeApi
from cluster.sim.kube.store import Obj


class EventRecorder:
    """Records Events about an object; repeats of the same reason and message bump `count`."""

    def __init__(self, api: KubeApi, component: str, host: str | None = None) -> None:
        self.api = api
        self.component = component
        self.host = host
        self._seen: dict[tuple[str, str, str], str] = {}

    def record(self, obj: Obj, reason: str, message: str, type_: str = "Normal", annotations: dict[str, str] | None = None) -> None:
        api = self.api
        rt = api.rt("Event")
        meta = obj["metadata"]
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", meta["name"]), reason, message)
        now = api.clock.isoformat()
        existing = self._seen.get(key)
        if existing and api.store.get(rt, namespace, existing) is not None:
            def bump(ev: Obj) -> None:
                ev["count"] = int(ev.get("count", 1)) + 1
                ev["lastTimestamp"] = now

            api.mutate(rt, namespace, existing, bump)
            return
        name = f"{meta['name']}.{int(api.clock.timestamp() * 1e9):x}"
        source: dict[str, Any] = {"component": self.component}
        if self.host:
            source["host"] = self.host
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace, **({"annotations": dict(annotations)} if annotations else {})},
            "involvedObject": {
                "kind": obj.get("kind"),
                "apiVersion": obj.get("apiVersion"),
                "name": meta["name"],
                "namespace": meta.get("namespace", ""),
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": source,
            "reportingComponent": self.component,
            "reportingInstance": self.host or "",
            "firstTimestamp": now,
            "lastTimestamp": now,
            "eventTime": None,
            "count": 1,
        }
        if api.store.get(api.rt("Namespace"), "", namespace) is None:
            return
        try:
            api.create(rt, namespace, event)
        except Exception:  # an event that cannot be written never breaks the component writing it
            return
        self._seen[key] = name
