"""``auto``: a heuristic incumbent, then the exact MILP warm-started with it.

The heuristic is ``local-search``; it gets :data:`HEURISTIC_SHARE` of the
time limit (:data:`HEURISTIC_SECONDS` without one).  The MILP then runs in the time left with the incumbent as its
warm start, so it never returns worse than the heuristic.  The answer is the
better of the two, ``optimal`` only when the MILP proved it, with the MILP's
bound.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from .backend import RawResult, SolveOptions, solver_info
from .evaluate import evaluate_array
from .problem import Problem
from .solution import SolveStatus

#: share of the time limit given to the heuristic stage
HEURISTIC_SHARE = 0.1
#: the heuristic stage's budget when there is no time limit
HEURISTIC_SECONDS = 5.0


def _heuristic(problem: Problem, options: SolveOptions) -> tuple[str, RawResult]:
    name = "local-search"
    remaining = options.remaining()
    budget = HEURISTIC_SHARE * remaining if np.isfinite(remaining) else HEURISTIC_SECONDS
    sub = replace(options, time_limit=budget, deadline=time.perf_counter() + budget)
    return name, solver_info(name).run(problem, sub)


def solve_auto(problem: Problem, options: SolveOptions) -> RawResult:
    """The ``auto`` backend (see the module docstring)."""
    name, first = _heuristic(problem, options)
    info: dict = {"heuristic": name, "heuristic_status": first.status.value}
    best = None
    if first.x is not None:
        best = (first.x, evaluate_array(problem, first.x, options.previous_keys).objective, name)
    if options.warm_start is not None:
        ev = evaluate_array(problem, options.warm_start, options.previous_keys)
        if ev.feasible and (best is None or ev.objective < best[1]):
            best = (np.asarray(options.warm_start), ev.objective, "warm start")
    if options.remaining() <= 0:
        return _answer(SolveStatus.FEASIBLE, best, None, info)
    exact_opts = replace(options, warm_start=None if best is None else best[0])
    raw = solver_info("milp").run(problem, exact_opts)
    info["milp"] = {k: v for k, v in raw.info.items() if not isinstance(v, (dict, list))}
    info["milp_status"] = raw.status.value
    if raw.status in (SolveStatus.INFEASIBLE, SolveStatus.ERROR) and best is None:
        return RawResult(raw.status, info=info)
    if raw.x is not None:
        obj = evaluate_array(problem, raw.x, options.previous_keys).objective
        if best is None or obj <= best[1]:
            best = (raw.x, obj, "milp")
    optimal = raw.status is SolveStatus.OPTIMAL and best is not None and best[2] == "milp"
    return _answer(SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE, best, raw.bound, info)


def _answer(status: SolveStatus, best, bound: float | None, info: dict) -> RawResult:
    if best is None:
        return RawResult(SolveStatus.NO_SOLUTION, bound=bound, info=info)
    x, obj, origin = best
    info["solution_from"] = origin
    return RawResult(status, x, bound, obj, info)
