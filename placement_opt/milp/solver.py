"""Solve the MILP with HiGHS.

The model is handed to HiGHS as matrices through highspy
(:mod:`placement_opt.milp.direct`); with user constraints
(``extra_functionality``) it goes through Pyomo's HiGHS interface instead, on
the Pyomo model of :func:`placement_opt.milp.model.to_pyomo`.

HiGHS runs with tolerances tight enough that what it accepts, the evaluator
accepts (1e-9 on the normalised capacity rows), and with a relative gap of 1e-9
unless the user asks for a gap: a status of ``optimal`` is a proof.

Large models are first reduced exactly (:mod:`placement_opt.milp.reduce`): the
LP relaxation's duals prune every column that cannot appear in a solution at
least as good as the incumbent (a warm start, or the MILP over the LP's cheapest
columns).  HiGHS sees only what survives; when the incumbent already meets the
LP bound, HiGHS is not called at all.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.factory import SolverFactory
from pyomo.contrib.solver.common.results import TerminationCondition

from ..backend import RawResult, SolveOptions
from ..candidates import candidates, capacity_free_bound, restrict, transitions_estimate
from ..chain import applies as chain_applies
from ..chain import chain_bound
from ..evaluate import evaluate_array
from ..formulation import Formulation, build_formulation
from ..heuristics.greedy import greedy
from ..heuristics.local_search import local_search
from ..highs import CLOSED_GAP, mip_options
from ..problem import Problem
from ..solution import SolveStatus, relative_gap
from ..symmetry import NodeClasses, node_classes
from ..tolerance import improves, threshold
from ..versions import versions
from .direct import solve_matrices
from .model import MatrixModel, PrunedInfeasible, build_matrix_model, decode, to_pyomo
from .reduce import LPBound, lp_bound
from .variables import Y


@dataclass(frozen=True)
class MilpParams:
    """Options of the ``milp`` solver.

    Attributes
    ----------
    reduce
        The LP pre-pass (bound, leave cuts and reduced-cost fixing): ``"auto"``
        runs it on models of at least ``REDUCE_MIN_COLUMNS`` columns, True
        always, False never.
    symmetry
        Break the symmetry of interchangeable nodes (:mod:`placement_opt.symmetry`).
    chain
        For one workload under a pure ``bottleneck`` objective, first run the
        segment program of :mod:`placement_opt.chain` (a lower bound, and often
        a plan that meets it).
    polish
        When the LP pre-pass does not prove the incumbent optimal, run the
        local search (from scratch: greedy variants and large-neighbourhood
        moves) for up to ``POLISH_SHARE`` of the time left, and keep its answer
        if better.  ``auto`` switches it on.
    highs_options
        Further HiGHS options, applied last.
    extra_functionality
        ``f(model, problem)``, called on the Pyomo model before solving, to add
        constraints of your own (switches off the pruning that an incumbent
        would allow).
    """

    reduce: bool | Literal["auto"] = "auto"
    symmetry: bool = True
    chain: bool = True
    polish: bool = False
    highs_options: Mapping[str, Any] = field(default_factory=dict)
    extra_functionality: Callable[[pyo.ConcreteModel, Problem], None] | None = None


#: below this many columns the LP pre-pass costs more than it saves
REDUCE_MIN_COLUMNS = 4000
#: the first pass without an incumbent keeps columns whose forced LP bound is
#: within this relative distance of the LP bound
NEIGHBOURHOOD = 0.01
#: ... and is solved to this relative gap only: it just needs a good incumbent
NEIGHBOURHOOD_GAP = 1e-3
#: that first pass runs when the incumbent is this far above the LP bound
NEIGHBOURHOOD_TRIGGER = 0.02
#: when greedy finds no incumbent, the local search gets this share of the time
#: left, at most ``SEARCH_SECONDS``
SEARCH_SHARE = 0.1
SEARCH_SECONDS = 10.0
#: share of the time left for ``polish`` (``POLISH_SECONDS`` without a limit)
POLISH_SHARE = 0.1
POLISH_SECONDS = 5.0


def build_model(
    problem: Problem,
    previous_keys: np.ndarray | None = None,
    formulation: Formulation | None = None,
) -> pyo.ConcreteModel:
    """The Pyomo model of a problem (all of SPEC 5 and 6), over every candidate.

    The model is a plain ``ConcreteModel``: add your own variables and
    constraints to it, then call :func:`solve_model`; or pass
    ``extra_functionality=f`` to ``solve(..., solver="milp")``, which calls
    ``f(model, problem)`` before solving.  ``m.x[w, l, i]`` is 1 when layer ``l``
    (0-based) of workload ``w`` runs on node ``i``; see
    :mod:`placement_opt.milp.variables` for the rest, and ``m.term[name]`` for
    the objective terms.
    """
    return to_pyomo(build_matrix_model(problem, previous_keys, formulation))


def _warm_values(m: pyo.ConcreteModel, assignment: np.ndarray, previous_keys) -> list | None:
    """Values of every variable of ``m`` for a flat assignment (None if it is not
    inside the model)."""
    mm: MatrixModel = m._mm
    values = mm.column_values(assignment, previous_keys)
    if values is None or (values[~m._keep] != 0).any():
        return None
    return [(m._vars[c], float(values[c])) for c in np.flatnonzero(m._keep).tolist()]


def solve_model(
    m: pyo.ConcreteModel,
    options: SolveOptions,
    warm_start: np.ndarray | None = None,
    highs_options: Mapping[str, Any] | None = None,
) -> RawResult:
    """Run HiGHS on a model built by :func:`build_model` (possibly extended);
    ``highs_options`` are applied last."""
    values = None if warm_start is None else _warm_values(m, warm_start, options.previous_keys)
    xs = [m._vars[c] for c in m._x_cols.tolist()]
    return run_highs(m, options, xs, lambda vals: decode(m, vals), values, warm_start is not None, highs_options)


def _set_warm_start(opt, values: list) -> bool:
    """Hand a complete solution to HiGHS as its first incumbent."""
    highs = getattr(opt, "_solver_model", None)
    columns = getattr(opt, "_pyomo_var_to_solver_var_map", None)
    if highs is None or columns is None:
        return False
    index = np.fromiter((columns[id(v)] for v, _ in values), dtype=np.int32, count=len(values))
    vals = np.fromiter((x for _, x in values), dtype=float, count=len(values))
    highs.setSolution(len(index), index, vals)
    return True


def _highs_interface():
    opt = SolverFactory("highs")
    updates = opt.config.auto_updates
    # the model does not change between set_instance and solve: skip the re-scan
    for flag in ("check_for_new_or_removed_constraints", "check_for_new_or_removed_vars",
                 "update_constraints", "update_vars", "update_parameters",
                 "update_named_expressions", "check_for_new_objective", "update_objective"):
        setattr(updates, flag, False)
    return opt


def run_highs(
    m: pyo.ConcreteModel,
    options: SolveOptions,
    xs: list,
    decode: Callable[[np.ndarray], np.ndarray],
    warm_values: list | None = None,
    warm_requested: bool = False,
    highs_options: Mapping[str, Any] | None = None,
) -> RawResult:
    """Hand a Pyomo model to HiGHS and translate its answer.

    ``xs`` are the assignment binaries and ``decode`` turns their values into a
    flat node-index array.
    """
    info: dict = {"versions": versions()}
    t0 = time.perf_counter()
    opt = _highs_interface()
    opt.set_instance(m)
    info["transfer_time"] = time.perf_counter() - t0
    if warm_requested:
        used = warm_values is not None and _set_warm_start(opt, warm_values)
        info["warm_start"] = "used" if used else "outside candidates"
    remaining = options.remaining()
    if remaining <= 0:
        return RawResult(SolveStatus.NO_SOLUTION, info={**info, "reason": "time limit reached while building"})
    ours = mip_options(options)
    rel_gap = ours.pop("mip_rel_gap")  # Pyomo's own option sets it
    solver_options = {"random_seed": int(options.seed) % 2147483647, **ours, **dict(highs_options or {})}
    kwargs = dict(
        load_solutions=False,
        raise_exception_on_nonoptimal_result=False,
        rel_gap=rel_gap,
        tee=options.log,
        solver_options=solver_options,
    )
    if np.isfinite(remaining):
        kwargs["time_limit"] = max(0.01, remaining * (1 - TIME_MARGIN_SHARE) - TIME_MARGIN_SECONDS)
    if options.threads is not None:
        kwargs["threads"] = options.threads
    t1 = time.perf_counter()
    results = opt.solve(m, **kwargs)
    info["highs_time"] = time.perf_counter() - t1
    info["termination"] = str(results.termination_condition.name)
    info["mip_nodes"] = getattr(results.extra_info, "mip_node_count", None)
    return _result(m, results, xs, decode, info)


def _result(m, results, xs: list, decode, info: dict) -> RawResult:
    tc = results.termination_condition
    incumbent = results.incumbent_objective
    bound = results.objective_bound
    if tc in (TerminationCondition.provenInfeasible, TerminationCondition.infeasibleOrUnbounded):
        # every variable is bounded and every term is >= 0: "or unbounded" cannot be
        return RawResult(SolveStatus.INFEASIBLE, info=info)
    if tc is TerminationCondition.error:
        return RawResult(SolveStatus.ERROR, info=info)
    if incumbent is None:
        return RawResult(SolveStatus.NO_SOLUTION, bound=bound, info=info)
    primals = results.solution_loader.get_vars(vars_to_load=xs)
    x = decode(np.array([primals[v] for v in xs]))
    gap = relative_gap(incumbent, bound)
    proven = tc is TerminationCondition.convergenceCriteriaSatisfied and gap is not None and gap <= CLOSED_GAP
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    return RawResult(status, x, bound, incumbent, info)



#: above this many candidate transitions the exact model is too large to build:
#: the MILP then runs over the best few nodes per layer (status at most feasible)
MAX_TRANSITIONS = 2_000_000
RESTRICTED_NODES = 10
#: seconds per matrix nonzero to build the Pyomo model and hand it to HiGHS
#: (measured 30-60 us on the 2-core reference machine; the larger is used)
BUILD_SECONDS_PER_NONZERO = 6e-5
#: the same for the matrices handed to highspy directly (:mod:`placement_opt.milp.direct`)
DIRECT_SECONDS_PER_NONZERO = 2e-6
#: HiGHS gets the time left minus this share of it (and ``TIME_MARGIN_SECONDS``)
#: for reading back the answer: its own clock does not cover Pyomo's side
TIME_MARGIN_SHARE = 0.03
TIME_MARGIN_SECONDS = 0.2


def build_seconds(mm: MatrixModel, keep: np.ndarray | None, direct: bool = True) -> float:
    """Estimated seconds to hand the model of ``mm`` to HiGHS (``direct``: as
    matrices, else as a Pyomo model)."""
    nnz = sum(b.col.size if keep is None else int(keep[b.col].sum()) for b in mm.blocks)
    return (DIRECT_SECONDS_PER_NONZERO if direct else BUILD_SECONDS_PER_NONZERO) * nnz


class _Run:
    """State of one MILP solve: the best solution and bound known so far."""

    def __init__(self, problem: Problem, options: SolveOptions, classes: NodeClasses | None = None):
        self.problem = problem
        self.options = options
        self.classes = classes
        self.info: dict = {}
        self.incumbent: tuple[np.ndarray, float] | None = None
        self.bound: float | None = None

    def offer(self, x: np.ndarray | None, source: str) -> None:
        if x is not None and self.classes is not None:
            x = self.classes.canonical(np.asarray(x))  # the symmetry rows admit only canonical plans
        cand = _incumbent(self.problem, x, self.options.previous_keys)
        if cand is not None and (self.incumbent is None or improves(cand[1], self.incumbent[1])):
            self.incumbent = cand
            self.info["incumbent_from"] = source

    def raise_bound(self, bound: float | None) -> None:
        if bound is not None and np.isfinite(bound):
            self.bound = bound if self.bound is None else max(self.bound, bound)

    def proven(self, exact: bool) -> bool:
        """The bound already proves the incumbent optimal (on the exact model)."""
        return exact and self.incumbent is not None and _closed(self.incumbent[1], self.bound)

    def proof(self, reason: str, t0: float) -> RawResult:
        """The incumbent, proven optimal without HiGHS (the bound is capped at
        its objective: a proof within tolerance may leave it a hair above)."""
        assert self.incumbent is not None and self.bound is not None
        self.info.update(proof=reason, build_time=time.perf_counter() - t0)
        x, obj = self.incumbent
        return RawResult(SolveStatus.OPTIMAL, x, min(self.bound, obj), obj, self.info)

    def search(self, cand, seconds: float) -> None:
        """Offer the local search's plan (from scratch, within ``seconds``)."""
        found = local_search(self.problem, None, self.options.previous_keys, self.options.seed,
                             deadline=time.perf_counter() + seconds, cand=cand)
        self.offer(found.x, "local search")

    def fallback(self, reason: str) -> RawResult:
        """Out of time: the best solution so far, honestly labelled."""
        self.info["reason"] = reason
        if self.incumbent is None:
            return RawResult(SolveStatus.NO_SOLUTION, bound=self.bound, info=self.info)
        x, obj = self.incumbent
        return RawResult(SolveStatus.FEASIBLE, x, self.bound, obj, self.info)


