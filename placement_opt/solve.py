"""One entry point for every solver: ``solve(problem, solver=...) -> Solution``.

The solvers are listed in :mod:`placement_opt.backend`.  A backend receives the
problem and a :class:`SolveOptions` (with its own validated parameters) and
returns a :class:`RawResult` holding a flat node-index array (or none), its
status and bound.  :func:`solve` then scores the array with the evaluator: the
objective a Solution reports is always the evaluator's.  The backend's own
objective is kept in ``info["solver_objective"]`` as a cross-check.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from .backend import RawResult, SolveOptions, SolverInfo, list_solvers, register_solver, solver_info
from .errors import SolverError
from .evaluate import as_array, evaluate_array, placed_keys
from .problem import Problem
from .solution import Solution, SolveStatus, relative_gap

__all__ = ["OBJECTIVE_RTOL", "RawResult", "SolveOptions", "SolverInfo", "finish", "list_solvers",
           "register_solver", "solve", "solver_info"]

#: Relative tolerance within which a backend's own objective must match the evaluator's.
OBJECTIVE_RTOL = 1e-6


def solve(
    problem: Problem,
    solver: str = "milp",
    time_limit: float | None = None,
    gap: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    warm_start: Solution | Mapping[str, Any] | None = None,
    previous: Solution | Mapping[str, Any] | None = None,
    log: bool = False,
    **options: Any,
) -> Solution:
    """Solve a problem with any registered solver.

    Parameters
    ----------
    problem
        A validated problem; it is never modified.
    solver
        A name from :func:`list_solvers`.
    time_limit
        Wall-clock seconds for the whole call, or None for no limit.
    gap
        Relative optimality gap at which an exact solver may stop (status
        ``feasible`` unless the gap is closed); None means prove optimality.
    threads
        Worker threads inside the solver (None: the solver's default).
    seed
        Random seed.  The same instance and seed give the same answer on any
        machine (float comparisons use the tolerances of
        :mod:`placement_opt.tolerance`), except where ``time_limit`` cuts a
        search short, and for ``cpsat`` with several threads.
    warm_start
        A solution or assignment to start from (a hint for exact solvers).
    previous
        The solution before a re-plan; enables the ``migration`` term.
    log
        Print the solver's log.
    **options
        The solver's own options (``placement-opt list-solvers`` shows them
        with their defaults); an unknown name or a value of the wrong type
        raises :class:`SolverError`.

    Returns
    -------
    Solution
        With the evaluator's objective and feasibility, the solver's status and
        bound, and details in ``info``.
    """
    info = solver_info(solver)
    params = info.make_params(options)
    if time_limit is not None and not (time_limit > 0):
        raise SolverError(f"time_limit must be > 0 seconds, got {time_limit!r}")
    if gap is not None and not (0 <= gap < 1):
        raise SolverError(f"gap must be in [0, 1), got {gap!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise SolverError(f"threads must be a positive integer, got {threads!r}")
    start = time.perf_counter()
    opts = SolveOptions(
        time_limit=time_limit,
        gap=gap,
        threads=threads,
        seed=int(seed),
        warm_start=None if warm_start is None else as_array(problem, warm_start),
        previous=previous,
        previous_keys=None if previous is None else placed_keys(problem, previous),
        log=log,
        params=params,
        deadline=start + time_limit if time_limit is not None else math.inf,
    )
    raw = info.func(problem, opts)
    return finish(problem, raw, solver, opts, time.perf_counter() - start)


def finish(problem: Problem, raw: RawResult, solver: str, opts: SolveOptions, elapsed: float) -> Solution:
    """Score a backend's answer with the evaluator and build the Solution."""
    details = dict(raw.info)
    details.setdefault("seed", opts.seed)
    if opts.time_limit is not None:
        details.setdefault("time_limit", opts.time_limit)
    if raw.x is None or not raw.status.has_solution:
        return Solution({}, raw.status, None, raw.bound, solver, elapsed, None, details)
    ev = evaluate_array(problem, raw.x, opts.previous_keys)
    status = raw.status
    bound = raw.bound
    if raw.solver_objective is not None:
        details["solver_objective"] = raw.solver_objective
        scale = max(abs(ev.objective), 1e-9)
        mismatch = abs(raw.solver_objective - ev.objective) / scale
        details["objective_mismatch"] = mismatch
    if not ev.feasible:
        details["error"] = "the solver returned an assignment the evaluator finds infeasible: " + "; ".join(
            str(v) for v in ev.violations[:5]
        )
        status = SolveStatus.ERROR
    elif status is SolveStatus.OPTIMAL:
        bound = ev.objective if bound is None else min(bound, ev.objective)
    if bound is not None and math.isfinite(ev.objective):
        bound = min(bound, ev.objective)
    details["gap"] = relative_gap(ev.objective, bound)
    assignment = problem.array_to_assignment(raw.x)
    return Solution(assignment, status, ev.objective, bound, solver, elapsed, ev.feasible, details)
