"""Model cards and publishing: CiTrus (and CiTrus fusion) checkpoints on the Hugging Face Hub.

- `build_model_card` fills `model_cards/citrus_model_card.md` (fusion models: `citrus_fusion_model_card.md`, one
  section per modality) through `huggingface_hub.ModelCard`: metadata (library, tags, license, datasets, base model,
  `model-index` from `citrus evaluate` results) and the sections a user of a bio-signal checkpoint needs (input
  contract, pre-training, hyper-parameters, usage, limitations, citation).
- `push_to_hub` publishes model + feature extractor (fusion: processor) + card + the model's code (so
  `trust_remote_code=True` works without the package) as one commit, safetensors only.
- `load_pretrained` / `load_feature_extractor` / `load_processor` load from a Hub id, a local folder or the offline
  cache, and turn the Hub's failures (missing repo, revision or file, offline with an empty cache) into errors that
  say what to do.

Loading never runs code from a repository unless `trust_remote_code=True` is passed, and never unpickles weights.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huggingface_hub import EvalResult, HfApi, ModelCard, ModelCardData

from .configuration_citrus import CiTrusConfig
from .configuration_citrus_fusion import CiTrusFusionConfig
from .download import resolve_checkpoint

if TYPE_CHECKING:
    from huggingface_hub import CommitInfo
    from transformers import PreTrainedModel

    from .feature_extraction_citrus import CiTrusFeatureExtractor
    from .processing_citrus_fusion import CiTrusFusionProcessor

# `src/citrus_hf/model_cards` links to the repository's `model_cards/`, so the templates ship inside the wheel too.
DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parent / "model_cards" / "citrus_model_card.md"
DEFAULT_FUSION_TEMPLATE_PATH = DEFAULT_TEMPLATE_PATH.with_name("citrus_fusion_model_card.md")

CITATION = """@inproceedings{geenjaar2025citrus,
  title         = {CiTrus: Squeezing Extra Performance out of Low-data Bio-signal Transfer Learning},
  author        = {Geenjaar, Eloy and Lu, Lie},
  booktitle     = {Proceedings of the AAAI Conference on Artificial Intelligence},
  year          = {2025},
  eprint        = {2412.11695},
  archivePrefix = {arXiv},
  url           = {https://arxiv.org/abs/2412.11695}
}"""

# task name -> (citrus_hf class, transformers Auto class that loads it from remote code, model-index task type)
TASKS: dict[str, tuple[str, str | None, str]] = {
    "base": ("CiTrusModel", "AutoModel", "feature-extraction"),
    "pretraining": ("CiTrusForPretraining", "AutoModelForPreTraining", "masked-signal-modeling"),
    "sequence-classification": (
        "CiTrusForSequenceClassification",
        "AutoModelForSequenceClassification",
        "time-series-classification",
    ),
    "regression": ("CiTrusForRegression", None, "time-series-regression"),
}
# The same for fusion models (`modeling_citrus_fusion`): one CiTrus encoder per modality, a head on the concatenation.
FUSION_TASKS: dict[str, tuple[str, str | None, str]] = {
    "sequence-classification": (
        "CiTrusFusionForSequenceClassification",
        "AutoModelForSequenceClassification",
        "time-series-classification",
    ),
    "regression": ("CiTrusFusionForRegression", None, "time-series-regression"),
}

OBJECTIVES = {
    "time": "masked auto-encoding in the time domain: reconstruct the samples of masked patches (MSE)",
    "spectrogram": (
        "masked spectrogram prediction (CiTrus fp): predict the log-magnitude STFT ({n_fft}-sample frames) centred on "
        "every masked patch"
    ),
    "fourier": "masked Fourier prediction (neuro2vec): predict the amplitude and phase of masked patches' spectrum",
}

# Files that would be unpickled on load: never published, never downloaded.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")


# --------------------------------------------------------------------------------------------- evaluation results


@dataclass(frozen=True)
class EvalRecord:
    """One evaluation result of `citrus evaluate`: a metric on a dataset split, optionally averaged over seeds.

    Attributes:
        dataset: dataset name as shown in the card, e.g. `"Epilepsy"`.
        metric: metric type, e.g. `"accuracy"`, `"f1"`, `"mse"`.
        value: the metric's value (the mean over seeds when `seeds` > 1).
        dataset_id: Hub dataset id or short type used in `model-index`; defaults to `dataset`.
        split: dataset split, e.g. `"test"`.
        dataset_config: dataset configuration name.
        std: standard deviation over seeds.
        label_budget: labelled training examples used for fine-tuning (the low-data regime).
        seeds: number of seeds averaged.
        method: the model or baseline that produced the result; `None` means this model.
    """

    dataset: str
    metric: str
    value: float
    dataset_id: str | None = None
    split: str | None = None
    dataset_config: str | None = None
    std: float | None = None
    label_budget: int | None = None
    seeds: int | None = None
    method: str | None = None


_EVAL_REQUIRED = ("dataset", "metric", "value")
_EVAL_OPTIONAL = ("dataset_id", "split", "dataset_config", "std", "label_budget", "seeds", "method")


def _records_from_evaluate_summary(summary: Sequence[Mapping], model_arm: str | None) -> list[dict]:
    """`citrus evaluate` summary rows (`{dataset, arm, n_train, seeds, <metric>_mean, <metric>_std, ...}`) as records.

    The protocol evaluates on each dataset's test split; the label budget is the number of labelled training windows.
    """
    if not isinstance(summary, Sequence):
        raise ValueError('The "summary" of `citrus evaluate` results must be a list of rows.')
    arms = sorted({str(row.get("arm")) for row in summary if isinstance(row, Mapping)})
    if model_arm is not None and model_arm not in arms:
        raise ValueError(f"Arm {model_arm!r} is not in these evaluation results; they hold {arms}.")
    records = []
    for row in summary:
        for key, value in row.items():
            # a metric the protocol could not compute (e.g. AUROC with one class in the test split) is NaN: skip it
            if not key.endswith("_mean") or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            metric = key[: -len("_mean")]
            records.append(
                {
                    "dataset": row["dataset"],
                    "split": "test",
                    "metric": metric,
                    "value": value,
                    "std": row.get(f"{metric}_std"),
                    "label_budget": int(row["n_train"]) if row.get("n_train") is not None else None,
                    "seeds": int(row["seeds"]) if row.get("seeds") is not None else None,
                    "method": None if row.get("arm") == model_arm else str(row.get("arm")),
                }
            )
    return records


def parse_eval_results(
    source: str | os.PathLike | Mapping | Sequence, model_arm: str | None = None
) -> list[EvalRecord]:
    """Read `citrus evaluate` results: a JSON file path, or the already-parsed JSON.

    Accepted JSON: the `results.json` that `citrus evaluate` writes (its `summary` rows: one record per metric,
    dataset and label budget, mean and std over seeds; `model_arm` names the arm that is this model, e.g.
    `"citrus-time"`, and every other arm becomes a baseline), a list of records, or an object with a `"results"`
    list. Every record has `dataset`, `metric` and
    `value`, and optionally `dataset_id`, `split`, `dataset_config`, `std`, `label_budget`, `seeds` and `method`
    (see `EvalRecord`). For example
    `{"results": [{"dataset": "Epilepsy", "split": "test", "metric": "accuracy", "value": 0.93, "std": 0.01,
    "label_budget": 60, "seeds": 5}]}`.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the JSON does not have this shape; the message names the record and the key.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(
                f"Evaluation results file {str(path)!r} does not exist; write it with `citrus evaluate`."
            )
        try:
            source = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"Evaluation results file {str(path)!r} is not valid JSON: {error}.") from error
    if isinstance(source, Mapping) and "summary" in source and "results" not in source:
        source = {"results": _records_from_evaluate_summary(source["summary"], model_arm)}
    records = source.get("results") if isinstance(source, Mapping) else source
    if not isinstance(records, Sequence) or isinstance(records, (str, bytes)):
        raise ValueError(
            'Evaluation results must be a list of records or an object with a "results" list, got '
            f"{type(records).__name__}."
        )
    parsed = []
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise ValueError(f"Evaluation record {index} must be an object, got {type(record).__name__}.")
        missing = [key for key in _EVAL_REQUIRED if record.get(key) is None]
        if missing:
            raise ValueError(
                f"Evaluation record {index} lacks {missing}; every record needs 'dataset', 'metric' and 'value'."
            )
        unknown = sorted(set(record) - set(_EVAL_REQUIRED) - set(_EVAL_OPTIONAL))
        if unknown:
            raise ValueError(
                f"Evaluation record {index} has unknown keys {unknown}; "
                f"allowed: {list(_EVAL_REQUIRED + _EVAL_OPTIONAL)}."
            )
        value = record["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"Evaluation record {index} has a non-numeric or non-finite value {value!r}.")
        fields = {key: record.get(key) for key in _EVAL_OPTIONAL}
        for key in ("label_budget", "seeds"):
            if fields[key] is not None and (isinstance(fields[key], bool) or not isinstance(fields[key], int)):
                raise ValueError(f"Evaluation record {index}: {key!r} must be an integer, got {fields[key]!r}.")
        parsed.append(
            EvalRecord(dataset=str(record["dataset"]), metric=str(record["metric"]), value=float(value), **fields)
        )
    return parsed


def _eval_results_for_index(records: list[EvalRecord], task_type: str, task_name: str) -> list[EvalResult]:
    """This model's records as `model-index` entries (baselines stay in the Markdown table only)."""
    results = []
    own = [r for r in records if r.method is None]
    # Sorted so that the grouping `model-index` applies (by task, dataset, config, split) keeps this order on reload.
    own.sort(
        key=lambda r: (r.dataset_id or r.dataset, r.dataset_config or "", r.split or "", r.metric, r.label_budget or 0)
    )
    for record in own:
        details = []
        if record.label_budget is not None:
            details.append(f"{record.label_budget} labelled examples")
        if record.seeds is not None:
            details.append(
                f"mean of {record.seeds} seeds" + (f", std {record.std:.4g}" if record.std is not None else "")
            )
        results.append(
            EvalResult(
                task_type=task_type,
                task_name=task_name,
                dataset_type=record.dataset_id or record.dataset,
                dataset_name=record.dataset,
                dataset_split=record.split,
                dataset_config=record.dataset_config,
                metric_type=record.metric,
                metric_value=record.value,
                metric_name=f"{record.metric} ({', '.join(details)})" if details else record.metric,
            )
        )
    return results


# --------------------------------------------------------------------------------------------- model card


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(v) for v in value)
    return str(value).replace("|", "\\|")


