"""The interface between :func:`placement_opt.solve` and the solver backends.

A backend is a function ``func(problem, options) -> RawResult``.  It receives
the common options (:class:`SolveOptions`) and its own parameters, already
validated, as ``options.params``: an instance of the frozen dataclass it
declares (as PyVRP's ``*Params`` classes do).  It returns a flat node-index
array (or none), its status and bound; :func:`placement_opt.solve` scores the
array with the evaluator.

Every built-in solver is one row of :data:`BUILTIN_SOLVERS`, the only place
where solver names are written down.  Rows name their backend and parameter
class as ``"module:attribute"`` and are imported on first use, so that a
heuristic run does not pay for importing Pyomo or OR-Tools.  Solvers of your
own join the same registry through :func:`register_solver`.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import time
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal, TypeVar

import numpy as np
import pydantic

from .errors import SolverError, did_you_mean
from .problem import Problem
from .solution import Solution, SolveStatus

Kind = Literal["exact", "heuristic", "baseline", "portfolio"]
P = TypeVar("P")


@dataclass(frozen=True)
class NoParams:
    """Parameters of a solver that takes none."""


@dataclass(frozen=True)
class SolveOptions:
    """Options common to all solvers (see :func:`placement_opt.solve`), plus
    the solver's own validated ``params``."""

    time_limit: float | None = None
    gap: float | None = None
    threads: int | None = None
    seed: int = 0
    warm_start: np.ndarray | None = None
    previous: Solution | Mapping[str, Any] | None = None
    previous_keys: np.ndarray | None = None
    log: bool = False
    params: Any = field(default_factory=NoParams)
    deadline: float = math.inf

    def remaining(self) -> float:
        """Seconds left before the time limit (``inf`` without one)."""
        return max(0.0, self.deadline - time.perf_counter())

    def search_deadline(self) -> float:
        """The deadline less a margin kept for scoring the answer: the smaller
        of 0.05 s and 10 % of the time limit (none without a limit)."""
        if self.time_limit is None:
            return self.deadline
        return self.deadline - min(0.05, 0.1 * self.time_limit)

    def params_as(self, cls: type[P]) -> P:
        """``params``, checked to be a ``cls`` (the backend's own class)."""
        if not isinstance(self.params, cls):
            raise SolverError(f"expected parameters of type {cls.__name__}, got {type(self.params).__name__}")
        return self.params


@dataclass
class RawResult:
    """What a backend returns to :func:`placement_opt.solve`."""

    status: SolveStatus
    x: np.ndarray | None = None
    bound: float | None = None
    solver_objective: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


Backend = Callable[[Problem, SolveOptions], RawResult]


@dataclass(frozen=True)
class SolverEntry:
    """One row of the solver table.

    ``backend`` and ``params`` are ``"module:attribute"`` references
    (``params`` None: the solver takes no parameters).
    """

    name: str
    kind: Kind
    backend: str
    description: str
    params: str | None = None
    source: str | None = None


_H = "placement_opt.heuristics"
_B = "placement_opt.heuristics.baselines"

