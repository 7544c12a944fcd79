"""From a family's network to a feasible :class:`~placement_opt.problem.Problem`:
workloads, request rates capped by the reference placement, and SLOs set from it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..evaluate import evaluate
from ..problem import Problem
from ..profiles import model_spec
from .family import Config, Family, Network
from .models import model_records, scale_memory_supply
from .params import parse_range
from .reference import Strategy, reference_assignment

#: Default request rates per workload, inferences/s: decode = tokens/s of one
#: stream; prefill = prompts/s; encoders (ViT, BERT) = images or sequences/s.
DEFAULT_RATE: dict[str, tuple[float, float]] = {
    "decode": (0.5, 2.0),
    "prefill": (0.05, 0.2),
    "encoder": (1.0, 5.0),
}

#: Workload weights (priorities) in the latency objective and their probabilities.
WEIGHT_CHOICES = ((1.0, 0.6), (2.0, 0.3), (4.0, 0.1))


def make_problem(family: Family, seed: int, size: str, params: Mapping[str, Any]) -> Problem:
    """Generate an instance of ``family`` (what the per-family functions call).

    Raises
    ------
    ValueError
        For an unknown size or parameter, a bad value, or parameters that leave
        no feasible instance.
    """
    cfg = Config(family, seed, size, params)
    return finish(cfg, family.build(cfg))


def finish(cfg: Config, net: Network) -> Problem:
    """Add workloads to ``net``, scale their rates so that the reference placement is
    feasible, and set their SLOs from its latencies.

    With ``memory_supply``, host memory is first scaled down to that multiple of
    the demand; with ``compute_load``, the reference is the ``"spread"`` one and
    each rate is scaled up or down so that the busiest node on the workload's
    reference path runs at that fraction of ``max_utilization``."""
    device_types = sorted({n["type"] for n in net.nodes if n.get("type") and n["flops"] > 0})
    models = model_records(cfg, device_types if cfg.layer_times else None)[:cfg.workloads]
    data = _instance_data(cfg, net, models, _workloads(cfg, net, models))
    if cfg.memory_supply is not None:
        scale_memory_supply(data, float(cfg.memory_supply))
    problem = Problem.from_dict(data)
    ref, strategy = _reference(cfg, problem)
    ev = evaluate(problem, ref)
    hard = [v for v in ev.violations if v.kind not in ("compute", "link")]
    if hard:
        raise ValueError(f"could not build a feasible reference placement: {hard[0]}")
    if cfg.compute_load is None:
        peak = max([0.0, *ev.node_utilization.values(), *ev.link_utilization.values()])
        _scale_rates(data["workloads"], float(cfg.reference_load) * problem.max_utilization, peak)
    else:
        _saturate_rates(cfg, data, problem.max_utilization, ref, ev.node_utilization)
    if cfg.slo_slack is not None:
        _set_slos(cfg, data["workloads"], ev.latency)
    out = Problem.from_dict(data)
    if strategy == "spread":
        _check_reference(out)
    return out


def _scale_rates(workloads: list[dict[str, Any]], target: float, peak: float) -> None:
    """Scale every rate down by ``target / peak`` when ``peak`` is above ``target``."""
    if peak > target:
        scale = target / peak
        for wl in workloads:
            wl["rate"] = round_sig(wl["rate"] * scale, down=True)


def _saturate_rates(cfg: Config, data: dict[str, Any], cap: float, ref: Mapping[str, Sequence[str]],
                    node_load: Mapping[str, float]) -> None:
    """``compute_load``: scale each workload's rate so that the busiest node on its
    reference path would be at ``compute_load * cap`` (no node exceeds it, as every
    workload on a node is scaled by at most ``target / load`` of that node), then
    every rate down, by one factor, until no link is above ``cap``."""
    target = float(cfg.compute_load) * cap
    for wl in data["workloads"]:
        peak = max(node_load.get(n, 0.0) for n in ref[wl["id"]])
        if peak > 0:
            wl["rate"] = round_sig(wl["rate"] * target / peak, down=True)
    links = evaluate(Problem.from_dict(data), ref).link_utilization.values()
    _scale_rates(data["workloads"], cap, max([0.0, *links]))


def _reference(cfg: Config, problem: Problem) -> tuple[dict[str, list[str]], Strategy]:
    """The reference placement the rates and SLOs are built around, and its strategy:
    ``"spread"`` with ``compute_load`` or when the cloud cannot hold the models,
    else ``"cloud"``."""
    strategy: Strategy = "spread" if cfg.compute_load is not None else "cloud"
    ref = reference_assignment(problem, strategy)
    if ref is None and strategy == "cloud":
        strategy = "spread"
        ref = reference_assignment(problem, strategy)
    if ref is None:
        raise ValueError("the nodes cannot hold the models and their state; raise cloud_nodes or memory_supply, "
                         "use larger cloud_types, fewer workloads or a shorter context")
    return ref, strategy


def _check_reference(problem: Problem) -> None:
    """The reference recomputed from the finished problem must be feasible."""
    ref = reference_assignment(problem)
    ev = evaluate(problem, ref) if ref is not None else None
    if ev is None or not ev.feasible:
        reason = str(ev.violations[0]) if ev is not None and ev.violations else "none found"
        raise ValueError(f"internal: the reference placement of the finished instance is infeasible ({reason})")


def _workloads(cfg: Config, net: Network, models: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Workload records: sources, sinks, rates, privacy, weights (rates not yet capped)."""
    rng = cfg.rng("workloads")
    sources = net.sources
    if not sources:
        raise ValueError("the network has no node that can be a workload source")
    # Sources: every source once (random order) before any repeats.
    order: list[str] = []
    while len(order) < cfg.workloads:
        order += [sources[k] for k in rng.permutation(len(sources))]
    workloads = []
    for k in range(cfg.workloads):
        model = models[k % len(models)]
        src = order[k]
        wl: dict[str, Any] = {"id": f"wl-{k}", "model": model["id"], "source": src}
        if rng.uniform() < float(cfg.sink_other_fraction):
            snk = net.sink(cfg.rng(f"sink-{k}"), src)
            if snk != src:
                wl["sink"] = snk
        wl["rate"] = _rate(cfg, cfg.model[k % len(models)], rng)
        if rng.uniform() < float(cfg.private_fraction):
            lo, hi = cfg.private_layers
            pl = int(rng.integers(lo, hi + 1))
            wl["min_trust"] = int(cfg.min_trust if cfg.min_trust is not None else cfg.family.trust["edge"])
            wl["private_layers"] = min(pl, len(model["layers"]) - 1)
        if cfg.weights:
            values, probs = zip(*WEIGHT_CHOICES)
            wl["weight"] = float(rng.choice(values, p=probs))
        if cfg.max_segments is not None:
            wl["max_segments"] = cfg.max_segments
        workloads.append(wl)
    return workloads


