"""heartpy 1.2.7: three finger PPG recordings (CSV)."""

from __future__ import annotations

from pathlib import Path

from ..readers import read_csv_matrix, read_timed_csv
from ..recordings import RecordingRef, Signals, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "heartpy",
        "1.2.7",
        "heartpy-1.2.7-py3-none-any.whl",
        "c9df4fbd427bc10b9eaa951a34958a451a586e3c7ec0d1c46488b491abcb8ab7",
    )
)
# file -> the column its rate comes from (data.csv has none: heartpy documents it as 100 Hz).
TIME_COLUMNS = {"data.csv": None, "data2.csv": "timer", "data3.csv": "datetime"}
UNTIMED_RATE = 100.0


def load_ppg_csv(path: str, time_column: str | None) -> Signals:
    """One heartpy CSV: the ``hr`` column at the rate its time column implies (or the single unnamed column)."""
    if time_column:
        values, rate = read_timed_csv(path, "hr", time_column)
    else:
        values, rate = read_csv_matrix(path)[:, 0], UNTIMED_RATE
    return Signals(values[None], float(rate), ("PPG",), ("PPG",))


@offline_source(
    name="heartpy_ppg",
    description="Three PPG recordings: data.csv (100 Hz, 25 s), data2.csv (117 Hz from its millisecond "
    "timer, 128 s), data3.csv (100.4 Hz from its timestamps, 11.4 min).",
    modality="PPG",
    sampling_rate="100/117/100.4",
    channels="1",
    license="GPL-3.0 (heartpy)",
    citation="van Gent P, Farah H, van Nes N, van Arem B. HeartPy: A novel heart rate algorithm for the "
    "analysis of noisy signals. Transportation Research Part F 66:368-378, 2019.",
    archive=ARCHIVE,
    members=tuple(f"heartpy/data/{name}" for name in TIME_COLUMNS),
    homepage="https://github.com/paulvangentcom/heartrate_analysis_python",
)
def heartpy_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The three PPG files."""
    return recordings_per_member(
        "heartpy_ppg",
        load_ppg_csv,
        archive_cache_dir,
        recording=lambda member: f"heartpy/{Path(member).stem}",
        arguments=lambda member: dict(time_column=TIME_COLUMNS[Path(member).name]),
    )