#: Every built-in solver, in the order ``list-solvers`` shows them.
BUILTIN_SOLVERS: tuple[SolverEntry, ...] = (
    SolverEntry("milp", "exact", "placement_opt.milp:solve_backend",
                "layered-graph MILP over pruned candidates (Pyomo + HiGHS)", "placement_opt.milp:MilpParams"),
    SolverEntry("cpsat", "exact", "placement_opt.cpsat:solve_backend",
                "layered-graph 0/1 model over pruned candidates (OR-Tools CP-SAT, integer-scaled)",
                "placement_opt.cpsat:CpsatParams"),
    SolverEntry("milp-textbook", "exact", "placement_opt.milp.textbook:solve_textbook",
                "reference textbook layered-graph MILP (no pruning; for benchmarks)"),
    SolverEntry("brute-force", "exact", "placement_opt.brute:solve_brute_force",
                "enumerates every assignment (tiny instances only)", "placement_opt.brute:BruteForceParams"),
    SolverEntry("auto", "portfolio", "placement_opt.auto:solve_auto",
                "portfolio: milp with its LP pre-pass, and local-search when the LP does not prove the incumbent"),
    SolverEntry("greedy", "heuristic", f"{_H}.greedy:solve_greedy",
                "capacity-aware constructive heuristic (layered-graph DP per workload)"),
    SolverEntry("local-search", "heuristic", f"{_H}.local_search.search:solve_local_search",
                "descent over cut shifts, segment moves, splits, swaps and constrained re-routes, "
                "with incremental evaluation", f"{_H}.local_search.search:LocalSearchParams"),
    SolverEntry("neurosurgeon", "baseline", f"{_B}.neurosurgeon:solve_neurosurgeon",
                "best single split point between the source device and one server, per workload",
                source="Y. Kang et al., 'Neurosurgeon: Collaborative Intelligence Between the Cloud and Mobile "
                       "Edge', ASPLOS 2017"),
    SolverEntry("edgeshard-dp", "baseline", f"{_B}.edgeshard:solve_edgeshard",
                "EdgeShard's latency dynamic program over (layer, node) with memory limits, per workload",
                f"{_B}.edgeshard:EdgeShardParams",
                "M. Zhang, J. Cao, X. Shen, Z. Cui, 'EdgeShard: Efficient LLM Inference via Collaborative "
                "Edge Computing', arXiv:2405.14371, 2024 (IEEE IoT Journal 2025)"),
    SolverEntry("memory-proportional", "baseline", f"{_B}.exo:solve_memory_proportional",
                "exo's ring: contiguous layer ranges in proportion to node memory (best ring size)",
                f"{_B}.exo:ExoParams",
                "exo-explore/exo, RingMemoryWeightedPartitioningStrategy ('ring memory weighted "
                "partitioning strategy')"),
    SolverEntry("petals", "baseline", f"{_B}.petals:solve_petals",
                "Petals' greedy block selection over the servers, then min-latency routing per workload",
                source="A. Borzunov et al., 'Petals: Collaborative Inference and Fine-tuning of Large Models', "
                       "ACL 2023 (demo); 'Distributed Inference and Fine-tuning of Large Language Models "
                       "Over the Internet', NeurIPS 2023"),
    SolverEntry("even-split", "baseline", f"{_B}.even_split:solve_even_split",
                "equal layer counts over the k nodes nearest to the source (best k)",
                f"{_B}.even_split:EvenSplitParams",
                "uniform (equal layer count) pipeline partitioning: Megatron-LM pipeline stages "
                "(Narayanan et al., SC 2021), DeepSpeed partition_method='uniform'; the even-partition "
                "baseline of edge DNN partitioning studies"),
    SolverEntry("pipeedge-dp", "baseline", f"{_B}.pipeedge:solve_pipeedge_dp",
                "PipeEdge's throughput DP over (layer, hosts used per device type, last type), per workload",
                f"{_B}.pipeedge:PipeEdgeParams",
                "Y. Hu et al., 'PipeEdge: Pipeline Parallelism for Large-Scale Model Inference on Heterogeneous "
                "Edge Devices', DSD 2022; github.com/usc-isi/PipeEdge src-native/schedule.cpp"),
    SolverEntry("abs", "baseline", f"{_B}.abs:solve_abs",
                "Adaptive Bilevel Search: particle swarm over workload groups, constrained "
                "shortest paths below, fragmentation-aware fitness",
                f"{_B}.abs:AbsParams",
                "J. Xie, Z. Li, G. Sun, L. Luo, H. Yu, D. Niyato, 'A Fragmentation-Aware Adaptive "
                "Bilevel Search Framework for Service Mapping in Computing Power Networks', "
                "arXiv:2507.07535, 2025"),
    SolverEntry("device-only", "baseline", f"{_B}.single_tier:solve_device_only",
                "every layer on the workload's source device",
                source="single-tier baseline (all-local execution), e.g. Kang et al., Neurosurgeon, ASPLOS 2017"),
    SolverEntry("edge-only", "baseline", f"{_B}.single_tier:solve_edge_only",
                "every workload whole on its fastest edge node that fits",
                source="single-tier baseline (full offloading to the edge), "
                       "e.g. Kang et al., Neurosurgeon, ASPLOS 2017"),
    SolverEntry("cloud-only", "baseline", f"{_B}.single_tier:solve_cloud_only",
                "every workload whole on its fastest cloud node that fits",
                source="single-tier baseline (full offloading to the cloud), "
                       "e.g. Kang et al., Neurosurgeon, ASPLOS 2017"),
    SolverEntry("random", "baseline", f"{_B}.randomized:solve_random",
                "seeded random feasible construction (random cuts and nodes), best of N; a floor",
                f"{_B}.randomized:RandomParams",
                "random placement baseline (common floor in placement/partitioning studies)"),
)


