"""Dolan–Moré performance profiles (placement_opt/perfprofile.py).

Every expected fraction below is worked out by hand in the comments; a
hypothesis test compares against an independent exact implementation (Fractions,
the absolute-gap definition ``obj <= best + (tau - 1) * |best|`` written out
directly).
"""

from __future__ import annotations

import math
import sys
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from placement_opt.errors import InputError
from placement_opt.perfprofile import DEFAULT_TAUS, performance_profile, performance_ratios
from tests.paths import ROOT

NAN = float("nan")
INF = float("inf")


def three_solvers() -> pd.DataFrame:
    # best per row: i1 10 (A), i2 5 (A, B), i3 4 (B), i4 100 (A, C)
    return pd.DataFrame(
        {"A": [10.0, 5.0, INF, 100.0], "B": [11.0, 5.0, 4.0, 150.0], "C": [20.0, NAN, 6.0, 100.0]},
        index=["i1", "i2", "i3", "i4"],
    )


def test_ratios_by_hand():
    # A: 10/10, 5/5, no solution, 100/100;  B: 11/10, 5/5, 4/4, 150/100;  C: 20/10, none, 6/4, 100/100
    r = performance_ratios(three_solvers())
    assert r["A"].tolist() == [1.0, 1.0, INF, 1.0]
    assert r["B"].tolist() == pytest.approx([1.1, 1.0, 1.0, 1.5])
    assert r["C"].tolist() == [2.0, INF, 1.5, 1.0]


def test_profile_by_hand():
    prof = performance_profile(three_solvers(), [1.0, 1.1, 1.5, 2.0, 10.0])
    assert list(prof.index) == [1.0, 1.1, 1.5, 2.0, 10.0]
    assert prof.index.name == "tau"
    # A is best on i1, i2, i4 and fails on i3: 3/4 at every tau
    assert prof["A"].tolist() == [0.75] * 5
    # B: best on i2, i3 (2/4); i1 at 1.1 (3/4); i4 at 1.5 (4/4)
    assert prof["B"].tolist() == [0.5, 0.75, 1.0, 1.0, 1.0]
    # C: best on i4 (1/4); i3 at 1.5 (2/4); i1 at 2 (3/4); never on i2
    assert prof["C"].tolist() == [0.25, 0.25, 0.5, 0.75, 0.75]


def test_negative_and_zero_best_use_the_absolute_gap():
    table = pd.DataFrame({"A": [-10.0, 0.0], "B": [-9.0, 0.0], "C": [-5.0, 1e-3]})
    # row 0: best -10, |best| 10: B within tau iff -9 <= -10 + (tau-1)*10 iff tau >= 1.1; C iff tau >= 1.5
    # row 1: best 0: only objective 0 counts, whatever tau (C never)
    prof = performance_profile(table, [1.0, 1.2, 2.0])
    assert prof["A"].tolist() == [1.0, 1.0, 1.0]
    assert prof["B"].tolist() == [0.5, 1.0, 1.0]
    assert prof["C"].tolist() == [0.0, 0.0, 0.5]
    r = performance_ratios(table)
    assert r.loc[1, "C"] == INF
    assert r.loc[0, "C"] == pytest.approx(1.5)


def test_instances_nobody_solved_are_left_out():
    table = three_solvers()
    table.loc["i5"] = [NAN, INF, NAN]
    prof = performance_profile(table, [1.0, 2.0])
    # same as without i5: denominators stay 4
    assert prof["A"].tolist() == [0.75, 0.75]
    assert prof["C"].tolist() == [0.25, 0.75]
    assert "i5" not in performance_ratios(table).index


def test_best_known_reference_lowers_the_best():
    table = pd.DataFrame({"A": [12.0, 3.0], "B": [15.0, 4.0]}, index=["x", "y"])
    best = pd.Series({"x": 10.0, "y": NAN})
    # x: best 10 from the reference: A 1.2, B 1.5; y: no reference, best 3: A 1, B 4/3
    r = performance_ratios(table, best=best)
    assert r.loc["x"].tolist() == pytest.approx([1.2, 1.5])
    assert r.loc["y"].tolist() == pytest.approx([1.0, 4 / 3])
    prof = performance_profile(table, [1.0, 1.2, 1.4, 1.5], best=best)
    assert prof["A"].tolist() == [0.5, 1.0, 1.0, 1.0]
    assert prof["B"].tolist() == [0.0, 0.0, 0.5, 1.0]


