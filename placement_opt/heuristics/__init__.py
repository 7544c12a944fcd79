"""Heuristic solvers and literature baselines.

- :mod:`.greedy`: the capacity-aware constructive heuristic (``greedy``);
- :mod:`.local_search`: ``local-search``;
- :mod:`.baselines`: the literature baselines, one module each.

Each backend is a row of :data:`placement_opt.backend.BUILTIN_SOLVERS`.
"""
