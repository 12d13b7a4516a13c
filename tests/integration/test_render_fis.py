"""`spotchaos render --fis`: every shipped experiment's FIS injections as take-home templates.  The
CLI input JSON passes botocore's parameter validation of CreateExperimentTemplate and the
simulator's FIS (real boto3 over HTTP) creates it; the CloudFormation and the Terraform forms say
the same template (the Terraform parsed back with python-hcl2: there is no terraform binary
here); and templates started on the simulator take by their tags what they say (a Spot
interruption; an AZ's power interruption: the tagged on-demand instances there stopped, its Spot
instances lost, the rest left alone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import hcl2
import pytest
import yaml
from botocore.validate import validate_parameters
from typer.testing import CliRunner

from chaos.cli import app
from cluster.nodegroups import EKS_AMI, ensure_network
from cluster.waiting import wait_for
from tests.conftest import start_sim
from tests.integration.helpers import AZS, CLUSTER, node_group

ROOT = Path(__file__).resolve().parents[2]
ROLE = "arn:aws:iam::123456789012:role/spotchaos-fis"
ALARM = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:serving-5xx"
runner = CliRunner()


def _fis_experiments() -> list[Path]:
    return sorted(p for p in (ROOT / "experiments").glob("*.yaml") if "via: fis" in p.read_text())


def _render(path: Path, out: Path, *extra: str) -> Any:
    return runner.invoke(app, ["render", "--fis", str(path), "--out", str(out), "--role-arn", ROLE, "--name", CLUSTER, *extra])


def _camel(key: str) -> str:
    return key[0].lower() + key[1:]


def _from_cfn(props: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """An AWS::FIS::ExperimentTemplate's properties in the API's shape, Refs and Ifs resolved with the parameters' values."""

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return parameters[value["Ref"]]
        if isinstance(value, dict) and set(value) == {"Fn::If"}:
            _, then, otherwise = value["Fn::If"]
            return resolve(then if parameters.get("StopConditionAlarm") else otherwise)
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return value

    def target(t: dict[str, Any]) -> dict[str, Any]:
        out = {_camel(k): v for k, v in t.items() if k != "Filters"}
        if "Filters" in t:
            out["filters"] = [{"path": f["Path"], "values": f["Values"]} for f in t["Filters"]]
        return out

    options = {"experimentOptions": {_camel(k): v for k, v in props["ExperimentOptions"].items()}} if "ExperimentOptions" in props else {}
    return {"description": props["Description"], "roleArn": resolve(props["RoleArn"]), "tags": props["Tags"],
            "stopConditions": [{_camel(k): v for k, v in c.items()} for c in resolve(props["StopConditions"])],
            "targets": {name: target(t) for name, t in props["Targets"].items()},
            "actions": {name: {_camel(k): v for k, v in a.items()} for name, a in props["Actions"].items()}, **options}


def _unquote(value: Any) -> Any:
    if isinstance(value, str) and value.startswith('"'):
        return json.loads(value)
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    return value


