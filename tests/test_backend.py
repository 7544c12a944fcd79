"""The solver table and typed solver options (placement_opt/backend.py)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from typer.testing import CliRunner

import placement_opt as po
from placement_opt.backend import BUILTIN_SOLVERS, NoParams, list_solvers, register_solver, solver_info
from placement_opt.cli import app
from placement_opt.errors import SolverError


def test_every_row_of_the_table_resolves_to_a_backend_and_a_frozen_params_class():
    for entry in BUILTIN_SOLVERS:
        info = solver_info(entry.name)
        assert callable(info.func) and info.kind == entry.kind
        assert dataclasses.is_dataclass(info.params)
        assert info.params.__dataclass_params__.frozen, entry.name
        info.params()  # the defaults are valid


def test_names_are_written_once():
    names = [e.name for e in BUILTIN_SOLVERS]
    assert len(names) == len(set(names))
    assert list_solvers()[:len(names)] == names
    assert set(list_solvers(exact=True)) == {e.name for e in BUILTIN_SOLVERS if e.kind == "exact"}


def test_unknown_option_is_refused_with_did_you_mean(hand):
    with pytest.raises(SolverError, match=r"solver 'local-search' has no option 'top_kk' \(did you mean 'top_k'\?\)"):
        po.solve(hand, "local-search", top_kk=3)
    with pytest.raises(SolverError, match="solver 'greedy' has no option 'k'; its options: none"):
        po.solve(hand, "greedy", k=3)


@pytest.mark.parametrize(("solver", "options", "message"), [
    ("local-search", {"top_k": "4"}, "option 'top_k': Input should be a valid integer"),
    ("local-search", {"top_k": 2.5}, "option 'top_k': Input should be a valid integer"),
    ("edgeshard-dp", {"pin_source": 1}, "option 'pin_source': Input should be a valid boolean"),
    ("even-split", {"k": 0}, "k must be >= 1, got 0"),
    ("abs", {"swarm": 0}, "swarm must be >= 1, got 0"),
    ("random", {"tries": -1}, "tries must be >= 1"),
])
def test_bad_option_values_are_refused(hand, solver, options, message):
    with pytest.raises(SolverError, match=message):
        po.solve(hand, solver, **options)


def test_options_reach_the_backend(hand):
    """even-split with k=1 is every workload on its nearest node; k=2 splits
    where it can (the test checks the option is used, not ignored)."""
    one = po.solve(hand, "even-split", k=1)
    assert one.info["k"] == 1 and one.info["k_tried"] == [1]
    two = po.solve(hand, "even-split", k=2)
    assert two.info["k_tried"] == [2]


def test_an_int_stands_for_a_float(hand):
    sol = po.solve(hand, "local-search", min_gain=0)
    assert sol.feasible


def test_registering_a_builtin_name_is_refused():
    with pytest.raises(SolverError, match="built-in"):
        register_solver("greedy", exact=False, description="mine")


def test_list_solvers_shows_every_option_with_type_and_default():
    result = CliRunner().invoke(app, ["list-solvers", "--json"])
    assert result.exit_code == 0
    rows = {r["solver"]: r for r in json.loads(result.output)}
    assert set(rows) == {e.name for e in BUILTIN_SOLVERS}
    local = {o["name"]: o for o in rows["local-search"]["options"]}
    assert local["top_k"] == {"name": "top_k", "type": "int", "default": "4"}
    assert local["lns"]["type"] == "int | None"
    assert rows["greedy"]["options"] == []
    assert solver_info("greedy").params is NoParams
