"""Incremental bookkeeping for ``local-search``: loads, latencies and objective.

:class:`LSState` holds a flat assignment and everything the objective and the
constraints of SPEC 5-6 need, kept up to date move by move:

- per node: compute utilisation, memory (weights once per placed (layer, node),
  counted through ``cnt[g, i]`` = how many workloads run global layer ``g`` on
  ``i``), and how many positions it hosts (for ``cost``);
- per link: routed bytes/s;
- per workload: latency;
- totals: weighted latency, energy, migration bytes.

A move is a sequence of :meth:`LSState.set_range` calls between
:meth:`LSState.begin` and either :meth:`LSState.commit` or
:meth:`LSState.rollback`.  ``begin`` snapshots the float arrays and ``rollback``
restores them bit for bit (and reverses the integer counters), so rejected
moves leave no rounding drift; only accepted moves accumulate floating-point
error, and :meth:`LSState.rebuild` recomputes everything from scratch.

Feasibility after a move is checked on what the move touched only
(:meth:`LSState.touched_ok`): the nodes and links that gained load and the
workloads whose path changed.  This is exact as long as the state was feasible
before the move.  Tolerances are the evaluator's (:mod:`placement_opt.tolerance`).
"""

from __future__ import annotations

import math

import numpy as np

from ... import segments
from ...problem import Problem
from ...tolerance import threshold as _limit


