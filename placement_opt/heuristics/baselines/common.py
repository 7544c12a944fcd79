"""Shared machinery of the literature baselines (``heuristics/baselines.py``).

- :func:`node_tiers`: which nodes count as user devices, edge or cloud;
- :class:`Packer`: residual memory, compute and link capacity while workloads
  are placed one at a time, and a check of one workload's path against them
  and against every per-workload constraint of SPEC 5;
- :func:`pack`: place workloads in turn with a baseline's own choice rule;
- :func:`layered_dp`: EdgeShard's latency dynamic program over (layer, node),
  also Petals' min-latency routing over the servers that hold each block;
- :func:`to_raw`: score the final array with the evaluator; never report an
  infeasible array as a solution.

The packer checks limits *without* the evaluator's 1e-9 tolerance, so that an
array it accepts is feasible for the evaluator too; :func:`to_raw` checks again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

from ... import segments
from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...candidates import transfer_matrix
from ...evaluate import evaluate_array
from ...problem import Problem
from ...solution import SolveStatus
from ...tolerance import exceeds, threshold, within

INF = np.inf

#: Tier names and the free-text ``tier`` values read as each (lower case).
TIER_ALIASES = {
    "device": ("device", "devices", "user", "ue", "mobile", "iot", "end-device", "end device", "client"),
    "edge": ("edge", "mec", "fog", "rsu", "edge-server", "edge server"),
    "cloud": ("cloud", "datacenter", "data-center", "data center", "dc"),
}
_ALIAS = {alias: tier for tier, names in TIER_ALIASES.items() for alias in names}


def _catalog_tier(device_type: str | None) -> str:
    """Tier of a device-catalog type name, ``""`` if it is not in the catalog."""
    if not device_type:
        return ""
    from ...profiles.devices import device

    try:
        return device(device_type).tier
    except (KeyError, ValueError):
        return ""


def node_tiers(problem: Problem) -> np.ndarray:
    """Tier of every node: ``"device"``, ``"edge"``, ``"cloud"`` or ``""``.

    1. The node's ``tier`` field, case-insensitive, with a few synonyms
       (:data:`TIER_ALIASES`); other values (``network`` for switches) give no tier.
    2. Without a ``tier``: the tier of its ``type`` in the device catalog.
    3. If no node of the instance gets a tier this way, every workload source
       and sink is a device and every other node an edge server; no node is
       cloud.

    Returns
    -------
    numpy.ndarray
        One string per node, in file order.
    """
    out = []
    for node in problem.nodes:
        if node.tier is not None:
            out.append(_ALIAS.get(node.tier.strip().lower(), ""))
        else:
            out.append(_catalog_tier(node.type))
    tiers = np.array(out, dtype=object)
    if not any(tiers):
        ends = set(problem.workload_source.tolist()) | set(problem.workload_sink.tolist())
        tiers = np.array(["device" if i in ends else "edge" for i in range(problem.num_nodes)], dtype=object)
    return tiers


class Packer:
    """Residual capacities while workloads are placed one at a time.

    Attributes
    ----------
    x
        The flat assignment built so far (-1 where not yet placed).
    memory, busy, link_load
        Bytes, utilisation and bytes/s used so far per node / link.
    placed
        ``placed[g, i]``: weights of global layer ``g`` are on node ``i``.
    """

    def __init__(self, problem: Problem):
        p = problem
        self.p = p
        self.x = np.full(p.flat.size, -1, dtype=np.int64)
        self.memory = np.zeros(p.num_nodes)
        self.busy = np.zeros(p.num_nodes)
        self.link_load = np.zeros(p.num_links)
        self.placed = np.zeros((p.num_global_layers, p.num_nodes), dtype=bool)
        self.rejected: Counter[str] = Counter()

    # ------------------------------------------------------------ geometry
    def layers(self, w: int) -> np.ndarray:
        """Global layer indices of workload ``w``."""
        return self.p.flat.global_layers(w)

    def _ends(self, w: int, path: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.p
        gl = self.layers(w)
        src = np.concatenate([[p.workload_source[w]], path])
        dst = np.concatenate([path, [p.workload_sink[w]]])
        nbytes = np.concatenate([[p.input_bytes[p.workload_model[w]]], p.layer_output_bytes[gl]])
        return src, dst, nbytes

    def latency(self, w: int, path: np.ndarray) -> float:
        """``T_w`` of workload ``w`` on ``path`` (SPEC 5); ``inf`` without a route."""
        p = self.p
        r = p.routes
        src, dst, nbytes = self._ends(w, path)
        moves = src != dst
        if (r.hops[src[moves], dst[moves]] < 0).any():
            return INF
        t = r.latency[src[moves], dst[moves]] + nbytes[moves] / r.bandwidth[src[moves], dst[moves]]
        return float(t.sum() + p.compute_time[self.layers(w), path].sum())

    def demand(self, w: int, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Memory (bytes) and utilisation per node that ``path`` adds to the
        residuals: new weights where the layer is not placed yet, plus state."""
        p = self.p
        gl = self.layers(w)
        fresh = ~self.placed[gl, path]
        mem = np.bincount(path, p.layer_state_bytes[gl] + fresh * p.layer_param_bytes[gl], p.num_nodes)
        rate = p.workload_rate[w]
        busy = np.bincount(path, rate * p.compute_time[gl, path], p.num_nodes) if rate > 0 else np.zeros(p.num_nodes)
        return mem, busy

    def link_demand(self, w: int, path: np.ndarray) -> np.ndarray:
        """Bytes/s that ``path`` adds to every link."""
        p = self.p
        if not p.num_links:
            return np.zeros(0)
        src, dst, nbytes = self._ends(w, path)
        return p.routes.link_loads(src, dst, p.workload_rate[w] * nbytes, p.num_links)

    # --------------------------------------------------------------- checks
    def violation(self, w: int, path: np.ndarray) -> str | None:
        """The first constraint of SPEC 5 that ``path`` breaks for workload ``w``
        given what is placed already (a violation kind), or None.  Rejections
        are counted by kind in ``rejected``."""
        kind = self._violation(w, path)
        if kind is not None:
            self.rejected[kind] += 1
        return kind

    def _violation(self, w: int, path: np.ndarray) -> str | None:
        p = self.p
        path = np.asarray(path, dtype=np.int64)
        if not p.can_host[path].all():
            return "unavailable"
        private = np.arange(path.size) < p.workload_private_layers[w]
        if (p.node_trust[path[private]] < p.workload_min_trust[w]).any():
            return "privacy"
        if segments.count(path) > p.workload_max_segments[w]:
            return "max_segments"
        if p.one_segment_per_node and segments.revisits(path):
            return "one_segment_per_node"
        lat = self.latency(w, path)
        if not np.isfinite(lat):
            return "no_route"
        if exceeds(lat, p.workload_slo[w]):
            return "slo"
        mem, busy = self.demand(w, path)
        if np.any(exceeds(self.memory + mem, p.node_memory)):
            return "memory"
        if np.any(exceeds(self.busy + busy, p.max_utilization)):
            return "compute"
        if p.num_links and np.any(exceeds(self.link_load + self.link_demand(w, path),
                                          p.max_utilization * p.link_bandwidth)):
            return "link"
        return None

    def node_fits(self, w: int, positions: np.ndarray, node: int) -> bool:
        """Whether ``node`` can take the layers at ``positions`` (0-based, of
        workload ``w``) by itself: it can host, is trusted enough for the
        private ones, and has the residual memory and compute."""
        p = self.p
        if not p.can_host[node]:
            return False
        if (positions < p.workload_private_layers[w]).any() and p.node_trust[node] < p.workload_min_trust[w]:
            return False
        gl = self.layers(w)[positions]
        mem = p.layer_state_bytes[gl].sum() + p.layer_param_bytes[gl][~self.placed[gl, node]].sum()
        rate = p.workload_rate[w]
        busy = rate * p.compute_time[gl, node].sum() if rate > 0 else 0.0
        return bool(within(self.memory[node] + mem, p.node_memory[node])
                    and within(self.busy[node] + busy, p.max_utilization))

    def add(self, w: int, path: np.ndarray) -> None:
        """Commit ``path`` for workload ``w``."""
        path = np.asarray(path, dtype=np.int64)
        mem, busy = self.demand(w, path)
        self.memory += mem
        self.busy += busy
        if self.p.num_links:
            self.link_load += self.link_demand(w, path)
        self.placed[self.layers(w), path] = True
        start = int(self.p.flat.offset[w])
        self.x[start:start + path.size] = path

    def first_fit(self, w: int, paths: Iterable[np.ndarray]) -> np.ndarray | None:
        """The first of ``paths`` (in the baseline's order of preference) that
        fits, or None."""
        for path in paths:
            if self.violation(w, path) is None:
                return np.asarray(path, dtype=np.int64)
        return None


