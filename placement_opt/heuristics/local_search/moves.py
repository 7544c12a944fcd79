"""Neighbourhoods of ``local-search``: screened in bulk, evaluated exactly.

Every move here puts a contiguous range of layers of one workload -- or of a
*group*: all workloads of the same model whose paths agree on that range, so
that they share the weights there -- on new nodes:

- :meth:`Moves.seg_move`: a whole segment to another node;
- :meth:`Moves.cut_shift`: two adjacent segments ``i | j`` become ``u | v``
  with ``(u, v)`` = ``(i, j)`` (the cut moves) or ``(j, i)`` (their order is
  swapped), with the best cut;
- :meth:`Moves.split`: a prefix or a suffix of a segment to another node;
- :meth:`Moves.swap_within` / :meth:`Moves.swap_across`: two segments
  exchange their nodes.

For all targets at once, numpy computes the exact change of the additive
objective terms (weighted latency, energy, migration, node cost), summed over
the group, and pre-checks memory (weights once, state per workload) and
compute; see :meth:`Moves._per_layer`.  Only the ``top_k`` best are applied to
the exact state (:meth:`LocalSearch._try_ranked`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ... import segments
from ... import tolerance as tol
from .route import Router
from .state import LSState

INF = np.inf

#: Largest group moved as one (larger groups are left to single moves).
GROUP_MAX = 16


def _pre(v: np.ndarray) -> np.ndarray:
    """``out[q] = sum(v[:q])`` along axis 0, ``q = 0 .. len(v)``."""
    zero = np.zeros((1,) + v.shape[1:])
    return np.concatenate((zero, np.cumsum(v, axis=0)))


def _suf(v: np.ndarray) -> np.ndarray:
    """``out[q] = sum(v[q:])`` along axis 0, ``q = 0 .. len(v)``."""
    zero = np.zeros((1,) + v.shape[1:])
    return np.concatenate((np.cumsum(v[::-1], axis=0)[::-1], zero))


class Moves:
    """Mixin for :class:`~placement_opt.heuristics.local_search.search.LocalSearch`
    (uses its ``st``, ``router``, ``rng``, ``swaps``, ``by_model``,
    ``model_positions``, ``_targets``, ``time_coef(s)``, ``_attempt`` and
    ``_try_ranked``)."""

    # Set by LocalSearch.__init__.
    st: LSState
    router: Router
    rng: np.random.Generator
    swaps: int
    by_model: dict[int, list[int]]
    model_positions: dict[int, np.ndarray]
    _targets: dict[int, np.ndarray]
    _group_seen: dict[tuple, int]

    if TYPE_CHECKING:  # defined by LocalSearch
        def time_coef(self, w: int) -> float: ...
        def time_coefs(self, members: np.ndarray) -> np.ndarray: ...
        def _attempt(self, ops: list[tuple[int, int, np.ndarray]]) -> bool: ...
        def _try_ranked(self, est: np.ndarray, build: Callable[[int], list]) -> bool: ...

    # ------------------------------------------------------------- groups
    def segments(self, w: int) -> list[tuple[int, int, int]]:
        """``(first, last, node)`` of each segment of ``w`` (local, inclusive)."""
        path = self.st.path(w)
        first, last = segments.bounds(path)
        return [(a, b, int(path[a])) for a, b in zip(first.tolist(), last.tolist())]

    def groups(self, w: int, a: int, c: int, kind: str) -> list[list[int]]:
        """``[w]``, then (if larger, up to ``GROUP_MAX``) every workload of
        ``w``'s model whose path equals ``w``'s on local layers ``a..c`` --
        unless that group was already tried for this ``kind`` of move since
        the last change to the state (its members share the move)."""
        st = self.st
        same = self.by_model[st.p.workload_model[w]]
        if len(same) < 2:
            return [[w]]
        rows = self.model_positions[st.p.workload_model[w]]
        paths = st.x[rows[:, a:c + 1]]
        members = [int(v) for v in np.asarray(same)[(paths == st.path(w)[a:c + 1]).all(axis=1)]]
        if not 1 < len(members) <= GROUP_MAX:
            return [[w]]
        key = (kind, tuple(members), a, c)
        if self._group_seen.get(key) == st.version:
            return [[w]]
        self._group_seen[key] = st.version
        return [[w], members]

    def _ends(self, v: int, a: int, c: int) -> tuple[int, int]:
        """Nodes before local layer ``a`` and after ``c`` of ``v`` (source / sink at the ends)."""
        st = self.st
        path = st.path(v)
        prev = st.src[v] if a == 0 else int(path[a - 1])
        nxt = st.snk[v] if c == st.length[v] - 1 else int(path[c + 1])
        return prev, nxt

    # ----------------------------------------------------------- transfers
    def _t_cost(self, node: int, nbytes, tw: float, r: float, to: bool) -> np.ndarray:
        """Objective cost of moving ``nbytes`` (a number, or a vector for
        rows) from every node to ``node`` (``to``) or from ``node`` to every
        node, for time coefficient ``tw`` and rate ``r``."""
        st = self.st
        lat = st.lat_inf[:, node] if to else st.lat_inf[node]
        inv = st.inv_bw[:, node] if to else st.inv_bw[node]
        nb = np.asarray(nbytes, dtype=float)
        if nb.ndim:
            nb = nb[:, None]
        t = lat + nb * inv
        with np.errstate(invalid="ignore"):
            m = tw * t
        if st.w_energy and r > 0:
            epb = st.r_epb[:, node] if to else st.r_epb[node]
            m = m + st.w_energy * r * nb * epb
        return np.where(np.isfinite(t), m, INF)

    def _t_ends(self, members: list[int], a: int, into: bool) -> np.ndarray:
        """Summed cost of every member's transfer into local layer ``a``
        (``into``, per target node) or out of local layer ``a`` (per source node)."""
        st = self.st
        w = members[0]
        nbytes = st.transfer_bytes(w, a if into else a + 1)
        if len(members) == 1:
            end = self._ends(w, a, a)[0 if into else 1]
            return self._t_cost(end, nbytes, self.time_coef(w), st.rate[w], not into)
        m = np.asarray(members)
        if into:
            ends = st.src_arr[m] if a == 0 else st.x[st.off_arr[m] + a - 1]
        else:
            ends = st.snk_arr[m] if a == st.length[w] - 1 else st.x[st.off_arr[m] + a + 1]
        idx = (ends, slice(None)) if into else (slice(None), ends)
        lat, inv = st.lat_inf[idx], st.inv_bw[idx]
        if not into:
            lat, inv = lat.T, inv.T
        t = lat + nbytes * inv  # (members, nodes)
        with np.errstate(invalid="ignore"):
            cost = self.time_coefs(m) @ np.where(np.isfinite(t), t, 0.0)
        if st.w_energy:
            epb = st.r_epb[idx] if into else st.r_epb[idx].T
            cost = cost + st.w_energy * nbytes * (st.rate_arr[m] @ epb)
        return np.where(np.isfinite(t).all(axis=0), cost, INF)

    def _t_in(self, members: list[int], a: int) -> np.ndarray:
        """Summed cost of every member's transfer into local layer ``a``, per target node."""
        return self._t_ends(members, a, True)

    def _t_out(self, members: list[int], c: int) -> np.ndarray:
        """Summed cost of every member's transfer out of local layer ``c``, per source node."""
        return self._t_ends(members, c, False)

    # ---------------------------------------------------------- per layer
    def _per_layer(self, members: list[int], a: int, c: int, cols=slice(None)) -> dict:
        """Local layers ``a..c`` of the group (now on their common nodes)
        moved to each node of ``cols``, per layer (rows) and node (columns):
        ``delta`` additive objective change; ``gain_mem`` / ``gain_busy``
        what the node takes on; ``loss_mem`` / ``loss_busy`` what it frees
        where the layer is already there; ``ok`` candidate for every member."""
        st = self.st
        w = members[0]
        n = len(members)
        tw = float(self.time_coefs(np.asarray(members)).sum())
        r = float(st.rate_arr[members].sum())
        rows = np.arange(c - a + 1)
        cur = st.path(w)[a:c + 1]
        gs = st.gl0[w] + np.arange(a, c + 1)
        ct = st.ct[gs]
        cc = ct[:, cols]
        with np.errstate(invalid="ignore"):
            delta = tw * (cc - ct[rows, cur][:, None])
        if st.w_energy and r > 0:
            delta = delta + (st.w_energy * r * st.flops[gs])[:, None] * (st.epf[cols][None, :] - st.epf[cur][:, None])
        cnt = st.cnt[gs]
        param, state = st.param[gs][:, None], st.state_b[gs][:, None]
        free_here = cnt[:, cols] == 0
        if st.w_mig:
            fresh = free_here & ~st.prev[gs][:, cols]
            freed = (cnt[rows, cur] == n) & ~st.prev[gs, cur]
            delta = delta + st.w_mig * (param * fresh - (param[:, 0] * freed)[:, None])
        on = cur[:, None] == np.arange(st.N)[cols][None, :]
        busy = r * cc if r > 0 else np.zeros_like(cc)
        if n == 1:
            ok = on | st.mask[st.off[w] + a:st.off[w] + c + 1][:, cols]
        else:
            rows_k = st.off_arr[members][:, None] + np.arange(a, c + 1)[None, :]
            ok = on | np.all(st.mask[rows_k], axis=0)[:, cols]
        return {
            "delta": np.where(on, 0.0, delta),
            "gain_mem": np.where(on, 0.0, n * state + param * free_here),
            "loss_mem": np.where(on, n * state + param * (cnt[:, cols] == n), 0.0),
            "gain_busy": np.where(on, 0.0, busy),
            "loss_busy": np.where(on, busy, 0.0),
            "ok": ok,
            "tw": tw,
            "r": r,
            "cur": cur,
        }

    def _cost_new(self, cols: np.ndarray) -> np.ndarray | float:
        """``cost`` added by each node of ``cols`` that would start hosting."""
        st = self.st
        return st.w_cost * st.cost[cols] * (st.ncount[cols] == 0) if st.w_cost else 0.0

    def targets(self, w: int) -> np.ndarray:
        """Nodes that moves of ``w`` consider: all, or on large networks the
        ``max_nodes`` most promising for ``w`` plus every node that holds a
        layer of its model or is on its path."""
        st = self.st
        static = self._targets.get(w)
        if static is None:
            score = self.router.node_score
            if self.router.max_nodes >= st.N or score is None:
                static = np.arange(st.N)
            else:
                best = score[st.positions(w)].min(axis=0)
                static = np.sort(tol.smallest(best, self.router.max_nodes))
            self._targets[w] = static
        if static.size == st.N:
            return static
        gs = st.gl0[w] + np.arange(st.length[w])
        extra = np.flatnonzero(st.cnt[gs].any(axis=0))
        return np.union1d(static, extra)

    def _bott(self, changed, util, *more) -> np.ndarray | float:
        """Screening estimate of the weighted ``bottleneck`` change when the
        nodes ``changed`` get utilisation ``util`` (and likewise for each
        further pair in ``more``; arrays broadcast), all else equal."""
        st = self.st
        if not st.w_bott:
            return 0.0
        loads = np.concatenate((st.busy, st.ll * st.link_inv_bw)) if st.E else st.busy
        top = tol.smallest(-loads, 3)
        values = np.concatenate((loads[top], np.zeros(3 - top.size)))
        top = np.concatenate((top, np.full(3 - top.size, -1)))
        pairs = [(changed, util)] + [tuple(more[k:k + 2]) for k in range(0, len(more), 2)]
        # the largest utilisation outside the changed nodes (top 3 cover two changed ones)
        hit = [sum(np.asarray(nodes) == top[k] for nodes, _ in pairs) > 0 for k in range(3)]
        rest = np.where(~hit[0], values[0], np.where(~hit[1], values[1], values[2]))
        new = rest
        for _, u in pairs:
            new = np.maximum(new, u)
        return st.w_bott * (new - values[0])

    def _ops(self, members: list[int], a: int, new: np.ndarray) -> list:
        """Set local layers from ``a`` of every member to ``new``."""
        return [(v, a, new) for v in members]

    # ------------------------------------------------------ segment move
    def seg_move(self, w: int) -> bool:
        """Move a whole segment (of ``w``, or of its group) to another node."""
        for a, b, i in self.segments(w):
            for members in self.groups(w, a, b, "seg"):
                if self._seg_move(members, a, b, i):
                    return True
        return False

    def _seg_move(self, members: list[int], a: int, b: int, i: int) -> bool:
        st = self.st
        cols = self.targets(members[0])
        d = self._per_layer(members, a, b, cols)
        t_in, t_out = self._t_in(members, a), self._t_out(members, b)
        with np.errstate(invalid="ignore"):
            est = d["delta"].sum(axis=0) + (t_in[cols] - t_in[i]) + (t_out[cols] - t_out[i])
        util = st.busy[cols] + d["gain_busy"].sum(axis=0)
        left = st.busy[i] - d["r"] * float(st.ct[st.gl0[members[0]] + np.arange(a, b + 1), i].sum())
        est = est + self._bott(cols, util, i, left) + self._cost_new(cols)
        if st.w_cost and st.ncount[i] == len(members) * (b - a + 1):
            est = est - st.w_cost * st.cost[i]
        ok = d["ok"].all(axis=0) & (util <= st.node_cap)
        ok &= st.mem[cols] + d["gain_mem"].sum(axis=0) <= st.mem_lim[cols]
        ok &= cols != i
        n = b - a + 1
        return self._try_ranked(np.where(ok, est, INF),
                                lambda k: self._ops(members, a, np.full(n, cols[k], dtype=np.int64)))

    # -------------------------------------------------------- cut window
    def cut_shift(self, w: int) -> bool:
        """Move the cut between two adjacent segments, or swap their order
        with the best cut (for ``w``, or its group)."""
        segs = self.segments(w)
        for s in range(len(segs) - 1):
            (a, _, i), (_, c, j) = segs[s], segs[s + 1]
            for members in self.groups(w, a, c, "cut"):
                if self._window(members, a, c, i, j) or self._window(members, a, c, j, i):
                    return True
        return False

    def _window(self, members: list[int], a: int, c: int, u: int, v: int) -> bool:
        """Best configuration "local layers ``a..q-1`` on ``u``, ``q..c`` on
        ``v``" over ``q = a .. c+1`` (screened, then exact)."""
        st = self.st
        cols = np.array([u, v])
        d = self._per_layer(members, a, c, cols)
        cur, tw, r = d["cur"], d["tw"], d["r"]
        node = _pre(d["delta"][:, 0]) + _suf(d["delta"][:, 1])
        mem_u = st.mem[u] + _pre(d["gain_mem"][:, 0]) - _suf(d["loss_mem"][:, 0])
        mem_v = st.mem[v] + _suf(d["gain_mem"][:, 1]) - _pre(d["loss_mem"][:, 1])
        busy_u = st.busy[u] + _pre(d["gain_busy"][:, 0]) - _suf(d["loss_busy"][:, 0])
        busy_v = st.busy[v] + _suf(d["gain_busy"][:, 1]) - _pre(d["loss_busy"][:, 1])
        ok = np.concatenate(([True], np.logical_and.accumulate(d["ok"][:, 0])))
        ok &= np.concatenate((np.logical_and.accumulate(d["ok"][::-1, 1])[::-1], [True]))
        ok &= (mem_u <= st.mem_lim[u]) & (mem_v <= st.mem_lim[v])
        ok &= (busy_u <= st.node_cap) & (busy_v <= st.node_cap)

        t_in, t_out = self._t_in(members, a), self._t_out(members, c)
        q = np.arange(a, c + 2)
        out_b = np.asarray(st.out_bytes)[st.gl0[members[0]] + np.arange(a, c)]  # outputs of a..c-1
        trans = np.where(q > a, t_in[u], t_in[v]) + np.where(q <= c, t_out[v], t_out[u])
        inner = (q > a) & (q <= c)
        trans[inner] += self._t_cost(v, out_b, tw, r, True)[:, u]
        now = t_in[cur[0]] + t_out[cur[-1]]
        for k in np.flatnonzero(cur[1:] != cur[:-1]).tolist():
            now += float(self._t_cost(int(cur[k + 1]), out_b[k], tw, r, True)[cur[k]])
        est = node + trans - now + self._bott(u, busy_u, v, busy_v)
        if st.w_cost:
            est = est + self._cost_adjust(members, cur, u, v)
        layers = np.arange(a, c + 1)
        same = (np.where(layers[None, :] < q[:, None], u, v) == cur[None, :]).all(axis=1)
        est = np.where(ok & ~same, est, INF)

        def build(k: int) -> list:
            new = np.full(c - a + 1, v, dtype=np.int64)
            new[:k] = u
            return self._ops(members, a, new)

        return self._try_ranked(est, build)

    def _cost_adjust(self, members: list[int], cur: np.ndarray, u: int, v: int) -> np.ndarray:
        """``cost`` change per window configuration ``q`` (nodes starting or
        ceasing to host)."""
        st = self.st
        n = len(members)
        size = cur.size + 1
        out = np.zeros(size)
        for node, gets in ((u, np.arange(size) > 0), (v, np.arange(size) < size - 1)):
            mine = n * int((cur == node).sum())
            if st.ncount[node] == 0:
                out[gets] += st.w_cost * st.cost[node]
            elif st.ncount[node] == mine:
                out[~gets] -= st.w_cost * st.cost[node]
        for node in np.setdiff1d(cur, [u, v]).tolist():
            if st.ncount[node] == n * int((cur == node).sum()):
                out -= st.w_cost * st.cost[node]
        return out

    # -------------------------------------------------------------- split
    def split(self, w: int) -> bool:
        """Move a prefix or a suffix of a segment (of ``w``, or of its group)
        to another node."""
        for a, b, i in self.segments(w):
            if b > a:
                for members in self.groups(w, a, b, "split"):
                    if self._split(members, a, b, i):
                        return True
        return False

    def _split(self, members: list[int], a: int, b: int, i: int) -> bool:
        st = self.st
        cols = self.targets(members[0])
        d = self._per_layer(members, a, b, cols)
        n = b - a + 1
        t_in, t_out = self._t_in(members, a)[cols], self._t_out(members, b)[cols]
        out_b = np.asarray(st.out_bytes)[st.gl0[members[0]] + np.arange(a, b)]  # cut after a..b-1
        to_i = self._t_cost(i, out_b, d["tw"], d["r"], True)[:, cols]  # j -> i
        from_i = self._t_cost(i, out_b, d["tw"], d["r"], False)[:, cols]  # i -> j
        here = self._t_in(members, a)[i], self._t_out(members, b)[i]
        delta = d["delta"]
        with np.errstate(invalid="ignore"):
            pre = _pre(delta)[1:-1] + (t_in - here[0]) + to_i
            suf = _suf(delta)[1:-1] + from_i + (t_out - here[1])
        est = np.concatenate((pre, suf))
        util = st.busy[cols] + np.concatenate((_pre(d["gain_busy"])[1:-1], _suf(d["gain_busy"])[1:-1]))
        mem = st.mem[cols] + np.concatenate((_pre(d["gain_mem"])[1:-1], _suf(d["gain_mem"])[1:-1]))
        ok = np.concatenate((np.logical_and.accumulate(d["ok"], axis=0)[:-1],
                             np.logical_and.accumulate(d["ok"][::-1], axis=0)[::-1][1:]))
        ok &= (util <= st.node_cap) & (mem <= st.mem_lim[cols]) & (cols != i)[None, :]
        c_i = d["r"] * st.ct[st.gl0[members[0]] + np.arange(a, b + 1), i]
        left = st.busy[i] - np.concatenate((np.cumsum(c_i)[:-1], np.cumsum(c_i[::-1])[::-1][1:]))
        est = est + self._bott(cols, util, i, left[:, None]) + self._cost_new(cols)
        width = cols.size

        def build(k: int) -> list:
            row, j = divmod(k, width)
            node = cols[j]
            if row < n - 1:  # prefix a .. a+row
                return self._ops(members, a, np.full(row + 1, node, dtype=np.int64))
            u = a + 1 + (row - (n - 1))  # suffix u .. b
            return self._ops(members, u, np.full(b - u + 1, node, dtype=np.int64))

        return self._try_ranked(np.where(ok, est, INF), build)

    # -------------------------------------------------------------- swaps
    def swap_within(self, w: int) -> bool:
        """Two segments of ``w`` exchange their nodes."""
        segs = self.segments(w)
        for s in range(len(segs)):
            for t in range(s + 1, len(segs)):
                (a1, b1, i1), (a2, b2, i2) = segs[s], segs[t]
                if i1 != i2 and self._attempt([(w, a1, np.full(b1 - a1 + 1, i2, dtype=np.int64)),
                                               (w, a2, np.full(b2 - a2 + 1, i1, dtype=np.int64))]):
                    return True
        return False

    def swap_across(self, w: int) -> bool:
        """Random segments of ``w`` and of another workload exchange their nodes."""
        W = self.st.W
        if W < 2:
            return False
        for _ in range(self.swaps):
            v = int(self.rng.integers(W - 1))
            v += v >= w
            sw, sv = self.segments(w), self.segments(v)
            a1, b1, i1 = sw[int(self.rng.integers(len(sw)))]
            a2, b2, i2 = sv[int(self.rng.integers(len(sv)))]
            if i1 != i2 and self._attempt([(w, a1, np.full(b1 - a1 + 1, i2, dtype=np.int64)),
                                           (v, a2, np.full(b2 - a2 + 1, i1, dtype=np.int64))]):
                return True
        return False