class LSState:
    """A flat assignment with incrementally maintained loads and objective.

    Parameters
    ----------
    problem
        The problem.
    mask
        Candidate mask ``mask[k, i]`` (flat position, node); a move that puts a
        position on a non-candidate node is infeasible.
    previous_keys
        Placed keys of the previous solution (enables ``migration``), or None.
    """

    def __init__(self, problem: Problem, mask: np.ndarray, previous_keys: np.ndarray | None = None):
        p = problem
        f = p.flat
        self.p = p
        self.mask = mask
        self.N, self.E, self.W = p.num_nodes, p.num_links, p.num_workloads
        self.G = p.num_global_layers
        self.off = [int(v) for v in f.offset]
        self.length = [int(v) for v in f.length]
        self.gl0 = [int(v) for v in p.model_offset[p.workload_model]]
        self.src = [int(v) for v in p.workload_source]
        self.snk = [int(v) for v in p.workload_sink]
        self.rate = [float(v) for v in p.workload_rate]
        self.weight = [float(v) for v in p.workload_weight]
        self.off_arr, self.src_arr, self.snk_arr = f.offset, p.workload_source, p.workload_sink
        self.rate_arr, self.weight_arr = p.workload_rate, p.workload_weight
        self.wsum = float(p.workload_weight.sum())
        self.in_bytes = [float(p.input_bytes[m]) for m in p.workload_model]
        self.out_bytes = [float(v) for v in p.layer_output_bytes]
        self.max_seg = [int(v) for v in p.workload_max_segments]
        self.one_seg = bool(p.one_segment_per_node)
        self.ct = np.ascontiguousarray(p.compute_time)
        self.param = p.layer_param_bytes
        self.state_b = p.layer_state_bytes
        self.flops = p.layer_flops
        self.epf = p.node_energy_per_flop
        self.cost = p.node_cost
        r = p.routes
        self.hops = r.hops
        self.r_lat = r.latency
        self.r_epb = r.energy_per_byte
        routed = r.hops >= 0
        with np.errstate(divide="ignore"):
            inv = np.where(routed, 1.0 / r.bandwidth, 0.0)
        #: ``t(a, b, x) = lat_inf[a, b] + x * inv_bw[a, b]``; inf without a route, 0 on the diagonal
        self.lat_inf = np.where(routed, r.latency, np.inf)
        self.inv_bw = inv
        self.node_cap = _limit(p.max_utilization)
        self.mem_lim = np.asarray(_limit(p.node_memory))
        self.link_lim = np.asarray(_limit(p.max_utilization * p.link_bandwidth)) if self.E else np.zeros(0)
        self.link_inv_bw = 1.0 / p.link_bandwidth if self.E else np.zeros(0)
        self.slo_lim = [float(_limit(s)) if math.isfinite(s) else math.inf for s in p.workload_slo]
        w = p.objective_weights
        self.w_lat = float(w.get("latency", 0.0))
        self.w_max = float(w.get("max_latency", 0.0))
        self.w_bott = float(w.get("bottleneck", 0.0))
        self.w_cost = float(w.get("cost", 0.0))
        self.w_energy = float(w.get("energy", 0.0))
        self.w_mig = float(w.get("migration", 0.0)) if previous_keys is not None else 0.0
        self.has_prev = previous_keys is not None
        self.prev = np.zeros((self.G, self.N), dtype=bool)
        if previous_keys is not None and len(previous_keys):
            keys = np.asarray(previous_keys, dtype=np.int64)
            self.prev[keys // self.N, keys % self.N] = True
        self._links: dict[tuple[int, int], tuple[int, ...]] = {}
        self.x = np.zeros(f.size, dtype=np.int64)
        self.present = [False] * self.W
        #: nodes and workloads changed by committed moves (the caller clears them)
        self.changed_nodes: set[int] = set()
        #: incremented by every commit and rebuild
        self.version = 0
        self.changed_work: set[int] = set()
        self._reset_loads()

    # ------------------------------------------------------------- building
    def _reset_loads(self) -> None:
        self.cnt = np.zeros((self.G, self.N), dtype=np.int32)
        self.busy = np.zeros(self.N)
        self.mem = np.zeros(self.N)
        self.ncount = np.zeros(self.N, dtype=np.int64)
        self.ll = np.zeros(self.E)
        self.lat = np.zeros(self.W)
        self.wlat = 0.0
        self.energy = 0.0
        self.mig = 0.0
        self._journal: list[tuple] = []
        #: loads and terms saved by begin(): busy, mem, ncount, ll, lat, wlat, energy, mig
        self._snap: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float, float] | None = None
        self._touch_nodes: list[np.ndarray] = []
        self._touch_links: list[int] = []
        self._touch_work: list[int] = []
        self._bad = False

    def rebuild(self, x: np.ndarray, present: list[bool] | None = None) -> None:
        """Recompute every load from scratch for assignment ``x``
        (workloads with ``present[w]`` False are left out)."""
        self._reset_loads()
        self.x = np.array(x, dtype=np.int64, copy=True)
        present = [True] * self.W if present is None else list(present)
        self.present = [False] * self.W
        for w in range(self.W):
            if present[w]:
                self._insert(w, self.path(w).copy())
        self._journal.clear()
        self._touch_nodes.clear()
        self._touch_links.clear()
        self._touch_work.clear()
        self._bad = False
        self.version += 1

    # ---------------------------------------------------------------- access
    def path(self, w: int) -> np.ndarray:
        """View of workload ``w``'s nodes (do not modify)."""
        k0 = self.off[w]
        return self.x[k0:k0 + self.length[w]]

    def positions(self, w: int) -> slice:
        return slice(self.off[w], self.off[w] + self.length[w])

    def route_links(self, a: int, b: int) -> tuple[int, ...]:
        """Link indices on the route ``a -> b`` (cached)."""
        key = (a, b)
        links = self._links.get(key)
        if links is None:
            links = tuple(self.p.routes.path_links(a, b)) if a != b and self.hops[a, b] > 0 else ()
            self._links[key] = links
        return links

    def transfer_time(self, a: int, b: int, nbytes: float) -> float:
        if a == b:
            return 0.0
        return float(self.lat_inf[a, b] + nbytes * self.inv_bw[a, b])

    def transfer_bytes(self, w: int, t: int) -> float:
        """Bytes of transfer ``t`` of ``w`` (0: raw input, ``t``: output of layer ``t-1``)."""
        return self.in_bytes[w] if t == 0 else self.out_bytes[self.gl0[w] + t - 1]

    # ------------------------------------------------------------ objective
    def bottleneck(self) -> float:
        b = float(self.busy.max()) if self.N else 0.0
        if self.E:
            b = max(b, float((self.ll * self.link_inv_bw).max()))
        return max(b, 0.0)

    def terms(self) -> dict[str, float]:
        """Unweighted objective terms (SPEC 6) of the current state."""
        out = {
            "latency": self.wlat / self.wsum if self.wsum > 0 else 0.0,
            "max_latency": float(self.lat.max()) if self.W else 0.0,
            "bottleneck": self.bottleneck(),
            "cost": float(self.cost @ (self.ncount > 0)),
            "energy": self.energy,
        }
        if self.has_prev:
            out["migration"] = self.mig
        return out

    def objective(self) -> float:
        """``sum_term weight * term`` of the current state."""
        obj = 0.0
        if self.w_lat:
            obj += self.w_lat * (self.wlat / self.wsum)
        if self.w_max:
            obj += self.w_max * float(self.lat.max())
        if self.w_bott:
            obj += self.w_bott * self.bottleneck()
        if self.w_cost:
            obj += self.w_cost * float(self.cost @ (self.ncount > 0))
        if self.w_energy:
            obj += self.w_energy * self.energy
        if self.w_mig:
            obj += self.w_mig * self.mig
        return obj

    # ------------------------------------------------------- move protocol
    def begin(self) -> None:
        """Start a move: snapshot what a rollback must restore."""
        self._snap = (self.busy.copy(), self.mem.copy(), self.ncount.copy(), self.ll.copy(), self.lat.copy(),
                      self.wlat, self.energy, self.mig)
        self._journal.clear()
        self._touch_nodes.clear()
        self._touch_links.clear()
        self._touch_work.clear()
        self._bad = False

    def commit(self) -> None:
        """Keep the changes since :meth:`begin`."""
        for entry in self._journal:
            if entry[0] == "set":
                self.changed_nodes.update(entry[3].tolist())
                self.changed_nodes.update(entry[4].tolist())
            else:
                self.changed_work.add(entry[1])
                self.changed_nodes.update(entry[3].tolist())
        self.changed_work.update(self._touch_work)
        self.version += 1
        self._snap = None
        self._journal.clear()

    def rollback(self) -> None:
        """Undo every change since :meth:`begin`, exactly."""
        for entry in reversed(self._journal):
            kind = entry[0]
            if kind == "set":
                _, ks, gs, old, new = entry
                self.cnt[gs, new] -= 1
                self.cnt[gs, old] += 1
                self.x[ks] = old
            elif kind == "ins":
                _, w, gs, nodes = entry
                self.cnt[gs, nodes] -= 1
                self.present[w] = False
            else:  # "rem"
                _, w, gs, nodes = entry
                self.cnt[gs, nodes] += 1
                self.present[w] = True
        assert self._snap is not None, "rollback() without begin()"
        busy, mem, ncount, ll, lat, self.wlat, self.energy, self.mig = self._snap
        self.busy, self.mem, self.ncount, self.ll, self.lat = busy, mem, ncount, ll, lat
        self._snap = None
        self._journal.clear()

    # ------------------------------------------------------------ primitives
    def _nodes(self, w: int, gs: np.ndarray, nodes: np.ndarray, sign: int) -> float:
        """Add (sign +1) or remove (-1) positions ``gs`` of ``w`` on ``nodes``;
        returns their summed compute time."""
        N = self.N
        c = self.ct[gs, nodes]
        r = self.rate[w]
        if r > 0:
            self.busy += np.bincount(nodes, c * (sign * r), N)
        self.ncount += sign * np.bincount(nodes, minlength=N)
        delta = np.bincount(nodes, self.state_b[gs], N)
        cnt = self.cnt
        if sign > 0:
            cnt[gs, nodes] += 1
            fresh = cnt[gs, nodes] == 1
        else:
            cnt[gs, nodes] -= 1
            fresh = cnt[gs, nodes] == 0
        if fresh.any():
            gf, nf = gs[fresh], nodes[fresh]
            pb = self.param[gf]
            delta += np.bincount(nf, pb, N)
            if self.has_prev:
                self.mig += sign * float(pb @ ~self.prev[gf, nf])
        self.mem += sign * delta
        if r > 0:
            self.energy += sign * r * float(self.flops[gs] @ self.epf[nodes])
        return float(c.sum())

    def _transfer(self, w: int, nbytes: float, a: int, b: int, sign: int) -> float:
        """Add or remove one transfer ``a -> b``; returns its time."""
        if a == b:
            return 0.0
        if self.hops[a, b] < 0:
            self._bad |= sign > 0
            return math.inf
        load = self.rate[w] * nbytes
        if load > 0 and self.E:
            ll = self.ll
            d = sign * load
            links = self.route_links(a, b)
            for e in links:
                ll[e] += d
            if sign > 0:
                self._touch_links.extend(links)
            self.energy += d * float(self.r_epb[a, b])
        return float(self.lat_inf[a, b] + nbytes * self.inv_bw[a, b])

    def _endpoints(self, w: int, lo: int, hi: int) -> list[int]:
        """Nodes at local positions ``lo-1 .. hi+1`` (source and sink at the ends)."""
        k0 = self.off[w]
        first = self.src[w] if lo == 0 else int(self.x[k0 + lo - 1])
        last = self.snk[w] if hi == self.length[w] - 1 else int(self.x[k0 + hi + 1])
        return [first] + self.x[k0 + lo:k0 + hi + 1].tolist() + [last]

    def set_range(self, w: int, a: int, new: np.ndarray) -> None:
        """Put local positions ``a .. a+len(new)-1`` of workload ``w`` on ``new``."""
        k0 = self.off[w]
        seg = self.x[k0 + a:k0 + a + len(new)]
        diff = seg != new
        if not diff.any():
            return
        idx = np.flatnonzero(diff)
        lo, hi = a + int(idx[0]), a + int(idx[-1])
        ks = k0 + a + idx
        old_nodes = seg[idx].copy()
        new_nodes = np.asarray(new, dtype=np.int64)[idx]
        if not self.mask[ks, new_nodes].all():
            self._bad = True
        gs = self.gl0[w] + a + idx
        old_ext = self._endpoints(w, lo, hi)
        dc = self._nodes(w, gs, new_nodes, 1) - self._nodes(w, gs, old_nodes, -1)
        self.x[ks] = new_nodes
        new_ext = self._endpoints(w, lo, hi)
        self._journal.append(("set", ks, gs, old_nodes, new_nodes))
        dt = 0.0
        changed = (a + idx).tolist()
        # transfer t goes into local layer t: it changes when layer t-1 or t does
        for t in sorted(set(changed).union(k + 1 for k in changed)):
            j = t - lo
            oa, ob, na, nb = old_ext[j], old_ext[j + 1], new_ext[j], new_ext[j + 1]
            if oa == na and ob == nb:
                continue
            nbytes = self.transfer_bytes(w, t)
            dt += self._transfer(w, nbytes, na, nb, 1) - self._transfer(w, nbytes, oa, ob, -1)
        d = dc + dt
        self.lat[w] += d
        if self.weight[w] > 0:
            self.wlat += self.weight[w] * d
        self._touch_nodes.append(new_nodes)
        self._touch_work.append(w)

    def _insert(self, w: int, nodes: np.ndarray) -> None:
        k0, L = self.off[w], self.length[w]
        self.x[k0:k0 + L] = nodes
        gs = self.gl0[w] + np.arange(L)
        total = self._nodes(w, gs, nodes, 1)
        ext = [self.src[w]] + nodes.tolist() + [self.snk[w]]
        for t in range(L + 1):
            total += self._transfer(w, self.transfer_bytes(w, t), ext[t], ext[t + 1], 1)
        if not self.mask[k0 + np.arange(L), nodes].all():
            self._bad = True
        self.lat[w] = total
        if self.weight[w] > 0:
            self.wlat += self.weight[w] * total
        self.present[w] = True
        self._journal.append(("ins", w, gs, nodes.copy()))
        self._touch_nodes.append(nodes)
        self._touch_work.append(w)

    def insert(self, w: int, nodes: np.ndarray) -> None:
        """Add absent workload ``w`` on path ``nodes``."""
        assert not self.present[w]
        self._insert(w, np.asarray(nodes, dtype=np.int64))

    def remove(self, w: int) -> None:
        """Take workload ``w`` out (its loads vanish; its latency counts 0)."""
        assert self.present[w]
        L = self.length[w]
        nodes = self.path(w).copy()
        gs = self.gl0[w] + np.arange(L)
        self._nodes(w, gs, nodes, -1)
        ext = [self.src[w]] + nodes.tolist() + [self.snk[w]]
        for t in range(L + 1):
            self._transfer(w, self.transfer_bytes(w, t), ext[t], ext[t + 1], -1)
        lat = self.lat[w]
        self.lat[w] = 0.0
        if self.weight[w] > 0:
            if math.isfinite(lat):
                self.wlat -= self.weight[w] * lat
            else:  # inf - inf: sum again over the others
                self.wlat = sum(self.weight[v] * float(self.lat[v]) for v in range(self.W)
                                if self.present[v] and v != w and self.weight[v] > 0)
        self.present[w] = False
        self._journal.append(("rem", w, gs, nodes))

    # ----------------------------------------------------------- feasibility
    def workload_ok(self, w: int) -> bool:
        """SLO, ``max_segments`` and ``one_segment_per_node`` of ``w``'s own path."""
        lat = self.lat[w]
        if not lat <= self.slo_lim[w]:  # also catches nan
            return False
        path = self.path(w)
        if segments.count(path) > self.max_seg[w]:
            return False
        if self.one_seg and segments.revisits(path):
            return False
        return True

    def touched_ok(self) -> bool:
        """Whether what the current move touched is still feasible."""
        if self._bad:
            return False
        for nodes in self._touch_nodes:
            if (self.busy[nodes] > self.node_cap).any() or (self.mem[nodes] > self.mem_lim[nodes]).any():
                return False
        if self._touch_links:
            e = np.fromiter(self._touch_links, dtype=np.int64, count=len(self._touch_links))
            if (self.ll[e] > self.link_lim[e]).any():
                return False
        for w in set(self._touch_work):
            if self.present[w] and not self.workload_ok(w):
                return False
        return True

    def overloaded(self) -> tuple[np.ndarray, np.ndarray]:
        """Nodes (compute or memory) and links over their limits."""
        nodes = np.flatnonzero((self.busy > self.node_cap) | (self.mem > self.mem_lim))
        links = np.flatnonzero(self.ll > self.link_lim) if self.E else np.zeros(0, dtype=np.int64)
        return nodes, links

    def path_ok(self, w: int) -> bool:
        """Everything about ``w``'s own path: candidates, routes, SLO, segments."""
        k0, L = self.off[w], self.length[w]
        path = self.path(w)
        if not self.mask[np.arange(k0, k0 + L), path].all():
            return False
        ext = [self.src[w]] + path.tolist() + [self.snk[w]]
        if any(a != b and self.hops[a, b] < 0 for a, b in zip(ext[:-1], ext[1:])):
            return False
        return self.workload_ok(w)

    def feasible(self) -> bool:
        """Full check (all workloads present, nothing overloaded, every path fine)."""
        if not all(self.present):
            return False
        nodes, links = self.overloaded()
        if nodes.size or links.size:
            return False
        return all(self.path_ok(w) for w in range(self.W))
