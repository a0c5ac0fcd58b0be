"""Speed of `CiTrusFeatureExtractor` on the two jobs it exists for, side by side with an MNE-based pipeline.

1. One hour of 12-lead ECG at 500 Hz, windowed for the paper's 100 Hz / 3000-sample model (`alignment="window"`):
   resample once, cut 120 windows of 30 s, z-score each window and channel. Target: under 1 s on 2 CPU cores.
2. A batch of 1,000 EMG windows (TF-C EMG: 1 channel, 1500 samples at 4 kHz) aligned to the same model, with
   `alignment="resample"` (anti-aliased, padded to 3000 with a patch mask) and `"interpolate"` (the paper's linear
   stretch to 3000 samples).

Peer: the same job done with `mne.filter.resample` (MNE's default FFT method, what `raw.resample` uses; float64, as MNE
requires; `n_jobs` = the same thread count, which MNE honours only when joblib is installed) followed by numpy windowing
/ padding and z-scoring. Timing only: the signals are seeded white noise, since speed does not depend on content.
Extractor and peer are timed in alternation, round after round (`measure.time_rounds`: the order flips every round), and
the table reports medians over rounds (the machine is shared and noisy; ratios compare the same rounds).

    python benchmarks/feature_extraction.py              # 7 rounds, torch's thread count
    python benchmarks/feature_extraction.py --threads 2 --rounds 11
    python benchmarks/feature_extraction.py --tiny --rounds 1    # a tenth of each job: a quick check, no figures
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

import numpy as np
import torch

from citrus_hf.commands.script import positive_int, run_script
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import time_rounds  # noqa: E402

MODEL_RATE, CONTEXT, PATCH = 100.0, 3000, 20


def zscore(windows: np.ndarray) -> np.ndarray:
    mean = windows.mean(axis=-1, keepdims=True)
    std = windows.std(axis=-1, keepdims=True)
    return ((windows - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)


def mne_windows(recording: np.ndarray, rate: float) -> np.ndarray:
    """Peer for job 1: MNE resampling, non-overlapping windows, z-score: `(num_windows, channels, CONTEXT)`."""
    import mne

    resampled = mne.filter.resample(
        recording.astype(np.float64), up=1.0, down=rate / MODEL_RATE, n_jobs=torch.get_num_threads(), verbose="error"
    )
    num_windows = resampled.shape[-1] // CONTEXT
    windows = resampled[:, : num_windows * CONTEXT].reshape(resampled.shape[0], num_windows, CONTEXT)
    return zscore(windows.transpose(1, 0, 2))


def mne_padded(batch: np.ndarray, rate: float) -> np.ndarray:
    """Peer for job 2: MNE resampling of a batch, z-score, zero-padded to CONTEXT: `(batch, channels, CONTEXT)`."""
    import mne

    resampled = mne.filter.resample(
        batch.astype(np.float64), up=1.0, down=rate / MODEL_RATE, n_jobs=torch.get_num_threads(), verbose="error"
    )
    resampled = zscore(resampled)
    padded = np.zeros((*batch.shape[:2], CONTEXT), dtype=np.float32)
    padded[..., : resampled.shape[-1]] = resampled
    return padded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=positive_int, default=7, help="timed rounds per job (median reported)")
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="torch threads (the extractor's thread budget)"
    )
    parser.add_argument("--json", default=None, help="also write the table to this JSON file")
    parser.add_argument(
        "--tiny", action="store_true", help="6 minutes of ECG and 100 EMG windows: a quick check of the jobs"
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        import mne  # noqa: F401

        have_mne = True
    except ImportError:
        have_mne = False
    try:
        import joblib  # noqa: F401

        peer_threads = torch.get_num_threads()
    except ImportError:  # MNE falls back to one job without joblib
        peer_threads = 1

    rng = np.random.default_rng(0)
    extractor = CiTrusFeatureExtractor(
        sampling_rate=MODEL_RATE, context_length=CONTEXT, num_channels=12, patch_length=PATCH, channel_independent=False
    )
    single_channel = CiTrusFeatureExtractor(sampling_rate=MODEL_RATE, context_length=CONTEXT, patch_length=PATCH)
    ecg_rate, emg_rate = 500.0, 4000.0
    # the target is judged on the hour; --tiny runs every job and its peer on a tenth of it (the tests' setting)
    ecg_minutes, emg_windows = (6, 100) if args.tiny else (60, 1000)
    ecg_length = "1 h" if ecg_minutes == 60 else f"{ecg_minutes} min"
    ecg = rng.standard_normal((12, int(ecg_minutes * 60 * ecg_rate))).astype(np.float32)  # 12 leads
    emg = rng.standard_normal((emg_windows, 1, 1500)).astype(np.float32)  # windows of 0.375 s

    # (name, signal seconds, extractor job, peer job or None)
    rows = [
        (
            f"ECG 12-lead, {ecg_length} @ 500 Hz -> {ecg_minutes * 2} windows (window)",
            ecg_minutes * 60.0,
            lambda: extractor(ecg, sampling_rate=ecg_rate, alignment="window"),
            (lambda: mne_windows(ecg, ecg_rate)) if have_mne else None,
        ),
        (
            f"EMG {emg_windows} x 1500 @ 4 kHz -> 3000 (resample)",
            emg_windows * 1500 / emg_rate,
            # padded to the full window, as the peer does (the default, padding="longest", keeps their 40 samples)
            lambda: single_channel(emg, sampling_rate=emg_rate, alignment="resample", padding="max_length"),
            (lambda: mne_padded(emg, emg_rate)) if have_mne else None,
        ),
        (
            f"EMG {emg_windows} x 1500 @ 4 kHz -> 3000 (interpolate)",
            emg_windows * 1500 / emg_rate,
            lambda: single_channel(emg, sampling_rate=emg_rate, alignment="interpolate"),
            None,
        ),
    ]
    # also checks that every job runs before anything is timed
    shapes = {name: tuple(job()["input_values"].shape) for name, _, job, _ in rows}
    for name, _, _, peer in rows:  # the peer does the same job: the same output shape
        if peer is not None and tuple(peer().shape) != shapes[name]:
            raise AssertionError(f"{name}: the extractor gives {shapes[name]}, the peer {tuple(peer().shape)}")
    table = {}

    print(
        f"CiTrusFeatureExtractor, {args.rounds} rounds (median), torch threads {torch.get_num_threads()}, "
        f"CPU cores available {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()}, "
        + (f"MNE {mne.__version__} peer on {peer_threads} thread(s)" if have_mne else "MNE not installed: no peer")
    )
    header = f"| {'job':<50} | {'output':<17} | {'seconds':>8} | {'x real time':>11} | {'MNE peer s':>10} | {'speed-up':>8} |"
    print(header)
    print("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    hour_seconds = None
    for name, signal_seconds, job, peer in rows:
        jobs = {"citrus": job} | ({"peer": peer} if peer else {})
        # no warm-up call of its own: every job ran once above (the output check), lazy initialisation included, and
        # a third call of each hour-long job was a third of a quick run's time
        times = time_rounds(jobs, args.rounds, warm_up=False)
        seconds = statistics.median(times["citrus"])
        if name.startswith("ECG"):
            hour_seconds = seconds
        peer_seconds = ratio = None
        if peer:
            peer_seconds = statistics.median(times["peer"])
            ratio = statistics.median(p / c for p, c in zip(times["peer"], times["citrus"]))
            peer_cells = f"{peer_seconds:>10.3f} | {ratio:>7.1f}x"
        else:
            peer_cells = f"{'-':>10} | {'-':>8}"
        table[name] = {"output": list(shapes[name]), "seconds": seconds, "peer_seconds": peer_seconds, "speedup": ratio}
        print(
            f"| {name:<50} | {str(shapes[name]):<17} | {seconds:>8.3f} | {signal_seconds / seconds:>10,.0f}x | "
            f"{peer_cells} |"
        )
    if not args.tiny:
        verdict = "met" if hour_seconds < 1.0 else "NOT met"
        print(f"\nTarget (1 h of 12-lead ECG in under 1 s): {verdict} ({hour_seconds:.3f} s).")
    if args.json:
        Path(args.json).write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
