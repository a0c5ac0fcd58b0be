"""Synthetic pre-training signal: documented, seeded, versioned generators and endless window streams.

Real recordings reachable offline are a few tens of channel-hours; synthetic series are a published answer for
classification foundation models (CauKer, Xie et al., ICLR 2026: Gaussian-process kernel compositions mixed through
random structural causal models) and for forecasting (Chronos' KernelSynth). Physiology-shaped simulators (neurokit2,
neurodsp) add the rhythms of bio-signals. Synthetic windows are for pre-training only: every accuracy claim stays on
real recordings, and a checkpoint's card states the share of synthetic windows and the generator settings
(:meth:`MixedWindowStream.settings`).

Generators (registered by name, :func:`build_generator`):

=================  ==========  =====================================================================================
name               modality    what one draw is
=================  ==========  =====================================================================================
``cauker``         generic     a random DAG of GP roots (random kernel compositions + mean functions) and nonlinear
                               children; ``series_per_graph`` of its nodes, one window each
``kernel_synth``   generic     one zero-mean GP sample of a random kernel composition (Chronos' KernelSynth: CauKer
                               without the causal model)
``ecg``            ECG         ECGSYN (McSharry 2003) vectorised here: random heart rate, HRV, P-QRS-T morphology
``ppg``            PPG         neurokit2 ``ppg_simulate``, random heart rate, modulation, drift, motion, bursts
``rsp``            RESP        neurokit2 ``rsp_simulate`` (breathmetrics), random breathing rate and noise
``eda``            EDA         neurokit2 ``eda_simulate``, random number of skin-conductance responses, drift
``emg``            EMG         neurokit2 ``emg_simulate``, random bursts
``eeg``            EEG         neurodsp: 1/f^k aperiodic background + bursty theta / alpha / beta oscillations
=================  ==========  =====================================================================================

A physiological draw simulates one recording of ``segment_seconds`` and cuts it into consecutive windows, so that
the simulator's fixed cost is paid once per recording (a real corpus, too, holds many windows per recording).

The streams (:mod:`citrus_hf.data.streams`, torch iterable datasets; this module needs only numpy) yield
``{"input_values": (1, context_length) float32, "patch_mask": (num_patches,) int64, "source_id":
() int64, "example_id": () int64}`` windows (``example_id``: a real window's row, -1 for a synthetic one) at the model's rate, z-scored per window like :class:`CiTrusFeatureExtractor`'s default, ready
for the pre-training loop. They are seeded: the same ``(seed, rank, DataLoader worker)`` gives the same stream, and
different ranks or workers get independent streams. A stream restarts from its beginning when iterated again (to
continue a run after a restart with fresh windows, pass another seed).

Quick start::

    from citrus_hf.data.streams import MixedWindowStream, SyntheticWindowStream

    synthetic = SyntheticWindowStream(sampling_rate=50, context_length=500, patch_length=10, seed=0)
    window = next(iter(synthetic))  # {"input_values": (1, 500), "patch_mask": (50,), "source_id": (), "example_id": ()}
    mixed = MixedWindowStream(aligned_corpus, synthetic_ratio=0.3, sampling_rate=50, context_length=500,
                              patch_length=10, seed=0, rank=accelerator.process_index,
                              world_size=accelerator.num_processes)
    mixed.settings()                        # JSON-able, for the model card

The neurokit2 / neurodsp generators need the ``synthetic`` extra (``pip install 'citrus-hf[synthetic]'``);
``cauker``, ``kernel_synth`` and ``ecg`` need only numpy and scipy. Speed: ``python benchmarks/synthetic_speed.py``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from dataclasses import fields as dataclass_fields
from typing import Any, ClassVar

import numpy as np

from .._extras import MissingExtraError, check_installed, is_installed
from .._logs import warnings_captured
from ..vocabulary_citrus import redefines

#: Version of the stream's output format and sampling scheme (bumped when a seed would give other windows). 1.1: a
#: mixed stream's real windows come from the rank's own shard, in passes over a run (1.0: uniformly with
#: replacement from the whole corpus by every rank), and every window carries `example_id`.
STREAM_VERSION = "1.1"

SYNTHETIC_EXTRA_HINT = "pip install 'citrus-hf[synthetic]'"


class SyntheticExtraMissingError(MissingExtraError):
    """A physiological generator needs neurokit2 / neurodsp, which come with the ``synthetic`` extra."""


def _import_extra(module: str, generator: str):
    """Import an optional simulator package, or say which extra brings it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise SyntheticExtraMissingError(
            f"The {generator!r} synthetic generator needs `{module.split('.')[0]}`, which is not installed. Install "
            f"the extra: {SYNTHETIC_EXTRA_HINT} (or use the numpy-only generators 'cauker' / 'kernel_synth')."
        ) from error


@contextlib.contextmanager
def _seeded_global_numpy(rng: np.random.Generator):
    """Seed numpy's global generator from `rng` for the duration of a simulator call, then restore it.

    neurodsp draws from `np.random` directly; seeding it from the stream's generator keeps the stream reproducible
    without disturbing the caller's global random state.
    """
    saved = np.random.get_state()
    np.random.seed(int(rng.integers(2**32)))
    try:
        yield
    finally:
        np.random.set_state(saved)


def _check_positive(name: str, value: float) -> None:
    # the package's number checks, which refuse a bool (`True` is an int, and was read as 1); imported here so that
    # `import citrus_hf.data` stays free of transformers
    from ..configuration_citrus import is_real_number

    if not (is_real_number(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a positive finite number, got {value!r}.")


def _check_draw(rng: Any, sampling_rate: Any, length: Any) -> None:
    """The arguments of `SyntheticGenerator.generate`, checked before they reach a simulator (whose errors, such as
    a ZeroDivisionError for a length of 0, would not say which argument was wrong)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"`rng` must be a numpy Generator, got {rng!r} ({type(rng).__name__}): every draw comes from it, e.g. "
            "`np.random.default_rng(seed)`."
        )
    from ..configuration_citrus import as_sampling_rate  # the config's and the extractor's check, `True` refused

    as_sampling_rate(sampling_rate)
    if isinstance(length, (bool, np.bool_)) or not isinstance(length, (int, np.integer)) or length < 2:
        raise ValueError(
            f"`length` must be a whole number of samples per window, at least 2 (a window of one sample is constant), "
            f"got {length!r}."
        )


def _check_range(name: str, bounds: Sequence[float], low: float = -math.inf, high: float = math.inf) -> None:
    """A `(low, high)` range of a randomised parameter: two finite numbers, low <= high, inside `[low, high]`."""
    from ..configuration_citrus import is_real_number  # numpy's numbers too (`np.int64(60)` was refused), not a bool

    if len(bounds) != 2 or not all(is_real_number(v) and math.isfinite(v) for v in bounds) or bounds[0] > bounds[1]:
        raise ValueError(f"`{name}` must be a (low, high) pair of finite numbers with low <= high, got {bounds!r}.")
    if bounds[0] < low or bounds[1] > high:
        raise ValueError(f"`{name}` must lie within [{low}, {high}], got {tuple(bounds)}.")


def _as_range(name: str, value: Any) -> tuple:
    """A range setting as the tuple its draws and `settings()` read: a pair given as a list or a numpy array (whose
    numbers become Python's, so that the settings stay JSON-able) is taken; a single number is refused here, naming
    the pair that fixes it (it was taken, and every draw then failed with "'int' object is not subscriptable")."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (tuple, list)):
        raise ValueError(
            f"`{name}` is a (low, high) range that every recording draws from: give a pair, e.g. ({value!r}, "
            f"{value!r}) for a fixed value, got {value!r}."
        )
    return tuple(v.item() if isinstance(v, np.generic) else v for v in value)


def _uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1])) if bounds[0] < bounds[1] else float(bounds[0])


# ------------------------------------------------------------------------------------------------- generator base


