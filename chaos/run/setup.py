"""The cluster a run works on: the profile it provisions (tagged and labelled with the run's id,
announced in the undo log first) or the service it names, and the URL its traffic goes to; then
the observers (Kubernetes watches and AWS pollers) that write the journal, synced before the
run goes on."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
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
    Phase,
    RunContext,
    RunState,
    ServiceRef,
)
from chaos.undo.log import Stage, UndoOp
from cluster.waiting import WaitTimeout, until


async def provision(ctx: RunContext, state: RunState, phase: Callable[..., Any]) -> None:
    """Sets the state's service, cluster name and URL."""
    conn = state.conn
    assert conn is not None
    cluster = ctx.spec.cluster
    from chaos import provisioning as p

    url: str | None = None
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
        state.service = ServiceRef(profile.serving.namespace, profile.serving.name, profile.serving.service_name, p.predict_path(profile.serving))
        state.cluster_name = profile.name
        ctx.journal.write(ProvisionedRecord(profile=profile.profile, cluster=profile.name, url=url))
    else:
        svc = cluster.service
        assert svc is not None
        state.service = ServiceRef(svc.namespace, svc.deployment, svc.ingress, svc.path)
        state.cluster_name = cluster.name
    if ctx.spec.traffic.url:
        url = ctx.spec.traffic.url
    elif url is None:
        service = state.service
        url = await asyncio.to_thread(p.service_url, conn.kube(), service.namespace, service.ingress, service.path)
        if url is None:
            raise TargetError(f"the Ingress {service.namespace}/{service.ingress} has no address yet; give traffic.url or wait for the ALB")
    state.url = url


async def start_observers(ctx: RunContext, state: RunState, phase: Callable[..., Any], watched: Callable[[], list[str]]) -> None:
    """Watches and pollers started, each in its thread, and waited on until all have read the
    cluster once; `watched` names the instances the instance poller follows (the injected ones)."""
    conn = state.conn
    assert conn is not None and state.faults is not None
    phase(Phase.OBSERVE)
    journal, stop = ctx.journal, state.stop_threads
    state.watches = kube_watches(conn.kube(), journal, stop, state.service.namespace, state.service.deployment,
                                 nodeclaims="karpenter" in state.components, run_time_of=ctx.clock.run_time_of)
    cluster = state.cluster_name if conn.endpoints.target == "eks" else None
    # real seconds between polls: a few cluster seconds' resolution, without loading the API
    period = max(0.5, 2.0 / conn.speed)
    state.fis = FisExperiments(conn.aws("fis"), journal, ctx.clock.run_time_of)
    instances = Instances(conn.aws("ec2"), journal, cluster)
    instances.watched = watched
    state.lever = SafetyLeverWatch(state.faults.safety_lever, journal)
    state.pollers = [
        Poller("targets", period, TargetHealth(conn.aws("elbv2"), journal, cluster), stop),
        Poller("instances", period, instances, stop),
        Poller("activities", max(3.0, period * 4), ScalingActivities(conn.aws("autoscaling"), journal, cluster), stop),
        Poller("fis", period * 2, state.fis, stop),
        Poller("safety-lever", period * 2, state.lever, stop),
    ]
    observers = [*state.watches, *state.pollers]
    for t in observers:
        t.start()
    try:
        await until(lambda: all(t.synced.is_set() for t in observers), SYNC_TIMEOUT, "observers to sync", interval=0.05)
    except WaitTimeout:
        missing = [t.name for t in observers if not t.synced.is_set()]
        raise TargetError(f"observers could not read the cluster within {SYNC_TIMEOUT:g}s: {', '.join(missing)}") from None


async def record_components(ctx: RunContext, state: RunState) -> None:
    """The versions of Kubernetes, NTH, Cluster Autoscaler and the Load Balancer Controller the run
    ran against, journaled for the run history; a cluster that does not say is noted, not fatal."""
    from chaos import api_errors
    from chaos.kube.workloads import versions_and_images
    from chaos.run.component_versions import component_versions

    assert state.conn is not None
    try:
        version, images = await asyncio.to_thread(versions_and_images, state.conn.kube())
    except api_errors.sdk_errors() as exc:
        ctx.journal.write(ComponentsRecord(error=api_errors.describe(exc)))
        return
    state.components = component_versions(version, images)
    ctx.journal.write(ComponentsRecord.model_validate(state.components))
