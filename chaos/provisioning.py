"""`spotchaos provision` and `spotchaos teardown`: a profile applied to the running local
simulator (found through its state directory) or to AWS (EKS), with progress while it comes up.
The harness's one port to cluster.provision and cluster.manifests (an import-linter contract):
the run, doctor and render reach them through here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import BotoCoreError, ClientError, WaiterError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from chaos.errors import ChaosError
from cluster import held_clusters, kube_objects, kube_retry
from cluster import provision as prov
from cluster.aws import control_plane
from cluster.aws.node_bootstrap import BootstrapError
from cluster.endpoints import Endpoints, default_state_dir
from cluster.manifests.karpenter import helm_values
from cluster.manifests.render import ManifestError as ManifestError  # re-exported: the port's names
from cluster.manifests.render import render as render
from cluster.manifests.render import validate as validate
from cluster.manifests.serving import predict_path as predict_path
from cluster.profiles import ClusterProfile, ProfileError, load_profile
from cluster.provision import node_group_specs as node_group_specs


class ProvisioningFailed(ChaosError):
    """One line for the user: what went wrong and what to do."""


def local_endpoints(state_dir: Path) -> Endpoints:
    try:
        return Endpoints.read(state_dir)
    except (OSError, ValueError):
        raise ProvisioningFailed(f"no running simulator in {state_dir}: start one with `spotchaos sim up` (or give --state-dir)") from None


def eks_state_dir(name: str) -> Path:
    """Where the kubeconfig of a provisioned EKS cluster is kept: beside the simulator's default."""
    return default_state_dir().parent / "eks" / name


def eks_endpoints(profile: ClusterProfile, state_dir: Path | None = None) -> Endpoints:
    """AWS as the environment configures boto3 (profile, credentials, AWS_ENDPOINT_URL), in the profile's region."""
    directory = state_dir or eks_state_dir(profile.name)
    return Endpoints(target="eks", aws_endpoint_url=None, region=profile.region, kubeconfig=str(directory / "kubeconfig"), kube_context=profile.name)


def write_kubeconfig(endpoints: Endpoints, cluster: dict[str, object]) -> Path:
    path = Path(endpoints.kubeconfig)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(control_plane.kubeconfig(cluster, endpoints.region), sort_keys=False))
    path.chmod(0o600)
    endpoints.write(path.parent)
    return path


def resolve(profile_name: str, name: str | None) -> ClusterProfile:
    try:
        return load_profile(profile_name, name)
    except ProfileError as exc:
        raise ProvisioningFailed(str(exc)) from None


def _plan(profile: ClusterProfile, account: str | None = None) -> prov.Plan:
    try:
        return prov.plan(profile, account) if account else prov.plan(profile)
    except ManifestError as exc:
        raise ProvisioningFailed(f"a rendered manifest is not valid Kubernetes: {exc}") from None


def dry_run(profile: ClusterProfile, console: Console) -> None:
    for line in _plan(profile).lines():
        console.print(line, highlight=False, soft_wrap=True)


def _aws_failure(exc: Exception) -> ProvisioningFailed:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return ProvisioningFailed(f"AWS refused {exc.operation_name}: {err.get('Code')}: {err.get('Message')}")
    return ProvisioningFailed(f"AWS: {exc}")


