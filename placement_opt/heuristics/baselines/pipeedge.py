"""``pipeedge-dp``: PipeEdge's throughput dynamic program (Hu et al., DSD 2022).

Source: Y. Hu, C. Imes, X. Zhao, S. Kundu, P. A. Beerel, S. P. Crago, J. P. Walters,
"PipeEdge: Pipeline Parallelism for Large-Scale Model Inference on Heterogeneous
Edge Devices", DSD 2022; scheduler ``src-native/schedule.cpp`` of
github.com/usc-isi/PipeEdge (v0.1.1, BSD-3-Clause).

The DP runs over states ``(i, S, u)``: layers ``1..i`` are scheduled, ``S`` counts
the hosts used so far per device type (mixed radix), ``u`` is the type of the
stage that starts at layer ``i + 1``.  A stage ``[i + 1, j]`` on type ``u``
followed by type ``v`` costs ``max(compute_u(i+1..j), send(j, u, v))``; the last
stage costs its compute; the value is the largest stage cost (minimised).  The
types are then mapped to hosts: the ``k``-th stage of a type goes to its
``k``-th host.  This module reproduces the loop order and strict ``<`` tie
breaking of the C++ code, so that ``published=True`` gives PipeEdge's own
schedule.

**The published bug.**  ``schedule_device_types`` builds ``devices``, a list with
one entry per *host* (each type repeated once per host), and then reads the
profile of *type* ``u`` as ``devices[u]``.  With 4 Minnowboards followed by 4
RCC boards, type 1 (RCC) is read as ``devices[1]``, a Minnowboard: the DP plans
with the wrong compute times, memory and bandwidth whenever a type has several
hosts.  ``published=False`` (default) reads each type's own profile.

Adaptation to any instance (docs/pipeedge.md): each workload in turn (file
order) against residual capacity; a "device type" is a group of candidate hosts
that the DP cannot tell apart (same ``type``, compute times, memory, trust,
interface bandwidth and residual memory and compute); ``send`` uses the smaller
of the two hosts' fastest link ("interface").  The DP also enforces memory,
compute, privacy and ``max_segments``; links, routes and SLOs are checked after,
and a workload that breaks them is ``no_solution``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ... import tolerance as tol
from ...backend import RawResult, SolveOptions
from ...problem import Problem
from .common import Packer, pack, to_raw

__all__ = ["DeviceGroups", "device_groups", "schedule_device_types", "solve_pipeedge_dp"]

#: PipeEdge's "infinity"
BIG = 1e60
#: default cap on the DP's outer iterations (layers x type-count vectors x types)
DEFAULT_MAX_WORK = 400_000


@dataclass(frozen=True)
class DeviceGroups:
    """PipeEdge's ``ctx.dev_types`` and ``dev_type_hosts`` for one workload.

    Attributes
    ----------
    names
        One name per type, in PipeEdge's order (sorted by name).
    hosts
        Node indices of each type's hosts (file order); empty for a profiled
        type without usable hosts.
    """

    names: tuple[str, ...]
    hosts: tuple[tuple[int, ...], ...]

    @property
    def counts(self) -> list[int]:
        return [len(h) for h in self.hosts]

    def profile_host(self, u: int, published: bool) -> int | None:
        """The node whose attributes the DP reads for type ``u``: the type's own
        first host, or, in the published code, ``devices[u]`` (the ``u``-th
        host of the per-host list; None past its end)."""
        if not published:
            return self.hosts[u][0] if self.hosts[u] else None
        devices = [h for group in self.hosts for h in group]
        return devices[u] if u < len(devices) else None


def interface_bandwidth(problem: Problem) -> np.ndarray:
    """Per node, the bandwidth of its fastest usable link (PipeEdge's
    ``bw_Mbps``: one network interface), bytes/s; ``inf`` without links."""
    p = problem
    usable = p.link_available & p.node_available[p.link_source] & p.node_available[p.link_target]
    bw = np.zeros(p.num_nodes)
    np.maximum.at(bw, p.link_source[usable], p.link_bandwidth[usable])
    np.maximum.at(bw, p.link_target[usable], p.link_bandwidth[usable])
    return np.where(bw > 0, bw, np.inf)


def device_groups(packer: Packer, w: int) -> DeviceGroups:
    """Group the candidate hosts of workload ``w`` into device types.

    Candidates can host, are reachable from the source and reach the sink.
    Hosts are grouped when nothing the DP reads differs: ``type``, compute
    times of ``w``'s layers, memory, trust, interface bandwidth, residual
    memory and compute.  A group is named by its ``type``, or by its first
    node's id; profiled types of the model without candidates are kept with no
    hosts (they shift PipeEdge's type indices).  Order: by name, then first node.
    """
    p = packer.p
    r = p.routes
    src, snk = int(p.workload_source[w]), int(p.workload_sink[w])
    idx = np.arange(p.num_nodes)
    ok = p.can_host & (r.reachable[src] | (idx == src)) & (r.reachable[:, snk] | (idx == snk))
    gl = packer.layers(w)
    nic = interface_bandwidth(p)
    groups: dict[tuple, list[int]] = {}
    for i in np.flatnonzero(ok).tolist():
        key = (p.nodes[i].type, p.compute_time[gl, i].tobytes(), p.node_memory[i], int(p.node_trust[i]),
               nic[i], packer.memory[i], packer.busy[i])
        groups.setdefault(key, []).append(i)
    named = [(p.nodes[g[0]].type or p.node_ids[g[0]], g[0], tuple(g)) for g in groups.values()]
    profiled = p.models[int(p.workload_model[w])].layer_times or {}
    present = {name for name, _, _ in named}
    named += [(t, -1, ()) for t in profiled if t not in present]
    named.sort(key=lambda e: (e[0].encode(), e[1]))
    return DeviceGroups(tuple(n for n, _, _ in named), tuple(h for _, _, h in named))


def _digit(S: int, u: int, radix: list[int], counts: list[int]) -> int:
    return S // radix[u] % (counts[u] + 1)


def schedule_device_types(comp: np.ndarray, comm: np.ndarray, fits: np.ndarray, counts: list[int],
                          max_stages: int | None = None,
                          deadline: float = math.inf) -> tuple[float, list[tuple[int, int, int]]] | None:
    """PipeEdge's ``schedule_device_types``: the minimax DP over (layer, hosts
    used per type, current type), in the C++ loop order with strict ``<``.

    Parameters
    ----------
    comp
        ``comp[l, u]``: seconds of 0-based layer ``l`` on type ``u``.
    comm
        ``comm[l, u, v]``: seconds to send layer ``l``'s output from ``u`` to ``v``.
    fits
        ``fits[u, i, j]``: layers ``i .. j-1`` (0-based) fit on one host of type ``u``.
    counts
        Hosts per type.
    max_stages
        At most this many stages (None: no limit, as in PipeEdge).
    deadline
        ``time.perf_counter()`` value; past it (checked once per layer) the
        DP gives up and returns None.

    Returns
    -------
    (float, list) or None
        The slowest stage time as the DP computes it, and the stages
        ``(type, first, last)`` (0-based, inclusive) in layer order; None when
        no schedule fits.
    """
    L, T = comp.shape
    radix = [int(math.prod(c + 1 for c in counts[:k])) for k in range(T + 1)]
    mask = radix[-1]
    h = np.full((L + 1, mask, T), BIG)
    parent = np.full((L + 1, mask, T, 2), -1, dtype=np.int64)
    h[0, 0, :] = 0.0
    full = np.array([[_digit(S, u, radix, counts) == counts[u] for u in range(T)] for S in range(mask)])
    used = np.array([sum(_digit(S, u, radix, counts) for u in range(T)) for S in range(mask)])
    res, res_index = BIG, None
    for i in range(L):
        if time.perf_counter() > deadline:
            return None
        js = np.arange(i + 1, L + 1)
        for S in range(mask):
            if max_stages is not None and used[S] + 1 > max_stages:
                continue
            for u in range(T):
                hv = h[i, S, u]
                if hv > 1e59 or full[S, u]:
                    continue
                ok = fits[u, i, i + 1:]
                comp_t = np.cumsum(comp[i:, u])  # sequential, like the C++ loop
                if ok[-1]:
                    cost = max(hv, comp_t[-1])
                    if tol.improves(cost, res):
                        res, res_index = cost, (i, S, u)
                # Every next type v at once (each v has its own cells, so the C++
                # loop over v and this update give the same table).
                nxt = S + radix[u]
                cost = np.maximum(hv, np.maximum(comp_t[:, None], comm[i:, u, :]))
                better = ok[:, None] & ~full[S][None, :] & tol.improves_mask(cost, h[js, nxt, :])
                rows, vs = np.nonzero(better)
                h[js[rows], nxt, vs] = cost[rows, vs]
                parent[js[rows], nxt, vs] = (i, u)
    if res_index is None:
        return None
    i, S, u = res_index
    stages = [(u, i, L - 1)]
    while i > 0:
        last_i, last_u = (int(x) for x in parent[i, S, u])
        stages.append((last_u, last_i, i - 1))
        i, S, u = last_i, S - radix[last_u], last_u
    return float(res), stages[::-1]


def types_to_hosts(stages: list[tuple[int, int, int]], groups: DeviceGroups, length: int) -> np.ndarray:
    """PipeEdge's ``schedule_types_to_hosts``: the ``k``-th stage (in layer
    order) of a type runs on the type's ``k``-th host.  Returns node per layer."""
    path = np.empty(length, dtype=np.int64)
    taken: dict[int, int] = {}
    for u, first, last in stages:
        k = taken.get(u, 0)
        path[first:last + 1] = groups.hosts[u][k]
        taken[u] = k + 1
    return path