def _input_contract(config: CiTrusConfig, has_head: bool) -> list[tuple[str, str]]:
    channels = str(config.num_channels)
    if config.channel_names or config.channel_modalities:
        names = config.channel_names or [f"channel {i}" for i in range(config.num_channels)]
        modalities = config.channel_modalities or [None] * config.num_channels
        channels += ": " + ", ".join(f"{n} ({m})" if m else n for n, m in zip(names, modalities))
    if not has_head:
        channels += "; the encoder treats every channel on its own, so any channel count works"
    elif config.channel_pooling == "mean":
        channels += "; the head averages channels, so any channel count works"
    else:
        channels += f"; the head concatenates channels, so exactly {config.num_channels}"
    normalization = {
        "zscore": "z-score per window and channel",
        "none": "none: the model sees the signal's own scale",
        "fixed": f"fixed per channel: (x - mean) / std, mean = {_format_value(config.normalization_mean)}, "
        f"std = {_format_value(config.normalization_std)}",
    }[config.normalization]
    return [
        ("Sampling rate", f"{config.sampling_rate:g} Hz"),
        ("Window", f"{config.window_seconds:g} s = {config.context_length} samples"),
        ("Channels", channels),
        ("Normalisation", normalization),
        (
            "Patch length",
            f"{config.patch_length} samples ({config.patch_length / config.sampling_rate:g} s); "
            f"{config.num_patches} patches per channel",
        ),
        ("Input tensor", f"`input_values` (batch, channels, {config.context_length}), float32"),
    ]


