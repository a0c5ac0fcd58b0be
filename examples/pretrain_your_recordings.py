"""Pre-train CiTrus on your own unlabelled recordings: a folder of EDF / BDF, WFDB, .npy or .csv files, as they are.

The folder below stands in for yours: a real 64-channel EEG recording (PhysioNet's EEG Motor Movement/Imagery, from
the offline corpus: `citrus data fetch --offline-corpus`) as EDF, and one of its channels again at a quarter of the
rate as a WFDB record in a subfolder. `citrus data info` shows what the folder holds (channel-hours, rates, channels), then
`citrus pretrain --dataset FOLDER` reads every recording at its own rate, resamples and windows it to the model's
input contract, and pre-trains (each channel its own sequence).

    python examples/pretrain_your_recordings.py --output-dir runs/mine             # the small preset, 200 steps
    python examples/pretrain_your_recordings.py --recordings ~/my_edfs --max-steps 2000
    python examples/pretrain_your_recordings.py --tiny                              # a tiny model, 4 steps

Files that do not record their rate (.npy, .csv) take `--sampling-rate` (then every file of the folder must be of
that kind); EDF, BDF and WFDB files carry theirs.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from citrus_hf.commands.script import positive_float, positive_int, run_script


def stand_in_recordings(folder: Path) -> None:
    """Real recordings in two formats a user has: an EDF file, and one of its channels at 40 Hz as a WFDB record (as
    PhysioNet stores them) in a subfolder."""
    import wfdb

    from citrus_hf.data.fetch import source_members
    from citrus_hf.data.readers import read_edf
    from citrus_hf.data.recordings import find_member

    edf = find_member(source_members("eegmmi_s001r02"), "S001R02.edf")
    (folder / "wfdb").mkdir(parents=True, exist_ok=True)
    shutil.copy(edf, folder / "S001R02.edf")
    cz = read_edf(edf, ["Cz.."]).data[0, ::4]  # 160 Hz -> 40 Hz (every 4th sample)
    wfdb.wrsamp(
        "cz", fs=40, units=["uV"], sig_name=["Cz"], p_signal=cz[:, None], fmt=["16"], write_dir=str(folder / "wfdb")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", default=None, help="your folder of recordings (default: a stand-in)")
    parser.add_argument("--sampling-rate", type=positive_float, default=None, help="rate of .npy / .csv files (Hz)")
    parser.add_argument("--output-dir", default=None)
    parser.add_argument("--max-steps", type=positive_int, default=200)
    parser.add_argument("--tiny", action="store_true", help="a tiny model for 4 steps (a smoke test)")
    args = parser.parse_args()

    from citrus_hf.commands.main import main as citrus

    work = Path(args.output_dir or tempfile.mkdtemp(prefix="citrus-own-recordings-"))
    recordings = Path(args.recordings) if args.recordings else work / "recordings"
    rate = ["--sampling-rate", str(args.sampling_rate)] if args.sampling_rate else []
    if args.recordings is None:
        stand_in_recordings(recordings)
    if citrus(["data", "info", str(recordings), *rate]) != 0:  # channel-hours, rates and channels per file
        raise SystemExit(1)
    model = ["--model-config", "tiny", "--max-steps", "4", "--per-device-batch-size", "8"] if args.tiny else [
        "--model-config", "small", "--max-steps", str(args.max_steps)]  # fmt: skip
    command = ["pretrain", "--dataset", str(recordings), *rate, *model, "--output-dir", str(work / "model"),
               "--overwrite-output-dir", "--no-show-progress"]  # fmt: skip
    if citrus(command) != 0:  # `citrus` printed the one-line reason
        raise SystemExit(1)
    print(
        f"pre-trained on your recordings; load with CiTrusForSequenceClassification.from_pretrained({str(work / 'model')!r}, num_labels=...)"
    )


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
