"""Re-route moves of ``local-search``: whole paths from the layered-graph DP.

:meth:`Rerouting.route_and_apply` asks the :class:`~.route.Router` for
the cheapest path of a workload (or of a group of workloads that are to share
one path), applies it to the exact state, and repairs what the DP could not
see: a node that the path enters twice and overflows is excluded from the
overflowing layer on; a single segment that still overflows (rounding) gets a
Lagrangian price on the node's memory / compute, searched by log-bisection,
then the offending move is forbidden; a link that overflows loses the
offending move; a missed SLO raises the weight on latency (finally latency
only); a re-entry under ``one_segment_per_node`` excludes the node from there
on.  Built on it: :meth:`Rerouting.reroute` (a move), :meth:`Rerouting.evacuate`
(every workload off a paid node) and :meth:`Rerouting.lns` (take out the
workloads sharing a node and route them back).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ... import tolerance
from .route import Others, Router
from .state import LSState

INF = math.inf


class Timeout(Exception):
    """The deadline passed (raised between moves, never inside one)."""


class _Query:
    """What a :meth:`Rerouting.route_and_apply` has learnt so far: layers and
    moves excluded, the weight on latency, and the Lagrangian price ``lam``
    (per full memory / compute capacity) of the nodes found overflowing,
    bracketed between ``lam_lo`` (overflows) and ``lam_hi`` (fits)."""

    def __init__(self, allowed: np.ndarray, tws: list[float]):
        self.allowed = allowed
        self.forbidden: dict[int, set[tuple[int, int]]] = {}
        self.tws = tws
        self.boost, self.costs = 1.0, True
        self.priced: dict[int, tuple[float, float]] = {}  # node -> (1 / memory, 1 / compute)
        self.overflows: dict[int, int] = {}
        self.lam, self.lam_lo, self.lam_hi = 0.0, 0.0, INF

    def weights(self) -> list[float]:
        """Weight of one second of each member's latency in the DP."""
        return [self.boost * t for t in self.tws] if self.costs else [1.0] * len(self.tws)

    def prices(self) -> dict[int, tuple[float, float]] | None:
        """Current prices of the overflowing nodes."""
        return {i: (self.lam * a, self.lam * b) for i, (a, b) in self.priced.items()} if self.priced else None

    def fitted(self) -> bool:
        """The path fits at ``lam``: try a lower price (False: done)."""
        self.lam_hi = self.lam
        return self._next_price()

    def react(self, fix: tuple, path: np.ndarray, unit: Callable[[], float], st) -> bool:
        """Adjust to the diagnosis of an infeasible path (see
        :meth:`Rerouting._diagnose`); False: give up."""
        if fix[0] == "slo":
            if not self.costs:
                return False
            if self.boost < 1e3:
                self.boost *= 10.0
            else:
                self.costs = False
            return True
        if fix[0] != "node" or self._restrict(fix, path):
            return True  # a link or segment rule was restricted by the diagnosis
        _, i, _, ex_mem, ex_busy = fix
        a, b = self.priced.get(i, (0.0, 0.0))
        self.priced[i] = (a or (1.0 / st.mem_lim[i] if ex_mem > 0 else 0.0),
                          b or (1.0 / st.node_cap if ex_busy > 0 else 0.0))
        self.lam_lo = self.lam
        if self.lam == 0.0:
            self.lam = unit()
            return True
        return self._next_price()

    def _restrict(self, fix: tuple, path: np.ndarray) -> bool:
        """Node ``i`` overflows at layer ``k``.  When the path enters ``i``
        more than once (each segment fits alone, together they do not), or
        after six overflows, ``i`` is excluded from ``k`` on; after three,
        the move into ``(k, i)`` is forbidden (True: ask again).  Otherwise
        False: price the node."""
        _, i, k, _, _ = fix
        self.overflows[i] = self.overflows.get(i, 0) + 1
        if np.any(np.diff(np.flatnonzero(path == i)) > 1) or self.overflows[i] > 6:
            self.allowed[k:, i] = False  # leave the node before it overflows
            return True
        if self.overflows[i] > 3:
            if k == 0:
                self.allowed[0, i] = False
            else:
                self.forbidden.setdefault(k, set()).add((int(path[k - 1]), i))
            return True
        return False

    def _next_price(self) -> bool:
        """Log-bisection between the last overflowing and the first fitting price."""
        if not math.isfinite(self.lam_hi):
            self.lam *= 10.0
        elif self.lam_lo > 0 and self.lam_hi / self.lam_lo > 1.5:
            self.lam = math.sqrt(self.lam_lo * self.lam_hi)
        else:
            return False
        return True


