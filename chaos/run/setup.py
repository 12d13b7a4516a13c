"""The cluster a run works on: the profile it provisions (tagged and labelled with the run's id,
announced in the undo log first) or the service it names, and the URL its traffic goes to; then
the observers (Kubernetes watches and AWS pollers) that write the journal, synced before the
run goes on."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console

from chaos.aws.observers import (
    FisExperiments,
    Instances,
    Poller,
    SafetyLeverWatch,
    ScalingActivities,
    TargetHealth,
)
from chaos.errors import TargetError
from chaos.identity import PROFILE_TAG, RUN_ID_ANNOTATION, RUN_ID_TAG, run_label
from chaos.journal.records import ComponentsRecord, ProvisionedRecord
from chaos.kube.watches import kube_watches
from chaos.run.context import (
    PROVISION_TIMEOUT,
    SYNC_TIMEOUT,
    Connected,
    Observers,
    Phase,
    RunContext,
    RunState,
    ServiceRef,
    Serving,
)
from chaos.target import Connection
from chaos.undo.log import Stage, UndoOp
from cluster.waiting import WaitTimeout, until


async def provision(ctx: RunContext, state: RunState, conn: Connection, phase: Callable[..., Any]) -> Serving:
    """Where the service is: the profile provisioned (its task in `state.provision_task`, which the
    rollback waits for), or the experiment's own service, and its URL."""
    cluster = ctx.spec.cluster
    from chaos import provisioning as p

    url: str | None = None
    if cluster.from_ is not None:
        return await _twin(ctx, state, conn, phase)
    if cluster.profile is not None:
        if conn.endpoints.target == "eks":
            raise TargetError("provisioning EKS from an experiment is not available: set cluster.profile: null and name the service in cluster.service")
        phase(Phase.PROVISION, profile=cluster.profile)
        from cluster.profiles import ProfileError, load_profile

        try:
            profile = load_profile(cluster.profile, cluster.name, cluster.overrides)
        except ProfileError as exc:
            raise TargetError(f"cluster: {exc}") from None
        # found again by its run id when the journal is lost (`spotchaos cleanup --run-id`); the
        # profile tag marks a cluster that cleanup may tear down: not one the experiment keeps
        tags = {**profile.tags, RUN_ID_TAG: ctx.run_id, **({PROFILE_TAG: profile.profile} if cluster.teardown else {})}
        profile = profile.model_copy(update={"tags": tags})
        number = None
        if cluster.teardown and not conn.started_simulator:
            number = ctx.undo.intent(f"provision {profile.name} ({profile.profile})", UndoOp.TEAR_DOWN_CLUSTER, Stage.SETUP,
                                     profile=cluster.profile, cluster=cluster.name, overrides=cluster.overrides)
        # a thread cannot be cancelled: rollback waits for it before tearing down what it made
        state.provision_task = asyncio.ensure_future(asyncio.to_thread(
            p.provision, profile, conn.endpoints, PROVISION_TIMEOUT, Console(file=io.StringIO()),
            labels=run_label(ctx.run_id), annotations={RUN_ID_ANNOTATION: ctx.run_id}))
        try:
            url = await asyncio.shield(state.provision_task)
        except p.ProvisioningFailed as exc:
            raise TargetError(f"provisioning {profile.profile}: {exc}") from None
        if number is not None:
            ctx.undo.done(number, cluster=profile.name)
        service = ServiceRef(profile.serving.namespace, profile.serving.name, profile.serving.service_name, p.predict_path(profile.serving))
        cluster_name: str | None = profile.name
        ctx.journal.write(ProvisionedRecord(profile=profile.profile, cluster=profile.name, url=url))
    else:
        svc = cluster.service
        assert svc is not None  # the spec sets one when there is no profile
        service = ServiceRef(svc.namespace, svc.deployment, svc.ingress, svc.path)
        cluster_name = cluster.name
    if ctx.spec.traffic.url:
        url = ctx.spec.traffic.url
    elif url is None:
        url = await asyncio.to_thread(p.service_url, conn.kube(), service.namespace, service.ingress, service.path)
        if url is None:
            raise TargetError(f"the Ingress {service.namespace}/{service.ingress} has no address yet; give traffic.url or wait for the ALB")
    return Serving(url, service, cluster_name)


