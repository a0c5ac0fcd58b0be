"""Security audit 64: sizes in a downloaded checkpoint's files that size allocations (a fusion config's modalities, a
LoRA adapter's task config, `num_labels` / `num_channels` / `context_length`) are refused before anything is built;
damaged WFDB / EDF recordings are `CorruptFileError`s naming the file; a LoRA adapter runs under transformers' own
`pipeline` imported before citrus_hf.

Every hostile size is refused before any model is built: each test makes building a model fail at once
(`_refuse_building`), so that the code before the fix (which built it) fails the test without allocating anything.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import (
    CiTrusConfig,
    CiTrusFeatureExtractor,
    CiTrusForPretraining,
    CiTrusForSequenceClassification,
    CiTrusFusionConfig,
    CiTrusFusionForSequenceClassification,
    modeling_citrus,
)
from citrus_hf.data.errors import CorruptFileError
from citrus_hf.data.readers.edf import read_edf_header
from citrus_hf.data.recording_folders import recording_files
from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter


class _Built(AssertionError):
    """A model was built from hostile sizes (the refusal should have come first)."""


def _refuse_building(monkeypatch) -> None:
    """From now on, building any CiTrus encoder fails at once, before it allocates: the refusals must come first."""

    def built(self, *args, **kwargs):
        raise _Built("a CiTrusModel was built from the hostile sizes")

    monkeypatch.setattr(modeling_citrus.CiTrusModel, "__init__", built)


def _edit_json(path, **values) -> None:
    with open(path, encoding="utf-8") as handle:
        saved = json.load(handle)
    saved.update(values)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(saved, handle)


@pytest.fixture(scope="module")
def fusion_folder(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("fusion"))
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
    CiTrusFusionForSequenceClassification(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("num_hidden_layers", 10**5, r"config.json \(modality 'ecg'\) says num_hidden_layers=100000, and the weights"),
        ("ffn_dim", 10**9, r"config.json describes a model of at least [0-9,]+ values .*ffn_dim=1000000000 \(modality"),
    ],
)
def test_fusion_modality_sizes_are_checked_against_the_weights(
    fusion_folder, tmp_path, monkeypatch, field, value, message
):
    """One modality's `num_hidden_layers=10**5` built layers for minutes, `ffn_dim=10**9` failed in torch's
    allocator: the checks of a single model's config.json read only the fusion config's top level."""
    folder = tmp_path / "edited"
    shutil.copytree(fusion_folder, folder)
    with open(folder / "config.json", encoding="utf-8") as handle:
        saved = json.load(handle)
    saved["modality_configs"]["ecg"][field] = value
    (folder / "config.json").write_text(json.dumps(saved), encoding="utf-8")
    _refuse_building(monkeypatch)
    with pytest.raises(ValueError, match=message):
        CiTrusFusionForSequenceClassification.from_pretrained(str(folder))


def test_the_auto_classes_check_the_config_they_read(fusion_folder, tmp_path, monkeypatch):
    """The Auto classes pass the config they read from config.json as `config=`, which skipped every size check."""
    from transformers import AutoModelForSequenceClassification

    folder = tmp_path / "edited"
    shutil.copytree(fusion_folder, folder)
    with open(folder / "config.json", encoding="utf-8") as handle:
        saved = json.load(handle)
    saved["modality_configs"]["eda"]["ffn_dim"] = 10**9
    (folder / "config.json").write_text(json.dumps(saved), encoding="utf-8")
    single = save_tiny_classifier(str(tmp_path / "clf"))
    _edit_json(os.path.join(single, "config.json"), num_hidden_layers=10**5)
    _refuse_building(monkeypatch)
    with pytest.raises(
        ValueError, match=r"describes a model of at least [0-9,]+ values .*ffn_dim=1000000000 \(modality 'eda'\)"
    ):
        AutoModelForSequenceClassification.from_pretrained(str(folder))
    with pytest.raises(ValueError, match=r"says num_hidden_layers=100000, and the weights hold 1 transformer layers"):
        AutoModelForSequenceClassification.from_pretrained(single)


def test_the_saved_fusion_checkpoint_still_loads(fusion_folder):
    model = CiTrusFusionForSequenceClassification.from_pretrained(fusion_folder)
    assert set(model.encoders) == {"ecg", "eda"}


@pytest.fixture
def adapter_folder(tmp_path):
    base = save_tiny_classifier(str(tmp_path / "base"))
    adapter = str(tmp_path / "adapter")
    model = apply_lora(CiTrusForSequenceClassification.from_pretrained(base), r=2, verbose=False)
    save_adapter(model, adapter, CiTrusFeatureExtractor.from_pretrained(base))
    return adapter


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "num_hidden_layers",
            10**5,
            r"citrus_task_config.json .* says num_hidden_layers=100000, and the weights hold 1",
        ),
        ("ffn_dim", 10**9, r"citrus_task_config.json .* describes a model of at least [0-9,]+ values .*ffn_dim=10+"),
    ],
)
def test_an_adapters_task_config_is_checked_against_its_bases_weights(
    adapter_folder, monkeypatch, field, value, message
):
    """The base is loaded with `config=` (the adapter's task config), which skipped the checks its config.json gets:
    `num_hidden_layers=10**5` built layers for minutes, `ffn_dim=10**9` failed in torch's allocator."""
    _edit_json(os.path.join(adapter_folder, "citrus_task_config.json"), **{field: value})
    _refuse_building(monkeypatch)
    with pytest.raises(ValueError, match=message):
        load_adapter(None, adapter_folder)


def test_an_intact_adapter_still_loads(adapter_folder):
    model = load_adapter(None, adapter_folder)
    assert model.config.num_labels == 2


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"num_channels": 10**12}, r"`num_channels=1,000,000,000,000` is more channels than any recording device"),
        # within each field's limit, but a concatenating head of 10**4 x (16 x 10**4) values: counted with the weights
        ({"num_channels": 10**4, "num_labels": 10**4, "id2label": None, "label2id": None}, r"num_labels=10000"),
    ],
)
def test_head_sizes_in_config_json_are_refused_before_building(tmp_path, monkeypatch, values, message):
    """`num_channels=10**12` made a classifier of 128 TB (torch's allocator traceback); the head was not counted among
    the sizes compared with the weights."""
    folder = save_tiny_classifier(str(tmp_path / "clf"))
    _edit_json(os.path.join(folder, "config.json"), **values)
    _refuse_building(monkeypatch)
    with pytest.raises(ValueError, match=message):
        CiTrusForSequenceClassification.from_pretrained(folder)


