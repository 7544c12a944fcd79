"""The public entry point, :func:`replay`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from ..problem import Problem
from ..solution import Solution
from ..trace import Trace
from .options import DEFAULT_MIGRATION_WEIGHT, DEFAULT_THRESHOLD, DEFAULT_TIME_LIMIT, ReplayOptions
from .replayer import Replayer
from .result import ReplayResult
from .snapshots import check_trace

P = ParamSpec("P")
R = TypeVar("R")


def _settings_or_options(func: Callable[P, R]) -> Callable[P, R]:
    """Refuse a call that passes ``options=`` together with individual settings."""
    names = list(inspect.signature(func).parameters)

    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        if kwargs.get("options") is not None:
            given = names[2:len(args)] + [k for k in kwargs if k not in ("options", *names[:2])]
            if given:
                raise TypeError(f"{func.__name__}() takes either options= or individual settings, not both "
                                f"(got {', '.join(given)} with options=)")
        return func(*args, **kwargs)

    return call


@_settings_or_options
def replay(
    problem: Problem,
    trace: Trace,
    policy: str = "static",
    solver: str = "local-search",
    mode: str = "resplit",
    interval: float | None = None,
    threshold: float | None = None,
    initial: Solution | Mapping[str, Any] | None = None,
    horizon: float | None = None,
    seed: int = 0,
    *,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    solver_options: Mapping[str, Any] | None = None,
    migration_weight: float | None = DEFAULT_MIGRATION_WEIGHT,
    budget: float | None = None,
    progress: bool = False,
    options: ReplayOptions | None = None,
) -> ReplayResult:
    """Replay a plan against a trace, re-planning as a policy says (SPEC 7).

    Pass the settings one by one, or all at once as ``options`` (not both).

    Parameters
    ----------
    problem
        The instance at time 0 (before the trace's events); never modified.
    trace
        The events; checked once against ``problem``.
    policy
        ``static`` (never re-plan), ``periodic`` (every ``interval`` s),
        ``reactive`` (when the plan becomes infeasible, misses an SLO, or its
        objective exceeds ``(1 + threshold)`` times its value when planned) or
        ``oracle`` (at every event time).
    solver
        Solver name for the initial plan and the re-plans.
    mode
        ``migrate`` keeps each workload's cut points (of the initial plan);
        ``resplit`` is free.
    interval
        Re-plan period for ``periodic`` (required there), seconds.
    threshold
        Relative objective degradation for ``reactive`` (None: 0.2).
    initial
        The plan at time 0; default: ``solver`` on the time-0 snapshot.
    horizon
        End of the replay, seconds; default ``trace.end`` if the trace has one,
        else the last event time.
    seed
        Seed passed to every solver call.
    time_limit
        Solver seconds per decision (None: no limit).
    solver_options
        Extra keyword options for :func:`placement_opt.solve` (the solver's own
        parameters, or ``gap``, ``threads``, ``log``).
    migration_weight
        Weight of the ``migration`` term (per byte) used when the instance does
        not weight it; None leaves the objective as it is.
    budget
        Wall-clock seconds for the whole replay; once spent, no more re-plans.
    progress
        Show a progress bar.
    options
        All of the settings above as one :class:`ReplayOptions`.

    Returns
    -------
    ReplayResult

    Raises
    ------
    ValueError
        For an unknown policy or mode, a missing or bad ``interval``, a bad
        ``threshold``, ``horizon`` or other number (see :class:`ReplayOptions`).
    SolverError
        For an unknown solver or solver option.
    TypeError
        When ``options`` comes with individual settings.
    TraceError
        For events that do not fit the problem.
    SolutionError
        For an ``initial`` plan that does not fit the problem.
    """
    if options is None:
        options = ReplayOptions(
            policy=policy, solver=solver, mode=mode, interval=interval,
            threshold=DEFAULT_THRESHOLD if threshold is None else threshold, initial=initial, horizon=horizon,
            seed=seed, time_limit=time_limit, solver_options=solver_options or {},
            migration_weight=migration_weight, budget=budget, progress=progress)
    return run_replay(problem, trace, options)


def run_replay(problem: Problem, trace: Trace, options: ReplayOptions) -> ReplayResult:
    """:func:`replay` with its settings as one :class:`ReplayOptions`."""
    horizon = options.horizon_for(trace)
    check_trace(problem, trace)
    run = Replayer(with_migration_weight(problem, options.migration_weight), trace, options, horizon)
    run.run()
    return run.result()


def with_migration_weight(problem: Problem, weight: float | None) -> Problem:
    """``problem`` with ``migration`` weighted ``weight`` per byte, unless the
    instance weights it already or ``weight`` is None."""
    if weight is None or problem.objective_weights.get("migration"):
        return problem
    objective = dict(problem.objective_weights) | {"migration": float(weight)}
    return Problem.from_instance(problem.instance.model_copy(update={"objective": objective}), problem.source)


__all__ = ["replay", "run_replay", "with_migration_weight"]
