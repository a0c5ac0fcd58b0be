"""The fusion pipelines: one recording per modality (or one file and `modality_channels`) in, windows of the same
times in every modality, the single-modality pipeline's result out. Tiny fusion models (a few thousand parameters)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import pipeline

from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

RATES = {"ecg": 100, "eda": 20}  # the encoders' own rates


@pytest.fixture(autouse=True)
def _auto_runs_fp32(monkeypatch):
    """ "auto" without a bf16 contender, as on a CPU without native bf16: these tests compare windows and scores
    across pipelines and `citrus predict` to 1e-5, and a race (which bf16 can win under load, since audit 75) would
    make that depend on the machine's load. test_fusionfast_audit75.py tests the fusion backends."""
    import citrus_hf.inference.backends as backends_module

    monkeypatch.setattr(backends_module, "cpu_bf16_support", lambda: None)


def fusion_config(eda_context: int = 40, **head) -> CiTrusFusionConfig:
    """ECG at 100 Hz and EDA at 20 Hz, 2 s windows (EDA 4 s with `eda_context=80`)."""
    eda = tiny_config(sampling_rate=20, context_length=eda_context, patch_length=10, spectrogram_n_fft=10)
    return CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": eda}, **(head or {"num_labels": 3}))


def saved(folder, model_class=CiTrusFusionForSequenceClassification, **config) -> str:
    torch.manual_seed(0)
    model = model_class(fusion_config(**config)).eval()
    model.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)
    return str(folder)


def recording(seconds: float, rates=RATES, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(int(seconds * rate)) for name, rate in rates.items()}


def scores_of_rows(folder: str, signals: dict[str, np.ndarray], rates: dict[str, int], count: int) -> torch.Tensor:
    """The saved classifier's probabilities `(count, labels)` on the first `count` 2 s rows of `signals`, cut by hand
    and aligned by the saved processor, as a training row is."""
    model = CiTrusFusionForSequenceClassification.from_pretrained(folder).eval()
    processor = CiTrusFusionProcessor.from_pretrained(folder)
    rows = {
        name: [signal[i * 2 * rates[name] : (i + 1) * 2 * rates[name]] for i in range(count)]
        for name, signal in signals.items()
    }
    with torch.no_grad():
        return model(**processor(rows, sampling_rate=rates)).logits.softmax(-1)


def test_pipeline_of_a_fusion_folder_scores_windows_of_shared_times_as_the_model_scores_aligned_rows(tmp_path):
    folder = saved(tmp_path)
    classify = pipeline(model=folder)  # the task comes from the checkpoint
    assert type(classify).__name__ == "BioSignalFusionClassificationPipeline"
    signals = recording(7.0)
    result = classify(signals, sampling_rate=RATES, top_k=None)
    single_keys = {"label", "score", "labels", "label_seconds", "windows", "no_signal_windows", "unscored_seconds"}
    assert single_keys | {"backend"} == set(result)
    assert [(w["start"], w["end"]) for w in result["windows"]] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert result["unscored_seconds"] == pytest.approx(1.0)
    # the same windows cut by hand and aligned by the processor: the same scores
    model = CiTrusFusionForSequenceClassification.from_pretrained(folder).eval()
    expected = scores_of_rows(folder, signals, RATES, 3)
    for window, scores in zip(result["windows"], expected):
        by_label = {entry["label"]: entry["score"] for entry in window["labels"]}
        assert [by_label[model.config.id2label[i]] for i in range(3)] == pytest.approx(scores.tolist(), abs=1e-5)
    assert result["score"] == pytest.approx(float(expected.mean(0).max()), abs=1e-5)


def test_a_saved_fusion_pipeline_loads_back_and_scores_the_same(tmp_path):
    """transformers' `Pipeline.save_pretrained` saved no processor: the folder did not load back."""
    classify = pipeline(model=saved(tmp_path / "model"))
    classify.save_pretrained(tmp_path / "pipe")
    again = pipeline(model=str(tmp_path / "pipe"))
    signals = recording(5.0)
    assert again(signals, sampling_rate=RATES) == classify(signals, sampling_rate=RATES)


def test_a_modality_shorter_than_the_others_scores_the_common_span_and_says_so(tmp_path, caplog):
    classify = pipeline(model=saved(tmp_path))
    signals = recording(9.0)
    signals["eda"] = signals["eda"][: 4 * RATES["eda"]]  # 4 s of EDA beside 9 s of ECG
    with caplog.at_level(logging.WARNING):
        result = classify(signals, sampling_rate=RATES)
    assert [w["end"] for w in result["windows"]] == [2.0, 4.0]
    assert result["unscored_seconds"] == pytest.approx(5.0)
    assert "ecg 9 s, eda 4 s" in caplog.text and "only the 4 s that every modality covers" in caplog.text