def solve_milp(problem: Problem, options: SolveOptions, params: MilpParams | None = None) -> RawResult:
    """Solve ``problem`` with the MILP (see the module docstring)."""
    params = params or MilpParams()
    extra_functionality = params.extra_functionality
    # User constraints may name nodes and cut off any plan of ours, so with them
    # there is no symmetry breaking, no incumbent and no pruning.
    own = extra_functionality is None
    t0 = time.perf_counter()
    classes = node_classes(problem, options.previous_keys) if params.symmetry and own else None
    run = _Run(problem, options, classes)
    info = run.info
    if classes is not None:
        info["symmetric_nodes"] = classes.count
    cand = candidates(problem)
    empty = cand.infeasible_workloads()
    if empty:
        names = ", ".join(problem.workload_ids[w] for w in empty)
        return RawResult(SolveStatus.INFEASIBLE, info={"reason": f"a layer of {names} has no node that can run it"})
    run.raise_bound(capacity_free_bound(problem, cand))
    run.offer(options.warm_start, "warm start")
    if own and params.chain and chain_applies(problem):
        chain = chain_bound(problem, classes or node_classes(problem, options.previous_keys),
                            options.previous_keys, deadline=time.perf_counter() + 0.2 * options.remaining())
        if chain is not None:
            info.update(chain_bound=chain.bound, chain_states=chain.states)
            run.raise_bound(chain.bound)
            run.offer(chain.x, "chain DP")
            if chain.proves and run.incumbent is not None and run.incumbent[1] <= threshold(chain.bound):
                return run.proof("chain DP: its plan meets its lower bound (placement_opt.chain)", t0)
    searched = False
    if run.incumbent is None and own:
        budget = 0.2 * options.remaining()
        run.offer(greedy(problem, options.previous_keys, cand, deadline=time.perf_counter() + budget), "greedy")
    if run.incumbent is None and own:
        # greedy fills nodes one workload at a time and can fail where capacity
        # is tight; the local search constructs and repairs more patiently
        run.search(cand, min(SEARCH_SHARE * options.remaining(), SEARCH_SECONDS))
        searched = True
    exact = transitions_estimate(cand) <= MAX_TRANSITIONS
    if not exact:
        cand = restrict(cand, RESTRICTED_NODES, None if run.incumbent is None else run.incumbent[0])
        info["restricted_to_nodes_per_layer"] = RESTRICTED_NODES
    F = build_formulation(problem, cand)
    mm = build_matrix_model(problem, options.previous_keys, F, classes)
    info.update(matrix_time=time.perf_counter() - t0, columns=mm.cols.size, exact_model=exact)
    keep = None
    reduce = params.reduce
    # user constraints may exclude the incumbent, so no pruning with them
    lp = None
    if own and reduce and (reduce != "auto" or mm.cols.size >= REDUCE_MIN_COLUMNS):
        lp = lp_bound(mm, 0.4 * options.remaining(), options.seed, options.threads)
        if lp is None:
            info["lp"] = "not solved in time"
        else:
            info.update(lp_time=lp.seconds, lp_bound=lp.bound, lp_status=lp.status)
            if exact:
                run.raise_bound(lp.bound)
            info.update(leave_cuts=lp.cuts, cut_rounds=lp.rounds)
            mm = lp.model  # with the cuts the LP needed
    if run.proven(exact):
        return run.proof("the incumbent meets the LP bound", t0)
    if params.polish and own and not searched:
        remaining = options.remaining()
        run.search(cand, POLISH_SHARE * remaining if np.isfinite(remaining) else POLISH_SECONDS)
        if run.proven(exact):
            return run.proof("the incumbent (local search) meets the LP bound", t0)
    if lp is not None:
        inc = run.incumbent
        if inc is None or inc[1] > lp.bound * (1 + NEIGHBOURHOOD_TRIGGER):
            run.offer(_neighbourhood_incumbent(mm, lp, options, info, inc), "LP neighbourhood")
        if run.incumbent is not None:
            keep = lp.keep(run.incumbent[1], mm.cols.integer | (mm.cols.kind == Y))
            info["kept_columns"] = int(keep.sum())
    inc = run.incumbent
    if build_seconds(mm, keep, direct=own) > options.remaining():
        return run.fallback("not enough time left to build the MILP")
    warm = None if inc is None else inc[0]
    t1 = time.perf_counter()
    try:
        if extra_functionality is None:  # (= own, spelt out for the type checker)
            info["build_time"] = t1 - t0
            raw = solve_matrices(mm, keep, options, warm, params.highs_options)
            info["build_time"] += raw.info.get("transfer_time", 0.0)
        else:
            m = to_pyomo(mm, keep)
            extra_functionality(m, problem)
            info["pyomo_time"] = time.perf_counter() - t1
            info["build_time"] = time.perf_counter() - t0
            raw = solve_model(m, options, warm, params.highs_options)
            raw.info.update(variables=m.nvariables(), constraints=m.nconstraints())
    except PrunedInfeasible as exc:
        if keep is None:  # a constraint no candidate can satisfy
            return RawResult(SolveStatus.INFEASIBLE, info={**info, "reason": f"constraint {exc} cannot hold"})
        assert inc is not None  # keep was computed from it
        if not exact:
            return run.fallback("reduced-cost fixing left nothing better than the incumbent")
        run.raise_bound(inc[1])
        return run.proof("reduced-cost fixing left nothing better than the incumbent", t0)
    info.update(raw.info)
    return _combine(run, raw, exact, pruned=keep is not None)


