"""The reference placement: a simple placement that every generated instance is
built to make feasible (it fixes the request rates and the SLOs)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from ..evaluate import evaluate
from ..problem import Problem

#: How :func:`reference_assignment` builds its chains.
Strategy = Literal["auto", "cloud", "spread"]
STRATEGIES: tuple[str, ...] = ("auto", "cloud", "spread")

#: Order of tiers in a spread chain: the cloud first, user devices last.
TIER_RANK = {"cloud": 0, "device": 2}

Placer = Callable[[Problem, Sequence[int], dict[int, float], dict[str, list[int]]], bool]


def reference_assignment(problem: Problem, strategy: Strategy = "auto") -> dict[str, list[str]] | None:
    """A simple placement that is feasible for generated instances (SLOs aside, which
    the generators set from it).

    For every workload with a privacy constraint that the cloud does not meet, its
    private prefix (``max(private_layers, 1)`` layers) goes to the trusted node
    (``trust >= min_trust``, non-zero compute, not cloud) that finishes it soonest
    (latency from the source plus compute time of the prefix), still has memory for
    it, and whose prefix work, counted at one inference per second per workload,
    stays within half its capacity (so the result does not depend on the rates,
    which the generators scale after calling this).  The rest of each model runs on
    *chains* of nodes (packed by memory, each node holding a contiguous run of
    layers), by one of two strategies:

    ``"cloud"``
        Chains of cloud-tier nodes (in file order).  When the cloud has room,
        workloads of a model are split round-robin over several replica chains.
    ``"spread"``
        First one chain per model, then replica chains round-robin over the
        models while they fit, over the hosts in the order cloud tier, other
        non-device tiers, user devices (each tier fastest first, by the summed
        compute time of all layers); replicas use no user device.  Every chain
        reserves the state of all its model's workloads.  Each workload goes to
        the chain whose busiest node would be least loaded, counting every
        workload at one inference per second (rate-independent).  This is the
        reference of the hard regimes (``memory_supply``, ``compute_load``).
    ``"auto"`` (the default)
        ``"cloud"`` when it fits and is feasible at the problem's rates and SLOs,
        else ``"spread"`` when that is, else whichever exists (``"cloud"`` first).
        Every generated instance has a feasible ``"auto"`` reference.

    Parameters
    ----------
    problem
        Any instance; only the problem is used, so the placement can be recomputed
        from a saved generated instance.
    strategy
        ``"auto"``, ``"cloud"`` or ``"spread"`` (above).

    Returns
    -------
    dict or None
        ``{workload id: [node id per layer]}``, or None when the trusted nodes or
        the chain nodes are too small.

    Raises
    ------
    ValueError
        For an unknown strategy.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown reference strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if strategy == "cloud":
        return _reference(problem, _place_cloud_chains)
    if strategy == "spread":
        return _reference(problem, _place_spread_chains)
    cloud = _reference(problem, _place_cloud_chains)
    if cloud is not None and evaluate(problem, cloud).feasible:
        return cloud
    spread = _reference(problem, _place_spread_chains)
    if spread is not None and evaluate(problem, spread).feasible:
        return spread
    return cloud if cloud is not None else spread


def _reference(problem: Problem, place_chains: Placer) -> dict[str, list[str]] | None:
    """Private prefixes, then the rest on chains by ``place_chains``."""
    p = problem
    cloud = [i for i, n in enumerate(p.nodes) if n.tier == "cloud" and p.can_host[i]]
    if not cloud:
        cloud = sorted((i for i in range(p.num_nodes) if p.can_host[i]), key=lambda i: (-p.node_memory[i], i))
    mem_left = {i: float(p.node_memory[i]) for i in range(p.num_nodes)}
    assignment = {wl.id: [-1] * len(p.models[int(p.workload_model[w])].layers) for w, wl in enumerate(p.workloads)}
    if not _place_private_prefixes(p, cloud, mem_left, assignment):
        return None
    if not place_chains(p, cloud, mem_left, assignment):
        return None
    return {wid: [p.node_ids[i] for i in row] for wid, row in assignment.items()}


