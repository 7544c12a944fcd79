"""Time-varying traces (SPEC 7): events ``time,kind,id,attribute,value``.

A :class:`Trace` is an immutable, time-sorted table of events.  Read one from the
long CSV format with :func:`load_trace` (every row is checked, every problem is
reported with its line number), build one in Python with
:meth:`Trace.from_records` and check it with :meth:`Trace.validate`, write it with
:meth:`Trace.to_csv`.  Traces can be cut, shifted, concatenated and merged.

Choices where the spec is silent are listed in ``docs/traces.md``.  In short:

* a trace covers ``[0, duration)``; ``duration`` is the explicit ``end`` when the
  trace has one (builders and :meth:`Trace.cut` set it; a CSV can carry it as a
  leading ``# end: <seconds>`` comment line), otherwise the time of its last event;
* two rows with the same ``(time, kind, id, attribute)`` in a file are an error;
* files need not be sorted by time: rows are sorted stably on loading.
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import Issue, TraceError, did_you_mean
from .files import write_atomically
from .instance import AMOUNT, FRACTION, POSITIVE, Range

if TYPE_CHECKING:  # pragma: no cover
    from .problem import Problem

#: Columns of :attr:`Trace.events`, in order.
COLUMNS = ("time", "kind", "id", "attribute", "value")

#: Attributes a trace may change, per kind (SPEC 7).
ATTRIBUTES: Mapping[str, tuple[str, ...]] = {
    "node": ("utilization", "flops", "available", "memory"),
    "link": ("bandwidth", "latency", "available"),
    "workload": ("rate",),
}

#: Allowed values per attribute (the instance schema's rules), as (text, test).
#: The range of every attribute a trace may set: the instance file's own
#: (:mod:`placement_opt.instance`), so a replayed value can never overflow
#: where a loaded one could not.
VALUE_RANGES: Mapping[str, Range] = {
    "utilization": FRACTION,
    "flops": AMOUNT,
    "memory": AMOUNT,
    "bandwidth": POSITIVE,
    "latency": AMOUNT,
    "rate": AMOUNT,
    "available": Range(0, 1),
}

_VALUE_HINTS = {"bandwidth": "a link with no bandwidth is down: set its 'available' to 0 instead"}

#: Spellings of ``available`` accepted in a CSV file (case-insensitive).
BOOL_WORDS: Mapping[str, float] = {"true": 1.0, "false": 0.0}

#: At most this many problems are collected before validation stops.
MAX_ISSUES = 100

KEY = ["kind", "id", "attribute"]
_END_COMMENT = re.compile(r"^#\s*end\s*[:=]\s*(\S+)\s*$", re.IGNORECASE)


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({"time": pd.Series(dtype="float64"), "kind": pd.Series(dtype=str),
                         "id": pd.Series(dtype=str), "attribute": pd.Series(dtype=str),
                         "value": pd.Series(dtype="float64")})


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns in order, the documented dtypes, sorted stably by time, fresh index."""
    if frame.empty:
        return _empty_events()
    frame = frame.loc[:, list(COLUMNS)].astype(
        {"time": "float64", "kind": str, "id": str, "attribute": str, "value": "float64"})
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class Trace:
    """An immutable, time-sorted table of events.

    ``events`` has the columns :data:`COLUMNS`: ``time`` (float64 seconds, >= 0),
    ``kind`` (``node``/``link``/``workload``), ``id`` (str), ``attribute`` (str) and
    ``value`` (float64; ``available`` is 0.0 or 1.0).  Rows are sorted by time,
    stably (file order within one time).  A value holds from its time until the
    next value of the same ``(kind, id, attribute)``.

    Attributes
    ----------
    events
        The event table (treat as read-only).
    source
        File or builder the trace came from, if any.
    end
        Time at which the trace ends (exclusive), or None: then the trace ends at
        its last event.  See :attr:`duration`.
    """

    events: pd.DataFrame
    source: str | None = None
    end: float | None = None

    # ----------------------------------------------------------------- build
    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any] | tuple], source: str | None = None,
                     end: float | None = None) -> Trace:
        """Build a trace from ``(time, kind, id, attribute, value)`` tuples or dicts.

        The rows are sorted stably by time; nothing else is checked (call
        :meth:`validate`).
        """
        frame = pd.DataFrame.from_records(list(records), columns=list(COLUMNS))
        return cls(_normalise(frame), source, None if end is None else float(end))

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, source: str | None = None, end: float | None = None) -> Trace:
        """Build a trace from a DataFrame with (at least) the columns :data:`COLUMNS`."""
        return cls(_normalise(frame), source, None if end is None else float(end))

    def __len__(self) -> int:
        return len(self.events)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trace):
            return NotImplemented
        return self.duration == other.duration and self.events.equals(other.events)

    __hash__ = None  # type: ignore[assignment]  # holds a DataFrame

    def __repr__(self) -> str:
        return f"Trace({len(self)} events, duration {self.duration:g} s, source={self.source!r})"

    # ------------------------------------------------------------- queries
    @property
    def duration(self) -> float:
        """Length of the trace in seconds: it covers ``[0, duration)``.

        The explicit :attr:`end` when set, otherwise the time of the last event
        (0 for an empty trace).
        """
        if self.end is not None:
            return float(self.end)
        return float(self.events["time"].iloc[-1]) if len(self.events) else 0.0

    def times(self) -> np.ndarray:
        """The distinct event times, ascending."""
        return np.unique(self.events["time"].to_numpy())

    def values_at(self, time: float) -> dict[tuple[str, str, str], float]:
        """The value in effect at ``time`` of every attribute set at or before it.

        Returns ``{(kind, id, attribute): value}``; attributes the trace has not
        set yet keep the instance's value and are absent.
        """
        before = self.events[self.events["time"] <= time]
        last = before.drop_duplicates(KEY, keep="last")
        return {(k, i, a): float(v) for k, i, a, v in
                zip(last["kind"], last["id"], last["attribute"], last["value"], strict=True)}

    # ---------------------------------------------------------- transforms
    def cut(self, start: float, end: float | None = None) -> Trace:
        """The part ``[start, end)`` of the trace, re-based to start at time 0.

        Every attribute set before ``start`` and not set again exactly at
        ``start`` is carried in: an event at time 0 holds the value in effect at
        ``start``.  The result's ``end`` is ``end - start`` (or, with ``end``
        None, this trace's explicit end minus ``start``, or None).

        Raises
        ------
        ValueError
            If ``start`` is negative or not finite, or ``end < start``.
        """
        _check_time(start, "start")
        if end is not None:
            _check_time(end, "end")
            if end < start:
                raise ValueError(f"cut: end {end!r} is before start {start!r}")
        ev = self.events
        t = ev["time"]
        inside = ev[(t >= start) & (t < end)] if end is not None else ev[t >= start]
        carried = ev[t < start].drop_duplicates(KEY, keep="last")
        set_at_start = _keys(inside[inside["time"] == start])
        carried = carried[~_keys(carried).isin(set_at_start)].assign(time=float(start))
        frame = pd.concat([carried, inside], ignore_index=True)
        frame = frame.assign(time=frame["time"] - start)
        if end is not None:
            new_end: float | None = float(end - start)
        else:
            new_end = None if self.end is None else max(float(self.end) - start, 0.0)
        return Trace(_normalise(frame), self.source, new_end)

    def shift(self, dt: float) -> Trace:
        """The trace delayed by ``dt`` seconds (every event and the end move).

        Raises
        ------
        ValueError
            If an event would move before time 0, or ``dt`` is not finite.
        """
        if not math.isfinite(dt):
            raise ValueError(f"shift: dt must be finite, got {dt!r}")
        if len(self.events) and float(self.events["time"].iloc[0]) + dt < 0:
            raise ValueError(f"shift: dt {dt!r} moves the first event "
                             f"(time {self.events['time'].iloc[0]!r}) before time 0")
        new_end = None if self.end is None else float(self.end) + dt
        if new_end is not None and new_end < 0:
            raise ValueError(f"shift: dt {dt!r} moves the end before time 0")
        return Trace(self.events.assign(time=self.events["time"] + dt), self.source, new_end)

    def compact(self, problem: Problem | None = None) -> Trace:
        """Drop events that do not change the value in effect.

        An event is redundant when the previous event of the same attribute had
        the same value, or, with ``problem``, when it is the attribute's first
        event and equals the instance's value.
        """
        ev = self.events
        if ev.empty:
            return self
        previous = ev.groupby(KEY, sort=False)["value"].shift(1)
        if problem is not None:
            first = previous.index[previous.isna().to_numpy()]
            initial = [_instance_value(problem, ev.at[k, "kind"], ev.at[k, "id"], ev.at[k, "attribute"])
                       for k in first]
            previous = previous.fillna(pd.Series(initial, index=first, dtype="float64"))
        keep = ~(ev["value"] == previous)
        return Trace(ev[keep].reset_index(drop=True), self.source, self.end)

    @staticmethod
    def concat(*traces: Trace) -> Trace:
        """The traces one after another: each starts at the sum of the previous durations.

        Where an event of a later trace has the same ``(time, kind, id,
        attribute)`` as one of an earlier trace (possible when the earlier trace
        has no explicit end), the later one wins.  The result's ``end`` is the sum
        of the durations.
        """
        offset = 0.0
        frames = []
        for trace in traces:
            frames.append(trace.events.assign(time=trace.events["time"] + offset))
            offset += trace.duration
        frame = pd.concat(frames, ignore_index=True) if frames else _empty_events()
        frame = frame.drop_duplicates(["time", *KEY], keep="last")
        sources = [t.source for t in traces if t.source]
        return Trace(_normalise(frame), " + ".join(sources) or None, offset)

    def __add__(self, other: Trace) -> Trace:
        if not isinstance(other, Trace):
            return NotImplemented
        return Trace.concat(self, other)

    @staticmethod
    def merge(*traces: Trace) -> Trace:
        """The traces overlaid on one timeline (events of all, sorted stably by time).

        Where two traces have an event with the same ``(time, kind, id,
        attribute)``, the later trace wins.  The result ends at the largest
        duration.
        """
        frames = [t.events for t in traces]
        frame = pd.concat(frames, ignore_index=True) if frames else _empty_events()
        frame = frame.drop_duplicates(["time", *KEY], keep="last")
        sources = [t.source for t in traces if t.source]
        end = max((t.duration for t in traces), default=0.0)
        return Trace(_normalise(frame), " | ".join(sources) or None, end)

    # ------------------------------------------------------- check and save
    def validate(self, problem: Problem | None = None) -> Trace:
        """Check every event; return the trace itself when it is valid.

        Checks times (finite, >= 0), kinds, attributes, values (the instance
        schema's rules; NaN and infinities refused), duplicate ``(time, kind, id,
        attribute)`` rows and, with ``problem``, that every id exists.

        Raises
        ------
        TraceError
            Listing every problem (up to :data:`MAX_ISSUES`), each as
            ``events[k].column``.
        """
        ev = self.events
        issues = _check_events(ev, labels=None, problem=problem)
        if issues:
            raise TraceError(issues, self.source)
        return self

    def to_csv(self, path: str | os.PathLike) -> None:
        """Write the trace as CSV, atomically; :func:`load_trace` reads it back equal.

        An explicit :attr:`end` is written as a leading ``# end: <seconds>`` line.
        """
        write_atomically(path, self.to_csv_text())

    def to_csv_text(self) -> str:
        """The CSV text that :meth:`to_csv` writes."""
        head = f"# end: {self.end!r}\n" if self.end is not None else ""
        return head + self.events.to_csv(index=False, lineterminator="\n")


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


