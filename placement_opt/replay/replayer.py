"""The replay's event loop: snapshots, policy, re-plans and weight loads, in time order.

At every decision point (time 0, event times, the policy's own times, load
completions) the loop completes due loads, asks the policy whether to re-plan,
evicts unused weights and records one row per workload.  The replayer is also
the :class:`~.policies.ReplayState` that policies look at.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SolverError
from ..evaluate import Evaluation, as_array
from ..problem import Problem
from ..solution import Solution
from ..trace import Trace
from .coarse import segments_of
from .loads import KeySpace, Weights
from .options import ReplayOptions
from .planner import Plan, Planner, servable, servable_evaluation
from .result import Decisions, Recorder, ReplayResult, Run
from .snapshots import Flip, Snapshots

if TYPE_CHECKING:  # pragma: no cover
    from rich.progress import Progress


class Replayer:
    """State machine behind :func:`~placement_opt.replay.replay` (one per call).

    Parameters
    ----------
    problem
        The instance at time 0 (migration weight already applied).
    trace
        The events, already checked against ``problem``.
    options
        The settings.
    horizon
        End of the replay, seconds (:meth:`ReplayOptions.horizon_for`).
    """

    def __init__(self, problem: Problem, trace: Trace, options: ReplayOptions, horizon: float):
        self.options = options
        self.horizon = horizon
        self.policy = options.make_policy()
        self.planner = Planner(options)
        self.snap = Snapshots(problem, trace.events)
        self.snap.advance(0.0)
        self.keys = KeySpace.of(self.snap.problem)
        self.record = Recorder()
        self.decisions = Decisions()
        self._needs: dict[int, int] = {}
        self.planned_at = 0.0
        self.started = time.perf_counter()

    # --------------------------------------------------- what policies see
    @property
    def relaxed(self) -> bool:
        """Whether the latest solve dropped the SLOs."""
        return self.planner.relaxed

    def is_event_time(self, t: float) -> bool:
        """Whether some trace event happens at exactly ``t``."""
        return self.snap.has_event_at(t)

    def servable(self) -> list[int]:
        """Workloads some plan could serve on the current snapshot."""
        return servable(self.snap.problem)

    def latest_evaluation(self) -> Evaluation:
        """The latest plan on the current snapshot (servable workloads)."""
        return servable_evaluation(self.snap.problem, self.target)

    # ------------------------------------------------------------ the loop
    def run(self) -> None:
        """Replay from time 0 to the horizon."""
        bar = _progress(self.options.progress, self.horizon)
        t = 0.0
        try:
            self.start()
            flips: list[Flip] = []
            while True:
                self._decide(t, flips)
                t_next = min(self.snap.next_time, self.policy.next_decision(t), self.weights.next_end(t),
                             self.horizon)
                if t_next >= self.horizon:
                    break
                t = t_next
                flips = self._advance(t)
                if bar is not None:
                    bar.update(bar.task_ids[0], completed=t)
        finally:
            if bar is not None:
                bar.update(bar.task_ids[0], completed=self.horizon)
                bar.stop()

    def start(self) -> None:
        """Put the initial plan in service at time 0."""
        p = self.snap.problem
        t0 = time.perf_counter()
        plan = self._initial_plan(p)
        self.decisions.initial_time = time.perf_counter() - t0
        x = as_array(p, plan)
        self.serving = x.copy()
        self.target = x.copy()
        self.segments = {w: segments_of(tuple(plan[w])) for w in p.workload_ids}
        self.weights = Weights(set(self.keys.placed(x).tolist()))
        self.plan_objective = servable_evaluation(p, x).objective
        self.planned_at = 0.0
        self._record_plan(0.0, "initial")

    def _initial_plan(self, p: Problem) -> Plan:
        initial = self.options.initial
        if initial is not None:
            return dict(initial.assignment if isinstance(initial, Solution) else initial)
        plan = self.planner.plan(p, None)
        if plan is None:
            raise SolverError(f"solver {self.options.solver!r} found no plan for the time-0 snapshot")
        return plan

    def _decide(self, t: float, flips: Sequence[Flip]) -> None:
        """Everything that happens at decision point ``t``."""
        self._complete_loads(t)
        self._maybe_replan(t, flips)
        self.weights.keep_only(set(self.keys.placed(self.serving).tolist())
                               | set(self.keys.placed(self.target).tolist()))
        self.record.row(t, self.snap.problem, self.serving)

    def _advance(self, t: float) -> list[Flip]:
        """Apply the events up to ``t``; record failures and recoveries."""
        flips = self.snap.advance(t)
        for kind, rid, up in flips:
            self.record.event(t, "recovery" if up else "failure", rid, kind)
        return flips

    # --------------------------------------------------------------- loads
    def _complete_loads(self, t: float) -> None:
        self.weights.complete(t)
        self._switch(t)

    def _switch(self, t: float) -> None:
        """Workloads whose new placement is resident switch to it."""
        switched = False
        for w, wid in enumerate(self.snap.problem.workload_ids):
            s = self.keys.span(w)
            if np.array_equal(self.serving[s], self.target[s]):
                continue
            if all(int(k) in self.weights.resident for k in self.keys.of_workload(self.target, w)):
                self.serving[s] = self.target[s]
                switched = True
                needed = self._needs.get(w, 0)
                if needed:
                    self.record.event(t, "load_complete", wid, f"{needed} loads")
        if switched:
            self._record_plan(t, "switch")

    def _start_loads(self, t: float) -> None:
        p = self.snap.problem
        self.weights.start(p, set(self.keys.placed(self.target).tolist()), t)
        self._needs = {w: self.weights.in_flight(self.keys.of_workload(self.target, w))
                       for w in range(p.num_workloads)}

    # ------------------------------------------------------------ re-plans
    def _maybe_replan(self, t: float, flips: Sequence[Flip]) -> None:
        if t == 0.0 or self._over_budget():
            return
        trigger = self.policy.trigger(t, flips, self)
        if trigger is None:
            return
        p = self.snap.problem
        t0 = time.perf_counter()
        plan = self.planner.plan(p, p.array_to_assignment(self.target),
                                 self.segments if self.options.keeps_cut_points else None)
        self.decisions.seconds.append(time.perf_counter() - t0)
        self.decisions.count += 1
        if plan is None:
            self.policy.replan_failed(t, self)
            self.record.event(t, "replan", trigger, "no feasible plan; kept the current one")
            return
        self._adopt(t, p, plan, trigger)

    def _adopt(self, t: float, p: Problem, plan: Plan, trigger: str) -> None:
        """Make ``plan`` the latest plan: start its loads, switch what can switch."""
        self.target = as_array(p, plan)
        if not self.options.keeps_cut_points:
            self.segments = {w: segments_of(tuple(plan[w])) for w in p.workload_ids}
        self.plan_objective = servable_evaluation(p, self.target).objective
        self.planned_at = t
        self._start_loads(t)
        detail = f"{len(self.weights.loads)} loads in flight" + (
            "; best effort: SLOs relaxed" if self.planner.relaxed else "")
        self.record.event(t, "replan", trigger, detail)
        self._switch(t)

    def _over_budget(self) -> bool:
        budget = self.options.budget
        return budget is not None and time.perf_counter() - self.started > budget

    # -------------------------------------------------------------- result
    def _record_plan(self, t: float, why: str) -> None:
        self.record.plan(t, self.snap.problem, self.serving, self.options.solver, why)

    def result(self) -> ReplayResult:
        """The result of the finished replay."""
        run = Run(self.snap.problem, self.options, self.horizon, self.decisions, self.started)
        return self.record.result(run, self.weights.all())


def _progress(enabled: bool, horizon: float) -> Progress | None:
    """A started progress bar over simulated seconds, or None."""
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("replay"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
                   TimeElapsedColumn(), transient=True)
    bar.add_task("replay", total=max(horizon, 1e-9))
    bar.start()
    return bar


__all__ = ["Replayer"]
