"""What the simulator changes in moto's classes and modules, in one place: every replaced
attribute (a method, a property, a module's global) and every added mapping entry is recorded as
it is made, and `restore` puts moto back as it was, last change first.  The simulator restores
them when it stops, so a second simulator in the same process starts from moto as released."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

_ABSENT = object()


class MotoPatches:
    def __init__(self) -> None:
        self._undo: list[tuple[str, Any, Any, Any]] = []  # ("attr" | "item", owner, name or key, what was there)

    def replace(self, owner: Any, name: str, value: Any) -> Any:
        """`owner.name = value`; returns what was there (the original method, for a wrapper)."""
        was = owner.__dict__.get(name, _ABSENT) if isinstance(owner, type) else getattr(owner, name, _ABSENT)
        self._undo.append(("attr", owner, name, was))
        original = getattr(owner, name, None)
        setattr(owner, name, value)
        return original

    def add_item(self, mapping: MutableMapping[Any, Any], key: Any, value: Any) -> None:
        """`mapping[key] = value` unless the key is there already (moto's own entry wins)."""
        if key in mapping:
            return
        self._undo.append(("item", mapping, key, _ABSENT))
        mapping[key] = value

    def restore(self) -> None:
        while self._undo:
            what, owner, name, was = self._undo.pop()
            if what == "item":
                owner.pop(name, None)
            elif was is _ABSENT:
                if name in getattr(owner, "__dict__", {}):
                    delattr(owner, name)
            else:
                setattr(owner, name, was)

    def __len__(self) -> int:
        return len(self._undo)
