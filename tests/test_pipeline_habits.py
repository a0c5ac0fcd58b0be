"""The pipelines as a transformers 5 user calls them by habit (pipeline habits audit, findings 1-6, and the peft
audit's finding 6): `top_k=None` gives every label, an error about the N-th recording of a list, generator or
`KeyDataset` names recording N, one rate per recording works for a generator and a `KeyDataset`, a misspelt argument
gets the close name, a file path or a plain iterator gets how to pass it, the short-recording notice comes once, and
a feature extractor given by path is loaded.

A tiny 8-label classifier (100 Hz, 2 s windows of 10 patches) on the torch backend: each test takes about a second.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config
from transformers import pipeline
from transformers.pipelines.pt_utils import KeyDataset

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.configuration_citrus import closest_field_hint
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.inference import pipelines as pipelines_module
from citrus_hf.inference.pipelines import BioSignalClassificationPipeline

RATE = 100.0
LABELS = 8
RNG = np.random.default_rng(0)
GOOD = RNG.standard_normal(500)  # 5 s: two 2 s windows
BAD = GOOD.copy()
BAD[7] = np.nan


@pytest.fixture(scope="module")
def classifier_folder(tmp_path_factory) -> str:
    """A tiny 8-label classifier saved with its feature extractor."""
    torch.manual_seed(0)
    folder, config = str(tmp_path_factory.mktemp("classifier")), tiny_config(num_labels=LABELS)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def classify(classifier_folder):
    return pipeline(model=classifier_folder, backend="torch")


# ---------------------------------------------------------------------------------------------- 1. top_k=None


def test_top_k_none_gives_every_label_and_the_default_stays_five(classifier_folder, classify):
    every = classify(GOOD, sampling_rate=RATE, top_k=None)
    assert len(every["labels"]) == LABELS
    assert all(len(window["labels"]) == LABELS for window in every["windows"])
    assert len(classify(GOOD, sampling_rate=RATE)["labels"]) == pipelines_module.DEFAULT_TOP_K
    built = pipeline(model=classifier_folder, backend="torch", top_k=None)
    assert len(built(GOOD, sampling_rate=RATE)["labels"]) == LABELS
    # a call's top_k equal to the default still overrides the construction's
    two = pipeline(model=classifier_folder, backend="torch", top_k=2)
    assert len(two(GOOD, sampling_rate=RATE)["labels"]) == 2
    assert len(two(GOOD, sampling_rate=RATE, top_k=5)["labels"]) == 5


# -------------------------------------------------------------------------------- 2. the N-th recording's error


def _key_dataset(recordings):
    from datasets import Dataset

    columns = {"signal": [recording.tolist() for recording in recordings]}
    return KeyDataset(Dataset.from_dict(columns).with_format("numpy"), "signal")


@pytest.mark.parametrize("kind", ["list", "generator", "KeyDataset"])
def test_an_error_names_the_recording_the_caller_counts(classify, kind):
    recordings = [GOOD, GOOD, BAD]
    inputs = {
        "list": lambda: recordings,
        "generator": lambda: (recording for recording in recordings),
        "KeyDataset": lambda: _key_dataset(recordings),
    }[kind]()
    with pytest.raises(ValueError, match=r"^recording 2 contains 1 NaN"):
        list(classify(inputs, sampling_rate=RATE))


def test_the_pipelines_own_error_about_a_recording_of_a_list_names_it(classify):
    with pytest.raises(TypeError, match=r"^Recording 1: A recording must be"):
        classify([GOOD, {1, 2}], sampling_rate=RATE)


# ------------------------------------------------------------------- 3. one rate per recording of a stream


@pytest.mark.parametrize("kind", ["generator", "KeyDataset"])
def test_one_rate_per_recording_of_a_stream_as_of_a_list(classify, kind):
    recordings, rates = [GOOD, GOOD[::2].copy()], [RATE, RATE / 2]
    expected = classify(recordings, sampling_rate=rates)
    inputs = (r for r in recordings) if kind == "generator" else _key_dataset(recordings)
    results = list(classify(inputs, sampling_rate=rates))
    assert [len(result["windows"]) for result in results] == [len(result["windows"]) for result in expected] == [2, 2]
    assert [result["score"] for result in results] == pytest.approx([result["score"] for result in expected])


def test_a_rate_count_that_differs_from_the_stream_is_refused(classify):
    with pytest.raises(ValueError, match="has 1 values and the input has more recordings"):
        list(classify((r for r in [GOOD, GOOD]), sampling_rate=[RATE]))
    with pytest.raises(ValueError, match="has 3 values for 2 recordings"):
        list(classify((r for r in [GOOD, GOOD]), sampling_rate=[RATE] * 3))
    with pytest.raises(ValueError, match="has 3 values for 2 recordings"):
        classify(_key_dataset([GOOD, GOOD]), sampling_rate=[RATE] * 3)


# ---------------------------------------------------------------------------------- 4. a misspelt argument


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("topk", "did you mean 'top_k'?"),
        ("sample_rate", "did you mean 'sampling_rate'?"),
        ("sr", "sampling_rate"),
        ("stride_length_s", "did you mean hop_seconds, the time between window starts?"),
        ("chunk_length_s", "did you mean hop_seconds; the window is the checkpoint's own?"),
    ],
)
def test_a_misspelt_argument_gets_the_close_name_and_the_accepted_ones(classify, name, hint):
    with pytest.raises(TypeError, match="unexpected parameter") as error:
        classify(GOOD, sampling_rate=RATE, **{name: 2})
    assert hint in str(error.value)
    assert "it takes alignment, backend, batch_size," in str(error.value) and "window_batch_size" not in str(
        error.value
    )


def test_return_all_scores_points_to_top_k_none(classify):
    with pytest.raises(TypeError, match=r"'return_all_scores' \(did you mean top_k=None\?\)"):
        classify(GOOD, sampling_rate=RATE, return_all_scores=True)


def test_the_spelt_out_hint_matches_the_packages(classify):
    """pipelines.py spells `configuration_citrus.closest_field_hint` out (remote code): they must agree."""
    accepted = classify._accepted_parameters()
    for name in ("topk", "sample_rate", "bakend", "hop", "zzz"):
        assert pipelines_module._closest_name_hint(name, accepted) == closest_field_hint(name, frozenset(accepted))


# ---------------------------------------------------------------------------- 5. a file path, a plain iterator


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_a_file_path_is_read_as_citrus_predict_reads_it(classify, suffix, tmp_path, monkeypatch):
    """transformers' audio pipelines take a file's path; this one said it read no files. It reads what `citrus
    predict` reads, with the same results as the samples themselves."""
    path = tmp_path / f"recording{suffix}"
    if suffix == ".npy":
        np.save(path, GOOD)
    else:
        np.savetxt(path, GOOD[:, None], fmt="%.17g")
    expected = classify(GOOD, sampling_rate=RATE)
    for given in (str(path), path):
        assert classify(given, sampling_rate=RATE) == expected
    assert classify([str(path), GOOD], sampling_rate=RATE)[0] == expected
    with pytest.raises(ValueError, match=r"does not record its sampling rate; give it"):
        classify(str(path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"^The recording file 'missing.edf' does not exist"):
        classify("missing.edf")
    with pytest.raises(TypeError, match=r"^The recording is 4 bytes and no WAV file's .*: pass its samples"):
        classify(b"\x00\x01\x02\x03", sampling_rate=RATE)
    with pytest.raises(ValueError, match=r"^The recording's 4 bytes could not be read as a WAV file"):
        classify(b"RIFF")  # the start of a WAV file, and no more
    # as a checkpoint's remote code, without the package, it says how to load the file
    monkeypatch.setattr(pipelines_module, "_recording_file_reader", lambda: None)
    with pytest.raises(TypeError, match=r"^The recording is the path '.*recording.*': this pipeline reads files only"):
        classify(str(path))


@pytest.mark.skipif(torch.cuda.is_available(), reason="the machine has a CUDA device")
@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda"), 0])
def test_a_device_the_machine_lacks_is_refused_before_the_model_moves(classifier_folder, device):
    # moving the model raised PyTorch's "Torch not compiled with CUDA enabled" from inside `Module.to`
    with pytest.raises(ValueError, match=r"^`device=.*` asks for .*leave `device` out") as error:
        pipeline(model=classifier_folder, device=device)
    assert "cpu" in str(error.value)


def test_a_plain_iterator_is_told_to_pass_a_list_or_a_generator(classify):
    with pytest.raises(TypeError, match=r"list_iterator.*`list\(\.\.\.\)` of it, or a generator"):
        classify(iter([GOOD, GOOD]), sampling_rate=RATE)


# ------------------------------------------------------------------------------- 6. the short-recording notice


def test_the_short_recording_notice_comes_once_for_many_durations(classify, caplog):
    logging.Logger.info_once.cache_clear()
    clips = [RNG.standard_normal(int(n)) for n in (30, 45, 52, 61, 77)]  # 0.3-0.77 s: under half a window
    with caplog.at_level("DEBUG", logger="citrus_hf"):
        classify(clips, sampling_rate=RATE)
    notices = [r for r in caplog.records if "own duration" in r.getMessage() and r.levelno == logging.INFO]
    assert len(notices) == 1
    assert "nothing needs changing" in notices[0].getMessage()
    details = [
        r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG and "own duration" in r.getMessage()
    ]
    assert any("0.3 s" in message for message in details) and any("0.77 s" in message for message in details)


# ------------------------------------------------------------------------ 7. a feature extractor given by path


def test_a_feature_extractor_given_by_path_is_loaded(classifier_folder, tmp_path):
    bare = tmp_path / "weights-only"
    CiTrusForSequenceClassification.from_pretrained(classifier_folder).save_pretrained(bare)
    expected = pipeline(model=classifier_folder, backend="torch")(GOOD, sampling_rate=RATE)
    # transformers' `pipeline()` passes a Path on as it is; the pipeline class also takes a name (str)
    run = pipeline(model=str(bare), feature_extractor=Path(classifier_folder), backend="torch")
    assert run(GOOD, sampling_rate=RATE)["score"] == pytest.approx(expected["score"])
    model = CiTrusForSequenceClassification.from_pretrained(str(bare))
    direct = BioSignalClassificationPipeline(model=model, feature_extractor=classifier_folder)
    assert isinstance(direct.feature_extractor, CiTrusFeatureExtractor)


def test_a_feature_extractor_path_that_does_not_load_is_named(classifier_folder, tmp_path):
    missing = tmp_path / "no-such-extractor"
    with pytest.raises(ValueError, match=r"`feature_extractor='.*no-such-extractor'` could not be loaded"):
        pipeline(model=classifier_folder, feature_extractor=missing, backend="torch")


def test_a_feature_extractor_given_by_name_or_string_folder_is_loaded(classifier_folder, tmp_path):
    bare = tmp_path / "weights-only"
    CiTrusForSequenceClassification.from_pretrained(classifier_folder).save_pretrained(bare)
    expected = pipeline(model=classifier_folder, backend="torch")(GOOD, sampling_rate=RATE)
    # a string reached transformers' factory, which tried the model's folder for it, swallowed that error and dropped it
    run = pipeline(model=str(bare), feature_extractor=classifier_folder, backend="torch")
    assert run.feature_extractor.to_dict() == CiTrusFeatureExtractor.from_pretrained(classifier_folder).to_dict()
    assert run(GOOD, sampling_rate=RATE)["score"] == pytest.approx(expected["score"])
    # a bundled name is loaded too: citrus-small's extractor is then refused for its own contract, not "not found"
    with pytest.raises(ValueError, match=r"does not align recordings to this model's input contract: patch_length=10"):
        pipeline(model=str(bare), feature_extractor="citrus-small", backend="torch")


def test_a_bundled_name_given_to_transformers_own_factory_gets_the_import_order_fix(monkeypatch):
    """`from transformers import pipeline` before `import citrus_hf` keeps transformers' factory, which found
    citrus-small's model (the Auto classes know the name) but not its extractor, and the error said only "not found"."""
    import transformers.pipelines
    from huggingface_hub import constants

    # offline, the factory's Hub lookups of the name fail at once (online, without a network, they retry for 90 s)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    transformers_own = transformers.pipelines.pipeline.__wrapped__  # the factory before citrus_hf wrapped it
    with pytest.raises(
        ValueError, match=r"was not found.*`import citrus_hf` before `from transformers import pipeline`"
    ):
        transformers_own(model="citrus-small")


