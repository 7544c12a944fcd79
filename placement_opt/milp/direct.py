"""The MILP straight to HiGHS: the matrix model, or the columns that survive
the reduction of :mod:`placement_opt.milp.reduce`, handed over as sparse
matrices through highspy, with no modelling layer in between.

This is how ``milp`` solves unless the user adds constraints of their own
(``extra_functionality``), which need the Pyomo model of
:func:`placement_opt.milp.model.to_pyomo`.  Both routes hand HiGHS the same
columns, rows, bounds and objective.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csc_matrix

from ..backend import RawResult, SolveOptions
from ..highs import new_highs, pass_matrices, result, run_in_time, set_mip_options, set_start
from ..versions import versions
from .model import MatrixModel, PrunedInfeasible, decode_x
from .variables import X

#: a row left without columns must still hold with every term at 0
EMPTY_ROW_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class Restricted:
    """The model over a subset of its columns; rows left empty are dropped."""

    columns: np.ndarray  # indices into ``mm.cols``
    rows: np.ndarray  # indices into ``mm.A``'s rows
    A: csc_matrix

    @property
    def nonzeros(self) -> int:
        return int(self.A.nnz)


def restrict_model(mm: MatrixModel, keep: np.ndarray | None) -> Restricted:
    """``mm`` over the columns in ``keep`` (all when None).

    Raises
    ------
    PrunedInfeasible
        If a row cannot hold with the columns that are left (named by its block).
    """
    columns = np.arange(mm.cols.size) if keep is None else np.flatnonzero(keep)
    A = mm.A[:, columns]
    empty = np.diff(A.indptr) == 0
    broken = np.flatnonzero(empty & ((mm.row_lower > EMPTY_ROW_TOL) | (mm.row_upper < -EMPTY_ROW_TOL)))
    if broken.size:
        block = int(np.searchsorted(mm.offsets, broken[0], side="right")) - 1
        raise PrunedInfeasible(mm.blocks[block].name)
    rows = np.flatnonzero(~empty)
    return Restricted(columns, rows, A[rows].tocsc())


def solve_matrices(mm: MatrixModel, keep: np.ndarray | None, options: SolveOptions,
                   warm_start: np.ndarray | None = None,
                   highs_options: Mapping[str, Any] | None = None) -> RawResult:
    """Solve ``mm`` over the columns in ``keep`` with HiGHS.

    ``warm_start`` (a flat assignment) becomes HiGHS's first incumbent when all
    its columns are kept; ``highs_options`` are applied last.  Statuses as for
    ``milp``: ``optimal`` only when HiGHS closed the gap (see
    :mod:`placement_opt.highs`).

    Raises
    ------
    PrunedInfeasible
        If a row cannot hold with the kept columns.
    """
    info: dict = {"versions": versions()}
    t0 = time.perf_counter()
    r = restrict_model(mm, keep)
    cols = mm.cols
    h = new_highs(options.log, options.seed, options.threads)
    set_mip_options(h, options, highs_options)
    pass_matrices(h, mm.c[r.columns], cols.lower[r.columns], cols.upper[r.columns], r.A,
                  mm.row_lower[r.rows], mm.row_upper[r.rows], cols.integer[r.columns])
    if warm_start is not None:
        info["warm_start"] = _warm_start(h, mm, r, keep, warm_start, options.previous_keys)
    info.update(transfer_time=time.perf_counter() - t0, variables=int(r.columns.size),
                constraints=int(r.rows.size))
    stopped = run_in_time(h, options, info)
    if stopped is not None:
        return stopped
    is_x = cols.kind[r.columns] == X
    return result(h, lambda values: decode_x(mm, r.columns[is_x], values[is_x]), info)


def _warm_start(h, mm: MatrixModel, r: Restricted, keep: np.ndarray | None, assignment: np.ndarray,
                previous_keys: np.ndarray | None) -> str:
    values = mm.column_values(assignment, previous_keys)
    if values is None or (keep is not None and (values[~keep] != 0).any()):
        return "outside candidates"
    set_start(h, values[r.columns])
    return "used"
