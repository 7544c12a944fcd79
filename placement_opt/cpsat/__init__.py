"""CP-SAT backend (OR-Tools): the layered-graph formulation as a pure 0/1 model.

Importing this package registers the ``cpsat`` solver::

    solve(problem, "cpsat", time_limit=60, threads=2, seed=0)

Layout (after PyJobShop's CP-SAT backend):

- :mod:`.variables`: ``x``/``y``/``z``/``active`` Booleans and complete hints;
- :mod:`.constraints`: SPEC 5 (memory with weights shared through ``z``,
  compute, link capacity over the fixed routes, SLO, ``max_segments``,
  ``one_segment_per_node``; privacy, availability and reachability are
  already excluded by the exact candidate pruning);
- :mod:`.objective`: the six terms of SPEC 6, weighted;
- :mod:`.scaling`: integer scaling and its error bound;
- :mod:`.solver`: :class:`CpsatModel` and the search loop (statuses, no-goods,
  refinement, hints, parameters).

Integer scaling in brief (details in :mod:`.scaling`): every real row gets its
own power-of-two scale and is rounded *down* so that the scaled model is a
relaxation (its ``infeasible`` and its bounds hold for the real problem); every
solution is checked with the evaluator and one that breaks a limit through
rounding is cut off with a no-good.  The objective uses one power-of-two scale
``S``, chosen so that the worst-case rounding (reported in
``info["scaling"]["objective"]``) is at most 1e-5 of a lower bound on the
optimum; ``optimal`` is only reported when the evaluator's objective is within
1e-4 (relative) of the real bound ``B / S``, after re-solving with a finer scale
if needed.  Rows stay within ``2**40``, the objective within ``2**52``.

CP-SAT 9.15 has a presolve bug that can prove a wrong optimum on this very
model (OR-Tools issue #5293, inclusion-based presolve); the backend switches
that presolve step off (``presolve_inclusion_work_limit: 0``), see
:mod:`.solver`.
"""

from .solver import DEFAULT_WORKERS, CpsatModel, CpsatParams, solve_cpsat

#: The registered backend (see :data:`placement_opt.backend.BUILTIN_SOLVERS`).
solve_backend = solve_cpsat

__all__ = ["DEFAULT_WORKERS", "CpsatModel", "CpsatParams", "solve_backend", "solve_cpsat"]