def test_windows_of_different_encoder_durations_take_the_shortest(tmp_path):
    classify = pipeline(model=saved(tmp_path, eda_context=80))  # EDA encoder of 4 s windows, ECG of 2 s
    result = classify(recording(6.0, {"ecg": 250, "eda": 32}), sampling_rate={"ecg": 250, "eda": 32})
    assert [(w["start"], w["end"]) for w in result["windows"]] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]


def test_a_flat_modality_leaves_its_windows_out_naming_it(tmp_path):
    classify = pipeline(model=saved(tmp_path))
    signals = recording(6.0)
    signals["eda"][2 * RATES["eda"] : 4 * RATES["eda"]] = 0.0  # the electrode came off for one window
    result = classify(signals, sampling_rate=RATES)
    assert [w["no_signal"] for w in result["windows"]] == [None, "flat (eda)", None]
    assert result["no_signal_windows"] == 1


def test_a_fusion_regressor_gives_targets_per_window_and_their_mean(tmp_path):
    regress = pipeline(model=saved(tmp_path, CiTrusFusionForRegression, num_targets=1))
    assert type(regress).__name__ == "BioSignalFusionRegressionPipeline"
    result = regress(recording(4.0), sampling_rate=RATES)
    assert set(result) == {"target", "target_names", "windows", "no_signal_windows", "unscored_seconds", "backend"}
    targets = [w["target"] for w in result["windows"]]
    assert result["target"] == pytest.approx(float(np.mean(targets)))


def test_one_file_with_modality_channels_is_read_per_modality(tmp_path):
    classify = pipeline(model=saved(tmp_path / "model"))
    signals = recording(4.0, {"ecg": 100, "eda": 100})
    path = tmp_path / "session.csv"
    table = np.stack([signals["ecg"], signals["eda"]], axis=1)
    np.savetxt(path, table, delimiter=",", header="ECG,EDA", comments="")
    result = classify(str(path), sampling_rate=100, modality_channels={"ecg": ["ECG"], "eda": ["EDA"]})
    given = classify(signals, sampling_rate=100)
    assert [w["score"] for w in result["windows"]] == pytest.approx([w["score"] for w in given["windows"]], abs=1e-5)
    with pytest.raises(ValueError, match="modality_channels="):
        classify(str(path), sampling_rate=100)


def test_wrong_inputs_are_refused_in_one_line(tmp_path):
    folder = saved(tmp_path)
    classify = pipeline(model=folder)
    with pytest.raises(ValueError, match=r"name the modalities \['ecg'\], and the model takes \['ecg', 'eda'\]"):
        classify({"ecg": np.zeros(400)}, sampling_rate=100)
    two_leads = {"ecg": np.random.default_rng(0).standard_normal((2, 400)), "eda": recording(4.0)["eda"]}
    with pytest.raises(ValueError, match="^modality 'ecg': its recording has 2 channels but the checkpoint expects 1"):
        classify(two_leads, sampling_rate=RATES)
    with pytest.raises(
        ValueError, match="exports models of one input, and a fusion model takes one batch per modality"
    ):
        classify(recording(4.0), sampling_rate=RATES, backend="onnxruntime")
    with pytest.raises(ValueError, match=r"run by pipeline\('time-series-fusion-classification'"):
        pipeline("time-series-regression", model=folder)
    assert type(pipeline("time-series-fusion-classification", model=folder)).__name__ == (
        "BioSignalFusionClassificationPipeline"
    )
    single = save_tiny_classifier(tmp_path / "single")
    with pytest.raises(ValueError, match=r"no task of CiTrus models \(it runs fusion models, of one encoder per"):
        pipeline("time-series-fusion-classification", model=str(single))


# ------------------------------------------------------------------------------------------------- citrus predict


def _files(tmp_path, seconds: float = 6.0) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    signals = recording(seconds)
    paths = {}
    for name, signal in signals.items():
        paths[name] = str(tmp_path / f"{name.upper()}.csv")
        np.savetxt(paths[name], signal[:, None], delimiter=",", header=name.upper(), comments="")
    return signals, paths