Chooser = Callable[[int, Packer], "np.ndarray | None"]


def pack(problem: Problem, choose: Chooser, order: list[int] | None = None, attempts: int = 3,
         deadline: float = INF) -> tuple[np.ndarray | None, dict]:
    """Place the workloads one at a time, each with ``choose(w, packer)``.

    Workloads go in ``order`` (default: file order).  If one cannot be placed,
    the construction restarts with it first, up to ``attempts`` times.

    Returns
    -------
    (x, info)
        The flat assignment (None if no attempt placed every workload, or the
        deadline passed) and details: ``attempts``; on failure the ``failed``
        workload id and ``rejected``, how many of its choices each constraint
        kind rejected; on success after a restart, ``moved_first``.
    """
    order = list(range(problem.num_workloads)) if order is None else list(order)
    info: dict = {}
    for attempt in range(1, attempts + 1):
        packer = Packer(problem)
        failed = None
        for w in order:
            if time.perf_counter() > deadline:
                info.update(attempts=attempt, stopped="deadline")
                return None, info
            path = choose(w, packer)
            if path is None:
                failed = w
                break
            packer.add(w, path)
        if failed is None:
            moved = info.pop("failed", None)
            info.pop("rejected", None)
            info["attempts"] = attempt
            if moved is not None:
                info["moved_first"] = moved
            return packer.x, info
        info.update(attempts=attempt, failed=problem.workload_ids[failed], rejected=dict(packer.rejected))
        if order[0] == failed:
            break
        order = [failed] + [v for v in order if v != failed]
    return None, info


