"""FIS's ids as FIS writes them: `EXT` + base62 for experiment templates, `EXP` + base62 for
experiments (observed: EXT6oWVA1WrLNy4XS, EXPTUCK2dxepXgkR38; about 12-15 characters after the
prefix; DOMAIN-KARPENTER-MNG-FIS.md §6), where moto writes uuid4 hex.  Pure but for the random
source it is given."""

from __future__ import annotations

import random
import string

ALPHABET = string.digits + string.ascii_letters  # base62
LENGTH = 14
TEMPLATE_PREFIX, EXPERIMENT_PREFIX = "EXT", "EXP"


def fis_id(prefix: str, rng: random.Random) -> str:
    return prefix + "".join(rng.choice(ALPHABET) for _ in range(LENGTH))


class IdSource:
    """Stands in for moto's `mock_random` inside moto.fis.models: each uuid4() there becomes an id
    with the prefix of the call being made (a template's or an experiment's)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.prefix = TEMPLATE_PREFIX

    def uuid4(self) -> _Id:
        return _Id(fis_id(self.prefix, self.rng))


class _Id(str):
    @property
    def hex(self) -> str:
        return str(self)
