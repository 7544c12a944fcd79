"""HiGHS through highspy, on matrices: the one place that hands a model to
HiGHS, sets our tolerances and limits, and reads back its answer.

Used by ``milp`` (the reduced model, with no modelling layer in between), by its
LP pre-pass (:mod:`placement_opt.milp.reduce`), by ``milp-textbook`` and by
``cpsat``'s LP pre-pass (:mod:`placement_opt.cpsat.reduce`).  Only the plumbing
is shared: each caller states its own formulation.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
from scipy.sparse import csc_matrix

from .backend import RawResult, SolveOptions
from .solution import SolveStatus, relative_gap

#: primal and MIP feasibility tolerance: what HiGHS accepts, the evaluator accepts
#: (1e-9 on the normalised capacity rows)
FEASIBILITY_TOL = 1e-9
#: relative gap HiGHS must close before ``optimal`` (when the user sets none)
PROOF_GAP = 1e-9
#: an answer HiGHS calls optimal is ``optimal`` only if its gap is at most this
CLOSED_GAP = 1e-6
#: HiGHS gets the time left minus this share of it (and ``TIME_MARGIN_SECONDS``)
#: for reading back the answer: its own clock does not cover ours
TIME_MARGIN_SHARE = 0.01
TIME_MARGIN_SECONDS = 0.05

_INFEASIBLE = ("kInfeasible", "kUnboundedOrInfeasible")
_ERRORS = ("kLoadError", "kModelError", "kPresolveError", "kSolveError", "kPostsolveError")


@contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Silence file descriptor 1 (highspy prints a banner when first created)."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def new_highs(log: bool = False, seed: int = 0, threads: int | None = None) -> highspy.Highs:
    """A HiGHS instance, quiet unless ``log``, seeded."""
    with quiet(not log):
        h = highspy.Highs()
    h.setOptionValue("output_flag", bool(log))
    h.setOptionValue("random_seed", int(seed) % 2147483647)
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    return h


def pass_matrices(h: highspy.Highs, c: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,
                  A: csc_matrix, row_lower: np.ndarray, row_upper: np.ndarray,
                  integer: np.ndarray | None = None) -> None:
    """Hand ``min c'x, row_lower <= A x <= row_upper, col_lower <= x <= col_upper``
    to HiGHS (``integer``: a boolean mask of integer columns; None for an LP)."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = int(c.size), int(A.shape[0])
    lp.col_cost_ = np.ascontiguousarray(c, dtype=float)
    lp.col_lower_ = np.ascontiguousarray(col_lower, dtype=float)
    lp.col_upper_ = np.ascontiguousarray(col_upper, dtype=float)
    lp.row_lower_ = np.ascontiguousarray(row_lower, dtype=float)
    lp.row_upper_ = np.ascontiguousarray(row_upper, dtype=float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    if integer is not None:
        lp.integrality_ = [highspy.HighsVarType.kInteger if v else highspy.HighsVarType.kContinuous
                           for v in np.asarray(integer).tolist()]
    h.passModel(lp)


def lp_highs(c: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray, A: csc_matrix,
             row_lower: np.ndarray, row_upper: np.ndarray, time_limit: float, seed: int = 0,
             threads: int | None = None) -> highspy.Highs:
    """A quiet HiGHS instance holding an LP (see :func:`pass_matrices`), with a
    time limit (none if infinite); call ``run()`` on it."""
    h = new_highs(False, seed, threads)
    if np.isfinite(time_limit):
        h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    pass_matrices(h, c, col_lower, col_upper, A, row_lower, row_upper)
    return h


def mip_options(options: SolveOptions) -> dict[str, Any]:
    """Our HiGHS tolerances and gaps: ``optimal`` from HiGHS is then a proof
    (see :data:`PROOF_GAP`)."""
    return {
        "mip_feasibility_tolerance": FEASIBILITY_TOL,
        "primal_feasibility_tolerance": FEASIBILITY_TOL,
        "mip_rel_gap": PROOF_GAP if options.gap is None else max(options.gap, PROOF_GAP),
        "mip_abs_gap": 0.0 if options.gap is None else 1e-12,
    }


def set_mip_options(h: highspy.Highs, options: SolveOptions, extra: Mapping[str, Any] | None = None) -> None:
    """:func:`mip_options` on ``h``; ``extra`` HiGHS options are applied last."""
    for key, value in {**mip_options(options), **dict(extra or {})}.items():
        h.setOptionValue(key, value)


def set_time_left(h: highspy.Highs, remaining: float) -> None:
    """HiGHS's time limit from the time left in the call (none if unlimited)."""
    if np.isfinite(remaining):
        h.setOptionValue("time_limit", max(0.01, remaining * (1 - TIME_MARGIN_SHARE) - TIME_MARGIN_SECONDS))


def set_start(h: highspy.Highs, values: np.ndarray) -> None:
    """A complete solution (every column's value) as HiGHS's first incumbent."""
    h.setSolution(int(values.size), np.arange(values.size, dtype=np.int32), np.asarray(values, dtype=float))


@dataclass(frozen=True)
class Answer:
    """What HiGHS reports after a MIP run.

    ``kind`` is ``"infeasible"``, ``"error"``, ``"no_solution"``, ``"feasible"``
    or ``"optimal"`` (HiGHS proved it *and* the gap is at most
    :data:`CLOSED_GAP`).
    """

    kind: str
    termination: str
    objective: float | None
    bound: float | None
    values: np.ndarray | None
    mip_nodes: int


def answer(h: highspy.Highs) -> Answer:
    """Read HiGHS's status, incumbent and dual bound."""
    status = h.getModelStatus()
    name = status.name
    termination = h.modelStatusToString(status)
    hinfo = h.getInfo()
    nodes = int(hinfo.mip_node_count)
    if name in _INFEASIBLE:
        # every column is bounded below and every cost is >= 0: "or unbounded" cannot be
        return Answer("infeasible", termination, None, None, None, nodes)
    if name in _ERRORS:
        return Answer("error", termination, None, None, None, nodes)
    bound = float(hinfo.mip_dual_bound)
    bound_or_none = bound if np.isfinite(bound) else None
    if hinfo.primal_solution_status != 2:  # kSolutionStatusFeasible
        return Answer("no_solution", termination, None, bound_or_none, None, nodes)
    objective = float(hinfo.objective_function_value)
    gap = relative_gap(objective, bound_or_none)
    proven = name == "kOptimal" and gap is not None and gap <= CLOSED_GAP
    return Answer("optimal" if proven else "feasible", termination, objective, bound_or_none,
                  np.asarray(h.getSolution().col_value), nodes)


def run_in_time(h: highspy.Highs, options: SolveOptions, info: dict) -> RawResult | None:
    """Run HiGHS in the time left of the call (``info["highs_time"]``); the
    answer ``no_solution`` if none is left, else None (read it with
    :func:`result`)."""
    remaining = options.remaining()
    if remaining <= 0:
        return RawResult(SolveStatus.NO_SOLUTION, info={**info, "reason": "time limit reached while building"})
    set_time_left(h, remaining)
    t1 = time.perf_counter()
    h.run()
    info["highs_time"] = time.perf_counter() - t1
    return None


def result(h: highspy.Highs, decode: Callable[[np.ndarray], np.ndarray], info: dict) -> RawResult:
    """HiGHS's answer as a :class:`RawResult`; ``decode`` turns the column
    values into a flat assignment.  Statuses as in :class:`Answer`."""
    ans = answer(h)
    info.update(termination=ans.termination, mip_nodes=ans.mip_nodes)
    if ans.kind == "infeasible":
        return RawResult(SolveStatus.INFEASIBLE, info=info)
    if ans.kind == "error":
        return RawResult(SolveStatus.ERROR, info={**info, "reason": f"HiGHS: {ans.termination}"})
    if ans.values is None:
        return RawResult(SolveStatus.NO_SOLUTION, bound=ans.bound,
                         info={**info, "reason": f"HiGHS stopped without a solution: {ans.termination}"})
    status = SolveStatus.OPTIMAL if ans.kind == "optimal" else SolveStatus.FEASIBLE
    return RawResult(status, decode(ans.values), ans.bound, ans.objective, info)
