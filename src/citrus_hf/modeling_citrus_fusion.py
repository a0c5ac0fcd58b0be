"""CiTrus fusion models: one CiTrus encoder per named modality, pooled embeddings concatenated, a head on top.

"Foundation models + simple fusion" (arXiv 2512.15250): every modality keeps the encoder that was pre-trained for it,
at its own sampling rate and window, and a linear head reads the concatenated embeddings (late fusion: modalities
meet only in that layer, so it weighs each modality's evidence but learns no interaction between them). Each encoder is a complete `CiTrusModel` with its own `CiTrusConfig`, so it can come from its own
checkpoint (`from_encoders`), be frozen on its own (`freeze_encoder`) and be loaded back on its own from a saved fusion
checkpoint (`load_encoder`).

Inputs are dictionaries keyed by modality: `input_values={"ecg": (B, C_ecg, T_ecg), "eda": (B, C_eda, T_eda)}` and,
optionally, `patch_mask={"ecg": (B, P_ecg), ...}`. One keyword per input (not one per modality) keeps the forward
signature fixed, so the `Trainer` keeps the `input_values` column of a dataset whatever the modalities are, and moves
the nested tensors to the device itself; `CiTrusFusionProcessor` and `CiTrusFusionDataCollator`
(`processing_citrus_fusion`) produce exactly this layout.

Like `modeling_citrus`, this file imports only torch and transformers (and, relatively, the CiTrus files), so a saved
checkpoint loads with `trust_remote_code=True` where `citrus_hf` is not installed.
"""

from __future__ import annotations

import copy
import functools
import os
from collections.abc import Mapping

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput
from transformers.modeling_utils import PreTrainedModel
from transformers.utils import logging

from .configuration_citrus import WINDOW_BOOKKEEPING, CiTrusConfig, check_config_dtype, refuse_second_run
from .configuration_citrus_fusion import (
    FUSION_CHANNEL_COUNT_FIX,
    CiTrusFusionConfig,
    check_modality_names,
    fusion_custom_pipelines_for,
    modality_keywords,
)
from .modeling_citrus import (
    _TEXT_MODEL_KWARGS,
    CHANNEL_COUNT_ADVICE,
    INPUT_NAME,
    LONG_INPUT_ADVICE,
    CiTrusModel,
    CiTrusPooler,
    CiTrusPreTrainedModel,
    CiTrusRegressionOutput,
    _CiTrusFamilyMixin,
    _ClassifierLoss,
    _holds_trainable_adapter,
    _RegressorLoss,
    _reject_text_kwargs,
    check_dtype_keywords,
    run_task_head,
)
from .vocabulary_citrus import UnknownNameError, as_bool

refuse_second_run(globals())  # before anything is defined: see its docstring

logger = logging.get_logger(__name__)

ENCODERS_PREFIX = "encoders."

# The encoders' advice, while the fusion model runs them (`modeling_citrus`'s context variables): the single model's
# routes (alignment='window', the pipeline, `from_pretrained(..., num_channels=)`) do not exist for fusion.
_FUSION_LONG_INPUT_ADVICE = (
    "Cut the recordings into time-aligned windows of the checkpoints' durations and align them with "
    "CiTrusFusionProcessor."
)
_FUSION_CHANNEL_COUNT_ADVICE = "select those channels, or " + FUSION_CHANNEL_COUNT_FIX
# The keywords `forward` handles beside the modalities (`**kwargs`): any other is taken for a misspelt modality when
# one is missing (`modality_keywords`).
_FORWARD_OPTIONS = ("output_hidden_states", "output_attentions", *_TEXT_MODEL_KWARGS, *WINDOW_BOOKKEEPING)