def _architecture(config: CiTrusConfig, model_class: str, num_parameters: int | None) -> list[tuple[str, str]]:
    rows = [("Class", f"`{model_class}`"), ("Backbone", config.backbone)]
    if config.uses_cnn:
        rows.append(
            (
                "CNN stem",
                f"residual blocks of {_format_value(config.cnn_channels)} channels, strides "
                f"{_format_value(config.cnn_strides)}, kernel {config.cnn_kernel_size}",
            )
        )
    if config.uses_transformer:
        rows.append(
            (
                "Transformer",
                f"{config.num_hidden_layers} layer{'s' if config.num_hidden_layers != 1 else ''}, "
                f"d_model {config.d_model}, {config.num_attention_heads} heads, feed-forward {config.ffn_dim}, "
                f"{config.attention_type.replace('_', '-')} attention",
            )
        )
    if model_class in ("CiTrusForSequenceClassification", "CiTrusForRegression"):
        rows.append(("Head input", f"{config.head_features} features, {config.pooling} pooling over patches"))
    if model_class == "CiTrusForSequenceClassification":
        labels = ", ".join(f"{i}: {config.id2label[i]}" for i in sorted(config.id2label))
        rows.append(("Labels", f"{config.num_labels} ({labels})"))
    if model_class == "CiTrusForRegression":
        rows.append(("Targets", str(config.num_targets)))
    if num_parameters is not None:
        rows.append(("Parameters", f"{num_parameters:,}"))
    return rows