def _closed(objective: float, bound: float | None) -> bool:
    """The bound proves the objective optimal (relative gap within ``CLOSED_GAP``)."""
    gap = relative_gap(objective, bound)
    return gap is not None and gap <= CLOSED_GAP


def _combine(run: _Run, raw: RawResult, exact: bool, pruned: bool) -> RawResult:
    """Merge the MILP's answer with what the run already knows."""
    if raw.status is SolveStatus.INFEASIBLE:
        if exact and not pruned:
            return RawResult(SolveStatus.INFEASIBLE, info=run.info)
        # the incumbent lies inside a pruned model and a restricted model is not
        # the problem: neither proves infeasibility
        return run.fallback("the reduced MILP reported infeasible")
    if raw.status is SolveStatus.ERROR:
        return run.fallback("HiGHS reported an error")
    run.offer(raw.x, "MILP")
    if exact:
        run.raise_bound(raw.bound)
    if run.incumbent is None:
        return RawResult(SolveStatus.NO_SOLUTION, bound=run.bound, info=run.info)
    x, obj = run.incumbent
    optimal = raw.status is SolveStatus.OPTIMAL and exact
    if not optimal and _closed(obj, run.bound):
        optimal = True
    solver_obj = raw.solver_objective if raw.x is not None and np.array_equal(raw.x, x) else obj
    return RawResult(SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE, x, run.bound, solver_obj, run.info)


