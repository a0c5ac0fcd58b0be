"""Processor of CiTrus fusion models: every modality's recording goes to its own feature extractor.

Each encoder of a fusion model has its own input contract (sampling rate, window, channels, normalisation), so each
modality has its own `CiTrusFeatureExtractor`. `CiTrusFusionProcessor` holds one per modality, routes every
recording to its extractor, and returns the dictionaries a fusion model takes:
`{"input_values": {modality: (B, C, T)}, "patch_mask": {modality: (B, P)}}`. It saves as one
`processor_config.json` next to the model and loads back with `CiTrusFusionProcessor.from_pretrained` (or
`AutoProcessor.from_pretrained(..., trust_remote_code=True)`).

The model cannot tell a window aligned to another contract (a 2 s window at 40 Hz has the shape of a 4 s one at
20 Hz), so the processor is checked against the encoders where the two meet: loading it from a folder or repository
that also holds the model's `config.json` checks it against that config, and `processor.check_model(model)` checks a
processor loaded from elsewhere.

`CiTrusFusionDataCollator` batches dataset rows of the same layout for the `Trainer`.

Shipped as remote code too: imports only numpy, torch, transformers and, relatively, the CiTrus files.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from transformers.data.data_collator import DataCollatorWithPadding, default_data_collator
from transformers.dynamic_module_utils import custom_object_save
from transformers.feature_extraction_utils import BatchFeature
from transformers.utils import (
    CONFIG_NAME,
    FEATURE_EXTRACTOR_NAME,
    PROCESSOR_NAME,
    PushToHubMixin,
    cached_file,
    logging,
    safe_load_json_file,
)
from transformers.utils.hub import hf_api

from ._version import VERSION_KEY, newer_citrus_hf, newer_settings_message
from .configuration_citrus import (
    DOWNLOAD_ARGUMENTS,
    CiTrusConfig,
    SerialisesBeforeWriting,
    check_checkpoint_reference,
    check_loading_options,
    check_save_directory,
    checkpoint_read,
    file_for_folder_error,
    misspelt_names,
    newer_settings_unsaid,
    not_a_field_error,
    offline_cache_lacks,
    positional_loading_options,
    refuse_second_run,
    uncached_offline_error,
)
from .configuration_citrus_fusion import (
    FUSION_CHANNEL_COUNT_FIX,
    CiTrusFusionConfig,
    check_modality_names,
    modality_keywords,
)
from .feature_extraction_citrus import (
    CONCAT_CHANNELS_ADVICE,
    LONG_RECORDING_ADVICE,
    CiTrusFeatureExtractor,
    check_numeric_labels,
    keyword_names,
    row_value_as_numpy,
    stack_row_values,
)
from .vocabulary_citrus import COLLATED_LABEL_COLUMNS

refuse_second_run(globals())  # before anything is defined: see its docstring

logger = logging.get_logger(__name__)

_MODALITY_NAME = re.compile(r"^[A-Za-z0-9_]+$")
# Modalities of one example whose durations (samples / rate) differ by more than this share of the longest are
# reported: a rate given for the wrong modality (one rate for devices that differ) reads seconds as fractions of them.
_DURATION_MISMATCH = 0.1
# The extractors' advice for a recording longer than the window, while the fusion processor runs them.
_FUSION_LONG_RECORDING_ADVICE = (
    "A fusion model's modalities must stay aligned in time: cut the recordings into time-aligned windows first (the "
    "same start and duration in seconds for every modality) and process each window."
)


class ModalityTensors(dict):
    """A dict modality -> tensor that also answers `numel()` (the total over modalities).

    The `Trainer` estimates the work of a step as `inputs["input_values"].numel()`; with one tensor per modality
    that value is a dictionary, so the processor and the collator return this one. The model accepts any mapping.
    """

    def numel(self) -> int:
        return sum(int(value.numel()) for value in self.values())


class CiTrusFusionBatch(BatchFeature):
    """A `BatchFeature` whose values are dictionaries modality -> tensor; `.to(...)` moves the nested tensors too."""

    def to_columns(self) -> dict[str, list[dict[str, np.ndarray]]]:
        """The batch as dataset columns: `{"input_values": [{modality: (channels, time)}, ...], "patch_mask": [...]}`,
        one dict per example: what `datasets.Dataset.map(..., batched=True)` stores as struct columns and
        `CiTrusFusionDataCollator` batches again. `padding="max_length"` gives every row the encoders' full windows:
        by default (`"longest"`) each `map` batch is as long as its longest recording, and the collator refuses rows
        of different lengths from different batches.

        ```python
        dataset = dataset.map(
            lambda rows: processor({"ecg": rows["ecg"], "eda": rows["eda"]}, sampling_rate={"ecg": 250, "eda": 32},
                                   padding="max_length", return_tensors="np").to_columns(),
            batched=True, remove_columns=["ecg", "eda"],
        )
        ```
        """
        columns = {}
        for key, per_modality in self.items():
            arrays = {
                m: np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v) for m, v in per_modality.items()
            }
            size = len(next(iter(arrays.values())))
            columns[key] = [{m: values[index] for m, values in arrays.items()} for index in range(size)]
        return columns

    def to(self, *args, **kwargs) -> CiTrusFusionBatch:
        """Send every (nested) tensor to a device or cast floating-point tensors, like `BatchFeature.to`."""
        self.data = {
            key: ModalityTensors({m: BatchFeature({"v": v}).to(*args, **kwargs)["v"] for m, v in value.items()})
            if isinstance(value, Mapping)
            else BatchFeature({"v": value}).to(*args, **kwargs)["v"]
            for key, value in self.items()
        }
        return self


class CiTrusFusionProcessor(SerialisesBeforeWriting, PushToHubMixin):
    r"""
    One `CiTrusFeatureExtractor` per modality of a fusion model; routes each modality's recordings to its own.

    Args:
        feature_extractors (`dict[str, CiTrusFeatureExtractor]`): modality name -> its feature extractor. Build them
            from the encoders the model was built from with `CiTrusFusionProcessor.from_encoders(encoders)` (each
            encoder's saved extractor), or from the model's config alone with `from_config(model.config)`.

    Example:

    ```python
    >>> import numpy as np
    >>> from citrus_hf import CiTrusConfig
    >>> from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    >>> from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor
    >>> config = CiTrusFusionConfig(
    ...     modality_configs={
    ...         "ecg": CiTrusConfig(sampling_rate=100, context_length=1000),
    ...         "eda": CiTrusConfig(sampling_rate=20, context_length=200, patch_length=10, spectrogram_n_fft=20),
    ...     }
    ... )
    >>> processor = CiTrusFusionProcessor.from_config(config)
    >>> rng = np.random.default_rng(0)
    >>> recordings = {"ecg": rng.standard_normal((4, 1, 10_000)), "eda": rng.standard_normal((4, 1, 10_000))}
    >>> batch = processor(recordings, sampling_rate=1000)  # both recorded at 1 kHz; or {"ecg": 1000, "eda": 32}
    >>> batch["input_values"]["ecg"].shape, batch["input_values"]["eda"].shape
    (torch.Size([4, 1, 1000]), torch.Size([4, 1, 200]))

    ```
    """

    _auto_class: str | None = None
    records_citrus_version = True  # processor_config.json names the citrus-hf that wrote it (`_from_saved` reads it)
    # The inputs the processor returns, named as transformers processors and `CiTrusFeatureExtractor` name theirs
    # (here each value is a dict modality -> tensor): transformers' `Trainer` reads `model_input_names[0]`, e.g. to
    # measure rows for `group_by_length`, and stopped with an AttributeError without it.
    model_input_names = list(CiTrusFeatureExtractor.model_input_names)

    def __init__(self, feature_extractors: Mapping[str, CiTrusFeatureExtractor]):
        if not isinstance(feature_extractors, Mapping) or not feature_extractors:
            raise ValueError(
                "`feature_extractors` must be a non-empty dict modality -> CiTrusFeatureExtractor; build it from "
                "the model with CiTrusFusionProcessor.from_config(model.config)."
            )
        for name, extractor in feature_extractors.items():
            if not isinstance(name, str) or not _MODALITY_NAME.match(name):
                raise ValueError(
                    f"modality name {name!r} is not usable: use letters, digits and underscores, as the model does."
                )
            if not isinstance(extractor, CiTrusFeatureExtractor):
                raise TypeError(
                    f"modality {name!r}: expected a CiTrusFeatureExtractor, got {type(extractor).__name__}."
                )
        self.feature_extractors = dict(sorted(feature_extractors.items()))

    @classmethod
    def from_config(cls, config: CiTrusFusionConfig, **extractor_kwargs) -> CiTrusFusionProcessor:
        """One extractor per modality from a fusion config (`model.config`), each matching its encoder's contract.

        `extractor_kwargs` (e.g. `nan_policy="interpolate"`) apply to every extractor.

        A modality whose pooler concatenates channels (`channel_pooling="concat"`) takes exactly its `num_channels`,
        and its extractor refuses other counts, whatever the encoder's saved `architectures`: the single-modality
        extractor takes any count for a pre-training checkpoint's config (`fixes_channel_count`), which
        `from_encoders` keeps, but the fusion model pools every modality with its own head.
        """
        if not isinstance(config, CiTrusFusionConfig):
            raise TypeError(f"expected a CiTrusFusionConfig (a fusion model's `config`), got {type(config).__name__}.")
        return cls(
            {
                name: CiTrusFeatureExtractor.from_config(
                    sub_config, **{"channel_independent": _takes_any_channel_count(sub_config), **extractor_kwargs}
                )
                for name, sub_config in config.modality_configs.items()
            }
        )

    @classmethod
    def from_encoders(
        cls,
        encoders: Mapping[str, str | os.PathLike | Any],
        encoder_loading_kwargs: Mapping[str, object] | None = None,
        **extractor_kwargs,
    ) -> CiTrusFusionProcessor:
        """The processor of a fusion model built from `encoders` (the mapping given to
        `CiTrusFusionForSequenceClassification.from_encoders`): each modality's extractor is the one saved with its
        encoder, so the fusion model aligns and normalises a modality as that encoder's own pipeline does.

        `from_config(model.config)` sees the encoders' configs alone and rebuilds every extractor from them: a
        fine-tuned encoder's saved alignment ("interpolate": rows stretched onto the window), NaN policy, hop and
        normalisation statistics were dropped, and the fusion model saw the first 2 s of 10 s rows.

        Args:
            encoders: modality name -> a CiTrus checkpoint (folder or Hub repo id) or a loaded CiTrus model. A
                checkpoint's `preprocessor_config.json` is read, and for a loaded model that of the folder or Hub
                repository it was loaded from (its `name_or_path`, at the commit it was loaded from), as
                `pipeline(model=model)` finds one; an encoder without one (a
                model built in memory, a checkpoint saved without an extractor) gets `CiTrusFeatureExtractor.from_config`
                of its config.
            encoder_loading_kwargs: Hub arguments for checkpoints given by name (`revision`, `token`, ...).
            **extractor_kwargs: settings for every extractor (e.g. `nan_policy="interpolate"`).

        Raises:
            ValueError: a saved extractor that aligns windows otherwise than its encoder's config takes them (another
                rate, window, patch length or normalisation: an edited file, or an encoder loaded with overrides).
        """
        if not isinstance(encoders, Mapping) or not encoders:
            raise ValueError(
                "`encoders` must be a non-empty dict modality -> CiTrus checkpoint or model, as given to "
                "CiTrusFusionForSequenceClassification.from_encoders."
            )
        loading = dict(encoder_loading_kwargs or {})
        extractors = {}
        for name, source in encoders.items():
            if isinstance(source, (str, os.PathLike)):
                config, folder = CiTrusConfig.from_pretrained(source, **loading), source
                lookup = loading
            else:
                config = getattr(source, "config", None)
                if not isinstance(config, CiTrusConfig):
                    raise TypeError(
                        f"encoder {name!r}: expected a CiTrus checkpoint (path or Hub repo id) or a CiTrus model, got "
                        f"{type(source).__name__}."
                    )
                folder, lookup = _loaded_from(source, loading)
            settings = {"channel_independent": _takes_any_channel_count(config), **extractor_kwargs}
            saved = folder is not None and _saved_extractor_file(folder, lookup)
            if not saved:
                extractors[name] = CiTrusFeatureExtractor.from_config(config, **settings)
                continue
            extractor = CiTrusFeatureExtractor.from_pretrained(folder, **lookup, **settings)
            differ = _contract_differences(extractor, config)
            if differ:
                raise ValueError(
                    f"encoder {name!r}: the feature extractor saved in {os.fspath(folder)!r} does not align recordings "
                    f"to its encoder ({'; '.join(differ)}); save the extractor with the encoder, or build the "
                    "processor with CiTrusFusionProcessor.from_config(model.config)."
                )
            extractors[name] = extractor
        return cls(extractors)

    @property
    def modalities(self) -> list[str]:
        """Modality names (sorted, as in the model)."""
        return list(self.feature_extractors)

    def check_model(self, model: Any) -> None:
        """Refuse this processor for a fusion model (or its config) whose encoders take other windows: other
        modalities, or a modality's extractor with another sampling rate, window, patch length, normalisation or
        (where the modality's pooling concatenates channels) channel count, or one that passes any channel count there. The model cannot notice: such windows run and
        score wrong. `from_pretrained` runs this against the `config.json` stored with the processor; call it for a
        processor and a model loaded from different places."""
        config = getattr(model, "config", model)
        # by model type, not class: loaded as a local folder's remote code, the model's config class and this file's
        # are copies of one file in two modules (transformers keeps each remote file with its imports apart), and the
        # remote pipeline's check of the two refused its own checkpoint
        if getattr(config, "model_type", None) != CiTrusFusionConfig.model_type:
            raise TypeError(f"expected a CiTrus fusion model or its config, got {type(model).__name__}.")
        if self.modalities != config.modalities:
            raise ValueError(
                f"This processor aligns the modalities {self.modalities} and the model takes {config.modalities}; "
                "use the processor saved with the model, or CiTrusFusionProcessor.from_config(model.config)."
            )
        differ = [
            f"{name}: {difference}"
            for name, extractor in self.feature_extractors.items()
            for difference in _contract_differences(extractor, config.modality_configs[name])
        ]
        if differ:
            raise ValueError(
                f"The processor does not align recordings to this model's encoders: {'; '.join(differ)}. Use the "
                "processor saved with the model, or CiTrusFusionProcessor.from_config(model.config)."
            )

    def __call__(
        self,
        recordings: Mapping[str, Any] | None = None,
        sampling_rate: float | Mapping[str, float | Sequence[float]] | None = None,
        *,
        return_tensors: str | None = "pt",
        **kwargs,
    ) -> CiTrusFusionBatch:
        """
        Align and normalise one batch of multimodal recordings.

        Args:
            recordings: modality -> that modality's recordings, in any layout its `CiTrusFeatureExtractor` accepts
                (one recording `(channels, time)`, a batch `(batch, channels, time)`, or a list). Every modality of
                the model is required, each with the same number of recordings: recording `i` of every modality
                belongs to example `i`. The modalities may also come as keywords, as transformers' multimodal
                processors take theirs: `processor(ecg=ecg, eda=eda, sampling_rate=...)`.
            sampling_rate: Hz, one number for every modality (recorded by one device), or a dict modality -> rate
                (one number, or one per recording).
            return_tensors: `"pt"` (default), `"np"` or `None`.
            **kwargs: feature-extractor options (`alignment`, `nan_policy`, `input_channel_names`, ...); a value may
                be a dict modality -> value to set it per modality. `alignment="window"` is refused: windows of
                different modalities would not line up in time; so is one `max_length` (model samples) where the
                encoders' rates differ: give a dict of the same seconds in each (`{'ecg': 100, 'eda': 20}` for 1 s at
                100 Hz and 20 Hz).

        Returns:
            `CiTrusFusionBatch` with `input_values` (modality -> `(batch, channels, time)` float32) and
            `patch_mask` (modality -> `(batch, num_patches)` int64); `model(**batch)` works. `time` is the
            modality's `context_length` with `padding="max_length"`; by default (`"longest"`, as the extractor)
            recordings shorter than the window keep their duration at the encoder's rate, in whole patches, and
            `time` is the batch's longest (2 s recordings for 10 s encoders at 100 Hz: 200 samples; 6 s ones, 600).
        """
        extractor_options = _extractor_call_options()
        recordings = modality_keywords(recordings, kwargs, self.modalities, "recordings", extractor_options)
        if not isinstance(recordings, Mapping):
            raise TypeError(
                f"`recordings` must be a dict modality -> recordings, e.g. {{{', '.join(repr(m) + ': ...' for m in self.modalities)}}}; "
                f"got {type(recordings).__name__}."
            )
        self._check_modalities(recordings, "recordings")
        if sampling_rate is None:
            raise ValueError(
                "`sampling_rate` is required: the rate of your recordings in Hz, one number for every modality or a "
                f"dict per modality, e.g. sampling_rate={{{', '.join(repr(m) + ': 1000' for m in self.modalities)}}}."
            )
        if isinstance(sampling_rate, Mapping):
            self._check_modalities(sampling_rate, "sampling_rate")
        elif isinstance(sampling_rate, (list, tuple)) or (
            isinstance(sampling_rate, (np.ndarray, torch.Tensor)) and sampling_rate.ndim > 0
        ):
            # one list for every modality would be read as rates per recording, the same in every modality
            raise TypeError(
                "`sampling_rate` is one number for every modality, or a dict modality -> rate (a number, or one per "
                f"recording), e.g. sampling_rate={{{', '.join(repr(m) + ': 250' for m in self.modalities)}}}; got a "
                f"{type(sampling_rate).__name__}."
            )
        stray = sorted(key for key in kwargs if key not in extractor_options)
        if stray:
            # every other keyword goes to each modality's extractor, which would blame the first modality for it
            raise TypeError(
                f"{stray} {'is' if len(stray) == 1 else 'are'} neither a modality of this processor ({self.modalities}: "
                "check the spelling, or use a model with those modalities) nor a feature-extractor option "
                f"({', '.join(sorted(extractor_options))})."
            )
        options = _checked_per_modality(kwargs, self.modalities)
        self._check_one_max_length(options.get("max_length"))
        alignments = options.get("alignment")
        alignments = alignments.values() if isinstance(alignments, Mapping) else [alignments]
        if "window" in alignments or any(fx.alignment == "window" for fx in self.feature_extractors.values()):
            raise ValueError(
                "alignment='window' cuts each modality on its own, so windows of different modalities would not line "
                "up in time. Cut the recordings into time-aligned windows first (same start and duration in seconds "
                "for every modality), then call the processor with alignment='resample'."
            )

        input_values, patch_mask, durations = {}, {}, {}
        advice = [
            (LONG_RECORDING_ADVICE, LONG_RECORDING_ADVICE.set(_FUSION_LONG_RECORDING_ADVICE)),
            (CONCAT_CHANNELS_ADVICE, CONCAT_CHANNELS_ADVICE.set(FUSION_CHANNEL_COUNT_FIX)),
        ]
        try:
            for name, extractor in self.feature_extractors.items():
                rate = sampling_rate[name] if isinstance(sampling_rate, Mapping) else sampling_rate
                modality_options = _modality_values(options, name)
                try:
                    features = extractor(
                        recordings[name], sampling_rate=rate, return_tensors=return_tensors, **modality_options
                    )
                    durations[name] = _durations(extractor, recordings[name], rate)
                except (ValueError, TypeError) as error:
                    raise type(error)(f"modality {name!r}: {error}") from error
                input_values[name] = features["input_values"]
                patch_mask[name] = features["patch_mask"]
        finally:
            for variable, token in advice:
                variable.reset(token)
        sizes = {name: len(values) for name, values in input_values.items()}
        if len(set(sizes.values())) > 1:
            raise ValueError(
                f"Every modality needs the same number of recordings (recording i of each modality is example i), "
                f"got {sizes}."
            )
        _warn_of_unaligned_durations(durations)
        return CiTrusFusionBatch(
            {"input_values": ModalityTensors(input_values), "patch_mask": ModalityTensors(patch_mask)}
        )

    def _check_modalities(self, given: Mapping, what: str) -> None:
        check_modality_names(given, self.modalities, what)

    def _check_one_max_length(self, max_length: Any) -> None:
        """Refuse one `max_length` (model samples) for encoders of different rates: it is a different span in each
        modality (60 samples: 0.6 s of ECG at 100 Hz, 3 s of EDA at 20 Hz), so the windows of an example stopped lining
        up in time without a word. A dict modality -> samples sets each its own; one number stays taken where every
        encoder has the same rate.

        Raises:
            ValueError: a single number and encoders of different rates, naming the dict of the same seconds.
        """
        rates = {name: float(extractor.sampling_rate) for name, extractor in self.feature_extractors.items()}
        if max_length is None or isinstance(max_length, Mapping) or len(set(rates.values())) < 2:
            return
        if (
            isinstance(max_length, bool)
            or not isinstance(max_length, numbers.Real)
            or not (max_length > 0 and float(max_length).is_integer())
        ):
            # no length at all ("60", True, 0, 60.5): each extractor refuses it naming what is wrong, where the
            # arithmetic below failed in Python's words or advised a dict of the same seconds
            return
        spans = ", ".join(f"{name} {max_length / rate:g} s" for name, rate in rates.items())
        seconds = max_length / next(iter(rates.values()))
        same = _common_max_length(self.feature_extractors, seconds)
        example = (
            f"e.g. max_length={same} ({next(iter(same.values())) / next(iter(rates.values())):g} s each, the span "
            f"nearest {seconds:g} s in whole patches of every encoder)"
            if same
            else "each a whole number of its encoder's patches"
        )
        raise ValueError(
            f"max_length={max_length} is model samples in each modality, and the encoders sample at different rates "
            f"({', '.join(f'{name} {rate:g} Hz' for name, rate in rates.items())}): {spans}, so the modalities of an "
            f"example would not line up in time; give each modality its own as a dict, {example}."
        )

    # ------------------------------------------------------------------------------------------------ saving

    def to_dict(self) -> dict[str, Any]:
        """JSON-able description: every extractor's own dictionary, by modality, and this class as the checkpoint's
        processor (`processor_class`, as transformers' processors write it). `AutoProcessor.from_pretrained` reads it
        first, so a folder with the processor alone (no config.json beside it) loads this class at once; without it,
        transformers turned the file's `auto_map` into a remote-code reference and asked "Do you wish to run the
        custom code? [y/N]", as it did for the single-modality extractor (`CiTrusFeatureExtractor.to_dict`)."""
        output = {
            "processor_type": type(self).__name__,
            "processor_class": type(self).__name__,
            "feature_extractors": {name: fx.to_dict() for name, fx in self.feature_extractors.items()},
        }
        if self._auto_class is not None:
            output["auto_map"] = {self._auto_class: f"{type(self).__module__.split('.')[-1]}.{type(self).__name__}"}
        return output

    def to_json_string(self) -> str:
        """`to_dict` as the JSON text `save_pretrained` writes to processor_config.json (`to_json_file` writes it to
        any file), as transformers' processors give it."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, processor_dict: Mapping[str, Any]) -> CiTrusFusionProcessor:
        """Inverse of `to_dict` (also of the processor_config.json `save_pretrained` writes)."""
        return cls._from_saved(processor_dict, f"this {PROCESSOR_NAME}")

    @classmethod
    def _from_saved(
        cls, processor_dict: Mapping[str, Any], where: str, settings: Mapping[str, Any] | None = None
    ) -> CiTrusFusionProcessor:
        """`from_dict`, naming the file as `where` in its warnings. Each modality's saved extractor is checked as the
        extractor's own file is (`CiTrusFeatureExtractor._checked_saved_settings`), as written by the citrus-hf that
        the processor's file records (`_version.VERSION_KEY`): a newer one's settings are named as such, not as
        typos, and as of this file, not of a preprocessor_config.json the fusion folder does not hold. `settings`
        (extractor setting -> value, or a dict modality -> value) override the saved ones, as keywords of the
        extractor's own `from_pretrained` do."""
        extractors = processor_dict.get("feature_extractors") if isinstance(processor_dict, Mapping) else None
        if not isinstance(extractors, Mapping) or not extractors:
            raise ValueError(
                "This processor_config.json has no `feature_extractors` entry, so it was not saved by "
                "CiTrusFusionProcessor; load a fusion checkpoint's processor, or build one with from_config."
            )
        for name, values in extractors.items():
            if not isinstance(values, Mapping):
                raise ValueError(
                    f"The feature extractor of modality {name!r} in this processor_config.json is a "
                    f"{type(values).__name__}, not the settings a CiTrusFeatureExtractor saves; save the processor "
                    "again with save_pretrained, or build one with from_config(model.config)."
                )
        cls._say_unknown_settings(processor_dict, where)
        settings = _checked_per_modality(settings or {}, sorted(extractors))
        built = {}
        for name, values in extractors.items():
            overrides = _modality_values(settings, name)
            values = copy.deepcopy(dict(values))
            if "feature_extractor_type" in values:  # saved (`to_dict` writes it): checked as a saved file is
                if VERSION_KEY in processor_dict:
                    values[VERSION_KEY] = processor_dict[VERSION_KEY]
                values, _ = CiTrusFeatureExtractor._checked_saved_settings(values, {}, f"{where} (modality {name!r})")
                values[CiTrusFeatureExtractor._CHECKED_MARK] = True
            built[name] = CiTrusFeatureExtractor.from_dict(values, **overrides)
        return cls(built)

    @classmethod
    def _say_unknown_settings(cls, processor_dict: Mapping[str, Any], where: str) -> None:
        """Warn of the keys of a saved processor that `to_dict` does not write, which the load ignores (as the
        extractor's and the config's readers do, where they were ignored without a word): a newer citrus-hf's settings
        where that version wrote the file, else keys to correct or remove."""
        known = {"processor_type", "processor_class", "feature_extractors", "auto_map", VERSION_KEY}
        unknown = [repr(key) for key in sorted(processor_dict) if key not in known and not key.startswith("_")]
        if not unknown:
            return
        newer = newer_citrus_hf(processor_dict.get(VERSION_KEY))
        if newer:
            logger.warning(
                newer_settings_message(where, newer, unknown, "ignores them", "align recordings as that version does")
            )
        else:
            logger.warning(
                f"{where} has settings {cls.__name__} does not know, ignored: {', '.join(unknown)}. Correct or remove them."
            )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CiTrusFusionProcessor) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({json.dumps(self.to_dict()['feature_extractors'], indent=2, sort_keys=True)})"

    def save_pretrained(self, save_directory: str | os.PathLike, push_to_hub: bool = False, **kwargs) -> list[str]:
        """Write `processor_config.json` (and, when registered for an auto class, the code) to `save_directory`.

        With `push_to_hub=True`, upload it to `repo_id` (default: the folder's name), as transformers' processors do,
        with `token`; a new repository is created `private=True` when asked (a processor meant to stay private is not
        published in the open), and the files go to the branch `revision` or a pull request (`create_pr=True`).
        """
        check_save_directory(save_directory)
        save_directory = os.fspath(save_directory)
        os.makedirs(save_directory, exist_ok=True)
        if push_to_hub:
            commit_message = kwargs.pop("commit_message", None)
            repo_id = kwargs.pop("repo_id", os.path.basename(os.path.normpath(save_directory)))
            repo_id = (
                hf_api()
                .create_repo(repo_id, exist_ok=True, token=kwargs.get("token"), private=kwargs.get("private"))
                .repo_id
            )
            files_timestamps = self._get_files_timestamps(save_directory)
        if self._auto_class is not None:
            custom_object_save(self, save_directory)
        path = os.path.join(save_directory, PROCESSOR_NAME)
        self.to_json_file(path)
        if push_to_hub:
            self._upload_modified_files(
                save_directory,
                repo_id,
                files_timestamps,
                commit_message=commit_message,
                token=kwargs.get("token"),
                create_pr=kwargs.get("create_pr", False),
                revision=kwargs.get("revision"),
                commit_description=kwargs.get("commit_description"),
            )
        return [path]

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, *args, **kwargs
    ) -> CiTrusFusionProcessor:
        """Load a processor saved with `save_pretrained` from a local folder or a Hub repo.

        Where the model's `config.json` is stored with it (a fusion checkpoint), the processor is checked against
        the model's encoders (`check_model`): a processor that would align windows to another contract is refused.

        `kwargs` are Hub arguments (`revision`, `token`, `cache_dir`, `local_files_only`, `subfolder`, ...) and
        feature-extractor settings (`alignment="interpolate"`, `nan_policy=...`), which apply to every modality's
        extractor, or, given as a dict modality -> value, to the modalities it names (as in `__call__`). Any other
        misspelt setting is refused rather than dropped (the saved setting would stand where the caller asked for
        another), and any other keyword is ignored with a warning. `args`: the Hub arguments transformers'
        `from_pretrained` takes by position (`cache_dir`, `force_download`, `local_files_only`, `token`, `revision`).
        """
        positional_loading_options(f"{cls.__name__}.from_pretrained", args, kwargs)
        kwargs.pop("trust_remote_code", None)  # passed by AutoProcessor; the code is already loaded
        check_checkpoint_reference(pretrained_model_name_or_path)
        settings = _extractor_settings(kwargs)
        # (transformers: "Repo id must be in the form ...")
        if isinstance(pretrained_model_name_or_path, (str, os.PathLike)) and os.path.isfile(
            pretrained_model_name_or_path
        ):
            raise file_for_folder_error(pretrained_model_name_or_path, PROCESSOR_NAME)
        hub_kwargs = {k: v for k, v in kwargs.items() if k in DOWNLOAD_ARGUMENTS}
        path = cached_file(
            pretrained_model_name_or_path, PROCESSOR_NAME, _raise_exceptions_for_missing_entries=False, **hub_kwargs
        )
        if path is None:
            single = cached_file(
                pretrained_model_name_or_path,
                FEATURE_EXTRACTOR_NAME,
                _raise_exceptions_for_missing_entries=False,
                **hub_kwargs,
            )
            # offline, a file the Hub cache never held; not that of a single-modality checkpoint (its extractor
            # cached), which has none to download
            if single is None and offline_cache_lacks(pretrained_model_name_or_path, PROCESSOR_NAME, hub_kwargs):
                raise uncached_offline_error(
                    pretrained_model_name_or_path,
                    PROCESSOR_NAME,
                    hub_kwargs.get("revision"),
                    hub_kwargs.get("subfolder"),
                )
            raise OSError(
                f"{str(pretrained_model_name_or_path)!r} has no {PROCESSOR_NAME}, so it holds no fusion processor"
                + (
                    ": it is a single-modality checkpoint, whose CiTrusFeatureExtractor loads with "
                    "CiTrusFeatureExtractor.from_pretrained."
                    if single is not None
                    else "; build one from the fusion model with CiTrusFusionProcessor.from_config(model.config) and "
                    "save it next to the weights."
                )
            )
        try:
            values = safe_load_json_file(path)
        except OSError as error:  # transformers' "is not a valid JSON file", naming it: and the fix
            raise OSError(f"{error} Restore it, or save the processor again with save_pretrained.") from None
        shown = checkpoint_read(pretrained_model_name_or_path, hub_kwargs.get("subfolder"))
        processor = cls._from_saved(values, f"{shown!r}: its {PROCESSOR_NAME}", settings)
        model_config = cached_file(
            pretrained_model_name_or_path, CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **hub_kwargs
        )
        if model_config is not None:
            # read to check the processor against it: its newer-version warning is the model's load's to say
            with newer_settings_unsaid():
                config = CiTrusFusionConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
            processor._refuse_channel_counts_the_heads_refuse(config)
            processor.check_model(config)
        return processor

    def _refuse_channel_counts_the_heads_refuse(self, config: CiTrusFusionConfig) -> None:
        """Make the extractor of every modality whose pooler concatenates channels refuse other channel counts, in a
        processor saved with its model before `from_config` did so (an encoder from a pre-training checkpoint gave an
        extractor that passed any count, which the model then refused at the first batch): the model saved beside it
        says which count its head takes, so the saved processor still loads, and `check_model` still refuses one
        paired with another model."""
        for name, extractor in self.feature_extractors.items():
            sub_config = config.modality_configs.get(name)
            if sub_config is None or _takes_any_channel_count(sub_config) or not extractor.channel_independent:
                continue
            extractor.channel_independent = False
            logger.warning(
                f"The saved extractor of modality {name!r} passed any channel count, but the model's head "
                f"concatenates its {sub_config.num_channels} channel(s): it now refuses other counts. Save the "
                "processor again (`save_pretrained`) to store that."
            )

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoProcessor") -> None:
        """Save the code with the processor and name it in `auto_map`, for `AutoProcessor` with remote code."""
        cls._auto_class = auto_class if isinstance(auto_class, str) else auto_class.__name__


