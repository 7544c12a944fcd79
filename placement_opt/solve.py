"""One entry point for every solver: ``solve(problem, solver=...) -> Solution``.

Backends (exact solvers and heuristics) register themselves with
:func:`register_solver`.  A backend receives the problem and a
:class:`SolveOptions` and returns a :class:`RawResult` holding a flat node-index
array (or none), its status and bound.  :func:`solve` then scores the array with
the evaluator: the objective a Solution reports is always the evaluator's.  The
backend's own objective is kept in ``info["solver_objective"]`` as a cross-check.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import SolverError
from .evaluate import as_array, evaluate_array, placed_keys
from .problem import Problem
from .solution import Solution, SolveStatus, relative_gap

#: Relative tolerance within which a backend's own objective must match the evaluator's.
OBJECTIVE_RTOL = 1e-6


@dataclass(frozen=True)
class SolveOptions:
    """Options common to all solvers (see :func:`solve`)."""

    time_limit: float | None = None
    gap: float | None = None
    threads: int | None = None
    seed: int = 0
    warm_start: np.ndarray | None = None
    previous: Solution | Mapping[str, Any] | None = None
    previous_keys: np.ndarray | None = None
    log: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    deadline: float = math.inf

    def remaining(self) -> float:
        """Seconds left before the time limit (``inf`` without one)."""
        return max(0.0, self.deadline - time.perf_counter())

    def search_deadline(self) -> float:
        """The deadline less a margin kept for scoring the answer: the smaller
        of 0.05 s and 10 % of the time limit (none without a limit)."""
        if self.time_limit is None:
            return self.deadline
        return self.deadline - min(0.05, 0.1 * self.time_limit)


@dataclass
class RawResult:
    """What a backend returns to :func:`solve`."""

    status: SolveStatus
    x: np.ndarray | None = None
    bound: float | None = None
    solver_objective: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SolverInfo:
    name: str
    func: Callable[[Problem, SolveOptions], RawResult]
    exact: bool
    description: str
    source: str | None = None


_REGISTRY: dict[str, SolverInfo] = {}

# Where each built-in solver lives; modules are imported on first use, so that
# a heuristic run does not pay for importing Pyomo or OR-Tools.
_BUILTIN = {
    "brute-force": "placement_opt.brute",
    "milp": "placement_opt.milp",
    "milp-textbook": "placement_opt.milp.textbook",
    "cpsat": "placement_opt.cpsat",
    "greedy": "placement_opt.heuristics",
    "local-search": "placement_opt.heuristics.local_search",
    "auto": "placement_opt.heuristics.portfolio",
    "random": "placement_opt.heuristics.baselines",
    "neurosurgeon": "placement_opt.heuristics.baselines",
    "even-split": "placement_opt.heuristics.baselines",
    "memory-proportional": "placement_opt.heuristics.baselines",
    "device-only": "placement_opt.heuristics.baselines",
    "edge-only": "placement_opt.heuristics.baselines",
    "cloud-only": "placement_opt.heuristics.baselines",
    "edgeshard-dp": "placement_opt.heuristics.baselines",
    "petals": "placement_opt.heuristics.baselines",
    "pipeedge-dp": "placement_opt.heuristics.pipeedge_dp",
    "abs": "placement_opt.heuristics.abs_search",
}


def register_solver(name: str, *, exact: bool, description: str, source: str | None = None):
    """Decorator: register ``func(problem, options) -> RawResult`` under ``name``."""

    def wrap(func: Callable[[Problem, SolveOptions], RawResult]):
        _REGISTRY[name] = SolverInfo(name, func, exact, description, source)
        return func

    return wrap


def _load(module: str) -> None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise


def list_solvers(exact: bool | None = None) -> list[str]:
    """Names of the registered solvers (optionally only exact or only heuristic)."""
    for module in dict.fromkeys(_BUILTIN.values()):
        _load(module)
    return sorted(n for n, s in _REGISTRY.items() if exact is None or s.exact == exact)


def solver_info(name: str) -> SolverInfo:
    if name not in _REGISTRY and name in _BUILTIN:
        _load(_BUILTIN[name])
    if name not in _REGISTRY:
        list_solvers()
        from .errors import did_you_mean

        hint = did_you_mean(name, _REGISTRY) or "known: " + ", ".join(sorted(_REGISTRY))
        raise SolverError(f"unknown solver {name!r} ({hint})")
    return _REGISTRY[name]


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
        Random seed; the same seed gives the same answer.
    warm_start
        A solution or assignment to start from (a hint for exact solvers).
    previous
        The solution before a re-plan; enables the ``migration`` term.
    log
        Print the solver's log.
    **options
        Solver-specific options.

    Returns
    -------
    Solution
        With the evaluator's objective and feasibility, the solver's status and
        bound, and details in ``info``.
    """
    info = solver_info(solver)
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
        extra=dict(options),
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
