"""`citrus export`: export a checkpoint to ONNX once, ahead of time, so that ONNX Runtime is one of the paths
`backend="auto"` races (`citrus_hf.inference.backends`).

    citrus export runs/har                    # a fine-tuned classifier or regressor: its logits / targets
    citrus export citrus-small                # a pre-training checkpoint: the feature-extraction pipeline's embeddings
    citrus export runs/har --cache-dir /srv/onnx

"auto" never exports on its own (an export takes tens of seconds on 2 cores, longer than fp32 PyTorch needs for a
night of recordings), so without this command, `backend="onnxruntime"` or `export_onnx`, ONNX Runtime never runs.
The file lands in the same cache, under the same key (a hash of the weights, config, model code, output, opset and
torch version), that the pipelines and `predict_windows` look up, for the model class the pipeline loads
(`config.architectures`) and the output it computes; the export is then checked against fp32 PyTorch. A cached file
at that name whose stored key is another model's (copied or renamed into the cache) is refused in one line naming it
(delete it), before the check: a difference found there is the exporter's, not a stale file's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..vocabulary_citrus import CHANNEL_POOLINGS, CITRUS_MODEL_TYPE, HEAD_FEATURES, POOLINGS
from . import UsageError

# Windows of the check: a batch as the pipelines send it, and one window alone (the batch axis is dynamic).
CHECK_BATCH_SIZES = (8, 1)


@dataclass
class ExportArguments:
    """Settings of `citrus export`."""

    model: str = field(
        metadata={
            "help": "checkpoint folder (save_pretrained), bundled name (citrus-small) or Hub id",
            "positional": True,
        }
    )
    cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "folder of exported ONNX files; give the same to the pipeline (`onnx_cache_dir=`) (default: "
            "$CITRUS_HF_ONNX_CACHE, else ~/.cache/citrus_hf/onnx)"
        },
    )
    revision: str | None = field(default=None, metadata={"help": "branch, tag or commit of a Hub checkpoint"})
    # choices: a misspelt value is refused before the model loads
    features: Literal[HEAD_FEATURES] | None = field(
        default=None,
        metadata={"help": "embeddings only: embed()'s `features`, as the pipeline is called (default: the config's)"},
    )
    pooling: Literal[POOLINGS] | None = field(
        default=None,
        metadata={"help": "embeddings only: embed()'s `pooling`, as the pipeline is called (default: the config's)"},
    )
    channel_pooling: Literal[CHANNEL_POOLINGS] | None = field(
        default=None,
        metadata={"help": "embeddings only: embed()'s `channel_pooling`, as the pipeline is called (default: concat)"},
    )


DESCRIPTION = (
    "Export a CiTrus checkpoint to ONNX once, into the cache that `backend='auto'` (pipelines, predict_windows) reads, "
    "so that ONNX Runtime races fp32 PyTorch from the next call on; the export is checked against fp32 PyTorch."
)


def build_parser():
    from .parser import CommandParser

    return CommandParser(ExportArguments, prog="citrus export", description=DESCRIPTION)


def run(argv: Sequence[str]) -> int:
    """Load the checkpoint as its pipeline does, export it (or find it exported) and compare it with fp32 PyTorch."""
    args = build_parser().parse(argv)
    from ..loading import check_model_reference
    from ..training.arguments import check_output_dir

    check_model_reference(args.model)
    if args.cache_dir is not None:
        check_output_dir(args.cache_dir, "--cache-dir")
    # Imported after the checks: `--help` and a mistyped folder answer before torch loads.
    from .._extras import EXTRAS
    from ..inference.backends import ONNX_TOLERANCE, OnnxRuntimeBackend, TorchBackend, onnx_export_available

    missing = onnx_export_available()
    if missing:
        raise UsageError(
            f"citrus export needs onnxruntime, onnx and onnxscript; {missing} not installed: "
            f"pip install 'citrus-hf[{EXTRAS['onnxruntime']}]'."
        )
    model, target = _model_and_target(args)
    started = time.perf_counter()
    onnx_backend = OnnxRuntimeBackend(model, target, args.cache_dir)
    done = f"exported in {time.perf_counter() - started:.1f} s" if onnx_backend.exported else "already exported"
    print(f"{type(model).__name__} ({target.output}) {done}: {onnx_backend.path}")
    difference = _largest_difference(model, onnx_backend, TorchBackend(model, target))
    if not difference <= ONNX_TOLERANCE:
        raise RuntimeError(
            f"The ONNX export's outputs differ from fp32 PyTorch by {difference:.2e} (more than {ONNX_TOLERANCE:g}), "
            "so backend='auto' would not use it; please report this with the checkpoint's config.json."
        )
    print(f"Outputs match fp32 PyTorch within {difference:.1e} ('auto' asks for {ONNX_TOLERANCE:g}).")
    cache = "" if args.cache_dir is None else f", onnx_cache_dir={args.cache_dir!r}"
    # the embedding options are part of the export's key: a call without them runs another graph (not exported)
    options = "".join(
        f", {name}={value!r}"
        for name, value in (
            ("features", args.features),
            ("pooling", args.pooling),
            ("channel_pooling", args.channel_pooling),
        )
        if value is not None
    )
    call = f"pipeline(model={args.model!r}{cache})" + (f"(recording, sampling_rate=...{options})" if options else "")
    print(f"backend='auto' now races ONNX Runtime against fp32 PyTorch, e.g. {call}.")
    return 0


def _largest_difference(model, onnx_backend, torch_backend) -> float:
    """Largest absolute difference between the two backends' outputs on seeded random windows, as the pipelines
    send them: a batch of full windows, and one window whose second half is padding (masked)."""
    import torch

    config = model.config
    generator = torch.Generator().manual_seed(0)
    difference = 0.0
    for batch_size in CHECK_BATCH_SIZES:
        windows = torch.randn(batch_size, config.num_channels, config.context_length, generator=generator)
        patch_mask = None
        if batch_size == 1:
            patch_mask = torch.ones(1, config.num_patches, dtype=torch.long)
            patch_mask[:, config.num_patches // 2 :] = 0
            windows[..., (config.num_patches // 2) * config.patch_length :] = 0
        expected = torch_backend(windows, patch_mask)
        difference = max(difference, float((onnx_backend(windows, patch_mask) - expected).abs().max()))
    return difference


def _model_and_target(args: ExportArguments):
    """The model as `pipeline(model=...)` loads it (the class of `config.architectures`) and the output the
    pipeline computes: a task model's logits, any other model's embeddings (keyed, like the pipeline's, by the
    options given only)."""
    from transformers.utils import CONFIG_NAME

    from ..configuration_citrus import PIPELINE_TASKS
    from ..inference import pipelines
    from ..inference.backends import InferenceTarget
    from ..inference.registration import CiTrusSavedClass
    from ..loading import read_json_object, resolve_checkpoint

    folder = resolve_checkpoint(args.model, revision=args.revision)
    model_type = read_json_object(folder / CONFIG_NAME, "pass a folder written by save_pretrained").get("model_type")
    if model_type != CITRUS_MODEL_TYPE:
        raise UsageError(
            f"citrus export: {args.model!r} is a {model_type!r} checkpoint; the ONNX path runs single-modality CiTrus "
            "models (model_type 'citrus'), the ones the pipelines take."
        )
    model = CiTrusSavedClass.from_pretrained(str(folder)).eval()
    embedding_options = {
        name: value
        for name, value in (
            ("features", args.features),
            ("pooling", args.pooling),
            ("channel_pooling", args.channel_pooling),
        )
        if value is not None
    }
    # the output of the pipeline that `pipeline(model=...)` builds for this class (`CiTrusSavedClass` loads only
    # classes `PIPELINE_TASKS` names)
    pipeline_class = getattr(pipelines, PIPELINE_TASKS[type(model).__name__][1])
    if pipeline_class.target_output == "logits":
        if embedding_options:
            given = ", ".join(f"--{name.replace('_', '-')}" for name in embedding_options)
            raise UsageError(
                f"citrus export: {given} choose embeddings, but {args.model!r} is a {type(model).__name__}, whose "
                "pipeline computes its head's output; leave them out."
            )
        return model, InferenceTarget()
    model.embedding_options(**embedding_options)  # a bad choice is refused before the export
    return model, InferenceTarget(output="embeddings", **embedding_options)


if __name__ == "__main__":  # `python -m citrus_hf.commands.export ...`, also under `accelerate launch -m`
    from .main import run_command_module

    run_command_module("export")
