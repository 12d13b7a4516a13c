"""What `spotchaos plan` prints: the experiment's steps, read from the spec alone."""

from __future__ import annotations

from chaos.inject import injector_for
from chaos.spec import Experiment, hypothesis_name


def plan_lines(spec: Experiment) -> list[str]:
    t = spec.target
    lines = [f"experiment {spec.name}", ""]
    if t.kind == "local":
        where = f"the simulator running from {t.simulator.state_dir}" if t.simulator.state_dir else f"a local simulator started for the run (speed {t.speed if t.speed == 'auto' else format(t.speed, 'g')})"
    else:
        where = f"EKS: context {t.context or '(current)'}, region {t.region or '$AWS_REGION'}, allowed accounts {', '.join(t.allowed_accounts)}"
    lines.append(f"1. connect to {where}")
    c = spec.cluster
    lines.append(f"2. provision the {c.profile} profile" + (f" with overrides {c.overrides}" if c.overrides else "") if c.profile else "2. use the cluster as it is")
    tr = spec.traffic
    lines.append(f"3. traffic: {tr.rate:g} req/s{f' ramping to {tr.ramp_to:g}' if tr.ramp_to else ''} to {tr.url or 'the service Ingress (ALB)'}; "
                 f"steady state over a {tr.warmup:g}s warm-up")
    lines.append("4. inject (cluster seconds after the warm-up):")
    for i, inj in enumerate(spec.injections):
        waves = f", {inj.waves} waves {inj.every:g}s apart" if inj.waves > 1 else ""
        lines.append(f"   - {inj.label(i)}: at {inj.at:g}s via {inj.via}: {injector_for(inj).describe(inj)}{waves}")
    lines.append(f"5. observe until every hypothesis is decided (at most {spec.duration:g}s), then {tr.tail:g}s more traffic:")
    for h in spec.hypotheses:
        bound = {k: v for k, v in h.model_dump().items() if k not in ("check", "name")}
        lines.append(f"   - {hypothesis_name(h)} ({h.check}): {bound}")
    for s in spec.stop_conditions:
        lines.append(f"   abort when {'error rate over ' + format(s.window, 'g') + 's > ' + format(s.error_rate, '.2%') if s.error_rate is not None else 'alarm ' + str(s.cloudwatch_alarm)}")
    lines.append(f"6. guardrails: at most {spec.guardrails.max_interrupted_share:.0%} of the nodes interrupted" + ("; dry run" if spec.guardrails.dry_run else ""))
    lines.append("7. rollback: stop FIS experiments, withdraw notices, stop traffic, tear down what was provisioned")
    return lines
