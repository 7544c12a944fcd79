"""Error types for bad input.

Every error about user input carries the file it came from (if any) and a list of
issues, each naming the field path (``workloads[2].source``), what is wrong, and,
where the fix is obvious, a hint.  The CLI prints ``str(error)`` and exits with
status 2; nothing downstream ever sees invalid data.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Issue:
    """One thing wrong with an input file.

    Attributes
    ----------
    path
        Field path inside the file, e.g. ``workloads[2].source``; empty for the
        file as a whole.
    message
        What is wrong.
    hint
        How to fix it, when that is obvious.
    line
        Line number in the file, when known (traces, YAML).
    """

    path: str
    message: str
    hint: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or "(top level)"
        if self.line is not None:
            where = f"line {self.line}: {where}" if self.path else f"line {self.line}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class PlacementOptError(Exception):
    """Base class of all errors raised by placement_opt."""


class InputError(PlacementOptError, ValueError):
    """Invalid user input: a file or an in-memory object that fails validation."""

    kind = "input"

    def __init__(self, issues: Sequence[Issue] | Issue, file: str | None = None):
        if isinstance(issues, Issue):
            issues = [issues]
        self.issues: tuple[Issue, ...] = tuple(issues)
        self.file = file
        super().__init__(str(self))

    def __str__(self) -> str:
        head = f"invalid {self.kind}"
        if self.file:
            head += f" {self.file}"
        count = len(self.issues)
        head += f": {count} problem{'s' if count != 1 else ''}"
        shown = self.issues[:20]
        lines = [head] + [f"  {self.file + ': ' if self.file else ''}{i}" for i in shown]
        if count > len(shown):
            lines.append(f"  ... and {count - len(shown)} more")
        return "\n".join(lines)


class InstanceError(InputError):
    """An instance file or dict that breaks SPEC section 3."""

    kind = "instance"


class SolutionError(InputError):
    """A solution (file or assignment) that does not fit its problem."""

    kind = "solution"


class TraceError(InputError):
    """A trace file that does not fit its problem."""

    kind = "trace"


class SolverError(PlacementOptError):
    """A solver could not be run (unknown name, bad option)."""


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return a 'did you mean ...?' hint for a misspelt name, or None."""
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def format_path(loc: Sequence[str | int]) -> str:
    """Turn a location tuple into a field path: ('workloads', 2, 'source') ->
    'workloads[2].source'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out
