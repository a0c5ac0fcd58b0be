"""The figures the package draws: `citrus predict --plot` draws each window over its own seconds only and any number of
classes apart, in a figure that holds its legend and label names; the pre-training curve names the model trained and
draws a run whose held-out baseline is 0; results.png gives every arm a look of its own, names every arm drawn, and
centres a single budget; a missing matplotlib (or a bad MPLBACKEND) says so in one line, before any scoring."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf.commands.main import main

RATE = ["--sampling-rate", "100", "--no-show-progress", "--backend", "torch"]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory) -> str:
    torch.manual_seed(0)
    return str(save_tiny_classifier(tmp_path_factory.mktemp("classifier"), num_labels=3))


def _saved_figures(monkeypatch) -> list:
    """The figures `savefig` is called on from now on."""
    from matplotlib.figure import Figure

    saved = []
    original = Figure.savefig

    def recorded(self, *args, **kwargs):
        saved.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", recorded)
    return saved


def _classifier_config(num_labels: int):
    names = {index: f"class {index}" for index in range(num_labels)}
    return tiny_config(num_labels=num_labels, id2label=names, label2id={name: i for i, name in names.items()})


def _windows(spans, num_labels: int, seed: int = 0) -> dict:
    """A classifier pipeline's result for windows over `spans` ((start, end) seconds), random probabilities."""
    rng = np.random.default_rng(seed)
    windows = []
    for start, end in spans:
        shares = rng.dirichlet(np.ones(num_labels))
        labels = [{"label": f"class {i}", "score": float(shares[i])} for i in np.argsort(-shares)]
        windows.append({"start": start, "end": end, "label": labels[0]["label"], "score": labels[0]["score"],
                        "labels": labels})  # fmt: skip
    return {"label": windows[0]["label"], "score": 0.5, "windows": windows}


def _merged(spans) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1e-9:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(round(a, 6), round(b, 6)) for a, b in merged]


def _step_spans(line) -> list[tuple[float, float]]:
    """The seconds a steps-post line draws a level over: from each point to the next, where its value is finite."""
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    return _merged((x[i], x[i + 1]) for i in range(len(x) - 1) if math.isfinite(y[i]) and x[i + 1] > x[i])


def _band_spans(band) -> list[tuple[float, float]]:
    return _merged((path.vertices[:, 0].min(), path.vertices[:, 0].max()) for path in band.get_paths())


def test_windows_apart_are_drawn_over_their_own_seconds_and_overlapping_ones_over_their_counted_ones(
    tmp_path, monkeypatch
):
    from citrus_hf.commands.predict import plot_windows

    saved = _saved_figures(monkeypatch)
    # --hop-seconds 5 with 2 s windows: 3 s between windows that no window scored
    apart = [(0.0, 2.0), (5.0, 7.0), (10.0, 12.0), (15.0, 17.0)]
    plot_windows([("a.npy", _windows(apart, 3))], _classifier_config(3), tmp_path / "apart.png")
    labels, probabilities = saved[-1].axes[:2]
    assert _step_spans(labels.lines[0]) == apart
    for band in probabilities.collections:
        assert _band_spans(band) == apart
    # overlapping windows (hop 1 s, 2 s windows): each over the seconds nearer its middle than any other's (the
    # seconds it counts for in the time per label, `counted_spans`), the first from its start, the last to its end
    overlapping = [(float(start), start + 2.0) for start in range(4)]
    plot_windows([("b.npy", _windows(overlapping, 3))], _classifier_config(3), tmp_path / "overlap.png")
    labels, probabilities = saved[-1].axes[:2]
    line = labels.lines[0]
    np.testing.assert_allclose(line.get_xdata(), [0, 1.5, 2.5, 3.5, 5])
    assert _step_spans(line) == [(0.0, 5.0)]
    tops = [float(window["label"].split()[-1]) for window in _windows(overlapping, 3)["windows"]]
    x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    for moment, top in zip((0.5, 2.0, 3.0, 4.0, 4.5), [*tops, tops[-1]]):
        assert y[np.searchsorted(x, moment, side="right") - 1] == top
    assert _band_spans(probabilities.collections[0]) == [(0.0, 5.0)]
    # a regressor's line joins neighbouring windows only: it stops at a gap no window scored
    regression = [{"start": s, "end": e, "target": float(s)} for s, e in apart]
    plot_windows([("c.npy", {"target": 0.0, "windows": regression})], tiny_config(), tmp_path / "targets.png")
    (line,) = saved[-1].axes[0].lines
    finite = np.isfinite(np.asarray(line.get_ydata(), float))
    assert finite.sum() == len(apart) and not finite.all()  # one break between each pair of windows
    np.testing.assert_allclose(np.asarray(line.get_xdata(), float)[finite], [1, 6, 11, 16])


