"""Pure parts of the Spot machinery: FIS durations and selection, NTH's event parsing and
configuration, Cluster Autoscaler's flags and expanders, metadata answers."""

import json
import random

import pytest

from cluster.components.cluster_autoscaler import CaFlagError, parse_flags
from cluster.components.go_values import parse_duration as parse_go_duration
from cluster.components.nth import NthConfigError, parse_env
from cluster.sim.addons import ca_planning as plan
from cluster.sim.addons.nth_events import (
    UnsupportedEvent,
    cut,
    from_instance_action,
    from_queue_message,
)
from cluster.sim.controllers.scheduling import NodeInfo
from cluster.sim.spot.fis_templates import az_names, matches_filters, parse_iso_duration, select
from cluster.sim.spot.metadata import InstanceMetadata, answer


def test_iso_durations_and_selection_modes():
    assert parse_iso_duration("PT2M") == 120 and parse_iso_duration("PT1H30M") == 5400 and parse_iso_duration("PT90S") == 90
    for bad in ("2M", "PT", "P", "two minutes"):
        with pytest.raises(ValueError):
            parse_iso_duration(bad)
    pool = [f"i-{n}" for n in range(10)]
    assert select(pool, "ALL", random.sample) == pool
    assert len(select(pool, "COUNT(3)", random.sample)) == 3
    assert len(select(pool, "PERCENT(25)", random.sample)) == 2
    assert len(select(pool, "COUNT(30)", random.sample)) == 10
    assert az_names("use1-az2, us-east-1c", "us-east-1") == {"us-east-1b", "us-east-1c"}
    assert matches_filters({"State": {"Name": "running"}}, [{"path": "State.Name", "values": ["running"]}])
    assert not matches_filters({"State": {"Name": "stopped"}}, [{"path": "State.Name", "values": ["running"]}])


def test_metadata_answers():
    meta = InstanceMetadata("i-0abc", "m5.xlarge", "us-east-1b", "us-east-1", "123456789012", "ip-10-0-1-5.ec2.internal", "10.0.1.5", True)
    assert answer(meta, "/latest/meta-data/instance-id") == (200, "i-0abc")
    assert answer(meta, "/latest/meta-data/spot/instance-action")[0] == 404
    assert "placement/" in answer(meta, "/latest/meta-data/")[1].split("\n")
    assert answer(meta, "/latest/meta-data/placement/") == (200, "availability-zone\navailability-zone-id\nregion")
    meta.instance_action = {"action": "terminate", "time": "2026-11-24T10:02:00Z"}
    assert json.loads(answer(meta, "/latest/meta-data/spot/instance-action")[1])["time"] == "2026-11-24T10:02:00Z"
    on_demand = InstanceMetadata("i-1", "m5.xlarge", "us-east-1a", "us-east-1", "1", "h", "10.0.0.1", False)
    assert answer(on_demand, "/latest/meta-data/spot/instance-action")[0] == 404
    assert answer(on_demand, "/latest/meta-data/instance-life-cycle") == (200, "on-demand")


def test_nth_queue_messages():
    body = json.dumps({"version": "0", "id": "1e5527d7-bb36-4607-3370-4164db56a40e", "detail-type": "EC2 Spot Instance Interruption Warning",
                       "source": "aws.ec2", "account": "123456789012", "time": "2026-11-24T10:00:00Z", "region": "us-east-1",
                       "resources": ["arn:aws:ec2:us-east-1b:instance/i-0b662ef9931388ba0"],
                       "detail": {"instance-id": "i-0b662ef9931388ba0", "instance-action": "terminate"}})
    ev, iid = from_queue_message(body)
    assert iid == "i-0b662ef9931388ba0" and ev is not None
    assert ev.event_id == "spot-itn-event-" + b"1e5527d7-bb36-4607-3370-4164db56a40e".hex()
    assert len(cut(ev.event_id)) == 63
    state = json.loads(body)
    state.update({"detail-type": "EC2 Instance State-change Notification", "detail": {"instance-id": "i-1", "state": "running"}})
    assert from_queue_message(json.dumps(state))[0] is None  # not a state NTH drains on
    for bad in ("not json", "[1, 2]", json.dumps({**state, "source": "aws.health"})):
        with pytest.raises(UnsupportedEvent):
            from_queue_message(bad)
    imds = from_instance_action('{"action":"terminate","time":"2026-11-24T10:02:00Z"}', "i-1")
    assert imds.event_id.startswith("spot-itn-") and imds.taint_key == "aws-node-termination-handler/spot-itn"


def test_nth_env_and_ca_flags():
    cfg = parse_env({"TAINT_NODE": "true", "NODE_TERMINATION_GRACE_PERIOD": "90"})
    assert cfg.taint_node and cfg.node_termination_grace_period == 90 and cfg.check_tag_before_draining and not cfg.queue_mode
    for bad in ({"TAINT_NODE": "yes please"}, {"ENABLE_SQS_TERMINATION_DRAINING": "true"}, {"TAINT_EFFECT": "Sometimes"}):
        with pytest.raises(NthConfigError):
            parse_env(bad)
    ca = parse_flags(["./cluster-autoscaler", "--scan-interval=5s", "--expander=priority,least-waste", "--balance-similar-node-groups",
                      "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/demo", "--v=4"])
    assert ca.scan_interval == 5 and ca.expander == ("priority", "least-waste") and ca.balance_similar_node_groups and ca.ignored == ("v",)
    assert ca.auto_discovery[0].matches({"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/demo": "owned"})
    assert not ca.auto_discovery[0].matches({"k8s.io/cluster-autoscaler/enabled": "true"})
    assert parse_go_duration("1h30m") == 5400 and parse_go_duration("500ms") == 0.5
    for bad in (["--expander=cheapest"], ["--scan-interval=soon"], ["--cloud-provider=gce"]):
        with pytest.raises(CaFlagError):
            parse_flags(bad)


def _group(name, cpu, labels=None):
    return plan.NodeGroup(name, 0, 10, 1, NodeInfo(f"t-{name}", labels or {}, [], False, cpu, 16 * 2**30, 58))


def test_expanders_and_estimates():
    pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "1500m", "memory": "1Gi"}}}]}}
    small, big = _group("small", 3920), _group("big", 7910)
    n_small, placed, waste_small = plan.estimate([pod] * 4, small.template, 10)
    n_big, _, waste_big = plan.estimate([pod] * 4, big.template, 10)
    assert (n_small, len(placed), n_big) == (2, 4, 1)
    options = [plan.Option(small, n_small, [pod] * 4, waste_small), plan.Option(big, n_big, [pod] * 4, waste_big)]
    rng = random.Random(1)
    assert plan.expand(options, ("least-waste",), {}, rng).group.name == ("small" if waste_small < waste_big else "big")
    assert plan.expand(options, ("priority",), {10: ["sm.*"], 5: [".*"]}, rng).group.name == "small"
    assert plan.balance([_group("a", 1), _group("b", 1)], 3) in ({"a": 2, "b": 1}, {"a": 1, "b": 2})
    assert plan.backoff_duration(1, 300, 1800) == 300 and plan.backoff_duration(3, 300, 1800) == 1200 and plan.backoff_duration(9, 300, 1800) == 1800