def _pretraining_rows(config: CiTrusConfig, pretraining: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    pretraining = dict(pretraining or {})
    corpus = pretraining.pop("corpus", None)
    mask_unit = {"per_channel": "per channel", "shared": "shared by all channels", "per_modality": "per modality"}
    rows = [
        ("Corpus", corpus if corpus is not None else "not recorded for this checkpoint"),
        ("Objective", OBJECTIVES[config.pretraining_objective].format(n_fft=config.spectrogram_n_fft)),
        (
            "Masking",
            f"{config.mask_ratio:.0%} of patches, in blocks of {config.mask_block_size} patches, "
            f"{mask_unit[config.mask_mode]}"
            + (f"; plus {config.channel_mask_ratio:.0%} of whole channels" if config.channel_mask_ratio else ""),
        ),
    ]
    rows.extend((str(key), _format_value(value)) for key, value in pretraining.items())
    return rows


def _feature_extractor_rows(feature_extractor, config: CiTrusConfig) -> list[tuple[str, str]]:
    settings = feature_extractor.to_dict()
    rate = settings.get("sampling_rate")
    if rate is not None and float(rate) != float(config.sampling_rate):
        raise ValueError(
            f"The feature extractor resamples to {rate} Hz but the model expects {config.sampling_rate:g} Hz; build it "
            "with `CiTrusFeatureExtractor.from_config(model.config)`."
        )
    # Bookkeeping of transformers' base class, not settings a user of the checkpoint needs to know.
    hidden = {
        "feature_extractor_type",
        "processor_class",
        "auto_map",
        "feature_size",
        "padding_side",
        "return_attention_mask",
    }
    return [(key, _format_value(value)) for key, value in sorted(settings.items()) if key not in hidden]


def _model_class_and_task(
    model_or_config, tasks: dict[str, tuple[str, str | None, str]], config_class: type
) -> tuple[Any, str, int | None, str]:
    """(config, model class name, parameter count or None, task name) of a model or of a config it was saved with."""
    if isinstance(model_or_config, config_class):
        config, num_parameters = model_or_config, None
        if not config.architectures:
            raise ValueError(
                "The config does not name a model class (`config.architectures` is empty); pass the model instead, "
                "or a config loaded from a saved checkpoint."
            )
        model_class = config.architectures[0]
    else:
        config = model_or_config.config
        model_class = type(model_or_config).__name__
        num_parameters = sum(p.numel() for p in model_or_config.parameters())
    task = next((name for name, spec in tasks.items() if spec[0] == model_class), None)
    if task is None:
        family = "CiTrus fusion" if config_class is CiTrusFusionConfig else "CiTrus"
        raise ValueError(
            f"{model_class} is not a {family} model class; expected one of {[s[0] for s in tasks.values()]}."
        )
    return config, model_class, num_parameters, task


def _fusion_sections(
    config: CiTrusFusionConfig,
    model: PreTrainedModel | None,
    processor: CiTrusFusionProcessor | None,
    pretraining: Mapping[str, Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """One card section per modality of a fusion model: input contract, encoder, feature extractor, pre-training."""
    from .modeling_citrus import CiTrusPooler
    from .processing_citrus_fusion import CiTrusFusionProcessor

    if processor is not None:
        if not isinstance(processor, CiTrusFusionProcessor):
            raise TypeError(
                f"A fusion model is published with its CiTrusFusionProcessor (one feature extractor per modality), "
                f"got {type(processor).__name__}; build it with `CiTrusFusionProcessor.from_config(model.config)`."
            )
        if processor.modalities != config.modalities:
            raise ValueError(
                f"The processor prepares modalities {processor.modalities} but the model has {config.modalities}; "
                "build it with `CiTrusFusionProcessor.from_config(model.config)`."
            )
    pretraining = dict(pretraining or {})
    unknown = sorted(set(pretraining) - set(config.modalities))
    if unknown:
        raise ValueError(
            f"`pretraining` of a fusion model is keyed by modality ({config.modalities}), got {unknown}: e.g. "
            f"{{{config.modalities[0]!r}: {{'corpus': '...'}}}}."
        )
    sections = []
    for name in config.modalities:
        sub_config = config.modality_configs[name]
        encoder_parameters = sum(p.numel() for p in model.encoders[name].parameters()) if model is not None else None
        architecture = _architecture(sub_config, "CiTrusModel", encoder_parameters)
        channels = "concatenated" if sub_config.channel_pooling == "concat" else "averaged"
        # before the parameter count, which `_architecture` puts last
        architecture.insert(
            len(architecture) - (encoder_parameters is not None),
            (
                "Pooled embedding",
                f"{CiTrusPooler(sub_config).output_size} features: {sub_config.head_features} features, "
                f"{sub_config.pooling} pooling over patches, channels {channels}",
            ),
        )
        settings = []
        if processor is not None:
            try:
                settings = _feature_extractor_rows(processor.feature_extractors[name], sub_config)
            except ValueError as error:
                raise ValueError(f"modality {name!r}: {error}") from error
        sections.append(
            {
                "name": name,
                "input_contract": _input_contract(sub_config, has_head=True),
                "architecture": architecture,
                "feature_extractor_settings": settings,
                "pretraining": _pretraining_rows(sub_config, pretraining.get(name)),
            }
        )
    return sections


def _fusion_rows(config: CiTrusFusionConfig, model_class: str, num_parameters: int | None) -> list[tuple[str, str]]:
    """The fusion model as a whole: class, modalities, the concatenated embedding, the head."""
    from .modeling_citrus import CiTrusPooler

    sizes = {name: CiTrusPooler(config.modality_configs[name]).output_size for name in config.modalities}
    rows = [
        ("Class", f"`{model_class}`"),
        ("Modalities", ", ".join(f"`{name}`" for name in config.modalities) + " (concatenation order)"),
        (
            "Fused embedding",
            f"{sum(sizes.values())} features = "
            + " + ".join(f"{size} ({name})" for name, size in sizes.items())
            + (", every modality's embedding layer-normalised first" if config.normalize_embeddings else ""),
        ),
        ("Head", f"dropout {config.head_dropout:g}, then one linear layer"),
    ]
    if model_class == FUSION_TASKS["sequence-classification"][0]:
        labels = ", ".join(f"{i}: {config.id2label[i]}" for i in sorted(config.id2label))
        rows.append(("Labels", f"{config.num_labels} ({labels})"))
    else:
        rows.append(("Targets", str(config.num_targets)))
    if num_parameters is not None:
        rows.append(("Parameters", f"{num_parameters:,} (all encoders and the head)"))
    return rows


def build_model_card(
    model_or_config: PreTrainedModel | CiTrusConfig | CiTrusFusionConfig,
    feature_extractor: CiTrusFeatureExtractor | CiTrusFusionProcessor | None = None,
    *,
    repo_id: str | None = None,
    base_model: str | list[str] | None = None,
    datasets: str | list[str] | None = None,
    pretraining: Mapping[str, Any] | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    eval_results: str | os.PathLike | Mapping | Sequence | None = None,
    model_arm: str | None = None,
    license: str = "apache-2.0",
    tags: Sequence[str] = (),
    summary: str | None = None,
    limitations: Sequence[str] = (),
    template_path: str | os.PathLike | None = None,
) -> ModelCard:
    """Model card of a CiTrus checkpoint, rendered from `model_cards/citrus_model_card.md`, or of a CiTrus fusion
    checkpoint, rendered from `model_cards/citrus_fusion_model_card.md`.

    Args:
        model_or_config: the model (its class and parameter count go into the card) or its `CiTrusConfig` /
            `CiTrusFusionConfig` (then `config.architectures[0]` names the class).
        feature_extractor: the extractor published with the model; its settings are listed and its sampling rate
            must match the config's. For a fusion model, its `CiTrusFusionProcessor` (every modality's extractor
            is listed and checked against that modality's encoder).
        repo_id: the Hub id the card is written for (used in the title, the usage code and `model-index`).
        base_model: Hub id(s) of the pre-trained checkpoint(s) this one was fine-tuned from (for a fusion model,
            typically one per encoder).
        datasets: Hub dataset id(s) used for training.
        pretraining: `{"corpus": "...", ...}`: the pre-training corpus and any other facts to record (hours,
            steps, ...). Objective and masking are read from the config. For a fusion model, one such mapping per
            modality: `{"ecg": {"corpus": "..."}, "eda": {...}}`.
        hyperparameters: training hyper-parameters to list (learning rate, epochs, batch size, ...).
        eval_results: `citrus evaluate` output (path or parsed JSON, see `parse_eval_results`); this model's
            records become `model-index` entries, all records (baselines too) a Markdown table.
        model_arm: with `citrus evaluate` output, the protocol arm that this checkpoint is (e.g. `"citrus-time"`).
        license: SPDX-like license id of the weights.
        tags: extra tags; `citrus`, `bio-signal`, `time-series` and the channel modalities are always added
            (`citrus-fusion` and `multimodal` too for a fusion model).
        summary: one paragraph under the title; a default is derived from the task and the input contract.
        limitations: checkpoint-specific limitations, listed before the general ones.
        template_path: a Jinja template to use instead of the default one.

    Returns:
        `huggingface_hub.ModelCard` whose `.data` holds the metadata; save it with `card.save(path)`.
    """
    given_config = (
        model_or_config
        if isinstance(model_or_config, (CiTrusConfig, CiTrusFusionConfig))
        else getattr(model_or_config, "config", model_or_config)
    )
    fusion = isinstance(given_config, CiTrusFusionConfig)
    if not fusion and not isinstance(given_config, CiTrusConfig):
        raise TypeError(
            "build_model_card needs a CiTrus model or CiTrusConfig, or a CiTrus fusion model or CiTrusFusionConfig, "
            f"got {type(given_config).__name__}."
        )
    tasks = FUSION_TASKS if fusion else TASKS
    config, model_class, num_parameters, task = _model_class_and_task(
        model_or_config, tasks, CiTrusFusionConfig if fusion else CiTrusConfig
    )
    task_type = tasks[task][2]
    auto_class = tasks[task][1]
    sub_configs = list(config.modality_configs.values()) if fusion else [config]

    records = parse_eval_results(eval_results, model_arm) if eval_results is not None else []
    name = repo_id.split("/")[-1] if repo_id else (f"citrus-fusion-{task}" if fusion else f"citrus-{task}")
    modalities = sorted({m.lower() for sub in sub_configs for m in (sub.channel_modalities or [])})
    family_tags = ["citrus", "citrus-fusion", "multimodal"] if fusion else ["citrus"]
    all_tags = list(dict.fromkeys([*family_tags, "bio-signal", "time-series", task_type, *modalities, *tags]))
    eval_entries = _eval_results_for_index(records, task_type, task.replace("-", " "))
    card_data = ModelCardData(
        library_name="transformers",
        license=license,
        tags=all_tags,
        datasets=[datasets] if isinstance(datasets, str) else (list(datasets) if datasets else None),
        base_model=base_model,
        model_name=name if eval_entries else None,
        eval_results=eval_entries or None,
    )

    if summary is None and fusion:
        what = (
            f"A CiTrus fusion classifier ({config.num_labels} classes)"
            if task == "sequence-classification"
            else f"A CiTrus fusion regressor ({config.num_targets} targets)"
        )
        parts = [
            f"{modality} ({sub.num_channels}-channel {sub.window_seconds:g}-second windows at {sub.sampling_rate:g} Hz)"
            for modality, sub in config.modality_configs.items()
        ]
        summary = f"{what} of {len(parts)} modalities, one CiTrus encoder each: {'; '.join(parts)}."
    elif summary is None:
        what = {
            "base": "A CiTrus encoder",
            "pretraining": "A CiTrus encoder with its pre-training head",
            "sequence-classification": f"A CiTrus classifier ({config.num_labels} classes)",
            "regression": f"A CiTrus regressor ({config.num_targets} targets)",
        }[task]
        summary = (
            f"{what} for {config.window_seconds:g}-second windows of {config.num_channels}-channel "
            f"{'/'.join(m.upper() for m in modalities) or 'bio-signal'} recordings at {config.sampling_rate:g} Hz."
        )
    evaluation = [
        {
            "dataset": r.dataset,
            "split": r.split or "",
            "method": r.method or "this model",
            "metric": r.metric,
            "label_budget": r.label_budget if r.label_budget is not None else "",
            "seeds": r.seeds if r.seeds is not None else "",
            "value": f"{r.value:.4g}" + (f" ± {r.std:.2g}" if r.std is not None else ""),
        }
        for r in records
    ]
    rates = "each encoder's sampling rate" if fusion else f"{config.sampling_rate:g} Hz"
    general_limitations = [
        "A research model, not a medical device: do not use it for diagnosis or treatment decisions.",
        f"Inputs must follow the input contract; other rates, lengths or channel layouts only work through the "
        f"{'processor' if fusion else 'feature extractor'}, and resampling far from {rates} or stretching very "
        "short windows changes the time and frequency scales the encoder learned.",
    ]
    if fusion:
        general_limitations += [
            "Every modality is required: the model cannot predict from a subset of them, and windows of different "
            "modalities must cover the same time span, or the concatenated embedding pairs unrelated moments.",
            "The head is linear on the concatenated embeddings, so modalities interact only through that linear "
            "combination; compare with single-modality models to see what the fusion adds.",
        ]
    general_limitations += [
        "Low-data fine-tuning is sensitive to the seed and to which examples are labelled: compare methods over "
        "several seeds and label draws, as the evaluation table does.",
        "Performance on recordings from other devices, montages, populations or artefact levels than the training "
        "data has not been established.",
    ]
    default_template = DEFAULT_FUSION_TEMPLATE_PATH if fusion else DEFAULT_TEMPLATE_PATH
    template = Path(template_path) if template_path is not None else default_template
    if not template.is_file():
        raise FileNotFoundError(
            f"Model card template {str(template)!r} not found; pass `template_path=` or run from a checkout that has "
            f"model_cards/{default_template.name}."
        )
    common = dict(
        summary=summary,
        repo_id=repo_id or "path/to/checkpoint",
        model_class=model_class,
        auto_class=auto_class,
        hyperparameters=[(str(k), _format_value(v)) for k, v in (hyperparameters or {}).items()],
        evaluation=evaluation,
        evaluation_note=(
            "Values are means over seeds (± standard deviation where recorded). Rows of other methods are baselines "
            "run with the same protocol; only this model's rows are in the `model-index` metadata."
        ),
        limitations=[*limitations, *general_limitations],
        citation=CITATION,
    )
    if fusion:
        model = None if model_or_config is config else model_or_config
        return ModelCard.from_template(
            card_data,
            template_path=str(template),
            title=f"{name} (CiTrus fusion)" if repo_id else "CiTrus fusion",
            fusion=_fusion_rows(config, model_class, num_parameters),
            modalities=_fusion_sections(config, model, feature_extractor, pretraining),
            usage_recordings="{" + ", ".join(f'"{m}": {m}_windows' for m in config.modalities) + "}",
            usage_rates="{" + ", ".join(f'"{m}": {m}_rate' for m in config.modalities) + "}",
            **common,
        )
    if feature_extractor is not None and hasattr(feature_extractor, "feature_extractors"):
        raise TypeError(
            f"{type(feature_extractor).__name__} prepares the inputs of a fusion model; a CiTrus model is published with "
            "its CiTrusFeatureExtractor (`CiTrusFeatureExtractor.from_config(model.config)`)."
        )
    return ModelCard.from_template(
        card_data,
        template_path=str(template),
        title=f"{name} (CiTrus)" if repo_id else "CiTrus",
        architecture=_architecture(config, model_class, num_parameters),
        input_contract=_input_contract(config, has_head=task in ("sequence-classification", "regression")),
        feature_extractor_settings=(
            _feature_extractor_rows(feature_extractor, config) if feature_extractor is not None else []
        ),
        pretraining=_pretraining_rows(config, pretraining),
        **common,
    )


# --------------------------------------------------------------------------------------------- publishing


def _check_checkpoint_folder(folder: Path) -> None:
    """A folder about to be published must be safetensors-only and carry the code its `auto_map` points to."""
    pickles = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ValueError(f"Refusing to publish pickled files {pickles}: CiTrus checkpoints are safetensors only.")
    if not (folder / "model.safetensors").is_file() and not (folder / "model.safetensors.index.json").is_file():
        raise ValueError("save_pretrained wrote no model.safetensors; nothing to publish.")
    for config_name in ("config.json", "preprocessor_config.json", "processor_config.json"):
        path = folder / config_name
        if not path.is_file():
            continue
        auto_map = json.loads(path.read_text()).get("auto_map") or {}
        for reference in auto_map.values():
            # An auto_map entry is "module.Class", or "repo--module.Class" for code hosted in another repository.
            references = reference if isinstance(reference, list) else [reference]
            for ref in filter(lambda r: r and "--" not in r, references):
                module = ref.rsplit(".", 1)[0]
                if not (folder / f"{module}.py").is_file():
                    raise ValueError(
                        f"{config_name} maps to {ref!r} but {module}.py was not saved with it, so "
                        "`trust_remote_code=True` users could not load it; call `register_for_auto_class` on the class."
                    )


def push_to_hub(
    model: PreTrainedModel,
    repo_id: str,
    feature_extractor: CiTrusFeatureExtractor | CiTrusFusionProcessor | None = None,
    card: ModelCard | None = None,
    *,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    token: str | None = None,
) -> CommitInfo:
    """Publish a CiTrus or CiTrus fusion model as a single commit: weights (safetensors), config, feature extractor
    (or fusion processor), model card and the code that `auto_map` points to (so `trust_remote_code=True` users need
    no package).

    Args:
        model: the model to publish.
        repo_id: `"namespace/name"`; created if missing (`private` applies only then).
        feature_extractor: saved as `preprocessor_config.json` next to the model; strongly recommended, it carries
            the alignment and normalisation the model was trained with. For a fusion model, its
            `CiTrusFusionProcessor` (saved as `processor_config.json`).
        card: the model card; defaults to `build_model_card(model, feature_extractor, repo_id=repo_id)`.
        private: create the repository as private.
        revision: branch to commit to (created from `main` if missing); `None` = `main`.
        commit_message: the commit's title; defaults to "Upload CiTrus model, feature extractor and model card" (or
            "... fusion model, processor ..." for a fusion model).
        token: Hub token; defaults to the logged-in one (`HF_TOKEN` / `hf auth login`).

    Returns:
        `huggingface_hub.CommitInfo` (`.oid`, `.commit_url`).
    """
    if repo_id.count("/") != 1:
        raise ValueError(f"repo_id {repo_id!r} must be `namespace/name`, e.g. `my-user/citrus-eeg`.")
    if commit_message is None:
        commit_message = (
            "Upload CiTrus fusion model, processor and model card"
            if isinstance(getattr(model, "config", None), CiTrusFusionConfig)
            else "Upload CiTrus model, feature extractor and model card"
        )
    if card is None:
        card = build_model_card(model, feature_extractor, repo_id=repo_id)
    with tempfile.TemporaryDirectory(prefix="citrus-push-") as folder:
        model.save_pretrained(folder)
        if feature_extractor is not None:
            feature_extractor.save_pretrained(folder)
        card.save(Path(folder) / "README.md")
        # Checked before the Hub is contacted: a refused checkpoint leaves no empty repository behind.
        _check_checkpoint_folder(Path(folder))
        api = HfApi(token=token)
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            commit_message=commit_message,
            revision=revision,
        )


# --------------------------------------------------------------------------------------------- loading


def _checked_folder(folder: Path, repo_or_path: str | os.PathLike, revision: str | None, needed: Sequence[str]) -> None:
    where = f"{str(repo_or_path)!r}" + (f" (revision {revision!r})" if revision else "")
    present = sorted(p.name for p in folder.iterdir())
    for name in needed:
        if name == "model.safetensors":
            if not (folder / name).is_file() and not (folder / "model.safetensors.index.json").is_file():
                raise OSError(
                    f"{where} has no model.safetensors (files: {present}). CiTrus loads safetensors weights only and "
                    "never unpickles .bin files; publish the model with `citrus push` or `save_pretrained`."
                )
        elif not (folder / name).is_file():
            raise OSError(
                f"{where} has no {name} (files: {present}); it is not a complete CiTrus checkpoint. Publish it with "
                "`citrus push` or `save_pretrained` (and the feature extractor's `save_pretrained`)."
            )


def load_pretrained(
    repo_or_path: str | os.PathLike,
    task: str = "sequence-classification",
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    **from_pretrained_kwargs,
) -> PreTrainedModel:
    """Load a CiTrus (or CiTrus fusion) model from a Hub id, a local folder or the offline cache, with errors that
    say what to do.

    Args:
        repo_or_path: Hub id (`"namespace/name"`) or a folder written by `save_pretrained`.
        task: `"base"`, `"pretraining"`, `"sequence-classification"` or `"regression"`; a fusion checkpoint
            (`model_type` `citrus_fusion`) loads as `"sequence-classification"` or `"regression"`.
        revision: branch, tag or commit id on the Hub.
        trust_remote_code: import the model class from the code stored with the checkpoint (its `auto_map`
            modules) instead of this package. Off by default: only enable it for repositories whose code you have
            read.
        token, cache_dir, local_files_only: as in `huggingface_hub.snapshot_download`.
        from_pretrained_kwargs: passed to `from_pretrained` (e.g. `num_labels=..., ignore_mismatched_sizes=True`).

    Returns:
        The model in eval mode.

    Raises:
        ValueError: unknown task, or a checkpoint that is not a CiTrus model.
        OSError: missing folder, repository, revision or file, or offline with the snapshot not cached.
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; choose one of {list(TASKS)}.")
    folder = resolve_checkpoint(
        repo_or_path, revision=revision, token=token, cache_dir=cache_dir, local_files_only=local_files_only
    )
    _checked_folder(folder, repo_or_path, revision, ["config.json", "model.safetensors"])
    model_type = json.loads((folder / "config.json").read_text()).get("model_type")
    if model_type not in (CiTrusConfig.model_type, CiTrusFusionConfig.model_type):
        raise ValueError(f"{str(repo_or_path)!r} is not a CiTrus checkpoint (model_type={model_type!r}).")
    fusion = model_type == CiTrusFusionConfig.model_type
    if fusion and task not in FUSION_TASKS:
        raise ValueError(
            f"{str(repo_or_path)!r} is a CiTrus fusion checkpoint: load it for one of {list(FUSION_TASKS)}, not "
            f"{task!r} (`CiTrusFusionForSequenceClassification.load_encoder` gives one modality's encoder)."
        )
    class_name = (FUSION_TASKS if fusion else TASKS)[task][0]
    from_pretrained_kwargs["use_safetensors"] = True
    if trust_remote_code:
        model_class = _repository_class(folder, "config.json", class_name, repo_or_path)
    elif fusion:
        from . import modeling_citrus_fusion

        model_class = getattr(modeling_citrus_fusion, class_name)
    else:
        from . import modeling_citrus

        model_class = getattr(modeling_citrus, class_name)
    return model_class.from_pretrained(folder, **from_pretrained_kwargs).eval()


def _repository_class(folder: Path, config_name: str, class_name: str, repo_or_path: str | os.PathLike) -> type:
    """`class_name` imported from the code stored in the checkpoint (the modules its `auto_map` points to).

    transformers' Auto classes cannot do this here: once this package has registered CiTrus, they prefer the
    registered classes even with `trust_remote_code=True`.
    """
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    auto_map = json.loads((folder / config_name).read_text()).get("auto_map") or {}
    modules = sorted({ref.rsplit(".", 1)[0] for key, ref in auto_map.items() if key != "AutoConfig"})
    if not modules:
        raise OSError(
            f"{str(repo_or_path)!r} ships no code for its classes (no `auto_map` in {config_name}); load it with "
            "`trust_remote_code=False`."
        )
    return get_class_from_dynamic_module(f"{modules[0]}.{class_name}", folder)


def _load_preprocessor(
    repo_or_path: str | os.PathLike,
    config_name: str,
    local_class: type,
    trust_remote_code: bool,
    **resolve_kwargs,
):
    """The preprocessor saved as `config_name` next to a checkpoint: the package's `local_class`, or with
    `trust_remote_code` the class of that name in the repository's own code."""
    folder = resolve_checkpoint(repo_or_path, **resolve_kwargs)
    _checked_folder(folder, repo_or_path, resolve_kwargs.get("revision"), [config_name])
    if trust_remote_code:
        local_class = _repository_class(folder, config_name, local_class.__name__, repo_or_path)
    return local_class.from_pretrained(folder)


def load_feature_extractor(
    repo_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
) -> CiTrusFeatureExtractor:
    """Load the feature extractor published with a CiTrus model (`preprocessor_config.json`), from the same places
    and with the same errors as `load_pretrained`."""
    from .feature_extraction_citrus import CiTrusFeatureExtractor

    return _load_preprocessor(
        repo_or_path,
        "preprocessor_config.json",
        CiTrusFeatureExtractor,
        trust_remote_code,
        revision=revision,
        token=token,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
    )


def load_processor(
    repo_or_path: str | os.PathLike,
    *,
    revision: str | None = None,
    trust_remote_code: bool = False,
    token: str | bool | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
) -> CiTrusFusionProcessor:
    """Load the processor published with a CiTrus fusion model (`processor_config.json`: one feature extractor per
    modality), from the same places and with the same errors as `load_pretrained`."""
    from .processing_citrus_fusion import CiTrusFusionProcessor

    return _load_preprocessor(
        repo_or_path,
        "processor_config.json",
        CiTrusFusionProcessor,
        trust_remote_code,
        revision=revision,
        token=token,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
    )


__all__ = [
    "CITATION",
    "EvalRecord",
    "build_model_card",
    "load_feature_extractor",
    "load_pretrained",
    "load_processor",
    "parse_eval_results",
    "push_to_hub",
    "resolve_checkpoint",
]