def provision(profile: ClusterProfile, endpoints: Endpoints, timeout: float, console: Console, *,
              ami: str | None = None, aws_only: bool = False, wait_delay: float = 30.0,
              labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None) -> str | None:
    """Apply the profile; returns the service's URL once predictions answer (None with aws_only).
    `labels` and `annotations` go on every Kubernetes object created (a run's id, say).  On the
    simulator, a cluster of this name provisioned from other settings is refused (what exists is
    left as it is: the run would measure the old settings), and one provisioned here is recorded."""
    _plan(profile)  # the manifests are checked before anything is created
    held = _held_profile(profile, endpoints)
    managed = [g.name for g in profile.node_groups if g.managed]
    if endpoints.target == "eks" and managed:
        raise ProvisioningFailed(f"node groups {', '.join(managed)} are EKS managed node groups, which EKS creates (CreateNodegroup), not "
                                 f"spotchaos: create the cluster with eksctl from `spotchaos render --profile {profile.profile}` (its "
                                 "managedNodeGroups), then run experiments with cluster.profile: null")
    try:
        aws = prov.apply_aws(profile, endpoints, ami=ami, wait_delay=wait_delay)
    except BootstrapError as exc:
        raise ProvisioningFailed(str(exc)) from None
    except (ClientError, BotoCoreError, WaiterError) as exc:
        raise _aws_failure(exc) from None
    console.print(f"AWS ready for {profile.name} ({profile.profile} profile): EKS cluster, {len(aws.roles)} IAM roles, "
                  f"{len(aws.made_groups)} Auto Scaling groups created" + (f", NTH queue {aws.queue_url}" if aws.queue_url else ""), soft_wrap=True)
    if endpoints.target == "eks":
        console.print(f"kubeconfig for {profile.name}: {write_kubeconfig(endpoints, aws.cluster)}", soft_wrap=True)
    if aws_only:
        return None
    objects = _plan(profile, aws.account).objects
    if profile.karpenter is not None and endpoints.target == "eks" and not kube_objects.serves_group(endpoints, "karpenter.sh"):
        raise ProvisioningFailed(f"the cluster does not serve karpenter.sh/v1: install the Karpenter chart {profile.karpenter.version} with its CRDs first "
                                 f"(helm upgrade --install karpenter oci://public.ecr.aws/karpenter/karpenter --version {profile.karpenter.version} "
                                 "-n kube-system -f karpenter-values.yaml, the values from `spotchaos render --profile karpenter`), then provision again; "
                                 "the AWS side (queue, rules, roles) is in place")
    created = kube_objects.apply_objects(kube_objects.stamped(objects, labels, annotations) if labels else objects, endpoints)
    console.print(f"applied {created} Kubernetes objects")
    _wait_with_bars(prov.readiness_checks(profile, endpoints), timeout, console)
    if endpoints.target == "local" and held is None:
        held_clusters.record_held(kube_objects.kube_client(endpoints), held_clusters.record_name(profile.name),
                                  {"profile": profile.profile, "digest": profile_digest(profile)})
    return service_url(kube_objects.kube_client(endpoints), profile.serving.namespace, profile.serving.service_name, predict_path(profile.serving))


def build_twin(sources: Any, endpoints: Endpoints, namespace: str, deployment: str, ingress: str, path: str, timeout: float,
               console: Console) -> tuple[list[str], str | None, str | None]:
    """Your cluster in the simulator (cluster.twin): node groups launched, manifests applied, then
    waited on until the service's replicas are Ready and its Ingress answers.  Returns what the
    build made and could not (its lines), the eksctl cluster's name and the service's URL."""
    from cluster.twin.build import build_twin as build
    from cluster.twin.build import existing_twin
    from cluster.twin.inputs import TwinInputError

    try:
        report = existing_twin(endpoints, sources) or build(endpoints, sources)
    except (ClientError, BotoCoreError, WaiterError) as exc:
        raise _aws_failure(exc) from None
    except TwinInputError as exc:
        raise ProvisioningFailed(str(exc)) from None
    for line in report.lines():
        console.print(f"twin: {line}", soft_wrap=True, markup=False)
    missing = [r for r in report.refused if r.startswith("Deployment ") and f" {deployment} " in f"{r} "]
    if missing:
        raise ProvisioningFailed(f"the service's Deployment was refused: {missing[0]}")
    kube = kube_objects.kube_client(endpoints)
    checks = kube_objects.twin_readiness_checks(kube, prov.clients_for(endpoints)["autoscaling"], report.groups, namespace, deployment, ingress, path)
    try:
        _wait_with_bars(checks, timeout, console)
    except ProvisioningFailed as exc:
        said = kube_objects.warnings_about(kube, namespace, {deployment, ingress})
        raise ProvisioningFailed(f"{exc}" + (f"; the cluster says: {'; '.join(said)}" if said else "")) from None
    return report.lines(), report.cluster, service_url(kube, namespace, ingress, path)


