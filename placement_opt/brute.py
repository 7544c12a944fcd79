"""Brute force: enumerate every assignment of a tiny instance.

The reference that the exact solvers are tested against.  It shares nothing
with them but the evaluator: for each workload it lists every node tuple over
nodes that can host, drops tuples that are infeasible for that workload alone
(sound, because every load only grows when other workloads are added), then
scores every combination across workloads with the evaluator.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .backend import RawResult, SolveOptions
from .errors import SolverError
from .evaluate import evaluate_array
from .problem import Problem
from .solution import SolveStatus

DEFAULT_LIMIT = 200_000


@dataclass(frozen=True)
class BruteForceParams:
    """Options of ``brute-force``: ``limit``, the most combinations it enumerates."""

    limit: int = DEFAULT_LIMIT


def _single_workload(problem: Problem, w: int) -> Problem:
    inst = problem.instance.model_copy(update={"workloads": (problem.workloads[w],)})
    return Problem(inst, problem.source)


def _feasible_paths(problem: Problem, w: int, limit: int) -> list[tuple[int, ...]]:
    hosts = np.flatnonzero(problem.can_host).tolist()
    length = int(problem.flat.length[w])
    if len(hosts) ** length > limit:
        raise SolverError(
            f"brute force: workload {problem.workload_ids[w]!r} alone has "
            f"{len(hosts)}^{length} assignments, more than the limit {limit}"
        )
    sub = _single_workload(problem, w)
    out = []
    for path in itertools.product(hosts, repeat=length):
        if evaluate_array(sub, np.asarray(path, dtype=np.int64)).feasible:
            out.append(path)
    return out


def solve_brute_force(problem: Problem, options: SolveOptions) -> RawResult:
    """Enumerate every combination of feasible single-workload paths."""
    limit = options.params_as(BruteForceParams).limit
    paths = [_feasible_paths(problem, w, limit) for w in range(problem.num_workloads)]
    total = math.prod(len(p) for p in paths)
    if total > limit:
        raise SolverError(f"brute force: {total} combinations, more than the limit {limit}")
    best_x, best_obj, complete = None, math.inf, True
    for count, combo in enumerate(itertools.product(*paths)):
        if count % 256 == 0 and options.remaining() <= 0:
            complete = False
            break
        x = np.fromiter(itertools.chain.from_iterable(combo), dtype=np.int64, count=problem.flat.size)
        ev = evaluate_array(problem, x, options.previous_keys)
        if ev.feasible and ev.objective < best_obj:
            best_x, best_obj = x, ev.objective
    info = {"combinations": total}
    if best_x is None:
        status = SolveStatus.INFEASIBLE if complete else SolveStatus.NO_SOLUTION
        return RawResult(status, info=info)
    status = SolveStatus.OPTIMAL if complete else SolveStatus.FEASIBLE
    return RawResult(status, best_x, best_obj if complete else None, best_obj, info)
