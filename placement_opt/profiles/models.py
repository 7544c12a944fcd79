"""Model hyper-parameters and the per-layer cost model (FLOPs, bytes, KV cache).

A model is split into layers the way the instance format expects (SPEC 3):

* decoders (Llama, Mistral, Qwen, Phi): ``embedding``, ``block0`` ..
  ``block{N-1}``, ``head`` (final norm + LM head): ``N + 2`` layers;
* ViT: ``embedding`` (patch projection, CLS token, position embeddings), the
  blocks, ``head`` (final LayerNorm + classifier on the CLS token);
* BERT: ``embedding`` (word, position and token-type lookups + LayerNorm), the
  blocks, ``head`` (pooler + a 2-label sequence classifier).

Counting rules (``docs/profiles.md`` has the full derivation):

* 2 FLOP per multiply-accumulate; only matrix products are counted (norms,
  softmax, activations, residual adds and biases are < 1 % and left out);
* linear layers: ``2 * weights * tokens``; attention for one sequence of ``n``
  new tokens: prefill (causal) ``2 * h * d_h * n * (n + 1)``, decode over a
  KV cache of ``c`` tokens ``4 * h * d_h * c``, encoders (bidirectional)
  ``4 * h * d_h * n**2`` (scores and context products);
* SwiGLU MLPs have 3 matrices, GELU MLPs 2; embeddings are lookups (0 FLOP),
  except the ViT patch projection ``2 * (3 * 16 * 16) * d`` per patch;
* the LM head runs on the last position of each sequence only (generation needs
  only the next-token distribution), ``2 * d * vocab`` per sequence;
* KV cache per token and layer: ``2 * kv_heads * head_dim * 2`` bytes (fp16, GQA
  aware).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal

Mode = Literal["prefill", "decode"]
Dtype = Literal["fp16", "int8", "int4"]

#: bytes per weight for each supported weight dtype (weight-only quantisation;
#: group scales are not counted).
WEIGHT_BYTES: dict[str, float] = {"fp16": 2.0, "int8": 1.0, "int4": 0.5}
ACT_BYTES = 2  # activations and KV cache stay fp16
TOKEN_ID_BYTES = 4  # token ids are int32
PIXEL_BYTES = 1  # images arrive as uint8 RGB
DATA_DIR = Path(__file__).resolve().parents[1] / "data"  # package data

# --------------------------------------------------------------------------- #
# Hyper-parameters
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ModelSpec:
    """Architecture hyper-parameters of one catalog model.

    Attributes
    ----------
    name
        Canonical name, e.g. ``"llama-2-7b"``.
    label
        The model's name in the source table.
    family
        ``"decoder"`` or ``"encoder"``.
    kind
        ``"decoder"``, ``"vit"`` or ``"bert"``: selects the embedding and head.
    num_hidden_layers, hidden_size, intermediate_size, num_attention_heads, num_key_value_heads, head_dim
        As in the Hugging Face ``config.json``.
    vocab_size
        Vocabulary size (0 for ViT).
    max_position_embeddings
        Longest supported sequence.
    mlp
        ``"swiglu"`` (3 matrices) or ``"gelu"`` (2 matrices).
    norm
        ``"rmsnorm"`` (weight only) or ``"layernorm"`` (weight and bias).
    linear_bias
        Every linear layer has a bias (ViT, BERT).
    qkv_bias
        Only the q, k, v projections have biases (Qwen2.5).
    image_size, patch_size, channels
        ViT input geometry.
    num_classes
        Classifier outputs (ViT: 1000 ImageNet classes; BERT: 2 labels).
    type_vocab_size
        BERT token types.
    source
        Where the hyper-parameters come from (URL or repository path).
    """

    name: str
    label: str
    family: str
    kind: str
    num_hidden_layers: int
    hidden_size: int
    intermediate_size: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    max_position_embeddings: int
    mlp: str
    norm: str
    linear_bias: bool
    qkv_bias: bool
    source: str
    image_size: int = 0
    patch_size: int = 0
    channels: int = 0
    num_classes: int = 0
    type_vocab_size: int = 0

    @property
    def is_decoder(self) -> bool:
        return self.kind == "decoder"

    @property
    def num_layers(self) -> int:
        """Layers in a model record: embedding + blocks + head."""
        return self.num_hidden_layers + 2

    @property
    def q_dim(self) -> int:
        return self.num_attention_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.num_key_value_heads * self.head_dim

    @property
    def num_patches(self) -> int:
        return (self.image_size // self.patch_size) ** 2 if self.patch_size else 0

    @property
    def kv_bytes_per_token(self) -> int:
        """KV cache bytes of one token in one block: K and V, fp16."""
        return 2 * self.kv_dim * ACT_BYTES


@cache
def _catalog() -> dict[str, ModelSpec]:
    text = (DATA_DIR / "models.json").read_text()
    names = {f.name for f in fields(ModelSpec)}
    specs = [ModelSpec(**{k: v for k, v in rec.items() if k in names}) for rec in json.loads(text)["models"]]
    return {s.name: s for s in specs}


def list_models() -> list[str]:
    """Canonical names of the catalog models, in catalog order.

    Returns
    -------
    list of str
        e.g. ``["llama-2-7b", "llama-2-13b", ...]``.
    """
    return list(_catalog())


def model_spec(name: str) -> ModelSpec:
    """Hyper-parameters of a catalog model.

    Parameters
    ----------
    name
        A name from :func:`list_models`.

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones).
    """
    try:
        return _catalog()[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(_catalog())}") from None


# --------------------------------------------------------------------------- #
# Parameter counts
# --------------------------------------------------------------------------- #


def _norm_params(spec: ModelSpec) -> int:
    return spec.hidden_size * (2 if spec.norm == "layernorm" else 1)


def _mlp_matrices(spec: ModelSpec) -> int:
    return 3 if spec.mlp == "swiglu" else 2


def block_linear_shapes(spec: ModelSpec) -> list[tuple[int, int]]:
    """``(in, out)`` of every weight matrix of one transformer block."""
    d, f = spec.hidden_size, spec.intermediate_size
    attn = [(d, spec.q_dim), (d, spec.kv_dim), (d, spec.kv_dim), (spec.q_dim, d)]
    mlp = [(d, f)] * (_mlp_matrices(spec) - 1) + [(f, d)]
    return attn + mlp


def block_params(spec: ModelSpec) -> int:
    """Parameters of one transformer block (matrices, biases, two norms)."""
    shapes = block_linear_shapes(spec)
    weights = sum(i * o for i, o in shapes)
    if spec.linear_bias:
        biases = sum(o for _, o in shapes)
    elif spec.qkv_bias:
        biases = spec.q_dim + 2 * spec.kv_dim
    else:
        biases = 0
    return weights + biases + 2 * _norm_params(spec)


def embedding_params(spec: ModelSpec) -> int:
    """Parameters of the embedding layer."""
    d = spec.hidden_size
    if spec.kind == "vit":
        patch = spec.channels * spec.patch_size**2 * d + d
        return patch + d + (spec.num_patches + 1) * d  # + CLS token + positions
    if spec.kind == "bert":
        tables = spec.vocab_size + spec.max_position_embeddings + spec.type_vocab_size
        return tables * d + _norm_params(spec)
    return spec.vocab_size * d


def head_params(spec: ModelSpec) -> int:
    """Parameters of the head layer."""
    d = spec.hidden_size
    if spec.kind == "vit":
        return _norm_params(spec) + d * spec.num_classes + spec.num_classes
    if spec.kind == "bert":
        return d * d + d + d * spec.num_classes + spec.num_classes  # pooler + classifier
    return _norm_params(spec) + d * spec.vocab_size  # final norm + untied LM head


def layer_params(spec: ModelSpec) -> list[int]:
    """Parameters of every layer of the model record, in order."""
    return [embedding_params(spec)] + [block_params(spec)] * spec.num_hidden_layers + [head_params(spec)]


def total_params(spec: ModelSpec) -> int:
    """All parameters of the model (sum of :func:`layer_params`)."""
    return sum(layer_params(spec))


# --------------------------------------------------------------------------- #
# Per-layer cost for one request shape
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Shape:
    """What one inference processes.

    Attributes
    ----------
    mode
        ``"prefill"``: ``batch`` prompts of ``tokens`` tokens; ``"decode"``: one
        new token for each of ``batch`` sequences, attending over ``context``
        cached tokens.  Encoders always run a full forward pass.
    tokens
        Prompt length (prefill) or BERT sequence length; ignored by decode and ViT.
    context
        KV cache length of each sequence (decoders).
    batch
        Sequences (or images) per inference.
    dtype
        Weight dtype: ``"fp16"``, ``"int8"`` or ``"int4"``.
    """

    mode: Mode = "decode"
    tokens: int = 1
    context: int = 1024
    batch: int = 1
    dtype: Dtype = "fp16"

    @property
    def weight_bytes(self) -> float:
        return WEIGHT_BYTES[self.dtype]


@dataclass(frozen=True)
class Op:
    """One operator group of a layer, for the roofline: FLOPs and DRAM bytes."""

    flops: float
    bytes: float


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer for one inference of a given :class:`Shape`.

    ``ops`` split the layer into operator groups (weight-streaming linear
    layers, attention over the KV cache) that the roofline times separately.
    """

    name: str
    params: int
    param_bytes: float
    output_bytes: float
    state_bytes: float
    ops: tuple[Op, ...]

    @property
    def flops(self) -> float:
        return sum(op.flops for op in self.ops)

    def record(self) -> dict[str, Any]:
        """The instance-format layer record."""
        return {
            "name": self.name,
            "flops": float(self.flops),
            "param_bytes": float(self.param_bytes),
            "output_bytes": float(self.output_bytes),
            "state_bytes": float(self.state_bytes),
        }


