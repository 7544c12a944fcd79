"""The one place float comparisons get their tolerances (placement_opt/tolerance.py),
and the segment helper next to it (placement_opt/segments.py)."""

from __future__ import annotations

import numpy as np
import pytest

from placement_opt import segments
from placement_opt import tolerance as tol

INF = np.inf


def test_within_and_exceeds_use_the_relative_feasibility_tolerance():
    assert tol.within(1 + 0.5e-9, 1.0) and not tol.exceeds(1 + 0.5e-9, 1.0)
    assert tol.exceeds(1 + 2e-9, 1.0) and not tol.within(1 + 2e-9, 1.0)
    assert tol.within(INF, INF) and tol.exceeds(np.nan, 1.0)
    assert tol.within(np.array([2.0, 3.0]), np.array([2.0, 2.0])).tolist() == [True, False]
    assert tol.threshold(-2.0) == pytest.approx(-2.0 + 2e-9, rel=0, abs=1e-18)


def test_argmin_takes_the_lowest_index_among_near_ties():
    assert tol.argmin([2.0, 1.0 + 1e-12, 1.0]) == 1  # numpy would say 2
    assert tol.argmin([2.0, 1.0 + 1e-6, 1.0]) == 2  # 1e-6 is no tie
    assert tol.argmin([INF, INF]) == 0
    assert tol.argmin([3.0, -INF, -INF]) == 1
    rows = np.array([[INF, 1.0, 1.0 - 1e-13], [2.0, 2.0, INF]])
    assert tol.argmin(rows, axis=1).tolist() == [1, 0]
    assert tol.argmin([5.0, 1e-12, 0.0], atol=1e-11) == 1  # absolute tolerance near zero
    assert tol.argmax([1.0, 3.0 - 1e-12, 3.0]) == 1


def test_order_treats_near_equal_values_as_equal_then_uses_the_next_key():
    values = [3.0, 1.0, 1.0 + 1e-12, 1.0 - 1e-13, 2.0]
    assert tol.order(values).tolist() == [1, 2, 3, 4, 0]
    assert tol.order(values, [0, 5, 4, 3, 0]).tolist() == [3, 2, 1, 4, 0]
    assert tol.smallest([5.0, 1.0, 1.0 + 1e-15, 1.0, 0.0], 3).tolist() == [4, 1, 2]
    assert tol.tie_groups([INF, INF, 1.0, -INF]).tolist() == [2, 2, 1, 0]


def test_improvements_must_beat_the_tolerance():
    assert not tol.improves(1.0 - 1e-10, 1.0) and tol.improves(1.0 - 1e-8, 1.0)
    assert tol.improves(5.0, INF) and not tol.improves(INF, INF) and not tol.improves(0.0, -INF)
    mask = tol.improves_mask([1.0, INF, 1.0, 0.5, 1.0 - 1e-12], [INF, INF, -INF, 1.0, 1.0])
    assert mask.tolist() == [True, False, False, True, False]


def test_same():
    assert tol.same(1.0, 1.0 + 1e-12) and not tol.same(1.0, 1.0 + 1e-6)
    assert tol.same(INF, INF) and not tol.same(INF, -INF)


def test_segments_of_paths_and_of_id_sequences():
    path = np.array([4, 4, 1, 1, 1, 4])
    assert segments.starts(path).tolist() == [True, False, True, False, False, True]
    assert segments.count(path) == 3
    first, last = segments.bounds(path)
    assert first.tolist() == [0, 2, 5] and last.tolist() == [1, 4, 5]
    assert segments.revisits(path) and not segments.revisits(np.array([1, 1, 2]))
    assert segments.runs(["a", "a", "b"]) == [(0, 1), (2, 2)]
    # a flat assignment: a new workload starts a new segment even on the same node
    assert segments.starts(np.array([1, 1, 1]), np.array([0, 0, 1])).tolist() == [True, False, True]
    assert segments.count(np.array([], dtype=int)) == 0