class CiTrusFusionPreTrainedModel(_CiTrusFamilyMixin, PreTrainedModel):
    """Weight initialisation, strict safetensors-only loading, per-modality encoders and their freezing.

    Subclasses add a head named by `head_name` on the concatenated embedding of size `embedding_size`.
    """

    config_class = CiTrusFusionConfig
    config: CiTrusFusionConfig
    base_model_prefix = ""
    # every class of the fusion family must load all encoders; only heads may be new (strict loading)
    _backbone_prefix = ENCODERS_PREFIX
    head_name: str
    outputs_field: str
    # (the family's refusal of `resize_token_embeddings`)
    _input_embeddings_described = "its encoders' CNN stems, one per modality"
    _new_contract_advice = (
        "build the fusion model from encoders of that count (`from_encoders({..., name: "
        "CiTrusModel.from_pretrained(checkpoint, num_channels=...)})`), and let CiTrusFusionProcessor resample "
        "recordings."
    )
    _other_family_config = (
        CiTrusConfig.model_type,
        "that is a single-modality model's config: build a single-modality model from it (CiTrusModel, "
        "CiTrusForSequenceClassification or CiTrusForRegression), or make it one modality of a fusion config "
        "(`CiTrusFusionConfig(modality_configs={'ecg': config}, ...)`)",
    )

    @property
    def dummy_inputs(self) -> dict[str, dict[str, torch.Tensor]]:
        """Two examples of every modality's input contract, `input_values` `{modality: (2, channels, context_length)}`
        of noise from a fixed seed: transformers' default here is a text model's `input_ids`."""
        return {
            "input_values": {
                name: encoder.dummy_inputs["input_values"].to(self.device) for name, encoder in self.encoders.items()
            }
        }

    def __init__(self, config: CiTrusFusionConfig):
        self._check_config_class(config)
        # the other task's head-size keyword (`_HeadSizeKeywords`, which every fusion task class takes from its loss)
        self._check_config_head_keywords(config)
        self._check_output_names(config)
        super().__init__(config)
        # Encoders are complete CiTrus models: each initialises itself with its own config (transformers dispatches
        # `_init_weights` to sub-models) and can be saved or loaded on its own.
        self.encoders = nn.ModuleDict({name: CiTrusModel(config.modality_configs[name]) for name in config.modalities})
        self.poolers = nn.ModuleDict({name: CiTrusPooler(config.modality_configs[name]) for name in config.modalities})
        sizes = {name: self.poolers[name].output_size for name in config.modalities}
        self.embedding_norms = (
            nn.ModuleDict({name: nn.LayerNorm(size) for name, size in sizes.items()})
            if config.normalize_embeddings
            else None
        )
        self.embedding_size = sum(sizes.values())
        self.dropout = nn.Dropout(config.head_dropout)
        setattr(self, self.head_name, nn.Linear(self.embedding_size, getattr(config, self.outputs_field)))
        self._frozen_encoders: set[str] = set()
        self.post_init()

    # ------------------------------------------------------------------------------------------------ encoders

    def get_input_embeddings(self) -> nn.ModuleDict:
        """Every encoder's patch embedding (the module whose tokens enter its transformer), by modality, as a
        single-modality CiTrus model answers with its own: transformers found no embedding layer on a fusion model and
        ended on its note to model authors. A new dict each call, registered nowhere, so the stems are not saved twice;
        `enable_input_require_grads` hooks each encoder's own stem (it walks the sub-models)."""
        return nn.ModuleDict({name: encoder.get_input_embeddings() for name, encoder in self.encoders.items()})

    @property
    def modalities(self) -> list[str]:
        """Modality names, in the order their embeddings are concatenated."""
        return self.config.modalities

    def encoder(self, modality: str) -> CiTrusModel:
        """The `CiTrusModel` of `modality` (its `config` is that modality's `CiTrusConfig`)."""
        self._check_modality(modality)
        return self.encoders[modality]

    def freeze_encoder(self, modality: str, freeze: bool = True) -> None:
        """Freeze (or unfreeze) the encoder of one modality: its weights stop training and it stays in eval mode.

        Freezing every encoder gives a linear probe on the concatenated pre-trained embeddings; freezing some keeps
        a well pre-trained modality fixed while a weaker one adapts.

        Raises:
            TypeError: `freeze` is not True or False (the text "no" would otherwise freeze the encoder).
        """
        self._check_modality(modality)
        freeze = as_bool("freeze", freeze)
        self.encoders[modality].requires_grad_(not freeze)
        if freeze:
            self._frozen_encoders.add(modality)
        else:
            self._frozen_encoders.discard(modality)
        self.train(self.training)

    @property
    def frozen_encoders(self) -> list[str]:
        """Modalities whose encoder is frozen."""
        return sorted(self._frozen_encoders)

    def train(self, mode: bool = True):
        super().train(mode)
        frozen = getattr(self, "_frozen_encoders", set())
        for modality in sorted(frozen):
            if _holds_trainable_adapter(self.encoders[modality]):
                # peft's adapter in a frozen encoder (`get_peft_model` after `freeze_encoder`) decides what trains, as
                # in a single model's frozen backbone: kept in eval mode, its dropout was off
                logger.info(
                    f"{type(self).__name__}: a peft adapter in the frozen {modality!r} encoder ends its freezing."
                )
                frozen.discard(modality)
        # A frozen encoder also keeps eval mode (no dropout, fixed batch-norm statistics), so the head sees exactly
        # the pre-trained features.
        for modality in frozen:
            self.encoders[modality].eval()
        return self

    def _check_modality(self, modality: str) -> None:
        if modality not in self.config.modality_configs:
            raise UnknownNameError(
                f"No modality {modality!r} in this fusion model; its modalities are {self.modalities}."
            )

    def save_pretrained(self, save_directory, *args, **kwargs):
        """`PreTrainedModel.save_pretrained`, recording this class's fusion pipeline in the config
        (`custom_pipelines`), so that `transformers.pipeline(model=folder)` needs no task name, and, with the
        pipeline code saved beside the weights, runs where citrus_hf is not installed (`trust_remote_code=True`)."""
        self.config.custom_pipelines = fusion_custom_pipelines_for(type(self).__name__)
        return super().save_pretrained(save_directory, *args, **kwargs)

    # ------------------------------------------------------------------------------------------------ building

    @classmethod
    def from_encoders(
        cls,
        encoders: Mapping[str, str | os.PathLike | PreTrainedModel],
        encoder_loading_kwargs: Mapping[str, object] | None = None,
        **config_kwargs,
    ) -> CiTrusFusionPreTrainedModel:
        """Build a fusion model from one pre-trained CiTrus encoder per modality.

        Args:
            encoders: modality name -> a CiTrus checkpoint (local folder or Hub repo id; any CiTrus class: the
                pre-training checkpoint, `CiTrusModel` or a fine-tuned classifier) or a loaded CiTrus model. Each
                encoder keeps its config (sampling rate, window, channels, architecture) and its weights; the head
                is new.
            encoder_loading_kwargs: passed to `CiTrusModel.from_pretrained` for checkpoints given by name
                (e.g. `{"revision": "v1", "token": ...}`).
            **config_kwargs: the fusion settings (`num_labels`, `id2label`, `problem_type`, `num_targets`,
                `normalize_embeddings`, `head_dropout`, ...); see `CiTrusFusionConfig`. `dtype` (or the older
                `torch_dtype`) is the fusion model's dtype, as for `from_pretrained`: the encoders given by name load
                in it too (unless `encoder_loading_kwargs` names one), and every encoder is copied into it. Without
                it (or with `"auto"`), the model is built in the encoders' own dtype (bf16 encoders give a bf16
                fusion model; encoders of several dtypes, the widest of them), never silently in float32.

        Its processor: `CiTrusFusionProcessor.from_encoders(encoders)`, the same mapping, which keeps the extractor saved
        with each encoder (alignment, NaN policy, normalisation statistics); `from_config(model.config)` has only the
        configs.

        Example:

        ```python
        >>> from citrus_hf import CiTrusConfig, CiTrusModel
        >>> from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
        >>> ecg = CiTrusModel(CiTrusConfig(sampling_rate=100, context_length=1000))
        >>> eda = CiTrusModel(CiTrusConfig(sampling_rate=20, context_length=200, patch_length=10, spectrogram_n_fft=20))
        >>> model = CiTrusFusionForSequenceClassification.from_encoders({"ecg": ecg, "eda": eda}, num_labels=2)
        >>> model.modalities
        ['ecg', 'eda']

        ```
        """
        if not isinstance(encoders, Mapping) or not encoders:
            raise ValueError(
                "`encoders` must be a non-empty dict modality -> CiTrus checkpoint or model, e.g. "
                "{'ecg': 'path/to/ecg-checkpoint', 'eda': eda_model}."
            )
        dtype = _fusion_dtype(config_kwargs)
        loading_kwargs = dict(encoder_loading_kwargs or {})
        if dtype is not None and not {"dtype", "torch_dtype"} & set(loading_kwargs):
            loading_kwargs["dtype"] = dtype
        loaded = {name: _as_citrus_encoder(name, source, loading_kwargs) for name, source in encoders.items()}
        if dtype is None:
            # the encoders' dtype, as `from_pretrained` loads a checkpoint in its saved one: building in the default
            # float32 doubled the memory of bf16 encoders without a word, while `dtype=` stayed on the config
            dtype = functools.reduce(torch.promote_types, (encoder.dtype for encoder in loaded.values()))
        modality_configs = {}
        for name, encoder in loaded.items():
            sub_config = copy.deepcopy(encoder.config)
            sub_config.name_or_path = ""  # a local path of the source checkpoint means nothing inside the fusion one
            sub_config.dtype = dtype  # the dtype its encoder has in the fusion model, not the source's
            modality_configs[name] = sub_config
        # `_from_config` builds in `dtype` and records it on the config, as `from_pretrained` does
        model = cls._from_config(CiTrusFusionConfig(modality_configs=modality_configs, **config_kwargs), dtype=dtype)
        for name, encoder in loaded.items():
            # strict: every tensor of the pre-trained encoder lands in the fusion model, and nothing stays random
            model.encoders[name].load_state_dict(encoder.state_dict(), strict=True)
        return model

    @classmethod
    def load_encoder(cls, pretrained_model_name_or_path: str | os.PathLike, modality: str, **kwargs) -> CiTrusModel:
        """Load one modality's encoder out of a saved fusion checkpoint.

        The checkpoint is loaded whole by the family's strict `from_pretrained`, as the class it was saved from, and
        the encoder taken out of it: unreadable weights, missing tensors or tensors of another shape (an edited
        `d_model`) are refused there in one line, as they are for the whole model.

        Args:
            pretrained_model_name_or_path: a fusion checkpoint (local folder or Hub repo id).
            modality: which encoder.
            **kwargs: Hub arguments (`revision`, `token`, `cache_dir`, `local_files_only`, ...).

        Returns:
            A `CiTrusModel` with that modality's config and every one of its tensors from the checkpoint; save it
            with `save_pretrained` to fine-tune or publish it like any CiTrus encoder.
        """
        config = CiTrusFusionConfig.from_pretrained(pretrained_model_name_or_path, **kwargs)
        if modality not in config.modality_configs:
            raise UnknownNameError(
                f"The fusion checkpoint {str(pretrained_model_name_or_path)!r} has no modality {modality!r}; its "
                f"modalities are {config.modalities}."
            )
        saved_class = next(
            (task_class for task_class in _TASK_CLASSES if task_class.__name__ in (config.architectures or [])),
            CiTrusFusionForSequenceClassification,
        )
        # replace_head: a checkpoint whose `architectures` name no fusion class; only its encoder is wanted
        model = saved_class.from_pretrained(pretrained_model_name_or_path, config=config, replace_head=True, **kwargs)
        return model.encoders[modality].eval()

    # ------------------------------------------------------------------------------------------------ forward

    def _check_inputs(self, input_values, patch_mask) -> None:
        if not isinstance(input_values, Mapping):
            raise TypeError(
                f"`input_values` of a fusion model is a dict modality -> tensor (batch, channels, time), e.g. "
                f"input_values={{{', '.join(repr(m) + ': ...' for m in self.modalities)}}}; got "
                f"{type(input_values).__name__}. CiTrusFusionProcessor produces it."
            )
        check_modality_names(input_values, self.modalities, "input_values")
        if patch_mask is not None:
            if not isinstance(patch_mask, Mapping):
                raise TypeError("`patch_mask` of a fusion model is a dict modality -> (batch, num_patches) tensor.")
            unknown = sorted(str(m) for m in set(patch_mask) - set(self.modalities))
            if unknown:
                raise ValueError(f"`patch_mask` names unknown modalities {unknown}; this model has {self.modalities}.")
        sizes = {m: v.shape[0] for m, v in input_values.items() if isinstance(v, torch.Tensor) and v.dim() > 0}
        if len(set(sizes.values())) > 1:
            raise ValueError(
                f"Every modality needs the same batch size (one window per example and modality), got {sizes}."
            )

    def embed(
        self, input_values: Mapping[str, torch.Tensor], patch_mask: Mapping[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The fused embedding: every modality's pooled (and normalised) embedding, concatenated.

        Args:
            input_values: modality -> `(batch_size, num_channels, time)` windows aligned to that encoder's contract.
            patch_mask: modality -> `(batch_size, num_patches)`, 0 marking padding patches; optional per modality.

        Returns:
            `(batch_size, embedding_size)`, the modalities in `self.modalities` order.
        """
        self._check_inputs(input_values, patch_mask)
        patch_mask = patch_mask or {}
        embeddings = []
        for name in self.modalities:
            mask = patch_mask.get(name)
            advice = [
                (INPUT_NAME, f"`input_values[{name!r}]`"),
                (LONG_INPUT_ADVICE, _FUSION_LONG_INPUT_ADVICE),
                (CHANNEL_COUNT_ADVICE, _FUSION_CHANNEL_COUNT_ADVICE),
            ]
            tokens = [(variable, variable.set(value)) for variable, value in advice]
            try:
                # every layer's states where the modality's pooler reads them (`head_features="all_layers"`, what the
                # probe and LP-FT recipes save): without them it had the CNN tokens alone, of another width
                all_layers = self.config.modality_configs[name].head_features == "all_layers"
                outputs = self.encoders[name](
                    input_values[name], patch_mask=mask, output_hidden_states=all_layers, return_dict=True
                )
                pooled = self.poolers[name](outputs, mask)  # (B, size of this modality)
            except (ValueError, TypeError) as error:
                # the encoder's own message, which knows nothing of modalities, and advice for its own extractor
                hint = (
                    " (CiTrusFusionProcessor aligns every modality)" if "CiTrusFeatureExtractor" in str(error) else ""
                )
                raise type(error)(f"modality {name!r}: {error}{hint}") from error
            finally:
                for variable, token in tokens:
                    variable.reset(token)
            if self.embedding_norms is not None:
                pooled = self.embedding_norms[name](pooled)
            embeddings.append(pooled)
        return torch.cat(embeddings, dim=-1)  # (B, embedding_size)


class CiTrusFusionForSequenceClassification(_ClassifierLoss, CiTrusFusionPreTrainedModel):
    """CiTrus fusion with a linear classifier on the concatenated embeddings (single-label, multi-label, or
    regression via `config.problem_type`, as in transformers)."""

    head_name = "classifier"
    outputs_field = "num_labels"

    def forward(
        self,
        input_values: Mapping[str, torch.Tensor] | None = None,
        labels: torch.Tensor | None = None,
        patch_mask: Mapping[str, torch.Tensor] | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> SequenceClassifierOutput | tuple:
        r"""
        Args:
            input_values (`dict[str, torch.FloatTensor]`): modality -> `(batch_size, num_channels, time)` windows,
                each aligned to its encoder's contract (`CiTrusFusionProcessor` does it). Keywords work too:
                `model(ecg=..., eda=...)`.
            labels (`torch.LongTensor` of shape `(batch_size,)`, or `(batch_size, num_labels)` floats for
                multi-label): targets; the loss is returned first when given.
            patch_mask (`dict[str, torch.Tensor]`, *optional*): modality -> `(batch_size, num_patches)`, 0 marking
                padding patches.

        Returns `logits` of shape `(batch_size, num_labels)`.

        Example:

        ```python
        >>> import torch
        >>> from citrus_hf import CiTrusConfig
        >>> from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
        >>> from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
        >>> config = CiTrusFusionConfig(
        ...     modality_configs={"ecg": CiTrusConfig(context_length=400), "resp": CiTrusConfig(context_length=200)},
        ...     num_labels=2,
        ... )
        >>> model = CiTrusFusionForSequenceClassification(config)
        >>> inputs = {"ecg": torch.randn(3, 1, 400), "resp": torch.randn(3, 1, 200)}
        >>> model(input_values=inputs, labels=torch.tensor([0, 1, 1])).logits.shape
        torch.Size([3, 2])

        ```
        """
        input_values = modality_keywords(input_values, kwargs, self.modalities, "input_values", _FORWARD_OPTIONS)
        _reject_unsupported_outputs(self.config, kwargs)
        _reject_text_kwargs(kwargs)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        logits = run_task_head(self.classifier, self.dropout(self.embed(input_values, patch_mask)))  # (B, num_labels)
        self._check_head_width()
        # The single-encoder classifier's loss (problem-type inference, label checks, the regression head's start)
        # applies unchanged: it reads only `config.num_labels` and `config.problem_type`, which the fusion config has too.
        loss = None if labels is None else self.compute_loss(logits, labels)
        if not return_dict:
            return (loss, logits) if loss is not None else (logits,)
        return SequenceClassifierOutput(loss=loss, logits=logits)


class CiTrusFusionForRegression(_RegressorLoss, CiTrusFusionPreTrainedModel):
    """CiTrus fusion with a linear regressor on the concatenated embeddings: `config.num_targets` outputs."""

    head_name = "regressor"
    outputs_field = "num_targets"

    def forward(
        self,
        input_values: Mapping[str, torch.Tensor] | None = None,
        labels: torch.Tensor | None = None,
        patch_mask: Mapping[str, torch.Tensor] | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CiTrusRegressionOutput | tuple:
        r"""
        Args:
            input_values (`dict[str, torch.FloatTensor]`): modality -> `(batch_size, num_channels, time)` windows
                (or one keyword per modality: `model(ecg=..., ppg=...)`).
            labels (`torch.FloatTensor` of shape `(batch_size,)` or `(batch_size, num_targets)`, *optional*):
                targets; the mean squared error is returned first when given.
            patch_mask (`dict[str, torch.Tensor]`, *optional*): modality -> `(batch_size, num_patches)`.

        Returns `logits` (the predictions) of shape `(batch_size, num_targets)`.

        Example:

        ```python
        >>> import torch
        >>> from citrus_hf import CiTrusConfig
        >>> from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
        >>> from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression
        >>> config = CiTrusFusionConfig(
        ...     modality_configs={"ecg": CiTrusConfig(context_length=400), "ppg": CiTrusConfig(context_length=200)}
        ... )
        >>> model = CiTrusFusionForRegression(config)
        >>> inputs = {"ecg": torch.randn(2, 1, 400), "ppg": torch.randn(2, 1, 200)}
        >>> heart_rates = torch.tensor([61.0, 75.5])
        >>> model.init_regressor_bias(heart_rates)  # start at the targets' mean (a new head predicts about 0)
        >>> model(input_values=inputs, labels=heart_rates).loss.backward()

        ```
        """
        input_values = modality_keywords(input_values, kwargs, self.modalities, "input_values", _FORWARD_OPTIONS)
        _reject_unsupported_outputs(self.config, kwargs)
        _reject_text_kwargs(kwargs)
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        logits = run_task_head(self.regressor, self.dropout(self.embed(input_values, patch_mask)))  # (B, num_targets)
        self._check_head_width()
        loss = None if labels is None else self.compute_loss(logits, labels)
        if not return_dict:
            return (loss, logits) if loss is not None else (logits,)
        return CiTrusRegressionOutput(loss=loss, logits=logits)


# ----------------------------------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------------------------------


def _reject_unsupported_outputs(config: CiTrusFusionConfig, kwargs: dict) -> None:
    """Take transformers' `output_hidden_states` / `output_attentions` (peft's sequence-classification wrapper
    passes them, as None) and refuse them only when asked for: a fusion model's output is its heads' logits. A call
    that leaves one None takes the config's, as transformers models do, so one set there
    (`from_pretrained(..., output_hidden_states=True)`) is refused too rather than ignored without a word."""
    for name in ("output_hidden_states", "output_attentions"):
        asked = kwargs.pop(name, None)
        source = f"`{name}=True`"
        if asked is None:
            asked, source = getattr(config, name, False), f"`config.{name}=True`"
        if asked:
            unset = f" (set `model.config.{name} = False`)" if source.startswith("`config.") else ""
            raise ValueError(
                f"{source}: a CiTrus fusion model returns its head's output only{unset}; call one of its encoders for "
                f"per-layer outputs: `model.encoders[modality](input_values[modality], {name}=True)`."
            )


def _fusion_dtype(config_kwargs: dict) -> torch.dtype | None:
    """The `dtype` (or `torch_dtype`) that `from_encoders` was given, taken out of `config_kwargs`: a loading option,
    not a setting of the config; None for none or `"auto"` (the encoders' own dtype).

    Raises:
        ValueError: `dtype` and `torch_dtype` (transformers' older name of the same option) both given, with
            different values: which one was meant is the caller's to say.
    """
    check_dtype_keywords("from_encoders", config_kwargs)
    given = {name: config_kwargs.pop(name) for name in ("dtype", "torch_dtype") if name in config_kwargs}
    value = next((value for value in given.values() if value is not None), None)
    if value is None or value == "auto":
        return None
    check_config_dtype("dtype", value)
    return getattr(torch, value) if isinstance(value, str) else value


def _as_citrus_encoder(name: str, source, loading_kwargs: dict) -> CiTrusModel:
    """The `CiTrusModel` behind `source`: a checkpoint name / path, a `CiTrusModel`, or a CiTrus task model."""
    if isinstance(source, (str, os.PathLike)):
        try:
            return CiTrusModel.from_pretrained(source, **loading_kwargs)
        except (ValueError, OSError) as error:
            # CiTrus' own refusal (a fusion checkpoint, another model) or the Hub's (no such folder or repo, no
            # network): the message alone does not say which of the encoders it is about, nor always the path
            path = os.fspath(source)
            message = f"encoder {name!r}: " + ("" if path in str(error) else f"loading {path!r}: ") + str(error)
            try:
                renamed = type(error)(message)
            except Exception:  # an exception class that wants more than a message (some Hub errors)
                renamed = (ValueError if isinstance(error, ValueError) else OSError)(message)
            raise renamed from error
    if isinstance(source, CiTrusModel):
        return source
    if isinstance(source, CiTrusPreTrainedModel) and isinstance(getattr(source, "citrus", None), CiTrusModel):
        return source.citrus
    if isinstance(source, CiTrusFusionPreTrainedModel):
        # the peft advice below does not apply: a fusion model holds encoders, it is none
        pick = name if name in source.modalities else source.modalities[0]
        raise TypeError(
            f"encoder {name!r}: a CiTrus fusion model ({type(source).__name__}, modalities {source.modalities}) is not "
            f"an encoder; pass one of its encoders, `fusion_model.encoders[{pick!r}]`, or load one from a saved "
            f"fusion checkpoint with `{type(source).__name__}.load_encoder(folder, {pick!r})`."
        )
    raise TypeError(
        f"encoder {name!r}: expected a CiTrus checkpoint (path or Hub repo id) or a CiTrus model, got "
        f"{type(source).__name__}. With peft, merge the adapters first (`merge_and_unload()`)."
    )


# the task classes a saved fusion checkpoint's `architectures` may name (`load_encoder`)
_TASK_CLASSES = (CiTrusFusionForSequenceClassification, CiTrusFusionForRegression)

# `save_pretrained` copies this file and the CiTrus files it imports next to the weights and writes `auto_map`, so
# `AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True)` works without citrus_hf.
CiTrusFusionForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
# The package's time-series regression Auto class (see `CiTrusForRegression._auto_class` in modeling_citrus).
CiTrusFusionForRegression._auto_class = "AutoModelForTimeSeriesRegression"

__all__ = [
    "CiTrusFusionPreTrainedModel",
    "CiTrusFusionForSequenceClassification",
    "CiTrusFusionForRegression",
]
