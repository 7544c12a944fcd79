"""MILP objective: the weighted sum of SPEC 6 terms.

Each weighted term is a sparse vector over the columns (its unweighted value);
the Pyomo model exposes them as ``m.term[name]`` and minimises
``sum weight * term``.  Terms that need auxiliary rows (``max_latency``,
``bottleneck``, ``cost``) bring them along.
"""

from __future__ import annotations

import numpy as np

from ..formulation import Formulation
from .constraints import RowBlock, bottleneck_blocks, hosting_block, max_latency_block
from .variables import BOTTLENECK, HOSTING, LATENCY, MAX_LATENCY, Columns, X, Y

Term = tuple[np.ndarray, np.ndarray]  # (columns, coefficients)


def objective_terms(F: Formulation, cols: Columns, weights: dict[str, float],
                    previous_keys: np.ndarray | None) -> tuple[dict[str, Term], list[RowBlock]]:
    p = F.problem
    terms: dict[str, Term] = {}
    blocks: list[RowBlock] = []
    if weights.get("latency", 0) > 0:
        terms["latency"] = (cols.of(LATENCY), p.workload_weight / p.workload_weight.sum())
    if weights.get("max_latency", 0) > 0:
        blocks.append(max_latency_block(F, cols))
        terms["max_latency"] = (cols.of(MAX_LATENCY), np.ones(1))
    if weights.get("bottleneck", 0) > 0:
        blocks += bottleneck_blocks(F, cols)
        terms["bottleneck"] = (cols.of(BOTTLENECK), np.ones(1))
    if weights.get("cost", 0) > 0 and cols.count(HOSTING):
        blocks.append(hosting_block(F, cols))
        terms["cost"] = (cols.of(HOSTING), p.node_cost[cols.ref[cols.of(HOSTING)]])
    if weights.get("energy", 0) > 0:
        xs, ys = np.flatnonzero(F.x_energy), np.flatnonzero(F.y_energy)
        terms["energy"] = (np.concatenate([cols.first(X) + xs, cols.first(Y) + ys]),
                           np.concatenate([F.x_energy[xs], F.y_energy[ys]]))
    if weights.get("migration", 0) > 0 and previous_keys is not None:
        keys = F.z_layer * p.num_nodes + F.z_node
        fresh = np.flatnonzero((cols.z_col >= 0) & ~np.isin(keys, previous_keys))
        terms["migration"] = (cols.z_col[fresh], F.z_param[fresh])
    return terms, blocks


def objective_vector(cols: Columns, terms: dict[str, Term], weights: dict[str, float]) -> np.ndarray:
    c = np.zeros(cols.size)
    for name, (idx, coef) in terms.items():
        np.add.at(c, idx, weights[name] * coef)
    return c
