"""The MILP as matrices, and its Pyomo model.

:func:`build_matrix_model` assembles columns, constraint blocks and objective
terms with numpy.  :func:`to_pyomo` turns it, or a subset of its columns (see
:mod:`placement_opt.milp.reduce`), into a Pyomo ``ConcreteModel`` with
id-indexed variables and named constraints.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression
from scipy.sparse import coo_matrix, csr_matrix

from ..evaluate import evaluate_array
from ..formulation import Formulation, build_formulation
from ..problem import Problem
from ..symmetry import NodeClasses
from .constraints import RowBlock, constraint_blocks, symmetry_block
from .objective import Term, objective_terms, objective_vector
from .variables import (
    BOTTLENECK,
    HOSTING,
    LATENCY,
    MAX_LATENCY,
    Columns,
    X,
    Y,
    Z,
    build_columns,
)


class PrunedInfeasible(Exception):
    """The reduced model has a row that no remaining column can satisfy."""


@dataclass(frozen=True, eq=False)
class MatrixModel:
    F: Formulation
    cols: Columns
    blocks: tuple[RowBlock, ...]
    terms: dict[str, Term]
    weights: dict[str, float]

    @property
    def problem(self) -> Problem:
        return self.F.problem

    def with_blocks(self, blocks: list[RowBlock]) -> MatrixModel:
        """The same model with extra rows (cuts) at the end."""
        return MatrixModel(self.F, self.cols, self.blocks + tuple(blocks), self.terms, self.weights)

    @cached_property
    def c(self) -> np.ndarray:
        return objective_vector(self.cols, self.terms, self.weights)

    @cached_property
    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum([b.num_rows for b in self.blocks])]).astype(np.int64)

    @cached_property
    def A(self) -> csr_matrix:
        rows = np.concatenate([b.row + o for b, o in zip(self.blocks, self.offsets)])
        cols = np.concatenate([b.col for b in self.blocks])
        vals = np.concatenate([b.val for b in self.blocks])
        return coo_matrix((vals, (rows, cols)), shape=(int(self.offsets[-1]), self.cols.size)).tocsr()

    @cached_property
    def row_lower(self) -> np.ndarray:
        return np.concatenate([b.lower for b in self.blocks])

    @cached_property
    def row_upper(self) -> np.ndarray:
        return np.concatenate([b.upper for b in self.blocks])

    def column_values(self, assignment: np.ndarray, previous_keys: np.ndarray | None = None) -> np.ndarray | None:
        """Every column's value for a flat assignment; None if the assignment
        uses a pair that is not a candidate."""
        F, cols = self.F, self.cols
        xv, yv = F.x_values_of(assignment), F.y_values_of(assignment)
        if xv is None or yv is None:
            return None
        ev = evaluate_array(self.problem, assignment, previous_keys)
        values = np.zeros(cols.size)
        values[cols.of(X)] = xv
        values[cols.of(Y)] = yv
        values[cols.of(Z)] = F.z_values_of(assignment)[cols.ref[cols.of(Z)]]
        values[cols.of(LATENCY)] = ev.arrays["latency"]
        values[cols.of(MAX_LATENCY)] = ev.arrays["latency"].max()
        values[cols.of(BOTTLENECK)] = ev.terms["bottleneck"]
        values[cols.of(HOSTING)] = np.isin(cols.ref[cols.of(HOSTING)], assignment)
        return values


def build_matrix_model(problem: Problem, previous_keys: np.ndarray | None = None,
                       formulation: Formulation | None = None,
                       classes: NodeClasses | None = None) -> MatrixModel:
    """The MILP as matrices; ``classes`` of interchangeable nodes add symmetry-breaking rows."""
    F = formulation or build_formulation(problem)
    weights: dict[str, float] = {k: float(v) for k, v in problem.objective_weights.items() if v > 0}
    cols = build_columns(F, weights)
    blocks = constraint_blocks(F, cols)
    if classes is not None and classes.classes:
        blocks.append(symmetry_block(F, cols, classes.classes))
    terms, extra = objective_terms(F, cols, weights, previous_keys)
    return MatrixModel(F, cols, tuple(blocks + extra), terms, weights)


# ------------------------------------------------------------------ Pyomo
def _column_keys(mm: MatrixModel, kind: int, refs: np.ndarray) -> list:
    F, p = mm.F, mm.problem
    f = p.flat
    wids, nids = p.workload_ids, p.node_ids
    refs = refs.tolist()
    if kind == X:
        return [(wids[f.workload[F.x_pos[v]]], int(f.layer[F.x_pos[v]]), nids[F.x_node[v]]) for v in refs]
    if kind == Y:
        return [(wids[f.workload[F.y_pos[t]]], int(f.layer[F.y_pos[t]]), nids[F.y_from[t]], nids[F.y_to[t]])
                for t in refs]
    if kind == Z:
        out = []
        for z in refs:
            gl = int(F.z_layer[z])
            m = int(p.layer_model[gl])
            out.append((p.model_ids[m], gl - int(p.model_offset[m]), nids[F.z_node[z]]))
        return out
    if kind == LATENCY:
        return [wids[w] for w in refs]
    return [nids[i] for i in refs]  # HOSTING


_DOMAINS = {X: pyo.Binary, Y: pyo.UnitInterval, Z: pyo.Binary, HOSTING: pyo.Binary}
_NAMES = {X: "x", Y: "y", Z: "z", LATENCY: "latency", HOSTING: "hosting"}


def to_pyomo(mm: MatrixModel, keep: np.ndarray | None = None) -> pyo.ConcreteModel:
    """A Pyomo model of the matrix model, restricted to the columns in ``keep``.

    Raises
    ------
    PrunedInfeasible
        If a row cannot be satisfied by the kept columns.
    """
    cols = mm.cols
    keep = np.ones(cols.size, dtype=bool) if keep is None else keep
    m = pyo.ConcreteModel(name=mm.problem.name)
    m._mm = mm
    m._keep = keep
    variables: list = [None] * cols.size
    for kind, name in _NAMES.items():
        idx = cols.of(kind)[keep[cols.of(kind)]]
        var = pyo.Var(_column_keys(mm, kind, cols.ref[idx]), dense=True,
                      within=_DOMAINS.get(kind, pyo.NonNegativeReals))
        m.add_component(name, var)
        for c, v in zip(idx.tolist(), var.values()):
            variables[c] = v
    for kind, name in ((MAX_LATENCY, "max_latency"), (BOTTLENECK, "bottleneck")):
        if cols.count(kind):
            var = pyo.Var(within=pyo.NonNegativeReals)
            m.add_component(name, var)
            variables[cols.first(kind)] = var
    for c in np.flatnonzero(keep & np.isfinite(cols.upper) & ~cols.integer & (cols.kind != Y)).tolist():
        variables[c].setub(float(cols.upper[c]))
    m._vars = variables
    m._x_cols = cols.of(X)[keep[cols.of(X)]]
    for b in mm.blocks:
        _add_block(m, b, keep, variables)
    terms = {}
    for name, (idx, coef) in mm.terms.items():
        sel = keep[idx]
        terms[name] = LinearExpression(constant=0.0, linear_coefs=coef[sel].tolist(),
                                       linear_vars=[variables[c] for c in idx[sel].tolist()])
    m.term = pyo.Expression(list(terms), rule=lambda _m, name: terms[name])
    m.objective = pyo.Objective(expr=sum(mm.weights[n] * m.term[n] for n in terms) if terms else 0.0)
    return m


def _add_block(m: pyo.ConcreteModel, b: RowBlock, keep: np.ndarray, variables: list) -> None:
    sel = keep[b.col]
    A = coo_matrix((b.val[sel], (b.row[sel], b.col[sel])), shape=(b.num_rows, keep.size)).tocsr()
    A.sum_duplicates()
    nnz = np.diff(A.indptr)
    empty = np.flatnonzero(nnz == 0)
    if empty.size and ((b.lower[empty] > 1e-9) | (b.upper[empty] < -1e-9)).any():
        raise PrunedInfeasible(b.name)
    rows = np.flatnonzero(nnz > 0)
    if rows.size == 0:
        return
    keys = b.keys()
    ptr, idx, dat = A.indptr, A.indices, A.data
    row_of = {keys[r]: r for r in rows.tolist()}

    def rule(_m, *key):
        r = row_of[key if len(key) > 1 else key[0]]
        expr = LinearExpression(constant=0.0, linear_coefs=dat[ptr[r]:ptr[r + 1]].tolist(),
                                linear_vars=[variables[c] for c in idx[ptr[r]:ptr[r + 1]].tolist()])
        lo = None if np.isinf(b.lower[r]) else float(b.lower[r])
        hi = None if np.isinf(b.upper[r]) else float(b.upper[r])
        if lo is not None and lo == hi:
            return expr == lo
        return (lo, expr, hi)

    m.add_component(b.name, pyo.Constraint(list(row_of), rule=rule))


def decode(m: pyo.ConcreteModel, x_values: np.ndarray) -> np.ndarray:
    """Flat assignment from the values of the model's x columns (``m._x_cols``)."""
    return decode_x(m._mm, m._x_cols, x_values)


def decode_x(mm: MatrixModel, x_cols: np.ndarray, x_values: np.ndarray) -> np.ndarray:
    """Flat assignment from the values of the x columns ``x_cols`` of ``mm``:
    each position goes to its largest x (the first one on a tie)."""
    F = mm.F
    refs = mm.cols.ref[x_cols]
    pos = F.x_pos[refs]
    out = np.full(mm.problem.flat.size, -1, dtype=np.int64)
    best = np.full(out.size, -np.inf)
    for v, k, val in zip(refs.tolist(), pos.tolist(), np.asarray(x_values).tolist()):
        if val > best[k]:
            best[k] = val
            out[k] = F.x_node[v]
    return out
