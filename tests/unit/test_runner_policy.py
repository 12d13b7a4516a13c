"""The in-cluster runner's IAM policy covers every AWS call the harness makes in a run.  The
harness's code is read for the calls (any attribute call, paginator or string naming an
operation of the AWS services it uses, as botocore's models name them); each must be in the
policy or in the documented list of calls a run never makes.  A new AWS call fails this test
until it is placed in one of them, with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

import botocore.session
from botocore import xform_name

from chaos.aws.upload_destination import parse_s3_url
from chaos.runner.policy import (
    IAM_PREFIX,
    NOT_AWS,
    NOT_IN_A_RUN,
    RUN_ACTIONS,
    UPLOAD,
    allowed_actions,
    runner_policy,
)

ROOT = Path(__file__).resolve().parents[2]


def _operations() -> dict[str, list[str]]:
    """snake_case operation name -> the IAM actions it may be (one per service that has it)."""
    session = botocore.session.get_session()
    ops: dict[str, list[str]] = {}
    for service, prefix in IAM_PREFIX.items():
        for op in session.get_service_model(service).operation_names:
            ops.setdefault(xform_name(op), []).append(f"{prefix}:{op}")
    return ops


def harness_calls() -> dict[tuple[str, str], list[str]]:
    """(file, name) -> candidate actions, for every name in the harness's code that is an AWS operation."""
    ops = _operations()
    found: dict[tuple[str, str], list[str]] = {}
    for path in sorted((ROOT / "chaos").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel == "chaos/runner/policy.py":  # the policy names operations; it calls none
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                names.append(node.func.attr)
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.append(node.value)  # get_paginator("..."), getattr(client, "...")
            for name in names:
                if name in ops:
                    found[(rel, name)] = ops[name]
    return found


def test_every_aws_call_of_the_harness_is_in_the_policy_or_said_to_be_outside_a_run():
    policy = allowed_actions(runner_policy("123456789012", "us-east-1", "prod", "arn:aws:iam::123456789012:role/fis", parse_s3_url("s3://bkt/p")))
    known = policy | set(NOT_IN_A_RUN)
    calls = harness_calls()
    assert len(calls) > 20  # the reading works: the harness's calls are found
    missing = {f"{f}: {name} ({' or '.join(actions)})" for (f, name), actions in calls.items()
               if (f, name) not in NOT_AWS and not set(actions) & known}
    assert not missing, "AWS calls in neither the runner policy nor NOT_IN_A_RUN: " + "; ".join(sorted(missing))


def test_the_policy_grants_no_more_than_the_run_uses():
    policy = runner_policy("123456789012", "us-east-1", "prod", "arn:aws:iam::123456789012:role/fis", parse_s3_url("s3://bkt/p"))
    used = {a for actions in harness_calls().values() for a in actions}
    granted = allowed_actions(policy) - {"iam:PassRole", "fis:TagResource"}  # required by FIS for what we call, not calls of ours
    assert granted <= used, f"granted but never called: {sorted(granted - used)}"
    assert set(RUN_ACTIONS) - {"fis:TagResource"} <= used
    assert not set(NOT_IN_A_RUN) & allowed_actions(policy)
    # the dangerous ones are scoped
    by_action = {a: s for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert by_action["iam:PassRole"]["Resource"] == "arn:aws:iam::123456789012:role/fis"
    assert by_action["ec2:TerminateInstances"]["Condition"] == {"StringEquals": {"aws:ResourceTag/kubernetes.io/cluster/prod": "owned"}}
    assert by_action[UPLOAD]["Resource"] == "arn:aws:s3:::bkt/p/*"
    assert UPLOAD not in allowed_actions(runner_policy("123456789012", "us-east-1", "prod", "arn:aws:iam::123456789012:role/fis"))
