"""Inference backends for CiTrus models: the same forward pass in fp32 PyTorch, bf16 PyTorch or ONNX Runtime, and the
choice of the fastest one that keeps the results (`load_backend(model, "auto")`).

- `"torch"`: the model as it is (fp32 on CPU, scaled-dot-product attention). Always available; the reference.
- `"bf16"`: `torch.autocast` to bfloat16 on CPU, attention with small heads computed in blocks of a few sequences
  (bf16 matrix products, the softmax as `exp2` of the scores, no pass for their maximum; `blocked_bf16_attention`;
  wider heads run SDPA) and, on a CPU with AMX, the CNN stem's residual blocks as dense matrix products
  (`dense_stem_in_bf16`). Logits move by up to a few 1e-2; predicted classes were identical to fp32 on the real check
  set (README, "Inference"). The fastest path for batches of windows on an idle CPU with native bf16 (AVX512-BF16,
  AMX); slower than fp32 without it, at batch 1, and when other processes share the cores.
- `"onnxruntime"`: the model exported to ONNX once (dynamo exporter, opset `ONNX_OPSET`) and run by ONNX Runtime.
  The export is cached on disk, keyed by a hash of the weights, config and model code, the opset, the input-shape
  policy and the exporter's versions (torch, onnxscript, onnx-ir), so later processes reuse it (the file holds its key, checked on reuse: a file of another model at its name
  is refused); outputs match fp32 PyTorch within `ONNX_TOLERANCE` + `ONNX_RELATIVE_TOLERANCE` x |output|. Far faster than PyTorch at batch 1 and
  on busy cores (its graph runs with little per-operator overhead), about as fast on idle cores at batch 32.
- `"auto"`: the paths this machine offers race fp32 PyTorch, and the fastest that keeps the results runs. The
  contenders: ONNX Runtime when it is installed (`pip install citrus-hf[onnx]`) and the model's export is already
  cached, kept only if its first batch matches fp32 within that tolerance ("auto" never exports: an export takes
  longer than fp32 PyTorch needs for a whole night of recordings; the first `"onnxruntime"` call exports), and, for
  classification on a CPU with native bf16, bf16, kept only if the first batch's predicted classes equal fp32's (a
  contender that cannot be built, or fails on that batch, is left out with a warning).
  Those that pass and fp32 PyTorch then race on the batch in hand (`RACE_BATCHES_PER_PATH` timed runs each), once for
  batches of fewer than `RACE_MIN_WINDOWS` windows and once for larger ones, and the fastest computes that batch and
  every later one of its size, so the same windows in the same batches give the same numbers on every call: which is
  fastest depends on the machine, on how busy its cores are and on the batch size (README, "Inference"), so it is
  measured where the model runs. So two processes can run different paths (scores a few 1e-4 apart in bf16, 1e-6 in
  ONNX Runtime): with `torch.use_deterministic_algorithms(True)` (or transformers' `enable_full_determinism`) "auto"
  runs fp32 PyTorch without a race, the same in every process. Regression targets and embeddings never run in bf16
  by default: their values are the result. Accelerators always run `"torch"`.

A fusion model (one encoder per modality) runs on the same paths but ONNX Runtime, whose export has one input
(`FUSION_BACKENDS`): its batches are `{modality: (batch, channels, time)}` dicts (`Windows`), and "auto" races its
bf16 copy as it races a single-modality model's.

On CPU every path splits a batch across threads (`batch_threads`, default one per PyTorch thread): each thread runs
a share of the windows with its operators on one core, instead of every operator being spread over all the cores.
CiTrus's operators are too small for the latter to pay (see `InferenceBackend`).

Why blocked attention for bf16: CiTrus attends over short sequences (25-150 patches) with small heads (head_dim 8-16).
On CPU, PyTorch's flash-attention kernel then spends its time in many tiny matrix products, and in bf16 it is no faster
than in fp32; a plain matmul-softmax-matmul attention is limited by memory traffic (the fp32 score tensor of a batch
is 23 MB at 150 patches). Computing it for a few (sequence, head) pairs at a time keeps the scores in L2 cache, and
bf16 matrix products run on the CPU's bf16 units. In fp32 the same blocking is slower than PyTorch's kernel (fp32
matrix products with an inner dimension of 8 are slow), so fp32 keeps SDPA. Measured on the paper configuration
(`benchmarks/attention.py`, and the whole classifier at batch 32 in bf16, 2 threads): on an AMD EPYC with AVX512-BF16
and no AMX the blocked attention took 10.3 ms per layer against 16.1 for SDPA in bf16 (with PyTorch's softmax; the
`exp2` form made the whole classifier 1.30x-1.50x faster again); on an Intel Xeon with AMX the softmax form was slower
than SDPA (15.8 against 9.3 ms), the `exp2` form is faster (one thread, 16 windows: 2.9 against 4.1 ms per layer; the
whole classifier 1.06x-1.16x SDPA in three runs), so every CPU runs it, for heads of up to 8 dimensions: from 32 (those
of citrus-small) SDPA's products are the faster ones (`BLOCKED_ATTENTION_MAX_HEAD_DIM`).

This file is also shipped next to the weights as remote code (with `pipelines.py`): it imports only numpy, torch and
transformers, and onnxruntime where present.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import errno
import fnmatch
import hashlib
import importlib.metadata
import importlib.util
import inspect
import itertools
import json
import logging as _stdlib_logging
import math
import numbers
import os
import shutil
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AttentionInterface
from transformers.utils import logging

logger = logging.get_logger(__name__)

BACKENDS = ("auto", "torch", "bf16", "onnxruntime")
# `vocabulary_citrus.FUSION_MODEL_TYPE`, spelt out: this file travels as remote code with the pipelines, which may
# import nothing of the package but each other (a test keeps the two equal).
FUSION_MODEL_TYPE = "citrus_fusion"
# The backends a fusion model (one encoder per modality, `{modality: (batch, channels, time)}` windows) runs on: the
# bf16 path runs a copy of the whole model, but an ONNX export has one `(batch, channels, time)` input.
FUSION_BACKENDS = ("auto", "torch", "bf16")
# (a template of the backends' spellings: `citrus predict` fills in its `--backend` option's)
FUSION_ONNX_REFUSAL_WORDS = (
    "{onnxruntime} exports models of one input, and a fusion model takes one batch per modality: use {auto} (bf16 "
    "where it keeps fp32's predicted classes), {bf16} or {torch}."
)
FUSION_ONNX_REFUSAL = FUSION_ONNX_REFUSAL_WORDS.format(
    onnxruntime="backend='onnxruntime'", auto="backend='auto'", bf16="'bf16'", torch="'torch'"
)
# Opset of the exported graphs. Opset 23's fused `Attention` operator ran slower in ONNX Runtime 1.32 on CPU than the
# MatMul-Softmax-MatMul graph of opset 18 (251 vs 294 windows/s, paper configuration, one thread).
ONNX_OPSET = 18
# The export code's version: part of the cache key, so a change of how graphs are exported invalidates old files.
# 2: the file holds its cache key (`ONNX_CACHE_KEY_FIELD`); files of format 1 have none, and their names are not looked
# up any more. 3: the graph's output is named after what it holds (`onnx_output_name`: "logits" / "embeddings", was
# "output"), and a peft model's key hashes every module class's code and the adapter's settings: a file of format 2 is
# another graph, and its key can no longer come out.
_EXPORT_FORMAT = 3
# The `metadata_props` entry of an exported file that holds its cache key (`onnx_cache_key`). The file's name holds
# only a prefix of it, and a name proves nothing about the contents: another checkpoint's export copied or renamed
# to this one's name ran as this checkpoint, with the other model's outputs.
ONNX_CACHE_KEY_FIELD = "citrus_hf.cache_key"
# Config entries that do not change the exported graph (names, provenance; the weights' dtype is in their hash): the
# same model saved and loaded again, or relabelled, reuses its export.
_CONFIG_KEYS_NOT_IN_GRAPH = frozenset(
    {"architectures", "custom_pipelines", "transformers_version", "_name_or_path", "auto_map", "id2label", "label2id"}
    | {"dtype", "torch_dtype"}
)
# A peft adapter's settings that do not change the graph (provenance; the adapter's tensors are in the weights' hash).
_ADAPTER_KEYS_NOT_IN_GRAPH = frozenset({"base_model_name_or_path", "revision", "inference_mode"})
# The "auto" choice runs ONNX Runtime only if its outputs match fp32 PyTorch this closely on the first batch:
# |onnx - fp32| <= ONNX_TOLERANCE + ONNX_RELATIVE_TOLERANCE * |fp32|, element by element, as `torch.allclose` and
# `np.allclose` compare. The relative term is what lets large outputs pass: one float32 step at 1200 (an RR interval in
# ms) is 1.2e-4, above any absolute bound that small outputs should meet, and a regressor's outputs near 1200 differed
# by exactly that step.
ONNX_TOLERANCE = 1e-4
ONNX_RELATIVE_TOLERANCE = 1e-5
# Timed runs per path, on the first batch, before "auto" keeps the fastest. The order changes with the load: on an
# idle 2-core CPU fp32 PyTorch ran 1.19x ONNX Runtime at batch 32, on the same cores shared with other work ONNX
# Runtime ran 1.85x fp32 PyTorch, and bf16 staged a night in 1.03 s in one quiet run and in 2.28 s in another
# (benchmarks/speed.py, README "Inference"), so no fixed preference is right everywhere. Two runs each (the faster of
# the two counts) keep one slow outlier from deciding; the first run, the agreement check that pays every path's
# warm-up, is not timed.
RACE_BATCHES_PER_PATH = 2
# Batches of fewer windows race apart from larger ones: bf16 ran 1264 windows/s at batch 32 and 252 at batch 1 against
# fp32's 842 and 339 (benchmarks/speed.py, Xeon with AMX), so a race won on a short first call (the last seconds of a
# recording, a warm-up) would be lost on the batches of a night.
RACE_MIN_WINDOWS = 16
# Attention weights per thread in a block of `blocked_bf16_attention`: 32 (sequence, head) pairs of 150 x 150, 1.4 MB
# in bf16, about a core's L2 cache. Paper configuration, batch 32, the whole bf16 classifier on a 2-core AVX512-BF16
# EPYC: 8, 16, 32 and 64 pairs ran 572 / 602 / 629 / 627 windows/s (one thread) and 568 / 619 / 666 / 665 (batch split
# across two). Counted in weights, not pairs, so that short sequences come in few large blocks: criss-cross heads
# attend across a handful of channels for every patch, and in blocks of 32 pairs their 4,800 sequences of 6 took
# 22 ms, most of it per-block overhead, against 14 for SDPA.
ATTENTION_BLOCK_WEIGHTS = 32 * 150 * 150
# Widest head `blocked_bf16_attention` computes itself; wider heads go to PyTorch's SDPA (in bf16 under autocast), whose
# products fill the CPU's bf16 tiles once the inner dimension reaches 32. One thread, 16 sequences in the model's
# layout, SDPA / blocked time on an AMX Xeon: 1.44 / 1.36 / 1.24 at 100 / 150 / 300 patches with heads of 8, 1.03 /
# 1.00 / 0.81 with 16, 0.81 / 0.84 / 0.78 with 32 (citrus-small's), 0.54-0.62 with 64; with oneDNN held to
# AVX512-BF16 on the same CPU 1.54 / 1.54 / 1.28, 1.08 / 1.10 / 0.84, 0.67 / 0.67 / 0.54 and 0.34-0.45.
BLOCKED_ATTENTION_MAX_HEAD_DIM = 8
BLOCKED_ATTENTION = "citrus_blocked_bf16"
_LOG2_E = math.log2(math.e)
# `_exp2_attention`: added to a masked key's score (base 2): exp2 of the sum is exactly 0 in bf16 and fp32, and it is
# finite, so no infinity enters the matrix product.
_MASKED_SCORE = -30000.0
# `_exp2_attention`: a query whose weights sum below this had its bound so far above its largest score that exp2
# nears its underflow at 2^-126 (unshifted weights stay above 2^-64); the call is redone with the softmax.
_UNDERFLOW_SUM = 2.0**-100
# `_exp2_attention`: scores (base 2) bounded by this in absolute value are not shifted: exp2 of them, summed
# over up to 2^16 keys and times values up to 2^40, stays far from bf16's and float32's overflow at 2^128.
_UNSHIFTED_SCORE_LIMIT = 64.0
# A batch is split across threads (`InferenceBackend`, `batch_threads`) only into shares of at least this many windows:
# below it, a thread's share is too small for its operators to beat one call with every thread on each operator.
MIN_WINDOWS_PER_THREAD = 4
_INSTALL_ONNX = "pip install citrus-hf[onnx]"


# ----------------------------------------------------------------------------------------------------------------------
# What the machine offers
# ----------------------------------------------------------------------------------------------------------------------


def cpu_bf16_support() -> str | None:
    """The CPU's native bf16 instructions: `"amx_bf16"`, `"avx512_bf16"`, or None (bf16 would be emulated, slower
    than fp32). Read from PyTorch's CPU capability report, else from the flags in /proc/cpuinfo."""
    capabilities: dict = {}
    try:
        capabilities = dict(torch._C._cpu._get_cpu_capability())
    except (AttributeError, RuntimeError, TypeError):
        try:
            flags = set(Path("/proc/cpuinfo").read_text(encoding="utf-8").split())
        except OSError:
            flags = set()
        capabilities = {flag: True for flag in flags & {"amx_bf16", "avx512_bf16"}}
    for instruction_set in ("amx_bf16", "avx512_bf16"):
        if capabilities.get(instruction_set):
            return instruction_set
    return None


def dense_stem_in_bf16(bf16_support: str | None) -> bool:
    """Whether the bf16 path runs the CNN stem's residual blocks as dense matrix products
    (`CiTrusCNNStem.use_dense_blocks`) on a CPU with `bf16_support` (`cpu_bf16_support()`).

    On an Intel Xeon with AMX the dense products ran the paper configuration's stem 5x faster than its bf16
    convolutions (2400 patches, one thread: 1.48 ms against 7.37). They do ~4x the convolutions' arithmetic, which AMX
    absorbs; without it they lose: on the same Xeon with oneDNN held to AVX512-BF16 (`ONEDNN_MAX_CPU_ISA`), 13.0 ms
    against 9.5 at patches of 20 samples, level at 10, so the convolutions stay there.
    """
    return bf16_support == "amx_bf16"


