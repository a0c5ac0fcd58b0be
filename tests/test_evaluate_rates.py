"""`citrus evaluate` and rates: a set whose rows have several sampling rates reaches MiniRocket at one rate, and
`--sampling-rate` is one number for the sets without a `sampling_rate` column or `NAME=HZ` per set.

Real rows of BasicMotions (10 Hz, 6 channels, 100 samples), saved with `save_to_disk`."""

from __future__ import annotations

import contextlib
import io

import datasets
import numpy as np
import pytest
from scipy.signal import resample_poly

from citrus_hf.commands.evaluate import build_parser
from citrus_hf.commands.main import main
from citrus_hf.data.splits import load_split
from citrus_hf.evaluation import ARMS, ProtocolConfig, run_protocol
from citrus_hf.evaluation.protocol import _dataset_context


def _rows(split: str) -> tuple[np.ndarray, np.ndarray]:
    rows = load_split("basic_motions", split).with_format("numpy")[:]
    return np.stack(rows["input_values"]).astype(np.float64), np.asarray(rows["label"], dtype=np.int64)


def _save(folder, make) -> str:
    datasets.DatasetDict(
        {split: datasets.Dataset.from_dict(make(*_rows(split))) for split in ("train", "test")}
    ).save_to_disk(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def mixed_rates(tmp_path_factory) -> str:
    """Every other row upsampled x2 (band-limited) and its `sampling_rate` 20 Hz; the others at their own 10 Hz."""

    def make(values, labels):
        rows = [resample_poly(row, 2, 1, axis=-1) if index % 2 else row for index, row in enumerate(values)]
        rates = [20.0 if index % 2 else 10.0 for index in range(len(values))]
        return {"input_values": [row.tolist() for row in rows], "label": labels, "sampling_rate": rates}

    return _save(tmp_path_factory.mktemp("mixed_rates"), make)


@pytest.fixture(scope="module")
def own_rate(tmp_path_factory) -> str:
    """BasicMotions with its own `sampling_rate` column (10 Hz)."""
    return _save(
        tmp_path_factory.mktemp("own_rate"),
        lambda values, labels: {"input_values": values, "label": labels, "sampling_rate": [10.0] * len(values)},
    )


@pytest.fixture(scope="module")
def no_rate(tmp_path_factory) -> str:
    """BasicMotions without a `sampling_rate` column: `--sampling-rate` gives its rows' rate."""
    return _save(tmp_path_factory.mktemp("no_rate"), lambda values, labels: {"input_values": values, "label": labels})


@pytest.fixture(scope="module")
def no_rate_too(tmp_path_factory) -> str:
    return _save(
        tmp_path_factory.mktemp("no_rate_too"), lambda values, labels: {"input_values": values, "label": labels}
    )


def _citrus(*argv: str) -> tuple[int, str]:
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = main(list(argv))
    return code, errors.getvalue()


# ------------------------------------------------------------------------ 1. MiniRocket on rows of several rates


@pytest.mark.parametrize("arm", ["minirocket", "minirocket-raw"])
def test_minirocket_sees_rows_of_several_rates_resampled_to_one(arm, mixed_rates, tmp_path, caplog):
    """The repro: every other row at 20 Hz reached MiniRocket as 200 samples next to rows of 100 (zero-padded to 200),
    and it scored 69.1 against 100.0 on the same rows at one rate. Now every row is at 10 Hz, the most common of the
    two (ties: the lowest), the same signal as the 10 Hz original, and the run says so once."""
    from citrus_hf.evaluation.protocol import _at_one_rate

    config = ProtocolConfig(output_dir=str(tmp_path / "ev"), datasets=[mixed_rates], arms=[arm], show_progress=False)
    context = _dataset_context(config, mixed_rates)
    prepared = ARMS[arm].prepare(_at_one_rate(context, [arm]), None)
    assert (
        f"{mixed_rates}: its rows have 2 sampling rates (40 at 10 Hz, 40 at 20 Hz); the {arm} arm sees every row resampled to 10 Hz"
        in caplog.text
    )
    original, _ = _rows("train")
    assert context.splits.train_rows is None  # the pool: train whole (a set of one's own, and no run reads validation)
    pool = prepared["pool"]
    assert pool.shape == original.shape  # (32, 6, 100): no row padded to 200 samples
    if arm == "minirocket":  # normalised as the CiTrus arms' input: compare in the original's units
        mean = np.asarray(context.overrides["normalization_mean"])[:, None]
        pool = pool * np.asarray(context.overrides["normalization_std"])[:, None] + mean
    # the CiTrus arms' context is untouched: their feature extractor resamples each row from its own rate
    upsampled = np.asarray(context.splits.train["sampling_rate"]) == 20.0
    assert 0 < upsampled.sum() < len(upsampled)
    np.testing.assert_allclose(pool[~upsampled], original[~upsampled], atol=1e-9)  # rows at 10 Hz: as they were
    # the upsampled rows come back down: up and down again, two anti-aliasing low-passes take 5% of the RMS (the
    # content near 5 Hz); the rows at 20 Hz as they were would be another signal to MiniRocket (and 200 samples)
    error = np.sqrt(np.mean((pool[upsampled] - original[upsampled]) ** 2)) / original[upsampled].std()
    assert error < 0.1, error


def test_a_set_at_one_rate_reaches_minirocket_as_it_is(own_rate, tmp_path, caplog):
    from citrus_hf.evaluation.protocol import _at_one_rate

    config = ProtocolConfig(output_dir=str(tmp_path / "ev"), datasets=[own_rate], arms=["minirocket"])
    context = _dataset_context(config, own_rate)
    assert _at_one_rate(context, ["minirocket"]) is context
    assert "resampled" not in caplog.text


def test_minirocket_scores_the_mixed_rates_as_the_set_at_one_rate(mixed_rates, own_rate, tmp_path, caplog):
    """End to end (aeon): the same draws score the same on the set at one rate and on its mixed-rate copy (67.5%
    against 100% before, where the rows at 20 Hz reached MiniRocket as they were)."""
    scores = {}
    for name, folder in (("mixed", mixed_rates), ("one", own_rate)):
        config = ProtocolConfig(
            output_dir=str(tmp_path / name),
            datasets=[folder],
            arms=["minirocket"],
            budgets=["2"],
            seeds=[0],
            show_progress=False,
        )
        scores[name] = run_protocol(config).runs[0]["accuracy"]
    assert scores["mixed"] == pytest.approx(scores["one"], abs=0.05), scores
    assert caplog.text.count("resampled to 10 Hz") == 1  # (a warning of the protocol's logger)


# ------------------------------------------------------------------------------------ 2. --sampling-rate per set


def test_sampling_rate_takes_one_rate_per_set(no_rate, no_rate_too):
    parser = build_parser()
    config = parser.parse(
        ["--datasets", no_rate, no_rate_too, "--sampling-rate", f"{no_rate}=10", f"{no_rate_too}=255"]
    )
    assert config.sampling_rate == {no_rate: 10.0, no_rate_too: 255.0}
    assert parser.parse(["--datasets", no_rate, "--sampling-rate", "10"]).sampling_rate == 10.0
    assert parser.parse(["--datasets", no_rate]).sampling_rate is None
    # each set's context aligns at its own rate
    contexts = {name: _dataset_context(config, name) for name in (no_rate, no_rate_too)}
    assert {name: context.config.sampling_rate for name, context in contexts.items()} == config.sampling_rate


def test_a_settings_file_gives_rates_per_set(no_rate, tmp_path):
    settings = tmp_path / "evaluate.yaml"
    settings.write_text(f"datasets: [{no_rate}]\nsampling_rate:\n  {no_rate}: 250\n")
    assert build_parser().parse([str(settings)]).sampling_rate == {no_rate: 250.0}
    settings.write_text(f"datasets: [{no_rate}]\nsampling_rate: 250\n")
    assert build_parser().parse([str(settings)]).sampling_rate == 250.0


@pytest.mark.parametrize(
    ("rates", "words"),
    [
        (["{no_rate}=10", "elsewhere/nothing_here=5"], ["--sampling-rate names 'elsewhere/nothing_here'", "not among"]),
        (["{no_rate}=fast"], ["--sampling-rate", "invalid number", "fast"]),
        (["{no_rate}=0"], ["--sampling-rate", "above 0"]),
        (["fast"], ["--sampling-rate", "invalid number 'fast'"]),
        (["10", "{no_rate}=10"], ["--sampling-rate", "one number or KEY=VALUE pairs", "'10'"]),
        (["{no_rate}=10", "{own_rate}=10"], ["has a sampling_rate column", "--sampling-rate", "=10", "drop it"]),
        # a set this run leaves out may be named (a settings file for several runs), but each set needs its rate
        (
            ["{no_rate_too}=10"],
            ["no `sampling_rate` column and --sampling-rate gives no rate for it", "add {no_rate}=HZ"],
        ),
    ],
)
def test_bad_rates_per_set_are_one_line(rates, words, no_rate, no_rate_too, own_rate, tmp_path):
    names = {"no_rate": no_rate, "no_rate_too": no_rate_too, "own_rate": own_rate}
    rates = [rate.format(**names) for rate in rates]
    words = [word.format(**names) for word in words]
    code, errors = _citrus(
        "evaluate", "--datasets", no_rate, own_rate, "--sampling-rate", *rates, "--arms", "prior",
        "--budgets", "1", "--seeds", "0", "--output-dir", str(tmp_path / "ev"), "--no-show-progress",
    )  # fmt: skip
    assert code == 2 and errors.startswith("error: ") and errors.count("\n") == 1, errors
    for word in words:
        assert word in errors, (word, errors)


def test_one_rate_leaves_a_set_with_its_own_rate_column_at_its_rates(no_rate, own_rate, tmp_path, caplog):
    """The repro: `--datasets A B --sampling-rate 10` refused B, which has its own rate column. One number is the rate
    of the sets without the column; the others keep theirs, and the run says so once."""
    code, errors = _citrus(
        "evaluate", "--datasets", no_rate, own_rate, "--sampling-rate", "10", "--arms", "prior",
        "--budgets", "1", "--seeds", "0", "--output-dir", str(tmp_path / "ev"), "--no-show-progress",
    )  # fmt: skip
    assert code == 0, errors
    notice = f"{own_rate}: its rows keep their own rates (its sampling_rate column); --sampling-rate 10 is"
    assert caplog.text.count(notice) == 1, caplog.text  # (a warning of the protocol's logger)
    assert f"{no_rate}: its rows keep" not in caplog.text
    config = ProtocolConfig(output_dir=str(tmp_path / "ev"), datasets=[no_rate, own_rate], sampling_rate=10)
    assert _dataset_context(config, no_rate).config.sampling_rate == 10
    assert _dataset_context(config, own_rate).config.sampling_rate is None
