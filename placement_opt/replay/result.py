"""What a replay reports: :class:`ReplayResult`, and the :class:`Recorder` that builds it."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..evaluate import evaluate_array
from ..problem import Problem
from ..solution import Solution, SolveStatus
from ..tolerance import exceeds
from .loads import Load
from .options import ReplayOptions

TIMELINE_COLUMNS = ("time", "workload", "latency", "up", "slo_ok", "duration")
UTILIZATION_COLUMNS = ("time", "kind", "id", "utilization")
EVENT_COLUMNS = ("time", "event", "id", "detail")
MIGRATION_COLUMNS = ("start", "end", "model", "layer", "node", "source", "bytes", "status")


@dataclass(frozen=True)
class ReplayResult:
    """What :func:`~placement_opt.replay.replay` returns.

    Attributes
    ----------
    timeline
        One row per (decision time, workload): ``time, workload, latency, up, slo_ok``
        (``latency`` is ``inf`` while the workload is down), plus ``duration``: the
        seconds until the next decision point (the row's values hold that long).
    utilization
        One row per (decision time, element): ``time, kind ('node'|'link'), id, utilization``.
    plans
        ``(time, Solution)`` for the initial plan and every plan put in service.
    events
        One row per notable event: ``time, event, id, detail`` where ``event`` is one of
        ``replan`` (id = policy trigger), ``failure``/``recovery`` (id = node or link id,
        detail = ``node``/``link``), ``load_complete`` (id = workload).
    migrations
        One row per weight load: ``start, end, model, layer, node, source, bytes``
        (plus ``status``: ``complete``, ``in_flight``, ``cancelled`` or ``no_route``).
    summary
        ``mean_latency, p95_latency, downtime, slo_miss_time, replans, bytes_migrated,
        decision_time_mean, decision_time_max`` and more.
    """

    timeline: pd.DataFrame
    utilization: pd.DataFrame
    plans: list[tuple[float, Solution]]
    events: pd.DataFrame
    migrations: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decisions:
    """Solver bookkeeping: re-plan attempts and their solver seconds."""

    count: int = 0
    seconds: list[float] = field(default_factory=list)
    initial_time: float = 0.0


@dataclass
class Run:
    """The facts of a finished replay that the summary reports besides the frames."""

    problem: Problem
    options: ReplayOptions
    horizon: float
    decisions: Decisions
    started: float


class Recorder:
    """Rows, events and plans collected while a replay runs."""

    def __init__(self) -> None:
        self.rows: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
        self.util_rows: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.events: list[tuple[float, str, str, str]] = []
        self.plans: list[tuple[float, Solution]] = []

    def event(self, t: float, event: str, rid: str, detail: str) -> None:
        """One row of ``events``."""
        self.events.append((t, event, rid, detail))

    def plan(self, t: float, p: Problem, x: np.ndarray, solver: str, why: str) -> None:
        """The serving assignment ``x`` at ``t``, as a plan put in service for reason ``why``."""
        ev = evaluate_array(p, x)
        sol = Solution(p.array_to_assignment(x), SolveStatus.UNKNOWN, ev.objective,
                       solver=solver, feasible=ev.feasible, info={"time": t, "reason": why})
        self.plans.append((t, sol))

    def row(self, t: float, p: Problem, x: np.ndarray) -> None:
        """The timeline and utilisation rows of decision point ``t`` (serving assignment ``x``)."""
        ev = evaluate_array(p, x)
        latency = ev.arrays["latency"]
        bad_node = np.bincount(p.flat.workload, ~p.node_available[x], p.num_workloads) > 0
        up = ~bad_node & np.isfinite(latency)
        latency = np.where(up, latency, np.inf)
        slo = p.workload_slo
        slo_ok = up & ~exceeds(latency, slo)
        self.rows.append((t, latency, up, slo_ok))
        link_util = ev.arrays["link_load"] / p.link_bandwidth if p.num_links else np.zeros(0)
        self.util_rows.append((t, ev.arrays["node_utilization"].copy(), link_util))

    def result(self, run: Run, loads: Sequence[Load]) -> ReplayResult:
        """The :class:`ReplayResult` of a finished replay."""
        p = run.problem
        timeline = self._timeline(p, run.horizon)
        migrations = _migrations(p, loads)
        summary = _summary(timeline, migrations, run, len(self.rows))
        return ReplayResult(
            timeline=timeline,
            utilization=self._utilization(p),
            plans=self.plans,
            events=pd.DataFrame(self.events, columns=list(EVENT_COLUMNS)),
            migrations=migrations,
            summary=summary,
        )

    def _timeline(self, p: Problem, horizon: float) -> pd.DataFrame:
        n_w = p.num_workloads
        times = np.array([r[0] for r in self.rows], dtype=float)
        dur = np.diff(np.append(times, horizon))
        if not self.rows:
            return pd.DataFrame(columns=list(TIMELINE_COLUMNS))
        return pd.DataFrame({
            "time": np.repeat(times, n_w),
            "workload": np.tile(np.array(p.workload_ids, dtype=object), len(times)),
            "latency": np.concatenate([r[1] for r in self.rows]),
            "up": np.concatenate([r[2] for r in self.rows]),
            "slo_ok": np.concatenate([r[3] for r in self.rows]),
            "duration": np.repeat(dur, n_w),
        })

    def _utilization(self, p: Problem) -> pd.DataFrame:
        ids = np.array(list(p.node_ids) + list(p.link_ids), dtype=object)
        kinds = np.array(["node"] * p.num_nodes + ["link"] * p.num_links, dtype=object)
        times = np.array([r[0] for r in self.util_rows], dtype=float)
        values = [np.concatenate([r[1], r[2]]) for r in self.util_rows]
        return pd.DataFrame({
            "time": np.repeat(times, ids.size),
            "kind": np.tile(kinds, len(times)),
            "id": np.tile(ids, len(times)),
            "utilization": np.concatenate(values) if values else np.zeros(0),
        })


def _migrations(p: Problem, loads: Sequence[Load]) -> pd.DataFrame:
    n = p.num_nodes
    recs = []
    for ld in sorted(loads, key=lambda d: (d.start, d.key)):
        g, node = divmod(ld.key, n)
        m = int(p.layer_model[g])
        recs.append((ld.start, ld.end, p.model_ids[m], int(g - p.model_offset[m]), p.node_ids[node],
                     p.node_ids[ld.source] if ld.source >= 0 else None, ld.nbytes, ld.status))
    return pd.DataFrame(recs, columns=list(MIGRATION_COLUMNS))


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Smallest value ``v`` such that the weight of values ``<= v`` is at least
    ``q`` of the total (NaN when the total weight is 0).

    Parameters
    ----------
    values, weights
        Arrays of one length; entries of weight 0 are ignored.
    q
        The quantile, in [0, 1].
    """
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if values.size == 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, q * cum[-1] * (1 - 1e-12)))
    return float(values[order][min(k, values.size - 1)])