class TransferCache:
    """``t(i, j, nbytes)`` matrices, one per distinct byte count."""

    def __init__(self, problem: Problem):
        self.p = problem
        self._cache: dict[float, np.ndarray] = {}

    def __call__(self, nbytes: float) -> np.ndarray:
        key = float(nbytes)
        if key not in self._cache:
            self._cache[key] = transfer_matrix(self.p, key)
        return self._cache[key]


def layered_dp(packer: Packer, w: int, allowed: np.ndarray, tm: TransferCache,
               track_memory: bool = True) -> np.ndarray | None:
    """Least-latency path of workload ``w`` through the layer-by-node graph.

    EdgeShard's recurrence: ``D[l, j] = min_k D[l-1, k] + t(k, j, out_{l-1}) + c[l, j]``
    with ``D[0, j] = t(source, j, input) + c[0, j]``, the result's transfer to
    the sink added at the end.  Each state remembers how much memory and
    compute its best path has already taken on every node, and a step is
    allowed only if the node still has room for the layer (EdgeShard's memory
    constraint, here against the residuals of :class:`Packer`, plus compute).
    When ``max_segments`` is below the layer count the state also counts
    segments; under ``one_segment_per_node`` a step may not return to a node
    the path has left.

    Parameters
    ----------
    allowed
        ``allowed[l, i]``: layer ``l`` of ``w`` may run on node ``i``.
    track_memory
        False when memory was set aside beforehand (Petals' servers).

    Returns
    -------
    numpy.ndarray or None
        Node per layer, or None when no path respects the limits.
    """
    p = packer.p
    gl = packer.layers(w)
    # Only nodes allowed for some layer can be on the path: the DP runs over those
    # (exact; its arrays are segments x nodes x nodes).
    cols = np.flatnonzero(allowed.any(axis=0))
    if cols.size == 0:
        return None
    allowed = allowed[:, cols]
    length, n = gl.size, cols.size
    limited = p.workload_max_segments[w] < length
    segs = int(p.workload_max_segments[w]) if limited else 1
    times = p.compute_time[gl][:, cols]
    comp = np.where(allowed, times, INF)
    rate = p.workload_rate[w]
    need_mem = p.layer_state_bytes[gl][:, None] + ~packer.placed[gl][:, cols] * p.layer_param_bytes[gl][:, None]
    if not track_memory:
        need_mem = np.zeros_like(need_mem)
    need_busy = rate * np.where(allowed, times, 0.0) if rate > 0 else np.zeros((length, n))
    room_mem = (threshold(p.node_memory) - packer.memory)[cols]
    room_busy = (threshold(p.max_utilization) - packer.busy)[cols]
    src, snk = int(p.workload_source[w]), int(p.workload_sink[w])
    m = int(p.workload_model[w])
    pairs = np.ix_(cols, cols)

    cost = np.full((segs, n), INF)
    used_mem = np.zeros((segs, n, n))  # [s, state node, node]
    used_busy = np.zeros((segs, n, n))
    visited = np.zeros((segs, n, n), dtype=bool)
    fits0 = (need_mem[0] <= room_mem) & (need_busy[0] <= room_busy)
    cost[0] = np.where(fits0, tm(p.input_bytes[m])[src, cols] + comp[0], INF)
    idx = np.arange(n)
    used_mem[0, idx, idx] = need_mem[0]
    used_busy[0, idx, idx] = need_busy[0]
    visited[0, idx, idx] = True
    back_node = np.zeros((length, segs, n), dtype=np.int64)
    back_seg = np.zeros((length, segs, n), dtype=np.int64)

    for k in range(1, length):
        move = tm(p.layer_output_bytes[gl[k - 1]])[pairs]  # a copy
        np.fill_diagonal(move, INF)  # staying is handled separately
        new = np.full((segs, n), INF)
        new_mem, new_busy, new_vis = np.zeros_like(used_mem), np.zeros_like(used_busy), np.zeros_like(visited)
        for s in range(segs):
            # stay on the node, same segment
            stay = cost[s] + np.where(
                (np.diagonal(used_mem[s]) + need_mem[k] <= room_mem)
                & (np.diagonal(used_busy[s]) + need_busy[k] <= room_busy), 0.0, INF)
            # move from another node (one more segment when they are counted)
            prev = s - 1 if limited else s
            if prev >= 0:
                via = cost[prev][:, None] + move
                ok = (used_mem[prev] + need_mem[k][None, :] <= room_mem[None, :]) & (
                    used_busy[prev] + need_busy[k][None, :] <= room_busy[None, :])
                if p.one_segment_per_node:
                    ok &= ~visited[prev]
                via = np.where(ok, via, INF)
                best_from = tol.argmin(via, axis=0)
                moved = via[best_from, idx]
            else:
                best_from, moved = idx, np.full(n, INF)
            take_move = tol.improves_mask(moved, stay, rtol=tol.TIE_RTOL)
            new[s] = np.where(take_move, moved, stay) + comp[k]
            from_node = np.where(take_move, best_from, idx)
            from_seg = np.where(take_move, prev, s)
            back_node[k, s], back_seg[k, s] = from_node, from_seg
            new_mem[s] = used_mem[from_seg, from_node]
            new_busy[s] = used_busy[from_seg, from_node]
            new_vis[s] = visited[from_seg, from_node]
            new_mem[s, idx, idx] += need_mem[k]
            new_busy[s, idx, idx] += need_busy[k]
            new_vis[s, idx, idx] = True
        cost, used_mem, used_busy, visited = new, new_mem, new_busy, new_vis

    final = cost + tm(p.layer_output_bytes[gl[-1]])[cols, snk][None, :]
    s, j = map(int, np.unravel_index(tol.argmin(final), final.shape))
    if not np.isfinite(final[s, j]):
        return None
    path = np.empty(length, dtype=np.int64)
    for k in range(length - 1, -1, -1):
        path[k] = j
        if k:
            j, s = int(back_node[k, s, j]), int(back_seg[k, s, j])
    return cols[path]


