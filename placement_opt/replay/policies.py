"""Re-planning policies (SPEC 7): when a replay asks the solver for a new plan.

A policy is a small object with two questions to answer:

- :meth:`Policy.next_decision`: the next time, after ``t``, at which it wants a
  decision point of its own (``periodic`` ticks); ``inf`` for none;
- :meth:`Policy.trigger`: at a decision point, the reason to re-plan, or None.

It may also keep state between decision points (``reactive`` remembers its
last failed re-plan through :meth:`Policy.replan_failed`), so a replay builds a
fresh policy for every run.  Policies are chosen by name from
:data:`POLICY_CLASSES`; adding one is a class here plus one entry in that table
(docs/replay.md, "Adding a replay policy").
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, Self

from ..evaluate import Evaluation
from ..tolerance import exceeds
from .snapshots import Flip

#: After a re-plan finds no feasible plan, ``reactive`` waits this long (simulated
#: seconds) before trying again, unless a node recovers or the set of servable
#: workloads changes.
REACTIVE_RETRY = 60.0

class PolicySettings(Protocol):
    """The settings a policy is built from (:class:`~placement_opt.replay.ReplayOptions` has them)."""

    @property
    def interval(self) -> float | None:
        """Re-plan period, seconds (``periodic``)."""
        ...

    @property
    def threshold(self) -> float:
        """Relative objective degradation that makes ``reactive`` re-plan."""
        ...


class ReplayState(Protocol):
    """What a policy may look at while the replay runs."""

    @property
    def plan_objective(self) -> float:
        """Objective of the latest plan when it was planned (servable workloads)."""
        ...

    @property
    def planned_at(self) -> float:
        """Time of the latest plan."""
        ...

    @property
    def relaxed(self) -> bool:
        """Whether the latest solve dropped the SLOs (a best-effort plan)."""
        ...

    def is_event_time(self, t: float) -> bool:
        """Whether some trace event happens at exactly ``t``."""
        ...

    def servable(self) -> list[int]:
        """Indices of the workloads some plan could serve on the current snapshot."""
        ...

    def latest_evaluation(self) -> Evaluation:
        """The latest plan (being loaded, else serving) evaluated on the current
        snapshot, restricted to the servable workloads."""
        ...


class Policy(ABC):
    """When to re-plan.  Subclasses answer :meth:`trigger`, and may override the rest."""

    #: Whether the policy ever calls the solver after time 0 (``static`` does
    #: not, so its solver is checked only when it makes the initial plan).
    replans: ClassVar[bool] = True

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> Self:
        """The policy for these settings.

        Raises
        ------
        ValueError
            When a setting the policy needs is missing.
        """
        return cls()

    def next_decision(self, t: float) -> float:
        """The next time after ``t`` at which the policy wants a decision point
        (``inf``: only the trace's events and weight loads make them)."""
        return math.inf

    @abstractmethod
    def trigger(self, t: float, flips: Sequence[Flip], state: ReplayState) -> str | None:
        """Why to re-plan at decision point ``t > 0`` (the ``replan`` event's id), or None.

        Parameters
        ----------
        t
            The decision point, seconds.
        flips
            Availability changes applied at ``t``.
        state
            The replay, as far as a policy may see it.
        """

    def replan_failed(self, t: float, state: ReplayState) -> None:
        """Told when a re-plan at ``t`` found no feasible plan (the current one stays);
        by default, nothing happens."""
        return None


@dataclass
class Static(Policy):
    """``static``: never re-plans."""

    replans: ClassVar[bool] = False

    def trigger(self, t: float, flips: Sequence[Flip], state: ReplayState) -> str | None:
        return None


@dataclass
class Periodic(Policy):
    """``periodic``: re-plans at every tick ``k * interval`` (``k >= 1``)."""

    interval: float

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> Self:
        if settings.interval is None:
            raise ValueError("policy 'periodic' needs interval (seconds between re-plans)")
        return cls(settings.interval)

    def next_decision(self, t: float) -> float:
        k = math.floor(t / self.interval + 1e-9) + 1
        return k * self.interval

    def trigger(self, t: float, flips: Sequence[Flip], state: ReplayState) -> str | None:
        k = t / self.interval
        return "periodic" if abs(k - round(k)) < 1e-9 else None


@dataclass
class Oracle(Policy):
    """``oracle``: re-plans at every event time (not at ticks or load completions)."""

    def trigger(self, t: float, flips: Sequence[Flip], state: ReplayState) -> str | None:
        return "oracle" if state.is_event_time(t) else None


@dataclass
class Reactive(Policy):
    """``reactive``: re-plans when the latest plan is infeasible, misses an SLO,
    or its objective exceeds ``(1 + threshold)`` times its value when planned.

    After a failed re-plan it waits ``retry`` seconds, unless a node recovers or
    the set of servable workloads changes; after a best-effort plan (SLOs
    dropped) it ignores SLO misses for ``retry`` seconds.
    """

    threshold: float
    retry: float = REACTIVE_RETRY
    failed_at: float = -math.inf
    failed_servable: list[int] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> Self:
        return cls(settings.threshold)

    def trigger(self, t: float, flips: Sequence[Flip], state: ReplayState) -> str | None:
        if t - self.failed_at < self.retry and not self._worth_retrying(flips, state):
            return None
        ev = state.latest_evaluation()
        kinds = {v.kind for v in ev.violations}
        if kinds - {"slo"}:
            return "reactive:infeasible"
        if "slo" in kinds and not (state.relaxed and t - state.planned_at < self.retry):
            return "reactive:slo"
        if exceeds(ev.objective, (1 + self.threshold) * state.plan_objective):
            return "reactive:degraded"
        return None

    def replan_failed(self, t: float, state: ReplayState) -> None:
        self.failed_at = t
        self.failed_servable = state.servable()

    def _worth_retrying(self, flips: Sequence[Flip], state: ReplayState) -> bool:
        """After a failed re-plan: a node came back, or other workloads became servable."""
        if any(up and kind == "node" for kind, _, up in flips):
            return True
        return state.servable() != self.failed_servable


#: Every policy by name: the one place where policy names are written down.
POLICY_CLASSES: dict[str, type[Policy]] = {
    "static": Static,
    "periodic": Periodic,
    "reactive": Reactive,
    "oracle": Oracle,
}

#: The policy names, in table order.
POLICIES = tuple(POLICY_CLASSES)


def policy_class(name: str) -> type[Policy]:
    """The class of the policy called ``name``.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    try:
        return POLICY_CLASSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown policy {name!r}: one of {', '.join(POLICY_CLASSES)}") from None


__all__ = ["POLICIES", "POLICY_CLASSES", "REACTIVE_RETRY", "Flip", "Oracle", "Periodic", "Policy",
           "PolicySettings", "Reactive", "ReplayState", "Static", "policy_class"]
