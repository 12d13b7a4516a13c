"""A dynamic Kubernetes client whose API discovery is its own.

The kubernetes client's DynamicClient keeps what it discovered in a file named after the API
server's URL only (`$TMPDIR/osrcp-<md5 of the URL>.json`), shared by every process and kept
for ever.  A simulator's API server listens on 127.0.0.1 at a port the kernel picks, so a later
simulator on the same port read the kinds an earlier one served: a Karpenter NodePool the
cluster does not serve was listed and answered 404 (doctor's go/no-go check failed in a game
day).  A real cluster has the same fault when a CRD goes away (Karpenter uninstalled).  kubectl
keeps its cache per host too, but refreshes it after ten minutes and on a miss; the client here
never does.  So each client discovers for itself, once, and writes nothing."""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any

from kubernetes import dynamic
from kubernetes.dynamic.discovery import LazyDiscoverer


class _OwnDiscovery(LazyDiscoverer):
    """LazyDiscoverer that keeps what it found in memory only."""

    def _write_cache(self) -> None:
        return None


def dynamic_client(api: Any) -> dynamic.DynamicClient:
    """A DynamicClient over `api` (a kubernetes ApiClient) that discovers the server's kinds
    itself instead of reading another process's cache."""
    never_written = os.path.join(tempfile.gettempdir(), f"spotchaos-discovery-{uuid.uuid4().hex}.json")
    return dynamic.DynamicClient(api, cache_file=never_written, discoverer=_OwnDiscovery)  # type: ignore[no-untyped-call]