def _incumbent(problem: Problem, warm: np.ndarray | None, previous_keys) -> tuple[np.ndarray, float] | None:
    if warm is None:
        return None
    ev = evaluate_array(problem, warm, previous_keys)
    return (warm, ev.objective) if ev.feasible else None


def _neighbourhood_incumbent(mm: MatrixModel, lp: LPBound, options: SolveOptions, info: dict,
                             incumbent=None) -> np.ndarray | None:
    """A good first solution: the MILP over the columns whose forced LP bound is
    within ``NEIGHBOURHOOD`` of the LP bound, with part of the time budget."""
    t0 = time.perf_counter()
    near = lp.keep(lp.bound * (1 + NEIGHBOURHOOD), mm.cols.integer | (mm.cols.kind == Y))
    if build_seconds(mm, near) > 0.5 * options.remaining():
        return None
    remaining = options.remaining()
    budget = 0.3 * remaining if np.isfinite(remaining) else 60.0
    sub = SolveOptions(gap=NEIGHBOURHOOD_GAP, threads=options.threads, seed=options.seed,
                       previous_keys=options.previous_keys,
                       log=options.log, deadline=time.perf_counter() + budget)
    try:
        raw = solve_matrices(mm, near, sub, None if incumbent is None else incumbent[0])
    except PrunedInfeasible:
        return None
    info.update(neighbourhood_columns=int(near.sum()), neighbourhood_time=time.perf_counter() - t0,
                neighbourhood_status=raw.status.value)
    return raw.x


def solve_backend(problem: Problem, options: SolveOptions) -> RawResult:
    """The registered ``milp`` backend: :func:`solve_milp` with :class:`MilpParams`."""
    return solve_milp(problem, options, options.params_as(MilpParams))
