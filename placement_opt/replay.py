"""Replay of plans against traces (SPEC 7).

:func:`replay` walks a :class:`~placement_opt.trace.Trace` in time order, keeps
the instance snapshot up to date incrementally, lets a policy re-plan, and
simulates make-before-break weight loading.  Every number on the timeline comes
from the evaluator on the snapshot, so a ``static`` replay's latencies equal
``evaluate(snapshot, initial)``.  All choices where the spec is silent are in
``docs/replay.md``.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import Issue, SolverError, TraceError
from .evaluate import FEASIBILITY_RTOL, Evaluation, as_array, evaluate_array
from .instance import Layer, Model
from .problem import Problem
from .solution import Solution, SolveStatus
from .trace import ATTRIBUTES, Trace

POLICIES = ("static", "periodic", "reactive", "oracle")
MODES = ("migrate", "resplit")

#: Relative objective degradation that makes ``reactive`` re-plan by default.
DEFAULT_THRESHOLD = 0.2
#: Migration weight (objective units per byte) added when the instance has none.
DEFAULT_MIGRATION_WEIGHT = 1e-12
#: Default solver time limit per decision, seconds.
DEFAULT_TIME_LIMIT = 10.0
#: After a re-plan finds no feasible plan, ``reactive`` waits this long (simulated
#: seconds) before trying again, unless a node recovers or the set of servable
#: workloads changes.
REACTIVE_RETRY = 60.0

TIMELINE_COLUMNS = ("time", "workload", "latency", "up", "slo_ok", "duration")
UTILIZATION_COLUMNS = ("time", "kind", "id", "utilization")
EVENT_COLUMNS = ("time", "event", "id", "detail")
MIGRATION_COLUMNS = ("start", "end", "model", "layer", "node", "source", "bytes", "status")


@dataclass(frozen=True)
class ReplayResult:
    """What :func:`replay` returns.

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


# --------------------------------------------------------------------------- #
# Snapshots
# --------------------------------------------------------------------------- #