def onnx_export_available() -> str | None:
    """None when ONNX Runtime and the exporter's packages (onnx, onnxscript) are installed, else what is missing."""
    missing = [name for name in ("onnxruntime", "onnx", "onnxscript") if not _importable(name)]
    return ", ".join(missing) if missing else None


def _importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules (`sys.modules[name] = None`)
        return False


# ----------------------------------------------------------------------------------------------------------------------
# What a backend computes
# ----------------------------------------------------------------------------------------------------------------------


# What an `InferenceTarget` computes (its `output`); `target=` also takes these names for the target with the config's
# embedding options.
TARGET_OUTPUTS = ("logits", "embeddings")


@dataclass(frozen=True)
class InferenceTarget:
    """The output a backend computes from aligned windows.

    Attributes:
        output: `"logits"` (the task head's output: class logits or regression targets) or `"embeddings"`
            (`model.embed`).
        features, pooling, channel_pooling: `embed()`'s arguments for `"embeddings"` (None: the config's).
    """

    output: str = "logits"
    features: str | None = None
    pooling: str | None = None
    channel_pooling: str = "concat"

    def __post_init__(self):
        if self.output not in TARGET_OUTPUTS:
            raise ValueError(f"`output` must be one of {', '.join(map(repr, TARGET_OUTPUTS))}, got {self.output!r}.")

    def compute(self, model: torch.nn.Module, input_values: Windows, patch_mask: Windows | None):
        """Run `model` on `(batch, channels, time)` windows (a fusion model: one per modality) and return this target,
        `(batch, outputs)`."""
        if self.output == "embeddings":
            return model.embed(
                input_values,
                patch_mask=patch_mask,
                features=self.features,
                pooling=self.pooling,
                channel_pooling=self.channel_pooling,
            )
        # return_dict=True: a model whose config says return_dict=False (for torch.jit.trace) returns tuples
        return model(input_values=input_values, patch_mask=patch_mask, return_dict=True).logits


def target_for(model: torch.nn.Module, target: InferenceTarget | str | None) -> InferenceTarget:
    """What the backends compute for `model`: `target` (an `InferenceTarget`, or the name of its output, `"logits"` or
    `"embeddings"`, for `InferenceTarget(name)`) or, when None, the model's own output, with the embedding options
    left to the config filled in (`resolved_target`). Checked before any forward pass.

    The default follows the model: a task model's head output (`"logits"`), and the embeddings (`embed()`) of a
    model without a task head (the bare encoder citrus-small loads as, a pre-training model), which has no other
    output to give. That is what the package does wherever no task is named: `pipeline(model=...)` serves an
    encoder as "time-series-feature-extraction" and `citrus export` exports its embeddings. A fixed `"logits"` had
    run a whole forward pass and then failed deep inside with "'CiTrusModelOutput' object has no attribute
    'logits'".

    Raises:
        TypeError: `target` is neither an `InferenceTarget` nor a string.
        ValueError: an unknown output name, or `"logits"` asked of a model without a task head.
    """
    if isinstance(target, str):  # the natural reading of "what to compute" (it had failed on `target.output`)
        target = InferenceTarget(target)
    elif target is not None and not isinstance(target, InferenceTarget):
        raise TypeError(
            f"`target` takes an InferenceTarget or the name of its output ({', '.join(map(repr, TARGET_OUTPUTS))}), "
            f"got {type(target).__name__}."
        )
    if is_fusion_model(model) and target is not None and target.output != "logits":
        raise ValueError(
            "The backends run a fusion model's task head (target 'logits'); for its fused embedding call "
            "`model.embed(input_values, patch_mask)`."
        )
    encoder = problem_of(model) == "encoder"
    if target is None:
        target = InferenceTarget("embeddings") if encoder else InferenceTarget()
    elif encoder and target.output == "logits":
        raise ValueError(
            f"{type(model).__name__} has no task head, so it has no logits: load a fine-tuned checkpoint into its "
            "task class (e.g. CiTrusForSequenceClassification.from_pretrained(folder)), or pass "
            "target=InferenceTarget('embeddings') (the default for such a model) for its embed() vectors."
        )
    return resolved_target(model, target)


def resolved_target(model: torch.nn.Module, target: InferenceTarget) -> InferenceTarget:
    """`target` with the embedding options left to the config (`features`, `pooling`: None) replaced by the config's
    values (`embed()` does the same): `pooling=config.pooling` given explicitly and left out compute one graph, and
    find one export."""
    if target.output != "embeddings":
        return target
    config = model.config
    features = getattr(config, "head_features", None) if target.features is None else target.features
    pooling = getattr(config, "pooling", None) if target.pooling is None else target.pooling
    return replace(target, features=features, pooling=pooling)


def problem_of(model: torch.nn.Module) -> str:
    """What `model` outputs: "classification", "regression" (a regressor, or a classifier trained as one:
    `problem_type="regression"`) or "encoder" (no task head), from its task head (`head_name`)."""
    head = getattr(model, "head_name", None)
    if head == "regressor" or getattr(model.config, "problem_type", None) == "regression":
        return "regression"
    return "classification" if head == "classifier" else "encoder"


def scores_each_output(config) -> bool:
    """Whether a classifier's logits are scored each on its own, with a sigmoid, rather than with a softmax over them:
    multi-label classification, or one output (a binary classifier with one logit). transformers' text-classification
    pipeline's rule; a softmax over one logit is 1 whatever the model computes. A prediction then changes when a logit
    crosses 0, not when another logit becomes the largest (a one-output head's only logit always is)."""
    return getattr(config, "problem_type", None) == "multi_label_classification" or config.num_labels == 1


# A batch of aligned windows: `(batch, channels, time)`, or a fusion model's `{modality: (batch, channels, time)}` (and
# its patch mask, `(batch, num_patches)` or `{modality: (batch, num_patches) or None}`).
Windows = torch.Tensor | Mapping[str, torch.Tensor]


def is_fusion_model(model: torch.nn.Module) -> bool:
    """Whether `model` is a fusion model, whose windows are one batch per modality (`Windows`)."""
    return getattr(getattr(model, "config", None), "model_type", None) == FUSION_MODEL_TYPE


def batch_length(input_values: Windows) -> int:
    """The number of windows in `input_values` (every modality of a fusion batch has as many)."""
    if isinstance(input_values, Mapping):
        return len(next(iter(input_values.values())))
    return len(input_values)


def map_windows(function: Callable[[torch.Tensor], torch.Tensor], windows: Windows | None) -> Windows | None:
    """`function` on the tensor of `windows`, or on each modality's of a fusion batch (None stays None): one code path
    moves, selects and splits both kinds."""
    if windows is None:
        return None
    if isinstance(windows, Mapping):
        return {name: None if tensor is None else function(tensor) for name, tensor in windows.items()}
    return function(windows)


def split_windows(windows: Windows | None, shares: int) -> list:
    """`windows` cut into `shares` consecutive parts along the batch (`tensor_split`), each of the same kind."""
    if windows is None:
        return [None] * shares
    if isinstance(windows, Mapping):
        parts = {name: split_windows(tensor, shares) for name, tensor in windows.items()}
        return [{name: modality_parts[share] for name, modality_parts in parts.items()} for share in range(shares)]
    return list(windows.tensor_split(shares))


class InferenceBackend:
    """One way of running a model's forward pass on aligned windows.

    Call it with `input_values` `(batch, channels, time)` and `patch_mask` `(batch, num_patches)` (or None), or a
    fusion model's dicts of them, one per modality (`Windows`); it
    returns the target's output as a float32 CPU tensor `(batch, outputs)`, without gradients. `name` says which
    backend ran ("torch", "bf16", "onnxruntime").

    With `batch_threads` > 1 a batch is cut into that many shares (each at least `MIN_WINDOWS_PER_THREAD` windows),
    run at the same time by as many threads, each operator of a share on one core. Why: CiTrus's operators are small
    (attention over 25-150 patches with heads of 8-16 values), and PyTorch spreading each one over the cores costs a
    synchronisation per operator for little work; whole shares per core do not. On the 2-core development machine,
    paper configuration, batch 32, one run: fp32 PyTorch 477 -> 607 windows/s, bf16 653 -> 692, ONNX Runtime 477 ->
    524 (`python benchmarks/speed.py`, README "Inference"). Each window's output does not depend on the others in its
    batch, so the split changes nothing but the time.
    """

    name: str = ""

    def __init__(
        self,
        model: torch.nn.Module,
        target: InferenceTarget,
        batch_threads: int = 1,
        source_model: torch.nn.Module | None = None,
    ):
        self.model = model
        self.target = target
        self.batch_threads = batch_threads
        # the caller's model: a path may run a converted copy of it as `model`
        self.source_model = model if source_model is None else source_model
        self.fingerprint = None if self.source_model is None else weights_fingerprint(self.source_model)
        self.adapters = None if self.source_model is None else adapter_state(self.source_model)

    @property
    def is_stale(self) -> bool:
        """Whether the caller's model has changed since this backend was built (trained further, `load_state_dict`,
        an adapter loaded, another adapter set active or the adapters disabled): a path that runs a copy or an export
        of it would give the old model's outputs."""
        if self.fingerprint is None:
            return False
        # the adapter state first: cheap, and switching adapters (`set_adapter`, `disable_adapter()`) changes no tensor
        return adapter_state(self.source_model) != self.adapters or weights_fingerprint(self.source_model) != (
            self.fingerprint
        )

    def __call__(self, input_values: torch.Tensor, patch_mask: torch.Tensor | None = None) -> torch.Tensor:
        global _RAN_INFERENCE
        _RAN_INFERENCE = True  # see `_start_clean_in_forked_child`
        shares = min(self.batch_threads, batch_length(input_values) // MIN_WINDOWS_PER_THREAD)
        with _in_eval_mode(self.model):
            if shares <= 1:
                return self._forward(input_values, patch_mask, in_share=False)
            return _run_in_shares(self._forward, input_values, patch_mask, shares)

    def _forward(self, input_values: torch.Tensor, patch_mask: torch.Tensor | None, in_share: bool) -> torch.Tensor:
        """The output for `(batch, channels, time)` windows; `in_share`: called on one share of a split batch, in a
        thread whose PyTorch operators run on one core."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


# The models inference runs now, by `id`: how many calls run each and the modules it found in training mode, which the
# last of those calls puts back in it (`_in_eval_mode`). Forgotten in a forked child (`_start_clean_in_forked_child`).
_EVAL_HOLDS: dict[int, tuple[int, list[torch.nn.Module]]] = {}
_EVAL_HOLDS_LOCK = threading.Lock()


@contextmanager
def _in_eval_mode(model: torch.nn.Module | None) -> Iterator[None]:
    """Runs `model` (None: a path that runs no PyTorch module) in eval mode (no dropout), then gives each of its modules
    back the mode it came in: a caller that predicts in the middle of training keeps training with dropout, and an
    encoder it keeps in eval mode under a training head (`model.train(); model.citrus.eval()`) stays so, where a
    `model.train()` afterwards had put every module in training mode. Calls from several threads share one switch: the
    first puts the model in eval mode and the last gives the modes back, where each call had switched on its own and
    a call ending put the model back in training mode while another thread's call was running on it, whose windows
    then went through dropout."""
    if model is None:
        yield
        return
    key = id(model)
    with _EVAL_HOLDS_LOCK:
        calls, training = _EVAL_HOLDS.get(key, (0, []))
        if not calls:
            training = [module for module in model.modules() if module.training]
            if training:
                model.eval()
        _EVAL_HOLDS[key] = (calls + 1, training)
    try:
        yield
    finally:
        with _EVAL_HOLDS_LOCK:
            calls, training = _EVAL_HOLDS.pop(key)
            if calls > 1:
                _EVAL_HOLDS[key] = (calls - 1, training)
            else:
                for module in training:
                    module.training = True  # the flag alone: `train()` would set every submodule's too


# One pool per share count, kept for the process: each of its threads runs its PyTorch operators on one core for
# life (`_share_pool`). Forgotten in a forked child (`_start_clean_in_forked_child`).
_SHARE_POOLS: dict[int, ThreadPoolExecutor] = {}
_SHARE_POOLS_LOCK = threading.Lock()


def _share_pool(shares: int) -> ThreadPoolExecutor:
    """The process's pool of `shares` threads, started on first use with every thread on one core.

    `torch.set_num_threads` bounds the calling thread's operators (OpenMP's and MKL's per-thread settings), and it
    also stores the process default that any thread takes at its first PyTorch call. Each pool thread sets one core
    once, in the pool's initializer, after taking the default itself (its first call, which would otherwise reset its
    setting to the default later); the default is then put back at once. Setting it on every batch, as before, left
    it at 1 while a batch ran: a thread started meanwhile (a server's worker, a DataLoader thread) ran on one core
    for life. Now only threads started during the pool's start, once per process, can see 1."""
    with _SHARE_POOLS_LOCK:
        pool = _SHARE_POOLS.get(shares)
        if pool is not None:
            return pool
        defaults: list[int] = []
        all_read, all_set = threading.Barrier(shares), threading.Barrier(shares + 1)

        def one_core() -> None:
            defaults.append(torch.get_num_threads())  # this thread's first PyTorch call: it takes the default
            all_read.wait()  # every thread has taken it before any sets 1 (which changes the default)
            torch.set_num_threads(1)
            all_set.wait()  # with the caller, which then puts the default back

        pool = ThreadPoolExecutor(shares, thread_name_prefix="citrus-inference", initializer=one_core)
        # Start all `shares` threads now (each task starts one while the others wait in the initializer): the
        # executor starts one per task only while none is idle, so a first share that ended before the next was
        # queued would leave the pool one thread short for good.
        for _ in range(shares):
            pool.submit(int)
        all_set.wait()
        # The default back, set from a thread of its own: `set_num_threads` here would also set the caller's count.
        restore = threading.Thread(target=torch.set_num_threads, args=(defaults[0],), name="citrus-inference-restore")
        restore.start()
        restore.join()
        _SHARE_POOLS[shares] = pool
        return pool


def _run_in_shares(forward, input_values: Windows, patch_mask: Windows | None, shares: int) -> torch.Tensor:
    """`forward(input_values, patch_mask, in_share=True)` on `shares` consecutive parts of the batch at once, one
    thread each, each thread's PyTorch operators on one core; the outputs concatenated in the batch's order."""
    pool = _share_pool(shares)
    parts, masks = split_windows(input_values, shares), split_windows(patch_mask, shares)
    # Each share runs in the caller's context (a copy each: one context cannot be entered by two threads at once): the
    # model reads context variables its caller set, such as `windows_of_checked_recordings`, without which a split
    # pass of a wide recording's windows was refused as `(batch, time, channels)` where the same pass in one thread ran.
    contexts = [contextvars.copy_context() for _ in range(shares)]
    return torch.cat(
        list(pool.map(lambda context, part, mask: context.run(forward, part, mask, True), contexts, parts, masks))
    )


# whether this process has run a model through a backend (its OpenMP threads started): see below
_RAN_INFERENCE = False


def _start_clean_in_forked_child() -> None:
    """A forked child (`datasets.map(num_proc=...)`, a fork `multiprocessing.Pool`, a pre-forking server) starts with
    no share pool, fresh locks and, where this process has run inference, PyTorch on one thread.

    It inherits the share pools without their threads: the executors, whose idle count the parent's threads had
    raised, never started new ones, and the child's first split batch waited forever. It inherits the locks in
    whatever state the parent's other threads held them. And GNU OpenMP, PyTorch's CPU thread pool, does not survive
    a fork: once the parent has run a parallel operator (any inference with more than one thread), the child's first
    multi-threaded operator waits forever for threads it does not have (pytorch/pytorch#17199), so the child runs on
    one thread, as PyTorch's own DataLoader workers do. The backends a model or a pipeline kept (ONNX Runtime's
    sessions hold threads too) are dropped on their first use in the child (`_BackendCache`) and built again there,
    with one thread."""
    global _SHARE_POOLS, _SHARE_POOLS_LOCK, _BUILDING, _EVAL_HOLDS, _EVAL_HOLDS_LOCK
    _SHARE_POOLS = {}
    _SHARE_POOLS_LOCK = threading.Lock()
    _EVAL_HOLDS = {}
    _EVAL_HOLDS_LOCK = threading.Lock()
    _BUILDING = threading.RLock()
    if _RAN_INFERENCE:
        torch.set_num_threads(1)


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_start_clean_in_forked_child)


