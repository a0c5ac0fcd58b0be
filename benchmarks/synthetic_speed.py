"""Windows per second of each synthetic pre-training generator and of the default synthetic stream.

CPU pre-training consumes about 200-400 windows/s; this says which generators keep up, at the two input contracts
that matter: 50 Hz x 500 samples (the `small` preset, 10 s) and 100 Hz x 3000 samples (the paper's, 30 s). Each
generator is timed on whole draws (a physiological draw simulates `segment_seconds` and cuts it into windows, so
windows/s counts every window a draw yields); the stream rows include choosing the generator, z-scoring and the
tensor conversion. One process, one thread; the machine is shared, so numbers move by tens of percent run to run.

    python benchmarks/synthetic_speed.py                   # 3 s per measurement
    python benchmarks/synthetic_speed.py --seconds 10 --json results.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from citrus_hf.commands.script import positive_float, run_script
from citrus_hf.data.streams import SyntheticWindowStream
from citrus_hf.data.synthetic import build_generator, list_generators

CONTRACTS = ((50.0, 500, 10), (100.0, 3000, 20))  # (sampling rate, context length, patch length)


def _rate(step, seconds: float) -> float:
    """Windows per second of `step()` (which returns how many windows it made), timed over about `seconds`."""
    step()  # warm-up: imports, caches
    made, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        made += step()
    return made / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=positive_float, default=3.0, help="timing per measurement")
    parser.add_argument(
        "--generators", nargs="*", choices=list_generators(), default=list_generators(), help="generators to time"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results: dict[str, float] = {}
    header = "".join(f"{f'{rate:g} Hz x {length}':>18}" for rate, length, _ in CONTRACTS)
    print(f"{'windows/s':<16}{header}")
    for name in args.generators:
        generator = build_generator(name)
        row = []
        for rate, length, _ in CONTRACTS:
            rng = np.random.default_rng(0)
            speed = _rate(lambda: len(generator.generate(rng, rate, length)), args.seconds)  # noqa: B023
            results[f"{name}/{rate:g}x{length}"] = speed
            row.append(speed)
        print(f"{name:<16}" + "".join(f"{speed:>18.0f}" for speed in row), flush=True)
    row = []
    for rate, length, patch in CONTRACTS:
        stream = SyntheticWindowStream(rate, length, patch, seed=0)
        for generator in stream.generators:  # imports (neurokit2 takes seconds) out of the timing
            generator.generate(np.random.default_rng(0), rate, length)
        iterator = iter(stream)
        speed = _rate(lambda: len(next(iterator)["input_values"]), args.seconds)  # noqa: B023
        results[f"default_stream/{rate:g}x{length}"] = speed
        row.append(speed)
    print(f"{'default stream':<16}" + "".join(f"{speed:>18.0f}" for speed in row))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