def _instance_data(cfg: Config, net: Network, models: list[dict[str, Any]],
                   workloads: list[dict[str, Any]]) -> dict[str, Any]:
    """The instance document (``Problem.from_dict`` input)."""
    data: dict[str, Any] = {
        "name": cfg.name or f"{cfg.family.name}-{cfg.size}-seed{cfg.seed}",
        "nodes": net.nodes,
        "links": net.links,
        "models": models,
        "workloads": workloads,
    }
    if cfg.objective is not None:
        data["objective"] = dict(cfg.objective)
    settings: dict[str, Any] = {}
    if cfg.max_utilization is not None:
        settings["max_utilization"] = float(cfg.max_utilization)
    if cfg.one_segment_per_node:
        settings["one_segment_per_node"] = True
    if settings:
        data["settings"] = settings
    return data


def _set_slos(cfg: Config, workloads: list[dict[str, Any]], latency: Mapping[str, float]) -> None:
    rng = cfg.rng("slo")
    lo, hi = cfg.slo_slack
    for wl in workloads:
        slack = rng.uniform(lo, hi)
        if rng.uniform() < float(cfg.slo_fraction):
            wl["slo"] = round_sig(latency[wl["id"]] * slack, down=False)


def _rate(cfg: Config, name: str, rng: np.random.Generator) -> float:
    """A request rate for a workload of catalog model ``name``."""
    if cfg.rate is not None:
        lo, hi = parse_range(cfg.rate, "rate")
    else:
        kind = "encoder" if not model_spec(name).is_decoder else cfg.mode
        lo, hi = DEFAULT_RATE[kind]
    if lo < 0:
        raise ValueError("rate must be >= 0")
    return round_sig(float(rng.uniform(lo, hi)), down=False)


def round_sig(x: float, digits: int = 4, down: bool = False) -> float:
    """Round to ``digits`` significant digits, down or up (never to the other side)."""
    if x <= 0 or not math.isfinite(x):
        return x
    e = math.floor(math.log10(x)) - digits + 1
    n = math.floor(x / 10.0**e) if down else math.ceil(x / 10.0**e)
    v = float(f"{n}e{e}")
    while (down and v > x) or (not down and v < x):
        n += -1 if down else 1
        v = float(f"{n}e{e}")
    return v
