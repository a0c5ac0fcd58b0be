"""Synthetic pre-training generators and streams: determinism, contracts, the maths and the physiology they claim."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest
import torch
from scipy.signal import find_peaks, welch

from citrus_hf.data import synthetic
from citrus_hf.data.streams import MixedWindowStream, SyntheticWindowStream
from citrus_hf.data.synthetic import (
    CauKerGenerator,
    Kernel,
    SyntheticExtraMissingError,
    build_generator,
    dense_kernel_composition,
    list_generators,
    sample_kernel_composition,
)

RATE, LENGTH, PATCH = 50.0, 250, 10  # 5 s windows: quick to simulate, long enough for several beats


def _draw(name: str, seed: int, rate: float = RATE, length: int = LENGTH, **options) -> np.ndarray:
    return build_generator(name, **options).generate(np.random.default_rng(seed), rate, length)


# ------------------------------------------------------------------------------------------------- every generator


@pytest.mark.parametrize("name", list_generators())
def test_generator_is_deterministic_finite_and_of_the_requested_shape(name):
    first, again, other = _draw(name, 3), _draw(name, 3), _draw(name, 4)
    assert first.dtype == np.float32 and first.ndim == 2 and first.shape[1] == LENGTH and len(first) >= 1
    assert np.isfinite(first).all() and (first.std(axis=1) > 0).all()
    np.testing.assert_array_equal(first, again)
    assert other.shape != first.shape or not np.allclose(other, first)


@pytest.mark.parametrize("name", ["cauker", "eeg", "ppg"])
def test_generator_handles_a_fractional_rate_and_a_long_window(name):
    windows = _draw(name, 0, rate=62.5, length=500)
    assert windows.shape[1] == 500 and np.isfinite(windows).all()


def test_simulators_leave_the_callers_global_random_state_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    _draw("eeg", 0)  # neurodsp draws from np.random; the generator seeds and restores it
    assert np.random.rand() == expected


def test_settings_are_json_and_carry_name_version_and_modality():
    for name in list_generators():
        settings = build_generator(name).settings()
        assert json.loads(json.dumps(settings)) == settings
        assert settings["name"] == name and settings["version"] and settings["modality"]


def test_bad_settings_fail_with_the_setting_named():
    with pytest.raises(ValueError, match="heart_rate"):
        build_generator("ecg", heart_rate=(120.0, 60.0))
    with pytest.raises(ValueError, match="noise"):
        build_generator("rsp", noise=(-1.0, 0.1))
    with pytest.raises(ValueError, match="kernel_bank"):
        build_generator("cauker", kernel_bank="nope")
    with pytest.raises(ValueError, match="Unknown synthetic generator 'ekg'.*ecg"):
        build_generator("ekg")
    with pytest.raises(ValueError, match="Bad options for the 'eeg' generator"):
        build_generator("eeg", alpha=3)
    with pytest.raises(ValueError, match="sampling_rate"):
        _draw("cauker", 0, rate=0.0)


def test_missing_simulator_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "neurokit2", None)  # what `import neurokit2` sees when it is not installed
    with pytest.raises(SyntheticExtraMissingError, match=r"citrus-hf\[synthetic\]"):
        _draw("ppg", 0)
    # the numpy-only generators do not need it
    assert np.isfinite(_draw("cauker", 0)).all() and np.isfinite(_draw("ecg", 0)).all()
    # a mix that needs it is refused when it is built, before a stream draws a window, naming what to leave out
    with pytest.raises(
        SyntheticExtraMissingError, match=r"synthetic mix \('ppg', 'emg'\) needs neurokit2.*ppg=0 emg=0"
    ):
        synthetic.generators_from_spec({"cauker": 0.5, "ppg": 0.25, "emg": 0.25, "eeg": 0.1})
    assert len(synthetic.generators_from_spec({"cauker": 0.5, "ecg": 0.5})[0]) == 2


# ------------------------------------------------------------------------------------ Gaussian-process maths (CauKer)


def _empirical_covariance(kernels, operators, length, count, seed=0):
    samples = sample_kernel_composition(kernels, operators, length, np.random.default_rng(seed), num_samples=count)
    return samples.T @ samples / count  # zero-mean processes


@pytest.mark.parametrize(
    ("kernels", "operators"),
    [
        ([Kernel("rbf", 0.1)], []),
        # periodic factors: a cosine series, exact; their products and sums with decaying kernels
        ([Kernel("periodic", 12.0), Kernel("periodic", 7.0), Kernel("matern12", 1.0)], ["*", "+"]),
        ([Kernel("periodic", 24.0), Kernel("rational_quadratic", 0.1)], ["*"]),
        # a linear factor times a stationary one, plus white noise: the sum-of-products expansion
        ([Kernel("linear", 1.0), Kernel("matern32", 5.0), Kernel("white", 0.1)], ["*", "+"]),
        ([Kernel("rbf", 0.1), Kernel("white", 1.0), Kernel("linear", 0.0), Kernel("periodic", 10.0)], ["+", "*", "*"]),
    ],
)
def test_gp_samples_have_the_composed_kernels_covariance(kernels, operators):
    length, count = 40, 10_000
    expected = dense_kernel_composition(kernels, operators, length)
    empirical = _empirical_covariance(kernels, operators, length, count)
    # Monte-Carlo error of a covariance entry: sqrt((K_ii K_jj + K_ij^2) / count); allow 5 of them.
    variance = np.diag(expected)
    tolerance = 5 * np.sqrt((np.outer(variance, variance) + expected**2) / count) + 1e-9
    assert (np.abs(empirical - expected) <= tolerance).mean() > 0.995


def test_smoothest_kernels_are_within_the_documented_five_percent():
    for kernel in (Kernel("rbf", 1.0), Kernel("rational_quadratic", 1.0), Kernel("rational_quadratic", 10.0)):
        expected = dense_kernel_composition([kernel], [], 48)
        empirical = _empirical_covariance([kernel], [], 48, 20_000)
        assert np.abs(empirical - expected).max() < 0.05 + 0.04  # embedding error + Monte-Carlo error


def test_cauker_roots_and_graph_follow_the_settings():
    generator = CauKerGenerator(num_nodes=5, max_parents=2, series_per_graph=3)
    windows = generator.generate(np.random.default_rng(0), RATE, 128)
    assert windows.shape == (3, 128)
    nodes = generator.graph(np.random.default_rng(1), 128)
    assert len(nodes) == 5 and all(node.shape == (128,) for node in nodes)
    # KernelSynth is the same code without the causal graph: one zero-mean GP series per draw
    assert _draw("kernel_synth", 0).shape == (1, LENGTH)


# ------------------------------------------------------------------------------------ physiology they claim to model


def _dominant_frequency(signal: np.ndarray, rate: float, low: float, high: float) -> float:
    frequencies, power = welch(signal, fs=rate, nperseg=min(len(signal), int(rate * 20)))
    band = (frequencies >= low) & (frequencies <= high)
    return float(frequencies[band][np.argmax(power[band])])


@pytest.mark.parametrize("heart_rate", [55.0, 72.0, 130.0])
def test_ecg_rr_interval_matches_the_requested_heart_rate(heart_rate):
    rate = 250.0
    generator = build_generator(
        "ecg",
        heart_rate=(heart_rate, heart_rate),
        heart_rate_std=(1.0, 1.0),
        noise=(0.0, 0.0),
        baseline_wander=(0.0, 0.0),
        inverted_probability=0.0,
        segment_seconds=30.0,
    )
    ecg = generator.generate(np.random.default_rng(0), rate, int(30 * rate)).ravel()
    # R peaks: the tallest deflections, at least 60% of the heart period apart
    peaks, _ = find_peaks(ecg, height=np.percentile(ecg, 99) * 0.6, distance=int(0.6 * 60 / heart_rate * rate))
    rr_seconds = np.median(np.diff(peaks)) / rate
    assert rr_seconds == pytest.approx(60.0 / heart_rate, rel=0.03)


def test_ecgsyn_matches_a_generic_ode_solver_on_the_same_equations():
    """The vectorised ECGSYN against solve_ivp on McSharry's equations (constant RR, no respiratory baseline)."""
    from scipy.integrate import solve_ivp

    rate, seconds, heart_rate = 500.0, 6.0, 75.0
    fast = synthetic.ecgsyn(
        np.random.default_rng(0), seconds, rate, heart_rate=heart_rate, heart_rate_std=0.0, respiratory_baseline=0.0
    )
    # with heart_rate_std = 0 every RR is 60 / heart_rate; McSharry's model with that constant rate:
    hr_factor = math.sqrt(heart_rate / 60)
    angles = np.deg2rad([-70, -15, 0, 15, 100]) * np.array([hr_factor**0.5, hr_factor, 1, hr_factor, hr_factor**0.5])
    amplitudes, widths = np.array([1.2, -5, 30, -7.5, 0.75]), np.array([0.25, 0.1, 0.1, 0.1, 0.4]) * hr_factor
    omega = 2 * np.pi * heart_rate / 60

    def derivative(t, state):
        theta = math.atan2(state[1], state[0])
        alpha = 1 - math.hypot(state[0], state[1])
        offsets = (theta - angles + np.pi) % (2 * np.pi) - np.pi
        z_forcing = -np.sum(amplitudes * offsets * np.exp(-0.5 * (offsets / widths) ** 2))
        return [
            alpha * state[0] - omega * state[1],
            alpha * state[1] + omega * state[0],
            z_forcing - state[2],
        ]

    times = np.arange(int(12 * rate)) / rate
    solution = solve_ivp(derivative, (0, times[-1]), [1, 0, 0.04], t_eval=times, max_step=1 / rate, rtol=1e-8)
    reference = solution.y[2][int(4 * rate) :]  # past the transient
    # the fast one starts at a random phase: align by cross-correlation, then compare the shape
    reference = (reference - reference.min()) * 1.6 / (reference.max() - reference.min()) - 0.4
    window = fast[: int(4 * rate)]
    scores = [np.corrcoef(window, reference[shift : shift + len(window)])[0, 1] for shift in range(int(rate))]
    assert max(scores) > 0.999


