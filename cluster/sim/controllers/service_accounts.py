"""kube-controller-manager's serviceaccount and root-ca-cert-publisher controllers: every
namespace gets a `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap (what a pod's
kube-api-access volume projects).  The simulator's API has no TLS: the CA is a placeholder."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from cluster.sim.controllers.base import Controller, SimContext
from cluster.sim.kube.errors import ApiError
from cluster.sim.kube.service_accounts import DEFAULT_SERVICE_ACCOUNT, ROOT_CA_CONFIGMAP
from cluster.sim.kube.store import StoredEvent

PLACEHOLDER_CA = "-----BEGIN CERTIFICATE-----\n(the simulator serves plain HTTP; no CA signs it)\n-----END CERTIFICATE-----\n"


class ServiceAccounts(Controller):
    name = "serviceaccount"
    kinds = ("Namespace", "ServiceAccount", "ConfigMap")
    resync = 30.0

    def __init__(self, ctx: SimContext) -> None:
        super().__init__(ctx)
        self.ns_rt, self.sa_rt, self.cm_rt = ctx.api.rt("Namespace"), ctx.api.rt("ServiceAccount"), ctx.api.rt("ConfigMap")
        for key in self.all_keys():  # the namespaces made before the controllers started (default, kube-system, ...)
            self.enqueue(key)

    def keys_for(self, ev: StoredEvent) -> Iterable[Hashable]:
        meta = ev.obj["metadata"]
        return [meta["name"] if ev.resource.kind == "Namespace" else meta.get("namespace", "")]

    def all_keys(self) -> Iterable[Hashable]:
        return [ns["metadata"]["name"] for ns in self.api.store.iter(self.ns_rt)]

    def reconcile(self, key: Hashable) -> None:
        namespace = str(key)
        ns = self.api.store.get(self.ns_rt, "", namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        wanted = ((self.sa_rt, {"metadata": {"name": DEFAULT_SERVICE_ACCOUNT}}),
                  (self.cm_rt, {"metadata": {"name": ROOT_CA_CONFIGMAP}, "data": {"ca.crt": PLACEHOLDER_CA}}))
        for rt, obj in wanted:
            if self.api.store.get(rt, namespace, obj["metadata"]["name"]) is None:
                try:
                    self.api.create(rt, namespace, obj)
                except ApiError:
                    pass  # created meanwhile, or the namespace is terminating
