"""Leftovers of session 72, mended in session 73: a multi-label evaluation set where no label ever applies and none is
predicted scored macro-F1 and micro-F1 NaN beside accuracy 1.0, so a `Trainer` choosing its best model by
`macro_f1` never chose the model that made no mistake over one that raised false alarms (0.0); a label name holding
the `;` that joins `citrus predict --output x.csv`'s `present_labels` made the cell read as more labels than were
present; other libraries' names for a loading option (`cache_folder`, `use_auth_token`), which transformers drops
without a word, were not refused as its near misses are; and `datasets.disable_progress_bars()` did not hide the
data layer's download bars, as it hides datasets' own.

Tiny classifiers (100 Hz, 2 s windows of 10 patches): each test takes a second or two.
"""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification

MULTI_LABEL = "multi_label_classification"


# ------------------------------------------------ (a) a multi-label set where no label applies
def test_a_perfect_model_on_a_set_without_positives_scores_f1_one_and_beats_a_false_alarm():
    # F1 was NaN (every label 0 / 0), and transformers' best-model choice (`np.greater(value, best)`) never takes a
    # NaN: the model that raised a false alarm (F1 0.0) was kept as the best one
    from citrus_hf.training.metrics import multi_label_metrics

    labels = np.zeros((4, 3))
    perfect = multi_label_metrics(np.full((4, 3), -3.0), labels)
    assert perfect["macro_f1"] == perfect["micro_f1"] == perfect["accuracy"] == 1.0
    assert np.isnan(perfect["auroc"])  # no positive to rank: undefined, as scikit-learn's
    false_alarm = np.full((4, 3), -3.0)
    false_alarm[0, 1] = 2.0
    scored = multi_label_metrics(false_alarm, labels)
    assert scored["macro_f1"] == scored["micro_f1"] == 0.0
    assert np.greater(perfect["macro_f1"], scored["macro_f1"])


def test_multi_label_f1_of_no_rows_stays_undefined():
    from citrus_hf.training.metrics import multi_label_metrics

    scored = multi_label_metrics(np.zeros((0, 3)), np.zeros((0, 3)))
    assert np.isnan(scored["macro_f1"]) and np.isnan(scored["micro_f1"])


# ------------------------------------------------ (b) a label name holding the cell's separator
def _predict_csv(tmp_path, names) -> list[dict[str, str]]:
    import torch

    from citrus_hf.commands.main import main

    config = tiny_config(
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={name: index for index, name in enumerate(names)},
        problem_type=MULTI_LABEL,
    )
    model = CiTrusForSequenceClassification(config).eval()
    with torch.no_grad():
        model.classifier.weight.zero_()
        model.classifier.bias.copy_(torch.tensor([2.0, 1.0, -1.0]))
    model.save_pretrained(tmp_path / "model")
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(tmp_path / "model")
    np.save(tmp_path / "rec.npy", np.random.default_rng(0).standard_normal((1, 400)).astype(np.float32))
    argv = ["predict", str(tmp_path / "model"), str(tmp_path / "rec.npy"), "--sampling-rate", "100"]
    assert main([*argv, "--backend", "torch", "--output", str(tmp_path / "out.csv")]) == 0
    with open(tmp_path / "out.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    ("names", "cell", "present"),
    [
        (["AF;flutter", "LBBB", "NORM"], '"AF;flutter";LBBB', ["AF;flutter", "LBBB"]),
        (['AF "paroxysmal"', "LBBB", "NORM"], '"AF ""paroxysmal""";LBBB', ['AF "paroxysmal"', "LBBB"]),
        (["AF", "LBBB", "NORM"], "AF;LBBB", ["AF", "LBBB"]),  # plain names: the cell as before
    ],
)
def test_present_labels_cell_reads_back_as_the_labels_present(tmp_path, names, cell, present):
    # "AF;flutter;LBBB": three labels read back where two were present
    rows = _predict_csv(tmp_path, names)
    assert [row["present_labels"] for row in rows] == [cell, cell]
    assert next(csv.reader([rows[0]["present_labels"]], delimiter=";")) == present


# ------------------------------------------------ (e) other libraries' names for a loading option
@pytest.mark.parametrize(
    ("keyword", "option"),
    [
        ("cache_folder", "cache_dir"),  # sentence-transformers'
        ("cache_directory", "cache_dir"),
        ("use_auth_token", "token"),  # transformers 4's, which 5 drops
        ("revision_id", "revision"),
        ("proxy", "proxies"),
    ],
)
def test_another_librarys_name_for_a_loading_option_is_refused(tmp_path, keyword, option):
    folder = save_tiny_classifier(tmp_path / "cls")
    for load in (CiTrusConfig.from_pretrained, CiTrusFeatureExtractor.from_pretrained):
        with pytest.raises(ValueError, match=rf"'{keyword}' \(did you mean '{option}'\?\) is not a loading option"):
            load(folder, **{keyword: "x"})


