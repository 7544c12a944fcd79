"""``local-search``: descent over cut points and segment placements.

- :mod:`.search`: the driver (:class:`LocalSearch`, :func:`local_search`);
- :mod:`.state`: incremental bookkeeping of loads, latencies and objective terms;
- :mod:`.moves`: cut shifts, segment moves, splits and swaps, screened in bulk;
- :mod:`.route`: the constrained shortest path of one workload (a segment-level DP);
- :mod:`.reroute`: re-routing moves, evacuation and large-neighbourhood moves;
- :mod:`.start`: the start (greedy, or a repaired warm start);
- :mod:`.recut`: the minimax re-cut post-pass for ``bottleneck`` objectives.
"""

from .search import LocalSearch, LSResult, local_search

__all__ = ["LSResult", "LocalSearch", "local_search"]
