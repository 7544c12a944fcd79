"""Constrained shortest paths for ``local-search``: re-route workloads.

:class:`Router` finds, for one workload -- or for a *group* of workloads of
the same model that are to follow one common path, sharing its weights --
the cheapest path through the layer-by-node graph given what every *other*
workload already uses (memory, compute and link capacity, and which weights
are already placed where).  The path cost is the group's share of the
objective that is additive along a path: weighted latency (with coefficients
the caller chooses), energy, migration of weights placed nowhere yet and not
placed before, and the cost of every node that would newly start hosting
(charged when the path enters it).

The DP's steps are *segments* (:func:`_segment_dp`): a run of layers on one
node is allowed only if its summed memory (weights once, state per member)
and compute fit what the others leave of the node, and each transfer alone
must fit every link on its route.  What the DP cannot see -- a node entered
twice, several transfers over one link -- is checked by the caller on the
exact state, which then forbids or prices the offending choice and asks
again (``Rerouting.route_and_apply``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ... import tolerance as tol
from .state import LSState

INF = np.inf


@dataclass
class Others:
    """What the workloads outside a group use."""

    busy: np.ndarray
    mem: np.ndarray
    cnt: np.ndarray  # (L, N) for the group's global layers
    ncount: np.ndarray
    link_load: np.ndarray


class Router:
    """Layered-graph dynamic programming over a :class:`LSState`.

    Parameters
    ----------
    state
        The state (read only here).
    node_score
        Per flat position and node, a score where lower is more promising
        (e.g. the fastest path through it); used to restrict the graph to
        ``max_nodes`` nodes on large networks.  None: no restriction.
    max_nodes
        Largest number of nodes the DP considers (plus those in use).
    """

    def __init__(self, state: LSState, node_score: np.ndarray | None = None, max_nodes: int = 64):
        self.st = state
        self.max_nodes = max_nodes
        self.node_score = node_score
        r = state.p.routes
        self._levels = []
        hops = r.hops
        for h in range(1, int(hops.max()) + 1 if hops.size else 1):
            a, b = np.nonzero(hops == h)
            self._levels.append((a, b, r.pred_node[a, b], r.pred_link[a, b]))

    # ------------------------------------------------------------- helpers
    def others(self, members: list[int]) -> Others:
        """Loads of every workload outside ``members`` (all of one model)."""
        st = self.st
        w = members[0]
        L = st.length[w]
        gs = st.gl0[w] + np.arange(L)
        busy, mem, ncount, ll = st.busy.copy(), st.mem.copy(), st.ncount.copy(), st.ll.copy()
        cnt = st.cnt[gs].copy()
        N = st.N
        rows = np.arange(L)
        mine = [v for v in members if st.present[v]]
        for v in mine:
            path = st.path(v)
            r = st.rate[v]
            if r > 0:
                busy -= np.bincount(path, r * st.ct[gs, path], N)
            cnt[rows, path] -= 1
            mem -= np.bincount(path, st.state_b[gs], N)
            ncount -= np.bincount(path, minlength=N)
            if st.E and r > 0:
                ext = [st.src[v]] + path.tolist() + [st.snk[v]]
                for t in range(L + 1):
                    load = r * st.transfer_bytes(v, t)
                    for e in st.route_links(ext[t], ext[t + 1]):
                        ll[e] -= load
        if mine:  # weights nobody else uses any more
            held = np.zeros((L, N), dtype=bool)
            for v in mine:
                held[rows, st.path(v)] = True
            gone = held & (cnt == 0)
            mem -= (st.param[gs][:, None] * gone).sum(axis=0)
        return Others(busy, mem, cnt, ncount, ll)

    def nobody(self, w: int) -> Others:
        """No other workload at all (for a path that ignores everyone else)."""
        st = self.st
        return Others(np.zeros(st.N), np.zeros(st.N), np.zeros((st.length[w], st.N), dtype=np.int32),
                      np.zeros(st.N, dtype=np.int64), np.zeros(st.E))

    def _min_residual(self, residual: np.ndarray) -> np.ndarray:
        """``out[a, b]``: smallest residual capacity over the links of route a -> b."""
        n = self.st.N
        out = np.full((n, n), INF)
        for a, b, pn, pl in self._levels:
            out[a, b] = np.minimum(out[a, pn], residual[pl])
        return out

    def _nodes_for(self, w: int, allowed: np.ndarray, keep: np.ndarray) -> np.ndarray:
        """Nodes the DP may use: all allowed ones, or the ``max_nodes`` most
        promising plus ``keep``."""
        usable = allowed.any(axis=0)
        nodes = np.flatnonzero(usable)
        if nodes.size <= self.max_nodes or self.node_score is None:
            return nodes
        st = self.st
        score = np.where(allowed, self.node_score[st.positions(w)], INF).min(axis=0)[nodes]
        best = nodes[tol.smallest(score, self.max_nodes)]
        extra = np.flatnonzero(keep & usable)
        return np.union1d(best, extra)

    # ----------------------------------------------------------------- DP
    def route(self, members: list[int], time_weights: list[float], allowed: np.ndarray | None = None,
              forbidden: dict[int, set[tuple[int, int]]] | None = None,
              others: Others | None = None, costs: bool = True,
              prices: dict[int, tuple[float, float]] | None = None,
              noise: np.ndarray | None = None) -> np.ndarray | None:
        """Cheapest common path for ``members`` given the other workloads.

        Parameters
        ----------
        members
            Workloads (of one model) that will all follow the path.
        time_weights
            Objective weight of one second of each member's latency.
        allowed
            Extra ``(L, N)`` mask of permitted (layer, node) pairs.
        forbidden
            ``{transfer index: {(from, to), ...}}`` moves not to use (transfer
            ``t`` goes into local layer ``t``; ``(i, i)`` forbids staying).
        others
            Precomputed :meth:`others` (computed when None).
        costs
            Include energy, migration and node cost (else time only).
        prices
            ``{node: (per byte of memory, per unit of utilisation)}``:
            Lagrangian prices that steer the path off a node it would
            otherwise overflow.
        noise
            Optional ``(L, N)`` factors on the per-layer costs (randomised
            construction).

        Returns
        -------
        numpy.ndarray or None
            Node per layer, or None when no path exists.
        """
        with np.errstate(invalid="ignore", divide="ignore"):
            return self._route(members, time_weights, allowed, forbidden,
                               others if others is not None else self.others(members), costs, prices, noise)

    def _route(self, members, tws, allowed, forbidden, o, costs, prices, noise) -> np.ndarray | None:
        st = self.st
        w = members[0]
        L = st.length[w]
        A = np.logical_and.reduce([st.mask[st.positions(v)] for v in members])
        if allowed is not None:
            A = A & allowed
        keep = o.cnt.any(axis=0)
        for v in members:
            if st.present[v]:
                keep[st.path(v)] = True
        U = self._nodes_for(w, A, keep)
        if U.size == 0:
            return None
        g = _Graph(st, members, tws, o, U, costs, forbidden or {})
        node_cost, limits = g.node_costs(A[:, U], prices, noise)
        g.minres = self._link_residuals(members, o)
        first = g.ends(True) + (g.act if g.act is not None else 0.0)
        segs = min(min(st.max_seg[v] for v in members), L)
        path = _segment_dp(node_cost, first, g.ends(False), g.boundary, limits, g.stay_breaks(L), segs)
        return None if path is None else U[path]

    def _link_residuals(self, members: list[int], o: Others) -> np.ndarray | None:
        """Smallest residual link capacity on every route, when some single
        transfer of the group could exceed it (None otherwise)."""
        st = self.st
        r = sum(st.rate[v] for v in members)
        if not st.E or r <= 0:
            return None
        residual = st.link_lim - o.link_load
        w = members[0]
        biggest = r * max(st.transfer_bytes(w, t) for t in range(st.length[w] + 1))
        return self._min_residual(residual) if residual.min() < biggest else None


class _Graph:
    """The layer-by-node graph of one routing query over the nodes ``U``."""

    def __init__(self, st: LSState, members: list[int], tws: list[float], o: Others, U: np.ndarray,
                 costs: bool, forbidden: dict[int, set[tuple[int, int]]]):
        self.st, self.members, self.tws, self.o, self.U = st, members, tws, o, U
        self.w = members[0]
        self.rates = [st.rate[v] for v in members]
        self.r, self.tw = sum(self.rates), sum(tws)
        self.costs = costs
        self.use_energy = costs and st.w_energy > 0 and self.r > 0
        self.act = st.w_cost * st.cost[U] * (o.ncount[U] == 0) if costs and st.w_cost else None
        self.forbidden = forbidden
        self.pos = {int(v): k for k, v in enumerate(U)}
        self.sub = np.ix_(U, U)
        self.minres: np.ndarray | None = None
        self._cache: dict[tuple[float, bool], np.ndarray] = {}

    def node_costs(self, A: np.ndarray, prices, noise) -> tuple[np.ndarray, tuple]:
        """Cost of each (layer, node) (``inf`` where not allowed or where the
        layer alone does not fit), and the (amount, residual) pairs a
        segment must fit."""
        st, o, U, r = self.st, self.o, self.U, self.r
        gs = st.gl0[self.w] + np.arange(st.length[self.w])
        c = st.ct[gs][:, U]
        busy = r * c if r > 0 else np.zeros_like(c)
        unplaced = o.cnt[:, U] == 0
        need = len(self.members) * st.state_b[gs][:, None] + st.param[gs][:, None] * unplaced
        free_busy, free_mem = (st.node_cap - o.busy)[U], (st.mem_lim - o.mem)[U]
        A = A & (busy <= free_busy[None, :]) & (need <= free_mem[None, :])
        cost = self.tw * c
        if self.use_energy:
            cost = cost + st.w_energy * r * st.flops[gs][:, None] * st.epf[U][None, :]
        if self.costs and st.w_mig:
            cost = cost + st.w_mig * st.param[gs][:, None] * (unplaced & ~st.prev[gs][:, U])
        for i, (p_mem, p_busy) in (prices or {}).items():
            k = self.pos.get(i)
            if k is not None:
                cost[:, k] = cost[:, k] + p_mem * need[:, k] + p_busy * busy[:, k]
        if noise is not None:
            cost = cost * noise[:, U]
        return np.where(A, cost, INF), ((need, free_mem), (busy, free_busy))

    def move(self, nbytes: float, idx, tw: float, r: float) -> np.ndarray:
        """Cost of transfers of ``nbytes`` between the node pairs ``idx``
        (``inf`` without a route or when the transfer alone overloads a link)."""
        st = self.st
        t = st.lat_inf[idx] + nbytes * st.inv_bw[idx]
        m = tw * t
        if self.use_energy:
            m = m + st.w_energy * r * nbytes * st.r_epb[idx]
        ok = np.isfinite(t)
        if self.minres is not None:
            ok &= (r * nbytes <= self.minres[idx]) | (t == 0)
        return np.where(ok, m, INF)

    def ends(self, into: bool) -> np.ndarray:
        """Summed cost of every member's raw input (``into``) or result transfer."""
        st, U = self.st, self.U
        total = np.zeros(U.size)
        nbytes = st.transfer_bytes(self.w, 0 if into else st.length[self.w])
        for v, tw_v, r_v in zip(self.members, self.tws, self.rates):
            idx = (st.src[v], U) if into else (U, st.snk[v])
            total += self.move(nbytes, idx, tw_v, r_v)
        return total

    def boundary(self, t: int, stay: bool = True) -> np.ndarray:
        """Cost of moving between nodes into layer ``t`` (the diagonal,
        staying, is 0; or ``inf`` when not ``stay``)."""
        nbytes = self.st.transfer_bytes(self.w, t)
        m = self._cache.get((nbytes, stay))
        if m is None:
            m = self.move(nbytes, self.sub, self.tw, self.r)
            if self.act is not None:
                m = m + self.act[None, :] * ~np.eye(self.U.size, dtype=bool)
            if not stay:
                np.fill_diagonal(m, INF)
            self._cache[(nbytes, stay)] = m
        bad = self.forbidden.get(t)
        if bad:
            m = m.copy()
            for a, b in bad:
                if a in self.pos and b in self.pos:
                    m[self.pos[a], self.pos[b]] = INF
        return m

    def stay_breaks(self, L: int) -> np.ndarray:
        """``[t, k]``: staying on node ``U[k]`` into layer ``t`` is forbidden."""
        out = np.zeros((L, self.U.size), dtype=bool)
        for t, pairs in self.forbidden.items():
            for a, b in pairs:
                if a == b and a in self.pos:
                    out[t, self.pos[a]] = True
        return out