def _from_terraform(text: str, alarms: list[str]) -> dict[str, Any]:
    """The aws_fis_experiment_template resource parsed back into the API's shape (variables at their defaults)."""
    doc = hcl2.loads(text)
    (resource,) = [body for r in doc["resource"] for kind, named in r.items() if _unquote(kind) == "aws_fis_experiment_template" for body in named.values()]
    variables = {_unquote(k): v for var in doc["variable"] for k, v in var.items()}
    role = next(_unquote(v["default"]) for k, v in variables.items() if k.endswith("_fis_role_arn"))
    assert next(_unquote(v["default"]) for k, v in variables.items() if k.endswith("_stop_condition_alarm_arns")) == alarms

    def pairs(blocks: list[dict[str, Any]]) -> dict[str, str]:
        return {_unquote(b["key"]): _unquote(b["value"]) for b in blocks}

    actions = {_unquote(a["name"]): {"actionId": _unquote(a["action_id"]), "targets": pairs(a.get("target", [])),
                                     **({"parameters": pairs(a["parameter"])} if a.get("parameter") else {})} for a in resource["action"]}
    targets = {}
    for t in resource["target"]:
        target: dict[str, Any] = {"resourceType": _unquote(t["resource_type"])}
        if t.get("resource_tag"):
            target["resourceTags"] = pairs(t["resource_tag"])
        if t.get("filter"):
            target["filters"] = [{"path": _unquote(f["path"]), "values": _unquote(f["values"])} for f in t["filter"]]
        target["selectionMode"] = _unquote(t["selection_mode"])
        targets[_unquote(t["name"])] = target
    options = {"experimentOptions": {"".join(w.capitalize() if i else w for i, w in enumerate(k.split("_"))): _unquote(v)
                                     for block in resource["experiment_options"] for k, v in block.items() if not k.startswith("__")}} if resource.get("experiment_options") else {}
    return {"description": _unquote(resource["description"]), "targets": targets, "actions": actions,
            "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": a} for a in alarms] or [{"source": "none"}],
            "roleArn": role, "tags": {_unquote(k): _unquote(v) for k, v in resource["tags"].items()}, **options}


def _sorted_keys(template: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(template, sort_keys=True))


@pytest.fixture(scope="module")
def fis_sim(tmp_path_factory: pytest.TempPathFactory):
    handle = start_sim(tmp_path_factory.mktemp("fis-sim"))
    yield handle
    handle.stop()


def test_every_fis_injection_renders_validates_and_is_created_by_the_simulators_fis(fis_sim, tmp_path: Path) -> None:
    shape = boto3.session.Session().client("fis", region_name="us-east-1").meta.service_model.operation_model("CreateExperimentTemplate").input_shape
    fis = fis_sim.aws("fis")
    rendered = 0
    for path in _fis_experiments():
        out = tmp_path / path.stem
        result = _render(path, out, "--alarm", ALARM, "--az", "us-east-1a,us-east-1b")
        assert result.exit_code == 0 and "not rendered" not in result.output, (path.name, result.output)
        for cli_json in sorted(out.glob("*.json")):
            template = json.loads(cli_json.read_text())
            validate_parameters({**template, "clientToken": "take-home"}, shape)  # botocore's own check, as the CLI makes it
            assert all("resourceArns" not in t and t["resourceTags"] for t in template["targets"].values())  # by tags, not one run's ids
            assert template["stopConditions"] == [{"source": "aws:cloudwatch:alarm", "value": ALARM}] and template["roleArn"] == ROLE
            created = fis.create_experiment_template(**template)["experimentTemplate"]
            assert fis.get_experiment_template(id=created["id"])["experimentTemplate"]["targets"].keys() == template["targets"].keys()
            stem = cli_json.name.removesuffix(".json")
            cfn = yaml.safe_load((out / f"{stem}.cfn.yaml").read_text())
            parameters = {k: v.get("Default") for k, v in cfn["Parameters"].items()}
            resource = cfn["Resources"]["ExperimentTemplate"]
            assert resource["Type"] == "AWS::FIS::ExperimentTemplate"
            assert _sorted_keys(_from_cfn(resource["Properties"], parameters)) == _sorted_keys(template), stem
            assert _sorted_keys(_from_terraform((out / f"{stem}.tf").read_text(), [ALARM])) == _sorted_keys(template), stem
            rendered += 1
    assert rendered >= 20  # spot interruptions, instance losses and stops, capacity errors, AZ power interruptions