@pytest.mark.parametrize("task", ["audio-classification", "text-classification", "image-classification"])
def test_a_task_of_another_modality_names_the_bio_signal_task_that_runs_the_checkpoint(classifier_folder, task):
    """`pipeline("audio-classification", model=folder)`, a natural guess for a signal classifier, failed with "Could
    not load model ... with any of the following classes" over a traceback ("text-classification": a tokenizer)."""
    from citrus_hf import CiTrusForSequenceClassification as loaded_class

    expected = rf"pipeline\('{task}'\) is no task of CiTrus models.*runs as pipeline\('time-series-classification'"
    with pytest.raises(ValueError, match=expected):
        pipeline(task, model=classifier_folder)
    with pytest.raises(ValueError, match=expected):  # a loaded model too
        pipeline(task, model=loaded_class.from_pretrained(classifier_folder))
    assert pipeline("time-series-classification", model=classifier_folder, backend="torch")(GOOD, sampling_rate=RATE)


def test_a_whole_datasets_dataset_is_told_to_pass_a_column_with_key_dataset(classify):
    from datasets import Dataset

    rows = Dataset.from_dict({"input_values": [GOOD.tolist()] * 2, "sampling_rate": [RATE] * 2})
    advice = r"one column at a time.*KeyDataset\(dataset, 'input_values'\), sampling_rate=dataset\['sampling_rate'\]\)"
    with pytest.raises(TypeError, match=advice):
        classify(rows, sampling_rate=RATE)
    with pytest.raises(TypeError, match=advice):  # without a rate it was "`sampling_rate` is required", rows had one
        classify(rows)
    assert len(list(classify(KeyDataset(rows, "input_values"), sampling_rate=RATE))) == 2
    assert len(list(classify(KeyDataset(rows, "input_values"), sampling_rate=rows["sampling_rate"]))) == 2
    raw = Dataset.from_dict({"raw": [GOOD.tolist()]})
    with pytest.raises(TypeError, match=r"KeyDataset\(dataset, 'raw'\), sampling_rate=250 \(the recordings' rate\)"):
        classify(raw)


