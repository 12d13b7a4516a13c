"""The injector registry: every (via, kind) an experiment may name has exactly one injector, each
describes itself for the plan and plans from the selection alone; an unknown pair names the valid
ones.  (Firing is exercised end to end by the experiments and tests/e2e.)"""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from chaos.errors import SpecError
from chaos.inject import INJECTORS, injector_for
from chaos.inject.selection import Candidate
from chaos.spec import Injection


def _valid_pairs():
    vias = get_args(Injection.model_fields["via"].annotation)
    kinds = get_args(Injection.model_fields["kind"].annotation)
    for via in vias:
        for kind in kinds:
            try:
                yield Injection(via=via, kind=kind, select={"count": 1, "node_group": "g"})
            except ValidationError:
                continue


def test_every_injection_an_experiment_may_name_has_an_injector():
    pairs = {(i.via, i.kind) for i in _valid_pairs()}
    assert pairs == set(INJECTORS)
    nodes = [Candidate(f"n{i}", f"i-{i:017x}", "g", "us-east-1a", "m5.xlarge", "SPOT", 1) for i in range(3)]
    for inj in _valid_pairs():
        injector = injector_for(inj)
        assert injector.describe(inj)
        entry = injector.plan(inj, 0, nodes[:1] if injector.takes_nodes else [])
        assert entry["injection"] == "injection-1" and entry["via"] == inj.via and entry["kind"] == inj.kind
        assert ("first_wave" in entry) == injector.takes_nodes


def test_an_unknown_pair_names_the_valid_ones():
    bogus = Injection.model_construct(via="carrier-pigeon", kind="spot-interruption")
    with pytest.raises(SpecError, match="spot-interruption via fis"):
        injector_for(bogus)
