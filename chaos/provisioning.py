"""`spotchaos provision` and `spotchaos teardown`: a profile applied to the running local
simulator (found through its state directory) or to AWS, with progress while it comes up."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cluster import provision as prov
from cluster.endpoints import Endpoints
from cluster.manifests.render import ManifestError, render
from cluster.profiles import ClusterProfile, ProfileError, load_profile


class ProvisioningFailed(RuntimeError):
    """One line for the user: what went wrong and what to do."""


def local_endpoints(state_dir: Path) -> Endpoints:
    try:
        return Endpoints.read(state_dir)
    except (OSError, ValueError):
        raise ProvisioningFailed(f"no running simulator in {state_dir}: start one with `spotchaos sim up` (or give --state-dir)") from None


def resolve(profile_name: str, name: str | None) -> ClusterProfile:
    try:
        return load_profile(profile_name, name)
    except ProfileError as exc:
        raise ProvisioningFailed(str(exc)) from None


def dry_run(profile: ClusterProfile, console: Console) -> None:
    try:
        plan = prov.plan(profile)
    except ManifestError as exc:
        raise ProvisioningFailed(f"a rendered manifest is not valid Kubernetes: {exc}") from None
    for line in plan.lines():
        console.print(line, highlight=False, soft_wrap=True)


def provision_local(profile: ClusterProfile, endpoints: Endpoints, timeout: float, console: Console) -> str | None:
    """Apply the profile to the simulator; returns the service's URL once predictions answer."""
    try:
        plan = prov.plan(profile)
    except ManifestError as exc:
        raise ProvisioningFailed(f"a rendered manifest is not valid Kubernetes: {exc}") from None
    groups = prov.apply_aws(profile, endpoints)
    console.print(f"created {len(groups)} Auto Scaling groups for {profile.name} ({profile.profile} profile)")
    created = prov.apply_objects(plan.objects, endpoints)
    console.print(f"applied {created} Kubernetes objects")
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        try:
            prov.wait_until(prov.readiness_checks(profile, endpoints), timeout, progress)
        except prov.ProvisionError as exc:
            raise ProvisioningFailed(str(exc)) from None
    from kubernetes import client

    from cluster.manifests.serving import predict_path

    net = client.NetworkingV1Api(prov.kube_client(endpoints))
    return prov.ingress_url(net, profile.serving.namespace, profile.serving.service_name, predict_path(profile.serving))


def teardown_local(profile: ClusterProfile, endpoints: Endpoints, timeout: float, console: Console) -> list[str]:
    done = prov.delete_objects(render(profile), endpoints)
    done += prov.teardown_aws(profile.name, endpoints)
    # the instances go with their groups; subnets and the VPC once nothing runs in them
    from kubernetes import client

    core = client.CoreV1Api(prov.kube_client(endpoints))
    groups = {f"eks-{profile.name}-{g.name}" for g in profile.node_groups}
    names = {g.name for g in profile.node_groups}

    def nodes_gone() -> tuple[int, int]:
        left = [n for n in core.list_node().items if (n.metadata.labels or {}).get("eks.amazonaws.com/nodegroup") in names | groups]
        return (0 if left else 1), 1

    try:
        prov.wait_until([("nodes removed", nodes_gone)], timeout)
    except prov.ProvisionError as exc:
        raise ProvisioningFailed(str(exc)) from None
    done += prov.teardown_network(profile.name, endpoints)
    for line in done:
        console.print(f"deleted {line}", highlight=False)
    return done
