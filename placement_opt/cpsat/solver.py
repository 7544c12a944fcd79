"""Build and solve the CP-SAT model; statuses that tell the truth.

:class:`CpsatModel` holds one CP-SAT model of a problem (variables,
constraints, scaled objective), in the style of PyJobShop's CP-SAT backend.
:func:`solve_cpsat` runs the search loop behind ``solve(problem, "cpsat")``:

1. Candidates and formulation; a position without candidates is ``infeasible``
   at once (the pruning is exact).
2. The LP pre-pass of
   :mod:`placement_opt.cpsat.reduce` (models of at least
   :data:`REDUCE_MIN_COLUMNS` columns, option ``reduce``): the LP relaxation of
   the model's rows gives a Lagrangian bound (reported as the bound when it
   is the best known) and, with an incumbent (warm start, chain DP or
   greedy), fixes by reduced costs every column that no solution at least as
   good as the incumbent can use.  If the bound meets
   the incumbent, it is ``optimal`` at once and no CP-SAT model is built
   (``info["proof"]``); otherwise the fixed columns are fixed in the model.
3. The model, with the objective scale of
   :meth:`placement_opt.cpsat.objective.ObjectiveTerms.initial_exponent`.
4. CP-SAT, hinted with the best known solution (or the warm start).
5. Every solution is checked with the evaluator.  One that breaks a real
   limit through rounding (the scaled rows are relaxations) is cut off with a
   no-good and the search continues.
6. ``optimal`` needs CP-SAT's proof for the scaled objective *and* the
   certificate ``f(x) - B/S <= 1e-4 f(x)`` on the real objective; when the
   proof holds but the certificate does not, the objective is rebuilt with a
   finer scale (hinted with the incumbent), or, at the finest scale allowed,
   the answer is ``feasible`` with the honest bound ``B/S``.
7. A sanity check on the proof: if a known feasible solution (the warm start)
   beats CP-SAT's bound, the proof is wrong (see the presolve bug below); the
   answer is then ``feasible`` with the a-priori bound and a warning in ``info``.

Parameters
----------
``threads -> num_workers``
    Default :data:`DEFAULT_WORKERS` = 1.  On the 2-core machines this project
    targets, one worker was the fastest setting on random 8-12 node
    instances (11 solved instances: 1 worker 10 s in total, 2 workers 16 s,
    2 interleaved workers 56 s): the LP-based default search is what closes
    these models, and it is deterministic.
``seed -> random_seed``; repeatability
    With one worker CP-SAT is deterministic: the same seed gives the same
    answer, unless a *time* limit stops the search (where it stops depends on
    the machine's speed).  With several workers the portfolio is not
    deterministic (thread timing decides which worker's solution is kept; the
    proven optimal *objective* is the same, tied assignments may differ).
    ``solve(..., deterministic=True)`` with several workers switches on
    ``interleave_search``, CP-SAT's deterministic parallel mode; it is
    experimental and, in OR-Tools 9.15, on some small models it keeps running
    after the search has finished until the time limit (without a limit it
    did not stop within 300 s), so only use it with a time limit.
``time_limit -> max_time_in_seconds``
    Set to ``options.remaining()`` before each CP-SAT call, so the limit covers
    building the formulation and the model.  Without a limit none is set.
    ``info`` records ``formulation_time``, ``build_time`` and ``solve_time``.
``gap -> relative_gap_limit``
    CP-SAT then reports OPTIMAL when the gap is reached; we report ``optimal``
    only if the bound actually closed, else ``feasible``.
``log -> log_search_progress``
``presolve_inclusion_work_limit = 0``
    Always set (unless overridden): OR-Tools 9.15 has an open bug (issue
    #5293) in the inclusion-based presolve (``ProcessAtMostOneAndLinear``)
    that removes all optimal solutions of some linear 0/1 models, after which
    CP-SAT "proves" a worse optimum.  ``tests/exact/test_exact.py`` hit it on this
    model (memory seed 3: 0.6129 claimed optimal, true optimum 0.5912; the true
    optimum, given as a complete hint, is reported broken by presolve).  With
    the step off, 300 brute-force-checked instances agree; run times are
    unchanged within noise.
``greedy_hint`` (default True)
    Without a warm start, the greedy heuristic (at most 20 % of the time
    limit) supplies a complete hint and a fallback answer.
``cpsat_parameters``
    (a solver-specific option) a mapping of further ``SatParameters`` fields,
    applied last.  If it fixes the variables to the hint, ``optimal`` and
    ``infeasible`` are reported as ``feasible`` and ``no_solution`` (the
    search was restricted).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from ortools.sat.python import cp_model

from ..backend import RawResult, SolveOptions
from ..candidates import candidates, capacity_free_bound, restrict, transitions_estimate
from ..chain import applies as chain_applies
from ..chain import chain_bound
from ..evaluate import evaluate_array
from ..formulation import Formulation, build_formulation
from ..heuristics.greedy import greedy
from ..problem import Problem
from ..solution import SolveStatus
from ..symmetry import NodeClasses, node_classes
from ..versions import versions
from .constraints import Constraints
from .objective import Objective, ObjectiveTerms
from .reduce import Reduction, reduce_lp, relaxation
from .scaling import OPTIMALITY_RTOL
from .variables import Hint, Layout, Variables, hint_columns

#: Workers when the caller gives no ``threads`` (see the module docstring).
DEFAULT_WORKERS = 1


@dataclass(frozen=True)
class CpsatParams:
    """Options of the ``cpsat`` solver (see the module docstring).

    Attributes
    ----------
    deterministic
        With several workers, CP-SAT's deterministic parallel mode
        (``interleave_search``; use it with a time limit).
    greedy_hint
        Without a warm start, hint the greedy heuristic's answer.
    symmetry
        Break the symmetry of interchangeable nodes (:mod:`placement_opt.symmetry`).
    chain
        For one workload under a pure ``bottleneck`` objective, first run the
        segment program of :mod:`placement_opt.chain`; its plan is optimal when
        it meets its lower bound, else it is the hint.
    reduce
        The LP pre-pass (:mod:`placement_opt.cpsat.reduce`): ``"auto"`` runs it
        on models of at least :data:`REDUCE_MIN_COLUMNS` columns, True always,
        False never.  Without an incumbent it only gives a bound.
    cpsat_parameters
        Further ``SatParameters`` fields, applied last.
    """

    deterministic: bool = False
    greedy_hint: bool = True
    symmetry: bool = True
    chain: bool = True
    reduce: bool | Literal["auto"] = "auto"
    cpsat_parameters: Mapping[str, Any] = field(default_factory=dict)
#: Solutions kept from the callback (newest first), to fall back on if the last one is cut off.
KEEP_SOLUTIONS = 20
#: Safety net against endless no-good / refinement rounds.
MAX_ROUNDS = 200
#: seconds per x/y variable to build the formulation and the CP-SAT model
#: (measured 60-110 us on the 2-core reference machine; the larger is used)
BUILD_SECONDS_PER_VARIABLE = 1.1e-4
#: above this many transition variables the full model is not built: CP-SAT
#: then runs over the most promising nodes per layer (status at most feasible)
MAX_TRANSITIONS = 1_000_000
#: share of the time left that building the model may take
BUILD_SHARE = 0.35
#: CP-SAT gets this share of the time left: on large models its presolve
#: overruns ``max_time_in_seconds`` by seconds
SEARCH_SHARE = 0.85
#: share of the time left the greedy incumbent may take
GREEDY_SHARE = 0.2
#: share of the time left the LP pre-pass may take
LP_SHARE = 0.4
#: with ``reduce="auto"``, the LP pre-pass runs on models with at least this many columns
REDUCE_MIN_COLUMNS = 1000
#: the LP bound alone proves the incumbent optimal when within this relative gap
LP_PROOF_RTOL = 1e-7


def _fit_candidates(problem: Problem, options: SolveOptions, info: dict[str, Any], incumbent):
    """Exact candidates if the model can be built in time, else a restriction.

    Returns ``(candidates, exact)``, or ``(None, False)`` when not even a
    restricted model (two nodes per layer) can be built in the time left.
    """
    cand = candidates(problem)
    positions = problem.flat.size
    budget = BUILD_SHARE * options.remaining()
    limit = min(MAX_TRANSITIONS, budget / BUILD_SECONDS_PER_VARIABLE)
    if transitions_estimate(cand) + positions <= limit:
        return cand, True
    per_layer = int(math.sqrt(max(limit - positions, 0) / max(positions, 1)))
    if per_layer < 2:
        info["reason"] = "not enough time left to build the CP-SAT model"
        return None, False
    per_layer = min(per_layer, 10)
    info["restricted_to_nodes_per_layer"] = per_layer
    return restrict(cand, per_layer, incumbent), False



class CpsatModel:
    """The CP-SAT model of a problem at one objective scale.

    Attributes
    ----------
    model
        The ``cp_model.CpModel``.
    variables, constraints, objective
        The parts (see their modules).
    """

    def __init__(self, F: Formulation, terms: ObjectiveTerms, exponent: int,
                 classes: NodeClasses | None = None):
        self.F = F
        self.terms = terms
        self.model = cp_model.CpModel()
        self.model.name = F.problem.name
        self.variables = Variables(self.model, F, terms.active_nodes)
        self.constraints = Constraints(self.model, F, self.variables, classes.classes if classes else ())
        self.constraints.add_all()
        self.objective = Objective(self.model, terms, self.variables.columns, exponent)
        self.fixed_zero = np.zeros(0, dtype=np.int64)
        self.fixed_one = np.zeros(0, dtype=np.int64)

    def fix(self, zero: np.ndarray, one: np.ndarray) -> None:
        """Fix columns (not model variable indices) to 0 and to 1."""
        domains = self.model.proto.variables
        idx = self.variables.indices
        for c in zero.tolist():
            domains[int(idx[c])].domain[1] = 0
        for c in one.tolist():
            domains[int(idx[c])].domain[0] = 1
        self.fixed_zero, self.fixed_one = zero, one

    # ---------------------------------------------------------------- hints
    def hint(self, assignment: np.ndarray) -> Hint:
        """Hint every variable that the assignment determines (see
        :func:`placement_opt.cpsat.variables.hint_columns`); the objective's
        auxiliaries too when the hint is complete."""
        V = self.variables
        h = hint_columns(V, assignment)
        self.model.clear_hints()
        known = h.values >= 0
        idx = V.indices[known].tolist()
        vals = h.values[known].tolist()
        if h.complete:
            aux = self.objective.aux
            idx += [v.index for v in aux]
            vals += self.objective.aux_hint(h.values)
        proto = self.model.proto.solution_hint
        proto.vars.extend(idx)
        proto.values.extend(vals)
        return h

    def columns_of(self, assignment: np.ndarray) -> np.ndarray | None:
        """Complete 0/1 column vector of an assignment, None if outside the model."""
        h = hint_columns(self.variables, assignment)
        return h.values if h.complete else None

    # ---------------------------------------------------------------- solve
    def solver(self, params: Mapping[str, Any]) -> cp_model.CpSolver:
        s = cp_model.CpSolver()
        for key, value in params.items():
            setattr(s.parameters, key, value)
        return s

    def decode(self, solution) -> tuple[np.ndarray, np.ndarray]:
        """``(assignment, columns)`` from a full CP-SAT solution vector."""
        cols = self.variables.values(solution)
        return self.F.assignment_from_x(cols[: self.F.num_x]), cols


class _Keeper(cp_model.CpSolverSolutionCallback):
    """Keeps the last few solutions CP-SAT reports (column vectors)."""

    def __init__(self, model: CpsatModel):
        super().__init__()
        self._indices = model.variables.indices
        self.solutions: list[np.ndarray] = []

    def on_solution_callback(self) -> None:
        sol = np.asarray(self.response_proto.solution, dtype=np.int64)
        self.solutions.append(sol[self._indices])
        if len(self.solutions) > KEEP_SOLUTIONS:
            del self.solutions[0]


def _parameters(options: SolveOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    workers = options.threads if options.threads is not None else DEFAULT_WORKERS
    params: dict[str, Any] = {
        "num_workers": int(workers),
        "random_seed": int(options.seed) % (2**31),
        "log_search_progress": bool(options.log),
        # Work around OR-Tools issue #5293 (9.15): the inclusion-based presolve
        # (ProcessAtMostOneAndLinear) can remove every optimal solution and
        # CP-SAT then proves a wrong optimum.  It does so on this model (found
        # by tests/exact/test_exact.py); switching it off costs nothing measurable.
        "presolve_inclusion_work_limit": 0,
    }
    own = options.params_as(CpsatParams)
    if workers > 1 and own.deterministic:
        params["interleave_search"] = True
    if options.gap is not None and options.gap > 0:
        params["relative_gap_limit"] = float(options.gap)
    params.update(dict(own.cpsat_parameters))
    deterministic = params["num_workers"] == 1 or bool(params.get("interleave_search", False))
    return params, {"num_workers": params["num_workers"], "deterministic": deterministic}


def solve_cpsat(problem: Problem, options: SolveOptions) -> RawResult:
    """The ``cpsat`` backend (see the module docstring); ``options.params``
    other than :class:`CpsatParams` stand for the defaults."""
    if not isinstance(options.params, CpsatParams):
        options = replace(options, params=CpsatParams())
    t_start = time.perf_counter()
    info: dict[str, Any] = {"ortools": versions()["ortools"]}
    classes = _classes(problem, options)
    if classes is not None:
        info["symmetric_nodes"] = classes.count
        if options.warm_start is not None:  # the symmetry rows admit only canonical plans
            options = replace(options, warm_start=classes.canonical(options.warm_start))
    full = candidates(problem)
    if full.infeasible_workloads():
        return _search(problem, options, full, info, t_start, classes)
    if chain_applies(problem) and options.params_as(CpsatParams).chain:
        chain = chain_bound(problem, classes or node_classes(problem, options.previous_keys), options.previous_keys,
                            deadline=time.perf_counter() + 0.2 * options.remaining())
        if chain is not None and chain.x is not None:
            info.update(chain_bound=chain.bound, chain_states=chain.states)
            if chain.proves and chain.objective is not None:
                info["proof"] = "chain DP: its plan meets its lower bound (placement_opt.chain)"
                return RawResult(SolveStatus.OPTIMAL, chain.x, min(chain.bound, chain.objective), chain.objective,
                                 info)
            if chain.objective is not None and options.warm_start is None:
                x = chain.x if classes is None else classes.canonical(chain.x)
                options = replace(options, warm_start=x)
                info["hint_from"] = "chain DP"
    greedy_x = None
    if options.warm_start is None and options.params_as(CpsatParams).greedy_hint:
        greedy_x = greedy(problem, options.previous_keys, full,
                          deadline=time.perf_counter() + GREEDY_SHARE * options.remaining())
        if greedy_x is not None:
            options = replace(options, warm_start=greedy_x if classes is None else classes.canonical(greedy_x))
            info["hint_from"] = "greedy"
    cand, exact = _fit_candidates(problem, options, info, options.warm_start)
    if exact:
        return _search(problem, options, cand, info, t_start, classes)
    return _restricted(problem, options, cand, info, t_start, capacity_free_bound(problem, full), classes)


def _restricted(problem: Problem, options: SolveOptions, cand, info: dict[str, Any], t_start: float,
                bound: float, classes: NodeClasses | None) -> RawResult:
    """Too large for the exact model: CP-SAT over a restriction of the
    candidates, or just the warm start / greedy when even that cannot be built.
    Status at most ``feasible``; the bound (capacity-free) holds for the whole
    problem."""
    if cand is not None and options.remaining() > 0:
        raw = _search(problem, options, cand, info, t_start, classes, exact=False)
        if raw.x is not None:
            return RawResult(SolveStatus.FEASIBLE, raw.x, bound, raw.solver_objective, raw.info)
    info["solution_from"] = "warm start"
    warm = options.warm_start
    if warm is not None:
        ev = evaluate_array(problem, warm, options.previous_keys)
        if ev.feasible:
            return RawResult(SolveStatus.FEASIBLE, np.asarray(warm, dtype=np.int64), bound, ev.objective, info)
    return RawResult(SolveStatus.NO_SOLUTION, bound=bound, info=info)


def _reduce_wanted(setting: bool | Literal["auto"], F: Formulation) -> bool:
    if setting == "auto":
        return F.num_x + F.num_y + F.num_z >= REDUCE_MIN_COLUMNS
    return bool(setting)


def _reduce(F: Formulation, terms: ObjectiveTerms, classes: NodeClasses | None,
            best: tuple[np.ndarray, float, Any, str] | None, options: SolveOptions,
            info: dict[str, Any]) -> tuple[Reduction, np.ndarray, np.ndarray, np.ndarray | None] | None:
    """The LP pre-pass of :mod:`placement_opt.cpsat.reduce`, before the CP-SAT
    model is built: ``(reduction, columns fixed to 0, columns fixed to 1, the
    incumbent's columns)`` against the incumbent ``best`` (without one: the
    bound only, nothing fixed), or None."""
    layout = Layout(F, terms.active_nodes)
    none = np.zeros(0, dtype=np.int64)
    cols = hint_columns(layout, best[0]) if best is not None else None
    rows = Constraints(None, F, layout, classes.classes if classes else ()).real_rows()
    red = reduce_lp(relaxation(layout, rows, terms), LP_SHARE * options.remaining(), options.seed, options.threads)
    if red is None:
        info["lp"] = "not solved in time"
        return None
    info.update(lp_time=red.seconds, lp_bound=red.bound, lp_status=red.status, lp_rows=red.rows,
                columns=int(layout.num_columns))
    if best is None or cols is None or not cols.complete:  # (incomplete cannot happen: exact candidates)
        return red, none, none, None
    # the evaluator's objective and the model's (equal up to rounding)
    f = max(best[1], terms.real_value(cols.values))
    nc = layout.num_columns
    binary = np.zeros(red.reduced_cost.size, dtype=bool)
    binary[:nc] = True
    one = np.zeros_like(binary)
    one[:nc] = cols.values == 1
    zero, ones = red.fixings(f, binary, one, binary & ~one)
    info.update(fixed_zero=int(zero.size), fixed_one=int(ones.size))
    return red, zero, ones, cols.values


def _classes(problem: Problem, options: SolveOptions) -> NodeClasses | None:
    """Interchangeable nodes, when symmetry breaking is on and there are any."""
    if not options.params_as(CpsatParams).symmetry:
        return None
    classes = node_classes(problem, options.previous_keys)
    return classes if classes.classes else None


def _search(problem: Problem, options: SolveOptions, cand, info: dict[str, Any], t_start: float,
            classes: NodeClasses | None, exact: bool = True) -> RawResult:
    """Build the model over ``cand`` (with the symmetry rows of ``classes``) and
    run the CP-SAT loop; ``exact``: ``cand`` are all the candidates (else the LP
    reduction is skipped: its bound would only hold for the restriction)."""
    prev = options.previous_keys
    F = build_formulation(problem, cand)
    info["formulation_time"] = time.perf_counter() - t_start
    info["num_x"], info["num_y"], info["num_z"] = F.num_x, F.num_y, F.num_z
    empty = F.cand.infeasible_workloads()
    if empty:
        info["reason"] = "no candidate node for some layer of workloads " + ", ".join(
            problem.workload_ids[w] for w in empty)
        info.update(build_time=0.0, solve_time=0.0, rounds=[], no_goods=0, scaling=None)
        return RawResult(SolveStatus.INFEASIBLE, info=info)

    terms = ObjectiveTerms(F, prev)
    lower = terms.lower_bound()
    exponent, e_max, why = terms.initial_exponent(lower)
    params, pinfo = _parameters(options)
    info.update(pinfo)
    restricted = bool(params.get("fix_variables_to_their_hinted_value", False))

    # The best evaluator-feasible solution so far: (assignment, objective, columns or None, origin).
    best: tuple[np.ndarray, float, np.ndarray | None, str] | None = None
    warm = options.warm_start
    if warm is not None and not restricted:
        ev = evaluate_array(problem, warm, prev)
        info["warm_start_feasible"] = ev.feasible
        if ev.feasible:
            best = (np.asarray(warm, dtype=np.int64), ev.objective, None, "warm start")

    bound = lower
    own = options.params_as(CpsatParams)
    fixed = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if exact and not restricted and _reduce_wanted(own.reduce, F):
        reduced = _reduce(F, terms, classes, best, options, info)
        if reduced is not None:
            red, zero, ones, inc_cols = reduced
            bound = max(bound, red.bound)
            fixed = zero, ones
            if best is not None and inc_cols is not None and best[1] - bound <= LP_PROOF_RTOL * abs(best[1]):
                # the LP bound meets the incumbent: no CP-SAT model needed
                info["proof"] = "LP relaxation: its Lagrangian bound meets the incumbent (placement_opt.cpsat.reduce)"
                info.update(build_time=0.0, solve_time=0.0, rounds=[], no_goods=0, cpsat_status=None,
                            lower_bound_a_priori=lower, solution_from=best[3], scaling=None)
                if warm is not None:
                    info["hint"] = hint_columns(Layout(F, terms.active_nodes), warm).info()
                return RawResult(SolveStatus.OPTIMAL, best[0], min(bound, best[1]), terms.real_value(inc_cols), info)

    t_build = time.perf_counter()
    try:
        M = CpsatModel(F, terms, exponent, classes)
    except OverflowError as exc:  # a magnitude guard of .scaling fired
        info.update(error=f"CP-SAT model: {exc}", build_time=time.perf_counter() - t_build, solve_time=0.0)
        return RawResult(SolveStatus.ERROR, info=info)
    M.fix(*fixed)
    build_time = time.perf_counter() - t_build
    info["num_constraints"] = len(M.model.proto.constraints)
    no_goods: list[np.ndarray] = []
    rounds: list[dict[str, Any]] = []
    solve_time = 0.0
    status = None
    hint_info = None
    scaling_rounds = [M.objective.info()]
    final_status: SolveStatus | None = None

    while len(rounds) < MAX_ROUNDS:
        remaining = options.remaining()
        if remaining <= 0:
            info["stopped"] = "time limit (before or between CP-SAT calls)"
            break
        if best is not None:
            hint = M.hint(best[0])
        elif warm is not None:
            hint = M.hint(warm)
        else:
            hint = None
        if hint_info is None and warm is not None:
            hint_info = hint.info() if hint is not None else None
        run = dict(params)
        if math.isfinite(remaining):
            run["max_time_in_seconds"] = float(remaining * SEARCH_SHARE)
        solver = M.solver(run)
        keeper = _Keeper(M)
        code = solver.solve(M.model, keeper)
        solve_time += solver.wall_time
        status = solver.status_name(code)
        entry: dict[str, Any] = {"status": status, "exponent": M.objective.exponent,
                                 "wall_time": solver.wall_time}
        rounds.append(entry)

        if code == cp_model.MODEL_INVALID:
            info["error"] = "CP-SAT: model invalid: " + M.model.validate()
            final_status = SolveStatus.ERROR
            break
        scale = math.ldexp(1.0, M.objective.exponent)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.UNKNOWN) and M.objective.has_objective:
            b = solver.best_objective_bound
            if math.isfinite(b):
                bound = max(bound, b / scale)
                entry["scaled_bound"] = b
        if code == cp_model.INFEASIBLE:
            final_status = SolveStatus.INFEASIBLE
            break
        if code == cp_model.UNKNOWN:
            break  # time limit without a solution in this round
        # OPTIMAL or FEASIBLE: check what CP-SAT found with the evaluator.
        assignment, cols = M.decode(solver.response_proto.solution)
        ev = evaluate_array(problem, assignment, prev)
        if not ev.feasible:
            # Broke a real limit through rounding: cut it off, keep the best
            # earlier solution of this run as incumbent, and search on.
            entry["cut_off"] = [str(v) for v in ev.violations[:3]]
            if not M.constraints.add_no_good(assignment):  # cannot happen: CP-SAT only sets candidate x
                info["error"] = "CP-SAT returned an assignment outside the candidates"
                final_status = SolveStatus.ERROR
                break
            no_goods.append(assignment)
            for older in keeper.solutions[::-1]:
                a = F.assignment_from_x(older[: F.num_x])
                ev_old = evaluate_array(problem, a, prev)
                if ev_old.feasible:
                    if best is None or ev_old.objective < best[1]:
                        best = (a, ev_old.objective, older, "cpsat")
                    break
            continue
        found = (assignment, ev.objective, cols, "cpsat")
        if best is None or found[1] < best[1]:
            best = found
        entry["objective"] = found[1]
        entry["scaled_objective"] = solver.objective_value if M.objective.has_objective else 0
        if code == cp_model.FEASIBLE:
            break  # a limit was hit
        # OPTIMAL for the scaled model (or its relative gap reached)
        closed = (not M.objective.has_objective) or solver.best_objective_bound >= solver.objective_value - 0.5
        if not closed:
            break
        f = best[1]
        if bound > f + 1e-9 * abs(f) + 1e-12:
            # A feasible solution (e.g. the warm start) beats CP-SAT's proven
            # bound: CP-SAT is wrong somewhere (presolve bugs happen); trust
            # nothing it proved in this run.
            info["warning"] = (f"CP-SAT's bound {bound!r} exceeds the objective {f!r} of a feasible "
                               "solution; its proof is ignored")
            bound = lower
            break
        gap = f - bound
        if gap <= OPTIMALITY_RTOL * abs(f):
            final_status = SolveStatus.OPTIMAL
            break
        if options.gap is not None and gap <= options.gap * abs(f):
            break
        finer = terms.refined_exponent(M.objective.exponent, e_max, bound)
        entry["certificate_failed"] = {"objective": f, "bound": bound}
        if finer is None:
            break
        t_build = time.perf_counter()
        fixed = M.fixed_zero, M.fixed_one
        M = CpsatModel(F, terms, finer, classes)
        M.fix(*fixed)
        for a in no_goods:
            M.constraints.add_no_good(a)
        build_time += time.perf_counter() - t_build
        scaling_rounds.append(M.objective.info())

    else:
        info["stopped"] = f"{MAX_ROUNDS} CP-SAT calls"

    # ------------------------------------------------------------ the answer
    if final_status is None:
        final_status = SolveStatus.FEASIBLE if best is not None else SolveStatus.NO_SOLUTION
    if final_status is SolveStatus.INFEASIBLE and best is not None:
        # Cannot happen (no-goods only cut real-infeasible assignments); stay honest.
        info["warning"] = "CP-SAT reported infeasible after a feasible solution was found"
        final_status = SolveStatus.FEASIBLE
    if restricted:
        final_status = {SolveStatus.OPTIMAL: SolveStatus.FEASIBLE,
                        SolveStatus.INFEASIBLE: SolveStatus.NO_SOLUTION}.get(final_status, final_status)
    info.update(
        build_time=build_time,
        solve_time=solve_time,
        rounds=rounds,
        no_goods=len(no_goods),
        cpsat_status=status,
        lower_bound_a_priori=lower,
        scaling={
            "objective": scaling_rounds[-1],
            "objective_rounds": scaling_rounds if len(scaling_rounds) > 1 else None,
            "objective_choice": why,
            "objective_max_exponent": e_max,
            "constraints": M.constraints.scaling,
        },
    )
    if hint_info is not None:
        info["hint"] = hint_info
    if final_status in (SolveStatus.INFEASIBLE, SolveStatus.ERROR) or best is None:
        return RawResult(final_status, bound=None if final_status is not SolveStatus.NO_SOLUTION else bound,
                         info=info)
    assignment, objective, columns, origin = best
    info["solution_from"] = origin
    if columns is None:
        columns = M.columns_of(assignment)
    model_objective = terms.real_value(columns) if columns is not None else None
    return RawResult(final_status, assignment, min(bound, objective), model_objective, info)
