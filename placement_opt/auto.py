"""``auto``: the exact engine that suits the instance, with a heuristic incumbent.

It runs ``milp`` with its LP pre-pass on (``reduce=True``) and ``polish=True``:

1. one workload under a pure ``bottleneck`` objective (PipeEdge's pipelines):
   the segment program of :mod:`placement_opt.chain`, which usually proves the
   optimum in milliseconds;
2. otherwise greedy, the LP relaxation with its cuts and duals, and a stop as
   soon as the incumbent meets the LP bound (most loose instances end here,
   before any heuristic time is spent);
3. if not, the local search (up to ``milp.solver.POLISH_SHARE`` of the time
   left) for a better incumbent, which also prunes more columns by reduced
   cost, then HiGHS on what is left, warm-started with the best solution.

A user's ``warm_start`` is the first incumbent.  The answer is never worse than
the heuristic's, and ``optimal`` only when proven (see :mod:`placement_opt.milp`).
"""

from __future__ import annotations

from dataclasses import replace

from .backend import RawResult, SolveOptions, solver_info
from .problem import Problem

#: the ``milp`` options ``auto`` runs with
MILP_OPTIONS = {"reduce": True, "polish": True}


def solve_auto(problem: Problem, options: SolveOptions) -> RawResult:
    """The ``auto`` backend (see the module docstring)."""
    milp = solver_info("milp")  # through the solver table: auto does not import milp
    raw = milp.run(problem, replace(options, params=milp.make_params(MILP_OPTIONS)))
    raw.info["engine"] = "milp"
    return raw
