"""The PatchTST baseline arms: `transformers`' own `PatchTSTForPretraining`, pre-trained on the same corpus with the
same loop and steps as CiTrus, then `PatchTSTForClassification` / `PatchTSTForRegression` fine-tuned with the same
`Trainer` settings.

Sizes match the CiTrus config the protocol uses (context length, patch length = stride, width, layers, heads,
feed-forward, mask ratio), and both see the same aligned, normalised windows from `CiTrusFeatureExtractor` (so
PatchTST's own instance scaling is off). Otherwise PatchTST keeps its own defaults (random patch masking, batch
norm, its heads), so the arm is PatchTST as users get it, not a CiTrus in disguise.

Padding: a window shorter than the context (a short recording) reaches PatchTST padded with zeros, as it reaches
CiTrus. PatchTST is given the padded samples as unobserved (`past_observed_mask`, from the extractor's `patch_mask`),
but it reads that mask only in its scaler, which is off here: it encodes and pools the padded zeros as signal, where
CiTrus leaves padded patches out of its pooling. The arm's figures were measured so.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

import numpy as np
import torch

from .._extras import require
from ..configuration_citrus import CiTrusConfig, looks_like_time_by_channels
from ..feature_extraction_citrus import (
    _CONSTANT_RELATIVE_TOLERANCE,
    fill_non_finite,
    nan_padding_span,
    row_value_as_numpy,
)
from ..vocabulary_citrus import CLASSIFICATION, REGRESSION


def patchtst_config(config: CiTrusConfig, num_channels: int = 1, **overrides):
    """A `PatchTSTConfig` of the same size and input window as the CiTrus `config`."""
    from transformers import PatchTSTConfig

    values: dict[str, Any] = dict(
        num_input_channels=num_channels,
        context_length=config.context_length,
        patch_length=config.patch_length,
        patch_stride=config.patch_length,
        d_model=config.d_model,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        ffn_dim=config.ffn_dim,
        dropout=config.hidden_dropout,
        attention_dropout=config.attention_dropout,
        ff_dropout=config.ffn_dropout,
        head_dropout=config.head_dropout,
        mask_type="random",
        random_mask_ratio=config.mask_ratio,
        share_embedding=True,
        channel_attention=False,
        # The feature extractor already normalises every window as it does for CiTrus; PatchTST's own instance
        # scaling would undo a dataset-level normalisation (and with it the channels' relative amplitudes).
        scaling=None,
        loss="mse",
    )
    values.update(overrides)
    return PatchTSTConfig(**values)


def build_patchtst_pretraining(config: CiTrusConfig):
    """`PatchTSTForPretraining` for the single-channel windows of the pre-training corpus."""
    from transformers import PatchTSTForPretraining

    return PatchTSTForPretraining(patchtst_config(config, num_channels=config.num_channels, do_mask_input=True))


def observed_mask(patch_mask: torch.Tensor, patch_length: int, num_channels: int) -> torch.Tensor:
    """PatchTST's `past_observed_mask` `(B, T, C)` from the feature extractor's `patch_mask` `(B, P)`. With
    `scaling=None` (`patchtst_config`) PatchTST ignores it: padded samples are encoded as signal (module docstring)."""
    observed = patch_mask.bool().repeat_interleave(patch_length, dim=1)  # (B, T)
    return observed[:, :, None].expand(-1, -1, num_channels)


def patchtst_pretraining_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Masked-patch reconstruction loss of PatchTST on a `WindowDataset` batch (`input_values` `(B, C, T)`)."""
    values = batch["input_values"]
    config = model.module.config if hasattr(model, "module") else model.config
    mask = observed_mask(batch["patch_mask"], config.patch_length, values.shape[1])
    return model(past_values=values.transpose(1, 2), past_observed_mask=mask).loss


def pretrain_patchtst(args):
    """Pre-train PatchTST with `citrus_hf.training.pretrain` (same corpus, alignment, schedule and steps as CiTrus).

    Args:
        args: `PretrainArguments`; its model config (preset + overrides) sets PatchTST's sizes.
    """
    from ..training.pretrain import pretrain

    return pretrain(args, model_factory=build_patchtst_pretraining, loss_fn=patchtst_pretraining_loss)


