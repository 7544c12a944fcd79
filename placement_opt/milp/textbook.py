"""The textbook layered-graph MILP, kept as a reference (solver ``milp-textbook``).

This is the formulation found in the literature, written independently of
:mod:`placement_opt.formulation`:

- a binary ``x[w, l, i]`` for every workload, layer and node (forbidden ones
  fixed to 0: unavailable, switches, untrusted for private layers);
- a flow variable ``y[w, l, i, j]`` for *every* ordered pair of nodes between
  layers ``l`` and ``l+1`` (``i == j`` included), with
  ``sum_j y[w,l,i,j] = x[w,l,i]`` and ``sum_i y[w,l,i,j] = x[w,l+1,j]``;
- shared-weight placement binaries ``z[m, l, i] >= x[w, l, i]``.

No pruning, aggregation, symmetry breaking or cuts.  It is exact, and it is the
baseline that ``benchmarks/exact.py`` measures the ``milp`` solver against; the
tests also use it as a second formulation.
"""

from __future__ import annotations

import time

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from ..backend import RawResult, SolveOptions
from ..candidates import transfer_matrix
from ..problem import Problem
from ..tolerance import argmax


def _lin(pairs) -> LinearExpression:
    coefs, variables = [], []
    for c, v in pairs:
        coefs.append(float(c))
        variables.append(v)
    return LinearExpression(constant=0.0, linear_coefs=coefs, linear_vars=variables)