def test_eeg_alpha_peak_is_at_the_requested_frequency():
    rate = 128.0
    generator = build_generator(
        "eeg",
        alpha_frequency=(10.5, 10.5),
        alpha_amplitude=(2.0, 2.0),
        theta_amplitude=(0.0, 0.0),
        beta_amplitude=(0.0, 0.0),
        burst_probability=(0.5, 0.5),
    )
    eeg = generator.generate(np.random.default_rng(0), rate, int(60 * rate)).ravel()
    assert _dominant_frequency(eeg, rate, 6.0, 16.0) == pytest.approx(10.5, abs=0.1)
    # and the background is 1/f-like: more power below 4 Hz than at 30-40 Hz
    frequencies, power = welch(eeg, fs=rate, nperseg=int(4 * rate))
    assert (
        power[(frequencies > 1) & (frequencies < 4)].mean() > 10 * power[(frequencies > 30) & (frequencies < 40)].mean()
    )


def test_respiration_and_ppg_rates_match_the_requested_ones():
    rsp = build_generator("rsp", respiratory_rate=(15.0, 15.0), segment_seconds=60.0)
    breathing = rsp.generate(np.random.default_rng(0), RATE, int(60 * RATE)).ravel()
    assert _dominant_frequency(breathing, RATE, 0.05, 1.0) == pytest.approx(15 / 60, abs=0.03)
    ppg = build_generator("ppg", heart_rate=(84.0, 84.0), frequency_modulation=(0.0, 0.0), ibi_randomness=(0.0, 0.0))
    pulse = ppg.generate(np.random.default_rng(0), RATE, int(60 * RATE)).ravel()
    assert _dominant_frequency(pulse, RATE, 0.5, 3.0) == pytest.approx(84 / 60, abs=0.05)