def load_trace(path: str | os.PathLike, problem: Problem | None = None) -> Trace:
    """Read a trace CSV ``time,kind,id,attribute,value`` and check every row.

    Parameters
    ----------
    path
        The CSV file.  A header row naming the five columns (in any order) comes
        first, optionally preceded by ``#`` comment lines; ``# end: <seconds>``
        sets the trace's explicit end.  Blank lines are ignored.  ``available``
        takes ``0``/``1``/``true``/``false``.
    problem
        When given, every id must exist in the instance (nodes, links by their
        resolved id, workloads).

    Raises
    ------
    TraceError
        Naming the file and, for every problem found (up to :data:`MAX_ISSUES`),
        the line number, the column and what is wrong.
    """
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(Issue("", f"cannot read the file: {exc}"), name) from None
    issues: list[Issue] = []
    fast = _read_fast(text)
    if fast is not None:
        table, lines, end = fast
    else:
        rows, lines, end = _read_rows(text, issues)
        if rows is None:
            raise TraceError(issues, name)
        table = pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)
    frame, bad_parse = _parse_columns(table, lines, issues, strip=fast is None)
    issues += _check_events(frame, labels=lines, problem=problem, skip=bad_parse,
                            budget=MAX_ISSUES - len(issues))
    if issues:
        issues.sort(key=lambda i: math.inf if i.line is None else i.line)
        raise TraceError(_capped(issues), name)
    return Trace(_normalise(frame), name, end)


