"""Starting points for ``local-search``: warm-start repair and construction.

A warm start (e.g. the placement before a node failure or a bandwidth drop)
is repaired rather than replaced, so that a re-plan keeps most of it:

1. workloads whose own path is broken (a layer on an unavailable, untrusted
   or unreachable node, a missed SLO, too many segments) are taken out;
2. while a node or link is overloaded, its largest user is taken out;
3. when at most half the workloads were taken out, they are routed back one
   by one (largest demand first) with the constrained DP, which weighs
   migration when it is in the objective (a workload that does not fit takes
   the place of the workloads in its way, which are then routed again; one
   that cannot be placed goes first on the next try);
4. when more were taken out (or step 3 fails), every workload of the models
   concerned is taken out and routed back as one group per model on a common
   path (sharing its weights), and greedy builds a placement from scratch;
   the better of the two is kept (one by one only if both fail).

The descent that follows a repair begins with the workloads it moved (the
rest was placed already), see ``LocalSearch.run``.

Without a warm start (or when repair fails) the start is
:func:`~placement_opt.heuristics.greedy.greedy` (its construction variants,
all on small instances and the first on large ones, stopped at the deadline
between workloads); if that finds nothing, the workloads are inserted one by
one with the DP, model by model as groups, then in other orders and with
random noise on the DP's costs.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import TYPE_CHECKING

import numpy as np

from ... import tolerance as tol
from ...candidates import Candidates
from ...evaluate import evaluate_array
from ...problem import Problem
from ..greedy import VARIANTS, DeadlineReached, Greedy, narrow_widths
from .reroute import Timeout
from .route import Router
from .state import LSState


class _TimedGreedy(Greedy):
    """:class:`~placement_opt.heuristics.greedy.Greedy` that raises
    ``on_timeout`` when asked to place a workload after ``deadline``."""

    def __init__(self, *args, deadline: float, on_timeout: type[Exception], **kwargs):
        super().__init__(*args, **kwargs)
        self.deadline = deadline
        self.on_timeout = on_timeout

    def place(self, w, res):
        try:
            return super().place(w, res)
        except DeadlineReached:
            raise self.on_timeout from None


def verified(problem, x: np.ndarray, previous_keys: np.ndarray | None) -> bool:
    """Whether the evaluator finds ``x`` feasible."""
    return evaluate_array(problem, x, previous_keys).feasible


class Starting:
    """Mixin for :class:`~placement_opt.heuristics.local_search.search.LocalSearch`
    (uses its ``p``, ``cand``, ``previous_keys``, ``st``, ``router``, ``rng``,
    ``deadline``, ``greedy_variants``, ``obj``, ``focus``, ``time_coef`` and
    ``route_and_apply``)."""

    # Set by LocalSearch.__init__.
    p: Problem
    cand: Candidates
    previous_keys: np.ndarray | None
    st: LSState
    router: Router
    rng: np.random.Generator
    deadline: float
    greedy_variants: int
    obj: float
    focus: set[int] | None

    if TYPE_CHECKING:  # defined by LocalSearch and Rerouting
        def time_coef(self, w: int) -> float: ...
        def route_and_apply(self, members: list[int], accept: Callable[[float], bool],
                            allowed: np.ndarray | None = None, first: bool = False,
                            jitter: float = 0.0) -> bool: ...

    #: greedy already ran and found nothing (no need to run it again)
    _greedy_failed = False

    def start(self, warm_start: np.ndarray | None) -> str | None:
        """Load a feasible starting point; returns how it was obtained
        (warm / repaired / greedy / constructed), None if none was found."""
        kind = None
        if warm_start is not None:
            kind = self._repair(np.asarray(warm_start, dtype=np.int64))
            if kind is not None and not verified(self.p, self.st.x, self.previous_keys):
                kind = None  # not expected: the evaluator disagrees; start afresh
        if kind is None and not self._greedy_failed:
            x = self._greedy()
            if x is not None:
                self.st.rebuild(x)
                kind = "greedy"
        if kind is None and self._construct():
            kind = "constructed"
        if kind is None:
            return None
        self.obj = self.st.objective()
        return kind

    def _greedy(self) -> np.ndarray | None:
        """:func:`~placement_opt.heuristics.greedy.greedy`, made to respect the
        deadline: the first ``greedy_variants`` of its construction variants,
        each stopped between workloads at the deadline; the best is kept."""
        best, best_obj = None, np.inf
        self._greedy_failed = True
        widths = narrow_widths(self.p)
        for reserve, share in VARIANTS[:max(self.greedy_variants, 1)]:
            try:
                x = _TimedGreedy(self.p, self.cand, self.previous_keys, reserve, share, widths,
                                 deadline=self.deadline, on_timeout=Timeout).run()
            except Timeout:
                if best is None:
                    raise
                break
            if x is None:
                continue
            ev = evaluate_array(self.p, x, self.previous_keys)
            if ev.feasible and tol.improves(ev.objective, best_obj):
                best, best_obj = x, ev.objective
        self._greedy_failed = best is None
        return best

    def _empty(self) -> None:
        st = self.st
        st.rebuild(np.zeros(st.x.size, dtype=np.int64), [False] * st.W)

    def _insert_all(self, order: list[int], jitter: float = 0.0) -> int | None:
        """Route the absent workloads of ``order`` in; the first that fails, or None."""
        return next((w for w in order if not self._insert(w, set(), 2, jitter)), None)

    def _insert(self, w: int, protected: set[int], depth: int, jitter: float = 0.0) -> bool:
        """Route absent ``w`` in; if it does not fit, put it on its best path
        ignoring everyone else, take out (unprotected) workloads until
        nothing is overloaded, and insert those again (``depth`` levels)."""
        if self.route_and_apply([w], lambda obj: True, first=True, jitter=jitter):
            return True
        if depth <= 0:
            return False
        st = self.st
        path = self.router.route([w], [self.time_coef(w)], others=self.router.nobody(w))
        if path is None:
            return False
        st.begin()
        st.insert(w, path)
        if not st.path_ok(w):
            st.rollback()
            return False
        st.commit()
        protected = protected | {w}
        evicted = []
        while True:
            nodes, links = st.overloaded()
            if not nodes.size and not links.size:
                break
            v = self._culprit(nodes, links, protected)
            if v < 0:
                return False
            st.remove(v)
            st.commit()
            evicted.append(v)
        return all(self._insert(v, protected, depth - 1, jitter) for v in evicted)

    def _construct(self, attempts: int = 12) -> bool:
        """Build a feasible assignment from nothing (see the module docstring)."""
        st = self.st
        order = self._by_demand(list(range(st.W)))
        for n in range(attempts):
            self._empty()
            if n == 1:
                if self._insert_groups(list(range(st.W))) and self._complete():
                    return True
                continue
            failed = self._insert_all(order, jitter=0.0 if n < 3 else 0.5)
            if failed is None:
                return self._complete()
            if n < 3 and order[0] != failed:
                order = [failed] + [w for w in order if w != failed]
            else:
                order = self.rng.permutation(st.W).tolist()
        return False

    def _complete(self) -> bool:
        return self.st.feasible() and verified(self.p, self.st.x, self.previous_keys)

    def _repair(self, x0: np.ndarray) -> str | None:
        """Make a warm start feasible (see the module docstring); None if that fails.

        When at most half the workloads must move, they are routed back one
        by one (and, if that fails, the models concerned as groups).  When
        more must move, the group repair and greedy are both built and the
        better kept (one by one only if both fail)."""
        st = self.st
        st.rebuild(x0)
        if st.feasible():
            return "warm"
        out = self._take_out(x0)
        if out is None:
            return None
        found: list[tuple[float, str, np.ndarray, set[int] | None]] = []
        local = len(out) <= st.W // 2
        builds = ((self._repair_one_by_one, self._repair_groups) if local
                  else (self._repair_groups, self._repair_greedy, self._repair_one_by_one))
        for build in builds:
            moved = build(x0)
            if moved is not None and st.feasible():
                found.append((st.objective(), "repaired" if moved else "greedy", st.x.copy(), moved or None))
            if found and (local or build == self._repair_greedy):
                break
        if not found:
            return None
        _, kind, x, moved = found[tol.argmin([f[0] for f in found])]
        st.rebuild(x)
        self.focus = moved
        return kind

    def _repair_greedy(self, x0: np.ndarray) -> set[int] | None:
        """Greedy from scratch (``set()``: everything may have moved), or None."""
        x = self._greedy()
        if x is None:
            return None
        self.st.rebuild(x)
        return set()

    def _repair_one_by_one(self, x0: np.ndarray) -> set[int] | None:
        """Route the taken-out workloads back one by one (the one that failed
        first next time); the workloads moved, or None."""
        first: list[int] = []
        for _ in range(3):
            removed = self._take_out(x0)
            if removed is None:
                return None
            order = [removed[k] for k in tol.order([w not in first for w in removed],
                                                    [-self._demand(w) for w in removed], removed)]
            failed = self._insert_all(order)
            if failed is None:
                return set(removed)
            if failed in first:
                return None
            first.insert(0, failed)
        return None

    def _repair_groups(self, x0: np.ndarray) -> set[int] | None:
        """Take out every workload of the models concerned and route them back
        as one group per model; the workloads moved, or None."""
        st = self.st
        removed = self._take_out(x0)
        if removed is None:
            return None
        models = {int(self.p.workload_model[w]) for w in removed}
        for w in range(st.W):
            if st.present[w] and int(self.p.workload_model[w]) in models:
                st.remove(w)
                removed.append(w)
        st.commit()
        return set(removed) if self._insert_groups(removed) else None

    def _insert_groups(self, absent: list[int]) -> bool:
        """Route the absent workloads in, those of one model on one common path."""
        by_model: dict[int, list[int]] = {}
        for w in absent:
            by_model.setdefault(int(self.p.workload_model[w]), []).append(w)
        groups = list(by_model.values())
        order = [groups[k] for k in tol.order([-sum(self._demand(w) for w in ws) for ws in groups])]
        return all(self.route_and_apply(ws, lambda obj: True, first=True) for ws in order)

    def _take_out(self, x0: np.ndarray) -> list[int] | None:
        """Load ``x0`` without the workloads that break it; returns them."""
        st = self.st
        st.rebuild(x0)
        removed = [w for w in range(st.W) if not st.path_ok(w)]
        for w in removed:
            st.remove(w)
        while True:
            nodes, links = st.overloaded()
            if not nodes.size and not links.size:
                break
            w = self._culprit(nodes, links)
            if w < 0:
                return None
            st.remove(w)
            removed.append(w)
        st.commit()
        return removed

    def _by_demand(self, workloads: list[int]) -> list[int]:
        """``workloads`` by decreasing demand (near-ties in the given order)."""
        return [workloads[k] for k in tol.order([-self._demand(w) for w in workloads])]

    def _demand(self, w: int) -> float:
        """FLOP/s that ``w`` asks for."""
        st = self.st
        gs = st.gl0[w] + np.arange(st.length[w])
        return st.rate[w] * float(st.flops[gs].sum())

    def _culprit(self, nodes: np.ndarray, links: np.ndarray, protected: Container[int] = frozenset()) -> int:
        """The present workload using the overloaded resources the most (-1: none)."""
        st = self.st
        best, best_w = 0.0, -1
        over = set(links.tolist())
        for w in range(st.W):
            if not st.present[w] or w in protected:
                continue
            path = st.path(w)
            share = 0.0
            for i in nodes.tolist():
                gs = st.gl0[w] + np.flatnonzero(path == i)
                if gs.size:
                    share += st.rate[w] * float(st.ct[gs, i].sum()) / st.node_cap
                    share += float((st.state_b[gs] + st.param[gs]).sum()) / max(st.mem_lim[i], 1.0)
            if over and st.rate[w] > 0:
                ext = [st.src[w]] + path.tolist() + [st.snk[w]]
                for t in range(st.length[w] + 1):
                    hit = over.intersection(st.route_links(ext[t], ext[t + 1]))
                    if hit:
                        share += st.rate[w] * st.transfer_bytes(w, t) / float(st.link_lim[list(hit)].min())
            if share > best * (1 + tol.IMPROVEMENT_RTOL):
                best, best_w = share, w
        return best_w
