"""``abs``: Adaptive Bilevel Search (Xie et al., arXiv:2507.07535), adapted.

The source maps services onto a computing power network with three parts; we
keep all three and adapt them to our problem (see ``docs/abs.md``):

1. **Graph-partitioning reformulation** (:func:`partition`).  Variables that
   are tightly coupled are grouped: here one group per workload, made of its
   layers and the ``neighbourhood`` hosts nearest to it in the layer-by-node
   graph (least latency of a complete path of the workload through the host,
   capacities ignored), its source included when it may host.
2. **Bilevel search.**  The *upper level* is a particle swarm over the
   groups (:class:`Swarm`): a particle holds one priority key per group (the
   order in which the lower level places them) and one bias per (group,
   neighbourhood host) that scales the lower level's per-layer costs on that
   host.  The *lower level* (:class:`LowerLevel`) solves each group in the
   particle's order to optimality given the groups placed before it: the
   cheapest path through its layer-by-node graph that fits the residual
   memory, compute and link capacity (constrained shortest path of
   :class:`~placement_opt.heuristics.local_search.route.Router`, exact for every additive objective term),
   then sweeps over the groups re-routing each given all the others until no
   group improves (a local optimum of the group decomposition).
3. **Fragmentation-aware evaluation** (:func:`fragmentation`).  The upper
   level ranks particles by the objective times ``1 + frag_weight * F``,
   where ``F`` in [0, 1) measures how scattered the leftover memory and
   compute are; particles whose lower level cannot place every group rank
   behind every complete one, by how many groups they leave out, then by
   ``F``.

The inertia weight adapts to the swarm's success rate (the fraction of
particles that improved their personal best in the last iteration), after
Nickabadi et al., "A novel particle swarm optimization algorithm with adaptive
inertia weight", Applied Soft Computing 11(4), 2011.

The answer is the best *objective* (not fitness) among the complete lower-level
solutions, verified by the evaluator; ``no_solution`` when no particle placed
every workload.  Options: :class:`AbsParams`.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ... import segments
from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...candidates import Candidates, candidates
from ...problem import Problem
from ...solution import SolveStatus
from ..local_search.reroute import Timeout
from ..local_search.search import LocalSearch, paths_affordable
from .common import to_raw

__all__ = ["DEFAULTS", "Groups", "LowerLevel", "Swarm", "abs_search", "fragmentation", "nearness", "partition"]

INF = math.inf

@dataclass(frozen=True)
class AbsParams:
    """Options of ``abs`` (``solve(problem, "abs", swarm=10)``)."""

    swarm: int = 6  # particles
    iterations: int = 12  # upper-level iterations at most
    neighbourhood: int = 8  # hosts per group
    bias: float = 1.0  # a bias b scales a host's layer costs by exp(-bias * b)
    frag_weight: float = 0.05  # weight of the fragmentation score in the fitness
    sweeps: int = 2  # lower-level re-routing sweeps at most
    patience: int = 3  # stop after this many iterations without a better global best
    c1: float = 1.49445  # cognitive coefficient
    c2: float = 1.49445  # social coefficient
    vmax: float = 0.5  # velocity clamp (positions live in [-1, 1])

    def __post_init__(self) -> None:
        for name in ("swarm", "iterations", "neighbourhood"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        for name in ("bias", "frag_weight", "sweeps", "patience", "c1", "c2", "vmax"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")


#: The default parameters as a mapping (what :class:`Swarm` reads).
DEFAULTS: dict[str, float] = asdict(AbsParams())

#: Bounds of the adaptive inertia weight.
INERTIA = (0.4, 0.9)


# ------------------------------------------------------------- partition
@dataclass(frozen=True)
class Groups:
    """The graph-partitioning reformulation: one group per workload.

    Attributes
    ----------
    hosts
        ``hosts[w]``: the group's neighbourhood hosts, nearest first.
    masks
        ``masks[w]``: ``(L_w, N)`` (layer, node) pairs the group may use:
        candidates restricted to the neighbourhood -- or all candidates of
        ``w`` when the neighbourhood leaves a layer without a host.
    """

    hosts: list[np.ndarray]
    masks: list[np.ndarray]

    @property
    def size(self) -> int:
        """Largest neighbourhood (the number of biases per group)."""
        return max((h.size for h in self.hosts), default=0)


def nearness(problem: Problem, cand: Candidates) -> np.ndarray:
    """Per flat position and node, how near the node is to the workload in
    the layer-by-node graph: the least latency of a complete path that runs
    that layer there (capacities ignored); ``inf`` where not a candidate.
    Without the candidates' layered paths: the latency of running the whole
    workload on the node."""
    p = problem
    f = p.flat
    c = p.compute_time[f.global_layer]
    if cand.forward is not None:
        score = cand.forward + cand.backward - np.where(cand.mask, c, 0.0)
    else:
        r = p.routes.latency
        whole = np.add.reduceat(np.where(cand.mask, c, INF), f.offset, axis=0)[f.workload]
        score = r[p.workload_source[f.workload]] + whole + r[:, p.workload_sink[f.workload]].T
    return np.where(cand.mask, score, INF)


def partition(problem: Problem, cand: Candidates, size: int) -> Groups:
    """Group each workload's layers with the ``size`` hosts nearest to it.

    Parameters
    ----------
    problem
        The problem.
    cand
        Its candidates (:func:`~placement_opt.candidates.candidates`).
    size
        Neighbourhood size (at least 1).

    Returns
    -------
    Groups
        Hosts ranked by :func:`nearness` (best over the workload's layers),
        ties by route latency from the source, then by index; the source
        replaces the last of them when it may host a layer and is not among
        them.
    """
    p = problem
    f = p.flat
    near = nearness(p, cand)
    size = max(int(size), 1)
    hosts, masks = [], []
    for w in range(p.num_workloads):
        rows = slice(int(f.offset[w]), int(f.offset[w] + f.length[w]))
        mask = cand.mask[rows]
        score = near[rows].min(axis=0)
        from_src = p.routes.latency[p.workload_source[w]]
        usable = np.flatnonzero(mask.any(axis=0))
        chosen = usable[tol.order(score[usable], from_src[usable], usable)][:size]
        src = int(p.workload_source[w])
        if mask[:, src].any() and src not in chosen:
            chosen = np.append(chosen[:size - 1], src)
        group = np.zeros_like(mask)
        group[:, chosen] = mask[:, chosen]
        if not group.any(axis=1).all():
            group = mask.copy()
        hosts.append(chosen.astype(np.int64))
        masks.append(group)
    return Groups(hosts, masks)


def fragmentation(problem: Problem, memory_used: np.ndarray, busy: np.ndarray) -> float:
    """How scattered the leftover capacity of the hosts is, in [0, 1).

    For memory (bytes) and compute (free FLOP/s: ``(max_utilization - busy_i)
    * F_i``) separately, ``1 - largest free piece / total free``: 0 when all
    that is left sits on one host (the next large request fits), close to 1
    when it is spread in many small pieces.  The score is the mean of the two.
    """
    p = problem
    hosts = p.can_host
    if not hosts.any():
        return 0.0
    free_mem = np.maximum(p.node_memory[hosts] - memory_used[hosts], 0.0)
    free_flops = np.maximum(p.max_utilization - busy[hosts], 0.0) * p.effective_flops[hosts]
    scores = []
    for free in (free_mem, free_flops):
        total = float(free.sum())
        scores.append(0.0 if total <= 0 else 1.0 - float(free.max()) / total)
    return float(np.mean(scores))


# ------------------------------------------------------------ lower level
@dataclass
class Decoded:
    """What the lower level made of one particle."""

    x: np.ndarray | None  # flat assignment when every workload was placed
    objective: float  # inf when incomplete
    unplaced: int
    frag: float

    def fitness(self, frag_weight: float) -> tuple[int, float]:
        """Upper-level rank (lower is better): groups left out, then the
        fragmentation-aware objective (or, incomplete, the fragmentation)."""
        if self.x is None:
            return (self.unplaced, self.frag)
        return (0, self.objective + frag_weight * self.frag * max(abs(self.objective), 1e-300))


class LowerLevel(LocalSearch):
    """The lower level: places the groups in a particle's order, each on its
    cheapest feasible path (biased by the particle), then re-routes each
    given all the others until none improves.  Built on the local search's
    incremental state and constrained shortest paths."""

    def decode(self, order: list[int], noise: list[np.ndarray], groups: Groups, sweeps: int) -> Decoded:
        """Lower-level solution for one particle.

        Raises
        ------
        Timeout
            When the deadline passes (between routing queries).
        """
        st = self.st
        self._empty()
        self._group_seen.clear()
        for w in order:
            self._check_time()
            self._place_group(w, noise[w], groups.masks[w])
        unplaced = st.W - sum(st.present)
        frag = fragmentation(self.p, st.mem, st.busy)
        if unplaced:
            return Decoded(None, INF, unplaced, frag)
        st.rebuild(st.x)
        self.obj = st.objective()
        for _ in range(int(sweeps)):
            improved = False
            for w in order:
                improved |= self.reroute(w)
            if not improved:
                break
        st.rebuild(st.x)
        self.obj = st.objective()
        if not st.feasible():  # never expected: every step was checked
            return Decoded(None, INF, st.W, frag)
        return Decoded(st.x.copy(), float(self.obj), 0, fragmentation(self.p, st.mem, st.busy))

    def _place_group(self, w: int, noise: np.ndarray, mask: np.ndarray) -> bool:
        """Route absent ``w`` in: the particle-biased cheapest path within its
        group; if that does not fit exactly, the repaired constrained route
        within the group, then over all candidates, then insertion with
        eviction and re-insertion of the workloads in the way."""
        if self._place_biased(w, noise, mask) or self._place_biased(w, None, mask, tries=2):
            return True
        if self.route_and_apply([w], lambda obj: True, allowed=mask, first=True):
            return True
        if self.route_and_apply([w], lambda obj: True, first=True):
            return True
        return self._insert(w, set(), 2)

    def _place_biased(self, w: int, noise: np.ndarray | None, mask: np.ndarray, tries: int = 8) -> bool:
        """The particle-biased (``noise``; None: unbiased) cheapest path of ``w``.  The DP checks each
        segment against its node alone; when a path re-enters a node and
        overflows it, the node is excluded from the start of its second
        segment on and the DP asked again (other failures: give up)."""
        st = self.st
        allowed = mask.copy()
        for _ in range(tries):
            self._check_time()
            path = self.router.route([w], [self.time_coef(w)], allowed=allowed, noise=noise)
            if path is None:
                return False
            st.begin()
            st.insert(w, path)
            if st.touched_ok():
                st.commit()
                return True
            nodes, _ = st.overloaded()
            st.rollback()
            restricted = False
            for i in nodes.tolist():
                starts = np.flatnonzero((path == i) & segments.starts(path))
                if starts.size > 1:
                    allowed[starts[1]:, i] = False
                    restricted = True
            if not restricted:
                return False
        return False


def _better(key: tuple[int, float], other: tuple[float, float]) -> bool:
    """Whether fitness ``key`` beats ``other``: fewer groups left out, or as
    many and a fitness lower beyond the improvement tolerance."""
    if key[0] != other[0]:
        return key[0] < other[0]
    return tol.improves(key[1], other[1])


# ------------------------------------------------------------ upper level
@dataclass
class Swarm:
    """Particle swarm over the groups.

    A position is ``[keys (W), biases (W * K)]`` in ``[-1, 1]``: workloads are
    placed in decreasing key order; bias ``b`` of group ``w``'s ``j``-th
    neighbourhood host multiplies the lower level's layer costs there by
    ``exp(-bias * b)``.
    """

    groups: Groups
    num_workloads: int
    rng: np.random.Generator
    params: dict
    positions: np.ndarray = field(init=False)
    velocities: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        dim = self.num_workloads * (1 + self.groups.size)
        n = int(self.params["swarm"])
        vmax = float(self.params["vmax"])
        self.positions = self.rng.uniform(-1.0, 1.0, (n, dim))
        self.velocities = self.rng.uniform(-vmax, vmax, (n, dim))

    def seed_particle(self, k: int, keys: np.ndarray) -> None:
        """Particle ``k``: the given keys, no bias (the plain sequential DP)."""
        self.positions[k] = 0.0
        self.positions[k, :self.num_workloads] = keys

    def order(self, k: int) -> list[int]:
        keys = self.positions[k, :self.num_workloads]
        return tol.order(-keys).tolist()

    def noise(self, k: int, num_nodes: int, lengths: list[int]) -> list[np.ndarray]:
        """Per workload, ``(L_w, N)`` factors on the lower level's layer costs."""
        biases = self.positions[k, self.num_workloads:].reshape(self.num_workloads, self.groups.size)
        out = []
        for w, hosts in enumerate(self.groups.hosts):
            factor = np.ones(num_nodes)
            factor[hosts] = np.exp(-float(self.params["bias"]) * biases[w, :hosts.size])
            out.append(np.broadcast_to(factor, (lengths[w], num_nodes)))
        return out

    def move(self, pbest: np.ndarray, gbest: np.ndarray, inertia: float) -> None:
        """One velocity and position update (clamped)."""
        shape = self.positions.shape
        r1, r2 = self.rng.random(shape), self.rng.random(shape)
        vmax = float(self.params["vmax"])
        v = (inertia * self.velocities + float(self.params["c1"]) * r1 * (pbest - self.positions)
             + float(self.params["c2"]) * r2 * (gbest[None, :] - self.positions))
        self.velocities = np.clip(v, -vmax, vmax)
        self.positions = np.clip(self.positions + self.velocities, -1.0, 1.0)


def _demand_keys(problem: Problem) -> np.ndarray:
    """Keys that place the most demanding workloads (FLOP/s) first, in [-1, 1]."""
    f = problem.flat
    demand = problem.workload_rate * np.bincount(f.workload, problem.layer_flops[f.global_layer],
                                                 problem.num_workloads)
    ranks = np.empty(problem.num_workloads, dtype=np.int64)
    ranks[tol.order(-demand)] = np.arange(problem.num_workloads)
    return 1.0 - 2.0 * ranks / max(problem.num_workloads, 1)


# -------------------------------------------------------------- driver
@dataclass
class ABSResult:
    """Outcome of :func:`abs_search`: best assignment (or None), its
    objective, and details (``evaluations``, ``iterations``, ...)."""

    x: np.ndarray | None
    objective: float | None
    info: dict


def abs_search(problem: Problem, previous_keys: np.ndarray | None = None, seed: int = 0,
               deadline: float = INF, params: AbsParams = AbsParams()) -> ABSResult:
    """Run Adaptive Bilevel Search.

    Parameters
    ----------
    problem
        The problem (not modified).
    previous_keys
        Placed keys of the previous solution (enables ``migration``).
    seed
        Seed of the swarm; the same seed gives the same answer unless the
        deadline cuts the search short.
    deadline
        ``time.perf_counter()`` value to stop by.
    params
        The swarm's parameters.

    Returns
    -------
    ABSResult
    """
    prm = asdict(params)
    p = problem
    info: dict = {"evaluations": 0, "iterations": 0, "timed_out": False}
    cand = candidates(p, with_paths=paths_affordable(p, deadline))
    empty = cand.infeasible_workloads()
    if empty:
        info["reason"] = f"no node can run some layer of {[p.workload_ids[w] for w in empty]}"
        return ABSResult(None, None, info)
    lower = LowerLevel(p, cand, previous_keys, seed, deadline)
    groups = partition(p, cand, int(prm["neighbourhood"]))
    rng = np.random.default_rng(seed)
    swarm = Swarm(groups, p.num_workloads, rng, prm)
    swarm.seed_particle(0, _demand_keys(p))
    lengths = [int(v) for v in p.flat.length]
    n = swarm.positions.shape[0]
    pbest, pkey = swarm.positions.copy(), [(INF, INF)] * n
    gbest, gkey = swarm.positions[0].copy(), (INF, INF)
    best: Decoded | None = None
    stale = 0
    try:
        for it in range(int(prm["iterations"])):
            successes, improved_global = 0, False
            for k in range(n):
                res = lower.decode(swarm.order(k), swarm.noise(k, p.num_nodes, lengths), groups, int(prm["sweeps"]))
                info["evaluations"] += 1
                key = res.fitness(float(prm["frag_weight"]))
                if res.x is not None and (best is None or tol.improves(res.objective, best.objective)):
                    best = res
                if _better(key, pkey[k]):
                    pkey[k], pbest[k] = key, swarm.positions[k].copy()
                    successes += 1
                if _better(key, gkey):
                    gkey, gbest = key, swarm.positions[k].copy()
                    improved_global = True
            info["iterations"] = it + 1
            stale = 0 if improved_global else stale + 1
            if stale >= int(prm["patience"]):
                break
            inertia = INERTIA[0] + (INERTIA[1] - INERTIA[0]) * successes / n
            swarm.move(pbest, gbest, inertia)
    except Timeout:
        info["timed_out"] = True
    info["best_fitness"] = None if not math.isfinite(gkey[1]) else list(gkey)
    if best is None:
        info.setdefault("reason", "no particle placed every workload")
        return ABSResult(None, None, info)
    return ABSResult(best.x, best.objective, info)


def solve_abs(problem: Problem, options: SolveOptions) -> RawResult:
    """The ``abs`` backend (see the module docstring)."""
    t0 = time.perf_counter()
    res = abs_search(problem, options.previous_keys, options.seed, options.search_deadline(),
                     options.params_as(AbsParams))
    raw = to_raw(problem, res.x, options, res.info, t0)
    if raw.status is SolveStatus.FEASIBLE and res.objective is not None:
        raw.info["search_objective"] = res.objective
    return raw