# -------------------------------------------------------------------------------------------------------- streams


def _take(stream, count: int) -> list[dict[str, torch.Tensor]]:
    iterator = iter(stream)
    return [next(iterator) for _ in range(count)]


def _cauker_stream(**options) -> SyntheticWindowStream:
    return SyntheticWindowStream(RATE, 100, PATCH, generators=[build_generator("cauker")], **options)


def test_stream_windows_plug_into_the_pretraining_loop():
    windows = _take(_cauker_stream(), 6)
    for window in windows:
        assert window["input_values"].shape == (1, 100) and window["input_values"].dtype == torch.float32
        assert window["patch_mask"].shape == (10,) and window["patch_mask"].dtype == torch.int64
        assert bool(window["patch_mask"].all()) and int(window["source_id"]) == 1
        values = window["input_values"].double()
        assert abs(float(values.mean())) < 1e-5 and float(values.std(unbiased=False)) == pytest.approx(1, abs=1e-4)
    batch = next(iter(torch.utils.data.DataLoader(_cauker_stream(), batch_size=4)))
    assert batch["input_values"].shape == (4, 1, 100) and batch["patch_mask"].shape == (4, 10)


def test_stream_is_reproducible_per_seed_and_distinct_per_seed_and_rank():
    def values(**options):
        return torch.stack([w["input_values"] for w in _take(_cauker_stream(**options), 8)])

    same = values(seed=5)
    assert torch.equal(same, values(seed=5))
    assert not torch.allclose(same, values(seed=6))
    rank0 = values(seed=5, rank=0, world_size=2)
    assert torch.equal(rank0, same)  # rank 0 of any world is the single-process stream
    assert not torch.allclose(rank0, values(seed=5, rank=1, world_size=2))


