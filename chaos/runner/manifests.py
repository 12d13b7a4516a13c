"""The in-cluster runner, as `spotchaos render --runner` writes it: a container build file for the
harness's image, and the Kubernetes objects that run the experiments on a schedule — a
Namespace, a ServiceAccount for IRSA, read-only RBAC for what a run watches, a ConfigMap of the
experiments and a CronJob (one run at a time, history kept, a deadline).  Pure."""

from __future__ import annotations

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
# Build from the project's root: docker build -f runner/Dockerfile -t REGISTRY/spotchaos:TAG .
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