def _window_starts(node_cost: np.ndarray, limits, stay_break: np.ndarray) -> np.ndarray:
    """``kmin[e, i]``: the earliest layer a segment on node ``i`` ending at
    layer ``e`` may start at -- every layer in it allowed, no forbidden stay
    inside, and its summed memory and compute within the node's residual.
    Nondecreasing in ``e``."""
    L, n = node_cost.shape
    rows = np.arange(L)[:, None]
    lim = np.where(~np.isfinite(node_cost), rows + 1, 0)
    lim = np.maximum(lim, np.where(stay_break, rows, 0))
    kmin = np.maximum.accumulate(lim, axis=0)
    for amount, residual in limits:
        cum = np.vstack((np.zeros(n), np.cumsum(np.where(np.isfinite(amount), amount, 0.0), axis=0)))
        for i in np.flatnonzero(cum[-1] > residual).tolist():  # only where the sum can bind
            first_ok = np.searchsorted(cum[:, i], cum[1:, i] - residual[i], side="left")
            kmin[:, i] = np.maximum(kmin[:, i], first_ok)
    return kmin


def _segment_dp(node_cost, first, final, boundary, limits, stay_break, segs) -> np.ndarray | None:
    """Cheapest path as a sequence of segments (at most ``segs``; ``segs ==
    L`` means no limit), each of which fits its node on its own (see
    :func:`_window_starts`).  ``boundary(t, stay)`` gives the cost of moving
    into layer ``t`` between nodes (``stay=False``: staying not allowed).

    ``value[s, k, i]``: cheapest cost of layers ``0..k-1`` in ``s`` segments
    plus the move into node ``i`` for layer ``k``, minus ``prefix[k, i]``;
    ``done[s, e, i]``: cheapest cost of layers ``0..e`` in ``s+1`` segments,
    the last on ``i``: ``prefix[e+1, i] + min(value[s, k, i])`` over the
    allowed starts ``k`` of a segment ending at ``e``.  Without a limit the
    segment count is not tracked (see :func:`_free_dp`).
    """
    L, n = node_cost.shape
    kmin = _window_starts(node_cost, limits, stay_break)
    prefix = np.vstack((np.zeros(n), np.cumsum(np.where(np.isfinite(node_cost), node_cost, 0.0), axis=0)))
    # Costs within TIE_RTOL of the path costs' scale are ties (the DP stores
    # costs net of ``prefix``, so their own magnitude says little).
    ends = np.concatenate((first, final))
    atol = tol.TIE_RTOL * (float(prefix[-1].max()) + float(np.abs(ends[np.isfinite(ends)]).max(initial=0.0)))
    if segs >= L:
        return _free_dp(L, n, first, final, boundary, kmin, prefix, atol)
    S = segs
    cols = np.arange(n)
    srange = np.arange(S)[:, None]
    value = np.full((S, L, n), INF)
    done = np.full((S, L, n), INF)
    from_node = np.zeros((S, L, n), dtype=np.int64)
    start = np.zeros((S, L, n), dtype=np.int64)
    value[0, 0] = first
    ks = np.arange(L)[None, :, None]
    for e in range(L):
        if e > 0 and S > 1:
            via = done[:-1, e - 1][:, :, None] + boundary(e, False)[None, :, :]  # (s, from, to)
            arg = tol.argmin(via, axis=1, atol=atol)
            from_node[1:, e] = arg
            value[1:, e] = via[srange[:-1], arg, cols[None, :]] - prefix[e][None, :]
        window = np.where(ks[:, :e + 1] >= kmin[e][None, None, :], value[:, :e + 1], INF)
        arg = tol.argmin(window, axis=1, atol=atol)
        start[:, e] = arg
        done[:, e] = prefix[e + 1][None, :] + window[srange, arg, cols[None, :]]
    total = done[:, L - 1] + final[None, :]
    s, i = map(int, np.unravel_index(tol.argmin(total, atol=atol), total.shape))
    if not np.isfinite(total[s, i]):
        return None
    path = np.empty(L, dtype=np.int64)
    e = L - 1
    while True:
        k = int(start[s, e, i])
        path[k:e + 1] = i
        if k == 0:
            return path
        i, e, s = int(from_node[s, k, i]), k - 1, s - 1