def test_dataloader_workers_draw_distinct_streams():
    loader = torch.utils.data.DataLoader(_cauker_stream(seed=1), batch_size=None, num_workers=2)
    iterator = iter(loader)
    windows = [next(iterator)["input_values"] for _ in range(6)]  # workers take turns: 0, 1, 0, 1, ...
    del iterator
    assert not torch.allclose(windows[0], windows[1])
    assert torch.equal(windows[0], _take(_cauker_stream(seed=1), 1)[0]["input_values"])  # worker 0's stream


def _binomial_bounds(count: int, probability: float, sigmas: float = 4.0) -> tuple[float, float]:
    spread = sigmas * math.sqrt(count * probability * (1 - probability))
    return count * probability - spread, count * probability + spread


def _real_corpus(tmp_path, count: int = 40, length: int = 100):
    """A memory-mapped Arrow corpus of aligned windows, as `align_corpus` writes them (here row i is all i)."""
    import datasets

    rows = {
        "input_values": [np.full((1, length), float(i), np.float32) for i in range(count)],
        "patch_mask": [np.ones(length // PATCH, np.int8) for _ in range(count)],
    }
    features = datasets.Features(
        {
            "input_values": datasets.Array2D(shape=(1, length), dtype="float32"),
            "patch_mask": datasets.List(datasets.Value("int8"), length=length // PATCH),
        }
    )
    datasets.Dataset.from_dict(rows, features=features).save_to_disk(str(tmp_path / "corpus"))
    return datasets.load_from_disk(str(tmp_path / "corpus")).with_format("numpy")


def test_mixed_stream_holds_the_synthetic_ratio_and_generator_weights(tmp_path):
    corpus = _real_corpus(tmp_path)
    generators = [build_generator("kernel_synth"), build_generator("cauker", causal_model=False)]
    stream = MixedWindowStream(
        corpus, 0.3, RATE, 100, PATCH, generators=generators, weights=[3.0, 1.0], seed=2, rank=1, world_size=4
    )
    draws = 2000
    windows = _take(stream, draws)
    sources = np.array([int(w["source_id"]) for w in windows])
    synthetic_count = int((sources > 0).sum())
    low, high = _binomial_bounds(draws, 0.3)
    assert low <= synthetic_count <= high
    low, high = _binomial_bounds(synthetic_count, 0.75)
    assert low <= int((sources == 1).sum()) <= high
    # real windows are rows of the corpus, read as they are (no re-normalisation), drawn across the whole shard of
    # rank 1 of 4 (rows 1, 5, ..., 37)
    real_rows = {float(w["input_values"][0, 0]) for w, s in zip(windows, sources) if s == 0}
    assert real_rows == set(map(float, range(1, 40, 4)))
    settings = stream.settings()
    assert json.loads(json.dumps(settings)) == settings
    assert settings["synthetic_ratio"] == 0.3 and settings["sources"] == ["real", "kernel_synth", "cauker"]
    assert [g["weight"] for g in settings["generators"]] == [0.75, 0.25]
    assert settings["stream_version"] == synthetic.STREAM_VERSION


def test_mixed_stream_without_synthetic_share_reads_only_the_corpus(tmp_path):
    windows = _take(MixedWindowStream(_real_corpus(tmp_path), 0.0, RATE, 100, PATCH), 50)
    assert all(int(w["source_id"]) == 0 for w in windows)
    assert all(w["patch_mask"].dtype == torch.int64 for w in windows)


def test_stream_arguments_are_checked(tmp_path):
    with pytest.raises(ValueError, match="multiple of `patch_length`"):
        SyntheticWindowStream(RATE, 105, PATCH)
    with pytest.raises(ValueError, match="num_channels=1"):
        SyntheticWindowStream(RATE, 100, PATCH, num_channels=3)
    with pytest.raises(ValueError, match="synthetic_ratio"):
        MixedWindowStream(None, 1.5, RATE, 100, PATCH)
    with pytest.raises(ValueError, match="needs `real_windows`"):
        MixedWindowStream(None, 0.5, RATE, 100, PATCH)
    with pytest.raises(ValueError, match="rank"):
        SyntheticWindowStream(RATE, 100, PATCH, rank=2, world_size=2)
    with pytest.raises(ValueError, match="weights"):
        SyntheticWindowStream(RATE, 100, PATCH, generators=[build_generator("cauker")], weights=[0.0])
    mismatched = MixedWindowStream(_real_corpus(tmp_path, length=200), 0.0, RATE, 100, PATCH)
    with pytest.raises(ValueError, match=r"shape \(1, 200\).*align the corpus"):
        _take(mismatched, 1)


def test_generators_from_a_json_spec():
    generators, weights = synthetic.generators_from_spec({"cauker": 0.5, "ecg": {"weight": 0.5, "noise": [0, 0.01]}})
    assert [g.name for g in generators] == ["cauker", "ecg"] and weights == [0.5, 0.5]
    assert generators[1].noise == (0, 0.01)
    with pytest.raises(ValueError, match="no 'weight'"):
        synthetic.generators_from_spec({"ecg": {"noise": [0, 0.01]}})


@pytest.mark.slow  # a subprocess that imports torch and neurokit2: about 10 s on a loaded 2-core machine
def test_speed_benchmark_runs(tmp_path):
    import subprocess
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "synthetic_speed.py"
    output = tmp_path / "speed.json"
    command = [sys.executable, str(script), "--seconds", "0.01", "--generators", "cauker", "--json", str(output)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(output.read_text())
    assert set(results) == {"cauker/50x500", "cauker/100x3000", "default_stream/50x500", "default_stream/100x3000"}
    assert all(speed > 0 for speed in results.values())