def _place_private_prefixes(p: Problem, cloud: Sequence[int], mem_left: dict[int, float],
                            assignment: dict[str, list[int]]) -> bool:
    """Step 1: private prefixes on trusted non-cloud nodes (updates ``mem_left``).
    False if some prefix finds no node."""
    load = np.zeros(p.num_nodes)
    lat = p.routes.latency
    comp = p.compute_time
    placed: set[tuple[int, int]] = set()  # (global layer, node) whose weights are placed
    for w, wl in enumerate(p.workloads):
        if wl.min_trust <= 0 or all(p.node_trust[i] >= wl.min_trust for i in cloud):
            continue
        m = int(p.workload_model[w])
        k = min(max(wl.private_layers, 1), len(p.models[m].layers))
        g0 = int(p.model_offset[m])
        src = int(p.workload_source[w])
        candidates = [i for i in range(p.num_nodes)
                      if p.can_host[i] and p.node_trust[i] >= wl.min_trust and i not in cloud]
        prefix_time = comp[g0 : g0 + k].sum(axis=0)
        candidates.sort(key=lambda i: (lat[src, i] + prefix_time[i], i))
        for i in candidates:
            need = sum(p.layer_param_bytes[g0 + l] for l in range(k) if (g0 + l, i) not in placed)
            need += sum(p.layer_state_bytes[g0 : g0 + k])
            busy = float(comp[g0 : g0 + k, i].sum())  # per unit rate: keeps the result rate-independent
            if need <= mem_left[i] and load[i] + busy <= 0.5 * p.max_utilization and math.isfinite(lat[src, i]):
                mem_left[i] -= need
                load[i] += busy
                placed.update((g0 + l, i) for l in range(k))
                assignment[wl.id][:k] = [i] * k
                break
        else:
            return False
    return True


