"""Replay of plans against traces (SPEC 7).

Skeleton of the result type shared with ``placement_opt.plot``; the replay
helper owns and extends this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .solution import Solution


@dataclass(frozen=True)
class ReplayResult:
    """What :func:`replay` returns.

    Attributes
    ----------
    timeline
        One row per (decision time, workload): ``time, workload, latency, up, slo_ok``
        (``latency`` is ``inf`` while the workload is down).
    utilization
        One row per (decision time, element): ``time, kind ('node'|'link'), id, utilization``.
    plans
        ``(time, Solution)`` for the initial plan and every plan put in service.
    events
        One row per notable event: ``time, event, id, detail`` where ``event`` is one of
        ``replan`` (id = policy trigger), ``failure``/``recovery`` (id = node or link id,
        detail = ``node``/``link``), ``load_complete`` (id = workload).
    migrations
        One row per weight load: ``start, end, model, layer, node, source, bytes``.
    summary
        ``mean_latency, p95_latency, downtime, slo_miss_time, replans, bytes_migrated,
        decision_time_mean, decision_time_max`` and more.
    """

    timeline: pd.DataFrame
    utilization: pd.DataFrame
    plans: list[tuple[float, Solution]]
    events: pd.DataFrame
    migrations: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)