def test_what_has_no_take_home_template_is_named_and_bad_options_are_one_line(tmp_path: Path) -> None:
    ice = _render(ROOT / "experiments" / "pool-loss-ice.yaml", tmp_path / "p")  # its capacity error takes the group's zones at run time
    assert ice.exit_code == 0 and "not rendered: no-capacity-4vcpu" in ice.output and "give the zones with --az" in ice.output, ice.output
    assert [p.name for p in (tmp_path / "p").glob("*.json")] == ["pool-loss-ice-two-4vcpu-nodes.json"]  # the rest of it is written
    bad_zone = _render(ROOT / "experiments" / "pool-loss-ice.yaml", tmp_path / "z", "--az", "us-east-1a,nowhere")
    assert bad_zone.exit_code == 3 and "--az: 'nowhere' is not an availability zone name" in bad_zone.output, bad_zone.output
    metadata = _render(ROOT / "experiments" / "imds-metadata-mock.yaml", tmp_path / "m")
    assert metadata.exit_code == 3 and "via metadata sends no FIS experiment" in metadata.output, metadata.output
    no_role = runner.invoke(app, ["render", "--fis", str(ROOT / "experiments" / "single-spot-node-fis.yaml"), "--out", str(tmp_path / "n")])
    assert no_role.exit_code == 3 and "--role-arn" in no_role.output and "Traceback" not in no_role.output
    bad_alarm = _render(ROOT / "experiments" / "single-spot-node-fis.yaml", tmp_path / "a", "--alarm", "serving-5xx")
    assert bad_alarm.exit_code == 3 and "--alarm" in bad_alarm.output
    assert not any(p for p in tmp_path.glob("*/*") if p.parent.name != "p")


def test_a_template_started_on_the_simulator_interrupts_by_its_tags_what_it_says(fis_sim, tmp_path: Path) -> None:
    group = node_group(fis_sim, "take-home", ("m5.large",), 3)
    autoscaling, ec2, fis = fis_sim.aws("autoscaling"), fis_sim.aws("ec2"), fis_sim.aws("fis")
    wait_for(lambda: len([i for i in autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"][0]["Instances"]
                          if i["LifecycleState"] == "InService"]) == 3, 60, "three instances in service")
    assert _render(ROOT / "experiments" / "single-spot-node-fis.yaml", tmp_path).exit_code == 0
    (cli_json,) = tmp_path.glob("*.json")
    rendered = json.loads(cli_json.read_text())
    assert rendered["stopConditions"] == [{"source": "none"}]  # no alarm: FIS's none, and an optional parameter in the other forms
    cfn = yaml.safe_load(cli_json.with_name(cli_json.name.replace(".json", ".cfn.yaml")).read_text())
    properties = _from_cfn(cfn["Resources"]["ExperimentTemplate"]["Properties"], {k: v.get("Default") for k, v in cfn["Parameters"].items()})
    assert _sorted_keys(properties) == _sorted_keys(rendered)
    assert _sorted_keys(_from_terraform(cli_json.with_name(cli_json.name.replace(".json", ".tf")).read_text(), [])) == _sorted_keys(rendered)
    template = fis.create_experiment_template(**rendered)["experimentTemplate"]
    experiment = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]

    def done() -> dict[str, Any] | None:
        state = fis.get_experiment(id=experiment["id"])["experiment"]
        return state if state["state"]["status"] in ("completed", "failed", "stopped") else None

    finished = wait_for(done, 120, "the experiment to end")
    assert finished["state"]["status"] == "completed", finished["state"]
    ours = [i["InstanceId"] for r in ec2.describe_instances(Filters=[{"Name": "tag:aws:autoscaling:groupName", "Values": [group]}])["Reservations"]
            for i in r["Instances"]]
    reclaimed = wait_for(lambda: [i for r in ec2.describe_instances(InstanceIds=ours)["Reservations"] for i in r["Instances"]
                                  if i["State"]["Name"] in ("shutting-down", "terminated")], 60, "the interrupted instance's reclaim")
    assert len(reclaimed) == 1  # COUNT(1) of the cluster's running Spot instances


