"""Model cards of CiTrus (and CiTrus fusion) checkpoints.

`build_model_card` fills the package's `model_cards/citrus_model_card.md` (fusion models: `citrus_fusion_model_card.md`,
one section per modality) through `huggingface_hub.ModelCard`: metadata (library, pipeline tag, tags, license, datasets,
base model, `model-index` from the run's own test metrics and `citrus evaluate` results) and the sections a user of a
bio-signal checkpoint needs (input contract, pre-training, hyper-parameters, usage, limitations, citation). It reads
the run records saved next to the weights (`citrus_hf.publishing.runs`). `write_trainer_card` gives the `Trainer`'s
`push_to_hub` the same card.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import transformers
from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.constants import REPOCARD_NAME
from transformers.utils import logging

from ..configuration_citrus import CiTrusConfig, embedding_pipelines_kept, pipeline_task_for
from ..configuration_citrus_fusion import CiTrusFusionConfig
from ..evaluation.records import EvalRecord, parse_eval_results
from ..loading import FUSION_MODEL_TASKS, MODEL_TASKS, PIPELINE_TAGS, hub_repo_id, revision_argument
from ..modeling_citrus import PRETRAINING_HEADS
from ..training.metrics import (
    CLASSIFICATION_METRICS,
    MULTI_LABEL_METRICS,
    PER_RECORDING_PREFIX,
    REGRESSION_METRICS,
    per_recording,
)
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION, as_list
from .runs import RunRecords, per_recording_note, read_pretraining_summary, read_run_records

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..processing_citrus_fusion import CiTrusFusionProcessor

logger = logging.get_logger(__name__)

# The templates are package data (pyproject.toml's package-data), real files rather than a link to a folder outside
# the package: a checkout without links (Windows' default) built a wheel without them.
DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "model_cards" / "citrus_model_card.md"
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


# The license ids the Hub accepts in a card (https://huggingface.co/docs/hub/repositories-licenses); "other" needs the
# license's text in the repository.
HUB_LICENSES = frozenset(
    """apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0 bigcode-openrail-m
    afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5
    cc-by-3.0 cc-by-4.0 cc-by-sa-3.0 cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0
    cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0 cdla-permissive-1.0
    cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1 eupl-1.2 agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl
    lgpl-2.1 lgpl-3.0 isc h-research intel-research lppl-1.3c ms-pl apple-ascl apple-amlr mpl-2.0 odc-by odbl
    openmdw-1.0 openmdw-1.1 openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr deepfloyd-if-license
    fair-noncommercial-research-license llama2 llama3 llama3.1 llama3.2 llama3.3 llama4 grok2-community gemma unknown
    other""".split()
)
# How the evaluation table labels rows of this model's recipe (evaluation arm) in other runs: on other datasets or label
# budgets, or on this model's own with other draws and seeds (results given beside a run's own test metrics).
_SAME_RECIPE = "same recipe, another run"
# The method of a Trainer's evaluation metrics pushed without naming the evaluation set: this model's, in the table,
# but not in `model-index`, which must name a dataset (`Trainer.push_to_hub(dataset=...)` files them there).
_UNNAMED_EVALUATION = "this model (the Trainer's evaluation set, not named: push with dataset= to file it)"
# The evaluation table of the card templates: its header line, and the `_evaluation_rows` key of each column.
_EVALUATION_TABLE_HEADER = "| Dataset | Split | Method | Metric | Labelled examples | Seeds | Value |"
_EVALUATION_COLUMNS = ("dataset", "split", "method", "metric", "label_budget", "seeds", "value")
# The "|" that ends a cell of a Markdown table (one that a cell holds is written "\|").
_UNESCAPED_BAR = re.compile(r"(?<!\\)\|")
# The columns that say what a row measures (the others are its result): a row of a new card replaces the previous
# card's row with the same ones.
_EVALUATION_ROW_KEY = ("dataset", "split", "method", "metric", "label_budget")
# The problem a metric belongs to: a model's `model-index` holds only metrics of its own problem.
_METRIC_PROBLEM = {
    **dict.fromkeys(CLASSIFICATION_METRICS, CLASSIFICATION),
    # a multi-label classifier's (`multi_label_metrics`): its Trainer's card dropped the two that are its own
    **dict.fromkeys(MULTI_LABEL_METRICS, CLASSIFICATION),
    **dict.fromkeys(REGRESSION_METRICS, REGRESSION),
    # scored per labelled recording (`citrus evaluate`'s `recording_macro_f1`, ...): the problem of the windows' metric
    **{per_recording(metric): CLASSIFICATION for metric in CLASSIFICATION_METRICS},
    **{per_recording(metric): REGRESSION for metric in REGRESSION_METRICS},
}


def check_license(license: str) -> str:
    """`license` if the Hub knows it, else a ValueError naming the list."""
    if license not in HUB_LICENSES:
        raise ValueError(
            f"License {license!r} is not a license id the Hub accepts; use one of its ids (e.g. 'apache-2.0', 'mit', "
            "'cc-by-4.0'; the list: https://huggingface.co/docs/hub/repositories-licenses), or 'other' with the "
            "license's text in the repository."
        )
    return license


def _this_models_records(
    records: list[EvalRecord], dataset: str | None, label_budget: int | None, recipe: str | None
) -> list[EvalRecord]:
    """Keep as this model's (`method=None`) only the rows of its own dataset and label budget. Rows of the same
    recipe (evaluation arm) on other datasets or budgets are other runs: they stay in the table, labelled so.

    Raises:
        ValueError: the rows of this recipe span several datasets or budgets and the run's own are not known, or
            none of them is on this model's dataset and budget.
    """
    own = [r for r in records if r.method is None]
    if not own:
        return records

    def matches(record: EvalRecord) -> bool:
        return (dataset is None or record.dataset == dataset) and (
            label_budget is None or record.label_budget == label_budget
        )

    def where(runs: list[EvalRecord]) -> str:
        pairs = sorted({(r.dataset, r.label_budget) for r in runs}, key=str)
        return ", ".join(f"{name} with {budget} labelled examples" for name, budget in pairs)

    who = f"arm {recipe!r}" if recipe else "this model"
    candidates = [r for r in own if matches(r)]
    if not candidates:
        raise ValueError(
            f"None of the evaluation results of {who} are on this model's dataset {dataset!r} with {label_budget} "
            f"labelled examples; they are on {where(own)}. Pass the results of this model's run."
        )
    if len({(r.dataset, r.label_budget) for r in candidates}) > 1:
        raise ValueError(
            f"The evaluation results hold {who} on several datasets / label budgets ({where(candidates)}), and a "
            "checkpoint is one of them: say which with dataset_name= and label_budget= (`citrus push "
            "--eval-dataset --eval-label-budget`), or publish the fine-tuning run's folder, whose "
            "finetune_results.json names them."
        )
    other_run = f"{_SAME_RECIPE} ({recipe})" if recipe else _SAME_RECIPE
    return [r if r.method is not None or matches(r) else dataclasses.replace(r, method=other_run) for r in records]


def _method_label(method: str | None) -> str:
    """The evaluation table's "Method" cell of a record."""
    if method is None:
        return "this model"
    return method if method.startswith((_SAME_RECIPE, _UNNAMED_EVALUATION)) else f"baseline: {method}"