def _free_dp(L, n, first, final, boundary, kmin, prefix, atol) -> np.ndarray | None:
    """:func:`_segment_dp` without a segment limit (two-dimensional arrays)."""
    cols = np.arange(n)
    value = np.full((L, n), INF)
    from_node = np.zeros((L, n), dtype=np.int64)
    start = np.zeros((L, n), dtype=np.int64)
    value[0] = first
    run_min, run_arg = first.copy(), np.zeros(n, dtype=np.int64)  # windows from layer 0
    bound_from = int(np.argmax(kmin.any(axis=1))) if kmin.any() else L
    done = prefix[1] + np.where(kmin[0] > 0, INF, first)
    start[0] = 0
    for e in range(1, L):
        via = done[:, None] + boundary(e, False)
        arg = tol.argmin(via, axis=0, atol=atol)
        from_node[e] = arg
        v = via[arg, cols] - prefix[e]
        value[e] = v
        better = tol.improves_mask(v, run_min, rtol=tol.TIE_RTOL, atol=atol)
        run_min = np.where(better, v, run_min)
        run_arg[better] = e
        best, begin = run_min, run_arg
        if e >= bound_from:
            bound = np.flatnonzero(kmin[e] > 0)
            if bound.size:
                window = value[:e + 1, bound]
                window = np.where(np.arange(e + 1)[:, None] >= kmin[e, bound][None, :], window, INF)
                wa = tol.argmin(window, axis=0, atol=atol)
                best, begin = best.copy(), begin.copy()
                best[bound] = window[wa, np.arange(bound.size)]
                begin[bound] = wa
        start[e] = begin
        done = prefix[e + 1] + best
    total = done + final
    i = tol.argmin(total, atol=atol)
    if not np.isfinite(total[i]):
        return None
    path = np.empty(L, dtype=np.int64)
    e = L - 1
    while True:
        k = int(start[e, i])
        path[k:e + 1] = i
        if k == 0:
            return path
        i, e = int(from_node[k, i]), k - 1