# Keywords `AutoProcessor.from_pretrained` passes on to the class (or a caller passes to any transformers loader) that
# say nothing of the processor: neither Hub arguments `cached_file` takes here nor extractor settings.
_LOADER_KWARGS = ("code_revision", "repo_type", "user_agent", "return_unused_kwargs")


def _common_max_length(extractors: Mapping[str, CiTrusFeatureExtractor], seconds: float) -> dict[str, int] | None:
    """`max_length` per modality (model samples) for the span nearest `seconds` that is a whole number of patches of
    every encoder and fits every context; None where no span is."""
    first = next(iter(extractors.values()))
    patch_seconds = first.patch_length / first.sampling_rate
    best = None
    for patches in range(1, first.context_length // first.patch_length + 1):
        span = patches * patch_seconds
        lengths = {name: span * fx.sampling_rate for name, fx in extractors.items()}
        fits = all(
            math.isclose(length / fx.patch_length, round(length / fx.patch_length), abs_tol=1e-9)
            and round(length) <= fx.context_length
            for length, fx in zip(lengths.values(), extractors.values())
        )
        if fits and (best is None or abs(span - seconds) < abs(best[0] - seconds)):
            best = (span, {name: round(length) for name, length in lengths.items()})
    return None if best is None else best[1]


def _checked_per_modality(options: Mapping[str, Any], modalities: Sequence[str]) -> dict[str, Any]:
    """`options` (setting -> value for every modality, or a dict modality -> value), checked: a dict that names
    modalities the processor has not is refused.

    Raises:
        ValueError: a dict value naming an unknown modality (a typo would leave the modality meant with the default).
    """
    for key, value in options.items():
        if isinstance(value, Mapping):
            unknown = sorted(str(m) for m in set(value) - set(modalities))
            if unknown:
                raise ValueError(f"`{key}` names unknown modalities {unknown}; the modalities are {list(modalities)}.")
    return dict(options)


def _modality_values(options: Mapping[str, Any], modality: str) -> dict[str, Any]:
    """The settings of `options` (`_checked_per_modality`) that apply to `modality`: every plain value, and its own
    value of every dict that names it."""
    return {
        key: value[modality] if isinstance(value, Mapping) else value
        for key, value in options.items()
        if not isinstance(value, Mapping) or modality in value
    }


def _extractor_settings(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The feature-extractor settings among `from_pretrained`'s keywords (all but the Hub arguments, the loaders'
    own and transformers' private `_from_auto`-style ones). A misspelt setting is refused with the setting it may
    mean; another keyword that is none of these is left out with a warning, as generic loading code passes options
    of other processors (`use_fast=True`) that a fusion processor has no use for.

    Raises:
        ValueError: a keyword close to a `CiTrusFeatureExtractor` setting (`nan_polcy`, `sample_rate`) or to a Hub
            argument (`revison`: `check_loading_options`).
    """
    check_loading_options("CiTrusFusionProcessor.from_pretrained", kwargs)
    settings = {
        key: value
        for key, value in kwargs.items()
        if key not in DOWNLOAD_ARGUMENTS and key not in _LOADER_KWARGS and not key.startswith("_")
    }
    known = CiTrusFeatureExtractor._saved_setting_names()
    misspelt = misspelt_names(settings, known)
    if misspelt:
        raise not_a_field_error(
            CiTrusFeatureExtractor,
            misspelt,
            ": CiTrusFusionProcessor.from_pretrained takes Hub arguments and feature-extractor settings for every "
            "modality (e.g. alignment='interpolate'), or a dict modality -> value",
            fields=known,
        )
    unknown = [key for key in settings if key not in known]
    if unknown:
        logger.warning(
            f"CiTrusFusionProcessor.from_pretrained ignores {', '.join(map(repr, unknown))}: neither a Hub argument "
            f"({', '.join(DOWNLOAD_ARGUMENTS)}) nor a feature-extractor setting."
        )
    return {key: value for key, value in settings.items() if key in known}


class CiTrusFusionDataCollator:
    """Batches dataset rows for a fusion model (the `Trainer`'s `data_collator`).

    Each row holds `input_values`: modality -> `(channels, time)` array (already aligned, e.g. by the processor),
    optionally `patch_mask`: modality -> `(num_patches,)`, and `labels` / `label` / `label_ids` (the columns
    transformers' collators batch as `labels`). Returns
    `{"input_values": {modality: (B, C, T) float32}, "patch_mask": {...}, "labels": (B,)}`; integer labels become
    int64 (classification), others float32 (regression). Every row needs the keys and modalities of every other: a
    row that has one the first has not (or lacks one it has) is refused, as the batch takes the first row's keys.
    """

    def __call__(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        if not rows:
            raise ValueError("the batch is empty.")
        first = rows[0]
        if not isinstance(first.get("input_values"), Mapping):
            raise ValueError(
                "each row needs `input_values` as a dict modality -> (channels, time) array; got "
                f"{type(first.get('input_values')).__name__}. Store the windows as one struct column per example."
            )
        label_key = next((key for key in COLLATED_LABEL_COLUMNS if key in first), None)
        self._check_same_keys(rows, ("input_values", "patch_mask", *COLLATED_LABEL_COLUMNS))
        batch: dict[str, Any] = {}
        for key in ("input_values", "patch_mask"):
            if key not in first:
                continue
            dtype = np.float32 if key == "input_values" else np.int64
            batch[key] = ModalityTensors(
                {name: torch.from_numpy(self._stacked(rows, key, name, dtype)) for name in first[key]}
            )
        if label_key is not None:
            labels = stack_row_values(label_key, [row[label_key] for row in rows], "rows")
            check_numeric_labels(label_key, labels, "rows")
            batch["labels"] = torch.from_numpy(
                labels.astype(np.int64) if np.issubdtype(labels.dtype, np.integer) else labels.astype(np.float32)
            )
        return batch

    @staticmethod
    def _check_same_keys(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
        """Refuse a row that has one of `keys` (or, under `input_values` / `patch_mask`, a modality) that the first
        row has not, or lacks one of `keys` the first has: the batch is built from the first row's, so a later row's
        labels or mask were dropped without a word (its padding then pooled as signal). (A modality missing from a
        later row is named by `_stacked`, with the modalities it has.)"""
        first = rows[0]

        def described(row: Mapping[str, Any]) -> set[str]:
            present = {f"`{key}`" for key in keys if key in row}
            for key in ("input_values", "patch_mask"):
                if isinstance(row.get(key), Mapping):
                    present |= {f"modality {name!r} in `{key}`" for name in row[key]}
            return present

        expected = described(first)
        for index, row in enumerate(rows[1:], start=1):
            found = described(row)
            extra = sorted(found - expected)
            missing = sorted(name for name in expected - found if not name.startswith("modality "))
            if extra or missing:
                problem = f"has {extra[0]}, which row 0 has not" if extra else f"has no {missing[0]}, which row 0 has"
                raise ValueError(
                    f"row {index} {problem}; every row of a batch needs the same columns and modalities: give every "
                    "row its labels and `patch_mask` (the processor's output), or none."
                )

    @staticmethod
    def _stacked(rows: Sequence[Mapping[str, Any]], key: str, modality: str, dtype) -> np.ndarray:
        """`row[key][modality]` of every row, stacked: `(batch, ...)`; rows without the modality or of another
        shape are refused with the fix (rows aligned one at a time keep their own durations)."""
        arrays = []
        for index, row in enumerate(rows):
            values = row.get(key)
            if not isinstance(values, Mapping) or modality not in values:
                present = sorted(values) if isinstance(values, Mapping) else type(values).__name__
                raise ValueError(
                    f"row {index} has no modality {modality!r} in `{key}` (it has {present}); every row of a batch "
                    "needs the modalities of the first."
                )
            try:
                # (a bf16 window was refused here as "not a numeric array (Got unsupported ScalarType BFloat16)")
                arrays.append(np.asarray(row_value_as_numpy(values[modality]), dtype=dtype))
            except (ValueError, TypeError) as error:
                raise ValueError(
                    f"row {index}: `{key}` of modality {modality!r} is not a numeric array ({error}); store each "
                    "modality's window as numbers, (channels, time), as the processor returns it."
                ) from None
        shapes = sorted({array.shape for array in arrays})
        if len(shapes) > 1:
            raise ValueError(
                f"modality {modality!r} has rows of different shapes {shapes} in `{key}`: align every row to one "
                "length, with the processor's padding='max_length' (the full window, its padding marked in "
                "`patch_mask`)."
            )
        return np.stack(arrays)


class CiTrusPaddingCollator:
    """The collator a `Trainer` around a single-modality CiTrus model batches with when it would otherwise use
    transformers' `default_data_collator` (no `processing_class`, no collator given). Rows the feature extractor
    aligned (they carry its `patch_mask`) or of different shapes are batched by `extractor.pad`, as
    `DataCollatorWithPadding(extractor)` batches them: rows aligned one at a time keep each recording's own duration
    in whole patches and a leading batch axis of one, where the default collator fails inside torch ("expected
    sequence of length 200 at dim 3 (got 180)") or stacks `(batch, 1, channels, time)`. Other rows of one shape
    (windows stored without a mask) are stacked as the default collator stacks them.

    Args:
        extractor: the feature extractor of the model's input contract (`CiTrusFeatureExtractor.from_config`).
    """

    def __init__(self, extractor: CiTrusFeatureExtractor):
        self.extractor = extractor

    def __call__(self, features: list[Mapping[str, Any]]) -> dict[str, Any]:
        rows = [row for row in features if isinstance(row, Mapping)]
        shapes = {tuple(np.shape(row["input_values"])) for row in rows if row.get("input_values") is not None}
        if len(shapes) <= 1 and not any("patch_mask" in row for row in rows):
            # the default collator leaves string fields out of the batch: class names given as labels reached the
            # model as no labels at all (no loss, no metrics), where `extractor.pad` refuses them
            for key in COLLATED_LABEL_COLUMNS:
                if rows and isinstance(rows[0].get(key), str):
                    check_numeric_labels(key, np.asarray([row.get(key) for row in rows]), "examples")
            return default_data_collator(features)
        return DataCollatorWithPadding(self.extractor)(features)


@functools.cache
def _extractor_call_options() -> frozenset[str]:
    """The options `CiTrusFeatureExtractor.__call__` takes beside the recordings and their rate."""
    return keyword_names(CiTrusFeatureExtractor.__call__) - {"raw_signal", "sampling_rate"}


def trainer_data_collator(model: Any, data_collator: Any) -> Any:
    """The collator a `Trainer` around `model` batches with: `data_collator`, except where it is one of the defaults
    the `Trainer` picks itself and cannot batch this model's rows, as a transformers model gets the default collator
    its inputs need. A collator of the user's own is kept.

    - a CiTrus fusion model (or a peft wrapper of one) with `default_data_collator` or `DataCollatorWithPadding`
      around the `processing_class`: those cannot batch rows holding one array per modality (torch's "Could not infer
      dtype of dict"), so a `CiTrusFusionDataCollator` does;
    - a single-modality CiTrus model with `default_data_collator` (no `processing_class`): a `CiTrusPaddingCollator`
      of its input contract, which stacks rows of one length as that collator does and pads rows of different ones.

    Meant for the package's `Trainer` registration, which sees the `Trainer` once it is built (`trainer.data_collator
    = trainer_data_collator(model, trainer.data_collator)`); where it does not run (remote code without `citrus_hf`),
    pass `data_collator=CiTrusFusionDataCollator()` (or `processing_class=extractor`).
    """
    config = getattr(model, "config", None)
    default = data_collator is None or data_collator is default_data_collator
    if isinstance(config, CiTrusFusionConfig):
        if default or type(data_collator) is DataCollatorWithPadding:
            return CiTrusFusionDataCollator()
        return data_collator
    if default and isinstance(config, CiTrusConfig):
        return CiTrusPaddingCollator(CiTrusFeatureExtractor.from_config(config))
    return data_collator


def _contract_differences(extractor: CiTrusFeatureExtractor, config) -> list[str]:
    """How `extractor` aligns windows otherwise than the encoder of `config` (a `CiTrusConfig`) takes them, one
    `field=value (the encoder's: value)` each: the fields of the single-modality pipeline's check (rate, patch length,
    normalisation, and the channel count where the modality's pooler concatenates channels, which the extractor must
    then enforce, `channel_independent=False`; otherwise it takes any) and the window length, which that pipeline
    only warns about: a processor built for the model (`from_config`) always has the encoder's, so another one is an
    edited or foreign file."""
    fields = ["sampling_rate", "context_length", "patch_length"]
    fields += ["normalization", "normalization_mean", "normalization_std"]
    if not _takes_any_channel_count(config):
        fields.append("num_channels")
    differences = [
        f"{name}={getattr(extractor, name, None)!r} (the encoder's: {getattr(config, name, None)!r})"
        for name in fields
        if getattr(extractor, name, None) != getattr(config, name, None)
    ]
    if extractor.channel_independent and not _takes_any_channel_count(config):
        # it would pass any channel count, which the model's head then refuses
        differences.append(
            f"channel_independent=True (the head concatenates the encoder's {config.num_channels} channel(s): False)"
        )
    return differences


def _loaded_from(model: Any, loading: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Where a loaded CiTrus `model` came from, to read the extractor saved there: its local folder, or its Hub
    repository at the commit, subfolder and cache it was loaded from (which the family's `from_pretrained` records:
    `modeling_citrus._hub_source_kwargs`), with the Hub arguments of `loading` that say how to reach the Hub (token,
    cache); `(None, {})` for a model built in memory or a folder that is gone. A model loaded from the Hub had its
    repository's extractor ignored, and got one rebuilt from its config (a fine-tuned classifier's stretching of rows
    onto its window dropped)."""
    named = getattr(model, "name_or_path", "") or ""
    if not isinstance(named, (str, os.PathLike)) or not named:
        return None, {}
    named = os.fspath(named)
    if os.path.isdir(named):
        return named, dict(loading)
    if named.count("/") != 1 or os.path.isabs(named) or os.path.exists(named):
        return None, {}  # no Hub id: a folder that has gone, or a bundled checkpoint's name (its config's extractor)
    from .modeling_citrus import _hub_source_kwargs  # (the model module, only for a model already loaded)

    reach = {key: value for key, value in loading.items() if key in ("token", "cache_dir", "local_files_only")}
    source = _hub_source_kwargs(model)  # beside the weights: their commit, subfolder and cache
    if "revision" not in source and loading.get("revision"):
        source["revision"] = loading["revision"]
    return named, {**reach, **source}


def _saved_extractor_file(folder: str | os.PathLike, lookup: Mapping[str, Any]) -> str | None:
    """The path of the `preprocessor_config.json` of `folder` (a local folder or Hub repo id), or None where it has
    none or the Hub cannot be reached."""
    try:
        return cached_file(
            folder,
            FEATURE_EXTRACTOR_NAME,
            _raise_exceptions_for_missing_entries=False,
            _raise_exceptions_for_connection_errors=False,
            **lookup,
        )
    except ValueError:  # an id the Hub refuses (`HFValidationError`): no repository to read
        return None


def _takes_any_channel_count(config: CiTrusConfig) -> bool:
    """Whether a fusion model takes any channel count for the modality of `config`: unless its pooler concatenates
    channels. The fusion model pools every modality itself (`CiTrusPooler`), whatever the encoder's saved
    `architectures` (which `CiTrusConfig.fixes_channel_count` reads, for a checkpoint of the encoder alone)."""
    return config.channel_pooling != "concat"


def _durations(extractor: CiTrusFeatureExtractor, recordings: Any, sampling_rate: Any) -> list[float]:
    """Seconds of every recording of one modality (already accepted by its extractor)."""
    arrays = extractor._to_recordings(recordings)
    rates = extractor._recording_rates(sampling_rate, arrays)
    return [array.shape[-1] / rate for array, rate in zip(arrays, rates)]


def _warn_of_unaligned_durations(durations: Mapping[str, list[float]]) -> None:
    """Warn when the modalities of an example cover different spans: their embeddings would pair unrelated moments,
    and the usual cause is a sampling rate given for the wrong modality."""
    for index, spans in enumerate(zip(*durations.values())):
        longest = max(spans)
        if longest - min(spans) > _DURATION_MISMATCH * longest:
            described = ", ".join(f"{name} {span:.3g} s" for name, span in zip(durations, spans))
            logger.warning(
                f"The modalities of example {index} cover different durations ({described}): their windows do not "
                "line up in time. Check the sampling rate given for each modality (a dict, e.g. "
                "sampling_rate={'ecg': 250, 'eda': 32}: each device records at its own rate), and cut every modality "
                "to the same start and duration in seconds."
            )
            return


CiTrusFusionProcessor.register_for_auto_class()

__all__ = [
    "CiTrusFusionBatch",
    "CiTrusFusionDataCollator",
    "CiTrusPaddingCollator",
    "CiTrusFusionProcessor",
    "ModalityTensors",
    "trainer_data_collator",
]
