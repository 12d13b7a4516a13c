"""Checks of aws-node-termination-handler, judged by the reading NTH itself makes of its env
vars (cluster.components.nth): `CORDON_ONLY=1` is cordon-only, `ENABLE_SPOT_INTERRUPTION_DRAINING=0`
turns draining off, a custom MANAGED_TAG is the tag queue mode looks for."""

from __future__ import annotations

from cluster.components.nth import NthConfigError, container_env, is_nth, parse_env
from cluster.doctor.findings import Finding, Inventory, Level, name_of
from cluster.doctor.karpenter import karpenter_handles_interruptions
from cluster.doctor.managed_node_groups import spot_groups_all_managed


def check(inv: Inventory) -> list[Finding]:
    found = [(w, c) for w, c in inv.containers("DaemonSet", "Deployment") if is_nth(c)]
    if not found and (karpenter_handles_interruptions(inv) or spot_groups_all_managed(inv)):
        return []  # Karpenter (its queue) or the managed node groups handle the notice themselves
    if not found:
        return [Finding("nth-missing", Level.ERROR, "cluster", "no aws-node-termination-handler is deployed",
                        "nothing cordons or drains a node on the two-minute notice: its pods die with the instance and requests in flight fail",
                        "deploy NTH (IMDS-mode DaemonSet, or queue-processor Deployment fed by EventBridge)")]
    out: list[Finding] = []
    for w, c in found:
        try:
            cfg = parse_env(container_env(c))
        except NthConfigError as exc:
            out.append(Finding("nth-config-invalid", Level.ERROR, name_of(w), str(exc),
                               "NTH stops at start-up on this value: the pod crash-loops and no notice is handled", "fix the value"))
            continue
        if not cfg.enable_spot_interruption_draining and not cfg.queue_mode:
            out.append(Finding("nth-no-draining", Level.ERROR, name_of(w), "ENABLE_SPOT_INTERRUPTION_DRAINING is off",
                               "NTH sees the Spot notice and does nothing with it", "remove the variable or set it to true"))
        if cfg.cordon_only:
            out.append(Finding("nth-cordon-only", Level.ERROR, name_of(w), "CORDON_ONLY is on",
                               "the node is cordoned but its pods keep running until the instance dies, so they are killed without a graceful stop",
                               "remove CORDON_ONLY so that NTH drains the node"))
        if not cfg.exclude_from_load_balancers:
            out.append(Finding("nth-keeps-lb-traffic", Level.WARNING, name_of(w), "EXCLUDE_FROM_LOAD_BALANCERS is not on",
                               "cordoning does not take a node out of an ALB in instance mode: it keeps getting traffic until it dies "
                               "(aws-node-termination-handler#316)",
                               "set EXCLUDE_FROM_LOAD_BALANCERS=true (and TAINT_NODE=true), or use ip targets"))
        if cfg.queue_mode and cfg.check_tag_before_draining and inv.node_groups is not None:
            untagged = [g.name for g in inv.node_groups if cfg.managed_tag not in g.tags]
            if untagged:
                out.append(Finding("nth-queue-untagged", Level.ERROR, name_of(w), f"node groups without the {cfg.managed_tag} tag: {', '.join(untagged)}",
                                   "queue-mode NTH checks that tag before draining and silently ignores the others' events",
                                   f"tag those Auto Scaling groups with {cfg.managed_tag}, or set CHECK_TAG_BEFORE_DRAINING=false"))
    return out