class TorchBackend(InferenceBackend):
    """The model as it is: fp32 on CPU (or whatever dtype and device it was loaded with)."""

    name = "torch"

    @property
    def is_stale(self) -> bool:
        return False  # it runs the caller's model itself, as it is now

    @torch.inference_mode()
    def _forward(self, input_values, patch_mask, in_share):
        device = self.model.device
        patch_mask = map_windows(lambda mask: mask.to(device), patch_mask)
        with without_autocast(device.type):
            output = self.target.compute(
                self.model, map_windows(lambda values: values.to(device), input_values), patch_mask
            )
        return output.float().cpu()


def without_autocast(device_type: str):
    """A context in which a caller's `torch.autocast` on `device_type` does not reach: "torch" is the reference in the
    model's own dtype, the one "auto" checks the faster paths against (under a caller's CPU autocast it ran in bf16
    and said "torch"), and an ONNX export traced under autocast held bf16 operators ONNX Runtime's CPU provider
    refuses. backend="bf16" is the bf16 path."""
    if torch.amp.is_autocast_available(device_type):
        return torch.autocast(device_type, enabled=False)
    return contextlib.nullcontext()


class BFloat16Backend(InferenceBackend):
    """`torch.autocast` to bfloat16 on CPU with the blocked attention (`blocked_bf16_attention`) and, on AMX, the
    dense stem (`dense_stem_in_bf16`), on a copy of the model so that the caller's model stays as it is."""

    name = "bf16"

    def __init__(self, model: torch.nn.Module, target: InferenceTarget, batch_threads: int = 1):
        if model.device.type != "cpu":
            raise ValueError(
                f"backend='bf16' is the CPU bf16 path; the model is on {model.device}. Use backend='torch' (for "
                "mixed precision on an accelerator, load the model with dtype=torch.bfloat16)."
            )
        if model.dtype != torch.float32:
            raise ValueError(
                f"backend='bf16' runs a float32 model in bf16 autocast, and this one is {model.dtype}; load it in "
                "float32 for this path (`dtype=torch.float32` to from_pretrained or pipeline: transformers loads a "
                "checkpoint in the dtype it was saved in), or use backend='torch'."
            )
        _refuse_quantized(model, self.name)
        bf16_support = cpu_bf16_support()
        if bf16_support is None:
            logger.warning_once(
                "This CPU has no native bf16 instructions (AVX512-BF16 or AMX): backend='bf16' is emulated and "
                "slower than fp32. backend='auto' picks the fastest exact path."
            )
        register_blocked_attention()
        bf16_model = fold_adapters(copy.deepcopy(_uncompiled(model)).eval())
        bf16_model.set_attn_implementation(BLOCKED_ATTENTION)
        head_name = getattr(type(bf16_model), "head_name", None)
        if head_name and isinstance(getattr(bf16_model, head_name, None), torch.nn.Linear):
            setattr(bf16_model, head_name, Float32Head(getattr(bf16_model, head_name)))
        if dense_stem_in_bf16(bf16_support):
            for module in bf16_model.modules():
                if callable(getattr(module, "use_dense_blocks", None)):  # CiTrusCNNStem
                    module.use_dense_blocks(torch.bfloat16)
        super().__init__(bf16_model, target, batch_threads, source_model=model)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # The bf16 copy runs the blocked attention by its registered name: a process it is unpickled in (a spawned
        # DataLoader worker, joblib's or Ray's) had no such name, and the first call failed in transformers ("not a
        # valid attention implementation registered in the AttentionInterface").
        register_blocked_attention()
        self.__dict__.update(state)

    @torch.inference_mode()
    def _forward(self, input_values, patch_mask, in_share):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            output = self.target.compute(self.model, map_windows(torch.Tensor.cpu, input_values), patch_mask)
        return output.float()


def _uncompiled(model: torch.nn.Module) -> torch.nn.Module:
    """The module that `torch.compile(module)` wrapped (its `_orig_mod`), or `model` itself when it is no such wrapper.

    The bf16 path copies this one: run under bf16 autocast, the compiled wrapper recompiled the blocked attention,
    and PyTorch 2.13's Inductor could not lower it (a LoweringException on `mkldnn._linear_pointwise`); the copy of
    the module under it runs the bf16 path eagerly, as for a model never compiled, and "auto" still keeps it only if
    it reproduces fp32's classes, from the compiled model itself. Only the wrapper's own `_orig_mod` (in its
    `_modules`): a peft model delegates attribute lookups down to the modules it wraps, and a compiled module under
    one must not be reached past its adapters. `nn.Module.compile()` (in place) needs nothing: a copy of such a module
    is not compiled."""
    while isinstance(model._modules.get("_orig_mod"), torch.nn.Module):
        model = model._modules["_orig_mod"]
    return model


def adapter_state(model: torch.nn.Module) -> tuple:
    """Which peft adapters `model` runs now: the distinct (active adapters, disabled) pairs of its peft layers (tuner
    layers and `modules_to_save` wrappers), sorted; empty for a model without adapters.

    Switching adapters (`set_adapter`) or `disable_adapter()` changes what the model computes without changing any
    tensor, so a kept backend (`InferenceBackend.is_stale`) and an ONNX export (`onnx_cache_key`) key it beside the
    weights. Read from the layers themselves, so that adapters injected by transformers (`load_adapter`,
    `from_pretrained` of an adapter folder) count as well as a `PeftModel`'s. Duck-typed: this module is remote code,
    it cannot import peft."""
    states = set()
    for module in model.modules():
        if hasattr(module, "base_layer") or hasattr(module, "original_module"):
            active = getattr(module, "active_adapters", None)
            disabled = getattr(module, "disable_adapters", None)
            if isinstance(disabled, bool) and active is not None:
                states.add((tuple(active), disabled))
    return tuple(sorted(states))


def fold_adapters(model: torch.nn.Module) -> torch.nn.Module:
    """`model` (a copy: it is changed in place) with each of its peft layers replaced by what it computes now: a tuner
    layer by its base layer with the active adapters merged in (or left out when the adapters are disabled), a
    `modules_to_save` wrapper by the module it runs; a `PeftModel` then by the model under it.

    The bf16 path needs plain layers: its dense stem is built from the convolutions' weights (a wrapped one has no
    `in_channels`), and its fp32 head is put on the task model's own head. peft's `merge_and_unload` did it for a
    `PeftModel` only, and merged the active adapter also inside `disable_adapter()`; a model whose adapters
    transformers injected has no such method. A layer whose method cannot merge (peft raises) keeps its wrapper, and
    the stem then keeps its convolutions (`CiTrusCNNStem.use_dense_blocks`)."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            folded = _folded_layer(child)
            if folded is not child:
                setattr(parent, name, folded)
    get_base_model = getattr(model, "get_base_model", None)  # a PeftModel's; transformers' models have none
    return get_base_model() if callable(get_base_model) else model


def _folded_layer(module: torch.nn.Module) -> torch.nn.Module:
    """One peft layer as the plain module it computes now (see `fold_adapters`); any other module as it is."""
    disabled = getattr(module, "disable_adapters", None)
    if not isinstance(disabled, bool):
        return module
    if hasattr(module, "original_module") and hasattr(module, "modules_to_save"):  # peft's ModulesToSaveWrapper
        active = [name for name in module.active_adapters if name in module.modules_to_save]
        # as its forward: the original module when disabled or when no active adapter saves this one
        return module.original_module if disabled or not active else _folded_layer(module.modules_to_save[active[0]])
    if not (hasattr(module, "base_layer") and callable(getattr(module, "get_base_layer", None))):
        return module
    try:
        if disabled:
            if module.merged:  # as its forward: a disabled layer unmerges first
                module.unmerge()
        elif not module.merged:  # a merged layer runs its base layer as it is
            module.merge(adapter_names=list(module.active_adapters))
    except (NotImplementedError, ValueError, RuntimeError, AttributeError):
        return module  # a method that cannot merge: the layer runs wrapped
    return module.get_base_layer()


class Float32Head(torch.nn.Module):
    """A task head run in fp32 inside the bf16 path. The head reads every pooled feature (49,152 for citrus-small's
    probe on 6 channels: 4 layers x 128 dimensions x 16 statistics x 6 channels) into a few outputs: next to nothing
    to compute, and in bf16 PyTorch 2.13's CPU kernel for that shape kills the process with a floating point
    exception on a CPU with AMX (one thread, 32 rows, 49,152 inputs; 32,768 inputs, 16 rows or two threads ran).
    A model of this package runs its head so under CPU autocast itself (`_CiTrusForTask._run_head`); this wrapper
    serves a model whose class came as a checkpoint's remote code of an earlier version, without it."""

    def __init__(self, head: torch.nn.Linear):
        super().__init__()
        self.head = head

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", enabled=False):
            return self.head(features.float())


