"""The load's Job as `spotchaos render --load` writes it for EKS: valid against Kubernetes 1.31's
schema (strict), Indexed with a shard per index and no retry of a lost shard, on on-demand nodes
by default, each shard's command the one `spotchaos load-shard` takes; and a local-placement
experiment or a missing URL is one clear line."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from chaos.cli import app
from cluster.manifests.render import validate

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/spotchaos:0.1.0"


def _sharded(tmp_path: Path, **traffic: object) -> Path:
    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["traffic"] |= {"placement": "cluster", "shards": 3, "shard_image": IMAGE, **traffic}
    path = tmp_path / "e.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_render_load_writes_a_valid_indexed_job(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", "--load", str(_sharded(tmp_path)), "--url", "http://alb.example/v1/models/resnet:predict",
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    job = yaml.safe_load((tmp_path / "out" / "load-job.yaml").read_text())
    validate([job], "1.31")
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"], spec["backoffLimitPerIndex"]) == ("Indexed", 3, 3, 0)
    pod = spec["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "lifecycle", "operator": "In", "values": ["OnDemand"]} in [t["matchExpressions"][0] for t in terms]
    (container,) = pod["containers"]
    args = container["command"] + container["args"]
    assert args[:3] == ["spotchaos", "load-shard", "http://alb.example/v1/models/resnet:predict"]
    assert container["image"] == IMAGE
    assert args[args.index("--shards") + 1] == "3" and args[args.index("--rps") + 1] == "400" and "--start-at" not in args
    assert job["metadata"]["namespace"] == "serving"  # the hardened profile's serving namespace


def test_render_load_refuses_local_placement_and_a_missing_url(tmp_path: Path) -> None:
    local = runner.invoke(app, ["render", "--load", str(ROOT / "experiments" / "single-spot-node-fis.yaml"), "--out", str(tmp_path)])
    assert local.exit_code == 3 and "traffic.placement is local" in local.output
    no_url = runner.invoke(app, ["render", "--load", str(_sharded(tmp_path)), "--out", str(tmp_path)])
    assert no_url.exit_code == 3 and "--url" in no_url.output
    pinned = runner.invoke(app, ["render", "--load", str(_sharded(tmp_path, shard_nodes={"pool": "load"})), "--url", "http://a.example/p",
                                 "--out", str(tmp_path / "o")])
    assert pinned.exit_code == 0
    assert yaml.safe_load((tmp_path / "o" / "load-job.yaml").read_text())["spec"]["template"]["spec"]["nodeSelector"] == {"pool": "load"}


def test_no_image_is_made_up_for_a_cluster_that_would_pull_it(tmp_path: Path) -> None:
    """On EKS the shards run the user's build of the harness image: without one, `render --load`
    and an eks experiment say which field to set and how to build it, instead of naming an image
    no registry serves (the pods would sit in ImagePullBackOff)."""
    unnamed = runner.invoke(app, ["render", "--load", str(_sharded(tmp_path, shard_image=None)), "--url", "http://a.example/p", "--out", str(tmp_path)])
    assert unnamed.exit_code == 3 and "traffic.shard_image" in unnamed.output and "render --runner" in unnamed.output
    data = yaml.safe_load(_sharded(tmp_path, shard_image=None).read_text())
    data["target"] = {"kind": "eks", "allowed_accounts": ["123456789012"], "allowed_contexts": ["prod"], "fis_role_arn": "arn:aws:iam::123456789012:role/fis"}
    on_eks = tmp_path / "eks.yaml"
    on_eks.write_text(yaml.safe_dump(data))
    for command in (["validate", str(on_eks)], ["plan", str(on_eks)]):
        refused = runner.invoke(app, command)
        assert refused.exit_code == 3 and "traffic.shard_image" in refused.output and "Traceback" not in refused.output, (command, refused.output)
    data["traffic"]["shard_image"] = IMAGE
    on_eks.write_text(yaml.safe_dump(data))
    assert runner.invoke(app, ["validate", str(on_eks)]).exit_code == 0


def test_on_the_simulator_the_shards_run_this_installation() -> None:
    from chaos.spec import parse_experiment
    from cluster.components.harness import is_harness

    data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
    data["traffic"] |= {"placement": "cluster", "shards": 2}
    image = parse_experiment(data, "e").traffic.image
    assert is_harness({"image": image}) and "/" not in image  # a local name the simulator runs, never pulled


def test_placement_mistakes_are_one_line_naming_the_field(tmp_path: Path) -> None:
    for traffic, said in (({"placement": "local", "shards": 4}, "shards: only with placement: cluster"),
                          ({"workers": 2}, "workers: only with placement: local"),
                          ({"body": "@/etc/hostname"}, "the shards' pods do not have")):
        data = yaml.safe_load((ROOT / "experiments" / "single-spot-node-fis.yaml").read_text())
        data["traffic"] |= {"placement": "cluster", "shards": 2} | traffic
        path = tmp_path / "bad.yaml"
        path.write_text(yaml.safe_dump(data))
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 3 and said in result.output and "Traceback" not in result.output, result.output