def test_num_labels_beyond_any_label_set_is_refused_before_the_label_map_is_built():
    """`num_labels=10**8` in config.json (no id2label) made transformers build a label map of 10**8 names (a
    MemoryError, or the OOM killer). 2 * 10**6 is over the limit and still cheap before the fix."""
    with pytest.raises(ValueError, match=r"`num_labels=2,000,000` is more classes than any label set"):
        CiTrusConfig(num_labels=2 * 10**6)
    assert CiTrusConfig(num_labels=1000).num_labels == 1000


def test_context_length_beyond_any_window_is_refused_when_read(tmp_path):
    """`context_length=10**12` (config.json and preprocessor_config.json, with padding="max_length") loaded without a
    word; the first prediction asked numpy for 3.64 TiB."""
    folder = save_tiny_classifier(str(tmp_path / "clf"))
    _edit_json(os.path.join(folder, "preprocessor_config.json"), context_length=10**12, padding="max_length")
    with pytest.raises(ValueError, match=r"`context_length=1,000,000,000,000` is more samples per window"):
        CiTrusFeatureExtractor.from_pretrained(folder)
    with pytest.raises(ValueError, match=r"`context_length=1,000,000,000,000`"):
        CiTrusConfig(context_length=10**12, patch_length=10)
    # a long window of short patches: 10**6 tokens per channel
    with pytest.raises(ValueError, match=r"`num_patches=1,000,000` is more patch tokens per channel"):
        CiTrusConfig(context_length=10**7, patch_length=10)
    # an hour at 1 kHz in patches of a second still loads
    assert CiTrusConfig(context_length=3_600_000, patch_length=1000).num_patches == 3600