class SyntheticGenerator(ABC):
    """A seeded generator of single-channel synthetic series.

    Subclasses are dataclasses whose fields are the generator's settings (JSON-able: numbers, strings, pairs; a plain
    class's public attributes stand for them), and set the class attributes `name` (registry key), `version` (bumped
    whenever the same settings and seed would give other series) and `modality`.
    """

    name: ClassVar[str]
    version: ClassVar[str]
    modality: ClassVar[str]
    #: The optional simulator package it calls (the ``synthetic`` extra installs it), or None for numpy only.
    simulator_package: ClassVar[str | None] = None

    @abstractmethod
    def generate(self, rng: np.random.Generator, sampling_rate: float, length: int) -> np.ndarray:
        """One draw: consecutive windows of one simulated recording (or series of one causal graph).

        Args:
            rng: the only source of randomness (the same generator state gives the same windows).
            sampling_rate: samples per second of the output.
            length: samples per window.

        Returns:
            `(num_windows, length)` float32, `num_windows >= 1`, finite, each window non-constant.
        """

    def settings(self) -> dict[str, Any]:
        """The generator's name, version, modality and every setting, as JSON-able values: a dataclass's fields, or
        the public attributes of a generator of one's own written as a plain class."""
        # a plain class registers and draws as well (nothing needs its fields before here), and failed inside
        # `dataclasses.asdict` once a stream described itself (the pre-training summary, an invalid window's message)
        fields = asdict(self) if is_dataclass(self) else {k: v for k, v in vars(self).items() if not k.startswith("_")}
        values = {key: list(value) if isinstance(value, tuple) else value for key, value in fields.items()}
        return {"name": self.name, "version": self.version, "modality": self.modality, **values}


_GENERATORS: dict[str, type[SyntheticGenerator]] = {}


def register_generator(cls: type[SyntheticGenerator]) -> type[SyntheticGenerator]:
    """Class decorator: make a generator available by its `name` to :func:`build_generator` and the streams.

    Raises:
        ValueError: a generator of that name is registered already: registry names are unique. A generator class
            defined again (a notebook cell run twice) replaces its first definition, as in every registry
            (`vocabulary_citrus.redefines`).
    """
    if cls.name in _GENERATORS and not redefines(_GENERATORS[cls.name], cls):
        raise ValueError(
            f"The synthetic generator {cls.name!r} is already registered ({_GENERATORS[cls.name].__qualname__}); "
            "registry names must be unique: give yours another name."
        )
    _GENERATORS[cls.name] = cls
    return cls


def list_generators() -> list[str]:
    """Names of the registered synthetic generators."""
    return list(_GENERATORS)


def build_generator(name: str, **options: Any) -> SyntheticGenerator:
    """The registered generator `name` with `options` overriding its default settings."""
    if name not in _GENERATORS:
        raise ValueError(f"Unknown synthetic generator {name!r}; registered: {', '.join(_GENERATORS)}.")
    try:
        return _GENERATORS[name](**options)
    except TypeError as error:
        raise ValueError(f"Bad options for the {name!r} generator: {error}.") from None


def _check_windows(windows: Any, generator: SyntheticGenerator, length: int) -> np.ndarray:
    """Guard the generator contract (`SyntheticGenerator.generate`): `(k, length)` windows, k >= 1, finite, none
    constant; returned as float32. The streams check every generator's draw with it (`generated_windows`), so a
    generator of one's own that breaks the contract is named here, not taken for a recording or an extractor problem
    further on (a constant window z-scores to NaN).

    Raises:
        ValueError: a generator registered by other code than citrus-hf's, naming it, what it returned and the
            contract.
        RuntimeError: one of citrus-hf's own generators (a bug to report).
    """
    try:
        array = np.asarray(windows, dtype=np.float64)
    except (TypeError, ValueError):  # ragged rows, None, text
        array = None
    problem = None
    if array is None:
        problem = f"returned {type(windows).__name__}, no array of numbers"
    elif array.ndim != 2 or array.shape[0] < 1 or array.shape[1] != length:
        problem = f"returned windows of shape {array.shape}"
    elif not np.isfinite(array).all():
        problem = "returned windows holding NaN or inf"
    elif constant := int((np.ptp(array, axis=1) == 0).sum()):
        problem = f"returned {constant} constant window(s) of {array.shape[0]}"
    if problem is None:
        return np.asarray(windows).astype(np.float32, copy=False)
    contract = f"finite (num_windows, {length}) windows, num_windows >= 1, none constant"
    where = f"The {generator.name!r} generator ({type(generator).__name__}.generate) {problem} instead of {contract}"
    if type(generator).__module__.partition(".")[0] == __name__.partition(".")[0]:
        raise RuntimeError(f"{where}; this is a bug in the generator, please report it with its settings "
                           f"{generator.settings()}.")  # fmt: skip
    raise ValueError(
        f"{where} (SyntheticGenerator.generate's contract); fix the generator (its settings: {generator.settings()})."
    )


def generated_windows(
    generator: SyntheticGenerator, rng: np.random.Generator, sampling_rate: float, length: int
) -> np.ndarray:
    """One draw of `generator` (`generate(rng, sampling_rate, length)`), checked against the contract
    (`_check_windows`): `(num_windows, length)` float32. What the streams draw every generator's windows with."""
    return _check_windows(generator.generate(rng, sampling_rate, length), generator, length)


# ------------------------------------------------------------------------------------------ Gaussian-process kernels


@dataclass(frozen=True)
class Kernel:
    """One base kernel of a bank, on the time axis `x = linspace(0, 1, length)` as in CauKer / KernelSynth.

    `kind` and its parameter follow scikit-learn's kernels of the same names (length scales default to 1):
    "periodic" (ExpSineSquared, `parameter` = period in samples, converted to x units per length), "rbf"
    (length scale), "rational_quadratic" (alpha), "matern12" / "matern32" (length scale in samples), "white"
    (noise level), "constant" (value), "linear" (DotProduct, sigma_0).
    """

    kind: str
    parameter: float

    STATIONARY: ClassVar[tuple[str, ...]] = (
        "periodic",
        "rbf",
        "rational_quadratic",
        "matern12",
        "matern32",
        "constant",
    )
    KINDS: ClassVar[tuple[str, ...]] = (*STATIONARY, "linear", "white")

    def __post_init__(self):
        # An unknown kind (a misspelling, "Periodic", or scikit-learn's class name "ExpSineSquared") was only refused
        # when sampled, as "not a stationary kernel", which sent the user looking at stationarity.
        if self.kind not in self.KINDS:
            raise ValueError(f"Unknown kernel kind {self.kind!r}; use one of {', '.join(self.KINDS)}.")

    def at_lags(self, lags: np.ndarray, length: int) -> np.ndarray:
        """`k(tau)` of a stationary kernel for lags `tau` in x units, `(len(lags),)` float64."""
        if self.kind == "periodic":
            period = self.parameter / length
            return np.exp(-2.0 * np.sin(np.pi * lags / period) ** 2)
        if self.kind == "rbf":
            return np.exp(-0.5 * (lags / self.parameter) ** 2)
        if self.kind == "rational_quadratic":
            return (1.0 + lags**2 / (2.0 * self.parameter)) ** (-self.parameter)
        if self.kind == "matern12":
            return np.exp(-lags / (self.parameter / length))
        if self.kind == "matern32":
            scaled = math.sqrt(3.0) * lags / (self.parameter / length)
            return (1.0 + scaled) * np.exp(-scaled)
        if self.kind == "constant":
            return np.full_like(lags, self.parameter)
        raise ValueError(f"{self.kind!r} is not a stationary kernel.")

    def dense(self, x: np.ndarray) -> np.ndarray:
        """The full covariance matrix `(n, n)` on points `x`: the reference the fast sampler is tested against."""
        if self.kind == "linear":
            return self.parameter**2 + np.outer(x, x)
        if self.kind == "white":
            return self.parameter * np.eye(len(x))
        return self.at_lags(np.abs(x[:, None] - x[None, :]), len(x))


