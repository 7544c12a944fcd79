"""``local-search``: descent over cut points and segment placements.

Starts from ``options.warm_start`` -- repaired when it has become infeasible,
e.g. after a node failure (:mod:`.start`) -- or from
:func:`~placement_opt.heuristics.greedy.greedy`, and applies improving moves
until none is left (a local optimum), the work budget is spent or the
deadline passes.  Every state visited is feasible (SPEC 5), so the answer is
always the best feasible assignment seen.

Moves, per workload, in a seeded random order, pass after pass
(:mod:`.moves`, :mod:`.reroute`):

- **cut shift**: the boundary between two adjacent segments moves anywhere
  between their outer ends (absorbing one segment merges the two), or the two
  segments swap their order, with the best new boundary;
- **segment move**: a whole segment goes to another node (onto a neighbour's
  node it is a merge);
- **split**: a prefix or a suffix of a segment goes to another node;
- **swap**: two segments exchange their nodes (within a workload, and between
  randomly drawn pairs of workloads);
- **re-route**: the cheapest path of the whole workload through the
  layer-by-node graph given every other workload's memory, compute and link
  usage (:class:`~.route.Router`: a segment-level DP in which every
  segment fits its node);
- **evacuate** (when ``cost`` is weighted): every workload off a paid node;
- **large-neighbourhood move** at a local optimum (small instances): the
  workloads sharing a node are taken out and routed back.

The first three and the re-route also move *groups*: the workloads of one
model whose paths agree on the range moved, which share the weights there
(moving them one by one would duplicate the weights and rarely fit).

Cheap moves are screened in bulk with numpy: the exact change of every
additive objective term (weighted latency, energy, migration, node cost) is
computed for all targets at once, with memory and compute pre-checks; only
the ``top_k`` most promising are applied to
:class:`~.state.LSState`, which keeps every load, latency and objective
term up to date incrementally and checks feasibility on what a move touched.
When neither ``bottleneck`` nor ``max_latency`` is weighted the screening is
exact, so a move it rates as not improving is never evaluated.  The state is
recomputed from scratch after every pass and before returning, so the
objective reported is exact to rounding.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...candidates import Candidates, candidates
from ...problem import Problem
from ...solution import SolveStatus
from .moves import Moves
from .recut import recut_pass
from .reroute import Rerouting, Timeout
from .route import Router
from .start import Starting, verified
from .state import LSState

INF = math.inf

#: Greedy runs all its construction variants up to this many positions x nodes^2.
GREEDY_ALL_WORK = 2e7

#: Work budget: workload layers examined per search (see ``LocalSearch``).
BUDGET = 8000

#: Large-neighbourhood moves per search (on instances up to LNS_MAX_POSITIONS
#: (workload, layer) positions; larger ones are left to the plain descent).
LNS_BUDGET = 8
LNS_MAX_POSITIONS = 450


@dataclass(frozen=True)
class LocalSearchParams:
    """Options of ``local-search`` (``solve(problem, "local-search", top_k=8)``);
    see :class:`LocalSearch` for their meaning.  ``greedy_variants`` and
    ``lns`` None choose by instance size, and with a warm start (a re-plan)
    mean 1 and 0."""

    max_passes: int = 50
    top_k: int = 4
    max_nodes: int = 48
    swaps: int = 2
    min_gain: float = 1e-4
    greedy_variants: int | None = None
    lns: int | None = None
    budget: int = BUDGET


@dataclass
class LSResult:
    """Outcome of :func:`local_search`.

    Attributes
    ----------
    x
        Best feasible flat assignment, or None when none was found.
    objective
        Its objective, from the incremental bookkeeping.
    info
        ``start`` (warm / repaired / greedy / constructed),
        ``start_objective``, ``passes``, ``evaluations`` (moves applied to
        the exact state), ``moves`` (improving moves kept), ``lns``,
        ``visits`` (work done, see ``budget``), ``timed_out``, ``time``.
    """

    x: np.ndarray | None
    objective: float | None
    info: dict = field(default_factory=dict)


class LocalSearch(Moves, Rerouting, Starting):
    """The search; see the module docstring.

    Parameters
    ----------
    problem
        The problem.
    cand
        Candidate mask (computed when None).
    previous_keys
        Placed keys of the previous solution (``migration`` term), or None.
    seed
        Seed of the move order.
    deadline
        ``time.perf_counter()`` value after which no move starts.
    max_passes
        Passes at most.  The search also ends after a pass that improves the
        objective by less than ``min_gain`` (relative), after a pass
        without any improving move (a local optimum), and when the workloads
        it has examined add up to ``budget`` layers (a deterministic work
        budget: about two passes over 50 workloads of 80 layers).
    top_k
        Screened moves evaluated exactly per neighbourhood.
    max_nodes
        Nodes considered by a re-route on large networks.
    swaps
        Random cross-workload swaps tried per workload and round.
    min_gain
        See ``max_passes``.
    greedy_variants
        How many of greedy's construction variants to run for the start
        (default: all when ``positions * nodes**2 <= GREEDY_ALL_WORK``, else
        the first).
    budget
        See ``max_passes``.
    lns
        Successful large-neighbourhood moves allowed at local optima
        (default: ``LNS_BUDGET`` up to ``LNS_MAX_POSITIONS`` flat positions,
        else none).
    """

    def __init__(self, problem: Problem, cand: Candidates | None = None,
                 previous_keys: np.ndarray | None = None, seed: int = 0, deadline: float = INF,
                 params: LocalSearchParams = LocalSearchParams()):
        max_passes, top_k, max_nodes, swaps = params.max_passes, params.top_k, params.max_nodes, params.swaps
        min_gain, greedy_variants, lns, budget = params.min_gain, params.greedy_variants, params.lns, params.budget
        self.p = problem
        self.cand = cand if cand is not None else candidates(problem, with_paths=paths_affordable(problem, deadline))
        self.previous_keys = previous_keys
        self.st = LSState(problem, self.cand.mask, previous_keys)
        self.router = Router(self.st, self._node_score(), max_nodes)
        self.rng = np.random.default_rng(seed)
        self.deadline = deadline
        self.max_passes = max_passes
        self.top_k = top_k
        self.swaps = swaps
        self.min_gain = min_gain
        work = problem.flat.size * problem.num_nodes ** 2
        self.greedy_variants = (3 if work <= GREEDY_ALL_WORK else 1) if greedy_variants is None else greedy_variants
        self.budget = budget
        self.visits = 0
        self.lns_budget = (LNS_BUDGET if problem.flat.size <= LNS_MAX_POSITIONS else 0) if lns is None else lns
        self.obj = INF
        self._targets: dict[int, np.ndarray] = {}
        #: workloads the first pass visits (None: all); set by a warm-start repair
        self.focus: set[int] | None = None
        #: group moves tried, by (kind, members, range): the state version then
        self._group_seen: dict[tuple, int] = {}
        self.evals = 0
        self.moves = 0
        #: whether the bulk screening is exact (no non-additive term weighted)
        self.exact_screen = not (self.st.w_bott or self.st.w_max)
        self._index_models()

    # ------------------------------------------------------------ utilities
    def _index_models(self) -> None:
        """Workloads per model, and their flat positions as a matrix."""
        st, models = self.st, self.p.workload_model
        self.by_model = {int(m): np.flatnonzero(models == m).tolist() for m in np.unique(models)}
        self.model_positions = {m: np.array([np.arange(st.off[v], st.off[v] + st.length[v]) for v in ws])
                                for m, ws in self.by_model.items()}

    def _node_score(self) -> np.ndarray:
        """Per flat position and node: fastest path through it (lower is better)."""
        c = self.cand
        if c.forward is not None:
            return np.where(c.mask, c.forward + c.backward, INF)
        p, st = self.p, self.st
        f = p.flat
        src = p.workload_source[f.workload]
        snk = p.workload_sink[f.workload]
        score = st.lat_inf[src] + st.lat_inf[:, snk].T + p.compute_time[f.global_layer]
        return np.where(c.mask, score, INF)

    def _check_time(self) -> None:
        """Raise :class:`Timeout` once the deadline has passed."""
        if time.perf_counter() > self.deadline:
            raise Timeout

    def _tol(self) -> float:
        """Smallest objective decrease that counts as an improvement."""
        return tol.IMPROVEMENT_RTOL * abs(self.obj) + 1e-300

    def time_coef(self, w: int) -> float:
        """Objective weight of one second of ``w``'s latency (``max_latency``
        counted when ``w`` is the slowest workload)."""
        st = self.st
        coef = st.w_lat * st.weight[w] / st.wsum if st.wsum > 0 else 0.0
        if st.w_max and st.lat[w] >= float(st.lat.max()) * (1 - tol.TIE_RTOL):
            coef += st.w_max
        return coef

    def time_coefs(self, members: np.ndarray) -> np.ndarray:
        """:meth:`time_coef` of several workloads at once."""
        st = self.st
        coef = st.w_lat * st.weight_arr[members] / st.wsum if st.wsum > 0 else np.zeros(len(members))
        if st.w_max:
            coef = coef + st.w_max * (st.lat[members] >= float(st.lat.max()) * (1 - tol.TIE_RTOL))
        return coef

    # ------------------------------------------------------- exact moves
    def _attempt(self, ops: list[tuple[int, int, np.ndarray]]) -> bool:
        """Apply ``ops`` (``(workload, first local position, nodes)``) if that
        is feasible and improves the objective."""
        self._check_time()
        st = self.st
        st.begin()
        for w, a, new in ops:
            st.set_range(w, a, new)
        self.evals += 1
        if st.touched_ok():
            obj = st.objective()
            if obj < self.obj - self._tol():
                st.commit()
                self.obj = obj
                self.moves += 1
                return True
        st.rollback()
        return False

    def _try_ranked(self, est: np.ndarray, build: Callable[[int], list]) -> bool:
        """Evaluate the best-screened entries of ``est`` (flat) exactly, in
        order; apply the first that improves."""
        est = est.ravel()
        if self.exact_screen:
            idx = np.flatnonzero(est < -self._tol())
        else:
            idx = np.flatnonzero(np.isfinite(est))
        if idx.size == 0:
            return False
        # Estimates within the improvement tolerance are ties, taken in index order.
        for k in idx[tol.smallest(est[idx], self.top_k, atol=self._tol())]:
            if self._attempt(build(int(k))):
                return True
        return False

    # ---------------------------------------------------------------- main
    def improve_workload(self, w: int, reroute: bool = True, rounds: int = 8) -> bool:
        """Apply improving moves to ``w`` until none is found (or ``rounds``);
        ``reroute``: also try re-routing it."""
        cheap = (self.cut_shift, self.seg_move, self.split, self.swap_within, self.swap_across)
        improved = False
        for _ in range(rounds):
            for move in cheap:
                while move(w):
                    improved = True
            if not reroute or not self.reroute(w):
                break
            improved = True
        return improved

    def run(self) -> dict:
        """Descend until a local optimum, too small a gain, ``max_passes`` or
        the deadline.  The first pass visits every workload (in a seeded
        random order) -- after a warm-start repair only the repaired ones;
        later passes only those that a committed move may have affected (see
        :meth:`_dirty`), re-routing those that moved.  At a local optimum,
        up to ``lns`` large-neighbourhood moves (:meth:`lns`) may restart
        the descent."""
        passes, timed_out, kicks = 0, False, 0
        st = self.st
        todo = sorted(self.focus) if self.focus else list(range(st.W))
        moved = set() if self.focus else set(todo)  # a repair has just routed the focus
        try:
            while passes < self.max_passes:
                if not todo:
                    if kicks >= self.lns_budget or self.visits >= self.budget or not self.lns():
                        break
                    kicks += 1
                    todo, moved = self._dirty(), set(st.changed_work)
                    continue
                before = self.obj
                improved = False
                st.changed_nodes.clear()
                st.changed_work.clear()
                for w in self.rng.permutation(todo).tolist():
                    if self.visits >= self.budget:
                        break
                    self.visits += st.length[w]
                    improved |= self.improve_workload(w, w in moved)
                if st.w_cost:
                    improved |= self.evacuate()
                passes += 1
                self._resync()
                if self.visits >= self.budget:
                    break
                if not improved or before - self.obj <= self.min_gain * abs(before):
                    todo = []
                else:
                    todo, moved = self._dirty(), set(st.changed_work)
        except Timeout:
            timed_out = True
        return {"passes": passes, "timed_out": timed_out, "lns": kicks, "visits": self.visits}

    def _dirty(self) -> list[int]:
        """Workloads worth another look: changed, or using a node that a
        committed move changed ("don't look bits")."""
        st = self.st
        nodes = np.zeros(st.N, dtype=bool)
        nodes[list(st.changed_nodes)] = True
        return [w for w in range(st.W) if w in st.changed_work or nodes[st.path(w)].any()]

    def _resync(self) -> None:
        """Recompute the state from scratch (drops accumulated rounding)."""
        self.st.rebuild(self.st.x)
        self.obj = self.st.objective()


#: Seconds per (workload x layer x node pair) of the candidates' layered shortest
#: paths, with a margin for a loaded machine (measured: about 3e-9).
PATH_COST = 1e-8


def paths_affordable(problem: Problem, deadline: float) -> bool | None:
    """Whether the SLO pruning of :func:`~placement_opt.candidates.candidates`
    (layered shortest paths) fits in a quarter of the time left; None: the
    default rule (no deadline)."""
    if not math.isfinite(deadline):
        return None
    cost = PATH_COST * problem.flat.size * problem.num_nodes ** 2
    if cost < 0.25 * (deadline - time.perf_counter()):
        return None
    return False


def local_search(problem: Problem, warm_start: np.ndarray | None = None,
                 previous_keys: np.ndarray | None = None, seed: int = 0,
                 deadline: float = INF, cand: Candidates | None = None,
                 params: LocalSearchParams = LocalSearchParams()) -> LSResult:
    """Run the local search.

    Parameters
    ----------
    problem
        The problem.
    warm_start
        Flat assignment to start from (repaired if infeasible); greedy when
        None.  With a warm start (a re-plan) no large-neighbourhood moves are
        made and greedy, if needed, runs one construction variant, unless
        ``lns`` / ``greedy_variants`` say otherwise.
    previous_keys
        Placed keys of the previous solution (enables ``migration``).
    seed
        Seed; the same seed gives the same answer (unless the deadline cuts in).
    deadline
        ``time.perf_counter()`` value to stop by.
    cand
        Candidate mask (computed when None).
    params
        Tuning parameters (see :class:`LocalSearch`).

    Returns
    -------
    LSResult
    """
    t0 = time.perf_counter()
    if warm_start is not None:  # a re-plan: stay quick
        params = replace(params, lns=0 if params.lns is None else params.lns,
                         greedy_variants=1 if params.greedy_variants is None else params.greedy_variants)
    ls = LocalSearch(problem, cand, previous_keys, seed, deadline, params)
    info: dict = {"evaluations": 0, "moves": 0, "passes": 0, "timed_out": False}
    try:
        kind = ls.start(warm_start)
    except Timeout:
        kind, info["timed_out"] = None, True
    if kind is None or not verified(problem, ls.st.x, previous_keys):
        info["time"] = time.perf_counter() - t0
        return LSResult(None, None, info)
    start_x, start_obj = ls.st.x.copy(), ls.obj
    info.update(start=kind, start_objective=start_obj)
    info.update(ls.run())
    ls._resync()
    if problem.objective_weights.get("bottleneck", 0.0) > 0:
        _recut_and_descend(ls, problem, previous_keys, deadline, info)
    x, obj = ls.st.x.copy(), ls.obj
    if not verified(problem, x, previous_keys):  # never expected; keep the verified start
        x, obj = start_x, start_obj
        info["fallback"] = "start"
    info.update(evaluations=ls.evals, moves=ls.moves, time=time.perf_counter() - t0)
    return LSResult(x, float(obj), info)


def _recut_and_descend(ls: LocalSearch, problem: Problem, previous_keys: np.ndarray | None,
                       deadline: float, info: dict, rounds: int = 3) -> None:
    """With a ``bottleneck`` term: re-cut each workload for its node order
    (:mod:`.recut`), then descend again from there, while that helps."""
    for _ in range(rounds):
        x, obj = recut_pass(problem, ls.st.x, previous_keys, ls.obj, deadline)
        if not tol.improves(obj, ls.obj):
            return
        info["recuts"] = info.get("recuts", 0) + 1
        ls.st.rebuild(x)
        ls.obj = ls.st.objective()
        ls.focus = None
        ls.run()
        ls._resync()


def solve_local_search(problem: Problem, options: SolveOptions) -> RawResult:
    """The ``local-search`` backend."""
    res = local_search(problem, options.warm_start, options.previous_keys, options.seed,
                       options.search_deadline(), params=options.params_as(LocalSearchParams))
    if res.x is None:
        return RawResult(SolveStatus.NO_SOLUTION, info=res.info)
    return RawResult(SolveStatus.FEASIBLE, res.x, solver_objective=res.objective, info=res.info)
