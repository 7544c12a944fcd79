"""The instance as the trace changes it: incremental snapshots, and the up-front trace check."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..problem import Problem
from ..trace import Trace

#: An availability change: ``(kind, id, now_available)``.
Flip = tuple[str, str, bool]


class Snapshots:
    """The instance with every event up to a time applied, built incrementally.

    Changed records are replaced with pydantic ``model_copy(update=...)``, which
    skips validation (the trace was checked once, up front), and
    :meth:`Problem.with_records` keeps the derived arrays they leave as they are.

    Parameters
    ----------
    base
        The instance at time 0, before any event.
    events
        ``trace.events``: columns ``time, kind, id, attribute, value``, in time order.
    """

    _SECTIONS = {"node": "nodes", "link": "links", "workload": "workloads"}

    def __init__(self, base: Problem, events: pd.DataFrame):
        self.base = base
        self.problem = base
        self._records: dict[str, list[Any]] = {
            "node": list(base.nodes),
            "link": list(base.links),
            "workload": list(base.workloads),
        }
        self._index = {"node": base.node_index, "link": base.link_index, "workload": base.workload_index}
        self._times = events["time"].to_numpy(dtype=float)
        columns = [events[c].tolist() for c in ("kind", "id", "attribute", "value")]
        self._rows = list(zip(*columns))
        self._next = 0

    @property
    def next_time(self) -> float:
        """Time of the next unapplied event (``inf`` when none is left)."""
        return float(self._times[self._next]) if self._next < len(self._rows) else math.inf

    def has_event_at(self, t: float) -> bool:
        """Whether some event happens at exactly ``t``."""
        k = np.searchsorted(self._times, t)
        return bool(k < len(self._times) and self._times[k] == t)

    def advance(self, t: float) -> list[Flip]:
        """Apply every event at times ``<= t``; return availability changes
        ``(kind, id, now_available)``."""
        changed: dict[str, dict[int, dict[str, Any]]] = {}
        while self._next < len(self._rows) and self._times[self._next] <= t:
            kind, rid, attr, value = self._rows[self._next]
            self._next += 1
            k = self._index[kind][rid]
            new = bool(value) if attr == "available" else float(value)
            changed.setdefault(kind, {}).setdefault(k, {})[attr] = new
        flips = self._replace(changed)
        if changed:
            self.problem = self.problem.with_records(
                **{self._SECTIONS[kind]: self._records[kind] for kind in changed})
        return flips

    def _replace(self, changed: Mapping[str, Mapping[int, dict[str, Any]]]) -> list[Flip]:
        """Replace the changed records; return the availability changes among them."""
        flips: list[Flip] = []
        for kind, updates in changed.items():
            records = self._records[kind]
            for k, attrs in updates.items():
                old = records[k]
                if "available" in attrs and attrs["available"] != old.available:
                    rid = old.id if kind == "node" else old.resolved_id
                    flips.append((kind, rid, attrs["available"]))
                records[k] = old.model_copy(update=attrs)
        return flips


def check_trace(problem: Problem, trace: Trace) -> None:
    """Refuse events naming unknown kinds, ids or attributes, or bad values
    (:meth:`~placement_opt.trace.Trace.validate`, the instance file's ranges).

    Raises
    ------
    TraceError
        One issue per bad row.
    """
    trace.validate(problem)


__all__ = ["Flip", "Snapshots", "check_trace"]