def test_the_max_length_padding_notice_comes_once_for_many_durations(caplog):
    """Its text held each call's fill, so `warning_once` said it again for every new duration."""
    logging.Logger.warning_once.cache_clear()  # transformers' warning_once is process-global
    extractor = CiTrusFeatureExtractor.from_config(tiny_config(), padding="max_length")
    with caplog.at_level(logging.WARNING):
        for samples in (30, 40, 50, 60):
            extractor(GOOD[:samples], sampling_rate=RATE)
    assert caplog.text.count("padded to it (padding='max_length'") == 1


def test_hop_seconds_gives_the_hop_in_seconds_as_citrus_predict_takes_it(classify):
    """Windows every 0.5 s: `hop_seconds=0.5` is `hop_length=50` at the model's 100 Hz (a hop in samples of the
    model's rate, not the recording's, was easy to get wrong); both at once, or less than a sample, is one line."""
    by_seconds = classify(GOOD, sampling_rate=RATE, hop_seconds=0.5)
    by_samples = classify(GOOD, sampling_rate=RATE, hop_length=50)
    assert [w["start"] for w in by_seconds["windows"]] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    assert by_seconds["windows"] == by_samples["windows"]
    with pytest.raises(ValueError, match=r"hop_length=50 \(model samples\) and hop_seconds=0.5 both give the hop"):
        classify(GOOD, sampling_rate=RATE, hop_seconds=0.5, hop_length=50)
    with pytest.raises(ValueError, match=r"A hop of 0.001 s is less than one sample of the model's 100 Hz"):
        classify(GOOD, sampling_rate=RATE, hop_seconds=0.001)


def test_a_wav_files_bytes_are_a_recording_as_transformers_audio_pipelines_take_them(classify, tmp_path):
    """`pipe(open("beat.wav", "rb").read())` and an undecoded `datasets.Audio` row `{"bytes", "path"}`: the file's
    rate is the recording's (a different one in the call is refused, as for a file)."""
    import io

    from scipy.io import wavfile

    buffer = io.BytesIO()
    wavfile.write(buffer, int(RATE), GOOD.astype(np.float32))
    content = buffer.getvalue()
    expected = classify(GOOD.astype(np.float32), sampling_rate=RATE)
    assert classify(content) == expected
    assert classify({"bytes": content, "path": "somewhere/else.wav"}) == expected
    with pytest.raises(ValueError, match=r"The WAV bytes record their rate, 100 Hz, and the call says 250 Hz"):
        classify(content, sampling_rate=250)
