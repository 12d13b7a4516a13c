"""The Python API in a pytest suite: run experiments from code, change them per test, and assert
on the measured numbers.  Run with `pytest experiments/` (each YAML file next to this one is
collected as a test too); `--spot-speed 20` or `--spot-target eks` change where they run."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent


async def test_one_spot_node_is_drained_with_a_minute_to_spare(spot_experiment):
    outcome = await spot_experiment(HERE / "single-spot-node-fis.yaml")
    assert outcome.verdict.status == "passed", outcome.verdict.reason
    (node,) = outcome.report.nodes
    # NTH drained the node at least a minute before EC2 took it back
    assert node.reclaimed - node.drained >= 60
    # and the ALB had stopped sending to it by then
    assert node.targets_gone is not None and node.targets_gone < node.reclaimed


async def test_cordon_only_nth_leaves_pods_to_die_with_the_node(spot_experiment):
    outcome = await spot_experiment(HERE / "bad-nth-cordon-only.yaml", traffic={"rate": 200})
    assert outcome.hypotheses["drained-before-reclaim"].status == "fail"
    assert outcome.hypotheses["cordoned-within"].status == "pass"