def test_reference_worse_than_the_solvers_changes_nothing():
    table = pd.DataFrame({"A": [2.0], "B": [3.0]})
    prof = performance_profile(table, [1.0, 1.5], best=pd.Series([5.0]))
    assert prof["A"].tolist() == [1.0, 1.0]
    assert prof["B"].tolist() == [0.0, 1.0]


def test_reference_alone_keeps_an_instance_that_no_solver_solved():
    table = pd.DataFrame({"A": [1.0, NAN]})
    prof = performance_profile(table, [1.0], best=pd.Series([1.0, 7.0]))
    assert prof["A"].tolist() == [0.5]


def test_ties_within_rtol_count_as_best():
    table = pd.DataFrame({"A": [1.0], "B": [1.0 + 1e-12], "C": [1.0 + 1e-6]})
    prof = performance_profile(table, [1.0])
    assert prof.loc[1.0].tolist() == [1.0, 1.0, 0.0]
    assert performance_profile(table, [1.0], rtol=1e-5).loc[1.0].tolist() == [1.0, 1.0, 1.0]


def test_taus_sorted_and_deduplicated_and_default():
    prof = performance_profile(three_solvers(), [2, 1, 2])
    assert list(prof.index) == [1.0, 2.0]
    default = performance_profile(three_solvers())
    assert list(default.index) == list(DEFAULT_TAUS)
    assert default["B"].iloc[-1] == 1.0


def test_nullable_dtype_and_integer_objectives():
    table = pd.DataFrame({"A": pd.array([2, None], dtype="Int64"), "B": pd.array([4, 3], dtype="Int64")})
    # row 0: best 2 (A), B ratio 2; row 1: best 3 (B), A none
    prof = performance_profile(table, [1.0, 2.0])
    assert prof["A"].tolist() == [0.5, 0.5]
    assert prof["B"].tolist() == [0.5, 1.0]


@pytest.mark.parametrize(
    ("table", "taus", "where"),
    [
        ([[1.0]], [1.0], "DataFrame"),  # a list, not a DataFrame
        (pd.DataFrame(index=[0, 1]), [1.0], "no solver columns"),
        (pd.DataFrame({"A": [1.0, -INF]}), [1.0], "-inf"),
        (pd.DataFrame({"A": ["1", "2"]}), [1.0], "numbers"),
        (pd.DataFrame({"A": [True, False]}), [1.0], "numbers"),
        (pd.DataFrame([[1.0, 2.0]], columns=["A", "A"]), [1.0], "duplicate"),
        (pd.DataFrame({"A": [NAN, INF]}), [1.0], "no instance has a feasible"),
        (pd.DataFrame({"A": []}, dtype=float), [1.0], "no instance has a feasible"),
        (pd.DataFrame({"A": [1.0]}), [0.5], "taus[0]"),
        (pd.DataFrame({"A": [1.0]}), [1.0, NAN], "taus[1]"),
        (pd.DataFrame({"A": [1.0]}), [1.0, INF], "taus[1]"),
        (pd.DataFrame({"A": [1.0]}), [], "taus"),
        (pd.DataFrame({"A": [1.0]}), ["x"], "taus"),
    ],
)
def test_bad_input_is_a_clear_input_error(table, taus, where):
    with pytest.raises(InputError) as err:
        performance_profile(table, taus)
    assert where in str(err.value)


def test_bad_reference_is_a_clear_input_error():
    table = pd.DataFrame({"A": [1.0, 2.0]}, index=["x", "y"])
    with pytest.raises(InputError, match="no entry for instance"):
        performance_profile(table, best=pd.Series({"x": 1.0}))
    with pytest.raises(InputError, match="-inf"):
        performance_profile(table, best=pd.Series({"x": 1.0, "y": -INF}))
    with pytest.raises(InputError, match="Series"):
        performance_profile(table, best=[1.0, 2.0])


def test_input_is_not_modified():
    table = three_solvers()
    before = table.copy()
    performance_profile(table, best=pd.Series(1.0, index=table.index))
    pd.testing.assert_frame_equal(table, before)


# --------------------------------------------------------------------------- #
# Independent implementation: the definition, with exact rational arithmetic
# --------------------------------------------------------------------------- #

TAU_GRID = [1.0, 1.25, 1.5, 2.0, 3.0]  # tau - 1 exact in binary: no boundary rounding


def reference_profile(rows: list[list[int | None]], taus: list[float]) -> list[list[float]]:
    """rows[i][s]: integer objective or None; returns [tau][solver] fractions."""
    solved_rows = [r for r in rows if any(v is not None for v in r)]
    out = []
    for tau in taus:
        t = Fraction(tau)
        line = []
        for s in range(len(rows[0])):
            hits = 0
            for r in solved_rows:
                best = Fraction(min(v for v in r if v is not None))
                if r[s] is not None and Fraction(r[s]) <= best + (t - 1) * abs(best):
                    hits += 1
            line.append(Fraction(hits, len(solved_rows)))
        out.append(line)
    return out


