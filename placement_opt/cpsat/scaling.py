"""Integer scaling for CP-SAT: every real coefficient becomes an integer.

CP-SAT only accepts integer coefficients, so every real-valued row of the model
(capacities, SLOs, the objective and its max terms) is multiplied by a scale and
rounded.  The scheme is chosen once per problem, is the same for every run, and
is reported in ``info["scaling"]`` of every result.

Scales are powers of two
    A float times ``2**e`` is exact (no rounding), so ``floor(a * 2**e)`` is the
    exact floor, and an instance whose numbers are integers (bytes) is scaled
    with no error at all whenever ``e >= 0``.

Magnitudes
    The largest value the scaled objective can take is kept within ``2**52``
    (:data:`MAX_BITS`), so that objective values and bounds, which CP-SAT
    reports as doubles, are exact; rows stay within ``2**40``
    (:data:`CONSTRAINT_BITS`).  That value is computed over the
    model's own structure: one ``x`` per position, at most one ``y`` per
    boundary (:func:`max_activity`).  CP-SAT also refuses an expression whose
    sum of absolute coefficients times domain bounds may overflow int64; that
    sum is kept within ``2**62`` (:data:`SUM_BITS`).

Constraints: a relaxation, then a check
    A capacity or SLO row ``sum a_v v <= b`` (``a_v >= 0``) gets its own scale
    ``s = 2**e``, the largest that keeps the row's largest value within
    ``2**40`` (:data:`CONSTRAINT_BITS`), and becomes::

        sum floor(a_v s) v <= floor(s * thr * (1 + slack))

    where ``thr = b + 1e-9 * b`` is exactly the evaluator's feasibility threshold
    (``FEASIBILITY_RTOL``) and ``slack = max(1e-12, 2**-52 * terms)`` absorbs the
    evaluator's own floating-point summation.  Coefficients are rounded down and
    the right-hand side is the floor of an upper bound of the real left-hand
    side, so **every real-feasible assignment satisfies the scaled row**: the
    scaled model is a relaxation, and its ``infeasible`` and its bounds are
    valid for the real problem.  The converse can fail by at most
    ``terms / s`` (each floor loses less than one unit): an assignment that
    satisfies the scaled row has a real activity of at most
    ``(rhs + terms) / s``.  How far that can exceed the evaluator's threshold,
    relative to the limit, is reported per constraint kind as
    ``info["scaling"]["constraints"][kind]["max_excess"]`` (about ``terms *
    2**-40``, i.e. 1e-12 per term).
    The solver checks every assignment CP-SAT returns with the evaluator; one
    that breaks a real limit through rounding is cut off with a no-good
    constraint and the search goes on (``info["no_goods"]``).

Objective: a lower estimate, a certificate, refinement
    The objective ``f`` (all six terms, weighted) is scaled with one scale ``S =
    2**e`` and every coefficient is rounded down (after a relative safety
    margin of ``2**-45`` for the floating-point products), including the rows
    that define the max terms (``max_latency``, ``bottleneck``).  Hence, for
    every assignment, ``g(x) <= S f(x)`` and ``S f(x) - g(x) < E + 2**-45 S f(x)``
    where ``E`` (``info["scaling"]["objective"]["max_rounding_terms"]``) counts
    the terms that can be active at once.  Consequences:

    - CP-SAT's bound ``B`` on ``g`` gives the real lower bound ``B / S <= f*``
      (also taken against :func:`placement_opt.cpsat.objective.lower_bound`, a
      cheap valid bound); this is the ``bound`` every result reports.
    - The chosen ``S`` makes the worst-case rounding ``E / S`` at most
      :data:`OBJECTIVE_TARGET_RTOL` (1e-5) of that cheap lower bound, so a
      proven optimum of ``g`` is within 1e-5 of the real optimum, inside the
      1e-4 (:data:`OPTIMALITY_RTOL`) that ``optimal`` promises.
    - ``optimal`` is only reported with a certificate: the evaluator's objective
      of the returned assignment is within 1e-4 relative of the real bound
      ``B / S`` (for objective 0: the bound is 0 as well).
    - When no positive lower bound is known beforehand (e.g. a cost-only
      objective with free nodes) or the scale had to be capped by
      :data:`MAX_BITS`, the certificate can fail; the solver then re-solves
      with a finer scale, hinted with the incumbent, and if the scale cannot
      grow any further reports ``feasible`` with the honest bound ``B / S``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..tolerance import threshold

#: The largest value any scaled row or the scaled objective can take stays within
#: ``2**MAX_BITS`` (exact in a double, as CP-SAT reports objective and bound).
MAX_BITS = 52
#: The sum of the absolute coefficients of any scaled expression (what CP-SAT's
#: overflow check adds up) stays within ``2**SUM_BITS``.
SUM_BITS = 62
#: Largest value of a scaled capacity or SLO row.  2**40 leaves a rounding
#: excess of about ``terms * 1e-12`` relative, far inside the evaluator's 1e-9,
#: while keeping coefficients moderate (CP-SAT's presolve is least tested, and
#: was seen to misbehave, with coefficients near 2**50; see the solver module).
#: Tests lower it to exercise the no-good loop.
CONSTRAINT_BITS = 40
#: A priori worst-case objective rounding, relative to a lower bound on the optimum.
OBJECTIVE_TARGET_RTOL = 1e-5
#: ``optimal`` means: within this relative distance of the real optimum.
OPTIMALITY_RTOL = 1e-4
#: Relative margin by which objective coefficients are shrunk before flooring
#: (covers the rounding of the floating-point products that make them).
OBJECTIVE_MARGIN = 2.0**-45
#: Smallest relative slack added to a capacity threshold (see the module docstring).
MIN_CONSTRAINT_SLACK = 1e-12
_MAX_EXP = 1000


def exponent_for(max_value: float, bits: int = MAX_BITS) -> int:
    """Largest ``e`` with ``max_value * 2**e <= 2**bits`` (clamped to +-1000)."""
    if not (max_value > 0) or not math.isfinite(max_value):
        return 0
    m, ex = math.frexp(max_value)  # max_value = m * 2**ex, 0.5 <= m < 1
    e = bits - ex  # max_value * 2**e = m * 2**bits < 2**bits
    return int(min(max(e, -_MAX_EXP), _MAX_EXP))


def exponent_at_least(value: float) -> int:
    """Smallest ``e`` with ``2**e >= value`` (value > 0)."""
    m, ex = math.frexp(value)
    return int(ex - 1 if m == 0.5 else ex)


def floor_scaled(coefs: np.ndarray, e: int, margin: float = 0.0) -> np.ndarray:
    """``floor(coefs * 2**e * (1 - margin))`` as int64 (``coefs >= 0``)."""
    vals = np.ldexp(np.asarray(coefs, dtype=float), e)
    if margin:
        vals = vals - vals * margin
    out = np.floor(vals)
    if out.size and (out.max() > 2.0**62 or out.min() < 0):
        raise OverflowError("scaled coefficient out of range")
    return out.astype(np.int64)


def max_activity(coefs: np.ndarray, groups: np.ndarray) -> float:
    """Largest value of ``sum coefs * v`` when at most one variable per group is 1.

    ``coefs >= 0``.  Variables of one group are mutually exclusive (the ``x`` of
    one position, the ``y`` of one boundary); give each free variable a group of
    its own.
    """
    if coefs.size == 0:
        return 0.0
    order = np.lexsort((-coefs, groups))
    g = groups[order]
    first = np.ones(g.size, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    return float(coefs[order][first].sum())


def count_groups(coefs: np.ndarray, groups: np.ndarray) -> int:
    """Number of groups with a non-zero coefficient: how many rounded terms can be active."""
    nz = coefs != 0
    return int(np.unique(groups[nz]).size)


@dataclass(frozen=True)
class ScaledRow:
    """A ``<=`` row scaled to integers (see the module docstring)."""

    coefs: np.ndarray  # int64
    rhs: int
    exponent: int
    #: worst real excess, relative to the limit, beyond the evaluator's threshold
    #: ``limit * (1 + 1e-9)`` of an assignment that satisfies the scaled row
    max_excess: float


def scale_le_row(coefs: np.ndarray, groups: np.ndarray, limit: float) -> ScaledRow | None:
    """Scale ``sum coefs * v <= limit`` into a relaxation with integer coefficients.

    Returns None when the row can never be violated (its largest activity is
    within ``limit``), so that it need not be stated at all.
    """
    act = max_activity(coefs, groups)
    thr = threshold(limit)  # the evaluator's threshold, same float ops
    if act <= limit:
        return None
    if limit <= 0:
        # Nothing with a positive coefficient fits: exact as a 0/1 row.
        return ScaledRow((coefs > 0).astype(np.int64), 0, 0, 0.0)
    terms = count_groups(coefs, groups)
    slack = max(MIN_CONSTRAINT_SLACK, 2.0**-52 * terms)
    top = thr * (1.0 + slack)
    e = min(exponent_for(max(act, top), min(CONSTRAINT_BITS, MAX_BITS)),
            exponent_for(float(np.abs(coefs).sum()) + top, SUM_BITS))
    ic = floor_scaled(coefs, e)
    rhs = int(math.floor(math.ldexp(top, e)))
    worst = math.ldexp(rhs + terms, -e)
    return ScaledRow(ic, rhs, e, max((worst - thr) / limit, 0.0))