@dataclass(frozen=True)
class SolverInfo:
    """A registered solver: its backend, its parameter class and what it is."""

    name: str
    func: Backend
    kind: Kind
    description: str
    params: type = NoParams
    source: str | None = None

    @property
    def exact(self) -> bool:
        """Whether the solver proves optimality (its ``optimal`` is a proof)."""
        return self.kind == "exact"

    def defaults(self) -> dict[str, Any]:
        """Each parameter's default value."""
        return {f.name: _default(f) for f in dataclasses.fields(self.params)}

    def make_params(self, options: Mapping[str, Any]) -> Any:
        """Validated parameters from keyword options.

        Raises
        ------
        SolverError
            Naming an unknown option (with a did-you-mean) or a bad value.
        """
        known = [f.name for f in dataclasses.fields(self.params)]
        for key in options:
            if key not in known:
                hint = did_you_mean(key, known)
                listed = ", ".join(known) if known else "none"
                raise SolverError(f"solver {self.name!r} has no option {key!r}"
                                  f"{f' ({hint})' if hint else ''}; its options: {listed}")
        try:
            checked = _checker(self.params).model_validate(dict(options))
            return self.params(**{k: getattr(checked, k) for k in options})
        except pydantic.ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(part) for part in err["loc"])
            raise SolverError(f"solver {self.name!r}, option {where!r}: {err['msg']} "
                              f"(got {err.get('input')!r})") from None
        except ValueError as exc:  # a range check of the class itself
            raise SolverError(f"solver {self.name!r}: {exc}") from None

    def run(self, problem: Problem, options: SolveOptions) -> RawResult:
        """Call the backend; ``options.params`` of another class (e.g. a
        portfolio calling this solver) are replaced by the defaults."""
        if not isinstance(options.params, self.params):
            options = dataclasses.replace(options, params=self.params())
        return self.func(problem, options)


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


@cache
def _checker(cls: type) -> type[pydantic.BaseModel]:
    """A pydantic model with the fields of a parameter class, to check types.

    Strict: a string is not a number, a float not an int, a bool not a number;
    an int may stand for a float, as in JSON.
    """
    hints = typing.get_type_hints(cls)
    fields: dict[str, Any] = {f.name: (hints[f.name], _default(f)) for f in dataclasses.fields(cls)}
    config = pydantic.ConfigDict(strict=True, arbitrary_types_allowed=True)
    return pydantic.create_model(f"{cls.__name__}Check", __config__=config, **fields)


_REGISTRY: dict[str, SolverInfo] = {}
_BUILTIN_BY_NAME = {entry.name: entry for entry in BUILTIN_SOLVERS}


def _resolve(reference: str) -> Any:
    module, _, attr = reference.partition(":")
    return getattr(importlib.import_module(module), attr)


def _load_builtin(entry: SolverEntry) -> SolverInfo:
    params = _resolve(entry.params) if entry.params else NoParams
    return SolverInfo(entry.name, _resolve(entry.backend), entry.kind, entry.description, params, entry.source)


def register_solver(name: str, *, exact: bool, description: str, params: type | None = None,
                    source: str | None = None, kind: Kind | None = None) -> Callable[[Backend], Backend]:
    """Decorator: register ``func(problem, options) -> RawResult`` under ``name``.

    Parameters
    ----------
    name
        The solver's name in :func:`placement_opt.solve`.
    exact
        Whether its ``optimal`` status is a proof.
    description
        One line for ``list-solvers``.
    params
        A frozen dataclass of its options (default: none); the backend reads
        them as ``options.params``.
    source
        Where the method comes from (a citation), if anywhere.
    kind
        ``exact``, ``heuristic``, ``baseline`` or ``portfolio`` (default from ``exact``).
    """
    if name in _BUILTIN_BY_NAME:
        raise SolverError(f"{name!r} is a built-in solver; choose another name")

    def wrap(func: Backend) -> Backend:
        chosen: Kind = kind or ("exact" if exact else "heuristic")
        _REGISTRY[name] = SolverInfo(name, func, chosen, description, params or NoParams, source)
        return func

    return wrap


def list_solvers(exact: bool | None = None) -> list[str]:
    """Names of the solvers: built-in ones in table order, then registered ones
    (optionally only exact or only non-exact ones)."""
    kinds = {e.name: e.kind for e in BUILTIN_SOLVERS}
    kinds |= {n: s.kind for n, s in sorted(_REGISTRY.items()) if n not in _BUILTIN_BY_NAME}
    return [n for n, kind in kinds.items() if exact is None or (kind == "exact") == exact]


def solver_info(name: str) -> SolverInfo:
    """The solver registered under ``name`` (imported on first use).

    Raises
    ------
    SolverError
        For an unknown name, with a did-you-mean.
    """
    if name not in _REGISTRY and name in _BUILTIN_BY_NAME:
        _REGISTRY[name] = _load_builtin(_BUILTIN_BY_NAME[name])
    if name not in _REGISTRY:
        known = list_solvers()
        hint = did_you_mean(name, known) or "known: " + ", ".join(known)
        raise SolverError(f"unknown solver {name!r} ({hint})")
    return _REGISTRY[name]


def param_types(cls: type) -> dict[str, str]:
    """Readable type of each field of a parameter class (for ``list-solvers``)."""
    hints = typing.get_type_hints(cls)
    return {f.name: _type_name(hints[f.name]) for f in dataclasses.fields(cls)}


def _type_name(tp: Any) -> str:
    if isinstance(tp, list):  # the argument list of a Callable
        return "[" + ", ".join(_type_name(a) for a in tp) + "]"
    if tp is type(None):
        return "None"
    args = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if args and origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(_type_name(a) for a in args)
    if args:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_name(a) for a in args)}]"
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))