def karpenter_helm_values(profile: ClusterProfile, account: str) -> dict[str, Any]:
    """The Karpenter chart's values for the profile, for `helm upgrade --install` on EKS."""
    return helm_values(profile, account)


def service_url(kube_api: Any, namespace: str, ingress: str, path: str) -> str | None:
    """The URL requests go to: the Ingress's load balancer address and the predict path (None until it has one)."""
    from kubernetes import client

    return kube_objects.ingress_url(client.NetworkingV1Api(kube_api), namespace, ingress, path)


def nth_queue_url(kube_api: Any) -> str | None:
    """The SQS queue NTH reads in queue mode: its Deployment's QUEUE_URL (None without one)."""
    from kubernetes import client

    for d in kube_retry.call(client.AppsV1Api(kube_api).list_deployment_for_all_namespaces).items:
        for c in d.spec.template.spec.containers:
            for env in c.env or []:
                if env.name == "QUEUE_URL" and env.value:
                    return str(env.value)
    return None


def karpenter_queue_name(kube_api: Any) -> str | None:
    """The interruption queue Karpenter reads: its controller's INTERRUPTION_QUEUE or
    --interruption-queue (None without a Karpenter, or one with no queue)."""
    from kubernetes import client

    from cluster.components.karpenter import is_karpenter, settings

    for d in kube_retry.call(client.AppsV1Api(kube_api).list_deployment_for_all_namespaces).items:
        for c in d.spec.template.spec.containers:
            container = kube_api.sanitize_for_serialization(c)
            if is_karpenter(container) and settings(container).interruption_queue:
                return settings(container).interruption_queue
    return None


