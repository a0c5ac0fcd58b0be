"""Synthetic pre-training windows: what each generator draws, and a stream that mixes them with real recordings.

Every registered generator (`citrus_hf.data.synthetic`: CauKer and KernelSynth Gaussian-process compositions, ECGSYN,
and the neurokit2 / neurodsp simulators of PPG, respiration, EDA, EMG and EEG) draws windows at citrus-small's input
contract (100 Hz, 10 s); a figure shows one window of each. Then a `MixedWindowStream` mixes them with the real EEG of
the offline `eeg_pretrain` corpus (fetch it once with `citrus data fetch --offline-corpus`) at a chosen share, and the
share of synthetic windows it yields is counted, with the settings a checkpoint's card records. Synthetic windows are
for pre-training only: every accuracy claim of this project is on real recordings.

    python examples/synthetic_pretraining_data.py --output-dir runs/synthetic
    python examples/synthetic_pretraining_data.py --tiny --output-dir runs/synthetic    # fewer windows
    citrus pretrain --dataset pretrain_corpus --synthetic-ratio 0.2 --output-dir runs/mixed   # pre-train on a mix

The neurokit2 / neurodsp generators need `pip install 'citrus-hf[synthetic]'`; without it they are listed as skipped.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from citrus_hf import CiTrusConfig, bundled_checkpoint
from citrus_hf.commands.script import positive_int, run_script
from citrus_hf.data.alignment import align_corpus
from citrus_hf.data.splits import load_split
from citrus_hf.data.streams import MixedWindowStream
from citrus_hf.data.synthetic import (
    SyntheticExtraMissingError,
    build_generator,
    default_generators,
    list_generators,
)


def draw_every_generator(rate: float, length: int, seed: int) -> dict[str, np.ndarray]:
    """One draw of each registered generator: `{name: (windows, length)}`; those whose extra is missing are left out."""
    draws = {}
    for name in list_generators():
        generator = build_generator(name)
        try:
            windows = generator.generate(np.random.default_rng(seed), rate, length)
        except SyntheticExtraMissingError as error:
            print(f"{name:13s} skipped: {error}")
            continue
        draws[name] = windows
        print(f"{name:13s} {generator.modality:8s} {len(windows):3d} window(s) of {length} samples per draw")
    return draws


def plot(draws: dict[str, np.ndarray], rate: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(draws), 1, figsize=(10, 1.3 * len(draws)), sharex=True)
    for axis, (name, windows) in zip(np.atleast_1d(axes), draws.items()):
        axis.plot(np.arange(windows.shape[1]) / rate, windows[0], linewidth=0.7)
        axis.set_ylabel(name, rotation=0, ha="right", va="center")
        axis.set_yticks([])
    np.atleast_1d(axes)[-1].set_xlabel("seconds")
    figure.suptitle("One synthetic window per generator (citrus-small's contract: 100 Hz, 10 s)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", default="runs/synthetic")
    parser.add_argument("--synthetic-ratio", type=float, default=0.3, help="share of synthetic windows in the mix")
    parser.add_argument("--windows", type=positive_int, default=600, help="windows drawn from the mixed stream")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tiny", action="store_true", help="100 windows from the mixed stream")
    args = parser.parse_args()
    output = Path(args.output_dir)
    output.mkdir(parents=True, exist_ok=True)

    config = CiTrusConfig.from_pretrained(bundled_checkpoint("citrus-small"))
    rate, length = config.sampling_rate, config.context_length
    draws = draw_every_generator(rate, length, args.seed)
    plot(draws, rate, output / "synthetic_windows.png")

    # The real side of the mix: the corpus aligned to the same contract once (a memory-mapped Arrow file), read one
    # window at a time by the stream, never loaded whole.
    real = align_corpus(load_split("eeg_pretrain", "train"), config).with_format("numpy")
    generators, weights = default_generators()
    available = [(g, w) for g, w in zip(generators, weights) if g.name in draws]  # the extras that are installed
    stream = MixedWindowStream(
        real,
        args.synthetic_ratio,
        rate,
        length,
        config.patch_length,
        generators=[g for g, _ in available],
        weights=[w for _, w in available],
        seed=args.seed,
    )
    count = 100 if args.tiny else args.windows
    sources = np.array([int(window["source_id"]) for window, _ in zip(stream, range(count))])
    settings = stream.settings()
    print(f"{len(real)} real windows of {length / rate:g} s; of {count} windows drawn from the stream, "
          f"{(sources > 0).mean():.3f} are synthetic (asked: {args.synthetic_ratio})")  # fmt: skip
    (output / "stream_settings.json").write_text(json.dumps(settings, indent=2))
    print(f"figure: {output / 'synthetic_windows.png'}; the stream's settings (what a card records): "
          f"{output / 'stream_settings.json'}")  # fmt: skip


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
