"""What commands read before they act: an experiment file (checked, with its target and speed), a target's endpoints and the load a render writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chaos.cli.app import fail, out
from cluster.endpoints import Endpoints, default_state_dir


def account_endpoints(target: str, state_dir: Path | None, kubeconfig: str | None, context: str | None, region: str | None) -> Endpoints:
    """Where an account-level command goes: the running simulator, or an EKS kubeconfig context and region."""
    check_target(target)
    if target == "eks":
        from chaos.target import context_endpoints

        return context_endpoints(kubeconfig, context, region)
    from chaos import provisioning as p

    return p.local_endpoints(state_dir or default_state_dir())


def check_target(target: str) -> None:
    if target not in ("local", "eks"):
        fail(f"--target must be local or eks, got '{target}'")


def endpoints_for(target: str, cluster: object, state_dir: Path | None) -> object:
    from chaos import provisioning as p

    check_target(target)
    if target == "eks":
        return p.eks_endpoints(cluster, state_dir)  # type: ignore[arg-type]
    return p.local_endpoints(state_dir or default_state_dir())


def render_load(file: Path, url: str | None, out_dir: Path) -> None:
    import yaml

    from chaos.identity import new_run_id
    from chaos.load.shard_job import experiment_load_job
    from chaos.spec import url_problem
    from cluster.profiles import load_profile

    spec: Any = load_spec(file)
    if spec.traffic.placement != "cluster":
        fail(f"{file}: traffic.placement is local; set placement: cluster (and shards: N) to run its load as a Job")
    if not spec.traffic.shard_image:
        fail(f"{file}: traffic.shard_image: the Job runs your build of the harness image on your cluster; name it "
             "(`spotchaos render --runner --out DIR` writes the Dockerfile and build-and-push.sh for ECR)")
    url = url or spec.traffic.url
    if url is None:
        fail("--url: the experiment names no traffic.url; give the ALB's predict URL (http://ALB/v1/models/NAME:predict)")
    problem = url_problem(str(url))
    if problem:
        fail(f"--url: {problem}")
    namespace = load_profile(spec.cluster.profile, spec.cluster.name, spec.cluster.overrides).serving.namespace if spec.cluster.profile \
        else spec.cluster.service.namespace
    job = experiment_load_job(spec, new_run_id(spec.name), namespace, str(url))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "load-job.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write there: {exc.strerror or exc}")
    out.print(f"wrote {out_dir / 'load-job.yaml'}: {spec.traffic.shards} shards of {spec.traffic.rate:g} req/s in {namespace} "
              f"(kubectl apply -f; read each shard with kubectl logs)", soft_wrap=True, highlight=False)


def load_spec(file: Path, target: str | None = None, speed: float | None = None, injection: str | None = None) -> object:
    from chaos.errors import SpecError
    from chaos.spec import load_experiment, only_injection, with_target

    try:
        spec = with_target(load_experiment(file), f"{file} (with --target/--speed)", target, speed)
        if injection is not None:
            spec = only_injection(spec, int(injection) if injection.isdigit() else injection, f"{file} (with --injection)")
    except SpecError as exc:
        fail(str(exc))
    return spec
