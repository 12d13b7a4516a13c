"""A take-home FIS experiment template (fis_takehome.py) in the three forms teams keep them in:
the AWS CLI's `aws fis create-experiment-template --cli-input-json file://...` input, a
CloudFormation `AWS::FIS::ExperimentTemplate` and a Terraform `aws_fis_experiment_template`.
The IAM role and the stop conditions' CloudWatch alarms are parameters in the last two (the
template's own values as defaults).  Pure.

Sources: the FIS API's CreateExperimentTemplate (botocore's model); the CloudFormation resource
AWS::FIS::ExperimentTemplate (Targets, Actions, StopConditions, RoleArn, Description, Tags,
ExperimentOptions; its targets' ResourceTags, Filters Path/Values, SelectionMode); the Terraform
AWS provider's aws_fis_experiment_template (action/target/stop_condition/experiment_options
blocks, parameter and resource_tag key-value blocks, filter path/values)."""

from __future__ import annotations

import json
import re
from typing import Any

Template = dict[str, Any]


def cli_input_json(template: Template) -> str:
    return json.dumps(template, indent=2) + "\n"


def _pascal(key: str) -> str:
    return key[0].upper() + key[1:]


def _cfn_target(target: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in target.items():
        if key == "filters":
            value = [{"Path": f["path"], "Values": list(f["values"])} for f in value]
        out[_pascal(key)] = value
    return out


def _cfn_action(action: dict[str, Any]) -> dict[str, Any]:
    return {_pascal(key): value for key, value in action.items()}


def cloudformation(name: str, template: Template) -> dict[str, Any]:
    """A CloudFormation template of one AWS::FIS::ExperimentTemplate; parameters FisRoleArn and
    one StopConditionAlarmN per alarm (none: an optional StopConditionAlarm, FIS's `none` when empty)."""
    alarms = [c["value"] for c in template["stopConditions"] if c["source"] == "aws:cloudwatch:alarm"]
    parameters: dict[str, Any] = {"FisRoleArn": {"Type": "String", "Default": template["roleArn"],
                                                 "Description": "The IAM role FIS runs the experiment as."}}
    conditions: dict[str, Any] = {}
    if alarms:
        for n, alarm in enumerate(alarms, start=1):
            parameters[f"StopConditionAlarm{n}"] = {"Type": "String", "Default": alarm, "Description": "A CloudWatch alarm ARN that stops the experiment."}
        stop: Any = [{"Source": "aws:cloudwatch:alarm", "Value": {"Ref": f"StopConditionAlarm{n}"}} for n in range(1, len(alarms) + 1)]
    else:
        parameters["StopConditionAlarm"] = {"Type": "String", "Default": "",
                                            "Description": "A CloudWatch alarm ARN that stops the experiment (empty: none)."}
        conditions["HasStopConditionAlarm"] = {"Fn::Not": [{"Fn::Equals": [{"Ref": "StopConditionAlarm"}, ""]}]}
        stop = {"Fn::If": ["HasStopConditionAlarm", [{"Source": "aws:cloudwatch:alarm", "Value": {"Ref": "StopConditionAlarm"}}], [{"Source": "none"}]]}
    doc: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"{name}: {template['description']}"[:1024],
        "Parameters": parameters,
    }
    if conditions:
        doc["Conditions"] = conditions
    doc["Resources"] = {"ExperimentTemplate": {"Type": "AWS::FIS::ExperimentTemplate", "Properties": {
        "Description": template["description"],
        "RoleArn": {"Ref": "FisRoleArn"},
        "StopConditions": stop,
        "Targets": {key: _cfn_target(t) for key, t in template["targets"].items()},
        "Actions": {key: _cfn_action(a) for key, a in template["actions"].items()},
        "Tags": dict(template.get("tags") or {}),
    }}}
    if template.get("experimentOptions"):
        doc["Resources"]["ExperimentTemplate"]["Properties"]["ExperimentOptions"] = {_pascal(k): v for k, v in template["experimentOptions"].items()}
    doc["Outputs"] = {"ExperimentTemplateId": {"Value": {"Ref": "ExperimentTemplate"}}}
    return doc


