"""Field ownership as server-side apply keeps it (pure): which manager set which field, in the
`metadata.managedFields` form the API server writes (`fieldsType: FieldsV1`, `f:` keys), and the
conflicts an Apply meets when another manager owns a field it sets to another value
(k8s.io/apimachinery/pkg/util/managedfields, sigs.k8s.io/structured-merge-diff).

Simplified where the simulator can afford it, and said so in docs/simulator.md: lists are
atomic (owned whole, not per element by merge key), and an Apply does not remove the fields its
manager applied before and left out this time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Path = tuple[str, ...]
NOT_OWNED = ("apiVersion", "kind")  # and metadata.name / namespace / the server's own fields below
SERVER_META = ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink", "deletionTimestamp",
               "deletionGracePeriodSeconds")


def leaves(obj: Any, prefix: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every field path a config sets, with its value (objects recursed, lists and scalars as leaves)."""
    if isinstance(obj, dict) and (obj or not prefix):
        for key, value in obj.items():
            if not prefix and key in NOT_OWNED or prefix == ("metadata",) and key in SERVER_META or not prefix and key == "status":
                continue
            yield from leaves(value, (*prefix, str(key)))
    else:
        yield prefix, obj


def value_at(obj: Any, path: Path) -> Any:
    cur = obj
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


def to_fields_v1(paths: set[Path]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(paths):
        node = out
        for key in path:
            node = node.setdefault(f"f:{key}", {})
    return out


def from_fields_v1(fields: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, sub in (fields or {}).items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        if sub:
            out |= from_fields_v1(sub, path)
        else:
            out.add(path)
    return out


def owned(managed: list[dict[str, Any]]) -> dict[tuple[str, str], set[Path]]:
    """(manager, operation) -> the field paths it owns."""
    return {(m.get("manager", ""), m.get("operation", "")): from_fields_v1(m.get("fieldsV1") or {}) for m in managed or []}


def _overlaps(a: Path, b: Path) -> bool:
    return a[:len(b)] == b or b[:len(a)] == a


def conflicts(live: dict[str, Any], managed: list[dict[str, Any]], manager: str, applied: dict[str, Any]) -> list[tuple[str, str, Path]]:
    """(other manager, its operation, path) for every field the Apply sets to a value other than the
    live one while another manager owns it."""
    out = []
    for (other, op), paths in owned(managed).items():
        if other == manager:
            continue
        for path, value in leaves(applied):
            if any(_overlaps(path, p) for p in paths) and value_at(live, path) != value:
                out.append((other, op, path))
    return out


def conflict_message(found: list[tuple[str, str, Path]], api_version: str) -> str:
    noun = "conflict" if len(found) == 1 else "conflicts"
    parts = [f'conflict with "{m}"' + (f" using {api_version}" if op == "Update" else "") + f": .{'.'.join(p)}" for m, op, p in found]
    return f"Apply failed with {len(found)} {noun}: " + "\n".join(parts)


def record(managed: list[dict[str, Any]], manager: str, operation: str, api_version: str, paths: set[Path], now: str,
           taken: set[Path] | None = None) -> list[dict[str, Any]]:
    """managedFields after `manager` set `paths` with `operation`.  The `taken` paths leave every
    other manager (an Update's changed fields; the conflicts an Apply forced); fields set to the
    value they had stay shared; an entry left with no field goes."""
    taken = set(paths) if taken is None else taken
    out = []
    mine: set[Path] = set(paths)
    for entry in managed or []:
        key = (entry.get("manager", ""), entry.get("operation", ""))
        fields = from_fields_v1(entry.get("fieldsV1") or {})
        if key == (manager, operation):
            mine |= fields
            continue
        left = {f for f in fields if not any(_overlaps(f, p) for p in taken)}
        if left:
            out.append({**entry, "fieldsV1": to_fields_v1(left)})
    if mine:
        out.append({"manager": manager, "operation": operation, "apiVersion": api_version, "time": now, "fieldsType": "FieldsV1",
                    "fieldsV1": to_fields_v1(mine)})
    return out


def changed_paths(old: dict[str, Any], new: dict[str, Any]) -> set[Path]:
    """The fields an Update set: those of `new` whose value differs from `old`'s."""
    return {path for path, value in leaves(new) if value_at(old, path) != value}
