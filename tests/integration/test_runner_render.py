"""`spotchaos render --runner`: the in-cluster runner's files.  The Kubernetes objects are
schema-checked and applied to the simulator through the real client (the simulator stores the
CronJob as the API server does; it runs no jobs: the harness image is not here); the IAM policy
and trust policy are created in the simulator's IAM, which parses them; the Dockerfile is checked,
not built (no container engine here).  An experiment the runner could not run is refused in one
line.  In a pod, a run reaches the API server through its service account."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from chaos import __version__
from chaos.cli import app
from chaos.kube import clients as kube_clients
from chaos.target import context_endpoints
from cluster.endpoints import Endpoints
from tests.e2e.test_experiments import ROOT

ACCOUNT = "123456789012"
FIS_ROLE = f"arn:aws:iam::{ACCOUNT}:role/spotchaos-fis"
runner = CliRunner()


def _experiment(tmp_path: Path, name: str = "nightly-spot", contexts: tuple[str, ...] = ("in-cluster",)) -> Path:
    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["name"] = name
    data["target"] = {"kind": "eks", "region": "us-east-1", "allowed_accounts": [ACCOUNT], "allowed_contexts": list(contexts), "fis_role_arn": FIS_ROLE}
    data["cluster"] = {"profile": None, "service": {"namespace": "default", "deployment": "resnet-v1", "ingress": "resnet-service"}}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _render(tmp_path: Path, *extra: str) -> object:
    return runner.invoke(app, ["render", "--runner", "--out", str(tmp_path / "runner"), "--account", ACCOUNT, "--region", "us-east-1",
                               "--name", "prod", "--image", "registry.example/spotchaos:1.0", *extra])


def test_the_runner_renders_applies_and_its_policies_parse(sim, tmp_path):
    result = _render(tmp_path, "--experiment", str(_experiment(tmp_path)), "--experiment", str(_experiment(tmp_path, "nightly-two")),
                     "--upload", "s3://chaos-results/nightly", "--oidc-issuer", "https://oidc.eks.us-east-1.amazonaws.com/id/ABC",
                     "--schedule", "30 2 * * 1-5")
    assert result.exit_code == 0, result.output
    out = tmp_path / "runner"
    assert sorted(p.name for p in out.iterdir()) == ["Dockerfile", "build-and-push.sh", "iam-policy.json", "runner.yaml", "trust-policy.json"]
    objects = list(yaml.safe_load_all((out / "runner.yaml").read_text()))
    by_kind = {o["kind"]: o for o in objects}
    cron = by_kind["CronJob"]["spec"]
    assert cron["schedule"] == "30 2 * * 1-5" and cron["concurrencyPolicy"] == "Forbid"
    assert cron["jobTemplate"]["spec"]["activeDeadlineSeconds"] > 0 and cron["jobTemplate"]["spec"]["backoffLimit"] == 0
    assert sorted(by_kind["ConfigMap"]["data"]) == ["nightly-spot.yaml", "nightly-two.yaml"]
    verbs = {v for rule in by_kind["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert verbs <= {"get", "list", "watch"}  # a run changes nothing through the Kubernetes API
    assert by_kind["ServiceAccount"]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == f"arn:aws:iam::{ACCOUNT}:role/spotchaos-runner"

    # applied to the simulator's API server with the real client, and read back
    from kubernetes import client, utils

    api = sim.kube()[3]
    for obj in objects:
        utils.create_from_dict(api, obj, namespace=obj["metadata"].get("namespace", "default"))
    stored = client.BatchV1Api(api).read_namespaced_cron_job("spotchaos-runner", "spotchaos")
    assert stored.spec.schedule == "30 2 * * 1-5" and stored.spec.job_template.spec.template.spec.service_account_name == "spotchaos-runner"
    assert client.CoreV1Api(api).read_namespaced_config_map("spotchaos-experiments", "spotchaos").data["nightly-spot.yaml"].startswith("name: nightly-spot")

    # the policies are valid IAM documents (the simulator's IAM parses them)
    iam = sim.aws("iam")
    policy = json.loads((out / "iam-policy.json").read_text())
    arn = iam.create_policy(PolicyName="spotchaos-runner-test", PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
    iam.create_role(RoleName="spotchaos-runner-test", AssumeRolePolicyDocument=(out / "trust-policy.json").read_text())
    iam.attach_role_policy(RoleName="spotchaos-runner-test", PolicyArn=arn)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["PassTheFisRole"]["Resource"] == [FIS_ROLE] and statements["UploadResults"]["Resource"] == "arn:aws:s3:::chaos-results/nightly/*"
    trust = json.loads((out / "trust-policy.json").read_text())["Statement"][0]["Condition"]["StringEquals"]
    assert trust["oidc.eks.us-east-1.amazonaws.com/id/ABC:sub"] == "system:serviceaccount:spotchaos:spotchaos-runner"

    # the Dockerfile: what it copies exists here, it runs as a non-root user and its entry point is the CLI
    lines = [line.split(None, 1) for line in (out / "Dockerfile").read_text().splitlines() if line and not line.startswith("#")]
    copied = [args.split()[0] for op, args in lines if op == "COPY"]
    assert copied and all((ROOT / c).exists() for c in copied)
    assert ("USER", "10001") in [(op, args) for op, args in lines] and ("ENTRYPOINT", '["spotchaos"]') in [(op, args) for op, args in lines]


@pytest.mark.parametrize(("make", "extra", "needle"), [
    (lambda t: _experiment(t, contexts=("prod",)), [], "target.allowed_contexts must name 'in-cluster'"),
    (lambda t: _experiment(t), ["--upload", "ftp://x"], "--upload"),
    (lambda t: _experiment(t), ["--schedule", "every night"], "--schedule 'every night': 2 fields"),
    (lambda t: _experiment(t), ["--schedule", "0 25 * * *"], "hour '25' is outside 0-23"),
])
def test_what_the_runner_cannot_run_is_refused_in_one_line(tmp_path, make, extra, needle):
    result = _render(tmp_path, "--experiment", str(make(tmp_path)), *extra)
    assert result.exit_code == 3 and needle in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "runner").exists()
    missing = runner.invoke(app, ["render", "--runner", "--out", str(tmp_path / "r2"), "--region", "us-east-1", "--name", "prod"])
    # every missing option in the one message: the account's and the experiment (the image defaults to the account's ECR)
    assert missing.exit_code == 3 and "--experiment:" in missing.output and "--image" not in missing.output, missing.output


def test_without_an_image_the_runner_names_the_accounts_ecr_and_the_script_builds_and_pushes_it(tmp_path):
    """No Docker engine or AWS here: `aws` and `docker` are stand-ins on PATH that record how the
    script calls them (the script's own logic, its order and arguments, runs for real in sh)."""
    result = runner.invoke(app, ["render", "--runner", "--out", str(tmp_path / "runner"), "--account", ACCOUNT, "--region", "eu-west-1",
                                 "--name", "prod", "--experiment", str(_experiment(tmp_path))])
    assert result.exit_code == 0, result.output
    image = f"{ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/spotchaos:{__version__}"
    cron = next(o for o in yaml.safe_load_all((tmp_path / "runner" / "runner.yaml").read_text()) if o["kind"] == "CronJob")
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"] == image
    script = tmp_path / "runner" / "build-and-push.sh"
    assert os.access(script, os.X_OK)
    bin_dir, calls = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    for tool, status in (("aws", 'case "$*" in *describe-repositories*) exit 1;; *get-login-password*) echo secret;; esac'), ("docker", "cat >/dev/null")):
        (bin_dir / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\n{status}\n')
        (bin_dir / tool).chmod(0o755)
    done = subprocess.run(["sh", str(script)], cwd=ROOT, env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    made = calls.read_text().splitlines()
    assert made[:2] == ["aws ecr describe-repositories --region eu-west-1 --repository-names spotchaos",
                        "aws ecr create-repository --region eu-west-1 --repository-name spotchaos --image-scanning-configuration scanOnPush=true"]
    assert sorted(made[2:4]) == ["aws ecr get-login-password --region eu-west-1",  # the two ends of one pipe: either logs first
                                 f"docker login --username AWS --password-stdin {ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com"]
    assert made[4:] == [f"docker build -f {script.parent}/Dockerfile -t {image} .", f"docker push {image}"]


def test_in_a_pod_a_run_uses_its_service_account(tmp_path, monkeypatch):
    """No API server over TLS here: the test checks the client the run would use (host and token from the pod's mounts)."""
    (tmp_path / "token").write_text("the-pods-token")
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    monkeypatch.setattr(kube_clients, "SERVICE_ACCOUNT_DIR", tmp_path)  # where the kubelet would mount them
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.100.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config
    monkeypatch.delenv("KUBECONFIG", raising=False)
    endpoints = context_endpoints(None, None, "us-east-1")
    assert (endpoints.kubeconfig, endpoints.kube_context) == ("in-cluster", "in-cluster")
    api = kube_clients.api_client(endpoints)
    assert api.configuration.host == "https://10.100.0.1:443"
    assert api.configuration.api_key == {"BearerToken": "bearer the-pods-token"}  # refreshed from the file as it rotates
    assert isinstance(endpoints, Endpoints)


def test_create_role_makes_the_runners_role_from_the_clusters_oidc_issuer(sim, tmp_path, monkeypatch):
    """AWS as the environment configures it, pointed at the simulator: its EKS gives the issuer, its IAM gets the role."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", sim.endpoints.aws_endpoint_url)
    eks, iam = sim.aws("eks"), sim.aws("iam")
    eks.create_cluster(name="runner-home", roleArn=f"arn:aws:iam::{ACCOUNT}:role/eks", resourcesVpcConfig={"subnetIds": []})
    issuer = eks.describe_cluster(name="runner-home")["cluster"]["identity"]["oidc"]["issuer"]
    try:
        for _ in range(2):  # again: updated in place, not duplicated
            result = runner.invoke(app, ["render", "--runner", "--out", str(tmp_path / "runner"), "--account", ACCOUNT, "--region", sim.endpoints.region,
                                         "--name", "runner-home", "--image", "registry.example/spotchaos:1.0", "--experiment", str(_experiment(tmp_path)),
                                         "--create-role"])
            assert result.exit_code == 0 and "IAM role spotchaos-runner created or updated" in result.output, result.output
        role = iam.get_role(RoleName="spotchaos-runner")["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        host = issuer.removeprefix("https://")
        assert trust["Statement"][0]["Condition"]["StringEquals"][f"{host}:sub"] == "system:serviceaccount:spotchaos:spotchaos-runner"
        inline = iam.get_role_policy(RoleName="spotchaos-runner", PolicyName="spotchaos-runner")["PolicyDocument"]
        inline = json.loads(inline) if isinstance(inline, str) else inline
        assert inline == json.loads((tmp_path / "runner" / "iam-policy.json").read_text())
        assert json.loads((tmp_path / "runner" / "trust-policy.json").read_text()) == trust
        missing = runner.invoke(app, ["render", "--runner", "--out", str(tmp_path / "r2"), "--account", ACCOUNT, "--region", sim.endpoints.region,
                                      "--name", "no-such-cluster", "--image", "i:1", "--experiment", str(_experiment(tmp_path)), "--create-role"])
        assert missing.exit_code == 3 and "OIDC issuer of EKS cluster no-such-cluster could not be read" in missing.output, missing.output
    finally:
        iam.delete_role_policy(RoleName="spotchaos-runner", PolicyName="spotchaos-runner")
        iam.delete_role(RoleName="spotchaos-runner")
        eks.delete_cluster(name="runner-home")