# Periods in samples of CauKer's / KernelSynth's ExpSineSquared kernels (their calendar periods: hours in a day and a
# week, days in a month and a year, weeks, months, quarters), duplicates kept so that the draw probabilities match.
_BANK_PERIODS = (24, 48, 96, 168, 336, 672, 7, 14, 30, 60, 365, 730, 4, 26, 52, 4, 6, 12, 4, 40, 10)
_SHARED_KERNELS = (
    *(Kernel("periodic", float(p)) for p in _BANK_PERIODS),
    *(Kernel("linear", s) for s in (0.0, 1.0, 10.0)),
    *(Kernel("rbf", s) for s in (0.1, 1.0, 10.0)),
    *(Kernel("rational_quadratic", a) for a in (0.1, 1.0, 10.0)),
    *(Kernel("white", s) for s in (0.1, 1.0)),
)
#: KernelSynth's bank (Chronos, Ansari et al. 2024) = CauKer's first release.
KERNEL_SYNTH_BANK = (*_SHARED_KERNELS, Kernel("constant", 1.0))
#: CauKer's bank (CauKer_V2): the constant kernel replaced by two Matern kernels (length 1 and 5 samples).
CAUKER_BANK = (*_SHARED_KERNELS, Kernel("matern12", 1.0), Kernel("matern32", 5.0))
KERNEL_BANKS = {"cauker": CAUKER_BANK, "kernel_synth": KERNEL_SYNTH_BANK}


def _check_composition(kernels: Sequence[Kernel], operators: Sequence[str]) -> None:
    """Refuse a composition that is not `k1 op1 k2 ... kn`: at least one kernel and one "+" or "*" between each two.
    (A test of `op in "+*"` let "" and "+*" through, read as products, and `zip` dropped the kernels past the last
    operator without a word.)"""
    if not kernels:
        raise ValueError("A kernel composition needs at least one kernel, got none.")
    if len(operators) != len(kernels) - 1 or any(op not in ("+", "*") for op in operators):
        raise ValueError(
            f"Need {len(kernels) - 1} operators from '+', '*' between {len(kernels)} kernels, got {list(operators)}."
        )


def _expand_products(kernels: Sequence[Kernel], operators: Sequence[str]) -> list[list[Kernel]]:
    """Expand the left fold `((k1 op1 k2) op2 k3) ...` into a sum of products (each a list of base kernels).

    Kernel algebra distributes: `(a + b) * c = a * c + b * c`, so a left fold of n kernels has at most n terms.
    """
    terms = [[kernels[0]]]
    for operator, kernel in zip(operators, kernels[1:], strict=True):
        if operator == "+":
            terms.append([kernel])
        else:
            for term in terms:
                term.append(kernel)
    return terms


def _embedding_size(length: int) -> int:
    """Circulant size for a grid of `length` points: even, >= 2 (length - 1), twice a fast FFT length."""
    from scipy.fft import next_fast_len

    return 2 * next_fast_len(length - 1)


def _circulant_eigenvalues(lag_values: np.ndarray) -> np.ndarray:
    """Eigenvalues `(m,)` of the circulant embedding of a stationary covariance (`lag_values`: `k(0 .. m/2 steps)`).

    The covariance of a stationary kernel on a regular grid is a Toeplitz matrix; embedded in a circulant matrix of
    size `m`, its eigenvalues are the FFT of the first row, and `fft(sqrt(eig / m) * complex_normal)` gives two exact
    samples (real and imaginary parts) in O(m log m) instead of a Cholesky's O(n^3). The embedding is a valid
    covariance when no eigenvalue is negative; kernels that have not decayed by lag m/2 give negative ones.
    """
    return np.fft.fft(np.concatenate([lag_values, lag_values[-2:0:-1]])).real


def _circulant_scales(lag_values: np.ndarray) -> np.ndarray:
    """`sqrt(eig / m)` of the circulant embedding, negative eigenvalues clipped to 0 (the standard approximation)."""
    eigenvalues = _circulant_eigenvalues(lag_values)
    return np.sqrt(np.clip(eigenvalues, 0.0, None) / len(eigenvalues))


#: Largest share of negative eigenvalue mass for which a periodic product is sampled through one circulant.
_NEGATIVE_MASS_TOLERANCE = 1e-3