def build_patchtst_task_model(
    task: str,
    num_channels: int,
    config: CiTrusConfig,
    num_labels: int | None = None,
    checkpoint: str | os.PathLike | None = None,
):
    """`PatchTSTForClassification` / `PatchTSTForRegression` for `num_channels` channels, its backbone loaded strictly
    from a `PatchTSTForPretraining` checkpoint (or freshly initialised when `checkpoint` is None).

    The checkpoint's own pre-training head is left out: `from_pretrained` would try to load it into the task head
    (both are called `head`) and stop on the shape mismatch.
    """
    from transformers import PatchTSTForClassification, PatchTSTForPretraining, PatchTSTForRegression

    if task == CLASSIFICATION:
        if not num_labels:
            raise ValueError("A PatchTST classifier needs num_labels.")
        model = PatchTSTForClassification(
            patchtst_config(config, num_channels, num_targets=num_labels, do_mask_input=False)
        )
    elif task == REGRESSION:
        model = PatchTSTForRegression(patchtst_config(config, num_channels, num_targets=1, do_mask_input=False))
    else:
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}.")
    if checkpoint is not None:
        pretrained = PatchTSTForPretraining.from_pretrained(str(checkpoint))
        if (
            pretrained.config.context_length != config.context_length
            or pretrained.config.patch_length != config.patch_length
        ):
            raise ValueError(
                f"The PatchTST checkpoint {checkpoint} takes {pretrained.config.context_length} samples in patches of "
                f"{pretrained.config.patch_length}; this protocol aligns windows to {config.context_length} / "
                f"{config.patch_length}. Pre-train it with the same model config."
            )
        # strict: every backbone tensor must be there and fit
        model.model.load_state_dict(pretrained.model.state_dict(), strict=True)
    return model


