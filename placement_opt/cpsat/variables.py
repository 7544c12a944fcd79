"""CP-SAT variables of the layered-graph formulation, and complete hints.

The decision variables mirror :mod:`placement_opt.formulation` one to one:

- ``x[v]``: flat position ``F.x_pos[v]`` runs on node ``F.x_node[v]`` (candidates only);
- ``y[t]``: the workload moves from ``F.y_from[t]`` to ``F.y_to[t]`` after position ``F.y_pos[t]``;
- ``z[p]``: layer ``F.z_layer[p]`` is placed on node ``F.z_node[p]`` (weights loaded once);
- ``active[i]``: node ``i`` hosts at least one layer; created only for nodes whose
  activation has a cost in the objective.

The objective's auxiliaries (scaled max latency and bottleneck) belong to
:mod:`placement_opt.cpsat.objective`.

*Columns* number the variables in one space, used by rows and hints: ``x``
first, then ``y``, ``z`` and ``active``.  Every column has a *group*: at most one
variable of a group is 1 in any solution (the ``x`` of one position, the ``y``
of one boundary); ``z`` and ``active`` columns are groups of their own.  Groups
give the largest activity of a row (:func:`placement_opt.cpsat.scaling.max_activity`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from ..formulation import Formulation

#: Give variables readable names when the model is at most this large (names cost time).
NAME_LIMIT = 20_000


class Layout:
    """The column space of a model without the model: offsets and groups (see
    the module docstring).  Enough for hints and for the LP relaxation of
    :mod:`placement_opt.cpsat.reduce`."""

    def __init__(self, F: Formulation, active_nodes: np.ndarray):
        self.F = F
        size = F.problem.flat.size
        self.active_nodes = np.asarray(active_nodes, dtype=np.int64)
        self.num_columns = F.num_x + F.num_y + F.num_z + self.active_nodes.size
        self.y_offset = F.num_x
        self.z_offset = F.num_x + F.num_y
        self.a_offset = self.z_offset + F.num_z
        own = np.arange(F.num_z + self.active_nodes.size) + 2 * size
        self.groups = np.concatenate([F.x_pos, size + F.y_pos, own]).astype(np.int64)


class Variables(Layout):
    """Creates the variables of a model (see the module docstring).

    Parameters
    ----------
    model
        The CP-SAT model to add them to.
    F
        The formulation.
    active_nodes
        Nodes that get an activation variable (ascending node indices).
    """

    def __init__(self, model: cp_model.CpModel, F: Formulation, active_nodes: np.ndarray):
        super().__init__(F, active_nodes)
        p = F.problem
        named = F.num_x + F.num_y + F.num_z <= NAME_LIMIT
        ids = p.node_ids

        def name(fmt: str, *args) -> str:
            return fmt.format(*args) if named else ""

        self.x = [model.new_bool_var(name("x[{},{}]", k, ids[i])) for k, i in zip(F.x_pos.tolist(), F.x_node.tolist())]
        self.y = [
            model.new_bool_var(name("y[{},{}->{}]", k, ids[i], ids[j]))
            for k, i, j in zip(F.y_pos.tolist(), F.y_from.tolist(), F.y_to.tolist())
        ]
        self.z = [
            model.new_bool_var(name("z[{},{}]", g, ids[i])) for g, i in zip(F.z_layer.tolist(), F.z_node.tolist())
        ]
        self.active = [model.new_bool_var(name("active[{}]", ids[i])) for i in self.active_nodes.tolist()]
        #: node index -> position in ``self.active``
        self.active_of = {int(i): a for a, i in enumerate(self.active_nodes.tolist())}
        self.columns = self.x + self.y + self.z + self.active
        self.indices = np.fromiter((v.index for v in self.columns), dtype=np.int64, count=self.num_columns)

    def values(self, solution: np.ndarray) -> np.ndarray:
        """Column values (0/1 int array) from a response's full solution vector."""
        return np.asarray(solution, dtype=np.int64)[self.indices]