def _complex_stationary_samples(
    scales: np.ndarray | None, length: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """`(count, length)` complex samples whose real and imaginary parts are independent GP(S) samples.

    `scales` is S's circulant square-root spectrum (:func:`_circulant_scales`); None means S = 1, whose samples are
    random constants (returned as `(count, 1)`, which broadcasts).
    """
    if scales is None:
        return rng.standard_normal((count, 1)) + 1j * rng.standard_normal((count, 1))
    noise = rng.standard_normal((count, len(scales))) + 1j * rng.standard_normal((count, len(scales)))
    return np.fft.fft(scales * noise, axis=-1)[:, :length]


_LINE_WEIGHT_FLOOR = 1e-3  # spectral lines of periodic factors lighter than this share of the total are dropped
_MAX_LINES = 16


def _periodic_lines(kernel: Kernel, length: int) -> tuple[np.ndarray, np.ndarray]:
    """ExpSineSquared (length scale 1) as a cosine series: `exp(-2 sin^2(pi tau / p)) = sum_k w_k cos(2 pi k tau / p)`.

    From `exp(z cos t) = I_0(z) + 2 sum_k I_k(z) cos(k t)` with `z = 1`: `w_0 = e^-1 I_0(1)`, `w_k = 2 e^-1 I_k(1)`.
    Returns the frequencies (rad per unit of x) and weights of the lines above the floor.
    """
    from scipy.special import ive

    harmonics = np.arange(16)
    weights = ive(harmonics, 1.0) * np.where(harmonics == 0, 1.0, 2.0)
    keep = weights >= _LINE_WEIGHT_FLOOR
    return 2 * np.pi * harmonics[keep] / (kernel.parameter / length), weights[keep]


def _multiply_lines(
    first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Product of two cosine series: `cos(a t) cos(b t) = (cos((a + b) t) + cos((a - b) t)) / 2`, merged, pruned."""
    (frequencies_a, weights_a), (frequencies_b, weights_b) = first, second
    frequencies = np.concatenate(
        [(frequencies_a[:, None] + frequencies_b).ravel(), np.abs(frequencies_a[:, None] - frequencies_b).ravel()]
    )
    weights = np.tile((weights_a[:, None] * weights_b).ravel() / 2, 2)
    merged, inverse = np.unique(np.round(frequencies, 9), return_inverse=True)
    merged_weights = np.bincount(inverse.ravel(), weights=weights)
    order = np.argsort(-merged_weights)[:_MAX_LINES]
    keep = order[merged_weights[order] >= _LINE_WEIGHT_FLOOR * merged_weights.sum()]
    return merged[keep], merged_weights[keep]


def sample_kernel_composition(
    kernels: Sequence[Kernel], operators: Sequence[str], length: int, rng: np.random.Generator, num_samples: int = 1
) -> np.ndarray:
    """Zero-mean GP samples of a kernel composition on `x = linspace(0, 1, length)`, without a Cholesky.

    The composition is expanded into a sum of product terms, sampled independently and added (the sum of
    independent GPs has the summed kernel). A product term's kernel is written `P(tau) * poly(x x') * S(tau)`:

    - periodic factors multiply into a cosine series `P(tau) = sum_l w_l cos(f_l tau)` (the heaviest 16 lines above
      1e-3 of the weight: at most about 1% of the variance is dropped), unless `P * S` decays inside the circulant
      embedding (negative eigenvalue mass below 1e-3), where the whole product is sampled by one circulant;
    - linear factors `prod_j (s_j^2 + x x')` into a polynomial `sum_d c_d (x x')^d` with `c_d >= 0`;
    - the other stationary factors pointwise into `S(tau)`, sampled by circulant embedding (exact for the decaying
      kernels; the smoothest ones, RBF / rational quadratic with length scale 1 window, are off by at most about 5%
      of their variance, from clipping the embedding's negative eigenvalues).

    The term's sample is `sum_{l,d} sqrt(w_l c_d) x^d Re(exp(i f_l x) h_{l,d}(x))` with `h = g1 + i g2`, `g1, g2 ~
    GP(S)` independent, whose covariance is the term's kernel. A white-noise factor makes the term diagonal: noise
    with variance `k(x, x)`.

    Args:
        kernels: the base kernels, folded left to right.
        operators: "+" or "*" between consecutive kernels (`len(kernels) - 1` of them).
        length: samples per series (>= 2).
        num_samples: independent samples to draw.

    Returns:
        `(num_samples, length)` float64.
    """
    _check_composition(kernels, operators)
    if length < 2:
        raise ValueError(f"`length` must be at least 2 samples, got {length}.")
    x = np.linspace(0.0, 1.0, length)
    lags = np.arange(_embedding_size(length) // 2 + 1) * (x[1] - x[0])  # the circulant's lags, beyond the grid
    total = np.zeros((num_samples, length))
    for term in _expand_products(kernels, operators):
        stationary = None  # S(lags); None while S = 1
        periodic: list[Kernel] = []
        polynomial = np.ones(1)  # coefficients of (x x')^d, lowest first
        white_level = None
        for kernel in term:
            if kernel.kind == "linear":
                polynomial = np.polynomial.polynomial.polymul(polynomial, [kernel.parameter**2, 1.0])
            elif kernel.kind == "white":
                white_level = kernel.parameter * (1.0 if white_level is None else white_level)
            elif kernel.kind == "periodic":
                periodic.append(kernel)
            else:
                values = kernel.at_lags(lags, length)
                stationary = values if stationary is None else stationary * values
        if white_level is not None:
            # k(x, x) of the other factors is S(0) * poly(x^2) (periodic kernels are 1 at lag 0).
            at_zero = 1.0 if stationary is None else stationary[0]
            variance = white_level * at_zero * np.polynomial.polynomial.polyval(x**2, polynomial)
            total += np.sqrt(variance) * rng.standard_normal((num_samples, length))
            continue
        lines = (np.zeros(1), np.ones(1))  # (frequencies, weights) of the periodic factors' cosine series
        scales = None if stationary is None else _circulant_scales(stationary)
        if periodic:
            # One circulant for the whole stationary product when it decays inside the embedding (its clipped
            # negative eigenvalues are then negligible): one FFT. Otherwise the periodic factors become lines.
            product = np.prod([kernel.at_lags(lags, length) for kernel in periodic], axis=0)
            if stationary is not None:
                product = product * stationary
            eigenvalues = _circulant_eigenvalues(product)
            if -eigenvalues[eigenvalues < 0].sum() <= _NEGATIVE_MASS_TOLERANCE * eigenvalues[eigenvalues > 0].sum():
                scales = np.sqrt(np.clip(eigenvalues, 0.0, None) / len(eigenvalues))
            else:
                for kernel in periodic:
                    lines = _multiply_lines(lines, _periodic_lines(kernel, length))
        degrees = np.flatnonzero(polynomial > 0)
        frequencies = np.repeat(lines[0], len(degrees))  # (components,) = every (line, degree) pair
        weights = np.outer(lines[1], polynomial[degrees]).ravel()
        powers = np.tile(degrees, len(lines[0]))
        basis = np.sqrt(weights)[:, None] * x ** powers[:, None] * np.exp(1j * frequencies[:, None] * x)  # (C, length)
        draws = _complex_stationary_samples(scales, length, num_samples * len(weights), rng)
        # (num_samples, C, length or 1) x (C, length), summed over the components (broadcasting, not a complex BLAS
        # product, which is slower for so few rows)
        total += (draws.reshape(num_samples, len(weights), -1) * basis).sum(axis=1).real
    return total


def dense_kernel_composition(kernels: Sequence[Kernel], operators: Sequence[str], length: int) -> np.ndarray:
    """The composition's covariance matrix `(length, length)` computed directly (for tests and small grids)."""
    _check_composition(kernels, operators)
    x = np.linspace(0.0, 1.0, length)
    covariance = kernels[0].dense(x)
    for operator, kernel in zip(operators, kernels[1:], strict=True):
        covariance = covariance + kernel.dense(x) if operator == "+" else covariance * kernel.dense(x)
    return covariance


# -------------------------------------------------------------------------------------------------- mean functions


def _mean_function(name: str, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """CauKer's mean functions on `x` in [0, 1]: zero, linear trend, exponential trend, sparse anomalies (spikes)."""
    if name == "zero":
        return np.zeros_like(x)
    if name == "linear":
        return rng.uniform(-1.0, 1.0) * x + rng.uniform(-1.0, 1.0)
    if name == "exponential":
        return rng.uniform(0.5, 1.5) * np.exp(rng.uniform(0.5, 1.5) * x)
    if name == "anomaly":
        mean = np.zeros_like(x)
        for _ in range(rng.integers(1, 6)):
            mean[rng.integers(len(x))] += rng.uniform(-5.0, 5.0)
        return mean
    raise ValueError(f"Unknown mean function {name!r}.")


MEAN_FUNCTIONS = ("zero", "linear", "exponential", "anomaly")


def _activation(name: str, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """CauKer_V2's edge nonlinearities (numerically safe forms)."""
    if name == "sigmoid":
        positive = 1.0 / (1.0 + np.exp(-np.abs(values)))
        return np.where(values >= 0, positive, 1.0 - positive)
    if name == "sin":
        return np.sin(values)
    if name == "mod":
        return np.mod(values, rng.uniform(1.0, 5.0))
    if name == "tanh":
        return np.tanh(values)
    if name == "softplus":
        return np.logaddexp(0.0, values)
    if name == "swish":
        return 0.5 * values * (1.0 + np.tanh(values / 2.0))
    if name == "gaussian":
        return np.exp(-(values**2))
    if name == "linear":
        return rng.uniform(0.5, 2.0) * values + rng.uniform(-1.0, 1.0)
    if name == "relu":
        return np.maximum(values, 0.0)
    if name == "leaky_relu":
        return np.where(values > 0, values, rng.uniform(0.01, 0.3) * values)
    raise ValueError(f"Unknown activation {name!r}.")


ACTIVATIONS = ("sigmoid", "sin", "mod", "tanh", "softplus", "swish", "gaussian", "linear", "relu", "leaky_relu")


def _is_informative(series: np.ndarray) -> bool:
    """Finite and not constant (a saturated sigmoid or a constant root carries nothing to reconstruct)."""
    if not np.isfinite(series).all():
        return False
    spread = float(series.std())
    return spread > 1e-6 * max(1.0, float(np.abs(series).mean())) and spread < 1e30


# ---------------------------------------------------------------------------------------------- CauKer, KernelSynth


@register_generator
@dataclass
class CauKerGenerator(SyntheticGenerator):
    """CauKer (Xie et al., ICLR 2026): Gaussian-process roots mixed through a random structural causal model.

    One draw builds a random DAG of `num_nodes` nodes (each node takes up to `max_parents` earlier nodes as
    parents). Each root is a GP sample whose kernel is a random left fold (`+` or `*`) of 1 to `max_kernels` kernels
    drawn from the bank, plus a mean function (two of `mean_functions` combined by `+` or `*`). Each other node is
    a random activation of a random linear mix of its parents plus a bias. `series_per_graph` informative nodes are
    returned, one window each. Kernel periods are in samples (as in CauKer), so the same structures appear at any
    `sampling_rate`. Sampling is O(n log n) (:func:`sample_kernel_composition`, exact but for the small
    approximations it states), instead of CauKer's dense GPU multivariate normal.

    Attributes:
        kernel_bank: "cauker" (CauKer_V2's bank) or "kernel_synth" (Chronos').
        max_kernels: most kernels in one composition (CauKer: 7).
        num_nodes / max_parents: DAG size (CauKer's command line: 18 nodes, 6 parents).
        series_per_graph: windows returned per DAG (CauKer: 4).
        mean_functions: the mean-function library ("zero", "linear", "exponential", "anomaly").
        activations: the edge nonlinearities (CauKer_V2: sigmoid, sin, mod, tanh, softplus, swish, gaussian).
        causal_model: False samples each series as one GP root (KernelSynth).
    """

    name: ClassVar[str] = "cauker"
    version: ClassVar[str] = "1.0"
    modality: ClassVar[str] = "generic"

    kernel_bank: str = "cauker"
    max_kernels: int = 7
    num_nodes: int = 18
    max_parents: int = 6
    series_per_graph: int = 4
    mean_functions: tuple[str, ...] = MEAN_FUNCTIONS
    activations: tuple[str, ...] = ("sigmoid", "sin", "mod", "tanh", "softplus", "swish", "gaussian")
    causal_model: bool = True

    def __post_init__(self):
        self.mean_functions, self.activations = tuple(self.mean_functions), tuple(self.activations)
        if self.kernel_bank not in KERNEL_BANKS:
            raise ValueError(f"`kernel_bank` must be one of {sorted(KERNEL_BANKS)}, got {self.kernel_bank!r}.")
        for name, least in (("max_kernels", 1), ("num_nodes", 1), ("series_per_graph", 1), ("max_parents", 0)):
            value = getattr(self, name)
            # (`num_nodes=2.5` or `max_kernels=True` passed `int(value) >= 1`, and every draw then failed in a stream's
            # worker on a float range or drew one kernel; numpy's integers are taken, as Python's, for `settings()`)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
                raise ValueError(f"`{name}` must be a whole number >= {least}, got {value!r}.")
            setattr(self, name, int(value))
        if self.causal_model and self.series_per_graph > self.num_nodes:
            raise ValueError(f"`series_per_graph` ({self.series_per_graph}) exceeds `num_nodes` ({self.num_nodes}).")
        for label, chosen, known in (
            ("mean_functions", self.mean_functions, MEAN_FUNCTIONS),
            ("activations", self.activations, ACTIVATIONS),
        ):
            if not chosen or any(name not in known for name in chosen):
                raise ValueError(f"`{label}` must be a non-empty subset of {known}, got {chosen}.")

    def gp_root(self, rng: np.random.Generator, length: int) -> np.ndarray:
        """One root series `(length,)`: a random kernel composition's GP sample plus a random mean function."""
        bank = KERNEL_BANKS[self.kernel_bank]
        count = int(rng.integers(1, self.max_kernels + 1))
        kernels = [bank[i] for i in rng.integers(len(bank), size=count)]
        operators = ["+" if flip else "*" for flip in rng.integers(2, size=count - 1)]
        sample = sample_kernel_composition(kernels, operators, length, rng)[0]
        x = np.linspace(0.0, 1.0, length)
        first, second = (
            _mean_function(self.mean_functions[i], x, rng) for i in rng.integers(len(self.mean_functions), size=2)
        )
        mean = first + second if rng.integers(2) else first * second
        return sample + mean

    def graph(self, rng: np.random.Generator, length: int) -> list[np.ndarray]:
        """Every node's series of one random structural causal model, in topological order."""
        nodes: list[np.ndarray] = []
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            for index in range(self.num_nodes):
                count = int(rng.integers(0, min(index, self.max_parents) + 1))
                if count == 0:
                    nodes.append(self.gp_root(rng, length))
                    continue
                parents = rng.choice(index, size=count, replace=False)
                mix = np.stack([nodes[p] for p in parents], axis=-1) @ rng.standard_normal(count)
                activation = self.activations[rng.integers(len(self.activations))]
                nodes.append(_activation(activation, mix + rng.standard_normal(), rng))
        return nodes

    def generate(self, rng: np.random.Generator, sampling_rate: float, length: int) -> np.ndarray:
        _check_draw(rng, sampling_rate, length)
        for _ in range(100):
            candidates = self.graph(rng, length) if self.causal_model else [self.gp_root(rng, length)]
            informative = [series for series in candidates if _is_informative(series)]
            if informative:
                chosen = rng.permutation(len(informative))[: self.series_per_graph]
                return _check_windows(np.stack([informative[i] for i in chosen]), self, length)
        raise RuntimeError(f"100 draws of {self.settings()} gave no informative series; check the settings.")


@register_generator
@dataclass
class KernelSynthGenerator(CauKerGenerator):
    """KernelSynth (Chronos, Ansari et al. 2024): one zero-mean GP sample of a random composition of 1-5 kernels.

    The same code as :class:`CauKerGenerator` without the causal model and mean functions, over KernelSynth's bank.
    """

    name: ClassVar[str] = "kernel_synth"
    version: ClassVar[str] = "1.0"

    kernel_bank: str = "kernel_synth"
    max_kernels: int = 5
    series_per_graph: int = 1
    mean_functions: tuple[str, ...] = ("zero",)
    causal_model: bool = False


# ------------------------------------------------------------------------------------------ physiological simulators


@dataclass
class SimulatedRecordingGenerator(SyntheticGenerator):
    """Base of the simulator-backed generators: one draw simulates `segment_seconds` and cuts it into windows.

    Subclasses implement `simulate(rng, sampling_rate, num_samples)` returning at least `num_samples` samples. A field
    whose default is a tuple is a `(low, high)` range drawn from per recording. Every simulator call runs with numpy's
    global generator seeded from the stream's generator (and restored afterwards), so simulators that draw from
    `np.random` stay reproducible.
    """

    segment_seconds: float = 60.0

    #: Randomised settings that may be negative (every other `(low, high)` range must be >= 0).
    SIGNED_RANGES: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self):
        _check_positive("segment_seconds", self.segment_seconds)
        for field in dataclass_fields(self):
            value = getattr(self, field.name)
            if isinstance(field.default, tuple) or isinstance(value, (tuple, list)):
                value = _as_range(field.name, value)
                _check_range(field.name, value, low=-math.inf if field.name in self.SIGNED_RANGES else 0.0)
                setattr(self, field.name, value)

    @abstractmethod
    def simulate(self, rng: np.random.Generator, sampling_rate: int, num_samples: int) -> np.ndarray:
        """One simulated recording at a whole-number `sampling_rate`, `(>= num_samples,)`."""

    def generate(self, rng: np.random.Generator, sampling_rate: float, length: int) -> np.ndarray:
        _check_draw(rng, sampling_rate, length)
        num_windows = max(1, int(self.segment_seconds * sampling_rate // length))
        # The simulators want whole-number rates: simulate at the next one and resample when the rate is fractional.
        simulated_rate = int(math.ceil(sampling_rate - 1e-9))
        simulated_samples = int(math.ceil(num_windows * length * simulated_rate / sampling_rate))
        for _ in range(100):
            with _seeded_global_numpy(rng), np.errstate(all="ignore"), warnings_captured():
                warnings.simplefilter("ignore")  # neurokit2's notes on parameters it adjusted, once per recording
                recording = np.asarray(self.simulate(rng, simulated_rate, simulated_samples), np.float64)
            if simulated_rate != sampling_rate:
                from scipy.signal import resample_poly

                recording = resample_poly(recording, *_rational_ratio(sampling_rate, simulated_rate))
            if len(recording) < num_windows * length:
                raise RuntimeError(
                    f"The {self.name!r} simulator returned {len(recording)} samples instead of "
                    f"{num_windows * length}; this is a bug in the generator, please report it."
                )
            windows = recording[: num_windows * length].reshape(num_windows, length)
            windows = windows[[_is_informative(window) for window in windows]]
            if len(windows):
                return _check_windows(windows, self, length)
        raise RuntimeError(f"100 draws of {self.settings()} gave only constant windows; check the settings.")


def _seed_for(rng: np.random.Generator) -> int:
    """An integer seed for a simulator that takes `random_state`."""
    return int(rng.integers(2**31 - 1))


def ecgsyn_rr_process(
    rng: np.random.Generator, num_beats_seconds: float, heart_rate: float, heart_rate_std: float, lf_hf_ratio: float
) -> np.ndarray:
    """ECGSYN's RR-interval process (McSharry et al. 2003), one value per second, `(n,)` seconds with n a power of 2.

    Its spectrum is two Gaussians: Mayer waves at 0.1 Hz and respiratory sinus arrhythmia at 0.25 Hz (0.01 Hz wide),
    with power ratio `lf_hf_ratio`; random phases; scaled to mean `60 / heart_rate` and the standard deviation that
    `heart_rate_std` (beats per minute) implies.
    """
    n = int(2 ** math.ceil(math.log2(max(num_beats_seconds, 2.0))))
    angular = 2 * np.pi * np.arange(n) / n  # rad/s at 1 Hz
    density = lf_hf_ratio * np.exp(-0.5 * ((angular - 2 * np.pi * 0.1) / (2 * np.pi * 0.01)) ** 2)
    density = density + np.exp(-0.5 * ((angular - 2 * np.pi * 0.25) / (2 * np.pi * 0.01)) ** 2)
    symmetric = np.concatenate([density[: n // 2], density[n // 2 - 1 :: -1]])
    phases = 2 * np.pi * rng.uniform(size=n // 2 - 1)
    phases = np.concatenate([[0.0], phases, [0.0], -phases[::-1]])
    series = np.fft.ifft(np.sqrt(symmetric) * np.exp(1j * phases)).real
    rr_std = 60.0 * heart_rate_std / heart_rate**2
    return 60.0 / heart_rate + series * (rr_std / max(series.std(), 1e-12))


def ecgsyn(
    rng: np.random.Generator,
    seconds: float,
    sampling_rate: float,
    heart_rate: float = 60.0,
    heart_rate_std: float = 1.0,
    lf_hf_ratio: float = 0.5,
    wave_angles: Sequence[float] = (-70.0, -15.0, 0.0, 15.0, 100.0),
    wave_amplitudes: Sequence[float] = (1.2, -5.0, 30.0, -7.5, 0.75),
    wave_widths: Sequence[float] = (0.25, 0.1, 0.1, 0.1, 0.4),
    respiratory_baseline: float = 0.005,
    internal_rate: float = 512.0,
) -> np.ndarray:
    """ECGSYN (McSharry et al. 2003), vectorised: `(round(seconds * sampling_rate),)` ECG in mV.

    The model: a point turns on the unit circle at angular speed `2 pi / RR` (RR of the current beat, from
    :func:`ecgsyn_rr_process`), and `dz/dt = -sum_i a_i dtheta_i exp(-dtheta_i^2 / (2 b_i^2)) - (z - z0(t))` with
    P, Q, R, S, T waves at angles `theta_i`, and `z0` a 0.25 Hz respiratory baseline of amplitude
    `respiratory_baseline`. On the circle the phase is the integral of the angular speed, and the z equation is
    linear, so it is integrated exactly (zero-order hold, one IIR filter) on an `internal_rate` grid instead of by an
    adaptive Runge-Kutta solver: about 40x faster (60 s of ECG: 12 ms vs 560 ms) than neurokit2's
    `ecg_simulate(method="ecgsyn")`, whose equations and parameter scaling (widths and angles scaled with the heart
    rate; output scaled to [-0.4, 1.2] mV) it follows. The output starts 5-6 s into the simulation (a random
    phase; the start value of z forgotten).
    """
    internal_rate = max(float(internal_rate), float(sampling_rate))
    hr_factor = math.sqrt(heart_rate / 60.0)
    widths = np.asarray(wave_widths, dtype=np.float64) * hr_factor
    angles = np.deg2rad(wave_angles) * np.array([math.sqrt(hr_factor), hr_factor, 1.0, hr_factor, math.sqrt(hr_factor)])
    amplitudes = np.asarray(wave_amplitudes, dtype=np.float64)
    lead_in = 6.0  # seconds simulated before the output starts: z forgets its start value (time constant 1 s)
    total = seconds + lead_in + 1.0
    rr_series = ecgsyn_rr_process(rng, total, heart_rate, heart_rate_std, lf_hf_ratio)
    dt = 1.0 / internal_rate
    times = np.arange(int(math.ceil(total * internal_rate))) * dt
    # Beat onsets: each beat lasts the RR value at its start (as ECGSYN's piecewise-constant RR).
    onsets = [0.0]
    while onsets[-1] < times[-1]:
        onsets.append(onsets[-1] + float(np.interp(onsets[-1], np.arange(len(rr_series)), rr_series)))
    onsets = np.asarray(onsets)
    beat_rr = np.diff(onsets)[np.searchsorted(onsets, times, side="right") - 1]  # (time,)
    phase = np.concatenate([[0.0], np.cumsum(2 * np.pi * dt / beat_rr)[:-1]])
    offsets = phase[:, None] - angles[None, :]  # (time, waves)
    offsets = offsets - 2 * np.pi * np.round(offsets / (2 * np.pi))  # wrapped into [-pi, pi]
    forcing = -(amplitudes * offsets * np.exp(-0.5 * (offsets / widths) ** 2)).sum(axis=1)
    baseline = respiratory_baseline * np.sin(2 * np.pi * 0.25 * times)
    decay = math.exp(-dt)
    from scipy.signal import lfilter, resample_poly

    z, _ = lfilter([1.0 - decay], [1.0, -decay], forcing + baseline, zi=[0.04 * decay])
    start = int(round(rng.uniform(lead_in - 1.0, lead_in) * internal_rate))
    z = z[start:]
    if internal_rate != sampling_rate:
        up, down = _rational_ratio(sampling_rate, internal_rate)
        z = resample_poly(z, up, down)
    z = z[: int(round(seconds * sampling_rate))]
    return (z - z.min()) * 1.6 / (z.max() - z.min()) - 0.4


def _rational_ratio(target_rate: float, source_rate: float) -> tuple[int, int]:
    """`(up, down)` with `up / down` = `target_rate / source_rate` (to 1e-6), for `resample_poly`."""
    from fractions import Fraction

    ratio = Fraction(target_rate / source_rate).limit_denominator(10_000)
    return ratio.numerator, ratio.denominator


@register_generator
@dataclass
class ECGGenerator(SimulatedRecordingGenerator):
    """Single-lead ECG from ECGSYN (McSharry et al. 2003, :func:`ecgsyn`): P-QRS-T beats with heart-rate variability.

    numpy / scipy only. Per recording, the heart rate, its variability and LF/HF ratio are drawn uniformly, the P,
    Q, R, S, T amplitudes around McSharry's values with relative jitter `morphology_jitter` (their widths with half
    of it: a wave's size grows with its width squared), and the lead is inverted with probability
    `inverted_probability`. Measurement noise: white Gaussian noise of standard deviation
    `noise` (mV) plus baseline wander (a 0.05-0.5 Hz sinusoid of amplitude `baseline_wander` mV).

    neurokit2's own `ecg_simulate(method="ecgsyn")` is not used: it solves the same equations about 40x slower
    (about 15 windows of 10 s per second), and in neurokit2 0.2.13 it can loop forever when a beat starts on the last
    sample of its upsampled RR series (seen at 100 Hz).
    """

    name: ClassVar[str] = "ecg"
    version: ClassVar[str] = "1.0"
    modality: ClassVar[str] = "ECG"

    heart_rate: tuple[float, float] = (45.0, 140.0)
    heart_rate_std: tuple[float, float] = (0.5, 5.0)
    lf_hf_ratio: tuple[float, float] = (0.3, 3.0)
    noise: tuple[float, float] = (0.0, 0.05)
    baseline_wander: tuple[float, float] = (0.0, 0.3)
    morphology_jitter: float = 0.15
    inverted_probability: float = 0.15
    segment_seconds: float = 60.0

    def __post_init__(self):
        super().__post_init__()
        if not self.heart_rate[0] > 0:
            raise ValueError(f"`heart_rate` must be positive, got {self.heart_rate}.")
        if not 0 <= self.morphology_jitter < 0.5 or not 0 <= self.inverted_probability <= 1:
            raise ValueError("`morphology_jitter` must lie in [0, 0.5) and `inverted_probability` in [0, 1].")

    def simulate(self, rng: np.random.Generator, sampling_rate: int, num_samples: int) -> np.ndarray:
        seconds = num_samples / sampling_rate
        jitter = np.clip(1.0 + self.morphology_jitter * rng.standard_normal((2, 5)), 0.3, None)
        ecg = ecgsyn(
            rng,
            seconds,
            sampling_rate,
            heart_rate=_uniform(rng, self.heart_rate),
            heart_rate_std=_uniform(rng, self.heart_rate_std),
            lf_hf_ratio=_uniform(rng, self.lf_hf_ratio),
            wave_amplitudes=np.asarray((1.2, -5.0, 30.0, -7.5, 0.75)) * jitter[0],
            wave_widths=np.asarray((0.25, 0.1, 0.1, 0.1, 0.4)) * (1.0 + (jitter[1] - 1.0) / 2),
        )
        times = np.arange(len(ecg)) / sampling_rate
        wander = _uniform(rng, self.baseline_wander) * np.sin(
            2 * np.pi * rng.uniform(0.05, 0.5) * times + rng.uniform(0, 2 * np.pi)
        )
        ecg = ecg + wander + _uniform(rng, self.noise) * rng.standard_normal(len(ecg))
        return -ecg if rng.random() < self.inverted_probability else ecg


# How many times a neurokit2 simulator that returned too few samples is run again on twice the duration.
_SIMULATION_ATTEMPTS = 4


@dataclass
class NeuroKitGenerator(SimulatedRecordingGenerator):
    """Base of the neurokit2-backed generators: one `neurokit2.<function>` call per recording.

    Subclasses set `function` (e.g. "rsp_simulate") and return the randomised keyword arguments from
    `simulator_options`; the duration, sampling rate, sample count and seed are added here.
    """

    function: ClassVar[str]
    simulator_package: ClassVar[str | None] = "neurokit2"
    #: Whether the function takes `length` (a sample count) beside `duration`.
    takes_length: ClassVar[bool] = True

    @abstractmethod
    def simulator_options(self, rng: np.random.Generator, seconds: int, sampling_rate: int) -> dict[str, Any]:
        """The randomised keyword arguments of one recording of `seconds` at `sampling_rate`."""

    def minimum_seconds(self, options: dict[str, Any]) -> float:
        """The shortest recording the simulator can make with `options` (0: any)."""
        return 0.0

    def simulate(self, rng: np.random.Generator, sampling_rate: int, num_samples: int) -> np.ndarray:
        neurokit2 = _import_extra("neurokit2", self.name)
        seconds = math.ceil(num_samples / sampling_rate) + 1
        options = self.simulator_options(rng, seconds, sampling_rate)
        seed = _seed_for(rng)
        simulator = getattr(neurokit2, self.function)
        seconds = max(seconds, math.ceil(self.minimum_seconds(options)))
        # A simulator that returns fewer samples than asked (whole breaths only) simulates a longer recording, with
        # the same settings and seed, until it is long enough; the caller keeps the start.
        for _ in range(_SIMULATION_ATTEMPTS):
            if self.takes_length:
                options["length"] = seconds * sampling_rate
            recording = simulator(duration=seconds, sampling_rate=sampling_rate, random_state=seed, **options)
            if len(recording) >= num_samples:
                break
            seconds *= 2
        return recording


@register_generator
@dataclass
class PPGGenerator(NeuroKitGenerator):
    """Photoplethysmogram from neurokit2's `ppg_simulate` (systolic and diastolic peaks, random inter-beat times).

    Attributes (each drawn uniformly per recording): heart_rate (beats per minute), frequency_modulation (breathing
    modulation of the beat rate), ibi_randomness, drift, motion_amplitude, powerline_amplitude (50 Hz mains, left
    out at rates <= 100 Hz where it would alias), burst_number (motion artefact bursts per minute). neurokit2 leaves
    out a modulation that would make beats shorter than 300 ms (fast heart rates), silently here.
    """

    name: ClassVar[str] = "ppg"
    function: ClassVar[str] = "ppg_simulate"
    takes_length: ClassVar[bool] = False
    version: ClassVar[str] = "1.0"
    modality: ClassVar[str] = "PPG"

    heart_rate: tuple[float, float] = (45.0, 140.0)
    frequency_modulation: tuple[float, float] = (0.0, 0.3)
    ibi_randomness: tuple[float, float] = (0.0, 0.2)
    drift: tuple[float, float] = (0.0, 1.0)
    motion_amplitude: tuple[float, float] = (0.0, 0.3)
    powerline_amplitude: tuple[float, float] = (0.0, 0.05)
    burst_number: tuple[float, float] = (0.0, 2.0)
    segment_seconds: float = 60.0

    def simulator_options(self, rng: np.random.Generator, seconds: int, sampling_rate: int) -> dict[str, Any]:
        return {
            "heart_rate": _uniform(rng, self.heart_rate),
            "frequency_modulation": _uniform(rng, self.frequency_modulation),
            "ibi_randomness": _uniform(rng, self.ibi_randomness),
            "drift": _uniform(rng, self.drift),
            "motion_amplitude": _uniform(rng, self.motion_amplitude),
            "powerline_amplitude": _uniform(rng, self.powerline_amplitude) if sampling_rate > 100 else 0.0,
            "burst_number": int(round(_uniform(rng, self.burst_number) * seconds / 60.0)),
        }


@register_generator
@dataclass
class RespirationGenerator(NeuroKitGenerator):
    """Respiration from neurokit2's `rsp_simulate` ("breathmetrics": inhale / exhale / pause phases varying per breath).

    Attributes (drawn uniformly per recording): respiratory_rate (breaths per minute), noise.
    """

    name: ClassVar[str] = "rsp"
    function: ClassVar[str] = "rsp_simulate"
    version: ClassVar[str] = "1.0"
    modality: ClassVar[str] = "RESP"

    respiratory_rate: tuple[float, float] = (8.0, 30.0)
    noise: tuple[float, float] = (0.0, 0.1)
    segment_seconds: float = 120.0

    def simulator_options(self, rng: np.random.Generator, seconds: int, sampling_rate: int) -> dict[str, Any]:
        return {
            "noise": _uniform(rng, self.noise),
            "respiratory_rate": _uniform(rng, self.respiratory_rate),
            "method": "breathmetrics",
        }

    def minimum_seconds(self, options: dict[str, Any]) -> float:
        # breathmetrics fails on a recording shorter than a breath (neurokit2's smoothing window outgrows it)
        return 60.0 / options["respiratory_rate"] + 1


@register_generator
@dataclass
class EDAGenerator(NeuroKitGenerator):
    """Electrodermal activity from neurokit2's `eda_simulate` (tonic drift plus skin-conductance responses).

    Attributes (drawn uniformly per recording): scr_per_minute (responses), drift, noise.
    """

    name: ClassVar[str] = "eda"
    function: ClassVar[str] = "eda_simulate"
    version: ClassVar[str] = "1.0"
    modality: ClassVar[str] = "EDA"

    scr_per_minute: tuple[float, float] = (0.5, 6.0)
    drift: tuple[float, float] = (0.0, 0.05)
    noise: tuple[float, float] = (0.0, 0.05)
    segment_seconds: float = 120.0

    def simulator_options(self, rng: np.random.Generator, seconds: int, sampling_rate: int) -> dict[str, Any]:
        return {
            "noise": _uniform(rng, self.noise),
            "scr_number": max(1, int(rng.poisson(_uniform(rng, self.scr_per_minute) * seconds / 60.0))),
            "drift": _uniform(rng, self.drift) * (1 if rng.integers(2) else -1),
        }


@register_generator
@dataclass
class EMGGenerator(NeuroKitGenerator):
    """Surface EMG from neurokit2's `emg_simulate` (bursts of activity between quiet periods).

    Attributes (drawn uniformly per recording): bursts_per_10s, burst_duration (seconds), noise.
    """

    name: ClassVar[str] = "emg"
    function: ClassVar[str] = "emg_simulate"
    version: ClassVar[str] = "1.0"
    modality: ClassVar[str] = "EMG"

    bursts_per_10s: tuple[float, float] = (0.5, 4.0)
    burst_duration: tuple[float, float] = (0.2, 1.5)
    noise: tuple[float, float] = (0.0, 0.05)
    segment_seconds: float = 60.0

    def simulator_options(self, rng: np.random.Generator, seconds: int, sampling_rate: int) -> dict[str, Any]:
        bursts = max(1, int(round(_uniform(rng, self.bursts_per_10s) * seconds / 10.0)))
        # neurokit2 refuses bursts longer than the recording in all; cap the duration so that they fill at most 80%.
        return {
            "noise": _uniform(rng, self.noise),
            "burst_number": bursts,
            "burst_duration": min(_uniform(rng, self.burst_duration), 0.8 * seconds / bursts),
        }


@register_generator
@dataclass
class EEGGenerator(SimulatedRecordingGenerator):
    """EEG-like signal from neurodsp: a 1/f^k aperiodic background plus bursty theta, alpha and beta rhythms.

    The aperiodic component is `sim_powerlaw` (unit variance, exponent drawn from `aperiodic_exponent`); each rhythm
    is `sim_bursty_oscillation` at a frequency drawn from its band, with burst enter / leave probabilities drawn
    from `burst_probability`, scaled to a standard deviation inside its bursts drawn from its `*_amplitude` range
    (relative to the background's; silent between bursts, so over a whole window its standard deviation is lower). A
    rhythm whose frequency exceeds 40% of the sampling rate is left out (it would alias).

    Attributes:
        aperiodic_exponent: exponent k of the background's f^k power spectrum (negative: -2 is 1/f^2).
        theta_frequency / alpha_frequency / beta_frequency: band of each rhythm, Hz.
        theta_amplitude / alpha_amplitude / beta_amplitude: each rhythm's amplitude relative to the background.
        burst_probability: probability per cycle of entering / leaving a burst.
    """

    name: ClassVar[str] = "eeg"
    version: ClassVar[str] = "1.0"
    modality: ClassVar[str] = "EEG"
    simulator_package: ClassVar[str | None] = "neurodsp"

    aperiodic_exponent: tuple[float, float] = (-2.5, -1.0)
    theta_frequency: tuple[float, float] = (4.0, 8.0)
    alpha_frequency: tuple[float, float] = (8.0, 12.5)
    beta_frequency: tuple[float, float] = (13.0, 30.0)
    theta_amplitude: tuple[float, float] = (0.0, 1.0)
    alpha_amplitude: tuple[float, float] = (0.0, 2.5)
    beta_amplitude: tuple[float, float] = (0.0, 0.7)
    burst_probability: tuple[float, float] = (0.1, 0.5)
    segment_seconds: float = 60.0

    SIGNED_RANGES: ClassVar[tuple[str, ...]] = ("aperiodic_exponent",)

    def simulate(self, rng: np.random.Generator, sampling_rate: int, num_samples: int) -> np.ndarray:
        sim = _import_extra("neurodsp.sim", self.name)
        # neurodsp builds oscillations from cycles of a whole number of samples, which moves a 10.5 Hz rhythm to
        # 9.85 Hz at 128 Hz; simulating at 1 kHz keeps the frequency within 0.5%, then it is resampled down.
        simulated_rate = max(sampling_rate, 1000)
        seconds = num_samples / sampling_rate
        signal = sim.sim_powerlaw(seconds, simulated_rate, exponent=_uniform(rng, self.aperiodic_exponent))
        for band, amplitude in (
            (self.theta_frequency, self.theta_amplitude),
            (self.alpha_frequency, self.alpha_amplitude),
            (self.beta_frequency, self.beta_amplitude),
        ):
            frequency, scale = _uniform(rng, band), _uniform(rng, amplitude)
            if frequency > 0.4 * sampling_rate or scale == 0:
                continue
            probabilities = {"enter_burst": _uniform(rng, self.burst_probability)}
            probabilities["leave_burst"] = _uniform(rng, self.burst_probability)
            rhythm = sim.sim_bursty_oscillation(seconds, simulated_rate, frequency, burst_params=probabilities)
            signal = signal + scale * rhythm[: len(signal)]
        if simulated_rate != sampling_rate:
            from scipy.signal import resample_poly

            signal = resample_poly(signal, *_rational_ratio(sampling_rate, simulated_rate))
        return signal


# ------------------------------------------------------------------------------------------------------ the streams

#: Default mix of the synthetic stream: half CauKer (the published synthetic-only pre-training), half physiology.
DEFAULT_GENERATOR_WEIGHTS = {
    "cauker": 0.45,
    "kernel_synth": 0.05,
    "ecg": 0.1,
    "ppg": 0.1,
    "rsp": 0.05,
    "eda": 0.05,
    "emg": 0.1,
    "eeg": 0.1,
}


def default_generators() -> tuple[list[SyntheticGenerator], list[float]]:
    """The default generators (default settings) and their weights, :data:`DEFAULT_GENERATOR_WEIGHTS`."""
    return [build_generator(name) for name in DEFAULT_GENERATOR_WEIGHTS], list(DEFAULT_GENERATOR_WEIGHTS.values())


def active_generators(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a generator spec (`{"cauker": 0.5, "ecg": {"weight": 0.5, ...}}`) whose weight is not 0: a
    weight of 0 drops a generator of the default mix."""
    active = {}
    for name, entry in spec.items():
        if name not in _GENERATORS:  # checked before a weight of 0 drops it: a misspelt name dropped nothing
            raise ValueError(f"Unknown synthetic generator {name!r}; registered: {', '.join(_GENERATORS)}.")
        weight = entry.get("weight") if isinstance(entry, Mapping) else entry
        if weight != 0:
            active[name] = entry
    return active


def generators_from_spec(spec: Mapping[str, float | Mapping[str, Any]]) -> tuple[list[SyntheticGenerator], list[float]]:
    """Generators and weights from a JSON-able spec: `{"cauker": 0.5, "ecg": {"weight": 0.5, "noise": [0, 0.01]}}`
    (a generator's entry: its weight alone, or its weight and settings)."""
    generators, weights = [], []
    for name, entry in spec.items():
        options = dict(entry) if isinstance(entry, Mapping) else {"weight": entry}
        if "weight" not in options:
            raise ValueError(f"The spec of generator {name!r} has no 'weight': {dict(options)}.")
        weight = options.pop("weight")
        if (
            isinstance(weight, bool)
            or not isinstance(weight, numbers.Real)
            or not (math.isfinite(weight) and weight >= 0)
        ):
            raise ValueError(
                f"The weight of synthetic generator {name!r} must be a finite number >= 0 (its share of the mix), got "
                f"{weight!r}; e.g. --synthetic-generators {name}=0.5."
            )
        weights.append(float(weight))
        generators.append(build_generator(name, **options))
    check_simulators_installed(generators)
    return generators, weights


def check_simulators_installed(generators: Sequence[SyntheticGenerator]) -> None:
    """Raise `SyntheticExtraMissingError` before a stream starts when a generator's simulator package is missing,
    naming the extra and the weights that leave those generators out (the default mix needs the extra)."""
    missing = {generator.simulator_package for generator in generators if generator.simulator_package}
    missing = sorted(package for package in missing if not is_installed(package))
    needing = [generator.name for generator in generators if generator.simulator_package in missing]
    check_installed(
        missing,
        f"The synthetic mix ({', '.join(map(repr, needing))})",
        "or give those generators weight 0 (--synthetic-generators " + " ".join(f"{name}=0" for name in needing) + ")",
        error=SyntheticExtraMissingError,
    )


__all__ = [
    "CAUKER_BANK",
    "DEFAULT_GENERATOR_WEIGHTS",
    "KERNEL_SYNTH_BANK",
    "STREAM_VERSION",
    "CauKerGenerator",
    "ECGGenerator",
    "EDAGenerator",
    "EEGGenerator",
    "EMGGenerator",
    "Kernel",
    "KernelSynthGenerator",
    "NeuroKitGenerator",
    "PPGGenerator",
    "RespirationGenerator",
    "SimulatedRecordingGenerator",
    "SyntheticExtraMissingError",
    "SyntheticGenerator",
    "active_generators",
    "build_generator",
    "check_simulators_installed",
    "default_generators",
    "dense_kernel_composition",
    "generated_windows",
    "generators_from_spec",
    "list_generators",
    "register_generator",
    "sample_kernel_composition",
]