class Rerouting:
    """Mixin for :class:`~placement_opt.heuristics.local_search.search.LocalSearch`
    (uses its ``st``, ``router``, ``rng``, ``obj``, ``visits``,
    ``groups``, ``improve_workload``, ``time_coef``, ``_demand``,
    ``_check_time`` and ``_tol``)."""

    # Set by LocalSearch.__init__.
    st: LSState
    router: Router
    rng: np.random.Generator
    obj: float
    visits: int
    evals: int
    moves: int

    if TYPE_CHECKING:  # defined by LocalSearch and its other mixins
        def groups(self, w: int, a: int, c: int, kind: str) -> list[list[int]]: ...
        def improve_workload(self, w: int, reroute: bool = True, rounds: int = 8) -> bool: ...
        def time_coef(self, w: int) -> float: ...
        def _by_demand(self, workloads: list[int]) -> list[int]: ...
        def _check_time(self) -> None: ...
        def _tol(self) -> float: ...

    def reroute(self, w: int) -> bool:
        """Cheapest path for ``w`` -- and for the group of workloads that
        share ``w``'s whole path -- given everything else, if it improves."""
        tol = self._tol()
        for members in self.groups(w, 0, self.st.length[w] - 1, "route"):
            if self.route_and_apply(members, lambda obj: obj < self.obj - tol):
                return True
        return False

    def route_and_apply(self, members: list[int], accept: Callable[[float], bool],
                        allowed: np.ndarray | None = None, first: bool = False,
                        jitter: float = 0.0) -> bool:
        """Route ``members`` (present or absent, one model) onto one common
        path, check it on the exact state, and keep the best feasible path
        for which ``accept(objective)`` holds (the first such when ``first``;
        ``jitter``: random relative noise on the layer costs).  Returns
        whether a path was applied."""
        st = self.st
        L = st.length[members[0]]
        q = _Query(np.ones((L, st.N), dtype=bool) if allowed is None else allowed.copy(),
                   [self.time_coef(v) for v in members])
        others = self.router.others(members)
        noise = 1.0 + jitter * self.rng.random((L, st.N)) if jitter else None
        best_obj, best_path, fitted = INF, None, 0
        for _ in range(2 * L + 24):
            self._check_time()
            path = self.router.route(members, q.weights(), q.allowed, q.forbidden, others, q.costs,
                                     q.prices(), noise)
            if path is None:
                break
            if all(st.present[v] and np.array_equal(path, st.path(v)) for v in members):
                fits, obj, fix = True, self.obj, None
            else:
                fits, obj, fix = self._probe(members, path, others, q.allowed, q.forbidden)
            if fits:
                if accept(obj) and (best_path is None or tolerance.improves(obj, best_obj)):
                    best_obj, best_path = obj, path
                fitted += 1
                if first or not q.priced or fitted > 3 or not q.fitted():
                    break
            elif fix is None or not q.react(fix, path, lambda: 0.01 * self._scale(members, sum(q.tws)), st):
                break
        return best_path is not None and self._apply_path(members, best_path, count=not first)

    def _apply_path(self, members: list[int], path: np.ndarray, count: bool) -> bool:
        st = self.st
        st.begin()
        self._place(members, path)
        if not st.touched_ok():  # not expected: the same path was feasible a moment ago
            st.rollback()
            return False
        st.commit()
        if all(st.present):
            self.obj = st.objective()
        self.moves += count
        return True

    def _place(self, members: list[int], path: np.ndarray) -> None:
        """Put every member on ``path`` (inside an open ``begin()``)."""
        st = self.st
        for v in members:
            if st.present[v]:
                st.set_range(v, 0, path)
            else:
                st.insert(v, path)

    def _scale(self, members: list[int], tw: float) -> float:
        """Typical objective share of the group: the unit of the Lagrangian price."""
        st = self.st
        lat = sum(float(st.lat[v]) for v in members if st.present[v])
        if tw * lat > 0:
            return tw * lat / len(members)
        score = self.router.node_score
        fastest = float(score[st.off[members[0]]].min()) if score is not None else INF
        if tw > 0 and math.isfinite(fastest) and fastest > 0:
            return tw * fastest
        if math.isfinite(self.obj) and self.obj > 0:
            return self.obj / max(st.W, 1)
        return 1.0

    def _probe(self, members: list[int], path: np.ndarray, others: Others, allowed: np.ndarray,
               forbidden: dict[int, set[tuple[int, int]]]) -> tuple[bool, float, tuple | None]:
        """Apply ``path`` tentatively: ``(True, objective, None)`` if feasible,
        else ``(False, inf, diagnosis)`` (see :meth:`_diagnose`).  The state is
        restored."""
        st = self.st
        st.begin()
        self._place(members, path)
        self.evals += 1
        if st.touched_ok():
            obj = st.objective() if all(st.present) else INF
            st.rollback()
            return True, obj, None
        fix = self._diagnose(members, path, others, allowed, forbidden)
        st.rollback()
        return False, INF, fix

    def _diagnose(self, members: list[int], path: np.ndarray, o: Others, allowed: np.ndarray,
                  forbidden: dict[int, set[tuple[int, int]]]) -> tuple | None:
        """Why the applied ``path`` is infeasible: ``("slo",)``, ``("node", i,
        first overflowing layer, memory excess, utilisation excess)``,
        ``("link",)`` or ``("segments",)`` (the last two restrict
        ``forbidden`` / ``allowed`` themselves); None if unknown."""
        st = self.st
        if any(not st.lat[v] <= st.slo_lim[v] for v in members):
            return ("slo",)
        w = members[0]
        L = st.length[w]
        gs = st.gl0[w] + np.arange(L)
        r = sum(st.rate[v] for v in members)
        for i in np.unique(path).tolist():
            if st.busy[i] <= st.node_cap and st.mem[i] <= st.mem_lim[i]:
                continue
            on = np.flatnonzero(path == i)
            busy = o.busy[i] + np.cumsum(r * st.ct[gs[on], i] if r > 0 else np.zeros(on.size))
            need = len(members) * st.state_b[gs[on]] + st.param[gs[on]] * (o.cnt[on, i] == 0)
            mem = o.mem[i] + np.cumsum(need)
            over = np.flatnonzero((busy > st.node_cap) | (mem > st.mem_lim[i]))
            k = int(on[over[0]]) if over.size else int(on[0])
            return ("node", i, k, max(float(st.mem[i] - st.mem_lim[i]), 0.0),
                    max(float(st.busy[i] - st.node_cap), 0.0))
        if st.E and self._link_fix(members, path, allowed, forbidden):
            return ("link",)
        left: set[int] = set()
        for k in range(1, L):
            if path[k] != path[k - 1]:
                left.add(int(path[k - 1]))
                if st.one_seg and int(path[k]) in left:
                    allowed[k:, int(path[k])] = False
                    return ("segments",)
        return None

    def _link_fix(self, members: list[int], path: np.ndarray, allowed: np.ndarray,
                  forbidden: dict[int, set[tuple[int, int]]]) -> bool:
        """Exclude the first transfer that crosses an overloaded link."""
        st = self.st
        over = set(np.flatnonzero(st.ll > st.link_lim).tolist())
        if not over:
            return False
        L = st.length[members[0]]
        for v in members:
            ext = [st.src[v]] + path.tolist() + [st.snk[v]]
            for t in range(L + 1):
                a, b = ext[t], ext[t + 1]
                if over.intersection(st.route_links(a, b)):
                    if t == 0:
                        allowed[0, b] = False
                    elif t == L:
                        allowed[L - 1, a] = False
                    else:
                        forbidden.setdefault(t, set()).add((a, b))
                    return True
        return False

    # ------------------------------------------------------------ evacuate
    def evacuate(self, nodes: int = 6, users_max: int = 8) -> bool:
        """Move every workload off one paid node at once, if that pays (the
        ``nodes`` most expensive hosting nodes with at most ``users_max``
        workloads on them)."""
        st = self.st
        tol = self._tol()
        paid = np.flatnonzero((st.ncount > 0) & (st.w_cost * st.cost > tol))
        tried = 0
        for i in paid[tolerance.order(-st.cost[paid])].tolist():
            users = [w for w in range(st.W) if (st.path(w) == i).any()]
            if len(users) > users_max:
                continue
            tried += 1
            if tried > nodes:
                break
            self.visits += sum(st.length[w] for w in users)
            saved_x, saved_obj = st.x.copy(), self.obj
            ok = True
            try:
                for w in users:
                    allowed = np.ones((st.length[w], st.N), dtype=bool)
                    allowed[:, i] = False
                    if not self.route_and_apply([w], lambda obj: True, allowed, first=True):
                        ok = False
                        break
            except Timeout:
                self._restore(saved_x)
                raise
            obj = st.objective()
            if ok and obj < saved_obj - tol:
                self.obj = obj
                return True
            self._restore(saved_x)
        return False

    # ----------------------------------------------------------------- LNS
    def lns(self, nodes: int = 4, size: int = 8) -> bool:
        """Large-neighbourhood move: take out the workloads of one model that
        share a node (at most ``size``, for up to ``nodes`` distinct groups,
        those on the fullest nodes first), route them back -- as one group on a common path, or one by
        one by largest demand -- and let them descend;
        keep the first result that beats the objective before the move."""
        st = self.st
        users: dict[tuple[int, int], list[int]] = {}
        for w in range(st.W):
            m = int(st.p.workload_model[w])
            for i in np.unique(st.path(w)).tolist():
                users.setdefault((i, m), []).append(w)
        shared = [key for key, ws in sorted(users.items()) if len(ws) > 1]
        # fullest nodes first (shared weights matter most there), ties in a seeded order
        fill = np.array([st.mem[i] / max(st.mem_lim[i], 1.0) for i, _ in shared])
        ranks = np.lexsort((self.rng.permutation(len(shared)), tolerance.tie_groups(-fill)))
        tol = self._tol()
        seen: set[tuple[int, ...]] = set()
        for k in ranks.tolist():
            group = users[shared[k]]
            if len(group) > size:
                group = sorted(self.rng.choice(group, size, replace=False).tolist())
            if tuple(group) in seen:
                continue
            seen.add(tuple(group))
            if len(seen) > nodes:
                break
            order = self._by_demand(group)
            for attempt in ("group", order, order[::-1]):
                self.visits += 2 * sum(st.length[w] for w in group)
                if self._rebuild_group(group, attempt, tol):
                    return True
        return False

    def _rebuild_group(self, group: list[int], how, tol: float) -> bool:
        """Take ``group`` out, route it back (``how``: "group" or an order),
        descend on it; keep the result if it improves by more than ``tol``."""
        st = self.st
        saved_x, saved_obj = st.x.copy(), self.obj
        try:
            st.begin()
            for w in group:
                st.remove(w)
            st.commit()
            if how == "group":
                ok = self.route_and_apply(group, lambda obj: True, first=True)
            else:
                ok = all(self.route_and_apply([w], lambda obj: True, first=True) for w in how)
            if ok and all(st.present):
                self.obj = st.objective()
                for w in group:
                    self.improve_workload(w)
                if self.obj < saved_obj - tol:
                    return True
        except Timeout:
            self._restore(saved_x)
            raise
        self._restore(saved_x)
        return False

    def _restore(self, x: np.ndarray) -> None:
        """Rebuild the state for ``x`` (all workloads present)."""
        self.st.rebuild(x)
        self.obj = self.st.objective()
