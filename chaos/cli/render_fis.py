"""`spotchaos render --fis EXPERIMENT`: the experiment's FIS injections as templates to keep in an
account (chaos/inject/fis_takehome.py), each as CLI input JSON, CloudFormation and Terraform."""

from __future__ import annotations

import re
from pathlib import Path

from chaos.cli.app import fail, out

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
ZONE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d[a-z]$")


def render_fis(file: Path, out_dir: Path, role_arn: str | None, alarms: list[str], cluster: str | None, nodegroup_tag: str,
               azs: tuple[str, ...] = ()) -> None:
    import yaml

    from chaos.cli.inputs import load_spec
    from chaos.inject.fis_takehome import NotRenderable, takehome
    from chaos.inject.fis_template_formats import cli_input_json, cloudformation, terraform
    from cluster.profiles import SEED_CLUSTER

    spec: object = load_spec(file)
    role = role_arn or spec.target.fis_role_arn  # type: ignore[attr-defined]
    if not role:
        fail("--role-arn: the IAM role FIS runs the experiments as (arn:aws:iam::ACCOUNT:role/NAME); the experiment's target.fis_role_arn names none")
    if not ROLE_ARN.match(str(role)):
        fail(f"--role-arn: {str(role)[:120]!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    stops = [c.cloudwatch_alarm for c in spec.stop_conditions if c.cloudwatch_alarm] + list(alarms)  # type: ignore[attr-defined]
    bad = [a for a in stops if not a.startswith("arn:aws") or ":alarm:" not in a]
    if bad:
        fail(f"--alarm: {bad[0][:120]!r} is not a CloudWatch alarm ARN (arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME)")
    bad_zone = next((z for z in azs if not ZONE.match(z)), None)
    if bad_zone is not None:
        fail(f"--az: {bad_zone[:60]!r} is not an availability zone name (e.g. us-east-1a)")
    name = cluster or spec.cluster.name or SEED_CLUSTER  # type: ignore[attr-defined]
    written: list[Path] = []
    skipped: list[str] = []
    files: dict[str, str] = {}
    for index, inj in enumerate(spec.injections):  # type: ignore[attr-defined]
        try:
            th = takehome(spec.name, inj, index, name, str(role), stops, nodegroup_tag, azs)  # type: ignore[attr-defined]
        except NotRenderable as exc:
            skipped.append(f"{inj.label(index)}: {exc}")
            continue
        files[f"{th.name}.json"] = cli_input_json(th.template)
        files[f"{th.name}.cfn.yaml"] = yaml.safe_dump(cloudformation(th.name, th.template), sort_keys=False)
        files[f"{th.name}.tf"] = terraform(th.name, th.template)
    for line in skipped:
        out.print(f"not rendered: {line}", soft_wrap=True, highlight=False, markup=False)
    if not files:
        fail(f"{file}: no injection has an FIS template to take home (via fis: spot-interruption, instance-loss, instance-stop, capacity-error, "
             "az-power-interruption)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for file_name, text in files.items():
            (out_dir / file_name).write_text(text)
            written.append(out_dir / file_name)
    except OSError as exc:
        fail(f"--out {out_dir}: cannot write there: {exc.strerror or exc}")
    out.print("wrote " + " ".join(str(w) for w in written), soft_wrap=True, highlight=False, markup=False)
    out.print(f"create one with: aws fis create-experiment-template --cli-input-json file://{written[0]}", soft_wrap=True, highlight=False, markup=False)
