"""Solutions (SPEC section 5): an assignment of one node per layer per workload,
plus what the solver that made it knows about it."""

from __future__ import annotations

import enum
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import Issue, SolutionError, did_you_mean, format_path
from .files import write_atomically
from .instance import read_data_file
from .segments import runs


class SolveStatus(str, enum.Enum):
    """Outcome of a solve.

    ``optimal``: proven optimal.  ``feasible``: a limit was hit with an incumbent
    (see ``bound`` and ``gap``), or a heuristic found a solution.  ``infeasible``:
    proven that no feasible solution exists.  ``no_solution``: a limit was hit, or
    a heuristic gave up, without a feasible solution.  ``error``: the solver failed.
    ``unknown``: a solution not produced by a solver (e.g. written by hand).
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    NO_SOLUTION = "no_solution"
    ERROR = "error"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.UNKNOWN)


@dataclass(frozen=True)
class Segment:
    """A maximal run of consecutive layers on one node (0-based, ``last`` inclusive)."""

    node: str
    first: int
    last: int

    @property
    def num_layers(self) -> int:
        return self.last - self.first + 1


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """``(objective - bound) / |objective|``; 0 when both are 0, None when unknown."""
    if objective is None or bound is None or not math.isfinite(objective) or not math.isfinite(bound):
        return None
    diff = max(objective - bound, 0.0)
    if diff == 0:
        return 0.0
    return diff / max(abs(objective), 1e-12)


@dataclass(frozen=True)
class Solution:
    """A solution and what its solver knows about it.

    Attributes
    ----------
    assignment
        ``{workload id: (node id per layer, ...)}``; empty when no solution exists.
    status
        See :class:`SolveStatus`.
    objective
        The evaluator's objective of ``assignment`` (SPEC 6).
    bound
        A proven lower bound on the optimum, when the solver has one.
    solver
        Name of the solver that produced it.
    solve_time
        Wall-clock seconds spent in ``solve()``.
    feasible
        Whether the evaluator finds ``assignment`` feasible.
    info
        Solver details: its own objective (cross-check), versions, seed, limits...
    """

    assignment: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    status: SolveStatus = SolveStatus.UNKNOWN
    objective: float | None = None
    bound: float | None = None
    solver: str | None = None
    solve_time: float | None = None
    feasible: bool | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        frozen = {str(w): tuple(str(n) for n in nodes) for w, nodes in self.assignment.items()}
        object.__setattr__(self, "assignment", MappingProxyType(frozen))
        object.__setattr__(self, "status", SolveStatus(self.status))
        object.__setattr__(self, "info", MappingProxyType(dict(self.info)))

    # PyVRP-style accessors
    def cost(self) -> float:
        """The objective value (``inf`` without a solution)."""
        return self.objective if self.objective is not None else math.inf

    def is_feasible(self) -> bool:
        return bool(self.feasible)

    @property
    def gap(self) -> float | None:
        return relative_gap(self.objective, self.bound)

    def segments(self, workload: str) -> list[Segment]:
        """The segments of one workload, in layer order."""
        nodes = self.assignment[workload]
        return [Segment(nodes[first], first, last) for first, last in runs(nodes)]

    def with_(self, **changes: Any) -> Solution:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def summary(self) -> str:
        """A short human-readable report."""
        lines = [f"status    {self.status.value}"]
        if self.solver:
            lines[0] += f"  (solver {self.solver})"
        lines.append(f"objective {_fmt(self.objective)}")
        lines.append(f"bound     {_fmt(self.bound)}")
        gap = self.gap
        lines.append(f"gap       {'-' if gap is None else f'{100 * gap:.4f} %'}")
        if self.solve_time is not None:
            lines.append(f"time      {self.solve_time:.3f} s")
        for wid in self.assignment:
            segs = ", ".join(f"{s.node}[{s.first + 1}-{s.last + 1}]" for s in self.segments(wid))
            lines.append(f"  {wid}: {segs}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "assignment": {w: list(nodes) for w, nodes in self.assignment.items()},
            "status": self.status.value,
            "objective": _json_number(self.objective),
            "bound": _json_number(self.bound),
            "gap": _json_number(self.gap),
            "feasible": self.feasible,
            "solver": self.solver,
            "solve_time": self.solve_time,
        }
        if self.info:
            out["info"] = _jsonable(dict(self.info))
        return out

    @classmethod
    def from_dict(cls, data: Any, file: str | None = None) -> Solution:
        issues = []
        if not isinstance(data, Mapping):
            raise SolutionError(Issue("", "a solution must be an object with an 'assignment'"), file)
        known = {"assignment", "status", "objective", "bound", "gap", "feasible", "solver", "solve_time", "info"}
        for key in data:
            if key not in known:
                issues.append(Issue(str(key), "unknown field", did_you_mean(str(key), known)))
        assignment = data.get("assignment", {})
        if not isinstance(assignment, Mapping):
            issues.append(Issue("assignment", "must be an object {workload id: [node id per layer]}"))
            assignment = {}
        for wid, nodes in assignment.items():
            if not isinstance(nodes, Sequence) or isinstance(nodes, str):
                issues.append(Issue(format_path(["assignment", str(wid)]), "must be a list of node ids"))
            elif not all(isinstance(n, str) for n in nodes):
                issues.append(Issue(format_path(["assignment", str(wid)]), "node ids must be strings"))
        status = data.get("status", SolveStatus.UNKNOWN.value)
        if status not in {s.value for s in SolveStatus}:
            issues.append(Issue("status", f"unknown status {status!r}",
                                "one of " + ", ".join(s.value for s in SolveStatus)))
        for key in ("objective", "bound", "solve_time"):
            v = data.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                issues.append(Issue(key, f"must be a number or null, got {v!r}"))
        if issues:
            raise SolutionError(issues, file)
        return cls(
            assignment=assignment,
            status=SolveStatus(status),
            objective=_from_json_number(data.get("objective")),
            bound=_from_json_number(data.get("bound")),
            solver=data.get("solver"),
            solve_time=data.get("solve_time"),
            feasible=data.get("feasible"),
            info=data.get("info") or {},
        )


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.9g}"


def _json_number(x: float | None) -> float | str | None:
    if x is None:
        return None
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _from_json_number(x: Any) -> float | None:
    if x is None:
        return None
    return float(x)


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return _json_number(float(x))
    if isinstance(x, enum.Enum):
        return x.value
    return x


def load_solution(path: str | os.PathLike) -> Solution:
    """Read a solution file (``{"assignment": {...}, "status": ..., ...}``)."""
    return Solution.from_dict(read_data_file(path, SolutionError), str(path))


def save_solution(solution: Solution, path: str | os.PathLike) -> None:
    """Write a solution as JSON, atomically."""
    write_atomically(path, json.dumps(solution.to_dict(), indent=2, allow_nan=False) + "\n")
