"""Speed of a pipeline over a list of short clips: the recordings of a list that fill less than a forward pass share
passes (`_RecordingPipeline._packed_results`), against transformers' own loop, which runs each recording in passes
of its own (`num_workers=0` keeps it), and against the batch aligned by hand (one feature-extractor call for every
clip, then `predict_windows`), the fastest a user could write.

A classifier on citrus-small's encoder (a new head, seeded: speed does not depend on the weights) scores `--clips`
clips of `--seconds` s at 250 Hz (seeded white noise, since speed does not depend on content) on the torch backend.
The three jobs are timed in alternation, round after round (`measure.time_rounds`), and the table gives medians over
rounds and the ratios of the same rounds. transformers' PatchTST has no pipeline, so it has no row here (its forward
pass is compared in `speed.py`).

    python benchmarks/pipeline_clips.py                      # 300 clips of 0.8 s, 5 rounds, one thread
    python benchmarks/pipeline_clips.py --clips 1000 --threads 2 --rounds 7
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import pipeline

import citrus_hf
from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.commands.script import run_script
from citrus_hf.inference.backends import predict_windows

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import time_rounds  # noqa: E402

RATE = 250.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=300, help="clips in the list (default 300)")
    parser.add_argument("--seconds", type=float, default=0.8, help="each clip's duration in s (default 0.8)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    if args.clips < 1 or args.rounds < 1 or args.threads < 1 or not args.seconds > 0:
        parser.error("--clips, --rounds and --threads must be at least 1 and --seconds above 0")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    checkpoint = citrus_hf.bundled_checkpoint("citrus-small")
    model = CiTrusForSequenceClassification.from_pretrained(checkpoint, num_labels=3).eval()
    extractor = CiTrusFeatureExtractor.from_pretrained(checkpoint)
    pipe = pipeline("time-series-classification", model=model, feature_extractor=extractor, backend="torch")
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(round(RATE * args.seconds)).astype(np.float32) for _ in range(args.clips)]

    def by_hand() -> torch.Tensor:
        features = extractor(clips, sampling_rate=RATE, alignment="resample", return_tensors="pt")
        return predict_windows(model, features, backend="torch")

    jobs = {
        "pipeline, packed": lambda: pipe(clips, sampling_rate=RATE),
        "pipeline, a pass per clip": lambda: pipe(clips, sampling_rate=RATE, num_workers=0),
        "aligned at once + predict_windows": by_hand,
    }
    packed = np.array([result["score"] for result in jobs["pipeline, packed"]()])
    looped = np.array([result["score"] for result in jobs["pipeline, a pass per clip"]()])
    print(f"scores of packed and per-clip runs differ by at most {np.abs(packed - looped).max():.1e}")
    per_round = time_rounds(jobs, args.rounds)
    reference = per_round["pipeline, packed"]
    print(f"{args.clips} clips of {args.seconds} s at {RATE:g} Hz, {args.threads} thread(s), {args.rounds} rounds")
    print(f"{'job':<36}{'median s':>10}{'per clip ms':>13}{'x packed':>10}")
    for name, seconds in per_round.items():
        ratio = statistics.median(mine / packed_time for mine, packed_time in zip(seconds, reference))
        median = statistics.median(seconds)
        print(f"{name:<36}{median:>10.3f}{1000 * median / args.clips:>13.2f}{ratio:>10.2f}")


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