class PatchTSTCollator:
    """Turns aligned CiTrus examples into PatchTST's inputs: `past_values` `(B, T, C)`, `past_observed_mask`, and
    the labels (`(B,)` classes, or `(B, 1)` regression targets) under `label_name`. Use with
    `label_names=collator.label_names`.

    `label_name="target_values"` (the default) gives the labels to the model, which computes its own unweighted loss;
    `label_name="labels"` gives them to the Trainer's loss function instead (the class-weighted cross-entropy of
    `--class-weight balanced`, `trainer.weighted_cross_entropy`): the Trainer takes only `labels` out of a batch for
    it, and the model then returns its logits alone."""

    def __init__(self, task: str, patch_length: int, label_name: str = "target_values"):
        self.task = task
        self.patch_length = patch_length
        self.label_name = label_name
        self.label_names = [label_name]

    def __call__(self, features: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        values = torch.stack([feature["input_values"] for feature in features])  # (B, C, T)
        patch_mask = torch.stack([feature["patch_mask"] for feature in features])  # (B, P)
        labels = torch.stack([feature["labels"] for feature in features])
        return {
            "past_values": values.transpose(1, 2),
            "past_observed_mask": observed_mask(patch_mask, self.patch_length, values.shape[1]),
            self.label_name: labels.long() if self.task == CLASSIFICATION else labels.float()[:, None],
        }


@torch.no_grad()
def patchtst_predict(model, dataset, collator: PatchTSTCollator, batch_size: int = 128) -> np.ndarray:
    """PatchTST outputs `(n, outputs)` (class logits or regression predictions) of an aligned dataset."""
    model.eval()
    outputs = []
    for start in range(0, len(dataset), batch_size):
        rows = dataset[start : start + batch_size]
        features = [
            {key: rows[key][i] for key in ("input_values", "patch_mask", "labels")} for i in range(len(rows["labels"]))
        ]
        batch = collator(features)
        batch.pop(collator.label_name)
        output = model(**batch)
        logits = output.prediction_logits if hasattr(output, "prediction_logits") else output.regression_outputs
        outputs.append(logits.reshape(len(features), -1).float().cpu())
    return torch.cat(outputs).numpy()


# MiniRocket's kernels span 9 samples: aeon refuses shorter series and asks for zero padding.
MINIROCKET_MIN_LENGTH = 9

# Where a channel with no finite value is dropped, said by `fill_non_finite` where this module fills the rows that the
# classical baselines (MiniRocket) read raw: the feature extractor its own message names is no part of this route.
MINIROCKET_READS_THE_SET = "the MiniRocket baseline reads the set"


def raw_windows(
    dataset,
    min_length: int = MINIROCKET_MIN_LENGTH,
    nan_policy: str = "raise",
    where: str | None = None,
    row_numbers=None,
    normalization: dict[str, Any] | None = None,
) -> np.ndarray:
    """The raw windows of a labelled split as one array `(n, channels, time)` float64, at their own rate: what a
    classical method such as MiniRocket is fitted on (a set whose rows have several rates is brought to one first,
    `at_sampling_rate`: the protocol does it). Shorter windows are zero-padded at the end to the longest (and
    to `min_length`; `padded_to_common_length` then gives two splits one length). With
    `nan_policy="interpolate"`, runs of NaN in every channel at a window's start and end are length padding (rows of
    several durations stacked into one array) and are left out (`unpadded`), and other NaN / inf samples are
    interpolated linearly within their channel, as the CiTrus arms' feature extractor does (the splits were checked
    on loading under "raise"); its errors start with `where` ("train split") and call a row by `row_numbers` (its
    number in the user's split; default: its position).

    `normalization`: the input-contract fields the CiTrus arms get for this set (`data.alignment.input_overrides`:
    `normalization` "fixed" with the training pool's per-channel `normalization_mean` / `normalization_std`, or
    "zscore" per window and channel), applied to each window before the zero padding, so the padding stays zeros."""
    from ..data.alignment import naming_where

    # `dtype=np.float64`: `datasets`' numpy format otherwise makes float64 rows float32 before they reach here (a swing
    # on a large offset rounded away, which the CiTrus arms, reading the stored float64, keep)
    # as one slice: `dataset["input_values"]` reads row by row (an array per row where lengths differ)
    column = dataset.with_format("numpy", columns=["input_values"], dtype=np.float64)[:]["input_values"]
    windows = [np.asarray(values, dtype=np.float64) for values in column]
    windows = [w[None] if w.ndim == 1 else w for w in windows]
    if nan_policy == "interpolate":
        numbers = np.arange(len(windows)) if row_numbers is None else row_numbers
        with naming_where(where, numbers):
            windows = [fill_non_finite(unpadded(w), index, MINIROCKET_READS_THE_SET) for index, w in enumerate(windows)]
    if not windows:
        raise ValueError(f"The {where or 'split'} has no rows: there is nothing to fit or score MiniRocket on.")
    odd = next((i for i, w in enumerate(windows) if w.shape[0] != windows[0].shape[0]), None)
    if odd is not None:
        # stacked as they came, the extra channels of the first row were given a row of fewer by broadcasting its
        # own channel into them, silently
        number = odd if row_numbers is None else row_numbers[odd]
        raise ValueError(
            f"Row {number} of the {where or 'split'} has {windows[odd].shape[0]} channel(s) and its first row "
            f"{windows[0].shape[0]}; one array of series needs one channel count: pick the same channels in every row."
        )
    if normalization is not None:
        windows = [normalized_window(window, normalization) for window in windows]
    length = max(min_length, *(w.shape[-1] for w in windows))
    array = np.zeros((len(windows), windows[0].shape[0], length))
    for index, window in enumerate(windows):
        array[index, :, : window.shape[-1]] = window
    return array


def sampling_rate_counts(*datasets) -> dict[float, int]:
    """Rows per sampling rate (Hz) of `datasets` (a set's splits; None ones skipped), from their `sampling_rate`
    column; empty when they have none (every row is then at the one `--sampling-rate`)."""
    import pyarrow as pa

    counts: dict[float, int] = {}
    for dataset in datasets:
        if dataset is None or "sampling_rate" not in dataset.column_names or len(dataset) == 0:
            continue
        column = dataset.with_format("arrow")["sampling_rate"].cast(pa.float64()).to_numpy()
        rates, rows = np.unique(column, return_counts=True)
        for rate, count in zip(rates.tolist(), rows.tolist()):
            counts[rate] = counts.get(rate, 0) + count
    return counts


def common_sampling_rate(counts: dict[float, int]) -> float:
    """The one rate a baseline that reads rows at their own rate (MiniRocket) sees a set of several rates at, from
    `sampling_rate_counts`: the most common one, so that most rows keep their samples exactly (the others are resampled
    to it, `at_sampling_rate`); of equally common rates the lowest, so that no row is given samples it never had."""
    most = max(counts.values())
    return min(rate for rate, count in counts.items() if count == most)


def at_sampling_rate(dataset, rate: float, nan_policy: str = "raise", where: str | None = None, row_numbers=None):
    """`dataset` (a labelled split with a `sampling_rate` column) with every row's `input_values` resampled from its
    own rate to `rate` (Hz), by the feature extractor's anti-aliased polyphase resampler, and its `sampling_rate`
    `rate` in every row; rows at `rate` already keep their values. What a baseline that reads rows at their own rate
    (`raw_windows`: MiniRocket, whose kernels span a fixed number of samples, so a row at twice the rate looks like a
    slower signal) is given when a set's rows have several rates (`common_sampling_rate`). Rows keep their duration,
    so their lengths may differ (`raw_windows` pads them); the other columns are kept. Held in memory: nothing is
    written next to the user's files, and the baseline holds every row anyway.

    With `nan_policy="interpolate"`, a row's NaN padding is left out (`unpadded`) and its other NaN / inf samples are
    filled (`fill_non_finite`) before it is resampled, which would spread them over the filter's length; its errors start with `where` and call a row by `row_numbers`
    (as `raw_windows`)."""
    from datasets import List, Value

    from ..data.alignment import naming_where
    from ..feature_extraction_citrus import _resample, _resampling_factors

    def resample(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        values = []
        for index, row, own in zip(indices, batch["input_values"], batch["sampling_rate"]):
            signal = np.asarray(row, dtype=np.float64)
            signal = signal[None] if signal.ndim == 1 else signal
            if float(own) != rate:
                if nan_policy == "interpolate":
                    signal = fill_non_finite(unpadded(signal), index, MINIROCKET_READS_THE_SET)
                signal = _resample(signal, *_resampling_factors(float(own), rate))
            values.append(signal)
        return {"input_values": values, "sampling_rate": [rate] * len(values)}

    features = dataset.features.copy()
    features["input_values"] = List(List(Value("float64")))
    features["sampling_rate"] = Value("float64")
    numbers = np.arange(len(dataset)) if row_numbers is None else row_numbers
    with naming_where(where, numbers):
        return dataset.map(
            resample,
            with_indices=True,
            batched=True,
            batch_size=256,
            features=features,
            keep_in_memory=True,
            desc=f"Resampling to {rate:g} Hz",
        )


def unpadded(window: np.ndarray) -> np.ndarray:
    """`window` `(channels, time)` without the runs of NaN in every channel at its start and end (`nan_padding_span`):
    length padding, which the CiTrus arms' extractor leaves out under `nan_policy="interpolate"` and masks. Filled,
    a NaN-padded tail held the row's last value flat for the baselines, a level MiniRocket's kernels read as signal
    (and resampling kept it as part of the row's duration)."""
    start, stop = nan_padding_span(window)
    return window[..., start:stop]


def normalized_window(window: np.ndarray, normalization: dict[str, Any]) -> np.ndarray:
    """`window` `(channels, time)` normalised as `normalization` (input-contract fields, see `raw_windows`) says:
    "fixed" subtracts each channel's `normalization_mean` and divides by its `normalization_std`; "zscore" uses the
    window's own per-channel mean and std (a constant channel becomes zeros, as in the feature extractor); "none"
    leaves it."""
    kind = normalization["normalization"]
    if kind == "fixed":
        mean = np.asarray(normalization["normalization_mean"], dtype=np.float64)[:, None]
        std = np.asarray(normalization["normalization_std"], dtype=np.float64)[:, None]
        return (window - mean) / std
    if kind == "zscore":
        mean = window.mean(axis=-1, keepdims=True)
        centred = window - mean
        std = centred.std(axis=-1, keepdims=True)
        # the extractor's rule: a channel constant up to rounding is zeros, not its rounding noise blown up
        constant = std <= _CONSTANT_RELATIVE_TOLERANCE * np.abs(mean)
        return np.divide(centred, std, out=np.zeros_like(centred), where=~constant)
    return window


def padded_to_common_length(*arrays: np.ndarray, min_length: int = 0) -> tuple[np.ndarray, ...]:
    """`raw_windows` arrays `(n, channels, time)` zero-padded at the end to the longest one's length (and to
    `min_length`): MiniRocket scores series only of the length it was fitted on (aeon 1.6 refuses any other), so the
    training pool and the scored split must share one (see `MiniRocketArm`)."""
    length = max(min_length, *(array.shape[-1] for array in arrays))
    return tuple(np.pad(array, [(0, 0), (0, 0), (0, length - array.shape[-1])]) for array in arrays)


def _sleeping_numba_threads() -> None:
    """Make numba (aeon's compiler) use its workqueue threading layer, unless the user chose one. Its default OpenMP
    layer leaves worker threads spinning after MiniRocket returns, and on a few cores they starve torch's own threads:
    measured on 2 cores, citrus-small's probe fit went from 4 s to 170 s once a MiniRocket fit had run in the same
    process (benchmarks/fit_speed.py). Set before numba's first parallel launch; later it changes nothing."""
    if "NUMBA_THREADING_LAYER" in os.environ:
        return
    import numba

    numba.config.THREADING_LAYER = "workqueue"


def _minirocket_series(values: Any, name: str) -> np.ndarray:
    """`values` (fit_minirocket's `train` or `test`: a numpy array of any dtype, memory order or memory map, a CPU
    tensor, a nested list, or a list of `(channels, time)` arrays of different lengths, aeon's unequal-length
    collection, zero-padded at the end to the longest) as float64 `(n, channels, time)`, aeon's `(n_cases,
    n_channels, n_timepoints)`; a 2-D array is `(n, time)`, one channel per series, as aeon reads it."""
    values = [row_value_as_numpy(case) for case in values] if isinstance(values, (list, tuple)) else values
    try:
        if isinstance(values, list) and values and len({np.shape(case)[-1:] for case in values}) > 1:
            cases = [np.atleast_2d(np.asarray(case, dtype=np.float64)) for case in values]
        else:
            cases, array = None, np.asarray(row_value_as_numpy(values), dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"fit_minirocket's {name} could not be read as numbers ({error}); pass a float or integer array "
            "(n, channels, time), or a list of (channels, time) arrays."
        ) from error
    if cases is not None:
        counts = sorted({case.shape[0] for case in cases})
        if len(counts) > 1 or any(case.ndim != 2 for case in cases):
            raise ValueError(
                f"fit_minirocket's {name} is a list of series of shapes {sorted({case.shape for case in cases})}; "
                "give each one as (channels, time) with the same channels."
            )
        array = np.concatenate(padded_to_common_length(*(case[None] for case in cases)))
    if array.ndim == 2:
        array = array[:, None, :]
    if array.ndim != 3 or len(array) == 0:
        raise ValueError(
            f"fit_minirocket's {name} has shape {array.shape}; pass at least one series as (n, channels, time), "
            "aeon's (n_cases, n_channels, n_timepoints), or (n, time) for one channel."
        )
    _, channels, samples = array.shape
    if looks_like_time_by_channels(channels, samples):
        # aeon read such an array as that many channels of a few samples each: fitted without a word when they were
        # 9 or more (12-lead ECG), else refused with "zero pad shorter series", the wrong fix
        raise ValueError(
            f"fit_minirocket's {name} has shape {array.shape}, which looks like (n, time, channels): {channels} "
            f"channels of {samples} samples each. Pass `{name}.transpose(0, 2, 1)`, (n, channels, time)."
        )
    finite = np.isfinite(array).all(axis=(1, 2))
    if finite.all():
        return array
    # NaN in every channel at a series' start or end is length padding (tslearn's `to_time_series_dataset` holds
    # series of different lengths so): left out and zero-padded at the end, as `raw_windows` treats it
    series = [case if whole else unpadded(case) for case, whole in zip(array, finite)]
    inside = next((index for index, case in enumerate(series) if not np.isfinite(case).all()), None)
    if inside is not None:
        # aeon refuses NaN naming no fix, and fits infinite samples into NaN features without a word
        raise ValueError(
            f"fit_minirocket's {name} holds NaN or infinite samples inside series {inside} (NaN in every channel at a "
            "series' start or end is length padding, left out), which MiniRocket's kernels cannot read; fill them "
            'first, e.g. by linear interpolation (`raw_windows(split, nan_policy="interpolate")` does it for a '
            "labelled split)."
        )
    padded = np.zeros_like(array)
    for index, case in enumerate(series):
        padded[index, :, : case.shape[-1]] = case
    return padded


def _minirocket_class_ids(labels: Any, num_train: int, num_classes: int | None) -> np.ndarray:
    """fit_minirocket's classification `labels` as int64 class ids `(num_train,)`, checked: the ids index the columns
    of its scores, so a negative id wrapped round to the last column and a fractional one was truncated, silently."""
    labels = np.asarray(row_value_as_numpy(labels))
    if labels.dtype == object and all(isinstance(label, numbers.Number) for label in labels.ravel()):
        # numbers held as Python objects (a pandas column of dtype object, `np.array(ids, dtype=object)`): read by
        # their values, so that ids 0, 1, 2 are not refused as "not class ids 0, 1, 2"
        labels = np.asarray(labels.tolist())
    if labels.ndim != 1 or len(labels) != num_train:
        raise ValueError(
            f"fit_minirocket's labels have shape {labels.shape}; give one class id per training series, "
            f"({num_train},) (a column: `labels.ravel()`; one-hot rows: `labels.argmax(axis=1)`)."
        )
    if labels.dtype.kind == "b":
        return labels.astype(np.int64)
    integral = labels.dtype.kind in "iu" or (
        labels.dtype.kind == "f" and bool(np.isfinite(labels).all()) and bool((labels == np.round(labels)).all())
    )
    if not integral or labels.min() < 0:
        shown = ", ".join(map(repr, np.unique(labels)[:4].tolist()))
        raise ValueError(
            f"fit_minirocket's classification labels must be class ids 0, 1, 2, ... (the columns of its scores); got "
            f"{shown}{', ...' if len(np.unique(labels)) > 4 else ''}. Number them first: `names, labels = "
            "np.unique(labels, return_inverse=True)`."
        )
    labels = labels.astype(np.int64)
    if num_classes is not None and labels.max() >= num_classes:
        raise ValueError(
            f"fit_minirocket was given num_classes={num_classes}, but a label is {labels.max()}; class ids run from 0 "
            "to num_classes - 1 (leave num_classes out for one past the largest label)."
        )
    if len(np.unique(labels)) < 2:
        raise ValueError(
            f"fit_minirocket's labels are all class {labels[0]}; a classifier needs examples of at least two classes."
        )
    return labels


def _minirocket_targets(targets: Any, num_train: int) -> np.ndarray:
    """fit_minirocket's regression `targets` as float64 `(num_train,)`, checked."""
    try:
        targets = np.asarray(row_value_as_numpy(targets), dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise TypeError(f"fit_minirocket's regression targets could not be read as numbers ({error}).") from error
    if targets.ndim != 1 or len(targets) != num_train:
        raise ValueError(
            f"fit_minirocket's regression targets have shape {targets.shape}; give one number per training series, "
            f"({num_train},)."
        )
    if not np.isfinite(targets).all():
        raise ValueError(
            f"fit_minirocket's regression targets hold NaN or infinite values (first of series "
            f"{int(np.argmin(np.isfinite(targets)))}); leave those series out of the training set."
        )
    return targets


def fit_minirocket(
    train: np.ndarray,
    labels: np.ndarray,
    test: np.ndarray,
    task: str,
    seed: int,
    num_classes: int | None = None,
    class_weight: str | None = None,
) -> np.ndarray:
    """Fit aeon's MiniRocket + ridge (internal cross-validation of the penalty) and return its test outputs:
    `(n, num_classes)` decision scores (classification; columns are class indices, classes absent from the labelled
    subset score -inf; `num_classes` defaults to one past the largest label) or `(n,)` predictions (regression; of
    one labelled example, its target, as the ridge would predict).
    `class_weight="balanced"` weighs each class's examples in the ridge by n / (classes x its count), scikit-learn's
    "balanced" (`citrus evaluate --class-weight balanced`, as the CiTrus arms' recipes weigh them); None: alike.
    Needs aeon (`pip install 'citrus-hf[baselines]'`).

    Args:
        train, test: series `(n, channels, time)` (aeon's `(n_cases, n_channels, n_timepoints)`; `(n, time)` is one
            channel; a list of `(channels, time)` arrays of different lengths, aeon's unequal-length collection) of
            any numeric dtype and memory layout, finite but for length padding: NaN in every channel at
            a series' start or end (tslearn's `to_time_series_dataset`) is left out. Series of different lengths,
            or shorter than MiniRocket's 9-sample kernels, are zero-padded at the end to a common length, as the
            protocol's MiniRocket arm pads its splits (`raw_windows`, `padded_to_common_length`).
        labels: `(n_train,)` class ids 0, 1, 2, ... (integers, integral floats or booleans) or regression targets.

    Raises:
        ValueError: an array that looks like `(n, time, channels)`, NaN or infinite samples or targets, train and
            test of different channel counts, labels that are not class ids (class names, negative ids: number them
            with `np.unique(labels, return_inverse=True)`), a label at or beyond `num_classes`, or one class only.
    """
    require("aeon", "The MiniRocket baseline")
    train, test = _minirocket_series(train, "train"), _minirocket_series(test, "test")
    if train.shape[1] != test.shape[1]:
        raise ValueError(
            f"fit_minirocket's train series have {train.shape[1]} channel(s) and its test series "
            f"{test.shape[1]}; MiniRocket scores series of the channels it was fitted on."
        )
    # aeon refuses series shorter than its kernels, and scores only the length it was fitted on
    train, test = padded_to_common_length(train, test, min_length=MINIROCKET_MIN_LENGTH)
    _sleeping_numba_threads()
    if task == CLASSIFICATION:
        from aeon.classification.convolution_based import MiniRocketClassifier

        labels = _minirocket_class_ids(labels, len(train), num_classes)
        model = MiniRocketClassifier(random_state=seed, n_jobs=1, class_weight=class_weight).fit(train, labels)
        decision = model.pipeline_.decision_function(test)
        if decision.ndim == 1:  # two classes: sklearn gives the second class's score only
            decision = np.stack([-decision, decision], axis=1)
        classes = np.asarray(model.classes_, dtype=np.int64)
        # every class gets a column, also one above the largest drawn (its F1 is then 0, as for the other arms)
        width = num_classes if num_classes is not None else int(classes.max()) + 1
        scores = np.full((len(test), width), -np.inf)
        scores[:, classes] = decision
        return scores
    targets = _minirocket_targets(labels, len(train))
    if len(targets) == 1:
        # what the ridge predicts from one example (its intercept fits the target, the centred features are 0), while
        # its leave-one-out choice of the penalty divides 0 by 0: nine "invalid value" RuntimeWarnings a run
        return np.full(len(test), targets[0])
    from aeon.regression.convolution_based import MiniRocketRegressor

    model = MiniRocketRegressor(random_state=seed, n_jobs=1)
    if len(np.unique(targets)) <= 2:
        # aeon's input check reads two distinct targets (two ages, rounded rates: a draw of 2) or one as classes
        # ("y type is binary which is not valid for regression"); its pipeline itself fits them like any others
        model._fit(train, targets)
        return model._predict(test)
    return model.fit(train, targets).predict(test)


def regression_head(model) -> torch.nn.Linear:
    """The output layer of a PatchTST regressor (to start it at the targets' mean)."""
    return model.head.projection


__all__ = [
    "PatchTSTCollator",
    "build_patchtst_pretraining",
    "at_sampling_rate",
    "build_patchtst_task_model",
    "common_sampling_rate",
    "fit_minirocket",
    "observed_mask",
    "patchtst_config",
    "patchtst_predict",
    "patchtst_pretraining_loss",
    "pretrain_patchtst",
    "padded_to_common_length",
    "raw_windows",
    "regression_head",
    "sampling_rate_counts",
]