def to_raw(problem: Problem, x: np.ndarray | None, options: SolveOptions, info: dict, t0: float) -> RawResult:
    """A :class:`RawResult` for a baseline's final array.

    ``no_solution`` when ``x`` is None or the evaluator finds it infeasible (the
    first violations are kept in ``info["evaluator_violations"]``); otherwise ``feasible``
    with the evaluator's objective.
    """
    info = dict(info, time=time.perf_counter() - t0)
    if x is None:
        return RawResult(SolveStatus.NO_SOLUTION, info=info)
    ev = evaluate_array(problem, x, options.previous_keys)
    if not ev.feasible:
        info["evaluator_violations"] = [str(v) for v in ev.violations[:5]]
        return RawResult(SolveStatus.NO_SOLUTION, info=info)
    return RawResult(SolveStatus.FEASIBLE, x, solver_objective=ev.objective, info=info)


def best_over_k(problem: Problem, options: SolveOptions, ks: list[int],
                build: Callable[[int], tuple[np.ndarray | None, dict]], t0: float) -> RawResult:
    """Run ``build(k)`` for each ``k`` (while the deadline allows; the first
    always runs) and keep the feasible array with the best objective (ties:
    the smaller ``k``).  ``info["k"]`` is the chosen ``k``; ``info["failures"]``
    says, per ``k`` that failed, which workload and why."""
    best: tuple[float, int, np.ndarray, dict] | None = None
    tried: list[int] = []
    failures: dict[int, dict] = {}
    for k in ks:
        if tried and time.perf_counter() > options.deadline:
            break
        tried.append(k)
        x, info = build(k)
        raw = to_raw(problem, x, options, info, t0)
        if raw.x is None or raw.solver_objective is None:  # infeasible (to_raw sets both or neither)
            failures[k] = {key: info[key] for key in ("failed", "rejected", "stopped") if key in info}
            continue
        if best is None or tol.improves(raw.solver_objective, best[0]):
            best = (raw.solver_objective, k, raw.x, info)
    info = {"k_tried": tried, "failures": failures}
    if best is None:
        return to_raw(problem, None, options, info, t0)
    info.update(best[3], k=best[1])
    return to_raw(problem, best[2], options, info, t0)