def test_a_wfdb_segment_named_as_a_path_is_one_damaged_recording(tmp_path):
    """A multi-segment header naming the segment `../x` broke listing the whole folder with pathlib's "Invalid name
    '../x.hea'"; it is listed, and reading it names the header and the segment name."""
    np.save(tmp_path / "a.npy", np.zeros((1, 500), dtype=np.float32))
    (tmp_path / "rec.hea").write_text("rec/1 1 100 500\n../x 500\n", encoding="latin-1")
    assert [path.name for path in recording_files(tmp_path)] == ["a.npy", "rec.hea"]
    pytest.importorskip("wfdb")
    from citrus_hf.data.readers.wfdb import read_wfdb

    with pytest.raises(CorruptFileError, match=r"rec.hea names the segment '\.\./x', which is no WFDB segment name"):
        read_wfdb(tmp_path / "rec.hea")


def _edf(path, n_records: int, data: bytes = b"") -> str:
    """A one-signal EDF (100 samples per 1 s record) declaring `n_records`, followed by `data`."""
    header = (
        b"0".ljust(8)
        + b"X".ljust(80)
        + b"Y".ljust(80)
        + b"01.01.01"
        + b"00.00.00"
        + b"512".ljust(8)
        + b"".ljust(44)
        + str(n_records).encode().ljust(8)
        + b"1".ljust(8)
        + b"1".ljust(4)
    )
    signal = (
        b"EEG".ljust(16)
        + b"".ljust(80)
        + b"uV".ljust(8)
        + b"-100".ljust(8)
        + b"100".ljust(8)
        + b"-32768".ljust(8)
        + b"32767".ljust(8)
        + b"".ljust(80)
        + b"100".ljust(8)
        + b"".ljust(32)
    )
    with open(path, "wb") as handle:
        handle.write(header + signal + data)
    return str(path)


@pytest.mark.parametrize(("n_records", "data"), [(0, b""), (-1, bytes(50))])
def test_an_edf_without_data_records_is_a_corrupt_file_naming_it(tmp_path, n_records, data):
    """0 declared records, or -1 ("still recording") with less than one record: MNE failed with "No data in this
    range", and a folder of such files became an empty `datasets` split."""
    path = _edf(tmp_path / "stopped.edf", n_records, data)
    with pytest.raises(CorruptFileError, match=r"stopped.edf holds no samples: its header declares"):
        read_edf_header(path)


def test_an_edf_still_recording_with_a_whole_record_reads(tmp_path):
    header = read_edf_header(_edf(tmp_path / "one.edf", -1, bytes(200)))
    assert header.samples_per_record == [100]


@pytest.fixture
def transformers_own_pipeline():
    """transformers' `pipeline` as code that imported it before `import citrus_hf` holds it (the package replaces
    the module's attribute with its wrapper, which such code never calls)."""
    import transformers.pipelines

    return transformers.pipelines.pipeline.__wrapped__


def test_an_adapter_runs_under_transformers_own_pipeline(adapter_folder, transformers_own_pipeline):
    """`from transformers import pipeline` before `import citrus_hf`: `pipeline(model=adapter)` failed with "Could
    not load model ... with any of the following classes" (the adapter route lived in the package's wrapper only)."""
    pipe = transformers_own_pipeline(model=adapter_folder)
    reference = load_adapter(None, adapter_folder)
    assert type(pipe.model).__name__ == "CiTrusForSequenceClassification"
    signal = np.random.default_rng(0).standard_normal((1, 100)).astype(np.float32)
    inputs = pipe.feature_extractor(signal, sampling_rate=50, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(pipe.model(**inputs).logits, reference(**inputs).logits)


def test_an_adapter_on_a_pretraining_base_names_its_task_under_transformers_own_pipeline(
    tmp_path, transformers_own_pipeline
):
    """transformers takes the task from the base's config: a pre-training base's is feature extraction, which would
    run the adapter's classifier as an encoder; refused, naming the task to pass (which then works)."""
    base = str(tmp_path / "encoder")
    CiTrusForPretraining(tiny_config()).save_pretrained(base)
    CiTrusFeatureExtractor.from_config(tiny_config()).save_pretrained(base)
    adapter = str(tmp_path / "adapter")
    model = CiTrusForSequenceClassification.from_pretrained(base, num_labels=3)
    save_adapter(apply_lora(model, r=2, verbose=False), adapter, CiTrusFeatureExtractor.from_pretrained(base))
    with pytest.raises(ValueError, match=r"pass the task, pipeline\('time-series-classification', model="):
        transformers_own_pipeline(model=adapter)
    pipe = transformers_own_pipeline("time-series-classification", model=adapter)
    assert pipe.model.config.num_labels == 3
