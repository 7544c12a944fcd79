"""MILP backend: Pyomo model of the layered-graph formulation, solved by HiGHS.

Importing this package registers the ``milp`` solver.  Use :func:`build_model` to
get the Pyomo model and add your own constraints, either directly and then
:func:`solve_model`, or through ``solve(problem, "milp",
extra_functionality=f)`` where ``f(model, problem)`` is called before solving
(in the spirit of PyPSA's ``extra_functionality``).
"""

from .solver import MilpParams, build_model, solve_backend, solve_milp, solve_model

__all__ = ["MilpParams", "build_model", "solve_backend", "solve_milp", "solve_model"]
