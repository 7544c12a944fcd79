"""``greedy``: a deterministic, capacity-aware constructive heuristic.

Workloads are placed one at a time (highest demand first).  Each gets the
cheapest path through the layer-by-node graph (dynamic programming) given what
earlier workloads left: residual memory (weights already on a node cost only
their state), residual compute and residual link bandwidth.  The path cost is
the workload's share of the objective that is additive along a path: weighted
latency, energy, node-activation cost for nodes not yet hosting anything, and
migration for weights not placed before.  ``max_segments`` is exact in the DP
(its state counts segments); a path that overflows a node or link when its own
layers add up, or revisits a node under ``one_segment_per_node``, is repaired by
forbidding the offending choice and solving again.  If a workload cannot be
placed, the whole construction is retried with it first.

Two options steer how workloads of one model share weights: ``reserve`` makes
the workload that first places a layer on a node also set aside memory for the
state of the model's workloads still to come (which they then draw from), and
``share`` makes those later workloads use a layer only where it is already
placed (their private layers excepted), so that they follow the first
workload's pipeline instead of fragmenting memory.  :func:`greedy` tries a few
combinations and keeps the best.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .. import tolerance as tol
from ..backend import RawResult, SolveOptions
from ..candidates import Candidates, candidates, transfer_matrix
from ..evaluate import evaluate_array
from ..problem import Problem
from ..solution import SolveStatus
from ..tolerance import exceeds, threshold

INF = np.inf


@dataclass
class Residual:
    """What is left of each resource while workloads are placed one by one."""

    problem: Problem
    memory: np.ndarray
    busy: np.ndarray
    link_load: np.ndarray
    placed: np.ndarray  # (global layer, node): weights are there
    reserved: np.ndarray  # (global layer, node): state bytes set aside for later workloads
    hosting: np.ndarray

    @classmethod
    def empty(cls, p: Problem) -> Residual:
        shape = (p.num_global_layers, p.num_nodes)
        return cls(p, p.node_memory.astype(float).copy(), np.zeros(p.num_nodes), np.zeros(p.num_links),
                   np.zeros(shape, dtype=bool), np.zeros(shape), np.zeros(p.num_nodes, dtype=bool))


class DeadlineReached(Exception):
    """Raised by :meth:`Greedy.place` when asked to place a workload after ``deadline``."""


class Greedy:
    """The construction; ``reserve`` in [0, 1] makes a workload that places new
    weights on a node also keep room for that fraction of the not yet placed
    workloads of the same model to add their state there (so that the first
    workload does not fill a node that all of them could share)."""

    def __init__(self, problem: Problem, cand: Candidates | None = None, previous_keys: np.ndarray | None = None,
                 reserve: float = 0.0, share: bool = False, widths: tuple[int, ...] = ()):
        self.p = problem
        self.reserve = reserve
        self.share = share
        self.pending = np.bincount(problem.workload_model, minlength=len(problem.models)).astype(float)
        self.cand = cand if cand is not None else candidates(problem)
        # Nodes per layer position tried in turn for each workload before all of them
        # (see narrow_widths).
        self.widths = tuple(k for k in widths if k < problem.num_nodes)
        self.deadline = np.inf  # time.perf_counter() value after which place() raises DeadlineReached
        self.previous = set() if previous_keys is None else set(previous_keys.tolist())
        w = problem.objective_weights
        wsum = problem.workload_weight.sum()
        weight_share = problem.workload_weight / wsum if wsum > 0 else 0 * problem.workload_weight
        self.lat_weight = w.get("latency", 0.0) * weight_share
        self.lat_weight = self.lat_weight + w.get("max_latency", 0.0) / max(problem.num_workloads, 1)
        self.w_energy = w.get("energy", 0.0)
        self.w_cost = w.get("cost", 0.0)
        self.w_migration = w.get("migration", 0.0) if previous_keys is not None else 0.0
        self._tm: dict[float, np.ndarray] = {}

    def tm(self, nbytes: float) -> np.ndarray:
        if nbytes not in self._tm:
            self._tm[nbytes] = transfer_matrix(self.p, nbytes)
        return self._tm[nbytes]

    # ---------------------------------------------------------------- driver
    def order(self) -> list[int]:
        p = self.p
        f = p.flat
        demand = p.workload_rate * np.bincount(f.workload, p.layer_flops[f.global_layer], p.num_workloads)
        tight = p.workload_slo  # tighter SLOs first among equals
        return tol.order(-demand, tight).tolist()

    def run(self, order: list[int] | None = None, attempts: int = 3) -> np.ndarray | None:
        order = self.order() if order is None else order
        for _ in range(attempts):
            x, failed = self._construct(order)
            if failed is None:
                return x
            order = [failed] + [w for w in order if w != failed]
        return None

    def _others(self, w: int) -> float:
        """Workloads of ``w``'s model still to be placed, ``w`` excluded."""
        return max(self.pending[self.p.workload_model[w]] - 1.0, 0.0)

    def _construct(self, order: list[int]) -> tuple[np.ndarray, int | None]:
        p = self.p
        x = np.full(p.flat.size, -1, dtype=np.int64)
        res = Residual.empty(p)
        self.pending = np.bincount(p.workload_model, minlength=len(p.models)).astype(float)
        for w in order:
            path = self.place(w, res)
            if path is None:
                return x, w
            self.commit(w, path, res)
            self.pending[p.workload_model[w]] -= 1
            start = p.flat.offset[w]
            x[start:start + path.size] = path
        return x, None

    # --------------------------------------------------------- one workload
    def place(self, w: int, res: Residual) -> np.ndarray | None:
        """Cheapest feasible path for workload ``w`` given the residuals."""
        if time.perf_counter() > self.deadline:
            raise DeadlineReached
        f = self.p.flat
        start, length = int(f.offset[w]), int(f.length[w])
        full = self.cand.mask[start:start + length]
        for width in self.widths + (None,):
            base = full if width is None else full & self._nearest(w, res, full, width)
            if self.share:
                path = self._place(w, res, base & self._shared(w, res))
                if path is not None:
                    return path
            path = self._place(w, res, base)
            if path is not None:
                return path
        return None

    def _nearest(self, w: int, res: Residual, allowed: np.ndarray, width: int) -> np.ndarray:
        """Nodes worth searching for ``w`` on a large network: of those with room
        for some layer of ``w``, the ``width`` fastest for it counting the route
        latency from the source and to the sink, the ``width`` with the most
        effective compute, and every node that holds some of its weights already."""
        p = self.p
        c = self._node_costs(w, res, allowed, latency_only=True)
        fits = np.isfinite(c)
        lat = p.routes.latency
        # A node's score: route latency via it plus its mean time over the layers it has room for.
        mean_time = np.where(fits, c, 0.0).sum(axis=0) / np.maximum(fits.sum(axis=0), 1)
        score = np.where(fits.any(axis=0), mean_time + lat[p.workload_source[w]] + lat[:, p.workload_sink[w]], INF)
        keep = np.zeros(p.num_nodes, dtype=bool)
        keep[tol.smallest(score, width)] = True
        # ... the fastest nodes (the cloud may win despite its latency) ...
        speed = np.where(fits.any(axis=0), p.effective_flops, -INF)
        keep[tol.smallest(-speed, width)] = True
        # ... and wherever its layers' weights are already placed (sharing them costs only state).
        keep |= res.placed[p.flat.global_layers(w)].any(axis=0)
        return allowed & keep[None, :]

    def _shared(self, w: int, res: Residual) -> np.ndarray:
        """Where ``w`` may run each layer in share mode: where the layer is placed
        already, anywhere if it is placed nowhere yet or private for ``w``."""
        f = self.p.flat
        start, length = int(f.offset[w]), int(f.length[w])
        placed = res.placed[f.global_layer[start:start + length]]
        free = ~placed.any(axis=1) | (np.arange(length) < self.p.workload_private_layers[w])
        return placed | free[:, None]

    def _place(self, w: int, res: Residual, allowed: np.ndarray) -> np.ndarray | None:
        f = self.p.flat
        length = int(f.length[w])
        allowed = allowed.copy()
        forbidden_moves: set[tuple[int, int, int]] = set()
        latency_only = False
        for _ in range(4 * length + 8):
            path = self._dp(w, allowed, forbidden_moves, res, latency_only)
            if path is None:
                return None
            problem = self._check(w, path, res)
            if problem is None:
                return path
            kind, k, i, j = problem
            if kind == "slo":
                if latency_only:
                    return None  # even the fastest path left misses the SLO
                latency_only = True
            elif kind == "node":
                allowed[k:, i] = False  # leave the node before it overflows
            else:
                forbidden_moves.add((k, i, j))
        return None

    def _node_costs(self, w: int, res: Residual, allowed: np.ndarray, latency_only: bool) -> np.ndarray:
        """Cost of running each position of ``w`` on each node (inf if it cannot)."""
        p = self.p
        f = p.flat
        start, length = int(f.offset[w]), int(f.length[w])
        gl = f.global_layer[start:start + length]
        n = p.num_nodes
        rate = p.workload_rate[w]
        c = p.compute_time[gl]
        busy = rate * c if rate > 0 else np.zeros_like(c)
        keys = gl[:, None] * n + np.arange(n)[None, :]
        placed = res.placed[gl]
        state = p.layer_state_bytes[gl][:, None]
        extra = self.reserve * self._others(w) * state
        need = np.where(placed, np.maximum(state - res.reserved[gl], 0.0),
                        state + p.layer_param_bytes[gl][:, None] + extra)
        ok = allowed & (busy <= (threshold(p.max_utilization) - res.busy)[None, :])
        ok &= need <= (threshold(p.node_memory) - (p.node_memory - res.memory))[None, :]
        weight = 1.0 if latency_only else self.lat_weight[w]
        cost = _weighted(weight, c)
        if latency_only:
            return np.where(ok, cost, INF)
        if self.w_energy:
            cost = cost + self.w_energy * rate * p.layer_flops[gl][:, None] * p.node_energy_per_flop[None, :]
        if self.w_migration and self.previous:
            prev = np.isin(keys, np.fromiter(self.previous, dtype=np.int64, count=len(self.previous)))
            cost = cost + self.w_migration * np.where(placed | prev, 0.0, p.layer_param_bytes[gl][:, None])
        if self.w_cost:
            cost = cost + self.w_cost * np.where(res.hosting, 0.0, p.node_cost)[None, :] / length
        return np.where(ok, cost, INF)

    def _move_cost(self, w: int, nbytes: float, latency_only: bool = False,
                   rows: np.ndarray | slice = slice(None), cols: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Cost of sending ``nbytes`` between nodes (``rows`` x ``cols`` of the node-pair matrix)."""
        p = self.p
        index = np.ix_(rows, cols) if isinstance(rows, np.ndarray) and isinstance(cols, np.ndarray) else (rows, cols)
        tm = self.tm(nbytes)[index]
        if latency_only:
            return tm
        t = _weighted(self.lat_weight[w], tm)
        if self.w_energy:
            t = t + self.w_energy * p.workload_rate[w] * nbytes * p.routes.energy_per_byte[index]
        return t

    def _dp(self, w, allowed, forbidden_moves, res, latency_only=False) -> np.ndarray | None:
        """Cheapest path through the layer-by-node graph.  With a ``max_segments``
        below the layer count the state also counts segments; otherwise a move
        to the same node is free and one state per node suffices."""
        p = self.p
        f = p.flat
        start, length = int(f.offset[w]), int(f.length[w])
        gl = f.global_layer[start:start + length]
        node_cost = self._node_costs(w, res, allowed, latency_only)
        # Only nodes that can run some layer can be on the path: the DP runs over
        # those (exact; O(length * cols^2) instead of O(length * nodes^2)).
        cols = np.flatnonzero(np.isfinite(node_cost).any(axis=0))
        if cols.size == 0:
            return None
        node_cost = node_cost[:, cols]
        sel = cols if cols.size < p.num_nodes else slice(None)  # a slice indexes without copying
        where = np.full(p.num_nodes, -1, dtype=np.int64)
        where[cols] = np.arange(cols.size)
        limited = p.workload_max_segments[w] < length
        segs = int(p.workload_max_segments[w]) if limited else 1
        n = cols.size
        src, snk = p.workload_source[w], p.workload_sink[w]
        m = p.workload_model[w]
        moves: dict[float, np.ndarray] = {}
        cost = np.full((segs, n), INF)
        cost[0] = self._move_cost(w, float(p.input_bytes[m]), latency_only, src, sel) + node_cost[0]
        back = np.zeros((length, segs, n), dtype=np.int64)
        for k in range(1, length):
            nbytes = float(p.layer_output_bytes[gl[k - 1]])
            if nbytes not in moves:
                moves[nbytes] = self._move_cost(w, nbytes, latency_only, sel, sel)
            move = moves[nbytes]
            blocked = [(where[i], where[j]) for (kk, i, j) in forbidden_moves
                       if kk == k - 1 and where[i] >= 0 and where[j] >= 0]
            if blocked:
                move = move.copy()
                for i, j in blocked:
                    move[i, j] = INF
            if not limited:
                via = cost[0][:, None] + move  # diagonal 0: staying is free
                back[k, 0] = tol.argmin(via, axis=0)
                cost = (via[back[k, 0], np.arange(n)] + node_cost[k])[None, :]
                continue
            new = cost.copy()  # stay on the same node, same segment count
            back[k] = np.arange(n)[None, :]
            if segs > 1:
                off = move.copy()
                np.fill_diagonal(off, INF)
                via = cost[:-1, :, None] + off[None, :, :]  # (s-1, from, to)
                best_from = tol.argmin(via, axis=1)
                best = np.take_along_axis(via, best_from[:, None, :], axis=1)[:, 0, :]
                better = tol.improves_mask(best, new[1:])
                new[1:] = np.where(better, best, new[1:])
                back[k, 1:] = np.where(better, best_from, back[k, 1:])
            cost = new + node_cost[k][None, :]
        final = cost + self._move_cost(w, float(p.layer_output_bytes[gl[-1]]), latency_only, sel, snk)[None, :]
        s, j = np.unravel_index(tol.argmin(final), final.shape)
        if not np.isfinite(final[s, j]):
            return None
        path = np.empty(length, dtype=np.int64)
        for k in range(length - 1, -1, -1):
            path[k] = j
            i = back[k, s, j] if k > 0 else j
            if i != j and limited:
                s -= 1
            j = i
        return cols[path]

    def _check(self, w: int, path: np.ndarray, res: Residual):
        """First way in which ``path`` breaks a constraint once its own layers add
        up: ("node", position, node, -1) or ("move", position, from, to)."""
        p = self.p
        f = p.flat
        start = int(f.offset[w])
        gl = f.global_layer[start:start + path.size]
        rate = p.workload_rate[w]
        n = p.num_nodes
        busy = np.zeros(n)
        mem = np.zeros(n)
        seen: set[tuple[int, int]] = set()
        others = self.reserve * self._others(w)
        busy_room = (threshold(p.max_utilization) - res.busy).tolist()
        mem_room = (threshold(p.node_memory) - (p.node_memory - res.memory)).tolist()
        for k, (g, i) in enumerate(zip(gl.tolist(), path.tolist())):
            busy[i] += rate * p.compute_time[g, i] if rate > 0 else 0.0
            state = p.layer_state_bytes[g]
            if res.placed[g, i]:
                mem[i] += max(state - res.reserved[g, i], 0.0)
            elif (g, i) not in seen:
                mem[i] += p.layer_param_bytes[g] + state * (1 + others)
                seen.add((g, i))
            else:
                mem[i] += state
            if busy[i] > busy_room[i]:
                return ("node", k, i, -1)
            if mem[i] > mem_room[i]:
                return ("node", k, i, -1)
        if p.one_segment_per_node:
            left: set[int] = set()
            for k in range(1, path.size):
                if path[k] != path[k - 1]:
                    left.add(int(path[k - 1]))
                    if int(path[k]) in left:
                        return ("node", k, int(path[k]), -1)
        slo = p.workload_slo[w]
        if np.isfinite(slo) or p.num_links:
            lat, loads, trans = self._transfers(w, path)
            if exceeds(lat, slo):
                return ("slo", -1, -1, -1)
            cap = p.max_utilization * p.link_bandwidth
            over = exceeds(res.link_load + loads, cap)
            if np.any(over):
                e = int(np.flatnonzero(over)[0])
                for _t, kk, i, j in trans:
                    if i != j and e in p.routes.path_links(i, j):
                        if kk == -1:
                            return ("node", 0, int(path[0]), -1)
                        if kk == -2:
                            return ("node", path.size - 1, int(path[-1]), -1)
                        return ("move", kk, i, j)
        return None

    def _transfers(self, w: int, path: np.ndarray):
        """Latency, link loads, and the transfers (time, position, from, to) of a path;
        position -1 is the raw input, -2 the result."""
        p = self.p
        f = p.flat
        start = int(f.offset[w])
        gl = f.global_layer[start:start + path.size]
        rate = p.workload_rate[w]
        src, snk = int(p.workload_source[w]), int(p.workload_sink[w])
        m = p.workload_model[w]
        ends = [(-1, src, int(path[0]), float(p.input_bytes[m]))]
        ends += [(k, int(path[k]), int(path[k + 1]), float(p.layer_output_bytes[gl[k]]))
                 for k in range(path.size - 1)]
        ends.append((-2, int(path[-1]), snk, float(p.layer_output_bytes[gl[-1]])))
        trans = [(p.routes.transfer_time(i, j, b), k, i, j) for k, i, j, b in ends]
        lat = sum(t for t, *_ in trans) + float(p.compute_time[gl, path].sum())
        a = np.array([e[1] for e in ends])
        b = np.array([e[2] for e in ends])
        load = rate * np.array([e[3] for e in ends])
        loads = p.routes.link_loads(a, b, load, p.num_links) if p.num_links else np.zeros(0)
        return lat, loads, trans

    def commit(self, w: int, path: np.ndarray, res: Residual) -> None:
        p = self.p
        f = p.flat
        start = int(f.offset[w])
        gl = f.global_layer[start:start + path.size]
        rate = p.workload_rate[w]
        others = self.reserve * self._others(w)
        for g, i in zip(gl.tolist(), path.tolist()):
            if rate > 0:
                res.busy[i] += rate * p.compute_time[g, i]
            state = p.layer_state_bytes[g]
            if res.placed[g, i]:
                drawn = min(res.reserved[g, i], state)
                res.reserved[g, i] -= drawn
                res.memory[i] -= state - drawn
            else:
                res.placed[g, i] = True
                res.reserved[g, i] = others * state
                res.memory[i] -= p.layer_param_bytes[g] + state + others * state
            res.hosting[i] = True
        if p.num_links:
            res.link_load += self._transfers(w, path)[1]


#: (reserve, share) combinations tried by :func:`greedy`, best first (see :class:`Greedy`)
VARIANTS = ((1.0, False), (0.0, False), (1.0, True))


#: Networks with more nodes than this are searched in widening tiers (see :func:`narrow_widths`).
NARROW_ABOVE = 400
#: Nodes per layer position in the narrow tiers.
NARROW_WIDTHS = (32, 128)


def narrow_widths(problem: Problem) -> tuple[int, ...]:
    """On large networks, each workload's path is first sought among the
    ``k`` nodes per layer position that still have room for the layer and are
    fastest for it counting the route latency from the source and to the sink
    (``k`` from :data:`NARROW_WIDTHS`), then among all nodes: the DP costs
    ``O(layers x nodes^2)``, too much at 1,000 nodes.  A workload that fits
    nowhere in a narrow tier falls through to the next, so narrowing never makes
    greedy fail where it would otherwise succeed (it may choose differently)."""
    return NARROW_WIDTHS if problem.num_nodes > NARROW_ABOVE else ()


def greedy(problem: Problem, previous_keys: np.ndarray | None = None,
           cand: Candidates | None = None, variants: tuple = VARIANTS,
           deadline: float = np.inf) -> np.ndarray | None:
    """The best feasible flat assignment over a few construction variants (as
    many as fit before ``deadline``, a ``time.perf_counter()`` value; a
    construction still running at the deadline is abandoned), or None if none
    of them found one."""
    cand = cand if cand is not None else candidates(problem)
    widths = narrow_widths(problem)
    best, best_obj = None, np.inf
    for n, (reserve, share) in enumerate(variants):
        if n and time.perf_counter() > deadline:
            break
        g = Greedy(problem, cand, previous_keys, reserve, share, widths)
        g.deadline = deadline
        try:
            x = g.run()
        except DeadlineReached:
            break
        if x is None:
            continue
        ev = evaluate_array(problem, x, previous_keys)
        if ev.feasible and tol.improves(ev.objective, best_obj):
            best, best_obj = x, ev.objective
    return best


def _weighted(weight: float, times: np.ndarray) -> np.ndarray:
    """``weight * times`` with ``inf`` kept ``inf`` when the weight is 0: a
    workload that does not count in the latency mean still cannot use a node
    that cannot run a layer or a pair of nodes without a route."""
    out = np.full(np.shape(times), INF)
    np.multiply(weight, times, out=out, where=np.isfinite(times))
    return out


def solve_greedy(problem: Problem, options: SolveOptions) -> RawResult:
    """The ``greedy`` backend."""
    t0 = time.perf_counter()
    # Without the SLO path pruning of the candidates: greedy's own SLO repair
    # (a latency-only DP) covers it, and the pruning is a fifth of greedy's time.
    x = greedy(problem, options.previous_keys, candidates(problem, with_paths=False), deadline=options.deadline)
    info = {"time": time.perf_counter() - t0}
    if x is None:
        return RawResult(SolveStatus.NO_SOLUTION, info=info)
    return RawResult(SolveStatus.FEASIBLE, x, info=info)