def _summary(timeline: pd.DataFrame, migrations: pd.DataFrame, run: Run, decision_points: int) -> dict[str, Any]:
    dur = timeline["duration"].to_numpy(dtype=float)
    up = timeline["up"].to_numpy(dtype=bool)
    lat = timeline["latency"].to_numpy(dtype=float)
    up_time = float(dur[up].sum())
    slo_ok = timeline["slo_ok"].to_numpy(dtype=bool)
    p = run.problem
    with_slo = {wid for wid, slo in zip(p.workload_ids, p.workload_slo) if np.isfinite(slo)}
    has_slo = timeline["workload"].isin(with_slo).to_numpy(dtype=bool)
    done = migrations[migrations["status"] == "complete"]
    seconds = run.decisions.seconds
    o = run.options
    return {
        "mean_latency": float((lat[up] * dur[up]).sum() / up_time) if up_time > 0 else math.nan,
        "p95_latency": weighted_quantile(lat[up], dur[up], 0.95),
        "downtime": float(dur[~up].sum()),
        "slo_miss_time": float(dur[has_slo & ~slo_ok].sum()),
        "slo_late_time": float(dur[up & ~slo_ok].sum()),
        "up_time": up_time,
        "replans": run.decisions.count,
        "bytes_migrated": float(done["bytes"].sum()),
        "bytes_started": float(migrations.loc[migrations["status"] != "no_route", "bytes"].sum()),
        "loads": int(len(done)),
        "decision_time_mean": float(np.mean(seconds)) if seconds else 0.0,
        "decision_time_max": float(np.max(seconds)) if seconds else 0.0,
        "decision_time": {"mean": float(np.mean(seconds)) if seconds else 0.0,
                          "max": float(np.max(seconds)) if seconds else 0.0},
        "initial_solve_time": run.decisions.initial_time,
        "decision_points": decision_points,
        "wall_time": time.perf_counter() - run.started,
        "horizon": run.horizon,
        "policy": o.policy,
        "mode": o.mode,
        "solver": o.solver,
    }


__all__ = ["EVENT_COLUMNS", "MIGRATION_COLUMNS", "TIMELINE_COLUMNS", "UTILIZATION_COLUMNS", "Decisions",
           "Recorder", "ReplayResult", "Run", "weighted_quantile"]
