"""Re-planning: the solver on a snapshot's servable workloads, best effort if need be.

Rules: docs/replay.md, "Re-planning".  Workloads that no plan could serve are
left out (they keep their assignment); when no plan meets every SLO the solver
runs again with the SLOs dropped; in ``migrate`` mode it solves the coarse
problem of :mod:`.coarse`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..evaluate import Evaluation, as_array, evaluate_array
from ..problem import Problem
from ..solve import solve
from .coarse import Coarse, Segments, coarsen
from .options import ReplayOptions

#: A plan: each workload's node per layer.
Plan = dict[str, tuple[str, ...]]


def servable(p: Problem) -> list[int]:
    """Workloads that some plan could serve: source and sink available, and
    some host reachable from the source that reaches the sink."""
    reach = p.routes.hops >= 0
    np.fill_diagonal(reach, p.node_available)
    hosts = p.can_host
    src, snk = p.workload_source, p.workload_sink
    ok = (reach[src][:, hosts] & reach[:, snk].T[:, hosts]).any(axis=1)
    return np.flatnonzero(ok).tolist()


def restrict(p: Problem, keep: list[int]) -> Problem:
    """The problem with only the workloads ``keep`` (``p`` itself when that is all)."""
    if len(keep) == p.num_workloads:
        return p
    return p.with_records(workloads=[p.workloads[w] for w in keep])


def servable_evaluation(p: Problem, x: np.ndarray) -> Evaluation:
    """The flat assignment ``x`` evaluated on the servable workloads (all when none is)."""
    keep = servable(p)
    if not keep:
        return evaluate_array(p, x)
    sub = restrict(p, keep)
    assignment = p.array_to_assignment(x)
    return evaluate_array(sub, as_array(sub, {p.workload_ids[w]: assignment[p.workload_ids[w]] for w in keep}))


def without_slo(problem: Problem) -> Problem:
    """The problem with every SLO dropped (for a best-effort re-plan)."""
    workloads = tuple(w.model_copy(update={"slo": None}) for w in problem.workloads)
    return Problem.from_instance(problem.instance.model_copy(update={"workloads": workloads}), problem.source)


class Planner:
    """Calls the solver for a replay (one per replay).

    Attributes
    ----------
    relaxed
        Whether the latest solve dropped the SLOs (a best-effort plan).
    """

    def __init__(self, options: ReplayOptions):
        self.options = options
        self.relaxed = False

    def plan(self, p: Problem, current: Mapping[str, tuple[str, ...]] | None,
             segments: Mapping[str, Segments] | None = None) -> Plan | None:
        """A feasible plan for the servable workloads (others keep theirs), or None.

        Parameters
        ----------
        p
            The snapshot.
        current
            The latest plan (warm start and ``previous``); None at time 0, where
            unservable workloads get every layer on their source as a placeholder.
        segments
            Cut points to keep (``migrate`` mode), or None to re-split freely.
        """
        keep = servable(p)
        if not keep:
            return None
        plan = self._plan_servable(restrict(p, keep), current, segments)
        if plan is None:
            return None
        full = dict(current) if current is not None else {
            w: (p.workloads[k].source,) * int(p.workload_num_layers[k]) for k, w in enumerate(p.workload_ids)}
        full.update(plan)
        return full

    def _plan_servable(self, sub: Problem, current: Mapping[str, tuple[str, ...]] | None,
                       segments: Mapping[str, Segments] | None) -> Plan | None:
        """The solver's plan for ``sub`` if the evaluator finds it feasible, else None."""
        cur = None if current is None else {w: tuple(current[w]) for w in sub.workload_ids}
        coarse = None
        cur_on: Plan | None
        if segments is not None and cur is not None:
            coarse = coarsen(sub, {w: segments[w] for w in sub.workload_ids})
            solve_on, cur_on = coarse.problem, coarse.shrink(cur)
        else:
            solve_on, cur_on = sub, cur
        sol = self._call_solver(solve_on, cur_on)
        self.relaxed = False
        if sol is None and any(w.slo is not None for w in sub.workloads):
            # No plan meets every SLO: the best plan that meets everything else.
            solve_on, sub = without_slo(solve_on), without_slo(sub)
            sol = self._call_solver(solve_on, cur_on)
            self.relaxed = True
        if sol is None:
            return None
        plan = _expand(coarse, sol)
        return plan if evaluate_array(sub, as_array(sub, plan)).feasible else None

    def _call_solver(self, problem: Problem, current: Plan | None) -> Plan | None:
        """The solver's plan if it is feasible, else None."""
        o = self.options
        sol = solve(problem, o.solver, time_limit=o.time_limit, seed=o.seed,
                    warm_start=current, previous=current, **o.solver_options)
        if not sol.assignment or not sol.feasible:
            return None
        return dict(sol.assignment)


def _expand(coarse: Coarse | None, plan: Plan) -> Plan:
    return coarse.expand(plan) if coarse is not None else plan


__all__ = ["Plan", "Planner", "restrict", "servable", "servable_evaluation", "without_slo"]