async def _twin(ctx: RunContext, state: RunState, conn: Connection, phase: Callable[..., Any]) -> Serving:
    """The twin of the user's cluster built in the simulator the run started (it goes with the
    simulator: nothing to tear down), waited on until the service answers."""
    from chaos import provisioning as p

    cluster, svc = ctx.spec.cluster, ctx.spec.cluster.service
    assert cluster.from_ is not None and svc is not None  # the spec requires the service with `from`
    phase(Phase.PROVISION, profile="twin")
    sources = await asyncio.to_thread(cluster.from_.sources)
    state.provision_task = asyncio.ensure_future(asyncio.to_thread(
        p.build_twin, sources, conn.endpoints, svc.namespace, svc.deployment, svc.ingress, svc.path, PROVISION_TIMEOUT, Console(file=io.StringIO())))
    try:
        lines, name, url = await asyncio.shield(state.provision_task)
    except p.ProvisioningFailed as exc:
        raise TargetError(f"building the twin: {exc}") from None
    ctx.journal.write(ProvisionedRecord(profile="twin", cluster=name or cluster.name, url=url, twin=lines))
    if ctx.spec.traffic.url:
        url = ctx.spec.traffic.url
    elif url is None:
        raise TargetError(f"the Ingress {svc.namespace}/{svc.ingress} has no address; give traffic.url or an Ingress the Load Balancer Controller serves")
    return Serving(url, ServiceRef(svc.namespace, svc.deployment, svc.ingress, svc.path), name or cluster.name)


async def start_observers(ctx: RunContext, connected: Connected, serving: Serving, components: Mapping[str, str], stop: threading.Event,
                          phase: Callable[..., Any], watched: Callable[[], list[str]]) -> Observers:
    """Watches and pollers started, each in its thread, and waited on until all have read the
    cluster once; `watched` names the instances the instance poller follows (the injected ones).
    `stop` (the rollback sets it) ends them all."""
    conn, journal = connected.conn, ctx.journal
    phase(Phase.OBSERVE)
    watches = kube_watches(conn.kube(), journal, stop, serving.service.namespace, serving.service.deployment,
                           nodeclaims="karpenter" in components, run_time_of=ctx.clock.run_time_of)
    cluster = serving.cluster_name if conn.endpoints.target == "eks" else None
    # real seconds between polls: 5 cluster seconds' resolution at any speed (0.5 s at speed 10), without
    # loading the API more than 10 times a second
    period = max(0.1, min(0.5, 5.0 / ctx.clock.speed))
    fis = FisExperiments(conn.aws("fis"), journal, ctx.clock.run_time_of)
    instances = Instances(conn.aws("ec2"), journal, cluster)
    instances.watched = watched
    lever = SafetyLeverWatch(connected.faults.safety_lever, journal)
    pollers = (
        Poller("targets", period, TargetHealth(conn.aws("elbv2"), journal, cluster), stop),
        Poller("instances", period, instances, stop),
        Poller("activities", max(period * 4, 30.0 / ctx.clock.speed), ScalingActivities(conn.aws("autoscaling"), journal, cluster), stop),
        Poller("fis", period * 2, fis, stop),
        Poller("safety-lever", period * 2, lever, stop),
    )
    observers = [*watches, *pollers]
    for t in observers:
        t.start()
    try:
        await until(lambda: all(t.synced.is_set() for t in observers), SYNC_TIMEOUT, "observers to sync", interval=0.05)
    except WaitTimeout:
        missing = [t.name for t in observers if not t.synced.is_set()]
        raise TargetError(f"observers could not read the cluster within {SYNC_TIMEOUT:g}s: {', '.join(missing)}") from None
    return Observers(fis, lever, tuple(watches), pollers)


async def record_components(ctx: RunContext, conn: Connection) -> Mapping[str, str]:
    """The versions of Kubernetes, NTH, Cluster Autoscaler and the Load Balancer Controller the run
    ran against, journaled for the run history; a cluster that does not say is noted, not fatal."""
    from chaos import api_errors
    from chaos.kube.workloads import versions_and_images
    from chaos.run.component_versions import component_versions

    try:
        version, images = await asyncio.to_thread(versions_and_images, conn.kube())
    except api_errors.sdk_errors() as exc:
        ctx.journal.write(ComponentsRecord(error=api_errors.describe(exc)))
        return {}
    components = component_versions(version, images)
    ctx.journal.write(ComponentsRecord.model_validate(components))
    return components