def _place_cloud_chains(p: Problem, cloud: Sequence[int], mem_left: dict[int, float],
                        assignment: dict[str, list[int]]) -> bool:
    """Step 2: the unplaced layers on chains of cloud nodes, one or more replica chains
    per model.  False if the cloud is too small."""
    fresh = list(cloud)
    cursor = 0
    by_model: dict[int, list[int]] = {}
    for w in range(p.num_workloads):
        by_model.setdefault(int(p.workload_model[w]), []).append(w)
    remaining_w = p.num_workloads
    for m, ws in sorted(by_model.items()):
        g0, n_layers = int(p.model_offset[m]), len(p.models[m].layers)
        params = p.layer_param_bytes[g0 : g0 + n_layers]
        states = p.layer_state_bytes[g0 : g0 + n_layers]
        trial = _pack(fresh, params + len(ws) * states, cursor, dict(mem_left))
        if trial is None:
            return False
        per_chain = len(set(trial[0]))
        share = max(1, math.floor((len(fresh) - cursor) * len(ws) / remaining_w))
        replicas = max(1, min(len(ws), share // per_chain))
        found = _replica_chains(fresh, params, states, ws, cursor, mem_left, replicas)
        if found is None:
            return False
        chains, start, mem_left = found
        cursor = start + 1 if start + 1 < len(fresh) else start
        remaining_w -= len(ws)
        for r, chain in enumerate(chains):
            for w in ws[r :: len(chains)]:
                row = assignment[p.workloads[w].id]
                for layer in range(n_layers):
                    if row[layer] < 0:
                        row[layer] = chain[layer]
    return True


def _replica_chains(fresh: Sequence[int], params: np.ndarray, states: np.ndarray, ws: Sequence[int], cursor: int,
                    mem_left: dict[int, float], replicas: int) -> tuple[list[list[int]], int, dict[int, float]] | None:
    """The most chains, at most ``replicas``, that fit for workloads ``ws`` (split
    round-robin), each starting on a fresh node: ``(chains, last node index, memory
    left)``, or None if not even one fits."""
    while replicas > 0:
        left = dict(mem_left)
        start = cursor
        chains = []
        for r in range(replicas):
            res = _pack(fresh, params + len(ws[r::replicas]) * states, start, left)
            if res is None:
                break
            chain, start = res
            chains.append(chain)
            if r < replicas - 1:
                start += 1  # next replica starts on a fresh node
        if len(chains) == replicas:
            return chains, start, left
        replicas -= 1
    return None


def _pack(fresh: Sequence[int], need: np.ndarray, start: int, left: dict[int, float]) -> tuple[list[int], int] | None:
    """Layers needing ``need`` bytes each on ``fresh[start:]`` in order, each node
    taking layers while it has room (updates ``left``): ``(node per layer, index of
    the last node used)``, or None if they do not fit."""
    k = start
    out = []
    for layer in range(len(need)):
        while k < len(fresh) and left[fresh[k]] < need[layer]:
            k += 1
        if k == len(fresh):
            return None
        left[fresh[k]] -= need[layer]
        out.append(fresh[k])
    return out, k


# --------------------------------------------------------------------------- #
# The spread strategy (hard regimes)
# --------------------------------------------------------------------------- #


def _place_spread_chains(p: Problem, cloud: Sequence[int], mem_left: dict[int, float],
                         assignment: dict[str, list[int]]) -> bool:
    """Step 2 of the ``"spread"`` strategy: one chain per model, then replica chains
    on non-device hosts while they fit, workloads balanced over a model's chains
    (updates ``mem_left``).  False if some model has no chain."""
    del cloud  # the spread chains order every host by tier and speed
    hosts = _chain_hosts(p)
    by_model = _workloads_by_model(p)
    chains: dict[int, list[list[int]]] = {m: [] for m in by_model}
    cursor = 0
    for m, ws in by_model.items():
        res = _pack(hosts, _chain_need(p, m, len(ws)), cursor, mem_left)
        if res is None:
            return False
        chain, cursor = res
        chains[m].append(chain)
    infra = [i for i in hosts if p.nodes[i].tier != "device"]  # a prefix of hosts
    _add_replicas(p, infra, by_model, chains, cursor, mem_left)
    _balance(p, by_model, chains, assignment)
    return True


def _add_replicas(p: Problem, infra: Sequence[int], by_model: dict[int, list[int]],
                  chains: dict[int, list[list[int]]], cursor: int, mem_left: dict[int, float]) -> None:
    """Replica chains, round-robin over the models (at most one per workload), each
    on fresh nodes of ``infra`` after ``cursor``, while any fits (updates ``chains``
    and ``mem_left``)."""
    added = True
    while added:
        added = False
        for m, ws in by_model.items():
            if len(chains[m]) >= len(ws) or cursor + 1 >= len(infra):
                continue
            left = dict(mem_left)
            res = _pack(infra, _chain_need(p, m, len(ws)), cursor + 1, left)
            if res is not None:
                chains[m].append(res[0])
                cursor = res[1]
                mem_left.update(left)
                added = True


def _workloads_by_model(p: Problem) -> dict[int, list[int]]:
    """Workload indices per model index, models in index order."""
    by_model: dict[int, list[int]] = {}
    for w in range(p.num_workloads):
        by_model.setdefault(int(p.workload_model[w]), []).append(w)
    return dict(sorted(by_model.items()))


def _chain_hosts(p: Problem) -> list[int]:
    """Hosts in spread-chain order: cloud tier, other tiers, user devices; within a
    tier the fastest first (summed compute time of every layer), then file order."""
    speed = p.compute_time.sum(axis=0)
    hosts = [i for i in range(p.num_nodes) if p.can_host[i]]
    return sorted(hosts, key=lambda i: (TIER_RANK.get(p.nodes[i].tier or "", 1), float(speed[i]), i))


def _chain_need(p: Problem, m: int, n_workloads: int) -> np.ndarray:
    """Bytes per layer of model ``m`` on a chain that holds the state of ``n_workloads``."""
    g0, n_layers = int(p.model_offset[m]), len(p.models[m].layers)
    return p.layer_param_bytes[g0 : g0 + n_layers] + n_workloads * p.layer_state_bytes[g0 : g0 + n_layers]


def _balance(p: Problem, by_model: dict[int, list[int]], chains: dict[int, list[list[int]]],
             assignment: dict[str, list[int]]) -> None:
    """Each workload (model by model, in order) on the chain whose busiest node would
    be least loaded, counting one inference per second per workload; ties go to the
    first chain."""
    load = np.zeros(p.num_nodes)
    comp = p.compute_time
    for m, ws in by_model.items():
        g0 = int(p.model_offset[m])
        for w in ws:
            row = assignment[p.workloads[w].id]
            busy = []
            for chain in chains[m]:
                b = np.zeros(p.num_nodes)
                for layer, i in enumerate(chain):
                    if row[layer] < 0:
                        b[i] += comp[g0 + layer, i]
                busy.append(b)
            best = min(range(len(busy)), key=lambda c: (float(np.max(load + busy[c])), c))
            load += busy[best]
            for layer, i in enumerate(chains[m][best]):
                if row[layer] < 0:
                    row[layer] = i
