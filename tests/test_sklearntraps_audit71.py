"""Audit 71 of the evaluation protocol's baselines and metrics, through the traps scikit-learn and aeon users
reported upstream: the Pearson r of a constant side, gaps paired across different draws, and a "pre-training gain"
taken between two arms that are not the same model.

Reads the offline real corpus (BasicMotions); fetch it first with `citrus data fetch --offline-corpus`.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from citrus_hf.evaluation.report import baseline_gaps, markdown_tables, pretraining_gains
from citrus_hf.training.metrics import pearson_r, regression_metrics


def _run(arm, seed, value, **extra):
    return dict(
        dataset="har",
        task="classification",
        arm=arm,
        budget="5/class",
        budget_order=0,
        seed=seed,
        n_train=20,
        num_classes=4,
        accuracy=value,
        balanced_accuracy=value,
        macro_f1=value,
        auroc=value,
        **extra,
    )


@pytest.mark.parametrize("value", [0.1, 70.123456789, 1e5 + 0.1])
def test_pearson_r_of_a_constant_side_has_no_value_whatever_the_constant(value):
    """A constant prediction (the prior's mean target) or constant targets: the correlation is undefined, NaN as
    documented. The mean of 1,001 copies of 0.1 is not 0.1 to the last bit, so the centred copies were 1e-17 each and
    r came out as 4e-16, which the tables showed as a Pearson r of 0.000 and averaged over seeds as a real one."""
    targets = np.random.default_rng(0).normal(70.0, 10.0, 1001)
    constant = np.full(1001, value)
    assert math.isnan(pearson_r(targets, constant))
    assert math.isnan(pearson_r(constant, targets))
    assert math.isnan(regression_metrics(constant, targets)["pearson_r"])
    # a prediction that varies keeps its correlation
    assert pearson_r(targets, targets * 2 + value) == pytest.approx(1.0)


def test_gaps_pair_only_runs_fitted_on_the_same_draw():
    """Two runs of one seed fitted on other labelled windows (results folders of other pools, compared by
    benchmarks/compare_results.py) are no pair: their gap mixes the draws' luck into the arms' difference."""
    runs = [
        _run("citrus-small", 0, 0.9, draw="aaaa"),
        _run("minirocket", 0, 0.5, draw="bbbb"),  # another draw: no pair
        _run("citrus-small", 1, 0.8, draw="cccc"),
        _run("minirocket", 1, 0.7, draw="cccc"),
        _run("citrus-small", 2, 0.6),  # recorded before runs named their draw: paired as before
        _run("minirocket", 2, 0.5),
    ]
    (gap,) = baseline_gaps(runs)
    assert gap["pairs"] == 2
    assert gap["gain_mean"] == pytest.approx(10.0)


def test_pretraining_gain_pairs_only_the_same_model():
    """The gain of pre-training is the pre-trained arm minus its from-scratch twin of the same architecture and input;
    runs that record other models (a `--model-config tiny` twin of the bundled citrus-small) have no gain."""
    same = [_run("citrus-small", 0, 0.9, model="m1"), _run("citrus-scratch", 0, 0.5, model="m1")]
    (gain,) = pretraining_gains(same)
    assert gain["gain_mean"] == pytest.approx(40.0)
    other = [_run("citrus-small", 0, 0.9, model="m1"), _run("citrus-scratch", 0, 0.5, model="m2")]
    assert pretraining_gains(other) == []
    table = markdown_tables(other)
    assert "Pre-training gain" not in table
    assert "citrus-small and its from-scratch twin citrus-scratch are not the same model" in table
    # runs recorded before runs named their model pair as before
    assert len(pretraining_gains([_run("citrus-small", 0, 0.9), _run("citrus-scratch", 0, 0.5)])) == 1


def test_protocol_reports_no_pretraining_gain_between_different_models(tmp_path, caplog):
    """`--model-config tiny` builds citrus-scratch at the tiny size while citrus-small keeps its own: the report had
    called their difference the pre-training gain, without a word."""
    from citrus_hf.evaluation.protocol import ProtocolConfig, run_protocol

    config = ProtocolConfig(
        output_dir=str(tmp_path / "out"),
        datasets=["basic_motions"],
        arms=["citrus-small", "citrus-scratch"],
        seeds=[0],
        budgets=["1"],
        model_config="tiny",
        show_progress=False,
        num_threads=1,
    )
    result = run_protocol(config)
    models = {run["arm"]: run["model"] for run in result.runs}
    assert models["citrus-small"] != models["citrus-scratch"]
    assert pretraining_gains(result.runs) == []
    assert "not the same model" in result.markdown
    said = caplog.text  # (a warning of the protocol's logger)
    assert "citrus-small and its from-scratch twin citrus-scratch are not the same model" in said
    assert "d_model 128 vs 16" in said


def test_minirocket_weighs_the_classes_as_the_citrus_arms_do_when_asked(monkeypatch, tmp_path):
    """`--class-weight balanced` weighed every class alike in the CiTrus arms' recipes while MiniRocket's ridge kept
    the draw's imbalance, and the gap to MiniRocket compared the two: MiniRocket's ridge now takes the same weights
    (scikit-learn's "balanced", the formula of `class_weights_for`), and its runs of before are not reused."""
    from citrus_hf.evaluation import baselines
    from citrus_hf.evaluation.protocol import ProtocolConfig, run_protocol

    rng = np.random.default_rng(0)
    train, labels, test = rng.normal(size=(66, 1, 40)), np.array([0] * 60 + [1] * 6), rng.normal(size=(40, 1, 40))
    plain = baselines.fit_minirocket(train, labels, test, "classification", 0)
    weighted = baselines.fit_minirocket(train, labels, test, "classification", 0, class_weight="balanced")
    # the rare class's margin grows once its 6 examples weigh as much as the 60 others
    assert (weighted[:, 1] - weighted[:, 0]).mean() > (plain[:, 1] - plain[:, 0]).mean() + 0.05

    asked = []
    fit = baselines.fit_minirocket
    monkeypatch.setattr(
        baselines, "fit_minirocket", lambda *a, **k: asked.append(k.get("class_weight")) or fit(*a, **k)
    )
    settings = dict(datasets=["basic_motions"], arms=["minirocket"], seeds=[0], budgets=["1"], show_progress=False)
    run_protocol(ProtocolConfig(output_dir=str(tmp_path / "w"), class_weight="balanced", **settings))
    run_protocol(ProtocolConfig(output_dir=str(tmp_path / "p"), **settings))
    assert asked == ["balanced", None]
    # the runs recorded before had the run's shared signature under either setting; unweighted ones keep it
    weighted_config = ProtocolConfig(output_dir=str(tmp_path / "w"), class_weight="balanced", **settings)
    assert weighted_config.run_signatures()["minirocket"] != weighted_config.signature()
    plain_config = ProtocolConfig(output_dir=str(tmp_path / "p"), **settings)
    assert plain_config.run_signatures()["minirocket"] == plain_config.signature()


def test_a_seed_without_a_value_is_counted_out_where_the_mean_is_reported(tmp_path):
    """A seed whose metric has no value (NaN logits of a diverged fine-tuning make every metric NaN) is left out of
    the mean, which then averaged the other seeds under the run's seed count: the table gave no sign that one seed
    failed, and a model card said "mean of 2 seeds" of one. The summary counts the seeds of each metric, the table
    says when one was left out, and the card's records count those averaged."""
    from citrus_hf.evaluation.records import parse_eval_results
    from citrus_hf.evaluation.report import summarize, write_report

    runs = [_run("patchtst-scratch", 0, 0.8), _run("patchtst-scratch", 1, math.nan), _run("prior", 0, 0.1)]
    runs += [_run("prior", 1, 0.1)]
    entry = next(e for e in summarize(runs) if e["arm"] == "patchtst-scratch")
    assert entry["seeds"] == 2 and entry["macro_f1_seeds"] == 1 and entry["macro_f1_mean"] == pytest.approx(0.8)
    table = markdown_tables(runs)
    assert "| patchtst-scratch | **80.0 ± 0.0** (1 of 2 seeds) |" in table
    assert "| prior | 10.0 ± 0.0 |" in table  # every seed scored: nothing said
    paths = write_report(runs, tmp_path)
    records = parse_eval_results(paths["json"], model_arm="patchtst-scratch")
    seeds = {(r.method, r.metric): r.seeds for r in records}
    assert seeds[(None, "macro_f1")] == 1 and seeds[("prior", "macro_f1")] == 2
