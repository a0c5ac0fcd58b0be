"""Mutation audit of the synthetic pre-training generators (audit 82, `citrus_hf.data.synthetic`): each test pins a
documented fact (rates, lengths, seeding, parameter ranges, the physiology the docstrings state, the version contract)
that a plausible slip in the module would change without any other test noticing. Synthetic signals are the object
under test here (DATA.md: unit tests of the maths); no accuracy is claimed from them."""

from __future__ import annotations

import inspect
import json
import math
import re
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

from citrus_hf.data import synthetic
from citrus_hf.data.synthetic import (
    CauKerGenerator,
    Kernel,
    SimulatedRecordingGenerator,
    active_generators,
    build_generator,
    ecgsyn,
    ecgsyn_rr_process,
    generators_from_spec,
)

RATE, LENGTH = 50.0, 250


def _draw(name: str, seed: int, rate: float = RATE, length: int = LENGTH, **options) -> np.ndarray:
    return build_generator(name, **options).generate(np.random.default_rng(seed), rate, length)


# ---------------------------------------------------------------------------------------- the version contract


def test_numpy_only_generators_draw_what_their_version_drew():
    """`SyntheticGenerator.version` is bumped whenever the same settings and seed would give other series (a run's
    card names the versions it was trained on): these draws were recorded from version 1.0 of each generator, so a
    change of a bank, a range, a mean function or the order of the draws fails here until the version is bumped and
    the values recorded again. (The neurokit2 / neurodsp generators also depend on their simulator's version: their
    randomised options are pinned below instead.)"""
    recorded = {
        "cauker": ([326.4969892096706, 0.8768725688965793, 190.96325586293824, 196.89938089251518],
                   [2.2040467262268066, 0.0009058121358975768, 0.9702531099319458, -0.7810154557228088]),
        "kernel_synth": ([147.80337419529678], [0.7961982488632202]),
        "ecg": ([48.438584140269086, 55.946951440768316, 50.7425177039695, 52.712346794083714, 58.14299811313413,
                 64.0278912158683, 55.76221738872118, 57.6601556641981, 67.9055413648166, 58.94439415296074,
                 59.54581032102578, 61.43503822546336],
                [-0.13960114121437073, 0.44555598497390747, 0.30781790614128113, -0.10724195092916489,
                 0.16530358791351318, 0.5755205154418945, 0.03305744379758835, -0.2537960708141327,
                 0.33403730392456055, 0.23468844592571259, -0.006965537089854479, -0.20762667059898376]),
    }  # fmt: skip
    for name, (absolute_sums, first_values) in recorded.items():
        assert build_generator(name).version == "1.0", f"{name}: record the draws of the new version here"
        windows = _draw(name, 0).astype(np.float64)
        assert windows.shape == (len(absolute_sums), LENGTH), name
        np.testing.assert_allclose(np.abs(windows).sum(axis=1), absolute_sums, rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(windows[:, 0], first_values, rtol=1e-5, atol=1e-7, err_msg=name)


def test_simulator_options_of_the_neurokit_generators_are_those_of_version_1_0():
    """What each neurokit2 generator asks its simulator for, seed 0, a 61 s recording at 50 Hz (numpy only)."""
    recorded = {
        "ppg": {"heart_rate": 105.51136029553817, "frequency_modulation": 0.08093601412916109,
                "ibi_randomness": 0.008194704787238938, "drift": 0.016527635528529094,
                "motion_amplitude": 0.2439810717600817, "powerline_amplitude": 0.0, "burst_number": 2},
        "rsp": {"noise": 0.06369616873214544, "respiratory_rate": 13.935307702805147, "method": "breathmetrics"},
        "eda": {"noise": 0.03184808436607272, "scr_number": 1, "drift": -0.0008263817764264548},
        "emg": {"noise": 0.013489335688193516, "burst_number": 17, "burst_duration": 0.2532655811170531},
    }  # fmt: skip
    for name, options in recorded.items():
        generator = build_generator(name)
        assert generator.version == "1.0", f"{name}: record the options of the new version here"
        drawn = generator.simulator_options(np.random.default_rng(0), 61, 50)
        assert drawn.keys() == options.keys(), name
        for key, value in options.items():
            assert drawn[key] == (value if isinstance(value, str) else pytest.approx(value, rel=1e-9)), (name, key)


# --------------------------------------------------------------------------------------- seeding and randomness


@pytest.mark.parametrize(
    ("name", "fixed"),
    [
        ("ppg", {"heart_rate": (70.0, 70.0), "frequency_modulation": (0.1, 0.1), "ibi_randomness": (0.1, 0.1),
                 "drift": (0.5, 0.5), "motion_amplitude": (0.1, 0.1), "powerline_amplitude": (0.0, 0.0),
                 "burst_number": (0.0, 0.0)}),
        ("emg", {"bursts_per_10s": (2.0, 2.0), "burst_duration": (0.5, 0.5), "noise": (0.01, 0.01)}),
        ("eeg", {"aperiodic_exponent": (-2.0, -2.0), "theta_amplitude": (0.0, 0.0), "alpha_amplitude": (0.0, 0.0),
                 "beta_amplitude": (0.0, 0.0)}),
    ],
)  # fmt: skip
def test_a_simulator_with_fixed_settings_draws_another_recording_for_another_seed(name, fixed):
    """With every range fixed, only the seed the simulator gets (neurokit2's `random_state`, numpy's global generator
    for neurodsp) tells two draws apart: both come from the stream's generator, so different seeds must differ."""
    pytest.importorskip("neurodsp" if name == "eeg" else "neurokit2")
    first, again, other = (_draw(name, seed, segment_seconds=10.0, **fixed) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    assert first.shape == other.shape and not np.allclose(first, other)


def test_randomised_settings_are_drawn_uniformly_over_their_range():
    """Each randomised setting is drawn per recording over its whole `(low, high)` range (the PPG heart rate's
    default, 45-140 bpm): over 400 draws it reaches both ends' tenths and never leaves the range."""
    generator = build_generator("ppg")
    rng = np.random.default_rng(0)
    rates = np.array([generator.simulator_options(rng, 60, 50)["heart_rate"] for _ in range(400)])
    assert rates.min() >= 45.0 and rates.max() <= 140.0
    assert rates.min() < 45.0 + 9.5 and rates.max() > 140.0 - 9.5 and abs(rates.mean() - 92.5) < 5


# ------------------------------------------------------------------------------- recordings, windows and rates


_SIMULATED_RATES: list[int] = []


@dataclass
class _Sines(SimulatedRecordingGenerator):
    """A 1 Hz unit sine at whatever rate it is asked for; `flat_start` zeroes the first `flat_start` samples."""

    name: ClassVar[str] = "audit82_sines"
    version: ClassVar[str] = "1"
    modality: ClassVar[str] = "test"

    flat_start: int = 0
    segment_seconds: float = 10.0

    def simulate(self, rng: np.random.Generator, sampling_rate: int, num_samples: int) -> np.ndarray:
        _SIMULATED_RATES.append(sampling_rate)
        recording = np.sin(2 * np.pi * np.arange(num_samples) / sampling_rate)
        recording[: self.flat_start] = 0.0
        return recording


def test_a_recording_is_cut_into_the_whole_windows_its_segment_holds():
    """`segment_seconds * sampling_rate // length` consecutive windows, at least one."""
    assert _Sines(segment_seconds=20.0).generate(np.random.default_rng(0), RATE, LENGTH).shape == (4, LENGTH)
    assert _Sines(segment_seconds=3.0).generate(np.random.default_rng(0), RATE, LENGTH).shape == (1, LENGTH)
    assert _draw("ecg", 0, segment_seconds=20.0).shape == (4, LENGTH)


def test_a_fractional_rate_is_simulated_at_the_next_whole_rate_and_resampled():
    """10.5 Hz: the simulator runs at 11 Hz, and the windows hold the 1 Hz sine at 10.5 samples per second."""
    _SIMULATED_RATES.clear()
    windows = _Sines().generate(np.random.default_rng(0), 10.5, 21)
    assert _SIMULATED_RATES == [11] and windows.shape == (5, 21)
    expected = np.sin(2 * np.pi * np.arange(105) / 10.5)
    # resample_poly's filter pads the ends with zeros: compare the middle
    np.testing.assert_allclose(windows.ravel()[10:-10], expected[10:-10], atol=0.05)


def test_a_constant_window_of_a_recording_is_left_out_and_the_others_kept():
    windows = _Sines(flat_start=LENGTH).generate(np.random.default_rng(0), RATE, LENGTH)
    assert windows.shape == (1, LENGTH)  # 10 s at 50 Hz hold two windows; the first, all zeros, is dropped
    np.testing.assert_allclose(windows[0], np.sin(2 * np.pi * np.arange(LENGTH, 2 * LENGTH) / RATE), atol=1e-6)


# --------------------------------------------------------------------------------------------------- ECGSYN


def test_the_rr_process_has_mayer_and_respiratory_peaks_in_the_asked_ratio_and_spread():
    """McSharry's RR spectrum: Gaussians at 0.1 Hz and 0.25 Hz with power ratio `lf_hf_ratio`, mean `60 / hr`, and
    the standard deviation `heart_rate_std` (bpm) implies, `60 * std / hr**2` seconds."""
    rr = ecgsyn_rr_process(np.random.default_rng(0), 1000.0, 75.0, 3.0, 2.0)
    assert len(rr) == 1024
    assert rr.mean() == pytest.approx(0.8) and rr.std() == pytest.approx(60 * 3.0 / 75.0**2)
    power = np.abs(np.fft.rfft(rr - rr.mean())) ** 2
    frequencies = np.fft.rfftfreq(len(rr), 1.0)  # one RR value per second
    low = power[(frequencies > 0.05) & (frequencies < 0.15)].sum()
    high = power[(frequencies > 0.2) & (frequencies < 0.3)].sum()
    assert low / high == pytest.approx(2.0, rel=1e-3) and (low + high) / power.sum() > 0.999
    assert frequencies[np.argmax(power)] == pytest.approx(0.1, abs=0.002)


def test_ecgsyn_output_length_range_and_respiratory_baseline():
    ecg = ecgsyn(np.random.default_rng(0), 10.3, 250.0)
    assert len(ecg) == round(10.3 * 250.0)
    assert ecg.min() == pytest.approx(-0.4) and ecg.max() == pytest.approx(1.2)  # mV, as ECGSYN scales it
    # without waves the output is the respiratory baseline alone: a 0.25 Hz sinusoid
    baseline = ecgsyn(np.random.default_rng(0), 40.0, 50.0, wave_amplitudes=(0.0,) * 5)
    frequencies = np.fft.rfftfreq(len(baseline), 1 / 50.0)
    assert frequencies[np.argmax(np.abs(np.fft.rfft(baseline - baseline.mean())))] == pytest.approx(0.25)


def test_ecgsyn_output_starts_after_the_transient():
    """The output starts 5-6 s into the simulation, when z has forgotten its start value: with a constant heart rate
    and no respiratory baseline every beat is the same from the second one on (the first holds resample_poly's edge)."""
    ecg = ecgsyn(np.random.default_rng(3), 8.0, 250.0, heart_rate=60.0, heart_rate_std=0.0, respiratory_baseline=0.0)
    beats = ecg[: 8 * 250].reshape(8, 250)
    assert np.abs(beats[1:7] - beats[7]).max() < 0.01


def _ecg(seed: int, **options) -> np.ndarray:
    settings = {"noise": (0.0, 0.0), "baseline_wander": (0.0, 0.0), "inverted_probability": 0.0, **options}
    return _draw("ecg", seed, length=3000, segment_seconds=60.0, **settings).ravel().astype(np.float64)


def test_ecg_baseline_wander_is_a_slow_sinusoid_of_the_asked_amplitude():
    """Baseline wander: a 0.05-0.5 Hz sinusoid of amplitude `baseline_wander` mV, added to the same beats."""
    wander = _ecg(0, baseline_wander=(0.3, 0.3)) - _ecg(0)
    assert 0.25 < np.abs(wander).max() <= 0.3 + 1e-6
    frequencies = np.fft.rfftfreq(len(wander), 1 / RATE)
    assert 0.05 - 1 / 60 <= frequencies[np.argmax(np.abs(np.fft.rfft(wander)))] <= 0.5 + 1 / 60


def test_an_ecg_lead_is_inverted_with_the_asked_probability():
    np.testing.assert_allclose(_ecg(2, inverted_probability=1.0), -_ecg(2), atol=1e-6)


# ------------------------------------------------------------------------------------ neurokit2 / neurodsp options


def test_ppg_leaves_out_mains_at_rates_where_it_would_alias_and_counts_bursts_per_minute():
    ppg = build_generator("ppg", powerline_amplitude=(0.05, 0.05), burst_number=(2.0, 2.0))
    assert ppg.simulator_options(np.random.default_rng(0), 90, 100)["powerline_amplitude"] == 0.0
    options = ppg.simulator_options(np.random.default_rng(0), 90, 101)
    assert options["powerline_amplitude"] == 0.05 and options["burst_number"] == 3  # 2 a minute over 90 s


def test_eda_responses_come_per_minute():
    eda = build_generator("eda", scr_per_minute=(6.0, 6.0))
    rng = np.random.default_rng(0)
    counts = [eda.simulator_options(rng, 120, 50)["scr_number"] for _ in range(300)]
    assert np.mean(counts) == pytest.approx(12.0, abs=0.8)  # Poisson with mean 6 a minute over 2 minutes


def test_emg_bursts_come_per_ten_seconds_and_fill_at_most_80_percent():
    emg = build_generator("emg", bursts_per_10s=(2.0, 2.0), burst_duration=(0.5, 0.5))
    assert emg.simulator_options(np.random.default_rng(0), 30, 50)["burst_number"] == 6
    crowded = build_generator("emg", bursts_per_10s=(8.0, 8.0), burst_duration=(1.5, 1.5))
    options = crowded.simulator_options(np.random.default_rng(0), 10, 50)
    assert options["burst_number"] == 8 and options["burst_number"] * options["burst_duration"] <= 0.8 * 10 + 1e-9


def _eeg(seed: int = 0, rate: float = 128.0, **options) -> np.ndarray:
    pytest.importorskip("neurodsp")
    quiet = {"theta_amplitude": (0.0, 0.0), "alpha_amplitude": (0.0, 0.0), "beta_amplitude": (0.0, 0.0)}
    settings = {**quiet, "burst_probability": (0.5, 0.5), "segment_seconds": 30.0, **options}
    return _draw("eeg", seed, rate=rate, length=int(30 * rate), **settings).ravel().astype(np.float64)


def test_an_eeg_rhythm_above_40_percent_of_the_rate_is_left_out():
    background = _eeg(rate=50.0)
    np.testing.assert_array_equal(_eeg(rate=50.0, beta_frequency=(22.0, 22.0), beta_amplitude=(0.7, 0.7)), background)
    assert not np.allclose(_eeg(rate=50.0, beta_frequency=(18.0, 18.0), beta_amplitude=(0.7, 0.7)), background)


def test_an_eeg_rhythm_has_its_amplitude_as_standard_deviation_inside_its_bursts():
    """Relative to the unit-variance background: a sine of standard deviation 2 (peak 2 sqrt 2) inside its bursts."""
    rhythm = _eeg(alpha_frequency=(10.0, 10.0), alpha_amplitude=(2.0, 2.0)) - _eeg(alpha_frequency=(10.0, 10.0))
    assert 2.0 * math.sqrt(2) * 0.9 < np.abs(rhythm).max() < 2.0 * math.sqrt(2) * 1.05


def test_eeg_burst_enter_and_leave_probabilities_are_drawn_apart(monkeypatch):
    sim = pytest.importorskip("neurodsp.sim")
    seen = []

    def recording_bursts(*args, burst_params, **kwargs):
        seen.append(dict(burst_params))
        return np.zeros(int(args[0] * args[1]) + 1)

    monkeypatch.setattr(sim, "sim_bursty_oscillation", recording_bursts)
    _draw("eeg", 0, rate=128.0, length=256, segment_seconds=4.0, theta_amplitude=(1.0, 1.0))
    assert seen and all(0.1 <= p <= 0.5 for params in seen for p in params.values())
    assert any(params["enter_burst"] != params["leave_burst"] for params in seen)


# ------------------------------------------------------------------------------------------ CauKer / KernelSynth


def test_a_root_composes_one_to_max_kernels_kernels(monkeypatch):
    counts = []
    sample = synthetic.sample_kernel_composition

    def counting(kernels, operators, length, rng, num_samples=1):
        counts.append(len(kernels))
        return sample(kernels, operators, length, rng, num_samples)

    monkeypatch.setattr(synthetic, "sample_kernel_composition", counting)
    generator = CauKerGenerator(max_kernels=3, causal_model=False, series_per_graph=1)
    rng = np.random.default_rng(0)
    for _ in range(40):
        generator.gp_root(rng, 32)
    assert set(counts) == {1, 2, 3}
    assert build_generator("kernel_synth").max_kernels == 5  # KernelSynth: 1-5 kernels


@pytest.mark.parametrize(
    ("kernel", "reference"),
    [
        (Kernel("periodic", 24.0), lambda k: k.ExpSineSquared(length_scale=1.0, periodicity=24.0 / 48)),
        (Kernel("rbf", 0.1), lambda k: k.RBF(length_scale=0.1)),
        (Kernel("rational_quadratic", 10.0), lambda k: k.RationalQuadratic(length_scale=1.0, alpha=10.0)),
        (Kernel("matern12", 1.0), lambda k: k.Matern(length_scale=1.0 / 48, nu=0.5)),
        (Kernel("matern32", 5.0), lambda k: k.Matern(length_scale=5.0 / 48, nu=1.5)),
        (Kernel("white", 0.1), lambda k: k.WhiteKernel(noise_level=0.1)),
        (Kernel("constant", 1.0), lambda k: k.ConstantKernel(constant_value=1.0)),
        (Kernel("linear", 10.0), lambda k: k.DotProduct(sigma_0=10.0)),
    ],
    ids=lambda value: value.kind if isinstance(value, Kernel) else "",
)
def test_each_kernel_is_scikit_learns_kernel_of_the_same_name(kernel, reference):
    """`Kernel`'s docstring: the kinds follow scikit-learn's kernels (length scales 1 unless given; lengths in samples
    converted to x units per length, here 48)."""
    kernels = pytest.importorskip("sklearn.gaussian_process.kernels")
    x = np.linspace(0.0, 1.0, 48)
    np.testing.assert_allclose(kernel.dense(x), reference(kernels)(x[:, None]), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("sigmoid", lambda v: 1 / (1 + np.exp(-v))),
        ("sin", np.sin),
        ("tanh", np.tanh),
        ("softplus", lambda v: np.log1p(np.exp(v))),
        ("swish", lambda v: v / (1 + np.exp(-v))),
        ("gaussian", lambda v: np.exp(-(v**2))),
        ("relu", lambda v: np.maximum(v, 0)),
    ],
)
def test_deterministic_activations_are_their_textbook_functions(name, reference):
    values = np.linspace(-6.0, 6.0, 121)
    np.testing.assert_allclose(synthetic._activation(name, values, np.random.default_rng(0)), reference(values))


# ---------------------------------------------------------------------------------------- settings and refusals


def test_settings_on_the_edge_of_their_stated_ranges():
    with pytest.raises(ValueError, match="segment_seconds"):
        build_generator("ecg", segment_seconds=0)
    with pytest.raises(ValueError, match="`length` must be a whole number of samples per window, at least 2"):
        _draw("ecg", 0, length=1)
    with pytest.raises(ValueError, match="heart_rate"):
        build_generator("ecg", heart_rate=(0.0, 60.0))
    with pytest.raises(ValueError, match="morphology_jitter"):
        build_generator("ecg", morphology_jitter=0.5)
    assert build_generator("ecg", inverted_probability=1.0).inverted_probability == 1.0
    # every node returned; no parents at all (every node a GP root)
    assert CauKerGenerator(num_nodes=3, series_per_graph=3, max_parents=0).generate(
        np.random.default_rng(0), RATE, 64
    ).shape == (3, 64)


def test_the_default_mix_is_half_cauker_and_half_physiology():
    weights = synthetic.DEFAULT_GENERATOR_WEIGHTS
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["cauker"] + weights["kernel_synth"] == pytest.approx(0.5)


def test_a_spec_weight_of_zero_is_taken_and_a_missing_weight_is_refused_after_the_zeros_are_dropped():
    generators, weights = generators_from_spec({"cauker": 1, "ecg": 0})
    assert [g.name for g in generators] == ["cauker", "ecg"] and weights == [1.0, 0.0]
    with pytest.raises(ValueError, match="no 'weight'"):
        generators_from_spec(active_generators({"cauker": 1, "ecg": {"noise": [0, 0.01]}}))


def test_the_kernel_banks_are_kernelsynths_and_caukers():
    """Chronos' kernel-synth.py bank (periods in samples: hours in a day and a week, days in a month and a year, weeks,
    months, quarters, with its duplicates), written out here apart from the module's table; CauKer_V2 swaps the
    constant kernel for Matern 1/2 (1 sample) and Matern 3/2 (5 samples)."""
    periods = (24, 48, 96, 24 * 7, 48 * 7, 96 * 7, 7, 14, 30, 60, 365, 365 * 2, 4, 26, 52, 4, 6, 12, 4, 4 * 10, 10)
    shared = (
        *(Kernel("periodic", float(p)) for p in periods),
        Kernel("linear", 0.0), Kernel("linear", 1.0), Kernel("linear", 10.0),
        Kernel("rbf", 0.1), Kernel("rbf", 1.0), Kernel("rbf", 10.0),
        Kernel("rational_quadratic", 0.1), Kernel("rational_quadratic", 1.0), Kernel("rational_quadratic", 10.0),
        Kernel("white", 0.1), Kernel("white", 1.0),
    )  # fmt: skip
    assert synthetic.KERNEL_SYNTH_BANK == (*shared, Kernel("constant", 1.0))
    assert synthetic.CAUKER_BANK == (*shared, Kernel("matern12", 1.0), Kernel("matern32", 5.0))


def test_a_broken_draw_of_citrus_hfs_own_generator_is_reported_as_its_bug():
    """A contract breach by one of the package's generators is a RuntimeError asking for a report (a generator of
    one's own gets a ValueError asking to fix it: test_ext_audit66)."""
    with pytest.raises(RuntimeError, match="'ecg' generator.*this is a bug in the generator, please report it"):
        synthetic._check_windows(np.zeros((2, LENGTH)), build_generator("ecg"), LENGTH)


# ------------------------------------------------------------------------ defects found by the audit (fixed here)


def test_a_single_number_for_a_range_setting_is_refused_naming_the_pair():
    """`heart_rate=72` (meaning a fixed rate) was taken, and every draw then failed inside a stream's worker with
    "'int' object is not subscriptable"; the ECG generator's own check said "Bad options: ... not subscriptable"."""
    for name, setting in (("ppg", "heart_rate"), ("ecg", "heart_rate"), ("eeg", "alpha_frequency")):
        with pytest.raises(ValueError, match=rf"`{setting}` is a \(low, high\) range.*\(72, 72\) for a fixed value"):
            build_generator(name, **{setting: 72})


def test_a_range_of_numpy_numbers_is_taken_and_its_settings_stay_json():
    """`(np.int64(50), np.int64(60))` was refused as "not a pair of finite numbers", and a numpy array was taken but
    made `settings()` (the model card's record of the mix) fail to serialise."""
    generator = build_generator("ecg", heart_rate=np.array([50.0, 60.0]), noise=(np.float32(0.0), np.int64(0)))
    assert generator.heart_rate == (50.0, 60.0) and type(generator.noise[1]) is int
    assert json.loads(json.dumps(generator.settings()))["heart_rate"] == [50.0, 60.0]
    same = build_generator("ecg", heart_rate=(50.0, 60.0), noise=(0.0, 0))
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    np.testing.assert_array_equal(generator.generate(rng_a, RATE, LENGTH), same.generate(rng_b, RATE, LENGTH))
    with pytest.raises(ValueError, match="`heart_rate` must be a \\(low, high\\) pair of finite numbers"):
        build_generator("ecg", heart_rate=(True, 2))  # a bool is no number, as everywhere in citrus-hf


def test_the_spec_example_in_the_docstring_builds():
    """The docstring's example named an option ("method") that no generator has."""
    example = re.search(r"`(\{.*?\})`", generators_from_spec.__doc__, re.S).group(1)
    generators, weights = generators_from_spec(json.loads(example))
    assert [g.name for g in generators] == ["cauker", "ecg"] and weights == [0.5, 0.5]


def test_the_documented_simulate_signature_is_the_one_called():
    """The base class's docstring told a subclass to take a fourth argument, `seconds`, that is never passed."""
    documented = re.search(r"`simulate\((.*?)\)`", SimulatedRecordingGenerator.__doc__).group(1).split(", ")
    assert documented == list(inspect.signature(SimulatedRecordingGenerator.simulate).parameters)[1:]