objective_value = st.one_of(st.none(), st.integers(min_value=-20, max_value=40))


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=4).flatmap(
    lambda k: st.lists(st.lists(objective_value, min_size=k, max_size=k), min_size=1, max_size=8)))
def test_matches_the_definition(rows):
    if not any(v is not None for r in rows for v in r):
        with pytest.raises(InputError):
            performance_profile(pd.DataFrame([[NAN] * len(rows[0])] * len(rows)), TAU_GRID)
        return
    table = pd.DataFrame([[NAN if v is None else float(v) for v in r] for r in rows],
                         columns=[f"s{k}" for k in range(len(rows[0]))])
    prof = performance_profile(table, TAU_GRID, rtol=0.0)
    expected = reference_profile(rows, TAU_GRID)
    for k, tau in enumerate(TAU_GRID):
        assert prof.loc[tau].tolist() == pytest.approx([float(f) for f in expected[k]], abs=1e-12)
    # a profile is a non-decreasing step function of tau, bounded by the feasible share
    values = prof.to_numpy()
    assert np.all(np.diff(values, axis=0) >= 0)
    assert np.all(values <= 1.0) and np.all(values >= 0.0)
    assert not any(math.isnan(v) for v in values.ravel())


# --------------------------------------------------------------------------- #
# The benchmark script's bookkeeping (benchmarks/heuristics.py)
# --------------------------------------------------------------------------- #


def _bench():
    import importlib.util

    path = ROOT / "benchmarks" / "heuristics.py"
    spec = importlib.util.spec_from_file_location("bench_heuristics", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_heuristics", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_benchmark_gap_by_hand():
    gap = _bench()._gap
    assert gap(1.1, 1.0) == pytest.approx(0.1)
    assert gap(-9.0, -10.0) == pytest.approx(0.1)  # 1 above a best of -10, |best| 10
    assert gap(0.0, 0.0) == 0.0
    assert gap(1.0, 0.0) == INF
    assert gap(None, 1.0) is None and gap(1.0, None) is None


def test_benchmark_reference_cache_round_trip_and_invalidation(tmp_path):
    bench = _bench()
    path = tmp_path / "ref.csv"
    cache = bench.ReferenceCache(path)
    cache.put("a", "fp1", bench.Reference("optimal", 2.5, 2.5, True, "milp", 1.0, 10.0))
    cache.put("b", "fp2", bench.Reference("feasible", 3.0, 2.0, False, "milp", 10.0, 10.0))
    again = bench.ReferenceCache(path)  # read back from the file
    ref = again.get("a", "fp1", "milp", 600.0)  # proven: any time limit reuses it
    assert (ref.status, ref.objective, ref.bound, ref.optimum, ref.cached) == ("optimal", 2.5, 2.5, 2.5, True)
    assert again.get("a", "other-fingerprint", "milp", 10.0) is None  # the instance changed
    assert again.get("a", "fp1", "cpsat", 10.0) is None  # another reference solver
    assert again.get("b", "fp2", "milp", 10.0).optimum is None  # not proven: no optimum
    assert again.get("b", "fp2", "milp", 60.0) is None  # a longer limit may prove it


def test_benchmark_flags_answers_that_contradict_a_proof():
    bench = _bench()
    run = bench.Run("k", "f", "s", "latency", 0, 2, 1, 3, "x", "feasible", 0.9, 0.1, 0.1)
    bench.attach_reference(run, bench.Reference("optimal", 1.0, 1.0, True, "milp", 1.0, 10.0))
    assert run.gap == pytest.approx(-0.1) and any("below the proven optimum" in i for i in run.issues)
    run = bench.Run("k", "f", "s", "latency", 0, 2, 1, 3, "x", "feasible", 1.0, 0.1, 0.1)
    bench.attach_reference(run, bench.Reference("infeasible", None, None, True, "milp", 1.0, 10.0))
    assert any("proved infeasibility" in i for i in run.issues)
    run = bench.Run("k", "f", "s", "latency", 0, 2, 1, 3, "x", "feasible", 1.2, 0.1, 0.1)
    bench.attach_reference(run, bench.Reference("feasible", 1.1, 1.0, False, "milp", 60.0, 60.0))
    assert run.issues == [] and run.gap is None and run.bound_gap == pytest.approx(0.2)
