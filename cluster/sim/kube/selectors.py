"""Label and field selectors as the API server parses and matches them (pure)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cluster.sim.kube.errors import BadRequest
from cluster.sim.kube.field_labels import field_path, zero_value

_SET_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9_./-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return present and value in self.values
        # "!=" and "notin" match when the key is absent too
        return not present or value not in self.values


def _split_top_level(expr: str) -> list[str]:
    parts, depth, cur = [], 0, []
    for ch in expr:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p for p in (p.strip() for p in parts) if p]


def parse_label_selector(expr: str | None) -> tuple[Requirement, ...]:
    if not expr:
        return ()
    reqs: list[Requirement] = []
    for part in _split_top_level(expr):
        for op in ("!=", "==", "="):
            if op in part and "(" not in part:
                key, _, value = part.partition(op)
                reqs.append(Requirement(key.strip(), "!=" if op == "!=" else "=", (value.strip(),)))
                break
        else:
            m = _SET_RE.match(part)
            if not m:
                raise BadRequest(f"unable to parse requirement: {part!r} in labelSelector {expr!r}")
            neg, key, setop, values = m.groups()
            if setop:
                vals = tuple(v.strip() for v in values.split(",") if v.strip())
                reqs.append(Requirement(key, setop, vals))
            else:
                reqs.append(Requirement(key, "!exists" if neg else "exists"))
    return tuple(reqs)


def selector_from_spec(selector: Mapping[str, Any] | None) -> tuple[Requirement, ...]:
    """Turn a LabelSelector object (matchLabels + matchExpressions) into requirements."""
    if not selector:
        return ()
    reqs = [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    ops = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}
    for e in selector.get("matchExpressions") or []:
        reqs.append(Requirement(e["key"], ops[e["operator"]], tuple(e.get("values") or ())))
    return tuple(reqs)


def labels_match(reqs: tuple[Requirement, ...], labels: Mapping[str, str] | None) -> bool:
    lab = labels or {}
    return all(r.matches(lab) for r in reqs)


@dataclass(frozen=True)
class FieldRequirement:
    path: tuple[str, ...]
    negate: bool
    value: str
    zero: str = ""  # what the field reads when the object leaves it out


def parse_field_selector(expr: str | None, kind: str | None = None) -> tuple[FieldRequirement, ...]:
    """`kind`: the resource's kind, whose field labels the API server supports (a request's
    selector); None: any dotted path (the simulator's own lookups)."""
    if not expr:
        return ()
    out = []
    for part in _split_top_level(expr):
        for op in ("!=", "==", "="):
            if op in part:
                key, _, value = part.partition(op)
                key = key.strip()
                path = tuple(key.split(".")) if kind is None else field_path(kind, key)
                if path is None:
                    raise BadRequest(f'field label not supported: {key}')
                out.append(FieldRequirement(path, op == "!=", value.strip(), zero_value(path) if kind is not None else ""))
                break
        else:
            raise BadRequest(f"invalid field selector: {part!r}: expected key=value or key!=value")
    return tuple(out)


def _field_value(obj: Mapping[str, Any], path: tuple[str, ...], zero: str = "") -> str:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return zero
        cur = cur.get(p)
    if cur is None:
        return zero
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def fields_match(reqs: tuple[FieldRequirement, ...], obj: Mapping[str, Any]) -> bool:
    for r in reqs:
        equal = _field_value(obj, r.path, r.zero) == r.value
        if equal == r.negate:
            return False
    return True


def make_filter(label_selector: str | None, field_selector: str | None, kind: str | None = None) -> Callable[[Mapping[str, Any]], bool] | None:
    lreqs = parse_label_selector(label_selector)
    freqs = parse_field_selector(field_selector, kind)
    if not lreqs and not freqs:
        return None

    def accept(obj: Mapping[str, Any]) -> bool:
        return labels_match(lreqs, obj.get("metadata", {}).get("labels")) and fields_match(freqs, obj)

    return accept
