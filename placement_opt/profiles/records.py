"""Instance records built from both catalogs: a model's layers with measured-style
``layer_times`` on given device types (models + devices)."""

from __future__ import annotations

from typing import Any

from .devices import layer_times
from .models import Dtype, Mode, Shape, input_bytes, layer_costs, model_spec


def model_record(
    name: str,
    *,
    mode: Mode = "decode",
    tokens: int = 1,
    context: int = 1024,
    batch: int = 1,
    dtype: Dtype = "fp16",
    model_id: str | None = None,
    device_types: list[str] | None = None,
) -> dict[str, Any]:
    """An instance-format model record for a catalog model.

    Parameters
    ----------
    name
        A name from :func:`list_models`.
    mode
        ``"prefill"`` (a prompt of ``tokens`` tokens per sequence) or
        ``"decode"`` (one new token per sequence at KV context ``context``).
        Encoders (ViT, BERT) ignore it and run a full forward pass.
    tokens
        Prompt length for prefill; sequence length for BERT (ViT-224/16 always
        has 197).
    context
        KV cache length per sequence (decoders).
    batch
        Sequences per inference; scales activations, KV state and FLOPs, not
        weights.
    dtype
        Weight dtype (``"fp16"``, ``"int8"``, ``"int4"``); activations and the
        KV cache stay fp16.
    model_id
        The record's ``id`` (default: ``name``).
    device_types
        Catalog device names; when given, ``layer_times`` holds the calibrated
        roofline time of every layer on an idle node of each type
        (:func:`~placement_opt.profiles.devices.layer_time`).

    Returns
    -------
    dict
        ``{"id", "input_bytes", "layers": [...], "layer_times"?}``: valid as an
        element of an instance's ``models``.
    """
    spec = model_spec(name)
    shape = Shape(mode=mode, tokens=tokens, context=context, batch=batch, dtype=dtype)
    costs = layer_costs(spec, shape)
    record: dict[str, Any] = {
        "id": model_id or name,
        "input_bytes": input_bytes(spec, shape),
        "layers": [c.record() for c in costs],
    }
    if device_types:
        record["layer_times"] = {dev: layer_times(costs, dev) for dev in device_types}
    return record