def _solved_task(config, task: str) -> str:
    """The task a model solves, by its config as well as its class: a `CiTrusForSequenceClassification` trained as a
    regressor (`problem_type="regression"`, transformers' way) solves REGRESSION, and its card, tags and metrics are a
    regressor's (its class, and the Auto class that loads it, stay the classifier's)."""
    if task == "sequence-classification" and getattr(config, "problem_type", None) == REGRESSION:
        return REGRESSION
    return task


def _hub_datasets(records: list[EvalRecord], run: RunRecords) -> list[str]:
    """The datasets of `records` that are Hub dataset ids, once each in order: what a card's metadata links. A name
    the run gave a local folder (`--dataset data/own`) is never linked, wherever the card is built."""
    linked = (r.dataset for r in records if hub_repo_id(r.dataset) is not None and r.dataset not in run.local_names)
    return list(dict.fromkeys(linked))


def _regression_outputs(config, model_class: str) -> int:
    """A regressor's outputs: `num_targets` of a CiTrusForRegression, `num_labels` of a classifier trained as one."""
    return config.num_targets if model_class == "CiTrusForRegression" else config.num_labels


def _task_problem(task: str | None) -> str | None:
    """The problem (CLASSIFICATION or REGRESSION) a card's task solves, whose metrics alone are this model's; None
    for an encoder or a pre-training checkpoint."""
    return {"sequence-classification": CLASSIFICATION, REGRESSION: REGRESSION}.get(task)


def _check_problem(records: list[EvalRecord], problem: str, model_class: str) -> None:
    """This model's metrics must be of its own problem: a regression metric is never filed as classification."""
    for record in records:
        if record.method is None and _METRIC_PROBLEM.get(record.metric, problem) != problem:
            raise ValueError(
                f"{record.metric!r} on {record.dataset!r} is a {_METRIC_PROBLEM[record.metric]} metric, but "
                f"{model_class} solves {problem}: it is not this model's result. Give its method (the model that "
                "produced it) to list it as another model's row."
            )


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


def _format_value(value: Any) -> str:
    """`value` as one cell of a Markdown table: a "|" escaped and a line break made a space (either would split the
    row: an extra column, or the table ending mid-row), a float in its short form, a list comma-separated."""
    if isinstance(value, np.ndarray | np.generic):
        # as Python values: an array (Adam's betas from `np.array`) was written as numpy prints it, "[0.9   0.999]"
        return _format_value(value.tolist())
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, enum.Enum):  # the Trainer's settings (OptimizerNames.ADAMW_TORCH_FUSED): their value
        return _format_value(value.value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_format_value(v) for v in value)
    return " ".join(str(value).splitlines()).replace("|", "\\|")


def _labels_row(config: CiTrusConfig | CiTrusFusionConfig) -> tuple[str, str]:
    """The "Labels" row of a classifier's table: the number of classes and each class id with its name (a name is
    the user's text, which may hold "|" or a line break)."""
    labels = ", ".join(f"{i}: {_format_value(config.id2label[i])}" for i in sorted(config.id2label))
    return "Labels", f"{config.num_labels} ({labels})"


def _targets_row(config: CiTrusConfig | CiTrusFusionConfig, outputs: int) -> tuple[str, str]:
    """The "Targets" row of a regressor's table: the number of outputs and, where the config names them
    (`target_names`, from its `id2label`), each output's index with its name."""
    names = getattr(config, "target_names", None)
    if not names or len(names) != outputs:
        return "Targets", str(outputs)
    return "Targets", f"{outputs} (" + ", ".join(f"{i}: {_format_value(name)}" for i, name in enumerate(names)) + ")"


def _input_contract(
    config: CiTrusConfig, has_head: bool, channel_units: list[str] | None = None
) -> list[tuple[str, str]]:
    """The card's input-contract rows; `channel_units` (the extractor's, one per channel, "" where not declared) are
    the units its training data was in, which `citrus predict` and the pipelines convert other files' units to."""
    channels = str(config.num_channels)
    units = [unit or None for unit in channel_units] if channel_units else [None] * config.num_channels
    if config.channel_names or config.channel_modalities or any(units):
        names = config.channel_names or [f"channel {i}" for i in range(config.num_channels)]
        modalities = config.channel_modalities or [None] * config.num_channels
        if len(units) != len(names):  # units of a channel-independent extractor given for another count: none shown
            units = [None] * len(names)
        # names as the user gave them (EDF labels): escaped for the table
        channels += ": " + ", ".join(
            f"{_format_value(n)} ({', '.join(filter(None, (m, u)))})" if m or u else _format_value(n)
            for n, m, u in zip(names, modalities, units)
        )
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
        (
            "Input tensor",
            f"`input_values` (batch, channels, time), float32: time {config.context_length} for a full window, or a "
            f"shorter recording's own duration in whole patches of {config.patch_length}",
        ),
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
    regressor = model_class == "CiTrusForRegression" or config.problem_type == REGRESSION
    if model_class == "CiTrusForSequenceClassification" and not regressor:
        rows.append(_labels_row(config))
    if regressor and model_class in ("CiTrusForSequenceClassification", "CiTrusForRegression"):
        rows.append(_targets_row(config, _regression_outputs(config, model_class)))
    if num_parameters is not None:
        rows.append(("Parameters", f"{num_parameters:,}"))
    return rows


def _objective_text(config: CiTrusConfig) -> str:
    """The card's line of the config's pre-training objective: its head's own description, or its name where this
    installation registers no head of it (a checkpoint of an extension's objective, or of a newer citrus-hf)."""
    head = PRETRAINING_HEADS.get(config.pretraining_objective)
    if head is None:
        return f"{config.pretraining_objective!r} (an objective this installation does not register)"
    return head.describe(config)


