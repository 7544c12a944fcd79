"""Every setting of a replay in one typed value, checked in one place.

:class:`ReplayOptions` is what :func:`~placement_opt.replay.replay` runs on: its
keyword arguments build one, or pass ``options=ReplayOptions(...)`` instead.
Bad settings raise ``ValueError`` (the CLI exits with status 2); an unknown
solver or solver option raises :class:`~placement_opt.errors.SolverError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..backend import solver_info
from ..solution import Solution
from ..trace import Trace
from .policies import Policy, policy_class

#: Re-plan modes: ``migrate`` keeps the initial plan's cut points, ``resplit`` is free.
MODES = ("migrate", "resplit")
#: Relative objective degradation that makes ``reactive`` re-plan by default.
DEFAULT_THRESHOLD = 0.2
#: Migration weight (objective units per byte) added when the instance has none.
DEFAULT_MIGRATION_WEIGHT = 1e-12
#: Default solver time limit per decision, seconds.
DEFAULT_TIME_LIMIT = 10.0

#: Keywords of :func:`placement_opt.solve` that the replay sets itself.
SET_BY_REPLAY = ("problem", "solver", "time_limit", "seed", "warm_start", "previous")
#: Keywords of :func:`placement_opt.solve` common to every solver (not solver parameters).
COMMON_SOLVE_OPTIONS = ("gap", "threads", "log")


@dataclass(frozen=True)
class ReplayOptions:
    """The settings of one replay (SPEC 7), validated when built.

    Attributes
    ----------
    policy
        ``static`` (never re-plan), ``periodic`` (every ``interval`` s),
        ``reactive`` (when the plan becomes infeasible, misses an SLO, or its
        objective exceeds ``(1 + threshold)`` times its value when planned) or
        ``oracle`` (at every event time); see :data:`POLICIES`.
    solver
        Solver name for the initial plan and the re-plans.
    mode
        ``migrate`` keeps each workload's cut points (of the initial plan);
        ``resplit`` is free.
    interval
        Re-plan period for ``periodic`` (required there), seconds.
    threshold
        Relative objective degradation for ``reactive``.
    initial
        The plan at time 0; None: ``solver`` on the time-0 snapshot.
    horizon
        End of the replay, seconds; None: ``trace.end`` if the trace has one,
        else the last event time (see :meth:`horizon_for`).
    seed
        Seed passed to every solver call.
    time_limit
        Solver seconds per decision (None: no limit).
    solver_options
        Extra keyword options for :func:`placement_opt.solve`: the solver's own
        parameters, or ``gap``, ``threads``, ``log``.
    migration_weight
        Weight of the ``migration`` term (per byte) used when the instance does
        not weight it; None leaves the objective as it is.
    budget
        Wall-clock seconds for the whole replay; once spent, no more re-plans.
    progress
        Show a progress bar.

    Raises
    ------
    ValueError
        For an unknown policy or mode, a policy missing a setting it needs
        (``periodic`` without ``interval``), or a bad number.
    SolverError
        For an unknown solver or solver option (checked only when the solver
        will run: for any policy but ``static``, or without ``initial``).
    """

    policy: str = "static"
    solver: str = "local-search"
    mode: str = "resplit"
    interval: float | None = None
    threshold: float = DEFAULT_THRESHOLD
    initial: Solution | Mapping[str, Any] | None = None
    horizon: float | None = None
    seed: int = 0
    time_limit: float | None = DEFAULT_TIME_LIMIT
    solver_options: Mapping[str, Any] = field(default_factory=dict)
    migration_weight: float | None = DEFAULT_MIGRATION_WEIGHT
    budget: float | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        policy = policy_class(self.policy)
        if self.mode not in MODES:
            raise ValueError(f"unknown mode {self.mode!r}: one of {', '.join(MODES)}")
        policy.from_settings(self)  # settings the policy needs
        _check_numbers(self)
        if policy.replans or self.initial is None:
            _check_solver(self.solver, self.solver_options)
        self._set("threshold", float(self.threshold))
        self._set("horizon", None if self.horizon is None else float(self.horizon))
        self._set("seed", int(self.seed))
        self._set("solver_options", MappingProxyType(dict(self.solver_options)))
        self._set("progress", bool(self.progress))

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @property
    def keeps_cut_points(self) -> bool:
        """Whether re-plans keep each workload's cut points (``migrate`` mode)."""
        return self.mode == "migrate"

    def make_policy(self) -> Policy:
        """A fresh policy object (policies may keep state during a replay)."""
        return policy_class(self.policy).from_settings(self)

    def horizon_for(self, trace: Trace) -> float:
        """The end of the replay of ``trace``: :attr:`horizon`, else the trace's
        ``end``, else its last event time (0 without events).

        Raises
        ------
        ValueError
            When that is not a finite number >= 0.
        """
        horizon = self.horizon
        if horizon is None:
            horizon = getattr(trace, "end", None)
        if horizon is None:
            horizon = float(trace.events["time"].max()) if len(trace.events) else 0.0
        return _horizon(horizon)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float))


def _check_numbers(o: ReplayOptions) -> None:
    """Range checks of the numeric settings (None is allowed where the field allows it)."""
    if o.interval is not None and not (_is_number(o.interval) and math.isfinite(o.interval) and o.interval > 0):
        raise ValueError(f"interval must be a finite number of seconds > 0, got {o.interval!r}")
    if not (_is_number(o.threshold) and o.threshold >= 0):
        raise ValueError(f"threshold must be a number >= 0, got {o.threshold!r}")
    mw = o.migration_weight
    if mw is not None and not (_is_number(mw) and mw >= 0 and math.isfinite(mw)):
        raise ValueError(f"migration_weight must be a finite number >= 0, got {mw!r}")
    if o.horizon is not None:
        _horizon(o.horizon)
    if o.time_limit is not None and not (_is_number(o.time_limit) and o.time_limit > 0):
        raise ValueError(f"time_limit must be a number of seconds > 0 or None, got {o.time_limit!r}")
    if o.budget is not None and not (_is_number(o.budget) and o.budget >= 0):
        raise ValueError(f"budget must be a number of seconds >= 0 or None, got {o.budget!r}")
    if not isinstance(o.solver_options, Mapping):
        raise ValueError(f"solver_options must be a mapping of option names to values, got {o.solver_options!r}")


def _horizon(value: Any) -> float:
    try:
        horizon = float(value)
    except (TypeError, ValueError):
        horizon = math.nan
    if not (math.isfinite(horizon) and horizon >= 0):
        raise ValueError(f"horizon must be a finite number of seconds >= 0, got {value!r}")
    return horizon


def _check_solver(solver: str, options: Mapping[str, Any]) -> None:
    """The solver exists and takes ``options`` (raises ``SolverError`` with a did-you-mean)."""
    info = solver_info(solver)
    taken = [key for key in options if key in SET_BY_REPLAY]
    if taken:
        raise ValueError(f"solver_options cannot set {', '.join(map(repr, taken))}: the replay sets "
                         "those itself (use ReplayOptions.time_limit and seed)")
    info.make_params({k: v for k, v in options.items() if k not in COMMON_SOLVE_OPTIONS})


__all__ = ["COMMON_SOLVE_OPTIONS", "DEFAULT_MIGRATION_WEIGHT", "DEFAULT_THRESHOLD", "DEFAULT_TIME_LIMIT", "MODES",
           "SET_BY_REPLAY", "ReplayOptions"]