def _hcl(value: Any) -> str:
    """A Terraform literal: strings and lists of strings, as JSON writes them (HCL's syntax for both)."""
    return json.dumps(value)


def _snake(key: str) -> str:
    """emptyTargetResolutionMode -> empty_target_resolution_mode (the provider's argument names)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _kv_blocks(block: str, pairs: dict[str, str], indent: str) -> list[str]:
    lines = []
    for key, value in pairs.items():
        lines += [f"{indent}{block} {{", f"{indent}  key   = {_hcl(key)}", f"{indent}  value = {_hcl(value)}", f"{indent}}}"]
    return lines


def resource_name(name: str) -> str:
    """A Terraform resource name from a file stem: letters, digits, underscores, not starting with a digit."""
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"t_{cleaned}"


def terraform(name: str, template: Template) -> str:
    """Terraform of one aws_fis_experiment_template; variables fis_role_arn and stop_condition_alarm_arns."""
    alarms = [c["value"] for c in template["stopConditions"] if c["source"] == "aws:cloudwatch:alarm"]
    res = resource_name(name)
    lines = [
        f"# {name}: written by `spotchaos render --fis`",
        f'variable "{res}_fis_role_arn" {{',
        "  type        = string",
        '  description = "The IAM role FIS runs the experiment as."',
        f"  default     = {_hcl(template['roleArn'])}",
        "}",
        "",
        f'variable "{res}_stop_condition_alarm_arns" {{',
        "  type        = list(string)",
        '  description = "CloudWatch alarm ARNs that stop the experiment (empty: none)."',
        f"  default     = {_hcl(alarms)}",
        "}",
        "",
        f'resource "aws_fis_experiment_template" "{res}" {{',
        f"  description = {_hcl(template['description'])}",
        f"  role_arn    = var.{res}_fis_role_arn",
        "",
        '  dynamic "stop_condition" {',
        f'    for_each = length(var.{res}_stop_condition_alarm_arns) > 0 ? var.{res}_stop_condition_alarm_arns : ["none"]',
        "    content {",
        '      source = stop_condition.value == "none" ? "none" : "aws:cloudwatch:alarm"',
        '      value  = stop_condition.value == "none" ? null : stop_condition.value',
        "    }",
        "  }",
    ]
    options = template.get("experimentOptions") or {}
    if options:
        lines += ["", "  experiment_options {"] + [f"    {_snake(k)} = {_hcl(v)}" for k, v in options.items()] + ["  }"]
    for key, action in template["actions"].items():
        lines += ["", "  action {", f"    name      = {_hcl(key)}", f"    action_id = {_hcl(action['actionId'])}"]
        lines += _kv_blocks("parameter", action.get("parameters") or {}, "    ")
        lines += _kv_blocks("target", action.get("targets") or {}, "    ")
        lines += ["  }"]
    for key, target in template["targets"].items():
        lines += ["", "  target {", f"    name           = {_hcl(key)}", f"    resource_type  = {_hcl(target['resourceType'])}",
                  f"    selection_mode = {_hcl(target['selectionMode'])}"]
        if target.get("resourceArns"):
            lines += [f"    resource_arns  = {_hcl(target['resourceArns'])}"]
        lines += _kv_blocks("resource_tag", target.get("resourceTags") or {}, "    ")
        for f in target.get("filters") or []:
            lines += ["    filter {", f"      path   = {_hcl(f['path'])}", f"      values = {_hcl(list(f['values']))}", "    }"]
        lines += ["  }"]
    tags = template.get("tags") or {}
    lines += ["", "  tags = {"] + [f"    {_hcl(k)} = {_hcl(v)}" for k, v in tags.items()] + ["  }", "}", ""]
    return "\n".join(lines)