def _pretraining_rows(config: CiTrusConfig, pretraining: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    pretraining = dict(pretraining or {})
    corpus = pretraining.pop("corpus", None)
    mask_unit = {"per_channel": "per channel", "shared": "shared by all channels", "per_modality": "per modality"}
    rows = [
        ("Corpus", corpus if corpus is not None else "not recorded for this checkpoint"),
        ("Objective", _objective_text(config)),
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


def _in_transformers(name: str) -> bool:
    """transformers itself defines the Auto class `name` (not the package's `AutoModelForTimeSeriesRegression`, which
    a remote-code pipeline may have put on the transformers module)."""
    auto_class = getattr(transformers, name, None)
    return auto_class is not None and auto_class.__module__.startswith("transformers.")


def _pipeline_tag(config, model_class: str, task: str, fusion: bool) -> str:
    """The task `transformers.pipeline(model=repo_id)` runs: the one the checkpoint's `custom_pipelines` names (a
    classifier trained as a regressor runs the regression pipeline; a task model's folder saved by the
    feature-extraction pipeline embeds, `embedding_pipelines_kept`), for a fusion model its task's tag.

    A fusion model runs its own fusion task (`configuration_citrus_fusion.FUSION_PIPELINE_TASKS`, with the package
    installed), which the Hub does not know; its tag is its single-modality task's, for the Hub's task search, and
    because without one the Hub may infer a text task from the class name (`...ForSequenceClassification`)."""
    if fusion:
        return PIPELINE_TAGS[task]
    kept = embedding_pipelines_kept(config, model_class)
    if kept is not None:
        return next(iter(kept))
    return pipeline_task_for(model_class, config.problem_type) or PIPELINE_TAGS[task]


def _fusion_sections(
    config: CiTrusFusionConfig,
    model: PreTrainedModel | None,
    processor: CiTrusFusionProcessor | None,
    pretraining: Mapping[str, Mapping[str, Any]] | None,
) -> list[dict[str, Any]]:
    """One card section per modality of a fusion model: input contract, encoder, feature extractor, pre-training."""
    from ..modeling_citrus import CiTrusPooler
    from ..processing_citrus_fusion import CiTrusFusionProcessor

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
                "input_contract": _input_contract(
                    sub_config,
                    has_head=True,
                    channel_units=getattr(processor.feature_extractors[name], "channel_units", None)
                    if processor is not None
                    else None,
                ),
                "architecture": architecture,
                "feature_extractor_settings": settings,
                "pretraining": _pretraining_rows(sub_config, pretraining.get(name)),
            }
        )
    return sections


def _fusion_rows(config: CiTrusFusionConfig, model_class: str, num_parameters: int | None) -> list[tuple[str, str]]:
    """The fusion model as a whole: class, modalities, the concatenated embedding, the head."""
    from ..modeling_citrus import CiTrusPooler

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
    if model_class == FUSION_MODEL_TASKS["sequence-classification"][0]:
        rows.append(_labels_row(config))
    else:
        rows.append(_targets_row(config, config.num_targets))
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
    tags: str | Sequence[str] = (),
    summary: str | None = None,
    limitations: str | Sequence[str] = (),
    template_path: str | os.PathLike | None = None,
    run_dir: str | os.PathLike | None = None,
    dataset_name: str | None = None,
    label_budget: int | None = None,
    pipeline_tag: str | None = None,
    previous_card: ModelCard | str | None = None,
    revision: str | None = None,
) -> ModelCard:
    """Model card of a CiTrus checkpoint, rendered from the package's `model_cards/citrus_model_card.md`, or of a
    CiTrus fusion checkpoint, rendered from `model_cards/citrus_fusion_model_card.md`.

    Args:
        model_or_config: the model (its class and parameter count go into the card) or its `CiTrusConfig` /
            `CiTrusFusionConfig` (then `config.architectures[0]` names the class).
        feature_extractor: the extractor published with the model; its settings are listed and its sampling rate
            must match the config's. For a fusion model, its `CiTrusFusionProcessor` (every modality's extractor
            is listed and checked against that modality's encoder).
        repo_id: the Hub id the card is written for (used in the title, the usage code and `model-index`).
        base_model: Hub id(s) (`namespace/name`) of the pre-trained checkpoint(s) this one was fine-tuned from (for
            a fusion model, typically one per encoder). A checkpoint shipped with the package is not one: the card
            names it from the run's records.
        datasets: Hub dataset id(s) used for training.
        pretraining: `{"corpus": "...", ...}`: the pre-training corpus and any other facts to record (hours,
            steps, ...). Objective and masking are read from the config. For a fusion model, one such mapping per
            modality: `{"ecg": {"corpus": "..."}, "eda": {...}}`.
        hyperparameters: training hyper-parameters to list (learning rate, epochs, batch size, ...).
        eval_results: `citrus evaluate` output (path or parsed JSON, see `parse_eval_results`). The rows of
            `model_arm` on this model's dataset and label budget are its recipe's means over the protocol's draws:
            `model-index` entries only when the run folder holds no test metrics of its own (then those are this
            model's), else table rows labelled as the recipe's; every row is in the Markdown table, the others
            labelled as baselines or as other runs of the same recipe. This model's scores per labelled recording
            (`recording_macro_f1`, ...) are in the evaluation note instead, as a fine-tuning run's are: `model-index`
            holds window-level metrics.
        model_arm: with `citrus evaluate` output, the protocol arm that this checkpoint is (e.g. `"citrus-time"`):
            a CiTrus arm, whose runs on this model's dataset used this checkpoint's recipe.
        license: license id of the weights, one the Hub knows (`HUB_LICENSES`).
        tags: extra tags (a str is one tag); `citrus`, `bio-signal`, `time-series` and the channel modalities are
            always added (`citrus-fusion` and `multimodal` too for a fusion model).
        summary: one paragraph under the title; a default is derived from the task and the input contract.
        limitations: checkpoint-specific limitations (a str is one), listed before the general ones.
        template_path: a Jinja template to use instead of the default one.
        run_dir: the folder the checkpoint was saved in by a run: its `finetune_results.json` (dataset, label
            budget, test metrics, hyper-parameters, base checkpoint) and `pretraining_summary.json` (corpus, steps)
            fill what the arguments above leave open (`read_run_records`).
        dataset_name / label_budget: the dataset (as `citrus evaluate` names it) and the labelled training windows
            of this checkpoint, which pick its rows out of `eval_results`; default: from `run_dir`'s records.
        pipeline_tag: the card's pipeline tag; default: the task the checkpoint's `custom_pipelines` names
            (`configuration_citrus.PIPELINE_TASKS`).
        previous_card: the card this one replaces (the repository's: `push_to_hub` reads it). The rows of its
            evaluation table of other methods (baselines, other runs of the recipe) that this card does not give
            again are kept: they do not depend on the weights being published, and a push without the evaluation
            results would otherwise drop them. Its rows of this model describe the weights being replaced: they are
            left out, with a warning that names them.
        revision: the branch of `repo_id` the card is published on, which its usage code loads (`revision=`);
            None: the default branch.

    Raises:
        ValueError: an unknown license id, evaluation results that do not say which rows are this model's, a
            metric of the other problem among them (a regression metric for a classifier), a `model_arm` that is a
            baseline or was fitted with another recipe, or a `base_model` that is no Hub model id.

    Returns:
        `huggingface_hub.ModelCard` whose `.data` holds the metadata; save it with `card.save(path)`.
    """
    fusion, tasks = _card_family(model_or_config)
    config, model_class, num_parameters, class_task = _model_class_and_task(
        model_or_config, tasks, CiTrusFusionConfig if fusion else CiTrusConfig
    )
    task = class_task if fusion else _solved_task(config, class_task)
    check_license(license)

    run = read_run_records(run_dir)
    given = _card_records(run, eval_results, model_arm, dataset_name, label_budget, task, model_class)
    records, recording_notes = _per_recording_notes(given)
    if pretraining is None and not fusion:
        pretraining = run.pretraining
    hyperparameters = hyperparameters if hyperparameters is not None else run.hyperparameters
    base_model = base_model if base_model is not None else run.base_model
    _check_base_model(base_model)
    if datasets is None:
        # a set the model was evaluated on that is a Hub dataset (`citrus finetune --dataset owner/name`): the
        # metadata links it, as the model-index names it
        datasets = _hub_datasets(records, run) or None
    name = repo_id.split("/")[-1] if repo_id else (f"citrus-fusion-{class_task}" if fusion else f"citrus-{class_task}")
    sub_configs = list(config.modality_configs.values()) if fusion else [config]
    modalities = sorted({m.lower() for sub in sub_configs for m in (sub.channel_modalities or [])})
    card_data = _card_data(
        config,
        model_class,
        task,
        tasks[task][2],
        records,
        name=name,
        modalities=modalities,
        fusion=fusion,
        license=license,
        tags=as_list(tags),
        datasets=datasets,
        base_model=base_model,
        pipeline_tag=pipeline_tag,
    )
    template = _template(template_path, fusion)
    common = _shared_card_values(
        model_class,
        tasks[class_task][1],  # the Auto class that loads the checkpoint's own class
        summary=summary if summary is not None else _default_summary(config, model_class, task, modalities, fusion),
        repo_id=repo_id,
        revision=revision,
        hyperparameters=hyperparameters,
        records=records,
        # (this model's per-recording scores count as given again, in the note: a card pushed before they went there
        # lists them in its table, and its rows were said to be "not given again", to pass the results again)
        kept_rows=_kept_evaluation_rows(previous_card, _evaluation_rows(given), repo_id, task),
        limitations=[*as_list(limitations), *_general_limitations(config, fusion)],
        evaluation_notes=[
            *(run.evaluation_notes if run.eval_records or run.undefined_metrics else []),
            *recording_notes,
        ],
        undefined=run.undefined_metrics,
    )
    if fusion:
        model = None if model_or_config is config else model_or_config
        sections = _fusion_card_values(config, model, model_class, num_parameters, feature_extractor, pretraining)
    else:
        sections = _citrus_card_values(config, model_class, task, num_parameters, feature_extractor, pretraining)
    family = "CiTrus fusion" if fusion else "CiTrus"
    return ModelCard.from_template(
        card_data, template_path=str(template), title=f"{name} ({family})" if repo_id else family, **sections, **common
    )