def test_predict_scores_a_fusion_models_files_per_modality_as_the_pipeline_does(tmp_path, capsys):
    import csv

    from citrus_hf.commands.main import main

    folder = saved(tmp_path / "model")
    signals, paths = _files(tmp_path)
    output = tmp_path / "windows.csv"
    argv = [
        "predict",
        folder,
        f"ecg={paths['ecg']}",
        f"eda={paths['eda']}",
        "--modality-sampling-rate",
        "ecg=100",
        "eda=20",
    ]
    assert main([*argv, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "3 window(s) of 2 s at ecg 100 Hz, eda 20 Hz, backend torch" in printed
    rows = list(csv.DictReader(output.open()))
    expected = pipeline(model=folder)(signals, sampling_rate=RATES)
    assert [(float(row["start"]), float(row["end"])) for row in rows] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert [float(row["score"]) for row in rows] == pytest.approx([w["score"] for w in expected["windows"]], abs=1e-5)


def test_predict_reads_every_modality_of_one_file_by_its_channels(tmp_path, capsys):
    import json

    from citrus_hf.commands.main import main

    folder = saved(tmp_path / "model")
    signals = recording(4.0, {"ecg": 100, "eda": 100})
    path = tmp_path / "session.csv"
    np.savetxt(path, np.stack([signals["ecg"], signals["eda"]], 1), delimiter=",", header="ECG,EDA", comments="")
    output = tmp_path / "out.jsonl"
    argv = ["predict", folder, str(path), "--sampling-rate", "100", "--modality-channels", "ecg=ECG", "eda=EDA"]
    assert main([*argv, "--output", str(output)]) == 0
    (line,) = output.read_text().splitlines()
    record = json.loads(line)
    assert record["channels"] == ["ecg:ECG", "eda:EDA"] and record["sampling_rate"] == {"ecg": 100.0, "eda": 100.0}
    assert len(record["windows"]) == 2
    capsys.readouterr()
    assert main(["predict", folder, str(path), "--sampling-rate", "100"]) == 2
    assert "is a CSV file, whose channels are told apart by name only in EDF / BDF and WFDB files" in (
        capsys.readouterr().err
    )


def test_predict_refuses_modality_pairs_for_a_single_model(tmp_path, capsys):
    from citrus_hf.commands.main import main

    folder = save_tiny_classifier(tmp_path / "single")
    _, paths = _files(tmp_path)
    assert main(["predict", str(folder), f"ecg={paths['ecg']}", "--sampling-rate", "100"]) == 2
    assert "are for a fusion model (one recording per modality)" in capsys.readouterr().err


def test_a_psg_file_is_split_into_modalities_by_its_channel_names_in_the_pipeline_and_predict(tmp_path, capsys):
    """One EDF file of EEG and EOG at 100 Hz and EMG at 20 Hz (as Sleep-EDF's PSG holds signals at several rates):
    each modality is read at its own rate from the channels that name it, without `modality_channels`."""
    from tiny_configs import write_edf

    from citrus_hf.commands.main import main

    emg = tiny_config(sampling_rate=20, context_length=40, patch_length=10, spectrogram_n_fft=10)
    config = CiTrusFusionConfig(
        modality_configs={"eeg": tiny_config(num_channels=1), "eog": tiny_config(), "emg": emg}, num_labels=2
    )
    torch.manual_seed(0)
    CiTrusFusionForSequenceClassification(config).save_pretrained(tmp_path / "stager")
    CiTrusFusionProcessor.from_config(config).save_pretrained(tmp_path / "stager")
    rng = np.random.default_rng(0)
    signals = [rng.standard_normal(600) * 50, rng.standard_normal(600) * 50, rng.standard_normal(120) * 50]
    path = write_edf(tmp_path / "night.edf", signals, ["EEG Fpz-Cz", "EOG horizontal", "EMG submental"], [100, 100, 20])
    classify = pipeline(model=str(tmp_path / "stager"))
    result = classify(str(path))
    assert [(w["start"], w["end"]) for w in result["windows"]] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    named = classify(str(path), modality_channels={"eeg": ["EEG Fpz-Cz"], "eog": ["EOG horizontal"], "emg": [2]})
    assert [w["score"] for w in named["windows"]] == pytest.approx([w["score"] for w in result["windows"]])
    assert main(["predict", str(tmp_path / "stager"), str(path)]) == 0
    assert "3 window(s) of 2 s at eeg 100 Hz, emg 20 Hz, eog 100 Hz" in capsys.readouterr().out


def test_a_real_ecg_and_eda_session_at_two_rates_scores_as_the_processor_aligns_its_windows(
    tmp_path, offline_archives_cached, capsys
):
    """systole's Task1 session (real ECG and EDA of one participant): a minute of ECG at its 1 kHz and of EDA brought
    to 50 Hz, as a wristband would record it, in files of their own. The pipeline's windows are those the processor
    aligns from the same seconds cut by hand (the pipeline resamples each recording once, the processor each row:
    the same values but near a window's edges), and `citrus predict` scores the files as the pipeline scores the
    samples."""
    import json

    from citrus_hf.commands.main import main
    from citrus_hf.data.sources.systole import task1_recording

    ref = task1_recording(channels=("ECG", "EDA"))
    session = ref.loader(**ref.arguments).data[:, :60_000]  # (2, 60 s at 1 kHz)
    signals = {"ecg": session[0], "eda": session[1, ::20]}  # EDA at 50 Hz
    rates = {"ecg": 1000, "eda": 50}
    folder = saved(tmp_path / "model")
    result = pipeline(model=folder)(signals, sampling_rate=rates, top_k=None)
    assert len(result["windows"]) == 30 and result["unscored_seconds"] == 0
    expected = scores_of_rows(folder, signals, rates, 30)
    given = torch.tensor(
        [[e["score"] for e in sorted(w["labels"], key=lambda e: e["label"])] for w in result["windows"]]
    )
    assert float((given - expected).abs().max()) < 0.005  # (0.001 when written)
    for name, signal in signals.items():
        np.save(tmp_path / f"{name}.npy", signal[None])
    output = tmp_path / "out.jsonl"
    argv = ["predict", folder, f"ecg={tmp_path / 'ecg.npy'}", f"eda={tmp_path / 'eda.npy'}", "--output", str(output)]
    assert main([*argv, "--modality-sampling-rate", "ecg=1000", "eda=50"]) == 0
    (record,) = map(json.loads, output.read_text().splitlines())
    assert [w["score"] for w in record["windows"]] == pytest.approx([w["score"] for w in result["windows"]], abs=1e-6)


def test_predict_of_a_fusion_classifier_writes_events_and_the_time_per_label_as_a_single_model(tmp_path, capsys):
    """The merge with main's predict: a fusion classifier's session gets the time per label line and its events as
    BIDS's events.tsv or MNE's annotations (one file for the MODALITY=FILE session); lights bound only a stager."""
    from citrus_hf.commands.main import main

    folder = saved(tmp_path / "model")
    _, paths = _files(tmp_path)
    argv = ["predict", folder, f"ecg={paths['ecg']}", f"eda={paths['eda']}", "--modality-sampling-rate", "ecg=100"]
    argv += ["eda=20"]
    events = tmp_path / "events.tsv"
    assert main([*argv, "--output", str(events)]) == 0
    printed = capsys.readouterr().out
    assert ": time per label, of 6 s scored: " in printed
    assert "Wrote " in printed and f"events (3 windows) of 1 recording(s) to {events}" in printed
    lines = events.read_text().splitlines()
    assert lines[0] == "onset\tduration\ttrial_type\tscore" and len(lines) > 1
    annotations = tmp_path / "annotations.txt"
    assert main([*argv, "--output", str(annotations)]) == 0
    assert annotations.read_text().startswith("# MNE-Annotations\n")
    capsys.readouterr()
    assert main([*argv, "--lights-off", "1"]) == 2
    assert "is no sleep stager" in capsys.readouterr().err


def fusion_stager_argv(tmp_path) -> list[str]:
    """`citrus predict`'s arguments for a tiny fusion sleep stager (W, N1, N2, N3, REM) over a 6 s session of ECG and
    EDA files (`_files`), their rates given."""
    stages = {0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "REM"}
    folder = saved(tmp_path / "model", num_labels=5, id2label=stages, label2id={v: k for k, v in stages.items()})
    _, paths = _files(tmp_path)
    return ["predict", folder, f"ecg={paths['ecg']}", f"eda={paths['eda']}", "--modality-sampling-rate", "ecg=100"]


def test_predict_of_a_fusion_sleep_stager_prints_sleep_statistics_between_lights(tmp_path, capsys):
    import json

    from citrus_hf.commands.main import main

    output = tmp_path / "out.jsonl"
    argv = fusion_stager_argv(tmp_path)
    assert main([*argv, "eda=20", "--lights-off", "2", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "sleep (AASM; lights out at 0.0 min (--lights-off); its end as lights on): TST " in printed
    (record,) = [json.loads(line) for line in output.read_text().splitlines()]
    assert record["sleep"]["lights_off_seconds"] == 2.0 and record["sleep"]["recorded_seconds"] == 4.0


def test_predict_refuses_events_of_a_fusion_regressor(tmp_path, capsys):
    from citrus_hf.commands.main import main

    folder = saved(tmp_path / "model", model_class=CiTrusFusionForRegression, num_targets=1)
    _, paths = _files(tmp_path)
    argv = ["predict", folder, f"ecg={paths['ecg']}", f"eda={paths['eda']}", "--modality-sampling-rate", "ecg=100"]
    assert main([*argv, "eda=20", "--output", str(tmp_path / "events.tsv")]) == 2
    assert "is a regressor (it gives targets)" in capsys.readouterr().err