def test_an_az_power_interruption_template_takes_by_its_tags_what_it_says(fis_sim, tmp_path: Path) -> None:
    autoscaling, ec2, fis = fis_sim.aws("autoscaling"), fis_sim.aws("ec2"), fis_sim.aws("fis")
    groups = {"power-od-tagged": node_group(fis_sim, "power-od-tagged", ("m5.large",), 3, spot=False),
              "power-od-plain": node_group(fis_sim, "power-od-plain", ("m5.large",), 3, spot=False),
              "power-spot": node_group(fis_sim, "power-spot", ("m5.large",), 3)}

    def instances(group: str) -> dict[str, dict[str, Any]]:
        found = ec2.describe_instances(Filters=[{"Name": "tag:aws:autoscaling:groupName", "Values": [groups[group]]}])["Reservations"]
        return {i["InstanceId"]: i for r in found for i in r["Instances"]}

    for group in groups:
        wait_for(lambda g=group: len([i for i in instances(g).values() if i["State"]["Name"] == "running"]) == 3, 60, f"{group} running")
    ec2.create_tags(Resources=list(instances("power-od-tagged")), Tags=[{"Key": "AzImpairmentPower", "Value": "StopInstances"}])  # as the scenario asks
    # and one tagged on-demand instance of the cluster in no group: nothing replaces it, so it shows a stop, not a termination
    subnet = ensure_network(ec2, CLUSTER, AZS)[AZS.index("us-east-1a")]
    (lone,) = ec2.run_instances(ImageId=EKS_AMI, InstanceType="m5.large", MinCount=1, MaxCount=1, SubnetId=subnet, TagSpecifications=[
        {"ResourceType": "instance", "Tags": [{"Key": f"kubernetes.io/cluster/{CLUSTER}", "Value": "owned"}, {"Key": "AzImpairmentPower", "Value": "StopInstances"}]}])["Instances"]
    before = {g: instances(g) for g in groups}
    in_az = {g: {i for i, d in before[g].items() if d["Placement"]["AvailabilityZone"] == "us-east-1a"} for g in groups}
    assert all(in_az.values()), in_az  # each group has an instance in the AZ that goes dark (spread over three)
    assert _render(ROOT / "experiments" / "az-power-interruption.yaml", tmp_path).exit_code == 0
    (cli_json,) = tmp_path.glob("*.json")
    template = fis.create_experiment_template(**json.loads(cli_json.read_text()))["experimentTemplate"]
    experiment = fis.start_experiment(experimentTemplateId=template["id"])["experiment"]

    def state(group: str) -> dict[str, str]:
        return {i: d["State"]["Name"] for i, d in instances(group).items() if i in before[group]}

    # a stopped instance of a group fails its group's health check, and the group replaces (terminates) it: FIS's completeIfInstancesTerminated
    wait_for(lambda: all(state("power-od-tagged")[i] in ("stopping", "stopped", "shutting-down", "terminated") for i in in_az["power-od-tagged"])
             and all(state("power-spot")[i] in ("shutting-down", "terminated") for i in in_az["power-spot"]), 60,
             "the tagged on-demand instances in us-east-1a stopped and the Spot ones there lost", describe=lambda: {g: state(g) for g in groups})
    wait_for(lambda: ec2.describe_instances(InstanceIds=[lone["InstanceId"]])["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopped", 30,
             "the tagged on-demand instance in no group stopped (not terminated)")
    assert all(state("power-od-plain")[i] == "running" for i in in_az["power-od-plain"])  # not tagged to stop: left alone
    outside = [(g, i) for g in groups for i in before[g] if i not in in_az[g]]
    assert all(state(g)[i] == "running" for g, i in outside)  # the other AZs keep their power
    running = fis.get_experiment(id=experiment["id"])["experiment"]
    assert running["state"]["status"] == "running" and {a: running["actions"][a]["state"]["status"] for a in running["actions"]}["Pause-ASG-Scaling"] == "running"
    fis.stop_experiment(id=experiment["id"])
    wait_for(lambda: fis.get_experiment(id=experiment["id"])["experiment"]["state"]["status"] == "stopped", 30, "the experiment to stop")
    assert autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[groups["power-spot"]])["AutoScalingGroups"]  # its groups still there