def _check_shape(spec: ModelSpec, shape: Shape) -> None:
    if shape.mode not in ("prefill", "decode"):
        raise ValueError(f"mode must be 'prefill' or 'decode', not {shape.mode!r}")
    if shape.dtype not in WEIGHT_BYTES:
        raise ValueError(f"dtype must be one of {sorted(WEIGHT_BYTES)}, not {shape.dtype!r}")
    for field in ("tokens", "context", "batch"):
        value = getattr(shape, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{field} must be a positive integer, not {value!r}")
    longest = kv_tokens(spec, shape) if spec.is_decoder else shape.tokens
    if spec.kind != "vit" and longest > spec.max_position_embeddings:
        raise ValueError(f"{spec.name} supports at most {spec.max_position_embeddings} positions, not {longest}")


def sequence_length(spec: ModelSpec, shape: Shape) -> int:
    """New tokens per sequence: 197 for ViT-224/16, 1 for decode, else ``tokens``."""
    if spec.kind == "vit":
        return spec.num_patches + 1
    if spec.is_decoder and shape.mode == "decode":
        return 1
    return shape.tokens


def kv_tokens(spec: ModelSpec, shape: Shape) -> int:
    """Tokens held in each sequence's KV cache (decoders; 0 for encoders).

    Decode: ``context``.  Prefill: ``max(context, tokens)`` (the cache holds at
    least the prompt).
    """
    if not spec.is_decoder:
        return 0
    return shape.context if shape.mode == "decode" else max(shape.context, shape.tokens)


def attention_flops(spec: ModelSpec, shape: Shape) -> float:
    """Score and context FLOPs of one block's attention, whole batch."""
    n, qd = sequence_length(spec, shape), spec.q_dim
    if not spec.is_decoder:
        per_seq = 4 * qd * n * n
    elif shape.mode == "decode":
        per_seq = 4 * qd * shape.context
    else:
        per_seq = 2 * qd * n * (n + 1)
    return float(per_seq * shape.batch)


def attention_bytes(spec: ModelSpec, shape: Shape) -> float:
    """DRAM bytes of one block's fused attention kernel, whole batch.

    Q read and output written for the new tokens, K and V read: the ``context``
    cached tokens in decode, the new tokens otherwise.
    """
    n = sequence_length(spec, shape)
    kv_read = shape.context if spec.is_decoder and shape.mode == "decode" else n
    per_seq = 2 * n * spec.q_dim * ACT_BYTES + kv_read * spec.kv_bytes_per_token
    return float(per_seq * shape.batch)


def block_cost(spec: ModelSpec, shape: Shape, index: int) -> LayerCost:
    """Cost of transformer block ``index``."""
    n_tok = sequence_length(spec, shape) * shape.batch
    params = block_params(spec)
    shapes = block_linear_shapes(spec)
    weight_bytes = params * shape.weight_bytes
    act_io = sum(i + o for i, o in shapes) * n_tok * ACT_BYTES
    linear = Op(2.0 * sum(i * o for i, o in shapes) * n_tok, weight_bytes + act_io)
    attention = Op(attention_flops(spec, shape), attention_bytes(spec, shape))
    return LayerCost(
        name=f"block{index}",
        params=params,
        param_bytes=weight_bytes,
        output_bytes=float(n_tok * spec.hidden_size * ACT_BYTES),
        state_bytes=float(shape.batch * kv_tokens(spec, shape) * spec.kv_bytes_per_token),
        ops=(linear, attention),
    )


def embedding_cost(spec: ModelSpec, shape: Shape) -> LayerCost:
    """Cost of the embedding layer (lookups; ViT: patch projection)."""
    n_tok = sequence_length(spec, shape) * shape.batch
    d, params = spec.hidden_size, embedding_params(spec)
    out = float(n_tok * d * ACT_BYTES)
    if spec.kind == "vit":
        patch_in = spec.channels * spec.patch_size**2
        flops = 2.0 * patch_in * d * spec.num_patches * shape.batch
        moved = params * shape.weight_bytes + input_bytes(spec, shape) + out
    else:
        tables = 3 if spec.kind == "bert" else 1  # rows gathered per token
        flops, moved = 0.0, tables * n_tok * d * shape.weight_bytes + out
    return LayerCost("embedding", params, params * shape.weight_bytes, out, 0.0, (Op(flops, moved),))


def head_cost(spec: ModelSpec, shape: Shape) -> LayerCost:
    """Cost of the head: runs on one position (last token / CLS) per sequence."""
    d, b, params = spec.hidden_size, shape.batch, head_params(spec)
    if spec.kind == "vit":
        macs, out = d * spec.num_classes, spec.num_classes * ACT_BYTES
    elif spec.kind == "bert":
        macs, out = d * d + d * spec.num_classes, spec.num_classes * ACT_BYTES
    else:
        macs, out = d * spec.vocab_size, TOKEN_ID_BYTES  # sampled next-token id
    moved = params * shape.weight_bytes + b * (d * ACT_BYTES + out)
    return LayerCost("head", params, params * shape.weight_bytes, float(b * out), 0.0, (Op(2.0 * macs * b, moved),))


def input_bytes(spec: ModelSpec, shape: Shape) -> float:
    """Bytes of one raw input: int32 token ids, or uint8 RGB images for ViT."""
    if spec.kind == "vit":
        return float(shape.batch * spec.channels * spec.image_size**2 * PIXEL_BYTES)
    return float(shape.batch * sequence_length(spec, shape) * TOKEN_ID_BYTES)


def layer_costs(spec: ModelSpec | str, shape: Shape | None = None, **shape_kwargs: Any) -> list[LayerCost]:
    """Per-layer cost of one inference.

    Parameters
    ----------
    spec
        A :class:`ModelSpec` or a catalog name.
    shape
        The request shape; alternatively give its fields as keywords
        (``mode=``, ``tokens=``, ``context=``, ``batch=``, ``dtype=``).

    Returns
    -------
    list of LayerCost
        Embedding, blocks, head.
    """
    spec = model_spec(spec) if isinstance(spec, str) else spec
    shape = shape if shape is not None else Shape(**shape_kwargs)
    _check_shape(spec, shape)
    blocks = [block_cost(spec, shape, k) for k in range(spec.num_hidden_layers)]
    return [embedding_cost(spec, shape), *blocks, head_cost(spec, shape)]
