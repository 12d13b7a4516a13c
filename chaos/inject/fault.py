"""What every injection says, whatever its fault: which way in (`via`), which nodes (`select`),
when (`at`) and how often (`waves`, `every`).  Each fault is one module of chaos/inject that
subclasses `Fault`: its `kind` literal (its tag in the spec's union of injections), its own
options and rules, and its injectors by way in.  The spec, the JSON Schema and the plan read the
faults from the registry (chaos/inject/__init__.py); nothing else lists them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from chaos.fields import Duration, Strict
from chaos.inject.selection import Selection

if TYPE_CHECKING:
    from chaos.inject.base import Injector

Via = Literal["fis", "metadata", "sqs"]


class Fault(Strict):
    name: str | None = None
    via: Via = Field(description="fis: an AWS FIS experiment; metadata: notices on the instances' metadata; sqs: EventBridge events on NTH's queue.")
    kind: str
    select: Selection = Field(default_factory=lambda: Selection(count=1))
    at: Duration = Field(0.0, description="When, after the warm-up (cluster time).")
    waves: int = Field(1, ge=1, le=50, description="Repeat the injection this many times ...")
    every: Duration = Field(60.0, gt=0, description="... this far apart.")

    injectors: ClassVar[Mapping[str, Injector]]  # the ways in that take this fault, by `via`
    wrong_via: ClassVar[str] = ""  # why the other ways in cannot take it, with the fix (default: the ways that can)
    counts_nodes: ClassVar[bool] = True  # the selection must say how many nodes (count, percent or instances)
    notices: ClassVar[bool] = False  # the nodes it takes get a notice first

    @model_validator(mode="after")
    def _way_in_and_count(self) -> Fault:
        if self.via not in self.injectors:
            raise ValueError(self.wrong_via or f"{self.kind} is injected through {' or '.join(self.injectors)}: use via {next(iter(self.injectors))}")
        if self.counts_nodes and self.select.count is None and self.select.percent is None and not self.select.instances:
            raise ValueError("select: say how many nodes: count, percent or instances")
        return self

    @property
    def warns(self) -> bool:
        """Whether the nodes it takes get a notice first (an instance loss is its own notice)."""
        return self.notices

    @property
    def reclaim_after(self) -> float | None:
        """Cluster seconds from the notice to the reclaim, for a notice that promises one."""
        return None

    @property
    def last_offset(self) -> float:
        return self.at + (self.waves - 1) * self.every

    def label(self, index: int) -> str:
        return self.name or f"injection-{index + 1}"

    def injector(self) -> Injector:
        return self.injectors[self.via]