def build_textbook_model(problem: Problem, previous_keys: np.ndarray | None = None) -> pyo.ConcreteModel:
    p = problem
    f = p.flat
    N = range(p.num_nodes)
    W = range(p.num_workloads)
    L = {w: range(int(f.length[w])) for w in W}
    r = p.routes
    weights = {k: float(v) for k, v in p.objective_weights.items() if v > 0}
    m = pyo.ConcreteModel(name=f"{p.name}-textbook")
    xk = [(w, l, i) for w in W for l in L[w] for i in N]
    yk = [(w, l, i, j) for w in W for l in L[w][:-1] for i in N for j in N]
    zk = sorted({(int(p.model_offset[p.workload_model[w]]) + l, i) for w in W for l in L[w] for i in N})
    m.x = pyo.Var(xk, within=pyo.Binary, dense=True)
    m.y = pyo.Var(yk, within=pyo.UnitInterval, dense=True)
    m.z = pyo.Var(zk, within=pyo.Binary, dense=True)
    m.T = pyo.Var(W, within=pyo.NonNegativeReals)

    def gl(w, l):
        return int(p.model_offset[p.workload_model[w]]) + l

    # forbidden placements
    for w, l, i in xk:
        private = l < p.workload_private_layers[w]
        if not p.can_host[i] or (private and p.node_trust[i] < p.workload_min_trust[w]):
            m.x[w, l, i].fix(0)
    for w, l, i, j in yk:
        if i != j and not r.reachable[i, j]:
            m.y[w, l, i, j].fix(0)

    m.assign = pyo.Constraint(W, range(int(f.length.max())), rule=lambda _m, w, l: (
        sum(m.x[w, l, i] for i in N) == 1 if l in L[w] else pyo.Constraint.Skip))
    m.flow_out = pyo.Constraint([(w, l, i) for w in W for l in L[w][:-1] for i in N],
                                rule=lambda _m, w, l, i: sum(m.y[w, l, i, j] for j in N) == m.x[w, l, i])
    m.flow_in = pyo.Constraint([(w, l, j) for w in W for l in L[w][:-1] for j in N],
                               rule=lambda _m, w, l, j: sum(m.y[w, l, i, j] for i in N) == m.x[w, l + 1, j])
    m.place = pyo.Constraint(xk, rule=lambda _m, w, l, i: m.z[gl(w, l), i] >= m.x[w, l, i])

    # latency
    tin = {w: transfer_matrix(p, float(p.input_bytes[p.workload_model[w]]))[p.workload_source[w]] for w in W}
    tmats: dict[float, np.ndarray] = {}

    def tm(nbytes):
        if nbytes not in tmats:
            tmats[nbytes] = transfer_matrix(p, nbytes)
        return tmats[nbytes]

    c = p.compute_time

    def latency_rule(_m, w):
        last = L[w][-1]
        sink = p.workload_sink[w]
        terms = [(tin[w][i], m.x[w, 0, i]) for i in N if np.isfinite(tin[w][i])]
        terms += [(c[gl(w, l), i], m.x[w, l, i]) for l in L[w] for i in N if np.isfinite(c[gl(w, l), i])]
        for l in L[w][:-1]:
            t = tm(float(p.layer_output_bytes[gl(w, l)]))
            terms += [(t[i, j], m.y[w, l, i, j]) for i in N for j in N if i != j and np.isfinite(t[i, j])]
        tout = tm(float(p.layer_output_bytes[gl(w, last)]))[:, sink]
        terms += [(tout[i], m.x[w, last, i]) for i in N if np.isfinite(tout[i])]
        return m.T[w] == _lin(terms)

    m.latency = pyo.Constraint(W, rule=latency_rule)
    for w in W:
        if np.isfinite(p.workload_slo[w]):
            m.T[w].setub(float(p.workload_slo[w]))
        # a transfer without a route is impossible
        for i in N:
            if not r.reachable[p.workload_source[w], i]:
                m.x[w, 0, i].fix(0)
            if not r.reachable[i, p.workload_sink[w]]:
                m.x[w, L[w][-1], i].fix(0)

    # capacities
    cap = p.max_utilization
    mem = {i: max(p.node_memory[i], 1.0) for i in N}  # rows scaled to ~1
    m.memory = pyo.Constraint(N, rule=lambda _m, i: _lin(
        [(p.layer_param_bytes[g] / mem[i], m.z[g, i]) for g, j in zk if j == i]
        + [(p.layer_state_bytes[gl(w, l)] / mem[i], m.x[w, l, i]) for w in W for l in L[w]]
    ) <= p.node_memory[i] / mem[i])
    busy = {(w, l, i): p.workload_rate[w] * c[gl(w, l), i] for w, l, i in xk}
    m.compute = pyo.Constraint(N, rule=lambda _m, i: _lin(
        [(busy[w, l, i], m.x[w, l, i]) for w in W for l in L[w] if np.isfinite(busy[w, l, i]) and busy[w, l, i] > 0]
    ) <= cap if p.node_flops[i] > 0 else pyo.Constraint.Skip)
    link_terms: dict[int, list] = {e: [] for e in range(p.num_links)}

    def add_transfer(a, b, load, var):
        if a != b and r.reachable[a, b] and load > 0:
            for e in r.path_links(a, b):
                link_terms[e].append((load, var))

    for w in W:
        rate = p.workload_rate[w]
        last = L[w][-1]
        for i in N:
            add_transfer(p.workload_source[w], i, rate * p.input_bytes[p.workload_model[w]], m.x[w, 0, i])
            add_transfer(i, p.workload_sink[w], rate * p.layer_output_bytes[gl(w, last)], m.x[w, last, i])
        for l in L[w][:-1]:
            for i in N:
                for j in N:
                    add_transfer(i, j, rate * p.layer_output_bytes[gl(w, l)], m.y[w, l, i, j])
    m.link = pyo.Constraint(range(p.num_links), rule=lambda _m, e: (
        _lin([(v / p.link_bandwidth[e], var) for v, var in link_terms[e]]) <= cap
        if link_terms[e] else pyo.Constraint.Skip))

    # segments
    def moves(w):
        return [m.y[w, l, i, j] for l in L[w][:-1] for i in N for j in N if i != j]

    m.max_segments = pyo.Constraint(W, rule=lambda _m, w: (
        sum(moves(w)) <= int(p.workload_max_segments[w]) - 1
        if p.workload_max_segments[w] < f.length[w] else pyo.Constraint.Skip))
    if p.one_segment_per_node:
        m.one_segment = pyo.Constraint(W, N, rule=lambda _m, w, i: m.x[w, 0, i] + sum(
            m.y[w, l, j, i] for l in L[w][:-1] for j in N if j != i) <= 1)

    # objective
    obj = []
    if "latency" in weights:
        ws = p.workload_weight / p.workload_weight.sum()
        obj += [(weights["latency"] * ws[w], m.T[w]) for w in W]
    if "max_latency" in weights:
        m.M = pyo.Var(within=pyo.NonNegativeReals)
        m.max_lat = pyo.Constraint(W, rule=lambda _m, w: m.T[w] <= m.M)
        obj.append((weights["max_latency"], m.M))
    if "bottleneck" in weights:
        m.B = pyo.Var(within=pyo.NonNegativeReals)
        m.bott_node = pyo.Constraint(N, rule=lambda _m, i: _lin(
            [(busy[w, l, i], m.x[w, l, i]) for w in W for l in L[w] if np.isfinite(busy[w, l, i])]) <= m.B)
        m.bott_link = pyo.Constraint(range(p.num_links), rule=lambda _m, e: _lin(
            [(v / p.link_bandwidth[e], var) for v, var in link_terms[e]]) <= m.B)
        obj.append((weights["bottleneck"], m.B))
    if "cost" in weights:
        m.u = pyo.Var(N, within=pyo.Binary)
        m.activation = pyo.Constraint(xk, rule=lambda _m, w, l, i: m.u[i] >= m.x[w, l, i])
        obj += [(weights["cost"] * p.node_cost[i], m.u[i]) for i in N if p.node_cost[i] > 0]
    if "energy" in weights:
        e_w = weights["energy"]
        epb = r.energy_per_byte
        for w in W:
            rate = p.workload_rate[w]
            src, snk, last = p.workload_source[w], p.workload_sink[w], L[w][-1]
            for l in L[w]:
                for i in N:
                    e = rate * p.layer_flops[gl(w, l)] * p.node_energy_per_flop[i]
                    if l == 0:
                        e += rate * p.input_bytes[p.workload_model[w]] * epb[src, i]
                    if l == last:
                        e += rate * p.layer_output_bytes[gl(w, last)] * epb[i, snk]
                    if e:
                        obj.append((e_w * e, m.x[w, l, i]))
            for l in L[w][:-1]:
                b = rate * p.layer_output_bytes[gl(w, l)]
                obj += [(e_w * b * epb[i, j], m.y[w, l, i, j]) for i in N for j in N if i != j and epb[i, j]]
    if "migration" in weights and previous_keys is not None:
        prev = set(previous_keys.tolist())
        obj += [(weights["migration"] * p.layer_param_bytes[g], m.z[g, i]) for g, i in zk
                if g * p.num_nodes + i not in prev and p.layer_param_bytes[g] > 0]
    m.objective = pyo.Objective(expr=_lin(obj) if obj else 0.0, sense=pyo.minimize)
    return m


def solve_textbook(problem: Problem, options: SolveOptions) -> RawResult:
    from .solver import run_highs

    t0 = time.perf_counter()
    m = build_textbook_model(problem, options.previous_keys)
    build = time.perf_counter() - t0
    xs = list(m.x.values())

    def decode(values: np.ndarray) -> np.ndarray:
        f = problem.flat
        n = problem.num_nodes
        return np.asarray(argmax(values.reshape(f.size, n), axis=1))

    raw = run_highs(m, options, xs, decode)
    raw.info.update(build_time=build, variables=m.nvariables(), constraints=m.nconstraints())
    return raw
