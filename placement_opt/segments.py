"""Segments (SPEC 5): maximal runs of consecutive layers on the same node.

The one place where "runs of the same node" are computed, for node-index
arrays (solvers, evaluator) and for sequences of node ids (solutions, replay).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np


def starts(path: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Mask of the positions of ``path`` that start a segment.

    ``groups`` (same length, e.g. the workload of each flat position) starts a
    new segment wherever it changes, so one call covers a whole flat
    assignment.
    """
    path = np.asarray(path)
    out = np.ones(path.size, dtype=bool)
    if path.size:
        out[1:] = path[1:] != path[:-1]
        if groups is not None:
            out[1:] |= groups[1:] != groups[:-1]
    return out


def count(path: np.ndarray) -> int:
    """Number of segments of one workload's path."""
    return int(np.count_nonzero(starts(path)))


def bounds(path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each segment of one path (inclusive)."""
    first = np.flatnonzero(starts(path))
    last = np.append(first[1:] - 1, np.asarray(path).size - 1) if first.size else first
    return first, last


def runs(nodes: Sequence[Hashable]) -> list[tuple[int, int]]:
    """``(first, last)`` of each run of equal entries of a sequence of node ids."""
    out: list[tuple[int, int]] = []
    start = 0
    for k in range(1, len(nodes) + 1):
        if k == len(nodes) or nodes[k] != nodes[start]:
            out.append((start, k - 1))
            start = k
    return out


def revisits(path: np.ndarray) -> bool:
    """Whether some node holds more than one segment of the path
    (what ``one_segment_per_node`` forbids)."""
    nodes = np.asarray(path)[starts(path)]
    return np.unique(nodes).size < nodes.size


__all__ = ["bounds", "count", "revisits", "runs", "starts"]