@dataclass(frozen=True)
class _Tables:
    comp: np.ndarray
    comm: np.ndarray
    fits: np.ndarray


def dp_tables(packer: Packer, w: int, groups: DeviceGroups, published: bool) -> _Tables:
    """Compute, send and fit tables of workload ``w`` per type, each read from
    :meth:`DeviceGroups.profile_host` (so the published bug carries over to all
    three).  A type without a profile host gets infinite compute and no fit."""
    p = packer.p
    gl = packer.layers(w)
    L, T = gl.size, len(groups.names)
    comp = np.full((L, T), np.inf)
    fits = np.zeros((T, L, L + 1), dtype=bool)
    nic = np.full(T, np.inf)
    bw = interface_bandwidth(p)
    need = p.layer_param_bytes[gl] + p.layer_state_bytes[gl]
    rate = float(p.workload_rate[w])
    private = int(p.workload_private_layers[w])
    for u in range(T):
        node = groups.profile_host(u, published)
        if node is None:
            continue
        comp[:, u] = p.compute_time[gl, node]
        nic[u] = bw[node]
        trusted = p.node_trust[node] >= p.workload_min_trust[w]
        room_mem = tol.threshold(p.node_memory[node]) - packer.memory[node]
        room_busy = tol.threshold(p.max_utilization) - packer.busy[node]
        for i in range(L):
            mem = np.cumsum(need[i:])
            busy = rate * np.cumsum(comp[i:, u]) if rate > 0 else np.zeros(L - i)
            fits[u, i, i + 1:] = (mem <= room_mem) & (busy <= room_busy) & (trusted or i >= private)
    out_bytes = p.layer_output_bytes[gl]
    pair_bw = np.minimum(nic[:, None], nic[None, :])
    with np.errstate(invalid="ignore"):
        comm = np.where(out_bytes[:, None, None] > 0, out_bytes[:, None, None] / pair_bw[None], 0.0)
    return _Tables(comp, comm, fits)