def _read_fast(text: str) -> tuple[pd.DataFrame, np.ndarray, float | None] | None:
    """The common case through pandas' C parser: comment lines, then the exact
    header, then rows of five fields, no blank lines, no quotes.  Returns None
    for anything else (the careful reader then reports line by line)."""
    lines = text.split("\n", 64)
    skip = 0
    end: float | None = None
    while skip < len(lines) - 1 and lines[skip].lstrip().startswith("#"):
        match = _END_COMMENT.match(lines[skip].strip())
        if match:
            try:
                end = float(match.group(1))
            except ValueError:
                return None
            if not (math.isfinite(end) and end >= 0):
                return None
        skip += 1
    if lines[skip].strip() != ",".join(COLUMNS) or '"' in text or "\r" in text:
        return None
    body = text.split("\n", skip + 1)[-1] if skip + 1 <= text.count("\n") else ""
    if "\n\n" in body or body.startswith("\n"):
        return None
    try:
        table = pd.read_csv(io.StringIO(body), header=None, names=list(COLUMNS), dtype=object,
                            na_filter=False, skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, ValueError):
        return None
    if table.isna().to_numpy().any() or (len(table) and (table["value"] == "").any()):
        return None
    if any((table[c].str.strip() != table[c]).any() for c in COLUMNS):
        return None
    return table, np.arange(len(table), dtype=int) + skip + 2, end