class Snapshots:
    """The instance with every event up to a time applied, built incrementally.

    Changed records are replaced with pydantic ``model_copy(update=...)``, which
    skips validation (the trace was checked once, up front), and
    :meth:`Problem.with_records` keeps the derived arrays they leave as they are.
    """

    _SECTIONS = {"node": "nodes", "link": "links", "workload": "workloads"}

    def __init__(self, base: Problem, events: pd.DataFrame):
        self.base = base
        self.problem = base
        self._records = {
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

    def advance(self, t: float) -> list[tuple[str, str, bool]]:
        """Apply every event at times ``<= t``; return availability changes
        ``(kind, id, now_available)``."""
        changed: dict[str, dict[int, dict[str, Any]]] = {}
        flips: list[tuple[str, str, bool]] = []
        while self._next < len(self._rows) and self._times[self._next] <= t:
            kind, rid, attr, value = self._rows[self._next]
            self._next += 1
            k = self._index[kind][rid]
            new = bool(value) if attr == "available" else float(value)
            changed.setdefault(kind, {}).setdefault(k, {})[attr] = new
        for kind, updates in changed.items():
            records = self._records[kind]
            for k, attrs in updates.items():
                old = records[k]
                if "available" in attrs and attrs["available"] != old.available:
                    rid = old.id if kind == "node" else old.resolved_id
                    flips.append((kind, rid, attrs["available"]))
                records[k] = old.model_copy(update=attrs)
        if changed:
            self.problem = self.problem.with_records(
                **{self._SECTIONS[kind]: self._records[kind] for kind in changed})
        return flips


def check_trace(problem: Problem, trace: Trace) -> None:
    """Refuse events naming unknown kinds, ids or attributes, or bad values.

    Raises
    ------
    TraceError
        One issue per bad row (``line`` is the 1-based row of ``trace.events``).
    """
    validate = getattr(trace, "validate", None)
    if callable(validate):
        validate(problem)  # checks every row; the loop below is for older Trace objects
        return
    frame = trace.events
    missing = [c for c in ("time", "kind", "id", "attribute", "value") if c not in frame.columns]
    if missing:
        raise TraceError(Issue("", f"missing columns {missing}"), trace.source)
    index = {"node": problem.node_index, "link": problem.link_index, "workload": problem.workload_index}
    issues: list[Issue] = []
    rows = zip(frame["time"], frame["kind"], frame["id"], frame["attribute"], frame["value"])
    for k, (t, kind, rid, attr, value) in enumerate(rows):
        problem_text = _bad_event(index, float(t), kind, rid, attr, float(value))
        if problem_text:
            issues.append(Issue(problem_text[0], problem_text[1], line=k + 1))
            if len(issues) >= 50:
                break
    if issues:
        raise TraceError(issues, trace.source)


def _bad_event(index, t: float, kind: str, rid: str, attr: str, value: float) -> tuple[str, str] | None:
    if not (math.isfinite(t) and t >= 0):
        return "time", f"must be a finite number >= 0, got {t!r}"
    if kind not in ATTRIBUTES:
        return "kind", f"unknown kind {kind!r} (node, link or workload)"
    if rid not in index[kind]:
        return "id", f"unknown {kind} {rid!r}"
    if attr not in ATTRIBUTES[kind]:
        return "attribute", f"{kind} attribute {attr!r} cannot change (one of {', '.join(ATTRIBUTES[kind])})"
    if not math.isfinite(value):
        return "value", f"must be finite, got {value!r}"
    if attr == "available" and value not in (0.0, 1.0):
        return "value", f"available must be 0 or 1, got {value!r}"
    if attr == "utilization" and not 0 <= value < 1:
        return "value", f"utilization must be in [0, 1), got {value!r}"
    if attr == "bandwidth" and value <= 0:
        return "value", f"bandwidth must be > 0, got {value!r}"
    if value < 0:
        return "value", f"{attr} must be >= 0, got {value!r}"
    return None


# --------------------------------------------------------------------------- #
# Migrate mode: a problem whose layers are each workload's segments
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Coarse:
    """A coarsened problem: each workload's segments fused into single layers.

    ``segments[w]`` lists ``(first, last)`` layer ranges (inclusive) of workload ``w``.
    """

    problem: Problem
    segments: Mapping[str, tuple[tuple[int, int], ...]]

    def shrink(self, assignment: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """The coarse assignment of a real one (node of each segment's first layer)."""
        return {w: tuple(assignment[w][a] for a, _ in segs) for w, segs in self.segments.items()}

    def expand(self, coarse: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """The real assignment of a coarse one (every layer on its segment's node)."""
        out = {}
        for w, segs in self.segments.items():
            out[w] = tuple(node for (a, b), node in zip(segs, coarse[w]) for _ in range(b - a + 1))
        return out


def segments_of(nodes: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Maximal runs of equal nodes as ``(first, last)`` (SPEC 5 segments)."""
    out, start = [], 0
    for k in range(1, len(nodes) + 1):
        if k == len(nodes) or nodes[k] != nodes[start]:
            out.append((start, k - 1))
            start = k
    return tuple(out)


def coarsen(problem: Problem, segments: Mapping[str, tuple[tuple[int, int], ...]]) -> Coarse:
    """Fuse each workload's segments into layers (see docs/replay.md, migrate mode).

    Workloads with the same model and the same segments share one fused model, so
    that their weights stay shared.
    """
    fused: dict[tuple[str, tuple], Model] = {}
    workloads = []
    models = {m.id: m for m in problem.models}
    for wl in problem.workloads:
        segs = segments[wl.id]
        key = (wl.model, segs)
        if key not in fused:
            fused[key] = _fuse(models[wl.model], segs, f"{wl.model}@segments{len(fused)}")
        private = sum(1 for a, _ in segs if a < wl.private_layers)
        workloads.append(wl.model_copy(update={"model": fused[key].id, "private_layers": private}))
    inst = problem.instance.model_copy(update={"models": tuple(fused.values()), "workloads": tuple(workloads)})
    return Coarse(Problem.from_instance(inst, problem.source), dict(segments))


def _fuse(model: Model, segs: tuple[tuple[int, int], ...], new_id: str) -> Model:
    layers = model.layers
    fused_layers = tuple(
        Layer.model_construct(
            name=f"{layers[a].name}..{layers[b].name}",
            flops=float(sum(x.flops for x in layers[a:b + 1])),
            param_bytes=float(sum(x.param_bytes for x in layers[a:b + 1])),
            output_bytes=float(layers[b].output_bytes),
            state_bytes=float(sum(x.state_bytes for x in layers[a:b + 1])),
        )
        for a, b in segs
    )
    times = None
    if model.layer_times:
        times = {t: tuple(float(sum(v[a:b + 1])) for a, b in segs) for t, v in model.layer_times.items()}
    return model.model_copy(update={"id": new_id, "layers": fused_layers, "layer_times": times})


def _without_slo(problem: Problem) -> Problem:
    """The problem with every SLO dropped (for a best-effort re-plan)."""
    workloads = tuple(w.model_copy(update={"slo": None}) for w in problem.workloads)
    return Problem.from_instance(problem.instance.model_copy(update={"workloads": workloads}), problem.source)


# --------------------------------------------------------------------------- #
# Weight loads (make-before-break)
# --------------------------------------------------------------------------- #


@dataclass
class Load:
    """One weight load: global layer ``layer`` onto node ``node`` (indices)."""

    key: int
    start: float
    end: float
    source: int
    nbytes: float
    status: str = "in_flight"


def plan_load(problem: Problem, key: int, resident: set[int], start: float) -> Load:
    """The load of ``key`` from the nearest resident holder or the model's origin.

    ``end`` is ``inf`` (status ``no_route``) when no holder has a route.
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


# --------------------------------------------------------------------------- #
# The replay
# --------------------------------------------------------------------------- #


@dataclass
class _Decision:
    """Per-replay bookkeeping of re-plans."""

    count: int = 0
    seconds: list[float] = field(default_factory=list)
    failed_at: float = -math.inf
    failed_servable: list[int] = field(default_factory=list)


class _Replayer:
    """State machine behind :func:`replay` (one instance per call)."""

    def __init__(self, problem: Problem, trace: Trace, opts: dict[str, Any]):
        self.o = opts
        self.snap = Snapshots(problem, trace.events)
        self.snap.advance(0.0)
        p = self.snap.problem
        self.n = p.num_nodes
        self.gl = p.flat.global_layer
        self.offset, self.length = p.flat.offset, p.flat.length
        self.rows: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = []
        self.util_rows: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.events: list[tuple[float, str, str, str]] = []
        self.loads: dict[int, Load] = {}
        self.finished_loads: list[Load] = []
        self.plans: list[tuple[float, Solution]] = []
        self.decisions = _Decision()
        self._needs: dict[int, int] = {}
        self.relaxed = False
        self.planned_at = 0.0
        self.started = _time.perf_counter()

    # ------------------------------------------------------------ plan state
    def start(self) -> None:
        p = self.snap.problem
        initial = self.o["initial"]
        t0 = _time.perf_counter()
        if initial is None:
            plan = self._solve(p, None)
            if plan is None:
                raise SolverError(f"solver {self.o['solver']!r} found no plan for the time-0 snapshot")
        else:
            plan = dict(initial.assignment if isinstance(initial, Solution) else initial)
        self.initial_time = _time.perf_counter() - t0
        x = as_array(p, plan)
        self.serving = x.copy()
        self.target = x.copy()
        self.segments = {w: segments_of(tuple(plan[w])) for w in p.workload_ids}
        self.resident = set(self._keys(x).tolist())
        self.plan_objective = self._servable_eval(p, x).objective
        self.planned_at = 0.0
        self._record_plan(0.0, "initial")

    def _keys(self, x: np.ndarray, w: int | None = None) -> np.ndarray:
        if w is None:
            return np.unique(self.gl * self.n + x)
        s = slice(self.offset[w], self.offset[w] + self.length[w])
        return self.gl[s] * self.n + x[s]

    def _record_plan(self, t: float, why: str) -> None:
        p = self.snap.problem
        ev = evaluate_array(p, self.serving)
        sol = Solution(p.array_to_assignment(self.serving), SolveStatus.UNKNOWN, ev.objective,
                       solver=self.o["solver"], feasible=ev.feasible, info={"time": t, "reason": why})
        self.plans.append((t, sol))

    # ------------------------------------------------------------ the loop
    def run(self) -> None:
        horizon = self.o["horizon"]
        progress = _progress(self.o["progress"], horizon)
        t = 0.0
        try:
            self.start()
            flips: list = []
            while True:
                self._complete_loads(t)
                self._maybe_replan(t, flips)
                self._evict()
                self._record_row(t)
                t_next = min(self.snap.next_time, self._next_tick(t), self._next_load(t), horizon)
                if t_next >= horizon:
                    break
                t = t_next
                flips = self.snap.advance(t)
                for kind, rid, up in flips:
                    self.events.append((t, "recovery" if up else "failure", rid, kind))
                if progress is not None:
                    progress.update(progress.task_ids[0], completed=t)
        finally:
            if progress is not None:
                progress.update(progress.task_ids[0], completed=horizon)
                progress.stop()

    def _next_tick(self, t: float) -> float:
        interval = self.o["interval"]
        if self.o["policy"] != "periodic":
            return math.inf
        k = math.floor(t / interval + 1e-9) + 1
        return k * interval

    def _next_load(self, t: float) -> float:
        ends = [ld.end for ld in self.loads.values() if ld.end > t]
        return min(ends, default=math.inf)

    # --------------------------------------------------------------- loads
    def _complete_loads(self, t: float) -> None:
        for key in [k for k, ld in self.loads.items() if ld.end <= t]:
            load = self.loads.pop(key)
            load.status = "complete"
            self.finished_loads.append(load)
            self.resident.add(key)
        self._switch(t)

    def _switch(self, t: float) -> None:
        switched = False
        for w, wid in enumerate(self.snap.problem.workload_ids):
            s = slice(self.offset[w], self.offset[w] + self.length[w])
            if np.array_equal(self.serving[s], self.target[s]):
                continue
            keys = self._keys(self.target, w)
            if all(int(k) in self.resident for k in keys):
                needed = self._needs.get(w, 0)
                self.serving[s] = self.target[s]
                switched = True
                if needed:
                    self.events.append((t, "load_complete", wid, f"{needed} loads"))
        if switched:
            self._record_plan(t, "switch")

    def _evict(self) -> None:
        keep = set(self._keys(self.serving).tolist()) | set(self._keys(self.target).tolist())
        self.resident &= keep

    def _start_loads(self, t: float) -> None:
        p = self.snap.problem
        wanted = set(self._keys(self.target).tolist()) - self.resident
        for key in [k for k in self.loads if k not in wanted or self.loads[k].end == math.inf]:
            load = self.loads.pop(key)
            load.status = "cancelled" if load.end < math.inf else "no_route"
            self.finished_loads.append(load)
        for key in sorted(wanted - set(self.loads)):
            g, node = divmod(key, self.n)
            if p.layer_param_bytes[g] == 0 or p.origin_of(p.models[p.layer_model[g]]) == p.node_ids[node]:
                self.resident.add(key)  # nothing to transfer
                continue
            self.loads[key] = plan_load(p, key, self.resident, t)
        self._needs = {
            w: sum(1 for k in self._keys(self.target, w).tolist() if k in self.loads)
            for w in range(p.num_workloads)
        }

    # -------------------------------------------------------------- policy
    def _maybe_replan(self, t: float, flips: list) -> None:
        if t == 0.0 or self._over_budget():
            return
        trigger = self._trigger(t, flips)
        if trigger is None:
            return
        p = self.snap.problem
        t0 = _time.perf_counter()
        plan = self._solve(p, p.array_to_assignment(self.target))
        self.decisions.seconds.append(_time.perf_counter() - t0)
        self.decisions.count += 1
        if plan is None:
            self.decisions.failed_at = t
            self.decisions.failed_servable = self._servable(p)
            self.events.append((t, "replan", trigger, "no feasible plan; kept the current one"))
            return
        self.target = as_array(p, plan)
        if self.o["mode"] == "resplit":
            self.segments = {w: segments_of(tuple(plan[w])) for w in p.workload_ids}
        self.plan_objective = self._servable_eval(p, self.target).objective
        self.planned_at = t
        self._start_loads(t)
        detail = f"{len(self.loads)} loads in flight" + ("; best effort: SLOs relaxed" if self.relaxed else "")
        self.events.append((t, "replan", trigger, detail))
        self._switch(t)

    def _over_budget(self) -> bool:
        budget = self.o["budget"]
        return budget is not None and _time.perf_counter() - self.started > budget

    def _trigger(self, t: float, flips: list) -> str | None:
        policy = self.o["policy"]
        if policy == "static":
            return None
        if policy == "oracle":
            return "oracle" if self._is_event_time(t) else None
        if policy == "periodic":
            k = t / self.o["interval"]
            return "periodic" if abs(k - round(k)) < 1e-9 else None
        if t - self.decisions.failed_at < REACTIVE_RETRY and not self._worth_retrying(flips):
            return None
        ev = self._servable_eval(self.snap.problem, self.target)
        kinds = {v.kind for v in ev.violations}
        if kinds - {"slo"}:
            return "reactive:infeasible"
        if "slo" in kinds and not (self.relaxed and t - self.planned_at < REACTIVE_RETRY):
            return "reactive:slo"
        if ev.objective > (1 + self.o["threshold"]) * self.plan_objective * (1 + FEASIBILITY_RTOL):
            return "reactive:degraded"
        return None

    def _worth_retrying(self, flips: list) -> bool:
        """After a failed re-plan: a node came back, or other workloads became servable."""
        if any(up and kind == "node" for kind, _, up in flips):
            return True
        return self._servable(self.snap.problem) != self.decisions.failed_servable

    def _is_event_time(self, t: float) -> bool:
        times = self.snap._times
        k = np.searchsorted(times, t)
        return bool(k < len(times) and times[k] == t)

    # ------------------------------------------------------- servable parts
    def _servable(self, p: Problem) -> list[int]:
        """Workloads that some plan could serve: source and sink available, and
        some host reachable from the source that reaches the sink."""
        reach = p.routes.hops >= 0
        np.fill_diagonal(reach, p.node_available)
        hosts = p.can_host
        src, snk = p.workload_source, p.workload_sink
        ok = (reach[src][:, hosts] & reach[:, snk].T[:, hosts]).any(axis=1)
        return np.flatnonzero(ok).tolist()

    def _restrict(self, p: Problem, keep: list[int]) -> Problem:
        if len(keep) == p.num_workloads:
            return p
        return p.with_records(workloads=[p.workloads[w] for w in keep])

    def _servable_eval(self, p: Problem, x: np.ndarray) -> Evaluation:
        keep = self._servable(p)
        if not keep:
            return evaluate_array(p, x)
        sub = self._restrict(p, keep)
        assignment = p.array_to_assignment(x)
        return evaluate_array(sub, as_array(sub, {p.workload_ids[w]: assignment[p.workload_ids[w]] for w in keep}))

    # --------------------------------------------------------------- solve
    def _solve(self, p: Problem, current: dict | None) -> dict[str, tuple[str, ...]] | None:
        """A feasible plan for the servable workloads (others keep theirs), or None."""
        keep = self._servable(p)
        if not keep:
            return None
        sub = self._restrict(p, keep)
        ids = sub.workload_ids
        cur = None if current is None else {w: tuple(current[w]) for w in ids}
        coarse = None
        if self.o["mode"] == "migrate" and cur is not None:
            coarse = coarsen(sub, {w: self.segments[w] for w in ids})
            solve_on, cur_on = coarse.problem, coarse.shrink(cur)
        else:
            solve_on, cur_on = sub, cur
        sol = self._call_solver(solve_on, cur_on)
        self.relaxed = False
        if sol is None and any(w.slo is not None for w in sub.workloads):
            # No plan meets every SLO: the best plan that meets everything else.
            solve_on, sub = _without_slo(solve_on), _without_slo(sub)
            sol = self._call_solver(solve_on, cur_on)
            self.relaxed = True
        if sol is None:
            return None
        plan = coarse.expand(sol) if coarse is not None else sol
        if not evaluate_array(sub, as_array(sub, plan)).feasible:
            return None
        full = dict(current) if current is not None else {
            w: (p.workloads[k].source,) * int(p.workload_num_layers[k]) for k, w in enumerate(p.workload_ids)}
        full.update(plan)
        return full

    def _call_solver(self, problem: Problem, current: dict | None) -> dict | None:
        """The solver's plan if it is feasible, else None (the time counts as decision time)."""
        from .solve import solve

        sol = solve(problem, self.o["solver"], time_limit=self.o["time_limit"], seed=self.o["seed"],
                    warm_start=current, previous=current, **self.o["solver_options"])
        if not sol.assignment or not sol.feasible:
            return None
        return dict(sol.assignment)

    # ------------------------------------------------------------- records
    def _record_row(self, t: float) -> None:
        p = self.snap.problem
        x = self.serving
        ev = evaluate_array(p, x)
        latency = ev.arrays["latency"]
        bad_node = np.bincount(p.flat.workload, ~p.node_available[x], p.num_workloads) > 0
        up = ~bad_node & np.isfinite(latency)
        latency = np.where(up, latency, np.inf)
        slo = p.workload_slo
        slo_ok = up & ~(latency > slo + FEASIBILITY_RTOL * slo)
        self.rows.append((t, latency, up, slo_ok))
        link_util = ev.arrays["link_load"] / p.link_bandwidth if p.num_links else np.zeros(0)
        self.util_rows.append((t, ev.arrays["node_utilization"].copy(), link_util))

    # -------------------------------------------------------------- result
    def result(self) -> ReplayResult:
        p = self.snap.problem
        timeline = self._timeline(p)
        migrations = self._migrations(p)
        summary = _summary(timeline, migrations, self)
        return ReplayResult(
            timeline=timeline,
            utilization=self._utilization(p),
            plans=self.plans,
            events=pd.DataFrame(self.events, columns=list(EVENT_COLUMNS)),
            migrations=migrations,
            summary=summary,
        )

    def _timeline(self, p: Problem) -> pd.DataFrame:
        n_w = p.num_workloads
        times = np.array([r[0] for r in self.rows], dtype=float)
        dur = np.diff(np.append(times, self.o["horizon"]))
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

    def _migrations(self, p: Problem) -> pd.DataFrame:
        loads = self.finished_loads + list(self.loads.values())
        recs = []
        for ld in sorted(loads, key=lambda d: (d.start, d.key)):
            g, node = divmod(ld.key, self.n)
            m = int(p.layer_model[g])
            recs.append((ld.start, ld.end, p.model_ids[m], int(g - p.model_offset[m]), p.node_ids[node],
                         p.node_ids[ld.source] if ld.source >= 0 else None, ld.nbytes, ld.status))
        return pd.DataFrame(recs, columns=list(MIGRATION_COLUMNS))


def _progress(enabled: bool, horizon: float):
    if not enabled:
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("replay"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
                   TimeElapsedColumn(), transient=True)
    bar.add_task("replay", total=max(horizon, 1e-9))
    bar.start()
    return bar


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """Smallest value ``v`` such that the weight of values ``<= v`` is at least
    ``q`` of the total (NaN when the total weight is 0)."""
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    if values.size == 0:
        return math.nan
    order = np.argsort(values, kind="stable")
    cum = np.cumsum(weights[order])
    k = int(np.searchsorted(cum, q * cum[-1] * (1 - 1e-12)))
    return float(values[order][min(k, values.size - 1)])


def _summary(timeline: pd.DataFrame, migrations: pd.DataFrame, run: _Replayer) -> dict[str, Any]:
    dur = timeline["duration"].to_numpy(dtype=float)
    up = timeline["up"].to_numpy(dtype=bool)
    lat = timeline["latency"].to_numpy(dtype=float)
    up_time = float(dur[up].sum())
    slo_ok = timeline["slo_ok"].to_numpy(dtype=bool)
    p = run.snap.problem
    with_slo = {wid for wid, slo in zip(p.workload_ids, p.workload_slo) if np.isfinite(slo)}
    has_slo = timeline["workload"].isin(with_slo).to_numpy(dtype=bool)
    done = migrations[migrations["status"] == "complete"]
    seconds = run.decisions.seconds
    o = run.o
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
        "initial_solve_time": run.initial_time,
        "decision_points": len(run.rows),
        "wall_time": _time.perf_counter() - run.started,
        "horizon": o["horizon"],
        "policy": o["policy"],
        "mode": o["mode"],
        "solver": o["solver"],
    }


# --------------------------------------------------------------------------- #
# Public entry point
# --------------------------------------------------------------------------- #


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
) -> ReplayResult:
    """Replay a plan against a trace, re-planning as a policy says (SPEC 7).

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
        Relative objective degradation for ``reactive`` (default 0.2).
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
        Extra keyword options for :func:`placement_opt.solve`.
    migration_weight
        Weight of the ``migration`` term (per byte) used when the instance does
        not weight it; None leaves the objective as it is.
    budget
        Wall-clock seconds for the whole replay; once spent, no more re-plans.
    progress
        Show a progress bar.

    Returns
    -------
    ReplayResult

    Raises
    ------
    ValueError
        For an unknown policy or mode, or a missing or bad ``interval``,
        ``threshold`` or ``horizon``.
    TraceError
        For events that do not fit the problem.
    SolutionError
        For an ``initial`` plan that does not fit the problem.
    """
    opts = _options(problem, trace, policy, solver, mode, interval, threshold, initial, horizon, seed,
                    time_limit, solver_options, migration_weight, budget, progress)
    check_trace(problem, trace)
    base = problem
    if migration_weight is not None and not problem.objective_weights.get("migration"):
        objective = dict(problem.objective_weights) | {"migration": float(migration_weight)}
        base = Problem.from_instance(problem.instance.model_copy(update={"objective": objective}), problem.source)
    run = _Replayer(base, trace, opts)
    run.run()
    return run.result()


def _options(problem, trace, policy, solver, mode, interval, threshold, initial, horizon, seed,
             time_limit, solver_options, migration_weight, budget, progress) -> dict[str, Any]:
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}: one of {', '.join(POLICIES)}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}: one of {', '.join(MODES)}")
    if policy == "periodic" and interval is None:
        raise ValueError("policy 'periodic' needs interval (seconds between re-plans)")
    if interval is not None and not (isinstance(interval, (int, float)) and math.isfinite(interval) and interval > 0):
        raise ValueError(f"interval must be a finite number of seconds > 0, got {interval!r}")
    if threshold is not None and not (isinstance(threshold, (int, float)) and threshold >= 0):
        raise ValueError(f"threshold must be a number >= 0, got {threshold!r}")
    if migration_weight is not None and not (migration_weight >= 0 and math.isfinite(migration_weight)):
        raise ValueError(f"migration_weight must be a finite number >= 0, got {migration_weight!r}")
    if horizon is None:
        horizon = getattr(trace, "end", None)
        if horizon is None:
            horizon = float(trace.events["time"].max()) if len(trace.events) else 0.0
    horizon = float(horizon)
    if not (math.isfinite(horizon) and horizon >= 0):
        raise ValueError(f"horizon must be a finite number of seconds >= 0, got {horizon!r}")
    if policy != "static" or initial is None:
        from .solve import solver_info

        solver_info(solver)
    return {
        "policy": policy, "solver": solver, "mode": mode, "interval": interval,
        "threshold": DEFAULT_THRESHOLD if threshold is None else float(threshold),
        "initial": initial, "horizon": horizon, "seed": int(seed), "time_limit": time_limit,
        "solver_options": dict(solver_options or {}), "budget": budget, "progress": bool(progress),
    }


__all__ = ["ReplayResult", "replay", "coarsen", "segments_of", "check_trace", "weighted_quantile",
           "POLICIES", "MODES", "DEFAULT_THRESHOLD", "DEFAULT_MIGRATION_WEIGHT"]
