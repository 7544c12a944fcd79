"""MILP backend: Pyomo model of the layered-graph formulation, solved by HiGHS.

Importing this package registers the ``milp`` solver.  Use :func:`build_model` to
get the Pyomo model and add your own constraints, either directly and then
:func:`solve_model`, or through ``solve(problem, "milp",
extra_functionality=f)`` where ``f(model, problem)`` is called before solving
(in the spirit of PyPSA's ``extra_functionality``).
"""

from ..solve import RawResult, SolveOptions, register_solver
from .solver import build_model, solve_milp, solve_model

__all__ = ["build_model", "solve_model"]


@register_solver(
    "milp",
    exact=True,
    description="layered-graph MILP over pruned candidates (Pyomo + HiGHS)",
)
def _solve(problem, options: SolveOptions) -> RawResult:
    return solve_milp(problem, options, options.extra.get("extra_functionality"))
