"""`citrus export`: export a checkpoint to ONNX once, ahead of time, so that ONNX Runtime is one of the paths
`backend="auto"` races (`citrus_hf.inference.backends`).

    citrus export runs/har                    # a fine-tuned classifier or regressor: its logits / targets
    citrus export citrus-small                # a pre-training checkpoint: the feature-extraction pipeline's embeddings
    citrus export runs/har-lora               # a LoRA adapter folder: merged into its base, as the pipeline runs it
    citrus export runs/har --cache-dir /srv/onnx
    citrus export runs/har --output-dir har-onnx   # also a folder to deploy: model.onnx, config.json, extractor

"auto" never exports on its own (an export takes tens of seconds on 2 cores, longer than fp32 PyTorch needs for a
night of recordings), so without this command, `backend="onnxruntime"` or `export_onnx`, ONNX Runtime never runs.
The file lands in the same cache, under the same key (a hash of the weights, config, model code, output, opset and
the versions of torch and of the exporter's onnxscript and onnx-ir), that the pipelines and `predict_windows` look up,
for the model the pipeline loads (the class of `config.architectures`; a LoRA adapter merged into its base) and the
output it computes; the export is then checked against fp32 PyTorch. A cached file at that name whose stored key is
another model's (copied or renamed into the cache) is refused in one line naming it (delete it), before the check: a
difference found there is the exporter's, not a stale file's. The ONNX path runs float32: a checkpoint saved in bfloat16 or float16 is exported as its float32
copy (said in a note), which is what `pipeline(model=..., dtype=torch.float32)` runs.

`--output-dir` also writes what ONNX Runtime alone needs to serve the model, as `optimum-cli export onnx` does:
`model.onnx` (the checked export; weights over 1.5 GB beside it in `model.onnx.data`; with `id2label` and `function_to_apply` ("softmax", or "sigmoid" for a multi-label
or one-output classifier) in its metadata for a classifier, `target_names` for a regressor that names its targets
(`config.target_names`), and `embedding_options`, the
features, pooling and channel pooling of the embeddings it computes, for any other checkpoint), `config.json`
(`id2label`; `head_features`, `pooling` and `channel_pooling` those of the graph; `dtype` float32; no `custom_pipelines`
nor AutoModel classes, whose code the folder does not hold) and `preprocessor_config.json` (the feature extractor,
with its code for `AutoFeatureExtractor.from_pretrained(folder, trust_remote_code=True)`). See `ONNX_IO` for the
graph's inputs and outputs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..vocabulary_citrus import (
    CHANNEL_POOLINGS,
    CITRUS_MODEL_TYPE,
    CLASSIFICATION,
    DEPLOYED_ONNX_NAME,
    HEAD_FEATURES,
    POOLINGS,
)
from . import UsageError, saved_values_named

# The hidden folder inside --output-dir that a deployment is written into before its files move in
# (`_write_deployment`); one left by an export that was killed is removed by the next (`output_folder_lock`).
STAGING_PREFIX = ".citrus-export-"

# The exported graph's inputs and outputs, for `--help` and the README.
ONNX_IO = (
    "Inputs: input_values float32 (batch, channels, time), time a whole number of patches (patch_length samples "
    "each; the checkpoint's context_length at most in training), channels the checkpoint's num_channels (any for "
    "embeddings or channel_pooling='mean'); patch_mask int64 (batch, time / patch_length), 1 for a real patch and 0 "
    "for padding (all ones for full windows): exactly the feature extractor's input_values and patch_mask "
    "(return_tensors='np'). Output: logits float32 (batch, num_labels or num_targets) for a classifier or regressor "
    "(class logits, or the regression targets), embeddings float32 (batch, features) for any other checkpoint. "
    # measured: onnxruntime 1.17.3 refuses IR 10 ("max supported IR version: 9"), 1.18.0 runs the graph (under numpy
    # 1: it does not import with numpy 2); opset 18 alone would need 1.14. A test exports a model and checks the two
    # numbers, so an exporter that writes a newer IR version fails there before a deployment is told the wrong floor.
    "The graph is opset 18 in ONNX IR version 10: serve it with onnxruntime >= 1.18 (1.17 refuses it: 'Unsupported "
    "model IR version')."
)


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
            "$CITRUS_HF_ONNX_CACHE, else $HF_HOME/citrus_hf/onnx, else $XDG_CACHE_HOME/citrus_hf/onnx, else "
            "~/.cache/citrus_hf/onnx)"
        },
    )
    output_dir: str | None = field(
        default=None,
        metadata={
            "help": "also write a folder to deploy with ONNX Runtime alone: model.onnx, config.json (id2label; for "
            "embeddings, the features, pooling and channel pooling exported, also in model.onnx's metadata as "
            "embedding_options) and preprocessor_config.json, as optimum-cli export onnx writes. " + ONNX_IO
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
    "Export a CiTrus checkpoint (or a LoRA adapter folder, merged into its base) to ONNX once, into the cache that "
    "`backend='auto'` (pipelines, predict_windows) reads, so that ONNX Runtime races fp32 PyTorch from the next call "
    "on; the export is checked against fp32 PyTorch. With --output-dir, also a folder to deploy with ONNX Runtime "
    "alone."
)


def build_parser():
    from .parser import CommandParser

    return CommandParser(ExportArguments, prog="citrus export", description=DESCRIPTION)


def run(argv: Sequence[str]) -> int:
    """Load the checkpoint as its pipeline does, export it (or find it exported) and compare it with fp32 PyTorch;
    with `--output-dir`, write the deployable folder, holding its run lock from the check of the folder to the end
    (as `citrus finetune` holds its folder's): a second export into the same folder is refused at once, and the
    staging folder of an export that was killed is removed as the next one starts."""
    args = build_parser().parse(argv)
    from ..loading import check_model_reference, is_adapter_folder
    from ..training.arguments import check_output_dir
    from ..training.run_lock import output_folder_lock

    if not is_adapter_folder(args.model):  # the pipeline takes those: so does this command
        check_model_reference(args.model)
    for flag, folder in (("--cache-dir", args.cache_dir), ("--output-dir", args.output_dir)):
        if folder is not None:
            check_output_dir(folder, flag)
    if args.output_dir is None:
        return _export(args)
    with output_folder_lock(args.output_dir, "citrus export", leftovers=(f"{STAGING_PREFIX}*",)):
        return _export(args)


def _export(args: ExportArguments) -> int:
    """`citrus export`, once its folders are checked and its --output-dir (if any) is held."""
    if args.output_dir is not None:
        # the deployment's config.json (an ONNX `auto_map`) would replace a checkpoint's own, which then no longer
        # loads with the Auto classes (or, for an adapter, with the pipeline)
        held = [name for name in ("config.json", "adapter_config.json") if (Path(args.output_dir) / name).is_file()]
        if held and not (Path(args.output_dir) / DEPLOYED_ONNX_NAME).is_file():
            raise UsageError(
                f"--output-dir {args.output_dir!r} holds a checkpoint ({', '.join(held)}), whose files the deployment "
                "would overwrite; give the deployment a folder of its own."
            )
    # Imported after the checks: `--help` and a mistyped folder answer before torch loads.
    from .._extras import EXTRAS
    from ..inference.backends import (
        ONNX_TOLERANCE_TEXT,
        OnnxCacheWriteError,
        OnnxRuntimeBackend,
        TorchBackend,
        onnx_cache_dir,
        onnx_export_available,
    )
    from ..training.arguments import check_output_dir  # (imported by `run` too, which this runs apart from)

    missing = onnx_export_available()
    if missing:
        raise UsageError(
            f"citrus export needs onnxruntime, onnx and onnxscript; {missing} not installed: "
            f"pip install 'citrus-hf[{EXTRAS['onnxruntime']}]'."
        )
    if args.cache_dir is None:
        # the default cache (under a read-only $HOME or a shared read-only $HF_HOME) was found unwritable only after
        # the model had loaded, in a message naming the Python argument `cache_dir=`
        try:
            check_output_dir(str(onnx_cache_dir()), "The default ONNX cache")
        except ValueError as error:
            raise UsageError(f"{error} Give one with --cache-dir or $CITRUS_HF_ONNX_CACHE.") from None
    with saved_values_named(args.model, "export"):
        loaded = _load(args)
    model, target = loaded.model, loaded.target
    if loaded.saved_dtype not in (None, "float32"):
        print(
            f"note: {args.model!r} is saved in {loaded.saved_dtype}; the ONNX path runs float32, so its float32 copy "
            "is exported (as `pipeline(model=..., dtype=torch.float32)` loads it)."
        )
    started = time.perf_counter()
    try:
        onnx_backend = OnnxRuntimeBackend(model, target, args.cache_dir)
    except OnnxCacheWriteError as error:  # (its own words name Python's `cache_dir=`)
        raise UsageError(error.advice("--cache-dir DIR or $CITRUS_HF_ONNX_CACHE")) from None
    done = f"exported in {time.perf_counter() - started:.1f} s" if onnx_backend.exported else "already exported"
    print(f"{type(model).__name__} ({target.output}) {done}: {onnx_backend.path}")
    absolute, relative, within = _differences(model, onnx_backend, TorchBackend(model, target))
    measured = f"{absolute:.1e} ({relative:.1e} of the largest output)"
    if not within:
        raise RuntimeError(
            f"The ONNX export's outputs differ from fp32 PyTorch by up to {measured}, beyond {ONNX_TOLERANCE_TEXT}, "
            "so backend='auto' would not use it; please report this with the checkpoint's config.json."
        )
    print(f"Outputs match fp32 PyTorch within {measured} ('auto' asks for {ONNX_TOLERANCE_TEXT}).")
    if args.output_dir is not None:
        apart = _write_deployment(onnx_backend.path, loaded, Path(args.output_dir).expanduser())
        deployed = Path(args.output_dir) / DEPLOYED_ONNX_NAME
        # the weights' own file must be deployed with the graph, which names it
        weights = f" (its weights in {deployed}.data, to keep beside it)" if apart else ""
        print(
            f"Wrote {deployed}{weights} with config.json and preprocessor_config.json: "
            "ONNX Runtime serves it without citrus_hf (see `citrus export --help`, --output-dir)."
        )
    cache = "" if args.cache_dir is None else f", onnx_cache_dir={args.cache_dir!r}"
    dtype = "" if loaded.saved_dtype in (None, "float32") else ", dtype=torch.float32"  # else it runs bf16 PyTorch
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
    # the revision exported: the call without it loads the default branch, another model and another export
    revision = "" if args.revision is None else f", revision={args.revision!r}"
    call = f"pipeline(model={args.model!r}{revision}{dtype}{cache})" + (
        f"(recording, sampling_rate=...{options})" if options else ""
    )
    print(f"backend='auto' now races ONNX Runtime against fp32 PyTorch, e.g. {call}.")
    return 0


@dataclass
class _Loaded:
    """What `citrus export` exports: the model as the pipeline loads it (float32), its output, its feature extractor,
    and the dtype its checkpoint was saved in (None: not recorded)."""

    model: Any
    target: Any
    extractor: Any
    saved_dtype: str | None


def _differences(model, onnx_backend, torch_backend) -> tuple[float, float, bool]:
    """The largest absolute and relative differences between the two backends' outputs on seeded random windows, as
    the pipelines send them: a batch of full windows, one window alone (the batch axis is dynamic) whose second half is
    masked padding (whole for a window of one patch), and two short windows of half the patches (the time axis is
    dynamic: a short recording's window); and whether every output is within the tolerance of "auto" (`onnx_differences`)."""
    import torch

    from ..inference.backends import onnx_differences

    config = model.config
    generator = torch.Generator().manual_seed(0)
    half = config.num_patches // 2
    absolute, relative, within = 0.0, 0.0, True
    for batch_size, patches in ((8, config.num_patches), (1, config.num_patches), (2, max(half, 1))):
        windows = torch.randn(batch_size, config.num_channels, patches * config.patch_length, generator=generator)
        patch_mask = None
        if batch_size == 1 and half > 0:  # (a window of one patch has no half to pad: it runs whole)
            patch_mask = torch.ones(1, config.num_patches, dtype=torch.long)
            patch_mask[:, half:] = 0
            windows[..., half * config.patch_length :] = 0
        batch = onnx_differences(onnx_backend(windows, patch_mask), torch_backend(windows, patch_mask))
        absolute, relative, within = max(absolute, batch[0]), max(relative, batch[1]), within and batch[2]
    return absolute, relative, within


def _load(args: ExportArguments) -> _Loaded:
    """The model as `pipeline(model=...)` loads it (the class of `config.architectures`; a LoRA adapter put on its
    base and merged), in float32, and the output the pipeline computes: a task model's logits, any other model's
    embeddings (keyed, like the pipeline's, by the options given only)."""
    import torch
    from transformers.utils import CONFIG_NAME

    from ..configuration_citrus import PIPELINE_TASKS
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..inference import pipelines
    from ..inference.backends import InferenceTarget
    from ..inference.registration import CiTrusSavedClass, _merged_adapter, _saved_extractor
    from ..loading import is_adapter_folder, read_json_object, resolve_checkpoint

    folder = resolve_checkpoint(args.model, revision=args.revision)
    if is_adapter_folder(folder):
        found: dict = {}
        try:
            model, _ = _merged_adapter(str(folder), None, found)
            saved_dtype = str(model.dtype).removeprefix("torch.")  # the base's (transformers loads the saved one)
            if model.dtype != torch.float32:
                # merged again from a float32 base, as `pipeline(model=..., dtype=torch.float32)` merges it: the
                # low-precision merge cast to float32 holds other weights (rounded in bf16), so its export's key was
                # not the pipeline's, and the pipeline never found it
                model, _ = _merged_adapter(str(folder), None, {**found, "dtype": torch.float32})
        except (OSError, ValueError, TypeError) as error:
            raise UsageError(
                f"citrus export: {args.model!r} is an adapter folder (peft), exported merged into the base it records "
                f"(`merge_adapter(load_adapter(None, {args.model!r}))`, as `pipeline(model=...)` runs it), and that "
                f"failed: {error}"
            ) from None
        extractor = found["feature_extractor"]
    else:
        saved = read_json_object(folder / CONFIG_NAME, "pass a folder written by save_pretrained")
        if saved.get("model_type") != CITRUS_MODEL_TYPE:
            raise UsageError(
                f"citrus export: {args.model!r} is a {saved.get('model_type')!r} checkpoint; the ONNX path runs "
                "single-modality CiTrus models (model_type 'citrus'), the ones the pipelines take."
            )
        # float32 whatever the checkpoint's dtype (transformers loads the saved one by default): the ONNX path runs
        # float32, and `pipeline(..., dtype=torch.float32)` loads the same weights, so the key is the same
        model = CiTrusSavedClass.from_pretrained(str(folder), dtype=torch.float32)
        extractor = _saved_extractor(folder) or CiTrusFeatureExtractor.from_config(model.config)
        saved_dtype = saved.get("dtype") or saved.get("torch_dtype")
    model.eval()
    embedding_options = {
        name: value
        for name, value in (
            ("features", args.features),
            ("pooling", args.pooling),
            ("channel_pooling", args.channel_pooling),
        )
        if value is not None
    }
    # the output of the pipeline that `pipeline(model=...)` builds for this class (`CiTrusSavedClass` and adapters
    # load only classes `PIPELINE_TASKS` names)
    pipeline_class = getattr(pipelines, PIPELINE_TASKS[type(model).__name__][1])
    if pipeline_class.target_output == "logits":
        if embedding_options:
            given = ", ".join(f"--{name.replace('_', '-')}" for name in embedding_options)
            raise UsageError(
                f"citrus export: {given} choose embeddings, but {args.model!r} is a {type(model).__name__}, whose "
                "pipeline computes its head's output; leave them out."
            )
        return _Loaded(model, InferenceTarget(), extractor, saved_dtype)
    model.embedding_options(**embedding_options)  # a bad choice is refused before the export
    return _Loaded(model, InferenceTarget(output="embeddings", **embedding_options), extractor, saved_dtype)


def _write_deployment(exported: Path, loaded: _Loaded, folder: Path) -> bool:
    """`folder/model.onnx` (the checked export; a classifier's `id2label` and `function_to_apply` added to its
    metadata), `config.json` and `preprocessor_config.json` (with the extractor's code), as optimum's export folder
    holds them. Written whole or not at all: into a hidden folder inside `folder` first, then moved in, `model.onnx`
    last (written in place, a failure or Ctrl-C part-way left the new graph beside the earlier export's config, or
    half a config, where a working deployment had been).

    Returns:
        Whether the graph's weights are kept apart, in `folder/model.onnx.data` (as the export kept them).
    """
    import copy
    import json

    import onnx
    import torch

    from .._files import written_into_folder
    from ..inference.backends import onnx_data_path, problem_of, scores_each_output

    folder.mkdir(parents=True, exist_ok=True)
    graph = onnx.load(str(exported), load_external_data=False)
    # weights kept apart by the export (over `ONNX_SINGLE_FILE_BYTES`: one protobuf file holds 2 GB at most) are kept
    # apart in the deployment too, as model.onnx.data beside it
    apart = any(tensor.data_location == onnx.TensorProto.EXTERNAL for tensor in graph.graph.initializer)
    onnx.load_external_data_for_model(graph, str(exported.parent))
    config = copy.deepcopy(loaded.model.config)
    metadata = {}
    if problem_of(loaded.model) == CLASSIFICATION:
        metadata["id2label"] = {str(index): label for index, label in loaded.model.config.id2label.items()}
        # how the logits become scores, as the pipelines make them (transformers' `function_to_apply` names): a
        # multi-label or one-output classifier's logits each through a sigmoid, argmax of them would be wrong
        metadata["function_to_apply"] = "sigmoid" if scores_each_output(loaded.model.config) else "softmax"
    elif getattr(loaded.model.config, "target_names", None) and loaded.target.output == "logits":
        # a regressor's outputs by name (its `id2label`), in the graph's output order
        metadata["target_names"] = loaded.model.config.target_names
    elif loaded.target.output == "embeddings":
        # what the graph computes, which `--features` / `--pooling` / `--channel-pooling` chose: the config's fields
        # of the same meaning say it too (they described the checkpoint's defaults, another graph)
        features, pooling = loaded.model.embedding_options(loaded.target.features, loaded.target.pooling)
        config.head_features, config.pooling = features, pooling
        config.channel_pooling = loaded.target.channel_pooling
        metadata["embedding_options"] = {
            "features": features,
            "pooling": pooling,
            "channel_pooling": config.channel_pooling,
        }
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    # The folder holds no PyTorch model, nor its code: `auto_map` keeps only the classes whose code is saved here
    # (the configuration and the extractor, which load with trust_remote_code and without citrus_hf), instead of
    # naming a modeling_citrus.py the folder does not hold, and no `custom_pipelines` names pipelines.py (transformers
    # then stopped on the file missing, as if the export were incomplete).
    config.auto_map = {
        auto_class: reference
        for auto_class, reference in (getattr(config, "auto_map", None) or {}).items()
        if not auto_class.startswith("AutoModel")
    }
    if hasattr(config, "custom_pipelines"):
        del config.custom_pipelines
    config.dtype = torch.float32  # the graph's, whatever the checkpoint (or an adapter's base) was saved in
    # the graph last: a folder holding it is a deployment (`run`'s check), so it comes in with its config
    with written_into_folder(folder, STAGING_PREFIX, last=DEPLOYED_ONNX_NAME) as staged:
        onnx.save(
            graph,
            str(staged / DEPLOYED_ONNX_NAME),
            save_as_external_data=apart,
            all_tensors_to_one_file=True,
            location=onnx_data_path(DEPLOYED_ONNX_NAME).name,
        )
        config.save_pretrained(staged)
        loaded.extractor.save_pretrained(staged)
    return apart


if __name__ == "__main__":  # `python -m citrus_hf.commands.export ...`, also under `accelerate launch -m`
    from .main import run_command_module

    run_command_module("export")
