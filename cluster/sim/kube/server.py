"""The HTTP face of the simulated Kubernetes API server (aiohttp), as kubectl and the clients use it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from aiohttp import web

from cluster.sim.clock import parse_time
from cluster.sim.kube import openapi_v3, port_forward
from cluster.sim.kube.api import KubeApi
from cluster.sim.kube.errors import ApiError, BadRequest, NotFound
from cluster.sim.kube.field_validation import unknown_fields
from cluster.sim.kube.patches import apply_patch
from cluster.sim.kube.pod_logs import render
from cluster.sim.kube.resources import ResourceType
from cluster.sim.kube.reviews import review
from cluster.sim.kube.selectors import make_filter
from cluster.sim.kube.store import Obj
from cluster.sim.kube.tables import as_table, wants_table
from cluster.sim.kube.version import KUBE_VERSION

log = structlog.get_logger("sim.kube")

_NAMESPACE_SUBRESOURCES = ("status", "finalize")


def _json(body: Any, status: int = 200, warning: str | None = None) -> web.Response:
    headers = {"Warning": '299 - "' + warning.replace('"', '\\"') + '"'} if warning else None
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json", headers=headers)


def _field_check(request: web.Request, rt: ResourceType, body: Any) -> str | None:
    """fieldValidation: Strict refuses a body with fields its kind lacks (400), Warn returns the
    warning for the response's Warning header, Ignore (and no parameter) checks nothing."""
    mode = request.query.get("fieldValidation", "")
    if mode.lower() not in ("strict", "warn"):
        return None
    problem = unknown_fields(body)
    if problem is None:
        return None
    if mode.lower() == "strict":
        raise BadRequest(f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: {problem}')
    return problem


def _manager(request: web.Request) -> str:
    """The request's field manager: its fieldManager parameter, else the User-Agent's program name
    (what the API server falls back to)."""
    given = request.query.get("fieldManager")
    if given:
        return given
    agent = request.headers.get("User-Agent", "")
    return agent.split("/", 1)[0].strip()[:128] or "unknown"


def _int_param(q: Any, name: str) -> int:
    try:
        value = int(q[name])
    except ValueError:
        raise BadRequest(f"{name}: {q[name]!r} is not an integer") from None
    if value < 0:
        raise BadRequest(f"{name}: must be 0 or more")
    return value


def _bool(v: str | None) -> bool:
    return v is not None and v.lower() in ("1", "true", "yes")


def _log_container(pod: Obj, q: Any) -> str:
    """The container a pods/log request reads, or the API server's 400 naming what is wrong."""
    name = pod["metadata"]["name"]
    names = [c["name"] for c in (pod.get("spec") or {}).get("containers") or []]
    container = q.get("container") or (names[0] if len(names) == 1 else None)
    if container is None:
        raise BadRequest(f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]")
    if container not in names and container not in [c["name"] for c in pod["spec"].get("initContainers") or []]:
        raise BadRequest(f"container {container} is not valid for pod {name}")
    if _bool(q.get("previous")):
        raise BadRequest(f'previous terminated container "{container}" in pod "{name}" not found')
    if (pod.get("status") or {}).get("phase") == "Pending":
        raise BadRequest(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
    return str(container)


class KubeHttp:
    """Routes every path under /api and /apis onto KubeApi."""

    def __init__(self, api: KubeApi, bookmark_interval: float = 10.0) -> None:
        self.api = api
        self.registry = api.registry
        self._openapi_cache: tuple[int, bytes, dict[str, bytes]] | None = None  # (the registry's generation, root, documents)
        self.bookmark_interval = bookmark_interval
        self.app = web.Application(middlewares=[self._errors], client_max_size=32 * 1024**2)
        self.app.router.add_get("/version", self._version)
        self.app.router.add_get("/version/", self._version)
        for p in ("/healthz", "/readyz", "/livez"):
            self.app.router.add_get(p, self._ok)
        self.app.router.add_get("/api", self._api_versions)
        self.app.router.add_get("/api/", self._api_versions)
        self.app.router.add_get("/apis", self._api_groups)
        self.app.router.add_get("/apis/", self._api_groups)
        self.app.router.add_get("/openapi/v3", self._openapi_root)
        self.app.router.add_get("/openapi/v3/{tail:.*}", self._openapi_gv)
        self.app.router.add_route("*", "/api/{tail:.*}", self._dispatch)
        self.app.router.add_route("*", "/apis/{tail:.*}", self._dispatch)

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return _json(exc.status(), exc.code)
        except web.HTTPException as exc:
            if exc.status == 404:
                return _json(ApiError(404, "NotFound", "the server could not find the requested resource").status(), 404)
            raise
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # the simulator never dies on a bad request
            log.exception("kube_api_internal_error", path=request.path, method=request.method)
            return _json(ApiError(500, "InternalError", f"an error on the server ({type(exc).__name__}) has prevented the request from succeeding").status(), 500)

    # ---- discovery ------------------------------------------------------
    async def _ok(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _version(self, request: web.Request) -> web.Response:
        return _json(KUBE_VERSION)

    async def _api_versions(self, request: web.Request) -> web.Response:
        host = request.host
        return _json({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})

    async def _api_groups(self, request: web.Request) -> web.Response:
        groups = []
        for group, versions in self.registry.groups().items():
            if not group:
                continue
            gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
            groups.append({"name": group, "versions": gvs, "preferredVersion": gvs[0]})
        return _json({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources = []
        for r in self.registry.in_group_version(group, version):
            entry: dict[str, Any] = {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
            }
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            resources.append(entry)
            for sub in r.subresources:
                sub_entry: dict[str, Any] = {"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced, "kind": r.kind, "verbs": ["get", "patch", "update"]}
                if sub == "eviction":
                    sub_entry.update(kind="Eviction", group="policy", version="v1", verbs=["create"])
                elif sub == "binding":
                    sub_entry.update(kind="Binding", verbs=["create"])
                elif sub == "scale":
                    sub_entry.update(kind="Scale", group="autoscaling", version="v1")
                elif sub == "log":
                    sub_entry.update(verbs=["get"])
                elif sub in ("exec", "attach", "portforward"):
                    sub_entry.update(kind="PodExecOptions" if sub == "exec" else "PodAttachOptions" if sub == "attach" else "PodPortForwardOptions",
                                     verbs=["create", "get"])
                resources.append(sub_entry)
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    # ---- OpenAPI v3 discovery (what kubectl needs to let the server validate fields) ----
    def _group_versions(self) -> dict[tuple[str, str], list[ResourceType]]:
        out: dict[tuple[str, str], list[ResourceType]] = {}
        for r in self.registry.served():
            out.setdefault((r.group, r.version), []).append(r)
        return out

    def _openapi(self) -> tuple[bytes, dict[str, bytes]]:
        """(the root, each group-version's document), built again only when a CRD changed what is
        served: they are large."""
        generation = self.registry.generation
        if self._openapi_cache is None or self._openapi_cache[0] != generation:
            gvs = self._group_versions()
            docs = {openapi_v3.gv_path(g, v): orjson.dumps(openapi_v3.gv_document(g, v, rs, self.registry.schemas)) for (g, v), rs in gvs.items()}
            self._openapi_cache = (generation, orjson.dumps(openapi_v3.root(docs)), docs)
        return self._openapi_cache[1], self._openapi_cache[2]

    async def _openapi_root(self, request: web.Request) -> web.Response:
        root, _ = await asyncio.to_thread(self._openapi)
        return web.Response(body=root, content_type="application/json")

    async def _openapi_gv(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"].strip("/")
        _, docs = await asyncio.to_thread(self._openapi)
        if tail in docs:
            return web.Response(body=docs[tail], content_type="application/json")
        raise ApiError(404, "NotFound", f"the server could not find the requested resource: /openapi/v3/{tail}")

    # ---- resource requests ---------------------------------------------
    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        """Resolve the path to a resource (or answer discovery), then route by (collection or
        object, subresource, method) through ROUTES, as the API server's handler chain does."""
        target = self._resolve(request)
        if isinstance(target, web.StreamResponse):
            return target
        method = request.method
        route = ROUTES.get((target.scope, target.sub, method)) or ROUTES.get((target.scope, target.sub, "*"))
        if route is None and target.sub not in SPECIAL_SUBRESOURCES:
            route = ROUTES.get((target.scope, None, method))
        if route is None:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        return await route(self, request, target)

    def _resolve(self, request: web.Request) -> Call | web.StreamResponse:
        """The resource, namespace, name and subresource a path names; discovery documents for the
        group and group-version paths; 404 for anything the registry does not serve."""
        parts = [p for p in request.path.split("/") if p]
        if parts[0] == "api":
            group, version, rest = "", parts[1] if len(parts) > 1 else "", parts[2:]
        else:
            if len(parts) < 3:
                if len(parts) == 2 and parts[1] in self.registry.groups():
                    versions = self.registry.groups()[parts[1]]
                    gvs = [{"groupVersion": f"{parts[1]}/{v}", "version": v} for v in versions]
                    return _json({"kind": "APIGroup", "apiVersion": "v1", "name": parts[1], "versions": gvs, "preferredVersion": gvs[0]})
                raise NotFound("", request.path)
            group, version, rest = parts[1], parts[2], parts[3:]
        if not self.registry.in_group_version(group, version):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if not rest:
            if request.method != "GET":
                raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return _json(self._resource_list(group, version))
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            namespace, rest = rest[1], rest[2:]
        rt = self.registry.lookup(group, version, rest[0]) if len(rest) <= 3 else None
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if rt is None or (rt.namespaced and name is not None and namespace is None) or (sub is not None and sub not in rt.subresources):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return Call(rt, namespace, name, sub, request.query.get("dryRun") == "All")

    # ---- collections
    async def _get_collection(self, request: web.Request, c: Call) -> web.StreamResponse:
        if _bool(request.query.get("watch")):
            return await self._watch(request, c.rt, c.namespace)
        return self._list(request, c.rt, c.namespace)

    async def _create(self, request: web.Request, c: Call) -> web.StreamResponse:
        body = await self._body(request)
        if c.rt.group in ("authorization.k8s.io", "authentication.k8s.io"):
            return _json(review(c.rt.kind, body), 201)
        warning = _field_check(request, c.rt, body)
        return _json(self.api.create(c.rt, c.ns, body, dry_run=c.dry_run, manager=_manager(request)), 201, warning)

    async def _delete_collection(self, request: web.Request, c: Call) -> web.StreamResponse:
        accept = make_filter(request.query.get("labelSelector"), request.query.get("fieldSelector"), c.rt.kind)
        items = self.api.store.list(c.rt, c.namespace, accept)
        for obj in items:
            with contextlib.suppress(ApiError):
                self.api.delete(c.rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"], None, dry_run=c.dry_run)
        return _json({"kind": c.rt.list_kind, "apiVersion": c.rt.api_version, "metadata": {}, "items": items})

    # ---- objects
    async def _get(self, request: web.Request, c: Call) -> web.StreamResponse:
        obj = self.api.get(c.rt, c.ns, c.object_name)
        if wants_table(request.headers.get("Accept", "")):
            return _json(as_table(c.rt, [obj], self.api.clock.timestamp(), obj["metadata"]["resourceVersion"], include=request.query.get("includeObject", "Metadata")))
        return _json(obj)

    async def _update(self, request: web.Request, c: Call) -> web.StreamResponse:
        body = await self._body(request)
        warning = _field_check(request, c.rt, body) if c.sub is None else None
        return _json(self.api.update(c.rt, c.ns, c.object_name, body, subresource=c.sub, dry_run=c.dry_run, manager=_manager(request)), 200, warning)

    async def _patch(self, request: web.Request, c: Call) -> web.StreamResponse:
        body = await self._body(request)
        existed = self.api.store.get(c.rt, c.ns, c.object_name) is not None
        warning = _field_check(request, c.rt, {"apiVersion": c.rt.api_version, "kind": c.rt.kind, **body}) if c.sub is None and isinstance(body, dict) else None
        patched = self.api.patch(c.rt, c.ns, c.object_name, request.headers.get("Content-Type", ""), body, subresource=c.sub, dry_run=c.dry_run,
                                 manager=_manager(request), force=_bool(request.query.get("force")))
        return _json(patched, 200 if existed else 201, warning)

    async def _delete(self, request: web.Request, c: Call) -> web.StreamResponse:
        q = request.query
        options = await self._body(request, optional=True) or {}
        if "gracePeriodSeconds" in q:
            options["gracePeriodSeconds"] = int(q["gracePeriodSeconds"])
        if "propagationPolicy" in q:
            options["propagationPolicy"] = q["propagationPolicy"]
        return _json(self.api.delete(c.rt, c.ns, c.object_name, options, dry_run=c.dry_run))

    # ---- subresources with their own handlers
    async def _evict(self, request: web.Request, c: Call) -> web.StreamResponse:
        return _json(self.api.evict(c.ns, c.object_name, await self._body(request)), 201)

    async def _bind(self, request: web.Request, c: Call) -> web.StreamResponse:
        return _json(self.api.bind(c.ns, c.object_name, await self._body(request)), 201)

    async def _pod_log(self, request: web.Request, c: Call) -> web.StreamResponse:
        return await self._log(request, c.ns, c.object_name)

    async def _port_forward(self, request: web.Request, c: Call) -> web.StreamResponse:
        return await port_forward.serve(request, self.api.get(c.rt, c.ns, c.object_name))

    async def _no_process(self, request: web.Request, c: Call) -> web.StreamResponse:
        raise BadRequest(f"pods/{c.sub} is not supported by the simulator: its containers are not processes you can enter "
                         "(read their logs with `kubectl logs`; reach a pod's port with `kubectl port-forward`)")

    async def _scale_sub(self, request: web.Request, c: Call) -> web.StreamResponse:
        return await self._scale(request, c.rt, c.ns, c.object_name, c.dry_run)

    async def _body(self, request: web.Request, optional: bool = False) -> Any:
        raw = await request.read()
        if not raw:
            if optional:
                return None
            raise BadRequest("the request body is empty: send a JSON object")
        ctype = request.headers.get("Content-Type", "")
        try:
            if "yaml" in ctype:
                import yaml

                return yaml.safe_load(raw)
            return orjson.loads(raw)
        except Exception as exc:
            raise BadRequest(f"the body of the request could not be decoded as JSON: {exc}") from exc

    async def _log(self, request: web.Request, ns: str, name: str) -> web.StreamResponse:
        """pods/log as the kubelet serves it through the API server: the container's lines, cut by
        sinceSeconds / sinceTime, tailLines and limitBytes, with timestamps when asked; `follow`
        streams new lines until the container exits, the pod goes or the client leaves."""
        q = request.query
        container = _log_container(self.api.get(self.api.rt("Pod"), ns, name), q)
        since = None
        if q.get("sinceSeconds"):
            since = self.api.clock.timestamp() - _int_param(q, "sinceSeconds")
        elif q.get("sinceTime"):
            since = parse_time(q["sinceTime"])
        stamps = _bool(q.get("timestamps"))
        lines = self.api.logs.lines(ns, name, container)
        first = render(lines, since=since, tail=_int_param(q, "tailLines") if q.get("tailLines") else None, timestamps=stamps,
                       limit_bytes=_int_param(q, "limitBytes") if q.get("limitBytes") else None)
        if not _bool(q.get("follow")):
            return web.Response(body=first.encode(), content_type="text/plain")
        resp = web.StreamResponse(status=200, headers={"Content-Type": "text/plain", "Transfer-Encoding": "chunked"})
        await resp.prepare(request)
        await resp.write(first.encode())
        await self._follow_log(resp, ns, name, container, len(lines), stamps)
        await resp.write_eof()
        return resp

    async def _follow_log(self, resp: web.StreamResponse, ns: str, name: str, container: str, seen: int, stamps: bool) -> None:
        """New lines as they are written, until the container exits (as the kubelet ends a follow) or the pod goes."""
        pod_rt = self.api.rt("Pod")
        while (now := self.api.store.get(pod_rt, ns, name)) is not None:
            ended = any(cs.get("name") == container and "terminated" in (cs.get("state") or {})
                        for cs in (now.get("status") or {}).get("containerStatuses") or [])
            event = self.api.logs.next_write(ns, name, container)
            if not ended:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):  # not wait_for, which in 3.11 can swallow a cancel
                        await event.wait()
            seen = await self._write_new_lines(resp, ns, name, container, seen, stamps)
            if ended:
                break
        await self._write_new_lines(resp, ns, name, container, seen, stamps)  # what it wrote as it went

    async def _write_new_lines(self, resp: web.StreamResponse, ns: str, name: str, container: str, seen: int, stamps: bool) -> int:
        lines = self.api.logs.lines(ns, name, container)
        if len(lines) > seen:
            await resp.write(render(lines[seen:], timestamps=stamps).encode())
        return max(seen, len(lines))

    def _list(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.Response:
        q = request.query
        items, rv = self.api.list(rt, namespace, q.get("labelSelector"), q.get("fieldSelector"), kind=rt.kind)
        wanted, match = _resource_version(q.get("resourceVersion")), q.get("resourceVersionMatch")
        if match and wanted is None:
            raise BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
        if match == "Exact" and wanted:
            items = self.api.store.list_at(rt, namespace, make_filter(q.get("labelSelector"), q.get("fieldSelector"), rt.kind), wanted)
            rv = wanted
        elif wanted and wanted > rv:  # NotOlderThan (or no match) with a version the server has not reached
            raise ApiError(504, "Timeout", f"Too large resource version: {wanted}, current: {rv}")
        limit = int(q.get("limit", "0") or 0)
        token = q.get("continue")
        if token:
            try:
                start = orjson.loads(base64.urlsafe_b64decode(token.encode()))
            except Exception as exc:
                raise BadRequest("continue key is not valid: re-list without it") from exc
            after = (start["ns"], start["name"])
            items = [o for o in items if (o["metadata"].get("namespace", ""), o["metadata"]["name"]) > after]
        next_token = None
        if limit and len(items) > limit:
            items = items[:limit]
            last = items[-1]["metadata"]
            next_token = base64.urlsafe_b64encode(orjson.dumps({"ns": last.get("namespace", ""), "name": last["name"]})).decode()
        if wants_table(request.headers.get("Accept", "")):
            return _json(as_table(rt, items, self.api.clock.timestamp(), str(rv), next_token, include=q.get("includeObject", "Metadata")))
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if next_token:
            meta["continue"] = next_token
        body = b"".join([
            b'{"kind":', orjson.dumps(rt.list_kind), b',"apiVersion":', orjson.dumps(rt.api_version),
            b',"metadata":', orjson.dumps(meta), b',"items":', orjson.dumps(items), b"}",
        ])
        return web.Response(body=body, content_type="application/json")

    async def _watch(self, request: web.Request, rt: ResourceType, namespace: str | None) -> web.StreamResponse:
        q = request.query
        accept = make_filter(q.get("labelSelector"), q.get("fieldSelector"), rt.kind)
        since = _resource_version(q.get("resourceVersion")) or None
        bookmarks = _bool(q.get("allowWatchBookmarks"))
        timeout = float(q.get("timeoutSeconds", "0") or 0) or None
        resp = web.StreamResponse(status=200, headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        try:
            watcher = self.api.store.watch(rt, namespace, accept, since)
        except ApiError as exc:
            await resp.prepare(request)
            await resp.write(orjson.dumps({"type": "ERROR", "object": exc.status()}) + b"\n")
            return resp
        await resp.prepare(request)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout if timeout else None
        try:
            while not watcher.closed:
                wait = self.bookmark_interval if bookmarks else 30.0
                if deadline is not None:
                    wait = min(wait, deadline - loop.time())
                    if wait <= 0:
                        break
                try:
                    line = await asyncio.wait_for(watcher.queue.get(), timeout=wait)
                    if line is None:
                        break
                except TimeoutError:
                    # A BOOKMARK promises that every event up to its version was sent: events that
                    # reached the queue while the wait above was being cancelled go out first.
                    if not watcher.queue.empty():
                        continue
                    if bookmarks:
                        bm = {"type": "BOOKMARK", "object": {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(self.api.store.resource_version)}}}
                        await resp.write(orjson.dumps(bm) + b"\n")
                    continue
                chunk = [line]
                while not watcher.queue.empty() and len(chunk) < 512:
                    nxt = watcher.queue.get_nowait()
                    if nxt is None:
                        watcher.closed = True
                        break
                    chunk.append(nxt)
                await resp.write(b"".join(chunk))
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self.api.store.unwatch(watcher)
        return resp

    async def _scale(self, request: web.Request, rt: ResourceType, ns: str, name: str, dry_run: bool) -> web.Response:
        def scale_of(obj: Obj) -> dict[str, Any]:
            sel = obj["spec"].get("selector", {}).get("matchLabels", {})
            return {
                "kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {"name": name, "namespace": ns, "uid": obj["metadata"]["uid"], "resourceVersion": obj["metadata"]["resourceVersion"], "creationTimestamp": obj["metadata"]["creationTimestamp"]},
                "spec": {"replicas": obj["spec"].get("replicas", 0)},
                "status": {"replicas": obj.get("status", {}).get("replicas", 0), "selector": ",".join(f"{k}={v}" for k, v in sel.items())},
            }

        obj = self.api.get(rt, ns, name)
        if request.method == "GET":
            return _json(scale_of(obj))
        body = await self._body(request)
        if request.method == "PATCH":
            body = apply_patch(request.headers.get("Content-Type", ""), scale_of(obj), body)
        replicas = (body.get("spec") or {}).get("replicas") if isinstance(body, dict) else None
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid value: {replicas!r}: must be greater than or equal to 0')
        updated = self.api.patch(rt, ns, name, "application/merge-patch+json", {"spec": {"replicas": replicas}}, dry_run=dry_run)
        return _json(scale_of(updated))


def _resource_version(raw: str | None) -> int | None:
    """A request's resourceVersion: None when absent; a 400 when it is not one the server gave."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise BadRequest(f'invalid resource version: "{raw}"')
    return int(raw)


@dataclass(frozen=True)
class Call:
    """What a request's path names: the resource, its namespace (None: all, or cluster-scoped),
    the object's name (None: the collection) and subresource, and whether it is a dry run."""

    rt: ResourceType
    namespace: str | None
    name: str | None
    sub: str | None
    dry_run: bool

    @property
    def scope(self) -> str:
        return "collection" if self.name is None else "object"

    @property
    def ns(self) -> str:
        return self.namespace or ""

    @property
    def object_name(self) -> str:
        assert self.name is not None, "an object route without a name"
        return self.name


Route = Callable[[KubeHttp, web.Request, Call], Awaitable[web.StreamResponse]]
# (collection or object, subresource, method) -> handler; "*": any method.  A subresource not
# listed here (status) is routed as its object is, with the subresource passed on.
ROUTES: dict[tuple[str, str | None, str], Route] = {
    ("collection", None, "GET"): KubeHttp._get_collection,
    ("collection", None, "POST"): KubeHttp._create,
    ("collection", None, "DELETE"): KubeHttp._delete_collection,
    ("object", None, "GET"): KubeHttp._get,
    ("object", None, "PUT"): KubeHttp._update,
    ("object", None, "PATCH"): KubeHttp._patch,
    ("object", None, "DELETE"): KubeHttp._delete,
    ("object", "eviction", "POST"): KubeHttp._evict,
    ("object", "binding", "POST"): KubeHttp._bind,
    ("object", "log", "*"): KubeHttp._pod_log,
    ("object", "portforward", "GET"): KubeHttp._port_forward,
    ("object", "portforward", "POST"): KubeHttp._port_forward,
    ("object", "exec", "*"): KubeHttp._no_process,
    ("object", "attach", "*"): KubeHttp._no_process,
    ("object", "scale", "*"): KubeHttp._scale_sub,
}
# subresources with handlers of their own: a method they do not take is not the object's
SPECIAL_SUBRESOURCES = frozenset(sub for _, sub, _ in ROUTES if sub is not None)
