"""The API server's behaviour behind its HTTP face: create/update/patch/delete semantics,
status subresources, graceful pod deletion, finalizers, eviction with budgets, binding.

Controllers in the simulator call this in-process, so they obey the same rules as
remote clients (kubectl, the Python client, NTH).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from cluster.sim.clock import SimClock
from cluster.sim.kube import crds, disruption
from cluster.sim.kube import field_managers as fm
from cluster.sim.kube.defaults import apply_defaults, new_uid, normalize_template, random_suffix
from cluster.sim.kube.errors import (
    ApiError,
    BadRequest,
    FieldError,
    Invalid,
    NotFound,
    TooManyRequestsPDB,
)
from cluster.sim.kube.patches import APPLY, apply_patch
from cluster.sim.kube.pod_logs import PodLogs
from cluster.sim.kube.priority import admit as admit_priority
from cluster.sim.kube.resources import EVICTION_API_VERSIONS, Registry, ResourceType
from cluster.sim.kube.selectors import make_filter
from cluster.sim.kube.store import Obj, ObjectStore, StoredEvent, clone
from cluster.sim.kube.validation import validate

_IMMUTABLE_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "namespace", "generation")


class KubeApi:
    def __init__(self, store: ObjectStore, clock: SimClock, registry: Registry | None = None) -> None:
        self.store = store
        self.clock = clock
        self.registry = registry or Registry()
        store.add_listener(self._serve_custom_resources)
        store.add_listener(self._forget_logs)
        self._next_cluster_ip = int(ipaddress.IPv4Address("10.100.0.10"))
        self._node_ports: set[int] = set()
        self._next_node_port = 30000
        self.logs = PodLogs()  # what the simulated containers write (pods/log)

    # ---- helpers --------------------------------------------------------
    def rt(self, kind: str) -> ResourceType:
        return self.registry.by_kind(kind)

    def _check_kind(self, rt: ResourceType, body: Any) -> Obj:
        if not isinstance(body, dict):
            raise BadRequest(f"the body of the request must be a JSON object describing a {rt.kind}")
        kind = body.get("kind")
        if kind and kind != rt.kind:
            raise BadRequest(f"the kind of the object ({kind}) does not match the kind of the URL ({rt.kind})")
        api_version = body.get("apiVersion")
        if api_version and api_version != rt.api_version:
            raise BadRequest(f"the API version in the data ({api_version}) does not match the expected API version ({rt.api_version})")
        return body

    def _validate(self, rt: ResourceType, obj: Obj) -> None:
        errors = validate(rt, obj)
        if errors:
            raise Invalid(rt.kind, str(obj.get("metadata", {}).get("name", "")), errors, rt.group)

    def _require_namespace(self, rt: ResourceType, namespace: str) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get(self.rt("Namespace"), "", namespace)
        if ns is None:
            raise NotFound("namespaces", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden", f'{rt.plural} is forbidden: unable to create new content in namespace {namespace} because it is being terminated')

    def _forget_logs(self, event: StoredEvent) -> None:
        """A pod gone takes its containers' logs with it (a follower sees the end)."""
        if event.type == "DELETED" and event.resource.kind == "Pod":
            self.logs.forget(event.obj["metadata"].get("namespace", ""), event.obj["metadata"]["name"])

    def _serve_custom_resources(self, event: StoredEvent) -> None:
        """A CRD stored serves its kind; one gone stops serving it (the API server's CRD handler)."""
        if event.resource.kind != "CustomResourceDefinition":
            return
        if event.type == "DELETED":
            self.registry.uninstall(event.obj["metadata"]["name"])
        elif not crds.errors(event.obj):
            self.registry.install(crds.resource_type(event.obj), crds.schema(event.obj))

    # ---- reads ----------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        return self.store.require(rt, namespace, name)

    def list(self, rt: ResourceType, namespace: str | None, label_selector: str | None = None, field_selector: str | None = None,
             kind: str | None = None) -> tuple[list[Obj], int]:
        """`kind`: check the field selector's labels as the API server does for that kind (a client's request)."""
        accept = make_filter(label_selector, field_selector, kind)
        return self.store.list(rt, namespace or None, accept), self.store.resource_version

    # ---- create ---------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str, body: Any, *, dry_run: bool = False, manager: str | None = None,
               operation: str = "Update") -> Obj:
        """`manager`: the client's field manager (a request's); the fields the body sets become its own."""
        obj = clone(self._check_kind(rt, body))
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise Invalid(rt.kind, "", [FieldError("metadata", "FieldValueInvalid", "Invalid value: must be an object")], rt.group)
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise BadRequest("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace or body_ns or "default"
            self._require_namespace(rt, meta["namespace"])
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + random_suffix()
        obj["kind"], obj["apiVersion"] = rt.kind, rt.api_version
        if rt.kind == "Pod":  # the Priority admission plugin, before defaulting
            refused = admit_priority(str(meta.get("name")), obj.setdefault("spec", {}), self.store.iter(self.rt("PriorityClass")))
            if refused:
                raise ApiError(403, "Forbidden", refused)
        apply_defaults(rt, obj)
        self._validate(rt, obj)
        meta["uid"] = new_uid()
        meta["creationTimestamp"] = self.clock.isoformat()
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        if rt.bump_generation:
            meta["generation"] = 1
        if rt.kind == "Service":
            self._allocate_service(obj)
        if rt.kind == "CustomResourceDefinition":
            obj = crds.with_status(obj, self.clock.isoformat())
            meta = obj["metadata"]
        meta.pop("managedFields", None)
        if manager is not None:
            meta["managedFields"] = fm.record([], manager, operation, rt.api_version, {p for p, _ in fm.leaves(body)}, self.clock.isoformat())
        if dry_run:
            meta["resourceVersion"] = str(self.store.resource_version)
            return obj
        return self.store.insert(rt, obj)

    def _allocate_service(self, svc: Obj) -> None:
        spec = svc["spec"]
        if spec.get("clusterIP") != "None" and not spec.get("clusterIP"):
            spec["clusterIP"] = str(ipaddress.IPv4Address(self._next_cluster_ip))
            spec["clusterIPs"] = [spec["clusterIP"]]
            self._next_cluster_ip += 1
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for i, port in enumerate(spec.get("ports") or []):
                wanted = port.get("nodePort")
                if wanted:
                    if wanted in self._node_ports:
                        raise Invalid("Service", svc["metadata"]["name"], [FieldError(f"spec.ports[{i}].nodePort", "FieldValueInvalid", f"Invalid value: {wanted}: provided port is already allocated")])
                    self._node_ports.add(wanted)
                    continue
                while self._next_node_port in self._node_ports:
                    self._next_node_port += 1
                port["nodePort"] = self._next_node_port
                self._node_ports.add(self._next_node_port)

    # ---- update / patch -------------------------------------------------
    def _merge_for_write(self, rt: ResourceType, old: Obj, new: Obj, subresource: str | None) -> Obj:
        if subresource == "status":
            merged = clone(old)
            merged["status"] = new.get("status", {})
            # The status subresource also takes label/annotation changes only through the main resource.
            return merged
        if rt.has_status and "status" in old:
            new["status"] = old["status"]
        new_meta = new.setdefault("metadata", {})
        for k in _IMMUTABLE_META:
            if k in old["metadata"]:
                new_meta[k] = old["metadata"][k]
            else:
                new_meta.pop(k, None)
        normalize_template(new.get("spec"))
        if "managedFields" in old["metadata"]:  # the server keeps field ownership; a write does not set it
            new_meta["managedFields"] = old["metadata"]["managedFields"]
        else:
            new_meta.pop("managedFields", None)
        if rt.bump_generation and old.get("spec") != new.get("spec"):
            new_meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        new["kind"], new["apiVersion"] = rt.kind, rt.api_version
        return new

    def _write(self, rt: ResourceType, old: Obj, new: Obj, expect_rv: str | None, dry_run: bool) -> Obj:
        self._validate(rt, new)
        if rt.kind == "Pod":
            old_node = old.get("spec", {}).get("nodeName")
            if old_node and new.get("spec", {}).get("nodeName") != old_node:
                raise Invalid("Pod", old["metadata"]["name"], [FieldError("spec", "FieldValueForbidden", "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`")])
        if rt.kind == "CustomResourceDefinition":
            new = crds.with_status(new, self.clock.isoformat(), old)
        if dry_run:
            return new
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and rt.kind != "Pod":
            self.store.replace(rt, new, expect_rv=expect_rv)
            return self.store.remove(rt, meta.get("namespace", ""), meta["name"])
        return self.store.replace(rt, new, expect_rv=expect_rv)

    def _own(self, rt: ResourceType, old: Obj, merged: Obj, manager: str | None, operation: str, paths: set[tuple[str, ...]],
             taken: set[tuple[str, ...]] | None = None) -> None:
        if manager is None or not paths:
            return
        merged["metadata"]["managedFields"] = fm.record(old["metadata"].get("managedFields") or [], manager, operation, rt.api_version, paths,
                                                        self.clock.isoformat(), taken)

    def update(self, rt: ResourceType, namespace: str, name: str, body: Any, *, subresource: str | None = None, dry_run: bool = False,
               manager: str | None = None) -> Obj:
        new = clone(self._check_kind(rt, body))
        meta = new.setdefault("metadata", {})
        if meta.get("name") and meta["name"] != name:
            raise BadRequest(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        meta["name"] = name
        if rt.namespaced:
            meta["namespace"] = namespace
        old = self.store.require(rt, namespace, name)
        expect_rv = meta.get("resourceVersion") or None
        merged = self._merge_for_write(rt, old, new, subresource)
        if subresource is None:
            self._own(rt, old, merged, manager, "Update", fm.changed_paths(old, merged))
        return self._write(rt, old, merged, expect_rv, dry_run)

    def patch(self, rt: ResourceType, namespace: str, name: str, content_type: str, patch: Any, *, subresource: str | None = None, dry_run: bool = False,
              manager: str | None = None, force: bool = False) -> Obj:
        applying = content_type.split(";")[0].strip().lower() == APPLY
        if applying:
            if not manager:
                raise BadRequest("PATCH: fieldManager is required for apply requests")
            if not isinstance(patch, dict):
                raise BadRequest("the apply configuration must be an object")
            if self.store.get(rt, namespace, name) is None:  # server-side apply creates what does not exist
                body = clone(patch)
                body.setdefault("metadata", {})["name"] = name
                return self.create(rt, namespace, body, dry_run=dry_run, manager=manager, operation="Apply")
        old = self.store.require(rt, namespace, name)
        found: list[tuple[str, str, tuple[str, ...]]] = []
        if applying:
            found = fm.conflicts(old, old["metadata"].get("managedFields") or [], manager or "", patch)  # type: ignore[arg-type]
            if found and not force:
                raise ApiError(409, "Conflict", fm.conflict_message(found, rt.api_version))
        patched = apply_patch(content_type, clone(old), patch)
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise BadRequest("the patch removed the object's metadata")
        expect_rv = None
        if isinstance(patch, dict):
            expect_rv = (patch.get("metadata") or {}).get("resourceVersion")
        patched["metadata"]["name"] = name
        merged = self._merge_for_write(rt, old, patched, subresource)
        if subresource is None:
            if applying:  # the applier owns what it applied; it takes from others only the conflicts it forced
                self._own(rt, old, merged, manager, "Apply", {p for p, _ in fm.leaves(patch)}, {p for _, _, p in found})
            else:
                self._own(rt, old, merged, manager, "Update", fm.changed_paths(old, merged))
        return self._write(rt, old, merged, expect_rv, dry_run)

    def mutate(self, rt: ResourceType, namespace: str, name: str, change: Callable[[Obj], bool | None], *, manager: str | None = None) -> Obj | None:
        """In-process read-modify-write for controllers: `change` edits a copy; False means no change.
        With `manager`, the change is owned in managedFields (an Update at this second), as the API
        server records a controller's write; a reader dates the change by it."""
        old = self.store.get(rt, namespace, name)
        if old is None:
            return None
        new = clone(old)
        if change(new) is False or new == old:
            return old
        self._own(rt, old, new, manager, "Update", fm.changed_paths(old, new) if manager else set())
        if rt.bump_generation and old.get("spec") != new.get("spec"):
            new["metadata"]["generation"] = int(old["metadata"].get("generation", 1)) + 1
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and rt.kind != "Pod":
            # as the API server does on any write: an object being deleted goes with its last finalizer
            self.store.replace(rt, new)
            return self.store.remove(rt, meta.get("namespace", ""), meta["name"])
        return self.store.replace(rt, new)

    # ---- delete ---------------------------------------------------------
    def delete(self, rt: ResourceType, namespace: str, name: str, options: dict[str, Any] | None = None, *, dry_run: bool = False) -> Obj:
        opts = options or {}
        obj = self.store.require(rt, namespace, name)
        pre = opts.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise ApiError(409, "Conflict", f'Precondition failed: UID in precondition: {pre["uid"]}, UID in object meta: {obj["metadata"]["uid"]}')
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "Precondition failed: resourceVersion mismatch")
        if dry_run:
            return obj
        if rt.kind == "Pod":
            return self._delete_pod(obj, opts.get("gracePeriodSeconds"))
        if rt.kind == "Namespace":
            return self._mark_deleting(rt, obj, phase="Terminating")
        if rt.kind == "CustomResourceDefinition":  # its custom resources go with it
            custom = self.registry.by_key(name)
            for cr in self.store.iter(custom):
                self.store.remove(custom, cr["metadata"].get("namespace", ""), cr["metadata"]["name"])
        if obj["metadata"].get("finalizers"):
            return self._mark_deleting(rt, obj)
        return self.store.remove(rt, namespace, name)

    def _mark_deleting(self, rt: ResourceType, obj: Obj, phase: str | None = None) -> Obj:
        if obj["metadata"].get("deletionTimestamp"):
            return obj
        new = clone(obj)
        new["metadata"]["deletionTimestamp"] = self.clock.isoformat()
        new["metadata"]["deletionGracePeriodSeconds"] = 0
        if phase:
            new.setdefault("status", {})["phase"] = phase
        return self.store.replace(rt, new)

    def _delete_pod(self, pod: Obj, grace: int | None) -> Obj:
        rt = self.rt("Pod")
        meta = pod["metadata"]
        if grace is None:
            grace = int(pod.get("spec", {}).get("terminationGracePeriodSeconds", 30))
        unbound = not pod.get("spec", {}).get("nodeName")
        finished = pod.get("status", {}).get("phase") in ("Succeeded", "Failed")
        if grace <= 0 or unbound or finished:
            if meta.get("finalizers"):
                return self._mark_deleting(rt, pod)
            return self.store.remove(rt, meta["namespace"], meta["name"])
        current = meta.get("deletionGracePeriodSeconds")
        if meta.get("deletionTimestamp") and current is not None and current <= grace:
            return pod
        new = clone(pod)
        new["metadata"]["deletionTimestamp"] = self.clock.isoformat(self.clock.after(grace))
        new["metadata"]["deletionGracePeriodSeconds"] = grace
        return self.store.replace(rt, new)

    def finish_pod_deletion(self, namespace: str, name: str) -> None:
        """The kubelet's final delete (grace 0) once containers have stopped."""
        rt = self.rt("Pod")
        pod = self.store.get(rt, namespace, name)
        if pod is not None:
            self.store.remove(rt, namespace, name)

    # ---- subresources ---------------------------------------------------
    def evict(self, namespace: str, name: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise BadRequest("the body of an eviction must be a policy/v1 Eviction object")
        if body.get("kind") not in (None, "Eviction") or (body.get("apiVersion") and body["apiVersion"] not in EVICTION_API_VERSIONS):
            raise BadRequest(f"expected a policy/v1 Eviction, got {body.get('apiVersion')}/{body.get('kind')}")
        ev_name = (body.get("metadata") or {}).get("name")
        if ev_name and ev_name != name:
            raise BadRequest("name in URL does not match name in Eviction object")
        pod = self.store.require(self.rt("Pod"), namespace, name)
        options = body.get("deleteOptions") or {}
        if not disruption.eviction_ignores_budget(pod):
            pdbs = [p for p in self.store.list(self.rt("PodDisruptionBudget"), namespace) if disruption.pdb_selects(p, pod)]
            if len(pdbs) > 1:
                raise ApiError(500, "InternalError", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.")
            if pdbs:
                pdb = pdbs[0]
                status = self.budget_status(pdb)
                if not disruption.eviction_allowed(pdb, pod, status):
                    raise TooManyRequestsPDB(pdb["metadata"]["name"])
                if disruption.pod_ready(pod):
                    self._record_disruption(pdb, pod, status)
        self._delete_pod(pod, options.get("gracePeriodSeconds"))
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def budget_status(self, pdb: Obj) -> disruption.BudgetStatus:
        ns = pdb["metadata"]["namespace"]
        pods = [p for p in self.store.list(self.rt("Pod"), ns) if disruption.pdb_selects(pdb, p)]
        return disruption.budget_status(pdb, pods, self._expected_pods(pods))

    def _expected_pods(self, pods: list[Obj]) -> int | None:
        seen: dict[str, int] = {}
        loose = 0
        for p in pods:
            ref = next((r for r in p["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
            if ref is None:
                loose += 1
                continue
            if ref["uid"] in seen:
                continue
            if ref["kind"] == "ReplicaSet":
                rs = self.store.get(self.rt("ReplicaSet"), p["metadata"]["namespace"], ref["name"])
                seen[ref["uid"]] = int((rs or {}).get("spec", {}).get("replicas", 0))
            elif ref["kind"] == "StatefulSet":
                sts = self.store.get(self.rt("StatefulSet"), p["metadata"]["namespace"], ref["name"])
                seen[ref["uid"]] = int((sts or {}).get("spec", {}).get("replicas", 0))
            elif ref["kind"] == "DaemonSet":
                ds = self.store.get(self.rt("DaemonSet"), p["metadata"]["namespace"], ref["name"])
                seen[ref["uid"]] = int((ds or {}).get("status", {}).get("desiredNumberScheduled", 0))
            else:
                loose += 1
        return sum(seen.values()) + loose

    def _record_disruption(self, pdb: Obj, pod: Obj, status: disruption.BudgetStatus) -> None:
        def change(p: Obj) -> None:
            st = p.setdefault("status", {})
            st.update(status.as_status())
            st["disruptionsAllowed"] = max(0, status.disruptions_allowed - 1)
            st.setdefault("disruptedPods", {})[pod["metadata"]["name"]] = self.clock.isoformat()
            st["observedGeneration"] = p["metadata"].get("generation", 1)

        self.mutate(self.rt("PodDisruptionBudget"), pdb["metadata"]["namespace"], pdb["metadata"]["name"], change)

    def bind(self, namespace: str, name: str, body: Any) -> dict[str, Any]:
        target = (body or {}).get("target") or {}
        node = target.get("name")
        if not node:
            raise Invalid("Binding", name, [FieldError("target.name", "FieldValueRequired", "Required value")])
        pod = self.store.require(self.rt("Pod"), namespace, name)
        if pod.get("spec", {}).get("nodeName"):
            raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already assigned to node "{pod["spec"]["nodeName"]}"')
        self.bind_pod(pod, node)
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def bind_pod(self, pod: Obj, node: str) -> Obj | None:
        now = self.clock.isoformat()

        def change(p: Obj) -> None:
            p["spec"]["nodeName"] = node
            conds = [c for c in p.setdefault("status", {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now})
            p["status"]["conditions"] = conds

        return self.mutate(self.rt("Pod"), pod["metadata"]["namespace"], pod["metadata"]["name"], change)
