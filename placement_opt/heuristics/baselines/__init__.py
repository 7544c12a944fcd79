"""Literature baselines, registered as solvers (see docs/heuristics.md, *Baselines*).

Each baseline first does what its source does; it is then adapted to the spec
only as far as needed to return a feasible solution: workloads are placed one
at a time against residual memory, compute and link capacity
(:class:`~placement_opt.heuristics.baselines.common.Packer`), and where a baseline's
first choice breaks a constraint it takes its next choice of the same kind
(the next split point, the next server).  When it runs out of choices it says
``no_solution``; an array the evaluator finds infeasible is never returned.

- ``device-only``: everything on the workload's source;
- ``edge-only`` / ``cloud-only``: everything on the best single edge / cloud node;
- ``neurosurgeon``: best split point between the source and one server;
- ``even-split``: equal layer counts over the k nodes nearest the source;
- ``memory-proportional``: exo's ring, layer shares in proportion to memory;
- ``edgeshard-dp``: EdgeShard's latency DP over (layer, node) with memory limits;
- ``petals``: Petals' block selection by the servers, then min-latency routing;
- ``random``: seeded random feasible construction, best of N (a floor).

Tiers (device, edge, cloud) are read by
:func:`~placement_opt.heuristics.baselines.common.node_tiers`.
"""