def _card_records(
    run: RunRecords,
    eval_results: str | os.PathLike | Mapping | Sequence | None,
    model_arm: str | None,
    dataset_name: str | None,
    label_budget: int | None,
    task: str,
    model_class: str,
) -> list[EvalRecord]:
    """The card's evaluation records: the run's own test metrics, then the `citrus evaluate` rows kept for this
    model (its arm's on its dataset and label budget, which default to the run's, plus the baselines); a ValueError
    for a metric of the other problem among this model's rows."""
    dataset_name = dataset_name if dataset_name is not None else run.dataset
    label_budget = label_budget if label_budget is not None else run.label_budget
    if model_arm is not None and eval_results is not None:
        _check_model_arm(model_arm, eval_results, run, dataset_name, label_budget)
    records = parse_eval_results(eval_results, model_arm) if eval_results is not None else []
    records = _this_models_records(records, dataset_name, label_budget, model_arm)
    if run.eval_records:
        # the checkpoint's own test metrics are this model's; the protocol's means over seeds of its arm are the
        # recipe's (other draws and seeds than this checkpoint's), in the table but not in `model-index`. Rows given
        # without an arm (the model's own, hand-written) are another run of the recipe too, of no arm to name: the
        # table said "(None, the protocol's draws)"
        other_run = _SAME_RECIPE if model_arm is None else f"{_SAME_RECIPE} ({model_arm}, the protocol's draws)"
        records = [dataclasses.replace(r, method=other_run) if r.method is None else r for r in records]
    records = [*run.eval_records, *records]
    if (problem := _task_problem(task)) is not None:
        _check_problem(records, problem, model_class)
    return records


def _per_recording_notes(records: list[EvalRecord]) -> tuple[list[EvalRecord], list[str]]:
    """`records` without this model's scores per labelled recording (`citrus evaluate`'s `recording_<metric>` rows of
    the card's arm), and those scores as the evaluation note's sentences, one per dataset, split and label budget: what
    a fine-tuning run's card says of its own (`runs.read_run_records`). `model-index` holds window-level metrics, of
    which a per-recording score is none (each recording is scored once, by the mean of its windows' outputs); other
    methods' such rows stay in the table, labelled, as they never enter `model-index`."""
    own = [r for r in records if r.method is None and r.metric.startswith(PER_RECORDING_PREFIX)]
    groups: dict[tuple, list[EvalRecord]] = {}
    for record in own:
        groups.setdefault((record.dataset, record.split, record.label_budget), []).append(record)
    notes = []
    for (dataset, split, budget), scored in groups.items():
        seeds = {r.seeds for r in scored if r.seeds is not None}
        counts = {r.recordings for r in scored if r.recordings is not None}
        notes.append(
            per_recording_note(
                [(r.metric.removeprefix(PER_RECORDING_PREFIX), r.value, r.std) for r in scored],
                _METRIC_PROBLEM.get(scored[0].metric),
                dataset,
                split,
                max(counts) if counts else None,
                (f", {budget} labelled examples" if budget is not None else "")
                + (f", mean over {'/'.join(map(str, sorted(seeds)))} seeds" if seeds else ""),
            )
        )
    return [r for r in records if r.method is not None or not r.metric.startswith(PER_RECORDING_PREFIX)], notes


def _check_base_model(base_model: str | Sequence[str] | None) -> None:
    """`base_model` must name Hub repositories (the Hub refuses a card whose `base_model` is anything else): not a
    checkpoint shipped with the package, which the card names from the run's records instead."""
    import re

    from .._bundled import bundled_checkpoint

    for name in [base_model] if isinstance(base_model, str) else list(base_model or []):
        if bundled_checkpoint(str(name)) is not None:
            raise ValueError(
                f"base_model {name!r} is the checkpoint shipped inside citrus-hf, not a Hub repository, and the Hub "
                "refuses a base_model it cannot link to; leave it out: the card names it from the run's records."
            )
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", str(name)):
            raise ValueError(
                f"base_model {name!r} is not a Hub model id (`namespace/name`); the Hub refuses a card whose base_model "
                "is anything else. Give the repository this checkpoint was fine-tuned from, or leave it out."
            )