@dataclass(frozen=True)
class Hint:
    """Hint values per column: 1, 0, or -1 (not hinted)."""

    values: np.ndarray
    complete: bool
    positions_outside_candidates: int
    missing_transitions: int

    def info(self) -> dict:
        return {
            "complete": self.complete,
            "hinted_columns": int((self.values >= 0).sum()),
            "columns": int(self.values.size),
            "positions_outside_candidates": self.positions_outside_candidates,
            "missing_transitions": self.missing_transitions,
        }


def hint_columns(V: Layout, assignment: np.ndarray) -> Hint:
    """Consistent hint values for ``x``, ``y``, ``z`` and ``active`` from a flat assignment.

    Positions whose node is not a candidate, and boundaries whose move has no
    ``y`` (pruned), are left unhinted; everything that follows from the rest
    is hinted.
    """
    F = V.F
    p = F.problem
    n = p.num_nodes
    size = p.flat.size
    a = np.asarray(assignment, dtype=np.int64)
    vals = np.full(V.num_columns, -1, dtype=np.int64)

    # x: position k runs on a[k] when that is a candidate.
    x_keys = F.x_pos * n + F.x_node  # ascending (row-major nonzero of the mask)
    want = np.arange(size) * n + a
    if F.num_x:
        at = np.minimum(np.searchsorted(x_keys, want), F.num_x - 1)
        known = x_keys[at] == want
    else:
        at = np.zeros(size, dtype=np.int64)
        known = np.zeros(size, dtype=bool)
    xk = known[F.x_pos]
    vals[: F.num_x][xk] = 0
    vals[at[known]] = 1

    # y: a boundary is hinted when both sides are; a move needs its transition.
    missing = 0
    if F.boundaries.size:
        y_keys = (F.y_pos * n + F.y_from) * n + F.y_to
        order = np.argsort(y_keys, kind="stable")
        sorted_keys = y_keys[order]
        yk = known[F.y_pos] & known[F.y_pos + 1]
        yv = vals[V.y_offset : V.z_offset]
        yv[yk] = 0
        b = F.boundaries
        both = known[b] & known[b + 1]
        moves = b[both & (a[b] != a[b + 1])]
        if moves.size:
            keys = (moves * n + a[moves]) * n + a[moves + 1]
            if F.num_y:
                pos = np.minimum(np.searchsorted(sorted_keys, keys), F.num_y - 1)
                found = sorted_keys[pos] == keys
                yv[order[pos[found]]] = 1
            else:
                found = np.zeros(moves.size, dtype=bool)
            missing = int((~found).sum())
            # a boundary whose move has no y: leave the whole boundary unhinted
            for k in moves[~found].tolist():
                yv[F.y_by_boundary.get(k, np.zeros(0, dtype=np.int64))] = -1

    # z: placed when some hinted x on it is 1; not placed when all its x are hinted 0.
    xv = vals[: F.num_x]
    zone = np.zeros(F.num_z, dtype=bool)
    zunknown = np.zeros(F.num_z, dtype=bool)
    if F.num_x:
        np.logical_or.at(zone, F.x_z, xv == 1)
        np.logical_or.at(zunknown, F.x_z, xv < 0)
    zv = vals[V.z_offset : V.a_offset]
    zv[:] = np.where(zone, 1, np.where(zunknown, -1, 0))

    # active: like z, per node.
    if V.active_nodes.size:
        av = vals[V.a_offset :]
        node_one = np.zeros(n, dtype=bool)
        node_unknown = np.zeros(n, dtype=bool)
        np.logical_or.at(node_one, F.z_node, zv == 1)
        np.logical_or.at(node_unknown, F.z_node, zv < 0)
        av[:] = np.where(node_one[V.active_nodes], 1, np.where(node_unknown[V.active_nodes], -1, 0))

    outside = int(size - known.sum())
    return Hint(vals, bool((vals >= 0).all()), outside, missing)