def _read_rows(text: str, issues: list[Issue]) -> tuple[list[list[str]] | None, np.ndarray, float | None]:
    """Split the CSV into data rows (in :data:`COLUMNS` order) with their line
    numbers; rows is None when the file is unusable."""
    reader = csv.reader(io.StringIO(text))
    end: float | None = None
    header: list[str] | None = None
    nothing = np.array([], dtype=int)
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if fields[0].lstrip().startswith("#"):
                end = _end_comment(",".join(fields), reader.line_num, issues, end)
                continue
            header = [f.strip() for f in fields]
            if not _header_ok(header, reader.line_num, issues):
                return None, nothing, end
            break
        rows: list[list[str]] = []
        lines: list[int] = []
        width = len(COLUMNS)
        for fields in reader:
            if len(fields) == width:
                rows.append(fields)
                lines.append(reader.line_num)
            elif fields and not (len(fields) == 1 and not fields[0].strip()):
                issues.append(Issue("", f"expected {width} fields, found {len(fields)}",
                                    "columns are " + ",".join(COLUMNS), line=reader.line_num))
    except csv.Error as exc:
        issues.append(Issue("", f"malformed CSV: {exc}", line=reader.line_num))
        return None, nothing, end
    if header is None:
        issues.append(Issue("", "the file has no header", "the first line must be " + ",".join(COLUMNS)))
        return None, nothing, end
    order = [header.index(c) for c in COLUMNS]
    if order != list(range(width)):
        rows = [[r[k] for k in order] for r in rows]
    return rows, np.asarray(lines, dtype=int), end


def _end_comment(text: str, line: int, issues: list[Issue], end: float | None) -> float | None:
    match = _END_COMMENT.match(text.strip())
    if not match:
        return end
    try:
        value = float(match.group(1))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        issues.append(Issue("end", f"end {match.group(1)!r} is not a finite number >= 0", line=line))
        return end
    return value


def _header_ok(header: list[str], line: int, issues: list[Issue]) -> bool:
    missing = [c for c in COLUMNS if c not in header]
    extra = [c for c in header if c not in COLUMNS]
    dup = sorted({c for c in header if header.count(c) > 1})
    for c in extra:
        hint = did_you_mean(c, COLUMNS) or "columns are " + ",".join(COLUMNS)
        issues.append(Issue(c, f"unknown column {c!r}", hint, line=line))
    for c in missing:
        issues.append(Issue(c, f"missing column {c!r}", "the header must be " + ",".join(COLUMNS), line=line))
    for c in dup:
        issues.append(Issue(c, f"column {c!r} appears twice", line=line))
    return not (missing or extra or dup)


