"""The in-cluster runner, as `spotchaos render --runner` writes it: a container build file for the
harness's image with the commands that build and push it, and the Kubernetes objects that run the experiments on a schedule — a
Namespace, a ServiceAccount for IRSA, read-only RBAC for what a run watches, a ConfigMap of the
experiments and a CronJob (one run at a time, history kept, a deadline).  Pure."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
NAME = "spotchaos-runner"
HISTORY_SECRET = "spotchaos-history"  # optional: key `url`, an SQLAlchemy URL (PostgreSQL for a team)
NOTIFY_SECRET = "spotchaos-notify"  # optional: key `url`, the webhook (its path is its secret)

# What a run reads through the Kubernetes API (chaos/kube/watches.py, chaos/kube/workloads.py, chaos/provisioning.py's
# lookups): it creates, changes and deletes nothing there.
READS = [
    {"apiGroups": [""], "resources": ["nodes", "pods", "events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "daemonsets"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses"], "verbs": ["get", "list"]},
]

# Each experiment in turn (never two on one cluster at once); the job fails when any run did not
# pass, so the CronJob's history shows it.
SCRIPT = """set -u
rc=0
for f in /experiments/*.yaml; do
  name=$(basename "$f" .yaml)
  spotchaos run "$f" --target eks --no-live --log-format json --report-dir "/results/$name-$(date -u +%Y%m%dT%H%M%SZ)" \\
    ${UPLOAD:+--upload "$UPLOAD"} ${NOTIFY_URL:+--notify "$NOTIFY_URL"} || rc=$?
done
exit $rc
"""

DOCKERFILE = """# The spotchaos harness, as the in-cluster runner runs it (`spotchaos render --runner`).
# build-and-push.sh beside it builds it from the root of the spotchaos source and pushes it.
FROM python:3.12-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY chaos ./chaos
COPY cluster ./cluster
RUN pip install --no-cache-dir . && rm -rf /src
RUN useradd --uid 10001 --create-home spotchaos
USER 10001
WORKDIR /home/spotchaos
ENTRYPOINT ["spotchaos"]
CMD ["--help"]
"""


ECR_IMAGE = re.compile(r"^(?P<registry>\d{12}\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com)/(?P<repository>[a-z0-9._/-]+)(?::[\w.-]+)?$")


def ecr_image(account: str, region: str, version: str) -> str:
    """The runner's image when none is named: spotchaos in the account's own ECR, at this version."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/spotchaos:{version}"


def build_and_push(image: str) -> str:
    """build-and-push.sh: builds the harness image from the Dockerfile beside it and pushes it as
    `image`; an ECR image's repository is created when missing and docker logged in to it first."""
    q = shlex.quote
    lines = ["#!/bin/sh",
             "# Builds the spotchaos harness image and pushes it: the image the runner's CronJob (runner.yaml) runs,",
             "# and the one to name as traffic.shard_image for load on the cluster. Run it from the root of the",
             "# spotchaos source: the Dockerfile beside this script copies pyproject.toml, chaos/ and cluster/ from there.",
             "set -eu",
             f"IMAGE={q(image)}"]
    ecr = ECR_IMAGE.match(image)
    if ecr:
        region, repository, registry = q(ecr["region"]), q(ecr["repository"]), q(ecr["registry"])
        lines += [f"aws ecr describe-repositories --region {region} --repository-names {repository} >/dev/null 2>&1 ||",
                  f"  aws ecr create-repository --region {region} --repository-name {repository} --image-scanning-configuration scanOnPush=true >/dev/null",
                  f"aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {registry}"]
    else:
        lines += ["# not an ECR image: log docker in to its registry first (docker login REGISTRY)"]
    lines += ['docker build -f "$(dirname "$0")/Dockerfile" -t "$IMAGE" .', 'docker push "$IMAGE"', 'echo "pushed $IMAGE"']
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunnerSpec:
    image: str
    account: str
    region: str
    experiments: dict[str, str] = field(default_factory=dict)  # file name -> its YAML
    schedule: str = "0 3 * * *"
    namespace: str = "spotchaos"
    role_name: str = NAME
    upload: str | None = None  # s3://BUCKET/PREFIX
    deadline_s: int = 7200

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account}:role/{self.role_name}"


def _meta(name: str, namespace: str | None = None) -> Obj:
    meta: Obj = {"name": name, "labels": {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "spotchaos"}}
    if namespace:
        meta["namespace"] = namespace
    return meta


def _optional_secret(name: str, env: str) -> Obj:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": "url", "optional": True}}}


def runner_objects(spec: RunnerSpec) -> list[Obj]:
    ns = spec.namespace
    env = [
        {"name": "AWS_REGION", "value": spec.region},
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
        {"name": "HOME", "value": "/tmp"},  # the run registry and matplotlib's cache; the root file system is read-only
        {"name": "MPLCONFIGDIR", "value": "/tmp/matplotlib"},
        {"name": "XDG_DATA_HOME", "value": "/results"},  # the default SQLite history, when no history secret
        _optional_secret(HISTORY_SECRET, "SPOTCHAOS_HISTORY"),
        _optional_secret(NOTIFY_SECRET, "NOTIFY_URL"),
        *([{"name": "UPLOAD", "value": spec.upload}] if spec.upload else []),
    ]
    container = {
        "name": "spotchaos", "image": spec.image, "command": ["/bin/sh", "-c", SCRIPT], "env": env,
        "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "experiments", "mountPath": "/experiments", "readOnly": True},
                         {"name": "results", "mountPath": "/results"}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod = {
        "serviceAccountName": NAME, "restartPolicy": "Never", "containers": [container],
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}},
        "volumes": [{"name": "experiments", "configMap": {"name": "spotchaos-experiments"}},
                    {"name": "results", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
    }
    cron = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(NAME, ns),
        "spec": {
            "schedule": spec.schedule, "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 5,
            "jobTemplate": {"spec": {
                "backoffLimit": 0,  # a chaos run is not retried by Kubernetes: a failure is a finding
                "activeDeadlineSeconds": spec.deadline_s,
                "template": {"metadata": {"labels": _meta(NAME)["labels"]}, "spec": pod}}},
        },
    }
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(ns)},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {**_meta(NAME, ns), "annotations": {"eks.amazonaws.com/role-arn": spec.role_arn}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": _meta(NAME), "rules": READS},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": _meta(NAME),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
         "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta("spotchaos-experiments", ns), "data": dict(sorted(spec.experiments.items()))},
        cron,
    ]