@pytest.mark.parametrize("num_labels", [12, 45])
def test_many_classes_get_a_colour_each_a_legend_and_label_names_that_fit(num_labels, tmp_path, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_hex

    from citrus_hf.commands.predict import plot_windows

    saved = _saved_figures(monkeypatch)
    spans = [(2.0 * i, 2.0 * i + 2) for i in range(30)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_windows([("a.npy", _windows(spans, num_labels))], _classifier_config(num_labels), tmp_path / "p.png")
    assert not [w for w in caught if "layout" in str(w.message).lower()]
    figure = saved[-1]
    labels, probabilities = figure.axes[:2]
    colours = {to_hex(band.get_facecolor()[0]) for band in probabilities.collections}
    assert len(colours) == num_labels
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    renderer, box = canvas.get_renderer(), figure.bbox
    legend = probabilities.get_legend() or figure.legends[0]
    texts = legend.get_texts()
    assert len(texts) == num_labels
    names = [tick for tick in labels.get_yticklabels() if tick.get_text()]
    for text in [*texts, *names]:
        extent = text.get_window_extent(renderer)
        assert box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1
    # the label axis' names do not overlap one another
    extents = sorted((t.get_window_extent(renderer) for t in names), key=lambda e: e.y0)
    assert all(low.y1 <= high.y0 + 0.5 for low, high in zip(extents, extents[1:]))
    # every label up to 30 is named; of more, those the step line visits, but none next to another named one
    visited = {int(window["label"].split()[-1]) for window in _windows(spans, num_labels)["windows"]}
    named = sorted(int(tick.get_text().split()[-1]) for tick in names)
    if num_labels <= 30:
        assert named == list(range(num_labels))
    else:
        assert set(named) <= visited and all(min(abs(v - n) for n in named) < num_labels / 30 for v in visited)


def test_the_curve_title_names_the_model_trained_not_the_unused_preset(tmp_path):
    from citrus_hf.training.curves import pretraining_curve_figure
    from citrus_hf.training.pretrain import SUMMARY_FILE

    def run(folder, model, model_config):
        folder.mkdir()
        tiny_config().save_pretrained(folder)  # what `pretrain` saves beside its summary: width 16, 1 layer
        summary = {"steps": 2, "train_losses": [[1, 2.0], [2, 1.5]], "eval_losses": [[2, 1.4]],
                   "eval_baseline_losses": [[2, 1.0]], "pretraining_objective": "time",
                   "arguments": {"model": model, "model_config": model_config, "config_overrides": {}}}  # fmt: skip
        (folder / SUMMARY_FILE).write_text(json.dumps(summary))
        return folder, summary

    continued, summary = run(tmp_path / "continued", str(tmp_path / "runs" / "pt_run"), "small")
    title = pretraining_curve_figure(continued).axes[0].get_title()
    assert "small" not in title and "pt_run" in title and "width 16, 1 layer" in title
    # the parsed summary alone (no folder to read the config from): the continued checkpoint's name
    title = pretraining_curve_figure(summary).axes[0].get_title()
    assert "small" not in title and "pt_run" in title
    fresh, _ = run(tmp_path / "fresh", None, "tiny")
    assert pretraining_curve_figure(fresh).axes[0].get_title().startswith("tiny model (width 16, 1 layer)")


def test_a_zero_baseline_draws_the_curve_and_words_the_warnings(tmp_path):
    from citrus_hf.training.curves import pretraining_curve_figure
    from citrus_hf.training.pretrain import PretrainResult, not_learning_yet

    summary = {"steps": 2, "train_losses": [[1, 5.8], [2, 5.7]], "eval_losses": [[1, 5.4], [2, 5.3]],
               "eval_baseline_losses": [[1, 0.0], [2, 0.0]]}  # fmt: skip
    figure = pretraining_curve_figure(summary)
    assert "final held-out / baseline: n/a" in [line.get_label() for line in figure.axes[0].lines][-1]
    flat = PretrainResult("out", 2, True, 5.7, [(2, 5.3)], 1, 1, 1.0, eval_baseline_losses=[(2, 0.0)])
    for message in (flat.did_not_learn(), not_learning_yet(3000, 12000, 5.3, 0.0)):
        assert "inf" not in message and "flat" in message and "0.0000)" not in message


def test_colours_and_looks_never_repeat():
    from matplotlib.colors import to_hex

    from citrus_hf._figures import distinct_colours, distinct_looks

    for count in (3, 10, 12, 45, 60, 61, 200):
        assert len({to_hex(colour) for colour in distinct_colours(count)}) == count
    assert [to_hex(c) for c in distinct_colours(10)] == [to_hex(f"C{i}") for i in range(10)]  # tab10, as before
    for count in (15, 80, 81):
        assert len({(to_hex(colour), marker) for colour, marker in distinct_looks(count)}) == count


def test_more_than_ten_arms_each_get_a_look_of_their_own(tmp_path, monkeypatch):
    from matplotlib.colors import to_hex

    from citrus_hf.evaluation.arms import ARMS
    from citrus_hf.evaluation.report import plot_results

    saved = _saved_figures(monkeypatch)
    learners = sorted(arm for arm, spec in ARMS.items() if spec.learns)
    assert len(learners) > 10
    runs = [dict(dataset="set", task="classification", arm=arm, budget=b, budget_order=o, n_train=8, seed=s,
                 num_classes=4, accuracy=.5, balanced_accuracy=.5, macro_f1=0.3 + 0.03 * i + 0.01 * s, auroc=.5)
            for i, arm in enumerate(learners) for b, o in (("1/class", 0), ("5/class", 1)) for s in (0, 1)]  # fmt: skip
    plot_results(runs, tmp_path / "results.png")
    looks = {}
    for bars in saved[-1].axes[0].containers:  # one error bar per arm: its line, caps and bars
        line = bars.lines[0]
        looks[(to_hex(line.get_color()), line.get_linestyle(), line.get_marker())] = bars.get_label()
    assert len(looks) == len(learners)


def test_the_legend_names_every_arm_of_every_panel(tmp_path, monkeypatch):
    from citrus_hf.evaluation.report import plot_results

    saved = _saved_figures(monkeypatch)

    def run(dataset, arm, seed):
        return dict(
            dataset=dataset,
            task="classification",
            arm=arm,
            budget="5/class",
            budget_order=0,
            n_train=20,
            seed=seed,
            num_classes=4,
            accuracy=0.6,
            balanced_accuracy=0.6,
            macro_f1=0.5 + 0.05 * seed,
            auroc=0.7,
        )

    runs = [run("eeg_blink", arm, s) for arm in ("citrus-small", "minirocket", "prior") for s in (0, 1)]
    runs += [run("watch_exercises", "citrus-small", s) for s in (0, 1)]  # the other arms did not run there
    plot_results(runs, tmp_path / "results.png")
    named = [text.get_text() for legend in saved[-1].legends for text in legend.get_texts()]
    named += [text.get_text() for axis in saved[-1].axes if axis.get_legend() for text in axis.get_legend().get_texts()]
    assert sorted(named) == ["citrus-small", "minirocket", "prior"]


def test_one_budget_is_centred_and_a_long_set_name_stays_on_the_figure(tmp_path, monkeypatch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from citrus_hf.evaluation.report import plot_results

    saved = _saved_figures(monkeypatch)
    long_name = "/home/me/recordings/2026_sleep_lab_cohort_b_eeg_fpz_cz_30s_windows"
    runs = [dict(dataset=d, task="classification", arm=a, budget="5/class", budget_order=0, n_train=35, seed=s,
                 num_classes=7, accuracy=.6, balanced_accuracy=.6, macro_f1=m + .02 * s, auroc=.8)
            for d in ("watch_exercises", long_name) for a, m in (("citrus-small", .6), ("minirocket", .55))
            for s in (0, 1)]  # fmt: skip
    plot_results(runs, tmp_path / "results.png")
    figure = saved[-1]
    low, high = figure.axes[0].get_xlim()
    assert low <= -0.3 and high >= 0.3  # the budget's points near its tick, not at the panel's edges
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else FigureCanvasAgg(figure)
    canvas.draw()
    for axis in figure.axes:
        if axis.get_visible():
            title = axis.title.get_window_extent(canvas.get_renderer())
            assert 0 <= title.x0 and title.x1 <= figure.bbox.x1
    assert long_name.replace("\n", "") in "".join(a.get_title() for a in figure.axes).replace("\n", "")


def _without_matplotlib(monkeypatch):
    for module in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_without_matplotlib_predict_plot_stops_before_scoring_and_messages_name_the_install(
    classifier, tmp_path, monkeypatch, capsys
):
    from citrus_hf.evaluation.report import plot_results
    from citrus_hf.training.curves import pretraining_curve_figure

    np.save(tmp_path / "r.npy", np.zeros((1, 800), np.float32))
    _without_matplotlib(monkeypatch)
    output = tmp_path / "windows.csv"
    argv = [classifier, str(tmp_path / "r.npy"), *RATE, "--output", str(output), "--plot", str(tmp_path / "p.png")]
    assert main(["predict", *argv]) == 2
    printed = capsys.readouterr()
    assert printed.out == "" and not output.exists()  # nothing scored
    (line,) = printed.err.strip().splitlines()
    assert "--plot needs matplotlib" in line and "pip install matplotlib" in line
    runs = [dict(dataset="set", task="classification", arm="prior", budget="5/class", budget_order=0, n_train=8,
                 seed=0, num_classes=2, macro_f1=0.5)]  # fmt: skip
    for draw in (
        lambda: plot_results(runs, tmp_path / "r.png"),
        lambda: pretraining_curve_figure(
            {"steps": 1, "train_losses": [[1, 1.0]], "eval_losses": [], "eval_baseline_losses": []}
        ),
    ):
        with pytest.raises(ImportError, match="pip install matplotlib") as raised:
            draw()
        assert "bench" not in str(raised.value)


def test_a_bad_mplbackend_stops_predict_plot_before_the_model_loads(classifier, tmp_path):
    np.save(tmp_path / "r.npy", np.zeros((1, 800), np.float32))
    code = "import sys; from citrus_hf.commands.main import main; sys.exit(main(sys.argv[1:]))"
    argv = ["predict", classifier, str(tmp_path / "r.npy"), *RATE, "--plot", str(tmp_path / "p.png")]
    environment = {**os.environ, "MPLBACKEND": "no_such_backend", "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=environment)
    assert done.returncode == 2 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert "MPLBACKEND='no_such_backend'" in line and "Agg" in line