def _parse_columns(table: pd.DataFrame, lines: np.ndarray, issues: list[Issue],
                   strip: bool = True) -> tuple[pd.DataFrame, np.ndarray]:
    """Turn the text rows into typed columns; report unparsable times and values.

    Returns the frame (NaN where a number did not parse) and a mask of the rows
    already reported, which the range checks skip.
    """
    if table.empty:
        table = pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    raw = {c: table[c].astype(object).str.strip() if strip and len(table) else table[c] for c in COLUMNS}
    time = pd.to_numeric(raw["time"], errors="coerce").astype("float64")
    is_bool_attr = raw["attribute"] == "available"
    words = raw["value"].str.lower().map(BOOL_WORDS)
    value = pd.to_numeric(raw["value"], errors="coerce").astype("float64")
    value = value.where(~(is_bool_attr & words.notna()), words)
    bad = np.zeros(len(table), dtype=bool)
    for col, parsed in (("time", time), ("value", value)):
        unparsed = parsed.isna() & ~raw[col].str.lower().isin(["nan", "+nan", "-nan"])
        for k in np.flatnonzero(unparsed.to_numpy())[:MAX_ISSUES]:
            text = raw[col].iloc[k]
            what = "is empty" if text == "" else f"{text!r} is not a number"
            if col == "value" and raw["attribute"].iloc[k] == "available":
                what += " (available takes 0, 1, true or false)"
            issues.append(Issue(col, f"{col} {what}", line=int(lines[k])))
        bad |= unparsed.to_numpy()
    frame = pd.DataFrame({"time": time, "kind": raw["kind"].astype(str), "id": raw["id"].astype(str),
                          "attribute": raw["attribute"].astype(str), "value": value})
    return frame, bad


# --------------------------------------------------------------------------- #
# Checking
# --------------------------------------------------------------------------- #


def _check_events(ev: pd.DataFrame, labels: np.ndarray | None, problem: Problem | None,
                  skip: np.ndarray | None = None, budget: int = MAX_ISSUES) -> list[Issue]:
    """Every problem of an event table, in row order, up to ``budget``.

    ``labels`` are file line numbers (issues name the column and line) or None
    (issues name ``events[k].column``).
    """
    n = len(ev)
    skip = np.zeros(n, dtype=bool) if skip is None else skip
    found: list[tuple[int, str, str, str | None]] = []  # (row, column, message, hint)
    time = ev["time"].to_numpy(dtype=float)
    value = ev["value"].to_numpy(dtype=float)
    kind, ids, attr = (ev[c].astype(str) for c in ("kind", "id", "attribute"))

    bad_time = ~skip & ~(np.isfinite(time) & (time >= 0))
    for k in np.flatnonzero(bad_time)[:budget + 1]:
        found.append((k, "time", f"time {float(time[k])!r} must be a finite number >= 0", None))

    bad_kind = ~kind.isin(list(ATTRIBUTES)).to_numpy()
    for k in np.flatnonzero(bad_kind)[:budget + 1]:
        found.append((k, "kind", f"unknown kind {kind.iloc[k]!r}",
                      did_you_mean(kind.iloc[k], ATTRIBUTES) or "kinds are " + ", ".join(ATTRIBUTES)))

    ok_attr = np.zeros(n, dtype=bool)
    for kname, allowed in ATTRIBUTES.items():
        ok_attr |= ((kind == kname) & attr.isin(list(allowed))).to_numpy()
    for k in np.flatnonzero(~bad_kind & ~ok_attr)[:budget + 1]:
        found.append((k, "attribute", f"{attr.iloc[k]!r} is not an attribute of a {kind.iloc[k]}",
                      _attribute_hint(kind.iloc[k], attr.iloc[k])))

    for aname, bounds in VALUE_RANGES.items():
        rows = np.flatnonzero(ok_attr & (attr == aname).to_numpy() & ~skip)
        for k in rows.tolist():
            x = float(value[k])
            if not np.isfinite(x):
                message = f"{aname} {x!r} must be finite (NaN and infinities are refused)"
            elif aname == "available" and x not in (0.0, 1.0):
                message = f"available {x!r} must be 0 or 1 (or true/false)"
            elif (rule := bounds.violated(x)) is not None:
                message = f"{aname} {x!r} must be {rule} (allowed: {bounds.text})"
            else:
                continue
            found.append((k, "value", message, _VALUE_HINTS.get(aname) if np.isfinite(x) else None))
            if len(found) > budget:
                break

    for k in np.flatnonzero((ids == "").to_numpy())[:budget + 1]:
        found.append((k, "id", "id is empty", None))
    if problem is not None:
        found += _unknown_ids(kind, ids, problem, budget)
    found += _duplicates(ev, labels, budget)

    found.sort(key=lambda f: f[0])
    return [_issue(labels, *f) for f in found[:budget]] + (
        [Issue("", f"stopped after {budget} problems")] if len(found) > budget else [])