def _check_model_arm(
    model_arm: str,
    eval_results: str | os.PathLike | Mapping | Sequence,
    run: RunRecords,
    dataset: str | None,
    label_budget: int | None,
) -> None:
    """Refuse an arm that is not this checkpoint: a baseline of the protocol (MiniRocket's scores published as the
    model's), or a CiTrus arm whose runs on this model's dataset were fitted with another recipe than its own."""
    from ..evaluation.arms import ARMS, CiTrusArm

    arm = ARMS.get(model_arm)
    if arm is not None and not isinstance(arm, CiTrusArm):
        raise ValueError(
            f"--arm {model_arm!r} is a baseline of the protocol ({arm.description}), not a CiTrus checkpoint: name "
            "the CiTrus arm this checkpoint was fitted as (e.g. citrus-small), or leave --arm out to show every arm "
            "as a baseline."
        )
    if run.recipe is None:
        return
    results = eval_results
    if isinstance(results, (str, os.PathLike)) and Path(results).is_file():
        try:
            results = json.loads(Path(results).read_text(encoding="utf-8"))
        except ValueError:
            return  # parse_eval_results names the problem
    runs = results.get("runs") if isinstance(results, Mapping) else None
    if not isinstance(runs, Sequence):
        return
    recipes = {
        str(row.get("recipe"))
        for row in runs
        if isinstance(row, Mapping)
        and row.get("arm") == model_arm
        and row.get("recipe") is not None
        and (dataset is None or row.get("dataset") == dataset)
        and (label_budget is None or row.get("n_train") is None or int(row["n_train"]) == label_budget)
    }
    if recipes and run.recipe not in recipes:
        raise ValueError(
            f"--arm {model_arm!r} was fitted with recipe {', '.join(sorted(recipes))} in these evaluation results, "
            f"and this checkpoint with {run.recipe!r}: its scores would describe another model. Evaluate the recipe "
            "this checkpoint used (`citrus evaluate --recipe`), or leave --arm out to show every arm as a baseline."
        )


def _shared_card_values(
    model_class: str,
    auto_class: str,
    *,
    summary: str,
    repo_id: str | None,
    revision: str | None,
    hyperparameters: Mapping[str, Any] | None,
    records: list[EvalRecord],
    kept_rows: list[dict[str, Any]],
    limitations: list[str],
    evaluation_notes: Sequence[str] = (),
    undefined: Sequence[EvalRecord] = (),
) -> dict[str, Any]:
    """The template values a CiTrus and a CiTrus fusion card share: summary, usage names (the repository and the
    branch `revision` its code loads), hyper-parameters,
    evaluation table (`records`, the run's `undefined` (NaN) metrics, then the rows `kept_rows` keeps of the card it
    replaces) and its note (then `evaluation_notes`, what the run's records say of its metrics), limitations,
    citation. The NaN rows are the table's only: `model-index` takes numbers."""
    return dict(
        summary=summary,
        repo_id=repo_id or "path/to/checkpoint",
        # a card on another branch than the default one shows code that loads that branch: without it, the code loaded
        # the default branch's model (another one, or none in a repository whose weights live on the branch alone)
        at_revision=revision_argument(repo_id, revision),
        model_class=model_class,
        # transformers' own Auto class loads the remote code; the package's (regression) is named in `auto_map`
        auto_class=auto_class if _in_transformers(auto_class) else None,
        remote_auto_map_key=auto_class,
        hyperparameters=[(str(k), _format_value(v)) for k, v in (hyperparameters or {}).items()],
        evaluation=[*_evaluation_rows(records), *_evaluation_rows(list(undefined)), *kept_rows],
        evaluation_note=" ".join(
            [
                "Values are means over seeds where seeds are given (± standard deviation where recorded). Baselines "
                'are other methods run with the same protocol; "same recipe, another run" rows are this model\'s '
                "method in other runs: on other datasets or label budgets, or other draws and seeds on this model's "
                "own. Only this model's rows are in the `model-index` metadata.",
                *evaluation_notes,
            ]
        ),
        limitations=limitations,
        citation=CITATION,
    )


