"""Replay of plans against traces (SPEC 7).

:func:`replay` walks a :class:`~placement_opt.trace.Trace` in time order, keeps
the instance snapshot up to date incrementally, lets a policy re-plan, and
simulates make-before-break weight loading.  Every number on the timeline comes
from the evaluator on the snapshot, so a ``static`` replay's latencies equal
``evaluate(snapshot, initial)``.  All choices where the spec is silent are in
``docs/replay.md``.

Modules, from the bottom up:

- :mod:`.snapshots`: the instance as the trace changes it; the trace check;
- :mod:`.coarse`: ``migrate`` mode, a problem whose layers are segments;
- :mod:`.loads`: make-before-break weight loads and resident weights;
- :mod:`.policies`: when to re-plan, one class per policy, chosen by name;
- :mod:`.options`: :class:`ReplayOptions`, every setting, validated;
- :mod:`.planner`: the solver on a snapshot's servable workloads;
- :mod:`.result`: :class:`ReplayResult`, its frames and summary;
- :mod:`.replayer`: the event loop;
- :mod:`.api`: :func:`replay`.
"""

from .api import replay, run_replay
from .coarse import Coarse, coarsen, segments_of
from .loads import Load, plan_load
from .options import DEFAULT_MIGRATION_WEIGHT, DEFAULT_THRESHOLD, DEFAULT_TIME_LIMIT, MODES, ReplayOptions
from .policies import POLICIES, POLICY_CLASSES, REACTIVE_RETRY, Policy, ReplayState
from .result import ReplayResult, weighted_quantile
from .snapshots import Snapshots, check_trace

__all__ = [
    "DEFAULT_MIGRATION_WEIGHT",
    "DEFAULT_THRESHOLD",
    "DEFAULT_TIME_LIMIT",
    "MODES",
    "POLICIES",
    "POLICY_CLASSES",
    "REACTIVE_RETRY",
    "Coarse",
    "Load",
    "Policy",
    "ReplayOptions",
    "ReplayResult",
    "ReplayState",
    "Snapshots",
    "check_trace",
    "coarsen",
    "plan_load",
    "replay",
    "run_replay",
    "segments_of",
    "weighted_quantile",
]
