"""How much of a recording went to each label: a sleep stager's hypnogram summary (AASM's sleep statistics) from the
windows the classification pipeline gives.

The time per label itself is the pipeline's (`result["label_seconds"]`, `pipelines.label_seconds`): each second that
windows cover counted once (`pipelines.counted_spans`: overlapping windows split halfway between their middles), the
seconds between windows apart, after the last one and of the windows that hold no signal counted for no label.

A classifier is a sleep stager when its labels are those of a registered sleep vocabulary
(`vocabulary_citrus.sleep_stages_of`: AASM's W / N1 / N2 / N3 / REM, as `sleep_edf` stagers have, R&K's stages or
Sleep-EDF's annotations; labels of no stage, such as "Movement time", "?" or "artifact", as unstaged); its summary
follows the AASM scoring manual's definitions, from lights out to lights on: by default the recording's first and last
sample, or the seconds from its start that `citrus predict --lights-off / --lights-on` (or the file's "Lights off" /
"Lights on" annotations) give (`sleep_summary`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..vocabulary_citrus import REM_STAGE, SLEEP_STAGES, UNSTAGED, WAKE_STAGE
from .pipelines import UNSCORED_DECIMALS, counted_spans


def sleep_summary(
    windows: Sequence[dict],
    recorded_seconds: float,
    stages: Mapping[str, str],
    lights_off: float | None = None,
    lights_on: float | None = None,
) -> dict[str, Any]:
    """AASM's sleep statistics of one night from a sleep stager's `windows` (the classification pipeline's, each
    with its `"start"`, `"end"`, `"label"` and `"no_signal"`) of a recording `recorded_seconds` long, with `stages`
    each label's stage of `SLEEP_STAGES` or `UNSTAGED` (`sleep_stages_of`), between `lights_off` and `lights_on`
    (seconds from the recording's first sample; default its first sample and its end): the seconds outside them count
    for nothing.

    Each second counts once, as in the time per label (`counted_spans`); seconds no window of signal stages (between
    windows apart, after the last one, under a window that holds no signal or whose label is of no stage) are neither
    sleep nor wake.

    Returns (seconds, or None where the night has no sleep):
        `lights_off_seconds` and `lights_on_seconds` (from the recording's first sample), `recorded_seconds` (TRT,
        total recording time: lights out to lights on), `total_sleep_seconds` (TST: N1 + N2 + N3 + REM),
        `sleep_efficiency_percent` (100 x TST / TRT), `sleep_onset_latency_seconds` (SOL: lights out to the first
        second of any sleep stage), `waso_seconds` (wake after sleep onset: the seconds staged W from sleep onset to
        lights on, which is TRT - SOL - TST where every second is staged), `rem_latency_seconds` (sleep onset to the
        first second of REM), `stage_seconds` (each stage of `SLEEP_STAGES`), `stage_percent_of_sleep` (each sleep
        stage's share of TST) and `unstaged_seconds` (TRT less the staged seconds).

    Raises:
        ValueError: lights on not after lights out (both seconds from the recording's first sample, with no wrap
            past midnight): before, it gave a negative time in bed and efficiency; at, a night of no time (with the
            defaults, a recording of no seconds); `citrus predict` refuses both as well. Lights out before the
            recording's first sample, or lights on past its end (`recorded_seconds`), as the command refuses them.
    """
    off = 0.0 if lights_off is None else float(lights_off)
    on = float(recorded_seconds) if lights_on is None else float(lights_on)
    if not on > off:  # (NaN too) lights on at lights out is a night of no time: no statistics, as `citrus predict`
        end = "" if lights_on is not None else ", the recording's end"
        where = "at" if on == off else "before"
        raise ValueError(
            f"Lights on ({on:g} s{end}) is {where} lights out ({off:g} s), both in seconds from the recording's first "
            "sample: give a lights_on after lights_off."
        )
    if off < 0 or on > float(recorded_seconds):
        # seconds the recording does not hold were counted as time in bed (unstaged): a silently low efficiency
        raise ValueError(
            f"Lights out ({off:g} s) to lights on ({on:g} s) falls outside the recording (0 to {float(recorded_seconds):g}"
            " s from its first sample), whose seconds past it no window stages: give times within the recording, as "
            "`citrus predict` does."
        )
    spans = counted_spans(windows) if windows else []
    staged = [
        (max(float(start), off), min(float(end), on), stages[str(window["label"])])
        for window, (start, end) in zip(windows, spans)
        if not window.get("no_signal") and window.get("label") is not None
    ]
    # (a label of no stage, and the seconds before lights out and after lights on, are nobody's)
    staged = [(start, end, stage) for start, end, stage in staged if end > start and stage != UNSTAGED]
    stage_seconds = dict.fromkeys(SLEEP_STAGES, 0.0)
    for start, end, stage in staged:
        stage_seconds[stage] += end - start
    sleep = sum(seconds for stage, seconds in stage_seconds.items() if stage != WAKE_STAGE)
    onset = next((start for start, _, stage in staged if stage != WAKE_STAGE), None)
    rem = next((start for start, _, stage in staged if stage == REM_STAGE), None)
    # every wake second from sleep onset on, the final awakening's included (AASM's WASO runs to lights on)
    waso = None if onset is None else sum((e - s for s, e, stage in staged if stage == WAKE_STAGE and s >= onset), 0.0)
    recorded = on - off

    def rounded(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds, UNSCORED_DECIMALS)

    return {
        "lights_off_seconds": rounded(off),
        "lights_on_seconds": rounded(on),
        "recorded_seconds": rounded(recorded),
        "total_sleep_seconds": rounded(sleep),
        "sleep_efficiency_percent": 100.0 * sleep / recorded,  # (recorded > 0: refused above otherwise)
        "sleep_onset_latency_seconds": None if onset is None else rounded(onset - off),
        "waso_seconds": rounded(waso),
        "rem_latency_seconds": None if rem is None else rounded(rem - onset),
        "stage_seconds": {stage: rounded(seconds) for stage, seconds in stage_seconds.items()},
        "stage_percent_of_sleep": {
            stage: 100.0 * seconds / sleep if sleep > 0 else None
            for stage, seconds in stage_seconds.items()
            if stage != WAKE_STAGE
        },
        "unstaged_seconds": rounded(max(0.0, recorded - sum(stage_seconds.values()))),
    }


# Two windows' counted spans within this many seconds of each other touch (the pipeline's starts and ends are rounded
# to the nanosecond, `UNSCORED_DECIMALS`): their labels' events run on across them.
_TOUCHING_SECONDS = 10.0**-UNSCORED_DECIMALS


def label_events(windows: Sequence[dict], each_output: bool) -> list[dict[str, Any]]:
    """A classifier's `windows` (the classification pipeline's, in time order, each with its `"start"`, `"end"`,
    `"label"`, `"score"`, `"labels"` (every label's `{"label", "score"}`) and `"no_signal"`) as events, as an events
    table lists them (BIDS's ``events.tsv``): one per run of consecutive windows with the same label, from the first
    window's counted start to the last one's counted end (`counted_spans`: overlapping windows split halfway between
    their middles, so that events of one label never overlap and their seconds are the label's `label_seconds`). A
    single-label classifier's label is each window's top one (the events tile the seconds scored); with `each_output`
    (a multi-label or one-output classifier, `backends.scores_each_output`) every label while it is present (its
    probability above 0.5), so that events of different labels may overlap. A window that holds no signal, and the
    seconds between windows apart, end every event (they count for no label); a window whose counted span is empty
    (wholly under its neighbours') changes nothing.

    Returns:
        `[{"onset", "duration", "trial_type", "score"}, ...]` in onset order (events of one onset in the order their
        labels are present in their first window), `onset` in seconds from the recording's first sample, `duration` in
        seconds, both to the nanosecond, and `score` the mean of the label's probability over the event's windows.
    """
    events: list[dict[str, Any]] = []
    running: dict[str, list] = {}  # label -> [onset, end, probabilities, order]: the events not yet ended

    def end(label: str) -> None:
        onset, until, probabilities, order = running.pop(label)
        duration = round(until - onset, UNSCORED_DECIMALS)
        score = sum(probabilities) / len(probabilities)
        onset = round(onset, UNSCORED_DECIMALS)
        events.append({"onset": onset, "duration": duration, "trial_type": label, "score": score, "order": order})

    for window, (start, until) in zip(windows, counted_spans(windows) if windows else []):
        start, until = float(start), float(until)
        if until <= start:
            continue
        if window.get("no_signal") or window.get("label") is None:
            present: dict[str, float] = {}
        elif each_output:
            present = {}
            for entry in window["labels"]:
                if entry["score"] > 0.5:  # (two outputs of one name: the label is present while either is)
                    present[entry["label"]] = max(entry["score"], present.get(entry["label"], 0.0))
        else:
            present = {window["label"]: window["score"]}
        for label in list(running):
            if label not in present or running[label][1] < start - _TOUCHING_SECONDS:
                end(label)
        for order, (label, probability) in enumerate(present.items()):
            if label in running:
                running[label][1] = until
                running[label][2].append(probability)
            else:
                running[label] = [start, until, [probability], order]
    for label in list(running):
        end(label)
    events.sort(key=lambda event: (event["onset"], event["order"]))
    for event in events:
        del event["order"]
    return events
