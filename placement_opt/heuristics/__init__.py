"""Heuristic solvers: registered in the same registry as the exact ones."""

import time

from ..candidates import candidates
from ..solution import SolveStatus
from ..solve import RawResult, SolveOptions, register_solver
from .greedy import Greedy, greedy

__all__ = ["Greedy", "greedy"]


@register_solver("greedy", exact=False,
                 description="capacity-aware constructive heuristic (layered-graph DP per workload)")
def _solve_greedy(problem, options: SolveOptions) -> RawResult:
    t0 = time.perf_counter()
    # Without the SLO path pruning of the candidates: greedy's own SLO repair
    # (a latency-only DP) covers it, and the pruning is a fifth of greedy's time.
    x = greedy(problem, options.previous_keys, candidates(problem, with_paths=False), deadline=options.deadline)
    info = {"time": time.perf_counter() - t0}
    if x is None:
        return RawResult(SolveStatus.NO_SOLUTION, info=info)
    return RawResult(SolveStatus.FEASIBLE, x, info=info)
