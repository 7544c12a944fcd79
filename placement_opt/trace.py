"""Time-varying traces (SPEC 7): events ``time,kind,id,attribute,value``.

Skeleton shared by the replay; the trace helper owns and extends this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

#: Columns of :attr:`Trace.events`, in order.
COLUMNS = ("time", "kind", "id", "attribute", "value")

#: Attributes a trace may change, per kind (SPEC 7).
ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "node": ("utilization", "flops", "available", "memory"),
    "link": ("bandwidth", "latency", "available"),
    "workload": ("rate",),
}


@dataclass(frozen=True)
class Trace:
    """An immutable, time-sorted table of events.

    ``events`` has the columns :data:`COLUMNS`: ``time`` (float64 seconds, >= 0),
    ``kind`` (``node``/``link``/``workload``), ``id`` (str), ``attribute`` (str) and
    ``value`` (float64; ``available`` is 0.0 or 1.0).  Rows are sorted by time,
    stably (file order within one time).  A value holds from its time until the
    next value of the same ``(kind, id, attribute)``.
    """

    events: pd.DataFrame
    source: str | None = None

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any] | tuple], source: str | None = None) -> Trace:
        frame = pd.DataFrame.from_records(list(records), columns=list(COLUMNS))
        frame = frame.astype({"time": "float64", "kind": str, "id": str, "attribute": str, "value": "float64"})
        frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
        return cls(frame, source)

    def __len__(self) -> int:
        return len(self.events)
