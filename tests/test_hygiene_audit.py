"""What an audit of the package's manners in the caller's process found: WAV files read from several threads mixed up
their warnings (good files refused as truncated, truncated ones accepted, the program's warnings left silenced), and
the plotting helpers switched the caller's matplotlib backend to Agg."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
from scipy.io import wavfile

from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers import read_recording


def test_wav_files_read_from_several_threads_are_each_judged_on_their_own(tmp_path):
    good = tmp_path / "good.wav"
    wavfile.write(good, 250, np.random.default_rng(0).integers(-3000, 3000, (2500, 2)).astype(np.int16))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good.read_bytes()[:-2000])  # an interrupted copy: the header declares more samples
    hooks = (warnings.showwarning, warnings._showwarnmsg_impl)
    filters = list(warnings.filters)
    wrong = {"good refused": 0, "cut accepted": 0}
    # an error other than the refusal ends its thread with a warning only, not a failure: the counts would stay 0
    others = []

    def read(path, reads: int = 300) -> None:
        for _ in range(reads):
            try:
                read_recording(path)
                wrong["cut accepted"] += path == cut
            except CorruptFileError:
                wrong["good refused"] += path == good
            except Exception as error:  # noqa: BLE001  (recorded and failed on below)
                others.append(repr(error))
                return

    threads = [threading.Thread(target=read, args=(path,)) for path in (good, cut, good)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == {"good refused": 0, "cut accepted": 0} and not others, others
    assert (warnings.showwarning, warnings._showwarnmsg_impl) == hooks and list(warnings.filters) == filters


def test_the_plotting_helpers_leave_the_callers_matplotlib_backend(tmp_path):
    """`matplotlib.use("Agg")` in the helpers left a notebook's `plt.show()` showing nothing; they now draw on
    figures of their own."""
    matplotlib = pytest.importorskip("matplotlib")
    import torch
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForPretraining
    from citrus_hf.evaluation.report import plot_results
    from citrus_hf.training.callbacks import reconstruction_figure
    from citrus_hf.training.curves import plot_pretraining_curve

    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        model = CiTrusForPretraining(tiny_config())
        figure = reconstruction_figure(model, torch.randn(1, 1, 200))
        assert figure.axes
        summary = {
            "format_version": 2,
            "steps": 4,
            "train_losses": [[1, 1.2], [4, 0.9]],
            "eval_losses": [[4, 1.0]],
            "eval_baseline_losses": [[4, 1.1]],
        }
        assert plot_pretraining_curve(summary, tmp_path / "curve.png").stat().st_size > 0
        runs = [
            {"dataset": "set", "task": "classification", "arm": arm, "budget": "5/class", "budget_order": 5, "n_train": 10, "seed": seed,
             "macro_f1": 0.5 + 0.1 * seed, "accuracy": 0.5, "split": "test"}
            for arm in ("citrus-small", "minirocket") for seed in (0, 1)
        ]  # fmt: skip
        assert plot_results(runs, tmp_path / "results.png").stat().st_size > 0
        # `citrus predict --plot` run in-process through `main()` (audit 64)
        from types import SimpleNamespace

        from citrus_hf.commands.predict import plot_windows

        scores = [{"label": "rest", "score": 0.7}, {"label": "walk", "score": 0.3}]
        windows = [{"start": 2.0 * i, "end": 2.0 * i + 2, "label": "rest", "labels": scores} for i in range(3)]
        config = SimpleNamespace(id2label={0: "rest", 1: "walk"}, num_labels=2, problem_type=None)
        assert (
            plot_windows([("a.edf", {"label": "rest", "windows": windows})], config, tmp_path / "w.png").stat().st_size
        )
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