def _citrus_card_values(
    config: CiTrusConfig,
    model_class: str,
    task: str,
    num_parameters: int | None,
    feature_extractor: CiTrusFeatureExtractor | None,
    pretraining: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The template values of a CiTrus model's own sections: architecture, input contract, extractor settings and
    pre-training; a TypeError for a fusion processor given as its extractor."""
    if feature_extractor is not None and hasattr(feature_extractor, "feature_extractors"):
        raise TypeError(
            f"{type(feature_extractor).__name__} prepares the inputs of a fusion model; a CiTrus model is published with "
            "its CiTrusFeatureExtractor (`CiTrusFeatureExtractor.from_config(model.config)`)."
        )
    return dict(
        architecture=_architecture(config, model_class, num_parameters),
        input_contract=_input_contract(
            config,
            has_head=task in ("sequence-classification", REGRESSION),
            channel_units=getattr(feature_extractor, "channel_units", None),
        ),
        feature_extractor_settings=(
            _feature_extractor_rows(feature_extractor, config) if feature_extractor is not None else []
        ),
        # whether the repository holds the extractor: the card's text and usage code load it only then
        with_preprocessor=feature_extractor is not None,
        pretraining=_pretraining_rows(config, pretraining),
    )


def _fusion_card_values(
    config: CiTrusFusionConfig,
    model: PreTrainedModel | None,
    model_class: str,
    num_parameters: int | None,
    processor: CiTrusFusionProcessor | None,
    pretraining: Mapping[str, Mapping[str, Any]] | None,
) -> dict[str, Any]:
    """The template values of a CiTrus fusion model's own sections: the fused model's rows, one section per
    modality (`_fusion_sections`) and the usage code's per-modality dictionaries."""
    return dict(
        fusion=_fusion_rows(config, model_class, num_parameters),
        modalities=_fusion_sections(config, model, processor, pretraining),
        usage_recordings="{" + ", ".join(f'"{m}": {m}_windows' for m in config.modalities) + "}",
        usage_pipeline="{" + ", ".join(f'"{m}": {m}_recording' for m in config.modalities) + "}",
        usage_rates="{" + ", ".join(f'"{m}": {m}_rate' for m in config.modalities) + "}",
        # whether the repository holds the processor: the card's text and usage code load it only then
        with_preprocessor=processor is not None,
    )


def _card_family(model_or_config) -> tuple[bool, dict[str, tuple[str, str | None, str]]]:
    """(is it a fusion model, its family's task table: task -> (model class, Auto class, task type)); a TypeError for
    anything that is not a CiTrus or CiTrus fusion model or config."""
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
    return fusion, FUSION_MODEL_TASKS if fusion else MODEL_TASKS


def _card_data(
    config,
    model_class: str,
    task: str,
    task_type: str,
    records: list[EvalRecord],
    *,
    name: str,
    modalities: list[str],
    fusion: bool,
    license: str,
    tags: Sequence[str],
    datasets: str | list[str] | None,
    base_model: str | list[str] | None,
    pipeline_tag: str | None,
) -> ModelCardData:
    """The card's YAML metadata: library, pipeline tag, license, tags (family, bio-signal, time-series, task type,
    channel modalities, then `tags`), datasets, base model and `model-index` from this model's `records`."""
    family_tags = ["citrus", "citrus-fusion", "multimodal"] if fusion else ["citrus"]
    all_tags = list(dict.fromkeys([*family_tags, "bio-signal", "time-series", task_type, *modalities, *tags]))
    eval_entries = _eval_results_for_index(records, task_type, task.replace("-", " "))
    return ModelCardData(
        library_name="transformers",
        pipeline_tag=pipeline_tag or _pipeline_tag(config, model_class, task, fusion),
        license=license,
        tags=all_tags,
        datasets=[datasets] if isinstance(datasets, str) else (list(datasets) if datasets else None),
        base_model=base_model,
        model_name=name if eval_entries else None,
        eval_results=eval_entries or None,
    )


def _default_summary(
    config: CiTrusConfig | CiTrusFusionConfig, model_class: str, task: str, modalities: list[str], fusion: bool
) -> str:
    """The default paragraph under the card's title: what the model is and the windows it reads."""
    if fusion:
        return _fusion_summary(config, task)
    outputs = _regression_outputs(config, model_class) if task == REGRESSION else 0
    what = {
        "base": "A CiTrus encoder",
        "pretraining": "A CiTrus encoder with its pre-training head",
        "sequence-classification": f"A CiTrus {_classifier_kind(config)}",
        REGRESSION: f"A CiTrus regressor ({outputs} target{'s' if outputs != 1 else ''})",
    }[task]
    return (
        f"{what} for {config.window_seconds:g}-second windows of {config.num_channels}-channel "
        f"{'/'.join(m.upper() for m in modalities) or 'bio-signal'} recordings at {config.sampling_rate:g} Hz."
    )


def _classifier_kind(config: CiTrusConfig | CiTrusFusionConfig) -> str:
    """What a classifier is, for the card's first line: a multi-label one scores each label with its own sigmoid (any
    number of them may apply), which "N classes" hid, as of a softmax over exclusive classes."""
    if getattr(config, "problem_type", None) == "multi_label_classification":
        return f"multi-label classifier ({config.num_labels} labels, each present or absent: a sigmoid per label)"
    return f"classifier ({config.num_labels} classes)"


def _fusion_summary(config: CiTrusFusionConfig, task: str) -> str:
    """The default paragraph under a fusion card's title: the head and every modality's windows."""
    what = (
        f"A CiTrus fusion {_classifier_kind(config)}"
        if task == "sequence-classification"
        else f"A CiTrus fusion regressor ({config.num_targets} target{'s' if config.num_targets != 1 else ''})"
    )
    parts = [
        f"{modality} ({sub.num_channels}-channel {sub.window_seconds:g}-second windows at {sub.sampling_rate:g} Hz)"
        for modality, sub in config.modality_configs.items()
    ]
    return f"{what} of {len(parts)} modalities, one CiTrus encoder each: {'; '.join(parts)}."


def _evaluation_rows(records: list[EvalRecord]) -> list[dict[str, Any]]:
    """The card's evaluation table: one row per record (this model's, the baselines', other runs of the recipe), its
    text cells escaped for the Markdown table (a dataset folder named `a|b`)."""
    return [
        {
            "dataset": _format_value(r.dataset),
            "split": _format_value(r.split or ""),
            "method": _format_value(_method_label(r.method)),
            "metric": _format_value(r.metric),
            "label_budget": r.label_budget if r.label_budget is not None else "",
            "seeds": r.seeds if r.seeds is not None else "",
            "value": "NaN (undefined)"
            if math.isnan(r.value)
            else f"{r.value:.4g}" + (f" ± {r.std:.2g}" if r.std is not None else ""),
        }
        for r in records
    ]


def evaluation_table_rows(card: ModelCard | str) -> list[dict[str, str]]:
    """The rows of a CiTrus card's evaluation table read back from its Markdown, as `_evaluation_rows` gives them to
    the template (every cell a string); empty for a card without that table (no results, another template)."""
    lines = str(card).splitlines()
    if _EVALUATION_TABLE_HEADER not in lines:
        return []
    rows = []
    for line in lines[lines.index(_EVALUATION_TABLE_HEADER) + 2 :]:  # after the header's separator line
        if not line.startswith("|"):
            break
        # split at the unescaped "|" only: a cell's own is written "\|" (`_format_value`), and stays so, as
        # `_evaluation_rows` gives it
        cells = [cell.strip() for cell in _UNESCAPED_BAR.split(line.strip().removeprefix("|").removesuffix("|"))]
        if len(cells) == len(_EVALUATION_COLUMNS):  # a hand-edited row with another number of cells: not guessed at
            rows.append(dict(zip(_EVALUATION_COLUMNS, cells)))
    return rows


def _kept_evaluation_rows(
    previous_card: ModelCard | str | None, rows: list[dict[str, Any]], repo_id: str | None, task: str | None = None
) -> list[dict[str, str]]:
    """The rows of `previous_card`'s evaluation table that a card of `rows` for a model of `task` keeps (see
    `build_model_card`): the other methods' rows it does not replace, of the model's own problem (no classification
    baseline beside a regressor pushed over a classifier), and its recipe's other runs only on a dataset the new
    card gives results for (elsewhere they may be another recipe's). A warning names this model's rows and the
    others that it leaves out."""
    if previous_card is None:
        return []

    def key(row: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(str(row[column]) for column in _EVALUATION_ROW_KEY)

    given = {key(row) for row in rows}
    previous = [row for row in evaluation_table_rows(previous_card) if key(row) not in given]
    own = _method_label(None)
    dropped = [row for row in previous if row["method"] == own]
    if dropped:
        listed = "; ".join(f"{row['metric']} on {row['dataset']} {row['split']}".rstrip() for row in dropped)
        logger.warning(
            f"The card of {repo_id or 'the repository'} lists results of this model that the new card does not give "
            f"again ({listed}); they describe the weights being replaced, so they are left out. If these weights are "
            "the ones they measured, pass the evaluation results again (`eval_results=`, `citrus push "
            "--eval-results`)."
        )
    problem = _task_problem(task)
    datasets = {str(row["dataset"]) for row in rows}

    def fits(row: Mapping[str, str]) -> bool:
        if problem is not None and _METRIC_PROBLEM.get(row["metric"], problem) != problem:
            return False
        return not row["method"].startswith(_SAME_RECIPE) or row["dataset"] in datasets

    others = [row for row in previous if row["method"] != own]
    unfit = [row for row in others if not fits(row)]
    if unfit:
        listed = "; ".join(f"{row['method']}: {row['metric']} on {row['dataset']}" for row in unfit[:4])
        logger.warning(
            f"The card of {repo_id or 'the repository'} lists rows that do not describe the model now pushed ({listed}"
            f"{'; ...' if len(unfit) > 4 else ''}): another problem's metrics, or its recipe's runs on datasets the new "
            "card gives no results for; they are left out."
        )
    return [row for row in others if fits(row)]


def _general_limitations(config: CiTrusConfig | CiTrusFusionConfig, fusion: bool) -> list[str]:
    """The limitations every CiTrus (fusion) checkpoint shares, after the checkpoint's own."""
    rates = "each encoder's sampling rate" if fusion else f"{config.sampling_rate:g} Hz"
    limitations = [
        "A research model, not a medical device: do not use it for diagnosis or treatment decisions.",
        f"Inputs must follow the input contract; other rates, lengths or channel layouts only work through the "
        f"{'processor' if fusion else 'feature extractor'}, and resampling far from {rates} or stretching very "
        "short windows changes the time and frequency scales the encoder learned.",
    ]
    if fusion:
        limitations += [
            "Every modality is required: the model cannot predict from a subset of them, and windows of different "
            "modalities must cover the same time span, or the concatenated embedding pairs unrelated moments.",
            "The head is linear on the concatenated embeddings, so modalities interact only through that linear "
            "combination; compare with single-modality models to see what the fusion adds.",
        ]
    return limitations + [
        "Low-data fine-tuning is sensitive to the seed and to which examples are labelled: compare methods over "
        "several seeds and label draws, as the evaluation table does.",
        "Performance on recordings from other devices, montages, populations or artefact levels than the training "
        "data has not been established.",
    ]


def _template(template_path: str | os.PathLike | None, fusion: bool) -> Path:
    """The Jinja template to render: `template_path`, else the package's (fusion) model card template."""
    default_template = DEFAULT_FUSION_TEMPLATE_PATH if fusion else DEFAULT_TEMPLATE_PATH
    template = Path(template_path) if template_path is not None else default_template
    if not template.is_file():
        fix = (
            "pass an existing file as `template_path=`"
            if template_path is not None
            else f"pass `template_path=`, or reinstall citrus-hf (its package holds model_cards/{template.name})"
        )
        raise FileNotFoundError(f"Model card template {str(template)!r} not found; {fix}.")
    return template


def _trainer_batch_size(arguments) -> int | str:
    """The examples behind each optimizer step (`total_train_batch_size` in transformers' card), with its parts when
    gradient accumulation or several processes multiply the per-device batch."""
    per_device, accumulation = arguments.per_device_train_batch_size, arguments.gradient_accumulation_steps
    processes = max(1, arguments.world_size)
    total = per_device * accumulation * processes
    if total == per_device:
        return total
    parts = [f"{per_device} per device"]
    if processes > 1:
        parts.append(f"{processes} processes")
    if accumulation > 1:
        parts.append(f"{accumulation} gradient-accumulation steps")
    return f"{total} ({' x '.join(parts)})"


def _kept_model_evaluation(trainer) -> dict[str, Any] | None:
    """The `Trainer`'s evaluation of the weights it holds: with `load_best_model_at_end`, the evaluation at the best
    step (the checkpoint it loaded back), else the last one; None without an evaluation. The last evaluation of a
    run that kept an earlier checkpoint scores weights that are not the ones published."""
    evaluations = [entry for entry in trainer.state.log_history if "eval_loss" in entry]
    best_step = getattr(trainer.state, "best_global_step", None)
    if trainer.args.load_best_model_at_end and best_step is not None:
        best = [entry for entry in evaluations if entry.get("step") == best_step]
        if best:
            return best[-1]
    return evaluations[-1] if evaluations else None


def _one_targets_metric(metric: str, model: PreTrainedModel) -> bool:
    """Whether `metric` is one target's regression metric (`mae_heart_rate`, `rmse_1`: `regression_metrics`' names
    for a model of several targets, by `config.target_names` or index). They are what a card of several targets must
    show: the plain `mae` beside them averages the targets, in their different units (bpm and Hz)."""
    names = getattr(model.config, "target_names", None) or []
    for base in REGRESSION_METRICS:
        target = metric.removeprefix(f"{base}_")
        if target != metric and (target in names or target.isdigit()):
            return True
    return False


def write_trainer_card(
    trainer,
    model: PreTrainedModel,
    language: str | None = None,
    license: str | None = None,
    tags: str | list[str] | None = None,
    model_name: str | None = None,
    finetuned_from: str | None = None,
    tasks: str | list[str] | None = None,
    dataset_tags: str | list[str] | None = None,
    dataset: str | list[str] | None = None,
    dataset_args: str | list[str] | None = None,
    revision: str | None = None,
) -> Path:
    """The CiTrus card of a `Trainer`'s model, written over the draft of `Trainer.create_model_card` (same
    arguments) in `trainer.args.output_dir`: what `Trainer.push_to_hub` uploads. The hyper-parameters come from the
    Trainer's arguments, the evaluation of the weights it holds from its log (`_kept_model_evaluation`: the best
    step's with `load_best_model_at_end`), the pre-training facts from the run records of the checkpoint the model
    was loaded from, else from the output folder's pre-training summary; a fine-tuning run's records in the output
    folder (`finetune_results.json`) are another run's, of weights the Trainer replaced, and stay out. `language`,
    `tasks` and `dataset_args` do not apply to bio-signals. `revision`: the branch the card is published on, which
    its usage code loads (None: the default branch).

    Returns:
        The path of the README.md written.
    """
    from ..feature_extraction_citrus import CiTrusFeatureExtractor
    from ..processing_citrus_fusion import CiTrusFusionProcessor

    output_dir = Path(trainer.args.output_dir)
    arguments = trainer.args
    # transformers' meaning: `dataset_tags` are the Hub ids (the `datasets:` metadata, model-index `dataset.type`),
    # `dataset` the names shown (model-index `dataset.name`); either stands for both when alone
    ids, names = as_list(dataset_tags), as_list(dataset)
    datasets, shown = ids or names, names or ids
    loaded_from = getattr(model, "name_or_path", None) or None
    base = read_run_records(loaded_from)
    # the output folder's pre-training summary is this run's (a pre-training Trainer writes it there), but a
    # fine-tuning run's `finetune_results.json` there is another run's (a `citrus finetune` folder trained on again):
    # its test metrics described weights the Trainer has replaced, in `model-index`, and the Trainer's own evaluation
    # was refused as not on that run's label budget or labelled "same recipe, another run"
    output_pretraining = read_pretraining_summary(output_dir) if output_dir.is_dir() else None
    hyperparameters = {
        "Learning rate": arguments.learning_rate,
        "Batch size": _trainer_batch_size(arguments),
        "Training length": f"{arguments.max_steps} steps"
        if arguments.max_steps > 0
        else f"{arguments.num_train_epochs:g} epochs",
        "Steps trained": trainer.state.global_step,
        "Optimizer": f"{_format_value(arguments.optim)}, weight decay {arguments.weight_decay:g}",
        "Learning-rate schedule": f"{_format_value(arguments.lr_scheduler_type)}, warm-up {arguments.warmup_steps:g}",
        "Seed": arguments.seed,
    }
    evaluation = _kept_model_evaluation(trainer)
    records = []
    if evaluation is not None:
        for key, value in evaluation.items():
            metric = key.removeprefix("eval_")
            # a metric that could not be computed (AUROC on an evaluation set of one class is NaN) is left out, as
            # `citrus push` leaves it out of finetune_results.json's: the Hub's model-index takes numbers only
            finite = isinstance(value, (int, float)) and math.isfinite(value)
            if key.startswith("eval_") and (metric in _METRIC_PROBLEM or _one_targets_metric(metric, model)) and finite:
                # without a dataset name the metrics still reach the card's table (they were dropped), not its
                # model-index, which must name one
                named = (
                    dict(dataset=shown[0], dataset_id=datasets[0])
                    if datasets
                    else dict(dataset="-", method=_UNNAMED_EVALUATION)
                )
                records.append(EvalRecord(**named, metric=metric, value=float(value), split="eval"))
    processor = trainer.processing_class
    if not isinstance(processor, (CiTrusFeatureExtractor, CiTrusFusionProcessor)):
        from .push import _saved_preprocessor

        processor = _saved_preprocessor(model, output_dir)  # the hook saves the model's own when the Trainer had none
    card = build_model_card(
        model,
        processor,
        repo_id=getattr(trainer, "hub_model_id", None) or arguments.hub_model_id or model_name,
        base_model=finetuned_from or base.base_model or hub_repo_id(loaded_from),
        datasets=datasets or None,
        pretraining=(base.pretraining or output_pretraining)
        if not isinstance(model.config, CiTrusFusionConfig)
        else None,
        hyperparameters=hyperparameters,
        eval_results=[dataclasses.asdict(record) for record in records] or None,
        license=license or "apache-2.0",
        tags=as_list(tags),
        revision=revision,
    )
    path = output_dir / REPOCARD_NAME
    card.save(path)
    return path


def write_trainer_adapter_card(
    trainer,
    peft_model,
    license: str | None = None,
    tags: str | list[str] | None = None,
    revision: str | None = None,
    **_draft_options,
) -> Path:
    """The card of a LoRA adapter a `Trainer` trained (`training.lora.adapter_card`: `library_name: peft`, its base
    model and how to load it), written over the draft of `Trainer.create_model_card` in `trainer.args.output_dir`,
    which then holds the adapter alone: a full model's card there named files the repository does not have. The
    draft's other options (datasets, tasks) describe a full model and are not used. `revision`: the branch the card
    is published on, which its usage code loads (None: the default branch).

    Returns:
        The path of the README.md written.
    """
    from ..training.lora import adapter_card, root_adapter

    repo_id = getattr(trainer, "hub_model_id", None) or trainer.args.hub_model_id
    # the adapter at the folder's root, which its loaders take: peft saves any other in a subfolder of its name
    card = adapter_card(
        peft_model,
        repo_id,
        license=check_license(license or "apache-2.0"),
        adapter_name=root_adapter(peft_model),
        revision=revision,
    )
    _add_tags(card, tags)
    path = Path(trainer.args.output_dir) / REPOCARD_NAME
    card.save(path)
    return path


def add_adapter_run_records(
    card: ModelCard, base: PreTrainedModel, run_dir: str | os.PathLike | None, repo_id: str | None = None
) -> None:
    """Put the records of the run that saved a LoRA adapter (its `finetune_results.json`, beside the adapter) into the
    adapter's card (`training.lora.adapter_card`), as a full checkpoint's card has them: its test metrics in
    `model-index` and a results table (with the metrics it could not compute, NaN, and its notes on them), the Hub
    dataset it was fitted on, the pipeline its task runs and its fine-tuning settings. `base`: the adapter's task model (`peft_model.get_base_model()`). Nothing for a folder
    without records."""
    run = read_run_records(run_dir)
    if not (run.eval_records or run.hyperparameters):
        return
    _, tasks = _card_family(base)
    config, model_class, _, class_task = _model_class_and_task(base, tasks, CiTrusConfig)
    task = _solved_task(config, class_task)
    records = list(run.eval_records)
    if (problem := _task_problem(task)) is not None:
        _check_problem(records, problem, model_class)
    entries = _eval_results_for_index(records, tasks[task][2], task.replace("-", " "))
    card.data.pipeline_tag = _pipeline_tag(config, model_class, class_task, False)
    if entries:
        card.data.eval_results = entries
        card.data.model_name = repo_id.split("/")[-1] if repo_id else "citrus-lora-adapter"
    hub_sets = _hub_datasets(records, run)
    if hub_sets:
        card.data.datasets = hub_sets
    lines = ["", "## Results", "", "| dataset | split | metric | labelled examples | value |", "|---|---|---|---|---|"]
    # the metrics the run could not compute (NaN) and its notes on them, as a full checkpoint's card has them; cells
    # escaped as there (a dataset folder named `a|b` split the row)
    lines += [
        "| "
        + " | ".join(_format_value(cell) for cell in (r.dataset, r.split or "", r.metric))
        + f" | {r.label_budget if r.label_budget is not None else ''} | "
        + ("NaN (undefined)" if math.isnan(r.value) else f"{r.value:.4g}")
        + " |"
        for r in [*records, *run.undefined_metrics]
    ]
    if run.evaluation_notes:
        lines += ["", *run.evaluation_notes]
    if run.hyperparameters:
        lines += ["", "## Fine-tuning", "", "| setting | value |", "|---|---|"]
        lines += [f"| {key} | {_format_value(value)} |" for key, value in run.hyperparameters.items()]
    card.text = card.text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


def _add_tags(card: ModelCard, tags: str | Sequence[str] | None) -> None:
    """Add `tags` to the metadata of `card` after the tags it has, each tag once and in order; a card left without
    any gets no `tags:` line. How `push_to_hub` tags a card it is given or keeps, and `push_adapter_to_hub` its card."""
    card.data.tags = list(dict.fromkeys([*(card.data.tags or []), *as_list(tags)])) or None


__all__ = [
    "CITATION",
    "HUB_LICENSES",
    "add_adapter_run_records",
    "build_model_card",
    "check_license",
    "write_trainer_adapter_card",
    "write_trainer_card",
]
