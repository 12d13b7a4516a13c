"""In-memory object store with resourceVersions, a bounded event history and watch fan-out.

Objects are plain JSON dicts and are never mutated once stored: every write stores a
new dict, so readers may keep references.  Watches replay history from a
resourceVersion; a version older than the retained history gets 410 Gone, as
from an etcd compaction.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from cluster.sim.kube.errors import AlreadyExists, ApiError, Conflict, Gone, NotFound
from cluster.sim.kube.resources import ResourceType

Obj = dict[str, Any]
Filter = Callable[[Mapping[str, Any]], bool]


def clone(obj: Obj) -> Obj:
    """A deep copy, fast (objects are JSON)."""
    return orjson.loads(orjson.dumps(obj))


@dataclass(slots=True)
class StoredEvent:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    resource: ResourceType
    obj: Obj
    old: Obj | None
    _line: bytes | None = None

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")

    def line(self, type_: str | None = None) -> bytes:
        if type_ is None or type_ == self.type:
            if self._line is None:
                self._line = orjson.dumps({"type": self.type, "object": self.obj}) + b"\n"
            return self._line
        return orjson.dumps({"type": type_, "object": self.obj}) + b"\n"


@dataclass(eq=False)
class Watcher:
    """One HTTP watch stream: receives serialized watch lines on a queue."""

    resource: ResourceType
    namespace: str | None
    accept: Filter | None
    queue: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(maxsize=200_000))
    closed: bool = False

    def offer(self, event: StoredEvent) -> None:
        if self.closed:
            return
        if self.namespace and event.namespace != self.namespace:
            return
        if self.accept is None:
            line = event.line()
        else:
            now = self.accept(event.obj) if event.type != "DELETED" else False
            before = self.accept(event.old) if event.old is not None else False
            if event.type == "DELETED":
                if not self.accept(event.obj):
                    return
                line = event.line()
            elif now and before:
                line = event.line()
            elif now:
                line = event.line("ADDED")
            elif before:
                line = event.line("DELETED")
            else:
                return
        try:
            self.queue.put_nowait(line)
        except asyncio.QueueFull:
            # A watcher that does not read is dropped, as the real server drops slow watchers.
            self.closed = True


class ObjectStore:
    def __init__(self, history_size: int = 20_000) -> None:
        self._objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self._rv = 0
        self._history: deque[StoredEvent] = deque(maxlen=history_size)
        self.compacted = 0  # every version up to this one is compacted away: a watch or an exact list from it is 410
        self._mark = 0  # the version the next compaction compacts to (kube-apiserver's compactor: the one it saw last time)
        self._watchers: dict[str, set[Watcher]] = {}
        self._listeners: list[Callable[[StoredEvent], None]] = []

    # ---- reading -------------------------------------------------------
    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        return self._objects.get(rt.key, {}).get((namespace, name))

    def require(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.get(rt, namespace, name)
        if obj is None:
            raise NotFound(rt.plural, name, rt.group)
        return obj

    def list(self, rt: ResourceType, namespace: str | None = None, accept: Filter | None = None) -> list[Obj]:
        items = self._objects.get(rt.key, {})
        out = []
        for (ns, _name), obj in items.items():
            if namespace and ns != namespace:
                continue
            if accept is not None and not accept(obj):
                continue
            out.append(obj)
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    def count(self, rt: ResourceType) -> int:
        return len(self._objects.get(rt.key, {}))

    def iter(self, rt: ResourceType) -> Iterable[Obj]:
        return list(self._objects.get(rt.key, {}).values())

    # ---- writing -------------------------------------------------------
    def _commit(self, rt: ResourceType, type_: str, obj: Obj, old: Obj | None) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        bucket = self._objects.setdefault(rt.key, {})
        if type_ == "DELETED":
            bucket.pop(key, None)
        else:
            bucket[key] = obj
        event = StoredEvent(self._rv, type_, rt, obj, old)
        self._history.append(event)
        for w in list(self._watchers.get(rt.key, ())):
            w.offer(event)
        for listener in self._listeners:
            listener(event)
        return obj

    def insert(self, rt: ResourceType, obj: Obj) -> Obj:
        meta = obj["metadata"]
        if self.get(rt, meta.get("namespace", ""), meta["name"]) is not None:
            raise AlreadyExists(rt.plural, meta["name"], rt.group)
        return self._commit(rt, "ADDED", obj, None)

    def replace(self, rt: ResourceType, obj: Obj, *, expect_rv: str | None = None) -> Obj:
        meta = obj["metadata"]
        old = self.require(rt, meta.get("namespace", ""), meta["name"])
        if expect_rv and expect_rv != old["metadata"]["resourceVersion"]:
            raise Conflict(rt.plural, meta["name"], rt.group)
        return self._commit(rt, "MODIFIED", obj, old)

    def remove(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        old = self.require(rt, namespace, name)
        gone = dict(old)
        gone["metadata"] = dict(old["metadata"])
        return self._commit(rt, "DELETED", gone, old)

    # ---- compaction ----------------------------------------------------
    def compact(self) -> int:
        """etcd's compaction as kube-apiserver's compactor asks for it, every interval: to the
        version it saw at the previous one.  History up to there goes; returns the compacted version."""
        target, self._mark = self._mark, self._rv
        if target > self.compacted:
            self.compacted = target
            while self._history and self._history[0].rv <= target:
                self._history.popleft()
        return self.compacted

    def list_at(self, rt: ResourceType, namespace: str | None, accept: Filter | None, rv: int) -> list[Obj]:
        """The objects as they were at version `rv` (resourceVersionMatch=Exact): today's, with the
        kind's later writes undone from history; 410 once `rv` is compacted away."""
        oldest = self._history[0].rv if self._history else self._rv + 1
        if rv <= self.compacted or (rv < oldest - 1 and rv < self._rv):
            raise Gone("The resourceVersion for the provided list is too old.")
        if rv > self._rv:
            raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {self._rv}")
        objects = {(o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in self._objects.get(rt.key, {}).values()}
        for ev in reversed(self._history):
            if ev.rv <= rv:
                break
            if ev.resource.key != rt.key:
                continue
            key = (ev.obj["metadata"].get("namespace", ""), ev.obj["metadata"]["name"])
            if ev.type == "ADDED" or ev.old is None:
                objects.pop(key, None)
            else:
                objects[key] = ev.old
        out = [o for (ns, _), o in objects.items() if (not namespace or ns == namespace) and (accept is None or accept(o))]
        return sorted(out, key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))

    # ---- watching ------------------------------------------------------
    def add_listener(self, listener: Callable[[StoredEvent], None]) -> None:
        """In-process subscribers (the simulated controllers) see every event synchronously."""
        self._listeners.append(listener)

    def watch(self, rt: ResourceType, namespace: str | None, accept: Filter | None, since_rv: int | None) -> Watcher:
        """Open a watch; replays history after `since_rv` (None: synthetic ADDED of current state)."""
        w = Watcher(rt, namespace, accept)
        if since_rv is None:
            for obj in self.list(rt, namespace, accept):
                w.queue.put_nowait(orjson.dumps({"type": "ADDED", "object": obj}) + b"\n")
        else:
            oldest = self._history[0].rv if self._history else self._rv + 1
            if since_rv < self.compacted or (since_rv < oldest - 1 and since_rv < self._rv):
                raise Gone(f"too old resource version: {since_rv} ({max(oldest - 1, self.compacted)})")
            for ev in self._history:
                if ev.rv > since_rv and ev.resource.key == rt.key:
                    w.offer(ev)
        self._watchers.setdefault(rt.key, set()).add(w)
        return w

    def unwatch(self, w: Watcher) -> None:
        w.closed = True
        self._watchers.get(w.resource.key, set()).discard(w)

    def close_watches(self) -> None:
        """End every open watch stream (the server is stopping)."""
        for watchers in self._watchers.values():
            for w in list(watchers):
                w.closed = True
                try:
                    w.queue.put_nowait(None)
                except asyncio.QueueFull:
                    pass
        self._watchers.clear()

    def watcher_count(self) -> int:
        return sum(len(s) for s in self._watchers.values())