def test_no_keyword_transformers_takes_is_read_as_a_loading_options_alias():
    import inspect

    import transformers

    from citrus_hf.configuration_citrus import LOADING_OPTION_ALIASES, LOADING_OPTIONS, misspelt_names

    taken = set(inspect.signature(transformers.PreTrainedModel.from_pretrained).parameters)
    taken |= set(CiTrusConfig().to_dict()) | {"resume_download", "force_reload", "is_remote_code", "tokenizer"}
    # and those `from_pretrained` takes through **kwargs, which reach the config's loader with the overrides
    taken |= {"device_map", "dtype", "torch_dtype", "attn_implementation", "low_cpu_mem_usage", "output_loading_info"}
    taken |= {"variant", "gguf_file", "key_mapping", "adapter_name", "adapter_kwargs", "quantization_config"}
    taken |= {"offload_folder", "max_memory", "tp_plan", "use_kernels", "state_dict", "user_agent", "from_auto_class"}
    # (against the loading options' own table of other names: the default, FIELD_ALIASES, names config fields)
    assert misspelt_names(sorted(taken), LOADING_OPTIONS, LOADING_OPTION_ALIASES) == []


# ------------------------------------------------ (c) datasets' switch and the data layer's bars
def test_datasets_switch_hides_the_data_layers_bars_only(monkeypatch):
    import importlib

    import datasets

    from citrus_hf._logs import progress_bar

    # datasets' switch put back after the test (`datasets.utils.tqdm` is also the name of its tqdm class)
    monkeypatch.setattr(importlib.import_module("datasets.utils.tqdm"), "_hf_datasets_progress_bars_disabled", False)
    assert not progress_bar(True, total=1, data=True).disable
    datasets.disable_progress_bars()
    assert progress_bar(True, total=1, data=True).disable
    assert not progress_bar(True, total=1).disable  # pre-training, evaluation runs: not datasets' bars


def test_datasets_variable_hides_the_data_layers_bars_before_datasets_is_imported(monkeypatch):
    import sys

    from citrus_hf._logs import progress_bar

    monkeypatch.setitem(sys.modules, "datasets.utils.tqdm", None)  # as in `citrus data fetch`, which never imports it
    monkeypatch.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    assert progress_bar(True, total=1, data=True).disable
    monkeypatch.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "0")
    assert not progress_bar(True, total=1, data=True).disable


# ------------------------------------------------ (d) a Python warning said while a bar is drawn
_WARN_BELOW_A_BAR = """
import warnings
from citrus_hf._logs import progress_bar
with progress_bar(True, total=3, desc="runs") as bar:
    bar.update(1)
    bar.refresh()
    warnings.warn("something odd in the data")
    bar.update(2)
"""


def test_a_warning_said_while_a_bar_is_drawn_prints_on_a_line_of_its_own():
    # "runs:  33%|███▎      | 1/3 [...]/path.py:5: UserWarning: ...": the warning continued the bar's line
    import os
    import subprocess
    import sys

    import citrus_hf

    source = os.path.dirname(os.path.dirname(citrus_hf.__file__))
    environment = {**os.environ, "PYTHONPATH": source, "TQDM_DISABLE": "", "HF_HUB_DISABLE_PROGRESS_BARS": ""}
    done = subprocess.run(
        [sys.executable, "-c", _WARN_BELOW_A_BAR], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.split("\n") if "UserWarning: something odd" in line]
    assert "runs:" not in line.split("\r")[-1]  # what the terminal shows of that line
    assert "runs: 100%" in done.stderr


def test_the_warnings_hook_is_put_back_when_the_last_bar_closes(monkeypatch):
    import warnings

    from citrus_hf._logs import progress_bar

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    hook = warnings.showwarning
    with open(os.devnull, "w") as sink:
        outer = progress_bar(True, total=2, file=sink)
        inner = progress_bar(True, total=2, file=sink)
        assert warnings.showwarning is not hook
        inner.close()
        assert warnings.showwarning is not hook  # the outer bar is still drawn
        outer.close()
        assert warnings.showwarning is hook
    hidden = progress_bar(False, total=2)
    assert warnings.showwarning is hook  # a hidden bar leaves it
    hidden.close()