class OnnxRuntimeBackend(InferenceBackend):
    """The model exported to ONNX (once, cached; see `onnx_export_path`) and run by ONNX Runtime on CPU."""

    name = "onnxruntime"

    def __init__(
        self,
        model: torch.nn.Module,
        target: InferenceTarget,
        cache_dir: str | os.PathLike | None = None,
        num_threads: int | None = None,
        batch_threads: int = 1,
    ):
        if is_fusion_model(model):
            raise ValueError(FUSION_ONNX_REFUSAL)
        if model.device.type != "cpu":
            raise ValueError(
                f"backend='onnxruntime' is the CPU path (ONNX Runtime's CPU provider); the model is on {model.device}. "
                "Use backend='torch', or move the model to the CPU first."
            )
        missing = onnx_export_available()
        if missing:
            raise ImportError(
                f"backend='onnxruntime' needs onnxruntime, onnx and onnxscript; {missing} not installed. Install "
                f"them with `{_INSTALL_ONNX}`, or use backend='torch'."
            )
        if model.dtype != torch.float32:
            raise ValueError(
                f"backend='onnxruntime' exports fp32 models, and this one is {model.dtype}; load it in float32 for "
                "ONNX Runtime (`dtype=torch.float32` to from_pretrained or pipeline: transformers loads a checkpoint "
                "in the dtype it was saved in), or use backend='torch'."
            )
        _refuse_quantized(model, self.name)
        super().__init__(model, target, batch_threads)
        self.cache_dir, self.num_threads = cache_dir, num_threads
        self._open_sessions()

    def _open_sessions(self) -> None:
        """Export the model (or find its export in the cache) and open ONNX Runtime's sessions on it."""
        try:
            self.path, self.exported = export_onnx(self.model, self.target, self.cache_dir)
        except _UnusableExportError:
            raise
        except OSError as error:  # a cache folder that is a file, read-only, or full
            raise OnnxCacheWriteError(
                onnx_cache_dir(self.cache_dir), error.strerror or str(error), error.errno in _DISK_FULL, error.errno
            ) from None
        try:
            import onnxruntime
        except ImportError as error:  # checked by the caller; kept in `try` for the remote-code import check
            raise ImportError(f"backend='onnxruntime' needs onnxruntime: `{_INSTALL_ONNX}`.") from error

        def session(threads: int):
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # errors only
            return onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

        try:
            self.session = session(self.num_threads or torch.get_num_threads())
        except Exception as error:  # onnxruntime's own exceptions: a corrupt cached file
            raise _UnusableExportError(self.path, f"could not be loaded by ONNX Runtime ({error})") from None
        # the shares of a split batch run concurrently on one single-threaded session (`run` is thread-safe)
        self.share_session = session(1) if self.batch_threads > 1 else None

    def __getstate__(self) -> dict[str, Any]:
        # ONNX Runtime's sessions do not pickle (`pickle.dumps`, `copy.deepcopy` and a spawned DataLoader, joblib or
        # Ray worker failed on "cannot pickle 'InferenceSession' object"): a copy opens its own on the model's export,
        # the cached file where this process's cache is its cache too, else exported there anew.
        return {**self.__dict__, "session": None, "share_session": None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._open_sessions()

    def _forward(self, input_values, patch_mask, in_share):
        # the checks the PyTorch model runs on its inputs (the exported graph has none: NaN would come out as NaN,
        # an empty window as zeros, a mask of another shape as ONNX Runtime's INVALID_ARGUMENT)
        input_values = self.model._check_input_values(input_values.detach().cpu())
        if patch_mask is not None:
            num_patches = input_values.shape[-1] // self.model.config.patch_length
            patch_mask = self.model._check_patch_mask(patch_mask.cpu(), (len(input_values), 0, num_patches))
            self.model._check_windows_hold_signal(patch_mask)
        policy = shape_policy(self.model, self.target)
        channels_fixed = policy["channels"] != "any" and input_values.shape[1] != policy["channels"]
        num_patches = input_values.shape[-1] // self.model.config.patch_length
        if channels_fixed or num_patches > MAX_EXPORTED_PATCHES:
            raise ValueError(
                f"The exported ONNX model takes windows of shape (batch, {policy['channels']}, time) (channels: "
                f"{policy['channels']}, as the model's channel_pooling allows; time: {policy['time']}, at most "
                f"{MAX_EXPORTED_PATCHES} patches), got {tuple(input_values.shape)}; align recordings with the model's "
                "CiTrusFeatureExtractor."
            )
        if patch_mask is None:
            patch_mask = torch.ones(input_values.shape[0], input_values.shape[-1] // self.model.config.patch_length)
        feed = {"input_values": input_values.numpy(), "patch_mask": patch_mask.detach().cpu().to(torch.int64).numpy()}
        (output,) = (self.share_session if in_share else self.session).run([onnx_output_name(self.target)], feed)
        return torch.from_numpy(output)


@dataclass(frozen=True)
class Contender:
    """A faster path that "auto" may run instead of fp32 PyTorch: kept only if `check(its_output, fp32_output)` holds
    on the first batch; `description` says what a failed check means (for the warning)."""

    backend: InferenceBackend
    check: Callable[[torch.Tensor, torch.Tensor], bool]
    description: str


class CheckedBackend(InferenceBackend):
    """Faster `contenders` that are kept only if their output on the first batch agrees with the `reference` (fp32
    PyTorch), and only where one of them is faster on this machine.

    Agreement is each contender's `check`: equal predicted classes for bf16 classification, differences within
    `ONNX_TOLERANCE` + `ONNX_RELATIVE_TOLERANCE` x |fp32 output| for ONNX Runtime. A contender that disagrees is
    dropped for good, and so is one that fails on a later batch (fp32 computes that batch: `_drop_after_failure`).
    The paths left, the reference among them, then race on the batch in hand: `race_batches` timed rounds, each path once per round in the order
    given (reference last), after one untimed run of any path that has not run yet (its warm-up); the fastest (best
    of its rounds, by `clock`) computes that batch's output and every later one of its size class. The order of the
    paths depends on the batch size (bf16 wins at 32 windows and loses at one on the machines measured), so small
    batches (fewer than `RACE_MIN_WINDOWS`) and large ones race apart, each once. Every output of one size class
    comes from one path: the same windows in the same batches give the same numbers on every call, which a race over
    the first few batches (each on whichever path's turn it was) did not. `name` is the path that ran the last batch
    of the calling thread (before its first call, the first contender); `differences`, after the first batch, how far
    each contender's outputs were from fp32's on it (the largest absolute difference, by name).

    Thread-safe: the check and each race run once, under a lock, while concurrent first calls wait for the choice
    (each had run its own check and race, and overwritten the others' choices); and `name`, read after a call, is
    the path that computed that call's output in every thread.
    """

    def __init__(
        self,
        contenders: Sequence[Contender],
        reference: InferenceBackend,
        *,
        race_batches: int = RACE_BATCHES_PER_PATH,
        clock: Callable[[], float] = time.perf_counter,
    ):
        super().__init__(reference.model, reference.target)
        self.contenders = list(contenders)
        self.reference = reference
        self.race_batches = race_batches
        self.clock = clock
        self.paths: list[InferenceBackend] | None = None  # after the check: those that agree, then the reference
        self.active: dict[bool, InferenceBackend] = {}  # the winner of each size class (True: large batches)
        self.warm: set[InferenceBackend] = set()
        # each contender's largest |output - fp32 output| on the first batch, by name (set by the check)
        self.differences: dict[str, float] = {}
        self.ran: InferenceBackend = self.contenders[0].backend if self.contenders else reference
        self._choosing = threading.Lock()
        self._thread = threading.local()  # `ran` of the calling thread

    def __getstate__(self) -> dict[str, Any]:
        # The lock and the per-thread `ran` are this object's, in this process: `pickle.dumps` and `copy.deepcopy`
        # failed on "cannot pickle '_thread.lock' object". A copy gets its own, and keeps the paths chosen so far.
        state = dict(self.__dict__)
        del state["_choosing"], state["_thread"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._choosing = threading.Lock()
        self._thread = threading.local()

    @property
    def name(self) -> str:
        return getattr(self._thread, "ran", self.ran).name

    @property
    def decided(self) -> bool:
        """Whether a path has been chosen for at least one size class."""
        return bool(self.active)

    @property
    def is_stale(self) -> bool:
        # the contenders were built from the reference's model with this backend: one fingerprint serves them all
        return bool(self.contenders) and InferenceBackend.is_stale.fget(self)

    def __call__(self, input_values, patch_mask=None):
        large = batch_length(input_values) >= RACE_MIN_WINDOWS
        outputs = {}
        path = self.active.get(large)
        if path is None:
            with self._choosing:
                path = self.active.get(large)  # chosen while this thread waited
                if path is None:
                    if self.paths is None:
                        outputs = self._check(input_values, patch_mask)
                    path = self.active[large] = self._race(input_values, patch_mask, outputs, large)
        self.ran = self._thread.ran = path
        output = outputs.get(path)  # the batch's output, when the check or the race computed it on this path
        if output is not None:
            return output
        try:
            return path(input_values, patch_mask)
        except Exception as error:
            if path is self.reference:
                raise
            # A faster path can pass its first batch and fail on a later shape (another window length than the
            # export was traced with, a batch a compiler lowers differently); fp32 PyTorch is always there. The
            # reference runs first: an input at fault raises its own error there, and the contender is kept.
            output = self.reference(input_values, patch_mask)
            self._drop_after_failure(path, batch_length(input_values), error)
            self.ran = self._thread.ran = self.reference
            return output

    def _drop_after_failure(self, path: InferenceBackend, windows: int, error: Exception) -> None:
        """Leave out for good `path`, a contender that failed on a batch of `windows` windows after it was chosen:
        the size classes it won race again, among the paths left, on their next batch."""
        with self._choosing:
            if path not in self.paths:  # another thread dropped it meanwhile
                return
            _drop_contender(f"{path.name} failed on a later batch ({windows} windows)", error)
            self.paths = [kept for kept in self.paths if kept is not path]
            self.active = {size: kept for size, kept in self.active.items() if kept is not path}

    def _race(self, input_values, patch_mask, outputs: dict, large: bool) -> InferenceBackend:
        """The fastest path on this batch (`race_batches` timed runs each, after one untimed run of any path that has
        not run yet), its outputs left in `outputs`."""
        if len(self.paths) == 1 or self.race_batches < 1:
            return self.paths[0]
        for path in self.paths:
            if path not in self.warm:
                outputs[path] = path(input_values, patch_mask)
                self.warm.add(path)
        timings = {path: [] for path in self.paths}
        for _ in range(self.race_batches):
            for path in self.paths:
                start = self.clock()
                outputs[path] = path(input_values, patch_mask)
                timings[path].append(self.clock() - start)
        best = {path: min(seconds) for path, seconds in timings.items()}
        fastest = min(best, key=best.get)  # min() keeps the first of ties
        speeds = ", ".join(f"{path.name} {seconds * 1e3:.1f} ms" for path, seconds in best.items())
        logger.info(
            f"backend='auto': a batch of {batch_length(input_values)} windows on this machine: {speeds}; "
            f"{fastest.name} runs batches of {'at least' if large else 'fewer than'} {RACE_MIN_WINDOWS} windows."
        )
        return fastest

    def _check(self, input_values, patch_mask) -> dict[InferenceBackend, torch.Tensor]:
        """The first batch's output of each path that agrees with the reference (the reference last); sets `paths` and
        `differences`."""
        reference_output = self.reference(input_values, patch_mask)
        outputs = {}
        for contender in self.contenders:
            name = contender.backend.name
            try:
                output = contender.backend(input_values, patch_mask)
            except Exception as error:  # as one that cannot be built: fp32 PyTorch is there, and its output in hand
                _drop_contender(f"{name} failed on the first batch", error)
                continue
            self.differences[name] = largest_difference(output, reference_output)
            if contender.check(output, reference_output):
                outputs[contender.backend] = output
                logger.info(
                    f"backend='auto': {name} reproduced fp32 on the first batch (outputs at most "
                    f"{self.differences[name]:.3g} apart)."
                )
            else:
                logger.warning(
                    f"backend='auto': {name} did not reproduce fp32 on the first batch "
                    f"({contender.description}; outputs up to {self.differences[name]:.3g} apart); it is not used."
                )
        outputs[self.reference] = reference_output
        self.paths = list(outputs)
        self.warm.update(outputs)
        return outputs


def _drop_contender(what: str, error: Exception) -> None:
    """Warn that "auto" leaves out a faster path because of `error`: `what` went wrong (it could not be loaded or
    built, or it failed on its first batch). Such a path must not stop inference: fp32 PyTorch always runs.

    The warning gives the error's first line (its class's name when it has no message): a compiler's error
    (torch.compile's Inductor) runs to pages of IR. The whole error, with its traceback, is logged at debug level."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    reason = lines[0] if lines else type(error).__name__
    logger.warning(f"backend='auto': {what} ({reason}); it is not used.")
    logger.debug(f"backend='auto': {what}.", exc_info=error)


def largest_difference(candidate: torch.Tensor, reference: torch.Tensor) -> float:
    """The largest |candidate - reference| over every output of a batch (NaN where either holds NaN; 0 for none)."""
    if not reference.numel():
        return 0.0
    return float((candidate.double() - reference.double()).abs().max())


def _same_classes(candidate: torch.Tensor, reference: torch.Tensor) -> bool:
    return torch.equal(candidate.argmax(-1), reference.argmax(-1))


def _same_label_sets(candidate: torch.Tensor, reference: torch.Tensor) -> bool:
    """Multi-label or one output (`scores_each_output`): the same labels above the 0.5 probability threshold (logit
    0)."""
    return torch.equal(candidate > 0, reference > 0)


def onnx_differences(candidate: torch.Tensor, reference: torch.Tensor) -> tuple[float, float, bool]:
    """How far ONNX Runtime's `candidate` output is from fp32 PyTorch's `reference`: the largest absolute difference,
    the same relative to the largest |reference| (the outputs' scale), and whether every element is within
    `ONNX_TOLERANCE` + `ONNX_RELATIVE_TOLERANCE` x |reference| (`torch.allclose`'s rule; NaN is never within)."""
    difference = (candidate.double() - reference.double()).abs()
    magnitude = reference.double().abs()
    within = bool((difference <= ONNX_TOLERANCE + ONNX_RELATIVE_TOLERANCE * magnitude).all())
    if not difference.numel():
        return 0.0, 0.0, within
    largest = float(difference.max())
    return largest, largest / max(float(magnitude.max()), torch.finfo(torch.float32).tiny), within


def _within_onnx_tolerance(candidate: torch.Tensor, reference: torch.Tensor) -> bool:
    return onnx_differences(candidate, reference)[2]


# What "auto" says when the ONNX export fails its check (and `citrus export` when its own check fails).
ONNX_TOLERANCE_TEXT = f"{ONNX_TOLERANCE:g} + {ONNX_RELATIVE_TOLERANCE:g} x |fp32 output|"


def check_positive_integer(name: str, value) -> None:
    """A count given by the caller: any integer type (`np.int64` too) above 0, not a bool."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")


def load_backend(
    model: torch.nn.Module,
    backend: str = "auto",
    target: InferenceTarget | str | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    num_threads: int | None = None,
    batch_threads: int | None = None,
) -> InferenceBackend:
    """The backend that runs `model` (a CiTrus model in eval mode) as asked.

    A fusion model's backend takes `{modality: (batch, channels, time)}` windows (and such a dict of patch masks, or
    None), CiTrusFusionProcessor's output; it runs on `FUSION_BACKENDS` ("auto" races bf16, for a classifier, against
    fp32 PyTorch as for one modality), and computes the task head's logits.

    Args:
        model: any CiTrus model (`embed()` for embeddings; a task model for logits), or a fusion task model.
        backend: `"auto"`, `"torch"`, `"bf16"` or `"onnxruntime"` (see the module docstring for what `"auto"`
            picks).
        target: what to compute, an `InferenceTarget` or its output's name, "logits" or "embeddings" (default: the
            model's own output, `target_for`: a task model's logits, the embeddings of a model without a task head).
        cache_dir: folder of exported ONNX files (default: `onnx_cache_dir()`: `$CITRUS_HF_ONNX_CACHE`, else under
            `$HF_HOME`, `$XDG_CACHE_HOME` or `~/.cache`, in `citrus_hf/onnx`).
        num_threads: ONNX Runtime threads for a batch run in one piece (default: PyTorch's, `torch.get_num_threads()`).
        batch_threads: threads that each run a share of every batch, each share's operators on one core (see
            `InferenceBackend`). Default: on CPU, `torch.get_num_threads()` (or `num_threads`); on an accelerator, 1.
            1: every batch in one call, each operator spread over the threads.

    Raises:
        TypeError: `model` is no CiTrus model.
        ValueError: unknown backend, the logits of a model without a task head, "bf16" for a model on an
            accelerator, "bf16" or "onnxruntime" for a quantized model, "onnxruntime" for a model not in float32 or
            for a fusion model (`FUSION_BACKENDS`), or a thread count below 1.
        ImportError: "onnxruntime" without onnxruntime / onnx / onnxscript installed (the message names the extra).
        OSError: "onnxruntime" with a cache folder it cannot write, or a cached export ONNX Runtime cannot load.
    """
    _check_model(model)
    target = target_for(model, target)
    if backend not in BACKENDS:
        raise ValueError(f"`backend={backend!r}` is not supported; choose one of {', '.join(map(repr, BACKENDS))}.")
    on_cpu = model.device.type == "cpu"
    if num_threads is not None:
        check_positive_integer("num_threads", num_threads)
    if batch_threads is None:
        batch_threads = (num_threads or torch.get_num_threads()) if on_cpu else 1
    check_positive_integer("batch_threads", batch_threads)
    batch_threads = int(batch_threads)
    if not on_cpu:
        batch_threads = 1  # an accelerator runs each operator on all of itself
    if backend == "bf16":
        return BFloat16Backend(model, target, batch_threads)
    if backend == "onnxruntime":
        return OnnxRuntimeBackend(model, target, cache_dir, num_threads, batch_threads)
    _warn_of_a_quantized_head(model, target)  # (the two above refuse a quantized model)
    if backend == "torch":
        return TorchBackend(model, target, batch_threads)
    reference = TorchBackend(model, target, batch_threads)
    if not on_cpu or model.dtype != torch.float32 or quantized_layers(model):
        # the faster paths are float32 models run otherwise; a model loaded in another dtype or quantized runs as it is
        return reference
    if torch.are_deterministic_algorithms_enabled():
        # The race picks the path that was fastest when it ran, which depends on the machine and its load: two
        # processes could score the same recording through different paths (bf16 moved scores by up to 5e-4 at
        # batch 1). A caller who asked torch for determinism (`torch.use_deterministic_algorithms(True)`,
        # transformers' `enable_full_determinism`) gets the fp32 reference in every process.
        logger.info("backend='auto': deterministic algorithms are enabled, so fp32 PyTorch runs (no race).")
        return reference
    contenders = []
    # ONNX Runtime first: exact, and the fastest path measured at batch 1 and on shared cores (benchmarks/speed.py).
    # Only once exported: an export takes 30-50 s on 2 cores (citrus-small's regressor), and fp32 PyTorch stages a
    # whole night (960 windows) in 1.3-2.9 s, so no single call gains what "auto" would spend exporting;
    # `backend="onnxruntime"` (or `export_onnx`) exports once, and every later "auto" races the cached export.
    onnx_installed = onnx_export_available() is None and not is_fusion_model(model)  # (no export of a fusion model)
    try:
        exported = onnx_installed and onnx_export_path(model, target, cache_dir).is_file()
    except OSError:  # no cache folder can be named: there is no export to race
        exported = False
    if onnx_installed and not exported:
        logger.info(
            "backend='auto': ONNX Runtime is installed but this model has no ONNX export yet; backend='onnxruntime' "
            "exports it once (tens of seconds), and 'auto' races it from then on."
        )
    if exported:
        try:
            candidate = OnnxRuntimeBackend(model, target, cache_dir, num_threads, batch_threads)
        except Exception as error:  # a cached file that fails to load must not stop inference: fp32 PyTorch is there
            _drop_contender("the cached ONNX export could not be loaded", error)
        else:
            description = f"outputs differ by more than {ONNX_TOLERANCE_TEXT}"
            contenders.append(Contender(candidate, _within_onnx_tolerance, description))
    classifies = target.output == "logits" and problem_of(model) == "classification"
    if classifies and cpu_bf16_support() is not None:
        check = _same_label_sets if scores_each_output(model.config) else _same_classes
        try:
            candidate = BFloat16Backend(model, target, batch_threads)
        except Exception as error:  # a contender that cannot be built must not stop inference: fp32 PyTorch is there
            _drop_contender("the bf16 path could not be built", error)
        else:
            contenders.append(Contender(candidate, check, "a predicted class changed"))
    return CheckedBackend(contenders, reference) if contenders else reference


class _BackendCache(dict):
    """The backends `predict_windows` or a pipeline built for one model, kept on the model or on the pipeline.

    Never copied or pickled with it: a copy of the model is another model, and the backends hold the original (and
    ONNX Runtime's sessions pickle not at all); the copy builds its own on first use. So a pipeline or model that has
    run also hashes the same in every session (`datasets`' fingerprint of a `map` function that uses it). Not kept
    across a fork either (`clear_if_forked`): a session's or a lock's threads do not exist in the child."""

    def __init__(self):
        super().__init__()
        self.pid = os.getpid()

    def clear_if_forked(self) -> None:
        """Drop the backends built in the parent process when used first in a forked child."""
        if self.pid != os.getpid():
            self.clear()
            self.pid = os.getpid()

    def __deepcopy__(self, memo) -> _BackendCache:
        return _BackendCache()

    def __reduce__(self):
        return (_BackendCache, ())


def cached_backend(
    model: torch.nn.Module,
    backend: str,
    target: InferenceTarget | str | None,
    cache_dir: str | os.PathLike | None = None,
    cache: dict | None = None,
) -> InferenceBackend:
    """`load_backend(model, backend, target, cache_dir=cache_dir)` (target None: the model's own, `target_for`),
    built once and kept until the model changes (`InferenceBackend.is_stale`): "auto" then races its paths once, not
    on every call, and bf16 copies the model once. Kept in `cache` (a pipeline's own), by default with the model."""
    _check_model(model)
    if cache is None:
        cache = model.__dict__.get("_citrus_inference_backends")
        if not isinstance(cache, _BackendCache):
            cache = _BackendCache()
            model.__dict__["_citrus_inference_backends"] = cache
    if isinstance(cache, _BackendCache):
        cache.clear_if_forked()
    target = target_for(model, target)
    key = (backend, target, None if cache_dir is None else str(cache_dir), torch.get_num_threads(), str(model.device))
    runner = cache.get(key)
    if runner is not None and not runner.is_stale:
        return runner
    # Built once by one thread: concurrent first calls of a pipeline had each built (and raced) a backend of their
    # own, and computed their outputs on paths the later calls did not run.
    with _BUILDING:
        runner = cache.get(key)
        if runner is None or runner.is_stale:
            if runner is not None:
                logger.info(f"The model changed since its {runner.name} backend was built; building it again.")
            runner = cache[key] = load_backend(model, backend, target, cache_dir=cache_dir)
    return runner


_BUILDING = threading.RLock()


def _check_model(model, single_modality: str | None = None) -> None:
    """Refuse what is no CiTrus model, and, where `single_modality` names a function that takes one feature extractor's
    windows (`predict_windows`, `export_onnx`), a fusion model, which takes one batch per modality."""
    if not isinstance(model, torch.nn.Module) or not hasattr(model, "config"):
        raise TypeError(f"`model` must be a CiTrus model (e.g. from `from_pretrained`), got a {type(model).__name__}.")
    if single_modality and is_fusion_model(model):
        raise TypeError(
            f"`{single_modality}` runs single-modality CiTrus models, and a fusion model takes one batch per modality: "
            "run it on recordings with its pipeline (`pipeline(model=folder)`), or on CiTrusFusionProcessor's output "
            "with `load_backend(model)(inputs['input_values'], inputs['patch_mask'])`."
        )


def quantized_layers(model: torch.nn.Module) -> list[str]:
    """The class names of `model`'s quantized PyTorch layers (`torch.ao.quantization.quantize_dynamic` and the like
    put them in), sorted; empty for a float model. Their packed weights are no tensors: bf16 autocast and the ONNX
    export cannot run them, only the model as it is."""
    return sorted(
        {
            type(module).__name__
            for module in model.modules()
            if type(module).__module__.startswith(("torch.ao.nn.quantized", "torch.ao.nn.intrinsic.quantized"))
        }
    )


def _warn_of_a_quantized_head(model: torch.nn.Module, target: InferenceTarget) -> None:
    """Warn, naming the fix, when the task head that computes `target` is quantized. `quantize_dynamic` quantizes a
    Linear's input to int8 with one scale for the whole batch: the head's input is the pooled features, whose sizes
    differ by orders of magnitude (the probe recipe folds their standardisation into the head's weights), and the small
    ones round to zero. On BasicMotions' test split a probe's accuracy fell from 1.000 to 0.725 with every Linear
    quantized (0.775 with the head alone), and stayed 1.000 with the encoder alone quantized; the head is one small
    matrix product, so keeping it in float32 costs no speed."""
    head_name = getattr(model, "head_name", None)
    if target.output != "logits" or not head_name:
        return
    layers = quantized_layers(getattr(model, head_name))
    if layers:
        encoder = getattr(model, "base_model_prefix", "citrus")
        fix = f"torch.ao.quantization.quantize_dynamic(model, {{{encoder!r}}}, dtype=torch.qint8)"
        logger.warning(
            f"The model's `{head_name}` is quantized ({', '.join(layers)}): its input, the pooled features, is "
            "quantized to int8 with one scale per batch, which rounds the small features to zero and can change "
            "predictions (a probe's test accuracy fell from 1.000 to 0.725 in the README's check). Quantize the "
            f"encoder only, which kept every prediction there, and leave the head in float32: `{fix}`."
        )


def _refuse_quantized(model: torch.nn.Module, backend: str) -> None:
    layers = quantized_layers(model)
    if layers:
        raise ValueError(
            f"backend={backend!r} runs float32 models, and this one has quantized layers ({', '.join(layers)}); "
            "use backend='torch' (or backend='auto', which runs a quantized model as it is)."
        )


def weights_fingerprint(model: torch.nn.Module) -> tuple:
    """What a kept backend checks on every call to see whether the model changed since it was built: the identity,
    storage, in-place version, shape and dtype of every parameter and buffer, and a checksum of their values.

    The version counter catches changes made through the tensor itself (an optimizer step, `load_state_dict`,
    `mul_` under `no_grad`), the identity a tensor replaced (a new head, a peft adapter), the storage a `.data`
    assignment (`param.data = ...`, `torch.nn.utils.vector_to_parameters`). Changes through `param.data` in place
    (`param.data.copy_(...)`, EMA helpers) bump no counter the parameter has: the checksum, the wrapping sum of each
    tensor's bits read as integers, sees those (any change of one value; not a permutation of values within one
    tensor). It reads every weight once, one reduction per tensor: about 1 ms for citrus-small's 75 tensors (430,305
    values) on the 2-core development CPU, where a pipeline call of one window on ONNX Runtime took 4.4 ms against
    3.4 with the identities alone, and one of 64 windows ~90 ms either way. `weights_hash` hashes the values
    exactly."""
    tensors = list(itertools.chain(model.parameters(), model.buffers()))
    identities = tuple(
        (id(tensor), tensor.data_ptr(), tensor._version, tuple(tensor.shape), tensor.dtype) for tensor in tensors
    )
    with torch.no_grad():
        # meta: offloaded, no values here
        sums = [_bit_sum(tensor) for tensor in tensors if tensor.numel() and not tensor.is_meta]
    try:
        values = torch.stack(sums).tolist() if sums else []  # one read-back, not one per tensor
    except RuntimeError:  # tensors on several devices (a model spread with `device_map`)
        values = [int(value) for value in sums]
    return identities, tuple(values)


# The integer type of each element size, to read a tensor's bits as integers (`_bit_sum`).
_INTEGER_OF_SIZE = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def _bit_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of `tensor`'s elements read as integers of their size (int64): any change of one value changes it,
    NaN included (a float sum would not see a change swamped by rounding)."""
    if tensor.is_complex():
        tensor = torch.view_as_real(tensor)
    return tensor.view(_INTEGER_OF_SIZE[tensor.element_size()]).sum(dtype=torch.int64)


def _as_torch_ready(value: Any, key: str) -> Any:
    """A numpy array of `features[key]` as one torch can wrap; anything else unchanged. torch wraps no view of
    negative strides (`w[..., ::-1]`) and no foreign byte order (`">f4"` from a file), which are copied to native
    contiguous arrays here, as the feature extractor takes them; and it drops a masked array's mask, using the
    samples under it as signal, so a masked array with masked samples is refused with the fix.

    Raises:
        ValueError: a numpy masked array with masked samples.
    """
    if isinstance(value, np.ma.MaskedArray):
        if np.ma.getmaskarray(value).any():
            raise ValueError(
                f'`features["{key}"]` is a numpy masked array with masked samples, which the model would read as '
                "signal (torch drops the mask). Mark them missing before alignment, `np.ma.filled(recording, np.nan)`, "
                "and let the feature extractor's `nan_policy='interpolate'` fill them; or fill the windows yourself, "
                "`windows.filled(value)`."
            )
        value = np.ma.getdata(value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("="))
    return value


def _window_inputs(features) -> tuple[torch.Tensor, torch.Tensor | None]:
    """`input_values` `(windows, channels, time)` and `patch_mask` (or None) of a feature extractor's output, checked
    before any backend is built."""
    if not isinstance(features, Mapping):
        raise TypeError(
            f'`features` must be the feature extractor\'s output, a mapping with "input_values" (windows, channels, '
            f"time), got a {type(features).__name__}; pass `extractor(recording, sampling_rate=...)`, or "
            '`{"input_values": windows}` for windows already aligned.'
        )
    if "input_values" not in features:
        raise ValueError(
            f'`features` has no "input_values" (its keys: {sorted(map(str, features))}); pass the feature extractor\'s '
            'output, or a mapping with "input_values" (windows, channels, time).'
        )
    windows = features["input_values"]
    # a list of windows (numpy arrays from a datasets column): one tensor per window, then stacked, as
    # torch.as_tensor builds a tensor from a list of arrays element by element (and warns that it is slow)
    listed = isinstance(windows, (list, tuple)) and windows and not isinstance(windows[0], numbers.Number)
    if listed:
        windows = [_as_torch_ready(window, "input_values") for window in windows]
    else:
        windows = _as_torch_ready(windows, "input_values")
    try:
        input_values = (
            torch.stack([torch.as_tensor(window) for window in windows]) if listed else torch.as_tensor(windows)
        )
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            f'`features["input_values"]` must be numeric windows of one length, (windows, channels, time): {error}; '
            "align recordings with the feature extractor (it pads them to one length and marks the padding)."
        ) from None
    if input_values.ndim != 3:
        raise ValueError(
            f'`features["input_values"]` must be (windows, channels, time), got shape {tuple(input_values.shape)}; '
            "pass the feature extractor's output."
        )
    patch_mask = features.get("patch_mask")
    if patch_mask is None:
        return input_values, None
    patch_mask = _as_torch_ready(patch_mask, "patch_mask")
    try:
        patch_mask = torch.as_tensor(patch_mask)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            f'`features["patch_mask"]` must be 0/1 per patch, (windows, num_patches): {error}; pass the feature '
            "extractor's output."
        ) from None
    # Checked whole, before the batches slice both: a mask of other rows was paired batch by batch, so one of more
    # rows stopped in torch ("The size of tensor a (2) must match ...") and one of fewer was refused with the shape
    # of one batch's slice, (4, 10) expected and (1, 10) got, neither what was passed.
    if patch_mask.ndim != 2 or len(patch_mask) != len(input_values):
        raise ValueError(
            f'`features["patch_mask"]` has shape {tuple(patch_mask.shape)}, not (windows, num_patches) for the '
            f"{len(input_values)} windows of `input_values`; take both from the same feature extractor call."
        )
    return input_values, patch_mask


def predict_windows(
    model: torch.nn.Module,
    features: Mapping[str, Any],
    backend: str | InferenceBackend = "auto",
    batch_size: int = 64,
    target: InferenceTarget | str | None = None,
) -> torch.Tensor:
    """The model's output for every aligned window of a feature extractor's output, `batch_size` windows at a time
    on the fastest path (`load_backend(model, backend)`), e.g. the hundreds of windows of a night.

    Args:
        model: a CiTrus model.
        features: the feature extractor's output (any alignment; with `alignment="window"` its `recording_index` and
            `window_start_seconds` are not model inputs and are left aside): `input_values` `(windows, channels,
            time)` and optionally `patch_mask` `(windows, num_patches)`.
        backend: a backend name (see `load_backend`; its backend is built on the first call and kept with the model
            until the model changes, so "auto" times its paths once) or an `InferenceBackend` already loaded (its
            `name` says which path ran; refused once the model has changed since it was loaded).
        batch_size: windows per forward pass.
        target: what to compute, an `InferenceTarget` or its output's name, "logits" or "embeddings" (default: the
            model's own output, `target_for`: a task model's logits, the embeddings of a model without a task head).
            With a loaded backend, the backend's own target; another is refused.

    Returns:
        `(windows, outputs)` float32.

    Raises:
        ValueError: a loaded `backend` of another model, of a model changed since, or computing another `target`.
    """
    check_positive_integer("batch_size", batch_size)
    batch_size = int(batch_size)
    _check_model(model, "predict_windows")  # before the windows: a fusion model's dict of modalities is no window
    input_values, patch_mask = _window_inputs(features)
    if len(input_values) == 0:
        raise ValueError(
            f'`features["input_values"]` holds no windows (shape {tuple(input_values.shape)}); skip empty inputs.'
        )
    patch_length = model.config.patch_length
    if patch_mask is not None and input_values.shape[-1] % patch_length == 0:
        # the model's own check, on the whole mask: windows all signal run without their mask
        # (`run_full_and_padded_apart`), so an all-ones mask of another width was taken where `model.embed` refuses it
        model._check_patch_mask(patch_mask, (len(input_values), 0, input_values.shape[-1] // patch_length))
    if isinstance(backend, InferenceBackend):
        if backend.source_model is not model:
            raise ValueError(
                "`backend` was loaded for another model; pass a backend name (e.g. 'auto') or `load_backend(model)` "
                "of this model."
            )
        if backend.is_stale:
            raise ValueError(
                f"The model has changed since this {backend.name} backend was loaded (its weights or modules), and "
                "the backend would give the old model's outputs; load it again with `load_backend(model, ...)`, or "
                "pass a backend name, which does so when needed."
            )
        # A loaded backend computes the one target it was built for (its graph or export is that target's), so a
        # different `target` cannot be honoured by it: refused, where it had been ignored and the backend's output
        # (e.g. the logits when the embeddings were asked) returned as if it were the one asked for.
        asked = None if target is None else target_for(model, target)
        if asked is not None and asked != backend.target:
            raise ValueError(
                f"`target` asks for {_describe_target(asked)}, but this {backend.name} backend "
                f"computes {_describe_target(backend.target)}; load one for that target with "
                "`load_backend(model, backend_name, target)`, or pass a backend name (e.g. 'auto'), which does so."
            )
        runner = backend
    else:
        runner = cached_backend(model, backend, target)
    outputs, paths = [], []
    for start in range(0, len(input_values), batch_size):
        batch = slice(start, start + batch_size)
        output, path = run_full_and_padded_apart(
            runner, input_values[batch], None if patch_mask is None else patch_mask[batch]
        )
        outputs.append(output)
        paths.append(path)
    logger.info(f"{len(input_values)} windows ran on the {joined_paths(paths)} backend.")
    return torch.cat(outputs)


def _describe_target(target: InferenceTarget) -> str:
    """`target` in words for a message, e.g. "'logits'" or "'embeddings' (features='cls', pooling='mean', ...)"."""
    if target.output != "embeddings":
        return repr(target.output)
    return (
        f"'embeddings' (features={target.features!r}, pooling={target.pooling!r}, "
        f"channel_pooling={target.channel_pooling!r})"
    )


def run_full_and_padded_apart(runner, input_values: Windows, patch_mask: Windows | None) -> tuple[torch.Tensor, str]:
    """`runner(input_values, mask)` with the full windows of a batch run without a mask and the padded ones with
    theirs, outputs in the batch's order: a window's output must not depend on the other windows of its batch, and
    with a mask attention takes another kernel, whose bf16 rounding differs from the unmasked one's (by more than
    bf16's own error against fp32). `input_values` `(windows, channels, time)`, `patch_mask` `(windows, ...)` or None,
    or a fusion model's dicts of them, one per modality (a window is full when it is in every modality; a padded one
    runs with every modality's mask).

    Returns the outputs `(windows, outputs)` and the path(s) that computed them (`runner.name` after each call,
    `joined_paths`): "auto" races batches of fewer than `RACE_MIN_WINDOWS` windows apart from larger ones, so the 17
    full windows of a batch and its padded one can run on two paths, and `runner.name` alone named the last."""
    masks = list(patch_mask.values()) if isinstance(patch_mask, Mapping) else [patch_mask]
    full = torch.ones(batch_length(input_values), dtype=torch.bool)
    for mask in masks:
        if mask is not None:
            full &= mask.reshape(len(mask), -1).bool().all(dim=1).cpu()
    if bool(full.all()):
        return runner(input_values, None), runner.name
    if not bool(full.any()):
        return runner(input_values, patch_mask), runner.name
    full_rows, padded_rows = torch.nonzero(full).squeeze(1), torch.nonzero(~full).squeeze(1)

    def rows(windows, selected):
        return map_windows(lambda tensor: tensor[selected.to(tensor.device)], windows)

    full_output = runner(rows(input_values, full_rows), None)
    full_path = runner.name
    padded_output = runner(rows(input_values, padded_rows), rows(patch_mask, padded_rows))
    output = full_output.new_empty((batch_length(input_values), *full_output.shape[1:]))
    output[full_rows], output[padded_rows] = full_output, padded_output
    return output, joined_paths([full_path, runner.name])


def joined_paths(names: Iterable[str]) -> str:
    """The inference paths of several passes as one name, each once in the order they first ran: "bf16+torch" where
    "auto" ran some windows in bf16 and others in fp32 PyTorch (its size classes race apart). `names` may be joined
    names themselves."""
    return "+".join(dict.fromkeys(path for name in names for path in name.split("+")))


# ----------------------------------------------------------------------------------------------------------------------
# Blocked bf16 attention
# ----------------------------------------------------------------------------------------------------------------------


def blocked_bf16_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float,
    dropout: float = 0.0,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """Attention for inference, a block of (sequence, head) pairs per thread at a time (`ATTENTION_BLOCK_WEIGHTS`),
    matrix products in the inputs' dtype (bf16 under autocast), for heads of up to `BLOCKED_ATTENTION_MAX_HEAD_DIM`;
    wider heads run PyTorch's SDPA, faster there. A function of transformers' attention interface.

    The softmax is computed as `exp2(score) / sum` on the scores in base 2, shifted by a bound of each query's largest
    score only when they could overflow (see `_exp2_attention`): no pass over the scores for their maximum, no float32
    copies of them, and the sum comes out of the second matrix product. Mathematically the softmax; on real recordings
    its bf16 rounding moves the logits about as much as the softmax path it replaced (`_softmax_attention`, which still
    serves masks other than a key mask and the rare call whose weights underflow).

    Args:
        module: the attention module calling it (transformers' interface): a training module with dropout is
            refused.
        query, key, value: `(N, heads, seq, head_dim)`.
        attention_mask: additive `(N, 1, 1 or seq, seq)`, or None.
        scaling: the factor of the scores (`head_dim ** -0.5`).
        dropout: the module's attention dropout, which this inference path does not apply.

    Returns:
        `(N, seq, heads, head_dim)` and no attention weights.
    """
    if (module.training and dropout > 0) or (
        torch.is_grad_enabled() and any(tensor.requires_grad for tensor in (query, key, value))
    ):
        # its matrix products write into preallocated blocks, which autograd cannot follow
        raise ValueError(
            f"{BLOCKED_ATTENTION} attention is for inference: run it under torch.no_grad() or torch.inference_mode() "
            "(the inference backends do), and train with attn_implementation 'sdpa' or 'eager'."
        )
    if not query.dtype == key.dtype == value.dtype:
        raise ValueError(
            f"{BLOCKED_ATTENTION} attention needs query, key and value of one dtype, got {query.dtype}, {key.dtype} "
            f"and {value.dtype}; run the model under one autocast dtype."
        )
    if query.shape[-1] > BLOCKED_ATTENTION_MAX_HEAD_DIM:
        mask = None if attention_mask is None else attention_mask.to(query.dtype)  # SDPA wants the query's dtype
        output = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=mask, scale=scaling)
        return output.transpose(1, 2), None
    if attention_mask is None or attention_mask.shape[-2] == 1:
        output = _exp2_attention(query, key, value, attention_mask, scaling)
        if output is not None:
            return output, None
    return _softmax_attention(query, key, value, attention_mask, scaling), None


def _sequences_per_block(num_heads: int, seq_length: int) -> int:
    # each thread takes its share of a block, so a block holds `ATTENTION_BLOCK_WEIGHTS` weights per thread
    return max(1, ATTENTION_BLOCK_WEIGHTS * torch.get_num_threads() // (num_heads * seq_length**2))


def _exp2_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    key_mask: torch.Tensor | None,
    scaling: float,
) -> torch.Tensor | None:
    """Softmax attention without a pass for each row's maximum: `(N, seq, heads, head_dim)`, or None when a row's
    weights underflowed (the caller then takes the softmax path).

    Why: PyTorch's softmax over rows of 150 (max, exp, sum, divide) and the float32 casts around it were 60 % of the bf16
    attention on an AVX512-BF16 EPYC; `exp2` in place on the bf16 scores costs a third of that. The maximum is
    subtracted only so that `exp` cannot overflow, and any shift that is the same for all of a query's keys leaves its
    softmax as it is. So when no score can reach `_UNSHIFTED_SCORE_LIMIT` (in base 2; the sum over dimensions of the
    largest |query| x the largest |key| is below it) the scores are not shifted at all: the usual case (citrus-small on
    five real labelled sets: that bound 14-41, the largest |score| 8-15). Otherwise each query's scores are shifted by
    an upper bound of its largest one from the keys' box: with `c` and `r` the centre and half-width of the keys' range
    per dimension, `q . k_j <= q . c + |q| . r = b` for every key; `-b` enters the first product as one more row under
    the queries (against a column of ones beside the keys), so it costs no pass over the scores, and its rounding to bf16
    only moves the whole row by a constant. A ones row under the values makes the second product return each query's
    sum beside its output. Queries whose weights sum below `_UNDERFLOW_SUM` (a bound far above the largest score) are
    refused.

    Args:
        query, key, value: `(N, heads, seq, head_dim)`, one dtype.
        key_mask: additive `(N, 1, 1, seq)` over keys (0 keeps, negative drops), or None.
    """
    num_sequences, num_heads, seq_length, head_dim = query.shape
    dtype, device = query.dtype, query.device
    highest, lowest = key.amax(2, keepdim=True).float(), key.amin(2, keepdim=True).float()  # (N, heads, 1, head_dim)
    # |score| <= sum over dimensions of the largest |query| x the largest |key| there (base 2)
    largest_query = torch.maximum(query.amax(2).abs(), query.amin(2).abs()).float()  # (N, heads, head_dim)
    largest_key = torch.maximum(highest.abs(), lowest.abs())[:, :, 0]
    largest_score = float((largest_query * largest_key).sum(-1).amax()) * scaling * _LOG2_E
    shift = not largest_score <= _UNSHIFTED_SCORE_LIMIT  # (NaN too: the sums below then refuse the call)
    # The queries and values with the sequence innermost, so that every elementwise step below runs over rows of `seq`
    # contiguous values; the keys with their rows innermost, as the first product reads them: the keys' product
    # with the rows outermost (a transposed view) ran 1.3x slower (288 against 223 us for 64 (head, sequence) pairs
    # of citrus-small's shapes, one thread, AMX Xeon; the whole attention 7 % faster, the same bits). Rows under the
    # queries: the query, [minus its bound], [ones against the key mask's row]; beside the keys: the key, [ones], [the
    # key mask]. Each product's operand is a whole tensor: a slice of one is copied by the product first.
    rows = head_dim + int(shift) + int(key_mask is not None)
    queries = torch.empty(num_sequences, num_heads, rows, seq_length, dtype=dtype, device=device)
    keys = torch.empty(num_sequences, num_heads, seq_length, rows, dtype=dtype, device=device)
    values = torch.empty(num_sequences, num_heads, head_dim + 1, seq_length, dtype=dtype, device=device)
    # Transposing copies first, arithmetic after: a copy from the strided inputs ran 4x faster than the same copy fused
    # with a multiplication, which PyTorch runs element by element.
    scaled_query = queries[:, :, :head_dim]
    scaled_query.copy_(query.transpose(-1, -2))
    scaled_query.mul_(scaling * _LOG2_E)  # scores in base 2: exp(s) = exp2(s * log2(e))
    keys[..., :head_dim].copy_(key)
    if shift:
        absolute_and_query = torch.cat([scaled_query.abs(), scaled_query], dim=2)  # (N, heads, 2 head_dim, seq)
        minus_radius_and_centre = torch.cat([lowest - highest, -highest - lowest], dim=-1).div_(2).to(dtype)
        # one product for both terms of the bound (two ran 2x slower): (N, heads, 1, seq)
        queries[:, :, head_dim : head_dim + 1] = torch.matmul(minus_radius_and_centre, absolute_and_query)
        keys[..., head_dim] = 1
    if key_mask is not None:
        queries[:, :, -1] = 1
        keys[..., -1] = (key_mask[:, :, 0] < 0).to(dtype) * _MASKED_SCORE  # (N, 1, seq) over the heads
    values[:, :, :head_dim] = value.transpose(-1, -2)
    values[:, :, head_dim] = 1
    outputs = torch.empty_like(values)  # (N, heads, head_dim + 1, seq): outputs, then each query's sum of weights
    block_size = min(_sequences_per_block(num_heads, seq_length), num_sequences)
    weights = torch.empty(block_size, num_heads, seq_length, seq_length, dtype=dtype, device=device)
    for start in range(0, num_sequences, block_size):
        block = slice(start, start + block_size)
        block_weights = weights[: min(block_size, num_sequences - start)]
        # (n, heads, keys, queries): the scores in base 2 (minus each query's bound when shifted)
        torch.matmul(keys[block], queries[block], out=block_weights)
        block_weights.exp2_()
        torch.matmul(values[block], block_weights, out=outputs[block])
    sums = outputs[:, :, head_dim:]  # (N, heads, 1, seq)
    if not bool(sums.amin() >= _UNDERFLOW_SUM):  # also catches NaN
        return None
    return (outputs[:, :, :head_dim] / sums).permute(0, 3, 1, 2)  # (N, seq, heads, head_dim)


def _softmax_attention(
    query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, attention_mask: torch.Tensor | None, scaling: float
) -> torch.Tensor:
    """Blocked attention with PyTorch's float32 softmax: matrix products in the inputs' dtype. `(N, seq, heads,
    head_dim)` from `(N, heads, seq, head_dim)`; any additive mask."""
    num_sequences, num_heads, seq_length, head_dim = query.shape
    sequences_per_block = _sequences_per_block(num_heads, seq_length)
    query = (query * scaling).contiguous()
    key_transposed = key.transpose(-1, -2).contiguous()  # (N, heads, head_dim, seq)
    value = value.contiguous()
    output = torch.empty(num_sequences, num_heads, seq_length, head_dim, dtype=value.dtype, device=value.device)
    # One set of score buffers serves every block: the matrix products, the casts and the softmax write into them
    # (`out=`, `copy_`) instead of allocating 4 tensors of a block's size per block. Fresh buffers of that size are
    # new pages that the OS has to map; reused, they stay in cache. Same values as allocating anew (the same
    # operations in the same order); the classifier ran 1.14x faster with the batch split across 2 threads.
    block_shape = (min(sequences_per_block, num_sequences), num_heads, seq_length, seq_length)
    low_precision_scores = torch.empty(block_shape, dtype=value.dtype, device=value.device)
    scores = torch.empty(block_shape, dtype=torch.float32, device=value.device)
    probabilities = torch.empty_like(scores)
    for start in range(0, num_sequences, sequences_per_block):
        block = slice(start, start + sequences_per_block)
        size = min(sequences_per_block, num_sequences - start)
        block_scores, block_probabilities = scores[:size], probabilities[:size]
        block_low_precision = low_precision_scores[:size]
        torch.matmul(query[block], key_transposed[block], out=block_low_precision)  # (n, heads, seq, seq)
        block_scores.copy_(block_low_precision)
        if attention_mask is not None:
            block_scores += attention_mask[block]
        torch.ops.aten._softmax.out(block_scores, -1, False, out=block_probabilities)  # softmax in float32
        block_low_precision.copy_(block_probabilities)
        torch.matmul(block_low_precision, value[block], out=output[block])
    return output.transpose(1, 2)


def register_blocked_attention() -> None:
    """Make `blocked_bf16_attention` available to `model.set_attn_implementation(BLOCKED_ATTENTION)`."""
    AttentionInterface.register(BLOCKED_ATTENTION, blocked_bf16_attention)


# ----------------------------------------------------------------------------------------------------------------------
# ONNX export and its cache
# ----------------------------------------------------------------------------------------------------------------------


def onnx_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder of exported ONNX files: `cache_dir`, else `$CITRUS_HF_ONNX_CACHE`, else `$HF_HOME/citrus_hf/onnx`,
    else `$XDG_CACHE_HOME/citrus_hf/onnx`, else `~/.cache/citrus_hf/onnx`: a cache moved to a larger disk with
    `HF_HOME` or `XDG_CACHE_HOME`, as huggingface_hub's and torch.hub's are, takes the exports along. Read when called
    (huggingface_hub reads its variables once, at import). A relative `XDG_CACHE_HOME` is ignored, as the XDG Base
    Directory spec says and pip's platformdirs does, with a warning once: taken as given, the exports moved with the
    working folder. (`HF_HOME` is huggingface_hub's, which takes a relative one as given: so is it here, so that the
    exports stay beside the Hub cache.)"""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    for variable, below in (("CITRUS_HF_ONNX_CACHE", ()), ("HF_HOME", ("citrus_hf", "onnx"))):
        if os.environ.get(variable):
            return Path(os.environ[variable], *below).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME")
    relative = cache_home if cache_home and not os.path.isabs(os.path.expanduser(cache_home)) else None
    if relative or not cache_home:
        try:
            cache_home = Path.home() / ".cache"
        except RuntimeError:  # no $HOME and no home in the user database (a service account, some containers)
            raise OSError(
                "No home folder to keep ONNX exports in ($HOME is not set); give one with $CITRUS_HF_ONNX_CACHE, "
                "$HF_HOME or $XDG_CACHE_HOME (or `cache_dir=`)."
            ) from None
    folder = Path(cache_home, "citrus_hf", "onnx").expanduser()
    if relative:
        # the folder the exports now go to, and those left under the relative one (no longer read: exported again)
        earlier = Path(os.path.abspath(relative), "citrus_hf", "onnx")
        left = sorted(earlier.glob("*.onnx")) if earlier.is_dir() else []
        logger.warning_once(
            f"XDG_CACHE_HOME={relative!r} is a relative path, which the XDG Base Directory spec says to ignore: ONNX "
            f"exports go to {folder}"
            + (
                f" (the {len(left)} under {earlier} are not read there: CITRUS_HF_ONNX_CACHE={earlier} keeps them)"
                if left
                else ""
            )
            + "; set it to an absolute path (or CITRUS_HF_ONNX_CACHE) to keep them elsewhere."
        )
    return folder


def _channels_are_free(model: torch.nn.Module, target: InferenceTarget) -> bool:
    """Whether the output is defined for any channel count (else the graph fixes `config.num_channels`)."""
    if target.output == "embeddings":
        return True
    return getattr(model.config, "channel_pooling", "concat") == "mean"


# Most patches per window an exported graph takes (its time axis is `patch_length` x patches): far beyond any
# checkpoint's context, as the PyTorch model takes longer windows too (its positions are sinusoidal; it warns).
MAX_EXPORTED_PATCHES = 1 << 16


def shape_policy(model: torch.nn.Module, target: InferenceTarget) -> dict:
    """The input shapes an exported graph accepts: any batch size; any whole number of patches
    (`config.patch_length` samples each: the extractor's `padding="longest"` output for a short recording runs as it
    is, as in PyTorch); any channel count where the output allows it, else `config.num_channels`."""
    config = model.config
    return {
        "batch": "any",
        "channels": "any" if _channels_are_free(model, target) else config.num_channels,
        "time": f"multiples of {config.patch_length}",
    }


def weights_hash(model: torch.nn.Module) -> str:
    """sha256 over every tensor of the state dict (name, dtype, shape and bytes), in order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def onnx_cache_key(model: torch.nn.Module, target: InferenceTarget) -> str:
    """The cache key of the export of `model` for `target` (sha256, hex): a hash of everything the graph depends on,
    the weights, the config, the model's source code, the target, the opset, the shape policy and the versions of
    torch and of the exporter's other packages (`_EXPORTER_PACKAGES`).
    Its prefix names the cached file (`onnx_export_path`) and the whole key is stored in it (`ONNX_CACHE_KEY_FIELD`).

    The code is that of every module class in the model (`_code_hash`), so a peft model's key changes with the CiTrus
    model under it as well as with peft; a peft model's adapter settings (`peft_config`: LoRA's scaling is no tensor)
    are keyed with the config, and which adapters are active or disabled (`adapter_state`). Embedding options left to the config are keyed as the config's values
    (`resolved_target`)."""
    target = resolved_target(model, target)
    config = {key: value for key, value in model.config.to_dict().items() if key not in _CONFIG_KEYS_NOT_IN_GRAPH}
    adapters = {
        name: {key: value for key, value in settings.to_dict().items() if key not in _ADAPTER_KEYS_NOT_IN_GRAPH}
        for name, settings in (getattr(model, "peft_config", None) or {}).items()
    }
    key = {
        "weights": weights_hash(model),
        "config": json.dumps(config, sort_keys=True, default=str),
        "adapters": json.dumps(adapters, sort_keys=True, default=_json_value),
        "code": _code_hash(model),
        "target": [target.output, target.features, target.pooling, target.channel_pooling],
        "opset": ONNX_OPSET,
        "shapes": shape_policy(model, target),
        "torch": torch.__version__,
        "exporter": _exporter_versions(),
        "format": _EXPORT_FORMAT,
    }
    active = adapter_state(model)
    if active:  # which adapters run (`set_adapter`, `disable_adapter()`): the export traces only those
        key["active adapters"] = active
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


# The packages besides torch that write an exported graph: torch's dynamo exporter takes its ATen-to-ONNX lowering
# (torchlib) from onnxscript and runs onnxscript's optimiser on onnx-ir's model, so their versions decide the graph as
# torch's does (onnxscript#2479 changed how SDPA's boolean mask is lowered: fully masked rows had come out NaN).
_EXPORTER_PACKAGES = ("onnxscript", "onnx-ir")


def _exporter_versions() -> dict[str, str | None]:
    """The installed version of each of `_EXPORTER_PACKAGES` (None: not installed), read from the installed metadata,
    without importing them (onnxscript's import takes a second, and "auto" keys its lookup of an export by this)."""
    versions: dict[str, str | None] = {}
    for package in _EXPORTER_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def _json_value(value) -> Any:
    """A value JSON has no type for, in a form that is the same in every process: a set sorted (peft keeps
    `target_modules` as one; its text would follow the process's string hashing), anything else as text."""
    return sorted(map(str, value)) if isinstance(value, (set, frozenset)) else str(value)


def _code_hash(model: torch.nn.Module) -> str:
    """sha256 over the source files of every module class in `model` (each file once, in the order of their hashes,
    so that where the package is installed does not matter): the model's own class alone is peft's `PeftModel` for a
    peft model, whose key then stayed the same when the CiTrus forward under it changed."""
    files: dict[str, str] = {}
    for module_class in {type(module) for module in model.modules()}:
        try:
            path = inspect.getsourcefile(module_class)
        except TypeError:  # a class without a source file (built in)
            path = None
        if (path or module_class.__qualname__) not in files:
            try:
                content = Path(path).read_bytes() if path else module_class.__qualname__.encode()
            except OSError:
                content = module_class.__qualname__.encode()
            files[path or module_class.__qualname__] = hashlib.sha256(content).hexdigest()
    return hashlib.sha256("".join(sorted(files.values())).encode()).hexdigest()


def _model_name(model: torch.nn.Module) -> str:
    """The model's class in an export's file name: the CiTrus class under a peft model, marked as adapted."""
    base = model.get_base_model() if callable(getattr(model, "get_base_model", None)) else model
    return type(base).__name__ + ("-peft" if base is not model else "")


def onnx_output_name(target: InferenceTarget) -> str:
    """The name of an exported graph's output: `"logits"` (a task head's output, class logits or regression targets,
    as transformers' model outputs name them) or `"embeddings"` (`model.embed()`)."""
    return target.output


def onnx_export_path(
    model: torch.nn.Module, target: InferenceTarget, cache_dir=None, *, cache_key: str | None = None
) -> Path:
    """Where the export of `model` for `target` is cached: named by its cache key (`onnx_cache_key`; pass
    `cache_key` when it is computed already)."""
    digest = (cache_key or onnx_cache_key(model, target))[:24]
    return onnx_cache_dir(cache_dir) / f"{_model_name(model)}-{target.output}-{digest}.onnx"


# The errors of a write to a disk (or a user's quota) that is full: no other folder of it helps
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class _RebuiltFromMessage(OSError):
    """An `OSError` built from its parts (`__init__` takes them, not a message) that pickling and `copy` rebuild from
    its message and attributes instead: by default they call `type(error)(*error.args)`, one message for the parts,
    so an error raised in a worker process (`datasets.map(num_proc=...)`, a process pool) reached the caller as
    "TypeError: __init__() missing 2 required positional arguments", hiding it, and `copy.copy(error)` failed."""

    def __reduce__(self):
        # (`errno` / `strerror` / `filename` are no entries of `__dict__`, and the message alone would leave them None;
        # only those set: a `filename` set to None still makes OSError's "[Errno None] None: None" of its message)
        parts = {name: getattr(self, name) for name in ("errno", "strerror", "filename")}
        state = {**self.__dict__, **{name: value for name, value in parts.items() if value is not None}}
        return _rebuilt_from_message, (type(self), self.args), state


def _rebuilt_from_message(kind: type[OSError], args: tuple) -> OSError:
    """An error of `kind` (a `_RebuiltFromMessage`) holding `args` as it was raised with them, without its
    `__init__`; its attributes are set afterwards from the pickled state."""
    error = kind.__new__(kind, *args)
    OSError.__init__(error, *args)
    return error


class OnnxCacheWriteError(_RebuiltFromMessage):
    """The ONNX export could not be written to its cache `folder` (a file, read-only, its disk full: `full`), and
    why (`reason`, with the `errno` of the write that failed, where it had one). The message names the fix in
    Python's words; a command, whose user chooses the folder with its own option or variable, words it its own way
    with `advice`. As an `OSError` it keeps the failed write's `errno` and `strerror` (`reason`), and the folder as
    its `filename`: built from the message alone, its `errno` was None, so a caller that tells a full disk by
    `error.errno == errno.ENOSPC`, as for any OSError, never saw one."""

    def __init__(self, folder: Path, reason: str, full: bool, errno_code: int | None = None):
        self.folder, self.reason, self.full = folder, reason, full
        super().__init__(self.advice("`cache_dir=` (the pipeline's `onnx_cache_dir=`) or $CITRUS_HF_ONNX_CACHE"))
        self.errno, self.strerror, self.filename = errno_code, reason, str(folder)

    def __str__(self) -> str:
        # the advice, not OSError's "[Errno 28] No space left on device: 'folder'", which its attributes would make
        return str(self.args[0])

    def advice(self, choose: str) -> str:
        """The message, the cache folder chosen by `choose` (the options or variables that choose it)."""
        fix = (
            f"free space on its disk, or give a folder on another disk with {choose}"
            if self.full
            else f"give a writable folder with {choose}"
        )
        return f"The ONNX export could not be written to the cache folder {self.folder} ({self.reason}); {fix}."


class _UnusableExportError(_RebuiltFromMessage):
    """A cached file that cannot serve: what is wrong with it, and the fix (one line)."""

    def __init__(self, path: Path, problem: str):
        # an export's weights kept apart (`onnx_data_path`) go with it: left alone, they stayed in the cache for good
        weights = onnx_data_path(path)
        files = f"that file and {weights.name} beside it" if weights.exists() else "that file"
        super().__init__(
            f"The cached ONNX export {path} {problem}; delete {files} and call again to export the model anew."
        )


def _check_cached_export(path: Path, cache_key: str) -> None:
    """Refuse a cached file that does not hold `cache_key`: another model's export (copied or renamed to this name),
    one written by other code, or a damaged file. Refused with the fix, as a damaged file is, rather than exported
    over: "auto" never exports, and a foreign file in the cache is worth the user's look before it goes."""
    try:
        import onnx
    except ImportError as error:  # checked by the callers; kept in `try` for the remote-code import check
        raise ImportError(f"Reading a cached ONNX export needs onnx: `{_INSTALL_ONNX}`.") from error
    try:
        stored = {entry.key: entry.value for entry in onnx.load(str(path), load_external_data=False).metadata_props}
    except Exception as error:  # protobuf's and onnx's own exceptions: a truncated or corrupt file
        raise _UnusableExportError(path, f"could not be read ({type(error).__name__}: {error})") from None
    found = stored.get(ONNX_CACHE_KEY_FIELD)
    if found is None:
        raise _UnusableExportError(
            path,
            f"holds no cache key ({ONNX_CACHE_KEY_FIELD}): not this code's export of this model, or a damaged file",
        )
    if found != cache_key:
        raise _UnusableExportError(
            path, "was exported from another model (its cache key differs: a stale file, or one copied into the cache)"
        )


class _ExportedGraph(torch.nn.Module):
    """`(input_values, patch_mask)` -> the target's output: the function the ONNX graph holds."""

    def __init__(self, model: torch.nn.Module, target: InferenceTarget):
        super().__init__()
        self.model = model
        self.target = target

    def forward(self, input_values: torch.Tensor, patch_mask: torch.Tensor) -> torch.Tensor:
        return self.target.compute(self.model, input_values, patch_mask)


@contextmanager
def _quiet_exporter():
    """The dynamo exporter prints its progress and warns about optional packages; keep that out of inference.

    The whole block holds the package's `WARNINGS_CAPTURE` (through `warnings_captured`), as its readers' blocks do:
    `catch_warnings` swaps the process's filter list, and a recording read in another thread whose block spanned the
    export's end put back the exporter's "ignore every warning" for good. torch's exporter swaps the list itself too
    (`torch.export._unlift`), so filters narrower than "ignore all" would not be enough: nothing else of the package
    swaps it until the export is done, and another thread's read waits for it (an export runs once per checkpoint).
    The lock also keeps the save and restore of the exporter's logger level of two concurrent exports apart."""
    try:  # the lock the package's readers hold; this file also runs as a checkpoint's remote code, without them
        from citrus_hf._logs import warnings_captured
    except ImportError:
        warnings_captured = warnings.catch_warnings
    with warnings_captured():
        warnings.simplefilter("ignore")
        exporter_logger = _stdlib_logging.getLogger("torch.onnx")
        previous = exporter_logger.level
        exporter_logger.setLevel(_stdlib_logging.ERROR)
        try:
            yield
        finally:
            exporter_logger.setLevel(previous)


def export_onnx(
    model: torch.nn.Module, target: InferenceTarget | str | None = None, cache_dir: str | os.PathLike | None = None
) -> tuple[Path, bool]:
    """The ONNX file of `model` for `target`, exported now unless the cache already holds it.

    The file holds its cache key (`onnx_cache_key`) in its `metadata_props`; a cached file whose key is missing or
    another model's is refused (an OSError naming the file: delete it), never run as this model.

    Returns:
        `(path, exported)`: the file, and whether this call exported it (False: reused from the cache).
    """
    _check_model(model, "export_onnx")
    target = target_for(model, target)
    cache_key = onnx_cache_key(model, target)
    path = onnx_export_path(model, target, cache_dir, cache_key=cache_key)
    if path.is_file():
        _check_cached_export(path, cache_key)
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partial_exports(path.parent)
    config = model.config
    num_channels = 2 if _channels_are_free(model, target) else config.num_channels
    # At least 2 patches, as 2 windows and 2 channels: torch.export specialises a dynamic axis whose example size is 0
    # or 1, and a checkpoint whose window is one patch failed to export (an AssertionError deep in torch's shapes)
    example_patches = max(2, config.num_patches)
    example = (
        torch.zeros(2, num_channels, example_patches * config.patch_length),
        torch.ones(2, example_patches, dtype=torch.long),
    )
    batch = torch.export.Dim("batch", min=1, max=1 << 20)
    # The time axis in whole patches, as the model takes it: a short recording's window (the extractor's default
    # `padding="longest"`) runs as it is, in plain ONNX Runtime too, and costs its own length rather than a full
    # window's. Full windows of the paper configuration ran as fast as through a graph of fixed length: dynamic / fixed
    # 0.89x, 1.08x, 0.98x at batch 32 and 1.01x, 0.99x, 0.99x at batch 1 (three A/B runs, alternating rounds, a
    # shared 2-core CPU); benchmarks/speed.py, ONNX Runtime / PatchTST's best path, 0.77x -> 0.78x at batch 32.
    patches = torch.export.Dim("patches", min=1, max=MAX_EXPORTED_PATCHES)
    channel_axis = {1: torch.export.Dim("channels", min=1, max=4096)} if _channels_are_free(model, target) else {}
    dynamic_shapes = {
        "input_values": {0: batch, **channel_axis, 2: config.patch_length * patches},
        "patch_mask": {0: batch, 1: patches},
    }
    # seconds to a minute, once per checkpoint: say so, or a first call would seem to hang
    logger.warning(f"Exporting {type(model).__name__} to ONNX for ONNX Runtime, once (cached as {path}).")
    # The dynamo exporter swaps the traced module's weights for FakeTensors while it traces, and the graph is traced in
    # eval mode: on the caller's own model, another thread's pipeline over that model failed meanwhile (a data-
    # dependent guard, "Cannot access data pointer of Tensor (e.g. FakeTensor)") or ran in the wrong mode. A copy
    # (same values: the cache key above hashed the caller's weights, which the copy holds) is traced instead, and
    # the caller's model is never touched.
    traced = copy.deepcopy(_uncompiled(model)).eval()
    # the temporary file is created before the export, so that a cache folder that cannot be written is reported
    # before a minute of exporting
    with written_then_renamed(path) as temporary:
        with _quiet_exporter(), torch.no_grad(), without_autocast(model.device.type):
            program = torch.onnx.export(
                _ExportedGraph(traced, target),
                example,
                input_names=["input_values", "patch_mask"],
                output_names=[onnx_output_name(target)],
                opset_version=ONNX_OPSET,
                dynamo=True,
                dynamic_shapes=dynamic_shapes,
                verbose=False,
            )
            program.model.metadata_props[ONNX_CACHE_KEY_FIELD] = cache_key  # what a later load checks
            _save_graph(program.model, temporary, path)
    return path, True


# The weights (bytes) above which an export keeps them in a file of its own beside the graph (`onnx_data_path`): one
# protobuf file holds 2 GB at most, and torch's exporter moves them out above this size whatever it is told. Left to
# torch, that file was named after the temporary file the export is written to (a hidden ".…onnx.partial.data"), and a
# deployment of more than 2 GB failed in onnx's protobuf writer.
ONNX_SINGLE_FILE_BYTES = 1536 * 1024 * 1024


def onnx_data_path(path: str | os.PathLike) -> Path:
    """The file of the weights of the ONNX graph `path` when they are kept apart (`ONNX_SINGLE_FILE_BYTES`)."""
    return Path(f"{path}.data")


def _save_graph(graph, temporary: str, path: Path) -> None:
    """Write the exported `graph` (an `onnx_ir.Model`) to `temporary`, which becomes `path`: one file, or with its
    weights in `onnx_data_path(path)` where they pass `ONNX_SINGLE_FILE_BYTES` (named as the graph's final name, which
    the graph records relative to its folder; in place first, so that the graph never names a missing file). The two
    are written into a hidden folder of their own beside `path` (`_PARTIAL_EXPORT_FOLDERS`) and renamed out of it, the
    weights first: written under their final name, a full disk left a partial weights file of gigabytes in the cache,
    and two processes exporting one model truncated each other's."""
    try:
        import onnx_ir
    except ImportError as error:  # installed with onnxscript (checked by the caller); `try` for the remote-code check
        raise ImportError(
            f"backend='onnxruntime' needs onnx-ir, which onnxscript installs: `{_INSTALL_ONNX}`."
        ) from error
    weights = sum(
        value.const_value.nbytes for value in graph.graph.initializers.values() if value.const_value is not None
    )
    if weights <= ONNX_SINGLE_FILE_BYTES:
        onnx_ir.save(graph, temporary)
        return
    folder = Path(f"{temporary}.d")  # the temporary file's name: its own, as `new_partial_file` made it
    folder.mkdir()
    try:
        onnx_ir.save(graph, folder / path.name, external_data=onnx_data_path(path).name)
        os.replace(onnx_data_path(folder / path.name), onnx_data_path(path))
        os.replace(folder / path.name, temporary)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# How old a temporary export file (`new_partial_file`) in the ONNX cache must be before an export removes it: the cache
# is shared by concurrent pipelines with no lock, so a younger one may be a live export's (written at its end, so its
# age is the export's time so far: seconds to a minute for the paper's configuration). An export killed part-way left
# its file there for good (a graph's size each).
STALE_PARTIAL_SECONDS = 24 * 3600
# The names `new_partial_file` gives the exports (`.{stem}-{12 hex digits}.onnx.partial`), as `fnmatch` reads them,
# and of the folders a graph is written into with its weights kept apart (`_save_graph`).
_PARTIAL_EXPORTS = ".*-" + "[0-9a-f]" * 12 + ".onnx.partial"
_PARTIAL_EXPORT_FOLDERS = _PARTIAL_EXPORTS + ".d"


def remove_stale_partial_exports(folder: Path) -> None:
    """Remove from the ONNX cache `folder` the temporary export files (and folders, `_save_graph`) last written
    `STALE_PARTIAL_SECONDS` ago or more: left by exports that were killed, as no live export is that slow. Named in
    one warning; one removed meanwhile by a concurrent export, or not removable (another user's, in a shared cache),
    is passed over."""
    removed = []
    now = time.time()
    for entry in folder.iterdir():
        is_folder = fnmatch.fnmatchcase(entry.name, _PARTIAL_EXPORT_FOLDERS)
        if not (is_folder or fnmatch.fnmatchcase(entry.name, _PARTIAL_EXPORTS)):
            continue
        try:
            # a folder's time is its files' (written into it, its own changes when they are created)
            times = [item.lstat().st_mtime for item in [entry, *(entry.iterdir() if is_folder else ())]]
            if now - max(times) < STALE_PARTIAL_SECONDS:
                continue
            if is_folder:
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:  # gone already, or not this user's to remove
            continue
        removed.append(entry.name)
    if removed:
        logger.warning(
            f"Removed {', '.join(sorted(removed))} from the ONNX cache {folder}: temporary files of exports that were "
            f"killed (untouched for {STALE_PARTIAL_SECONDS // 3600} hours or more)."
        )


# `citrus_hf._files.new_partial_file` and `written_then_renamed`, spelt out: this file travels as remote code with the
# pipelines, which may import nothing of the package but each other (a test keeps the two copies equal).
def new_partial_file(path: str | os.PathLike) -> str:
    """Create a new empty file beside `path`, hidden and its own (`.{stem}-{random}{suffix}.partial`), and return its
    name. Created as `open()` creates a file, 0o666 less the umask (`mkstemp`'s 0600 made the model's weights
    unreadable to others under the usual umask), and exclusively, so two writers never share it; created now, so that
    a folder that cannot be written is reported before the work that fills the file. No recording reader takes the
    `.partial` suffix, so a folder of recordings never reads it as one."""
    path = Path(path)
    partial = str(path.with_name(f".{path.stem}-{os.urandom(6).hex()}{path.suffix}.partial"))
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    return partial


@contextmanager
def written_then_renamed(path: str | os.PathLike) -> Iterator[str]:
    """A `new_partial_file` beside `path` for the block to write `path`'s content to: renamed onto `path` when the
    block ends, removed when it raises. A write that fails (a full disk) or is interrupted (Ctrl-C) leaves neither a
    partial `path` nor the temporary file, and readers of `path` never see half a file."""
    partial = new_partial_file(path)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


__all__ = [
    "BACKENDS",
    "FUSION_BACKENDS",
    "BLOCKED_ATTENTION",
    "ONNX_OPSET",
    "ONNX_SINGLE_FILE_BYTES",
    "ONNX_TOLERANCE",
    "RACE_MIN_WINDOWS",
    "BFloat16Backend",
    "CheckedBackend",
    "InferenceBackend",
    "InferenceTarget",
    "OnnxCacheWriteError",
    "OnnxRuntimeBackend",
    "TorchBackend",
    "adapter_state",
    "blocked_bf16_attention",
    "cached_backend",
    "cpu_bf16_support",
    "export_onnx",
    "fold_adapters",
    "load_backend",
    "onnx_cache_dir",
    "onnx_cache_key",
    "onnx_data_path",
    "onnx_export_available",
    "onnx_export_path",
    "predict_windows",
    "problem_of",
    "register_blocked_attention",
    "scores_each_output",
    "shape_policy",
    "target_for",
    "weights_fingerprint",
    "weights_hash",
    "written_then_renamed",
]