def _wait_with_bars(checks: list[tuple[str, Callable[[], tuple[int, int]]]], timeout: float, console: Console) -> None:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=False) as bar:
        tasks: dict[str, int] = {}

        def progress(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        try:
            prov.wait_until(checks, timeout, progress)
        except prov.ProvisionError as exc:
            raise ProvisioningFailed(str(exc)) from None


def _kubernetes_reachable(endpoints: Endpoints) -> bool:
    from kubernetes import client

    try:
        client.VersionApi(kube_objects.kube_client(endpoints)).get_code(_request_timeout=10)
        return True
    except Exception as exc:  # noqa: BLE001 - gone, unreachable or never made: there is nothing to delete there
        # an API server that answered a throttle or a 5xx is there: its objects are deleted (with retries)
        return getattr(exc, "status", None) in kube_retry.RETRIED_STATUSES


def profile_digest(profile: ClusterProfile) -> str:
    """What a profile builds, as a digest: its settings and overrides, not the run that asked (the
    `spotchaos:` tags: its run id, whether it tears the cluster down)."""
    settings = profile.model_dump(mode="json")
    settings["tags"] = {k: v for k, v in (settings.get("tags") or {}).items() if not k.startswith("spotchaos:")}
    return held_clusters.digest_of(settings)


def _held_profile(profile: ClusterProfile, endpoints: Endpoints) -> dict[str, str] | None:
    """The record of the cluster of this name the simulator holds (None: none, or not a simulator);
    ProvisioningFailed when it was provisioned from other settings."""
    if endpoints.target != "local" or not _kubernetes_reachable(endpoints):
        return None
    held = held_clusters.read_held(kube_objects.kube_client(endpoints), held_clusters.record_name(profile.name))
    if held is not None and held.get("digest") != profile_digest(profile):
        raise ProvisioningFailed(f"this simulator holds cluster {profile.name}, provisioned at {held.get('builtAt') or '?'} from profile "
                                 f"{held.get('profile') or '?'} with other settings: provisioning leaves what exists as it is, so the run would "
                                 f"measure those; tear it down first (`spotchaos teardown --profile {held.get('profile') or profile.profile} "
                                 f"--name {profile.name}`), name this cluster otherwise (cluster.name), or use a fresh simulator")
    return held


def teardown(profile: ClusterProfile, endpoints: Endpoints, timeout: float, console: Console, *, wait_delay: float = 30.0,
             selector: str | None = None) -> list[str]:
    """Kubernetes objects first (so the load balancer controller removes the ALB), then the node
    groups, then, once their instances are gone, the control plane, IAM, NTH's queue and the network.
    With `selector` (a run's label) the objects it matches go first, of the kinds the profile
    renders: found so even when overrides the caller does not know renamed them."""
    name, sp = profile.name, profile.serving
    done: list[str] = []
    try:
        if endpoints.target == "eks" and not Path(endpoints.kubeconfig).exists():
            _kubeconfig_from_aws(profile, endpoints)
        reachable = _kubernetes_reachable(endpoints)
        if reachable:
            if selector:
                done += kube_objects.delete_labelled([(o["apiVersion"], o["kind"]) for o in render(profile)], selector, endpoints)
            if profile.karpenter is not None:
                done += _karpenter_nodes_first(profile, endpoints, timeout, console)
            done += kube_objects.delete_objects(render(profile), endpoints)
            _wait_with_bars([("ALB removed by the controller", lambda: (0 if prov.load_balancers_left(endpoints, sp.namespace, sp.service_name) else 1, 1))],
                            timeout, console)
        else:
            console.print(f"the Kubernetes API of {name} does not answer: skipping its objects", highlight=False)
        done += prov.delete_node_groups(name, endpoints)
        if profile.karpenter is not None:
            done += prov.terminate_karpenter_instances(name, endpoints)
        gone = [("instances terminated", lambda: (0 if prov.instances_left(name, endpoints) else 1, 1))]
        if reachable:
            gone.append(("nodes removed", lambda: (0 if kube_objects.nodes_left(profile, endpoints) else 1, 1)))
            gone.append(("namespaces deleted", lambda: (0 if kube_objects.namespaces_left(profile, endpoints) else 1, 1)))
        _wait_with_bars(gone, timeout, console)
        done += prov.delete_control_plane_and_rest(name, endpoints, wait_delay)
        if reachable and endpoints.target == "local":
            held_clusters.forget_held(kube_objects.kube_client(endpoints), held_clusters.record_name(name))
    except (ClientError, BotoCoreError, WaiterError) as exc:
        raise _aws_failure(exc) from None
    for line in done:
        console.print(f"deleted {line}", highlight=False)
    return done


def _karpenter_nodes_first(profile: ClusterProfile, endpoints: Endpoints, timeout: float, console: Console) -> list[str]:
    """The NodePools go while Karpenter still runs, so it drains and ends their nodes (their
    NodeClaims are the pools'); what it leaves is ended by tag after the node groups."""
    pools = [o for o in render(profile) if o["kind"] == "NodePool"]
    done = kube_objects.delete_objects(pools, endpoints)
    names = [p["metadata"]["name"] for p in pools]
    try:
        _wait_with_bars([("Karpenter's nodes removed", lambda: (0 if kube_objects.node_claims_left(names, endpoints) else 1, 1))], timeout, console)
    except ProvisioningFailed as exc:
        console.print(f"Karpenter did not remove its nodes ({exc}): their instances are ended by tag", highlight=False)
    return done


def _kubeconfig_from_aws(profile: ClusterProfile, endpoints: Endpoints) -> None:
    eks = prov.clients_for(endpoints)["eks"]
    try:
        write_kubeconfig(endpoints, eks.describe_cluster(name=profile.name)["cluster"])
    except eks.exceptions.ResourceNotFoundException:
        pass