@dataclass(frozen=True)
class PipeEdgeParams:
    """Options of ``pipeedge-dp``.

    Attributes
    ----------
    published
        Reproduce the published profile lookup (``devices[u]``), i.e.
        PipeEdge's own schedule.
    max_work
        Give up (``no_solution``) when layers x type-count vectors x types
        exceeds it.
    """

    published: bool = False
    max_work: int = DEFAULT_MAX_WORK


def solve_pipeedge_dp(problem: Problem, options: SolveOptions) -> RawResult:
    """PipeEdge's DP for each workload in turn, against residual capacity.

    Options: :class:`PipeEdgeParams` (``solve(..., published=True)``).
    """
    t0 = time.perf_counter()
    p = problem
    params = options.params_as(PipeEdgeParams)
    published, max_work = params.published, params.max_work
    info: dict = {"published": published, "dp_objective": {}, "device_types": {}}

    def choose(w: int, packer: Packer) -> np.ndarray | None:
        groups = device_groups(packer, w)
        counts = groups.counts
        length = int(p.flat.length[w])
        work = length * math.prod(c + 1 for c in counts) * len(counts)
        wid = p.workload_ids[w]
        info["device_types"][wid] = {n: [p.node_ids[i] for i in h] for n, h in zip(groups.names, groups.hosts)}
        if not any(counts) or work > max_work:
            packer.rejected["no_hosts" if not any(counts) else "state_space"] += 1
            return None
        tables = dp_tables(packer, w, groups, published)
        segs = int(p.workload_max_segments[w])
        result = schedule_device_types(tables.comp, tables.comm, tables.fits, counts,
                                       segs if segs < length else None, options.deadline)
        if result is None:
            timed_out = time.perf_counter() > options.deadline
            packer.rejected["deadline" if timed_out else "dp_no_schedule"] += 1
            return None
        info["dp_objective"][wid] = result[0]
        path = types_to_hosts(result[1], groups, length)
        return path if packer.violation(w, path) is None else None

    x, more = pack(p, choose, deadline=options.deadline)
    return to_raw(p, x, options, {**info, **more}, t0)