def _attribute_hint(kind: str, attribute: str) -> str:
    allowed = ATTRIBUTES[kind]
    owners = [k for k, attrs in ATTRIBUTES.items() if attribute in attrs]
    if owners:
        return f"{attribute!r} is a {owners[0]} attribute; {kind} attributes are " + ", ".join(allowed)
    return did_you_mean(attribute, allowed) or f"{kind} attributes are " + ", ".join(allowed)


def _unknown_ids(kind: pd.Series, ids: pd.Series, problem: Problem,
                 budget: int) -> list[tuple[int, str, str, str | None]]:
    known = {"node": problem.node_ids, "link": problem.link_ids, "workload": problem.workload_ids}
    found: list[tuple[int, str, str, str | None]] = []
    for kname, names in known.items():
        rows = ((kind == kname) & ~ids.isin(list(names)) & (ids != "")).to_numpy()
        for k in np.flatnonzero(rows)[:budget + 1]:
            found.append((k, "id", f"unknown {kname} {ids.iloc[k]!r}",
                          did_you_mean(ids.iloc[k], names) or _known(kname, names)))
    return found


def _known(kname: str, names: Sequence[str]) -> str:
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return f"the instance has {len(names)} {kname}s: {shown}"


def _duplicates(ev: pd.DataFrame, labels: np.ndarray | None,
                budget: int) -> list[tuple[int, str, str, str | None]]:
    dup = ev.duplicated(["time", *KEY], keep=False).to_numpy()
    if not dup.any():
        return []
    rows = np.flatnonzero(dup)
    first: dict[tuple, int] = {}
    found: list[tuple[int, str, str, str | None]] = []
    for k in rows.tolist():
        key = (float(ev["time"].iat[k]), ev["kind"].iat[k], ev["id"].iat[k], ev["attribute"].iat[k])
        if key not in first:
            first[key] = k
            continue
        where = f"line {labels[first[key]]}" if labels is not None else f"events[{first[key]}]"
        found.append((k, "time", f"{key[1]} {key[2]!r} {key[3]} is set twice at time {key[0]!r} (also {where})",
                      "keep one value per (time, kind, id, attribute)"))
        if len(found) >= budget:
            break
    return found


def _issue(labels: np.ndarray | None, row: int, column: str, message: str, hint: str | None) -> Issue:
    if labels is None:
        return Issue(f"events[{row}].{column}", message, hint)
    return Issue(column, message, hint, line=int(labels[row]))


def _capped(issues: Sequence[Issue]) -> list[Issue]:
    if len(issues) <= MAX_ISSUES:
        return list(issues)
    return list(issues[:MAX_ISSUES]) + [Issue("", f"stopped after {MAX_ISSUES} problems")]


def _keys(frame: pd.DataFrame) -> pd.Series:
    """One hashable key per row: (kind, id, attribute) joined."""
    return frame["kind"].astype(str) + "\x1f" + frame["id"].astype(str) + "\x1f" + frame["attribute"].astype(str)


def _check_time(value: float, name: str) -> None:
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
        raise ValueError(f"cut: {name} must be a finite number >= 0, got {value!r}")


def _instance_value(problem: Problem, kind: str, rid: str, attribute: str) -> float:
    """The instance's value of one attribute (NaN when the id is unknown)."""
    index = {"node": problem.node_index, "link": problem.link_index, "workload": problem.workload_index}.get(kind)
    if index is None or rid not in index:
        return math.nan
    record = {"node": problem.nodes, "link": problem.links, "workload": problem.workloads}[kind][index[rid]]
    return float(getattr(record, attribute, math.nan))
