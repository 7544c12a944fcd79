"""Make-before-break weight loads.

Weights are tracked as integer keys ``global_layer * num_nodes + node``
(:class:`KeySpace`).  :class:`Weights` holds which keys are resident and which
loads are in flight; :func:`plan_load` picks a load's source and end time.
Rules: docs/replay.md, "Make-before-break and weight loads".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..problem import Problem


@dataclass
class Load:
    """One weight load of key ``key`` (global layer ``key // n`` onto node ``key % n``).

    Attributes
    ----------
    key
        ``global_layer * num_nodes + node``.
    start, end
        Simulated seconds; ``end`` is ``inf`` when no holder has a route.
    source
        Node index the weights come from (-1: none).
    nbytes
        The layer's weight bytes.
    status
        ``in_flight``, ``complete``, ``cancelled`` or ``no_route``.
    """

    key: int
    start: float
    end: float
    source: int
    nbytes: float
    status: str = "in_flight"


def plan_load(problem: Problem, key: int, resident: set[int], start: float) -> Load:
    """The load of ``key`` from the nearest resident holder or the model's origin.

    Ties: holders before the origin, then the lower node index.  ``end`` is
    ``inf`` (status ``no_route``) when no holder has a route.
    """
    n = problem.num_nodes
    g, node = divmod(key, n)
    nbytes = float(problem.layer_param_bytes[g])
    origin = problem.node_index[problem.origin_of(problem.models[problem.layer_model[g]])]
    holders = sorted({k % n for k in resident if k // n == g})
    routes = problem.routes
    best: tuple[float, int, int] | None = None
    for src in holders + [origin]:
        if routes.hops[src, node] < 0:
            continue
        seconds = float(routes.latency[src, node] + nbytes / routes.bandwidth[src, node])
        cand = (seconds, int(src == origin and src not in holders), src)
        if best is None or cand < best:
            best = cand
    if best is None:
        return Load(key, start, math.inf, -1, nbytes, "no_route")
    return Load(key, start, start + best[0], best[2], nbytes)


@dataclass(frozen=True)
class KeySpace:
    """The weight keys of flat assignments of one problem layout."""

    num_nodes: int
    global_layer: np.ndarray
    offset: np.ndarray
    length: np.ndarray

    @classmethod
    def of(cls, problem: Problem) -> KeySpace:
        """The key space of ``problem``'s flat layout."""
        flat = problem.flat
        return cls(problem.num_nodes, flat.global_layer, flat.offset, flat.length)

    def span(self, w: int) -> slice:
        """The flat positions of workload ``w``."""
        return slice(self.offset[w], self.offset[w] + self.length[w])

    def placed(self, x: np.ndarray) -> np.ndarray:
        """Distinct keys placed by the flat assignment ``x``."""
        return np.unique(self.global_layer * self.num_nodes + x)

    def of_workload(self, x: np.ndarray, w: int) -> np.ndarray:
        """Keys placed by workload ``w`` in ``x``, in layer order."""
        s = self.span(w)
        return self.global_layer[s] * self.num_nodes + x[s]


@dataclass
class Weights:
    """Resident weights and loads in flight.

    Attributes
    ----------
    resident
        Keys whose weights are on their node.
    loads
        Loads in flight, by key.
    finished
        Loads that completed, were cancelled or found no route, in that order.
    """

    resident: set[int]
    loads: dict[int, Load] = field(default_factory=dict)
    finished: list[Load] = field(default_factory=list)

    def next_end(self, t: float) -> float:
        """The first end time after ``t`` of a load in flight (``inf``: none)."""
        ends = [ld.end for ld in self.loads.values() if ld.end > t]
        return min(ends, default=math.inf)

    def complete(self, t: float) -> None:
        """Loads that end by ``t`` complete: their keys become resident."""
        for key in [k for k, ld in self.loads.items() if ld.end <= t]:
            self._finish(key, "complete")
            self.resident.add(key)

    def keep_only(self, keys: set[int]) -> None:
        """Evict resident weights that are not in ``keys``."""
        self.resident &= keys

    def start(self, problem: Problem, placed: set[int], t: float) -> None:
        """Load every key of ``placed`` that is not resident (make-before-break).

        Loads of keys no longer wanted are cancelled, those without a route are
        dropped (and retried); keys needing no transfer (no weight bytes, or the
        model's origin) become resident at once.
        """
        wanted = placed - self.resident
        for key in [k for k in self.loads if k not in wanted or self.loads[k].end == math.inf]:
            self._finish(key, "cancelled" if self.loads[key].end < math.inf else "no_route")
        for key in sorted(wanted - set(self.loads)):
            if _at_hand(problem, key):
                self.resident.add(key)
            else:
                self.loads[key] = plan_load(problem, key, self.resident, t)

    def in_flight(self, keys: np.ndarray) -> int:
        """How many of ``keys`` are being loaded."""
        return sum(1 for k in keys.tolist() if k in self.loads)

    def all(self) -> list[Load]:
        """Every load: finished ones, then those still in flight."""
        return self.finished + list(self.loads.values())

    def _finish(self, key: int, status: str) -> None:
        load = self.loads.pop(key)
        load.status = status
        self.finished.append(load)


def _at_hand(problem: Problem, key: int) -> bool:
    """Whether ``key`` needs no transfer: a layer without weights, or on its model's origin."""
    g, node = divmod(key, problem.num_nodes)
    if problem.layer_param_bytes[g] == 0:
        return True
    return problem.origin_of(problem.models[problem.layer_model[g]]) == problem.node_ids[node]


__all__ = ["KeySpace", "Load", "Weights", "plan_load"]
