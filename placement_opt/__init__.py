"""placement_opt: joint placement and partitioning of large AI models across edge networks.

The contract is ``SPEC.md`` (copied into ``docs/``): an instance file, the meaning
of a solution and how every number is computed.

Typical use::

    import placement_opt as po
    problem = po.load_instance("instances/smart-city-s-1.json")
    solution = po.solve(problem, solver="milp", time_limit=60)
    print(po.evaluate(problem, solution).summary())
"""

from .errors import (
    InputError,
    InstanceError,
    Issue,
    PlacementOptError,
    SolutionError,
    SolverError,
    TraceError,
)
from .evaluate import Evaluation, Violation, evaluate
from .instance import OBJECTIVE_TERMS, Instance, instance_json_schema
from .problem import Problem, load_instance, save_instance
from .replay import ReplayOptions, ReplayResult, replay  # replay() shadows its module, as solve does
from .solution import Segment, Solution, SolveStatus, load_solution, save_solution
from .solve import list_solvers, register_solver, solve, solver_info  # solve() shadows its module, as in PyVRP
from .trace import Trace, load_trace
from .versions import __version__

__all__ = [
    "OBJECTIVE_TERMS",
    "Evaluation",
    "InputError",
    "Instance",
    "InstanceError",
    "Issue",
    "PlacementOptError",
    "Problem",
    "ReplayOptions",
    "ReplayResult",
    "Segment",
    "Solution",
    "SolutionError",
    "SolveStatus",
    "SolverError",
    "Trace",
    "TraceError",
    "__version__",
    "Violation",
    "evaluate",
    "instance_json_schema",
    "list_solvers",
    "register_solver",
    "replay",
    "solve",
    "solver_info",
    "load_instance",
    "load_solution",
    "load_trace",
    "save_instance",
    "save_solution",
]
