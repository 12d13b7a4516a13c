"""What the simulator changes in moto is put back as it was: methods (own and inherited),
properties, module globals and added mapping entries, last change first."""

from __future__ import annotations

import types

from cluster.sim.aws.moto_patches import MotoPatches


class Base:
    def inherited(self) -> str:
        return "base"


class Model(Base):
    def own(self) -> str:
        return "moto"

    @property
    def status(self) -> str:
        return "moto"


def test_restore_puts_back_methods_properties_module_globals_and_mapping_entries() -> None:
    module = types.SimpleNamespace(mock_random="moto's")
    mapping = {"tag-key": "tags"}
    patches = MotoPatches()
    original = patches.replace(Model, "own", lambda self: "sim")
    patches.replace(Model, "own", lambda self: original(self) + "+sim")  # a wrapper over a patch
    patches.replace(Model, "inherited", lambda self: "sim")
    patches.replace(Model, "status", property(lambda self: "sim"))
    patches.replace(module, "mock_random", "ours")
    patches.add_item(mapping, "instance-lifecycle", "lifecycle")
    patches.add_item(mapping, "tag-key", "not ours")  # moto's own entry wins and is not recorded
    m = Model()
    assert (m.own(), m.inherited(), m.status, module.mock_random) == ("moto+sim", "sim", "sim", "ours")
    assert mapping == {"tag-key": "tags", "instance-lifecycle": "lifecycle"} and len(patches) == 6
    patches.restore()
    assert (m.own(), m.inherited(), m.status, module.mock_random) == ("moto", "base", "moto", "moto's")
    assert "inherited" not in Model.__dict__ and mapping == {"tag-key": "tags"} and len(patches) == 0
