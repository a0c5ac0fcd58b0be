"""Audit 66 (the feature extractor against Hugging Face feature-extractor habits): settings assigned as attributes,
transformers' audio-extractor settings, `BatchFeature.to(half)` of window start times, an extractor saved beside a
model of another input contract, `from_json_file`, a model folder without its extractor, `pad_to_multiple_of` past
the context, `max_window_bytes` in the saved file, the signal given as `raw_speech=`, and contract overrides at load."""

from __future__ import annotations

import copy
import json
import logging

import numpy as np
import pytest
import torch
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import AutoFeatureExtractor, DataCollatorWithPadding

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.configuration_citrus import CiTrusConfig


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A saved tiny classifier (100 Hz, 200 samples, patches of 20) and its extractor."""
    torch.manual_seed(0)
    return save_tiny_classifier(tmp_path_factory.mktemp("classifier"), 2)


def tiny_extractor(**overrides) -> CiTrusFeatureExtractor:
    return CiTrusFeatureExtractor.from_config(tiny_config(), **overrides)


def warnings_said(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]


# ------------------------------------------------------------------------------- 1. settings set as attributes

BAD_SETTINGS = [
    ("normalization", "z-score"),
    ("normalization", None),
    ("pad_last_window", "False"),
    ("channel_independent", "yes"),
    ("padding_value", float("nan")),
    ("padding_value", "0"),
    ("sampling_rate", -100),
    ("context_length", 0),
    ("context_length", 10**13),
    ("num_channels", 2.5),
    ("patch_length", "20"),
    ("channel_names", "Fz"),
    ("channel_names", 3),
    ("normalization_mean", 0.0),
    ("normalization_std", [-1.0]),
    ("alignment", "windows"),
    ("nan_policy", "skip"),
    ("padding", "shortest"),
    ("hop_length", 0),
    ("hop_length", 2.5),
    ("padding_side", "left"),
]


@pytest.mark.parametrize("name, value", BAD_SETTINGS, ids=[f"{name}={value!r}" for name, value in BAD_SETTINGS])
def test_a_setting_assigned_as_an_attribute_is_checked_as_the_constructor_checks_it(name, value, tmp_path):
    """`extractor.normalization = "z-score"` (or None) turned normalisation off silently, `pad_last_window = "False"`
    turned it on, and the folder saved afterwards could no longer be loaded."""
    with pytest.raises((TypeError, ValueError)) as built:
        CiTrusFeatureExtractor(**{name: value})
    extractor = CiTrusFeatureExtractor()
    before = copy.deepcopy(getattr(extractor, name))
    with pytest.raises(built.type) as assigned:
        setattr(extractor, name, value)
    assert str(assigned.value) == str(built.value)
    assert getattr(extractor, name) == before or (before != before and getattr(extractor, name) != before)
    extractor.save_pretrained(tmp_path)
    assert CiTrusFeatureExtractor.from_pretrained(tmp_path).to_dict() == extractor.to_dict()


def test_settings_assigned_are_stored_as_the_constructor_stores_them():
    extractor = CiTrusFeatureExtractor(num_channels=2)
    extractor.padding_value = np.float32(1)
    extractor.hop_length = np.int64(100)
    extractor.normalization_std = (1, 2)
    extractor.sampling_rate = 250
    assert type(extractor.padding_value) is float and type(extractor.hop_length) is int
    assert extractor.normalization_std == [1.0, 2.0] and type(extractor.sampling_rate) is float


def test_settings_that_go_together_can_be_changed_one_after_the_other_and_are_checked_when_used(tmp_path):
    """Checks across settings (channel names for the channel count, statistics for "fixed") wait until the extractor
    is used or saved, so that the settings can be assigned in any order; an inconsistent extractor is not saved."""
    extractor = CiTrusFeatureExtractor(num_channels=1, channel_names=["Fz"])
    extractor.num_channels = 2  # the names follow
    with pytest.raises(ValueError, match=r"`channel_names` has 1 entries but `num_channels` is 2"):
        extractor(np.zeros((2, 3000)), sampling_rate=100)
    with pytest.raises(ValueError, match=r"`channel_names` has 1 entries but `num_channels` is 2"):
        extractor.save_pretrained(tmp_path)
    assert not (tmp_path / "preprocessor_config.json").exists()
    extractor.channel_names = ["Fz", "Cz"]
    extractor.normalization = "fixed"
    with pytest.raises(ValueError, match=r'`normalization="fixed"` needs `normalization_mean`'):
        extractor(np.zeros((2, 3000)), sampling_rate=100)
    extractor.normalization_mean, extractor.normalization_std = [0.0, 0.0], [1.0, 1.0]
    extractor.context_length = 3010
    with pytest.raises(ValueError, match=r"`context_length` \(3010\) must be a multiple of `patch_length` \(20\)"):
        extractor.save_pretrained(tmp_path)
    extractor.context_length = 3000
    extractor.save_pretrained(tmp_path)
    assert CiTrusFeatureExtractor.from_pretrained(tmp_path).to_dict() == extractor.to_dict()


def test_a_nan_padding_value_is_refused_where_it_is_set_not_blamed_on_the_recording():
    extractor = CiTrusFeatureExtractor()
    with pytest.raises(ValueError, match=r"`padding_value` must be a finite number, got nan"):
        extractor.padding_value = float("nan")
    features = extractor([np.ones(500), np.ones(300)], sampling_rate=100)
    assert np.isfinite(features["input_values"]).all()


# ------------------------------------------------------------------- 2. transformers' audio-extractor settings

FOREIGN = [
    ("do_normalize", False, r"'do_normalize' \(did you mean normalization='zscore' \(True\) or 'none' \(False\)\?\)"),
    ("mean", 50.0, r"'mean' \(did you mean normalization_mean, with normalization='fixed'\?\)"),
    ("std", 20.0, r"'std' \(did you mean normalization_std, with normalization='fixed'\?\)"),
    ("max_length", 200, r"'max_length' \(did you mean context_length"),
]


@pytest.mark.parametrize("name, value, message", FOREIGN, ids=[name for name, _, _ in FOREIGN])
def test_transformers_audio_settings_are_refused_with_the_citrus_setting_to_use(classifier, name, value, message):
    """`from_pretrained(..., do_normalize=False)`, `from_config(cfg, mean=50, std=20)`, `max_length=200` at load were
    taken and ignored (the constructor even saved do_normalize)."""
    for build in (
        lambda: AutoFeatureExtractor.from_pretrained(classifier, **{name: value}),
        lambda: CiTrusFeatureExtractor.from_pretrained(classifier, **{name: value}),
        lambda: CiTrusFeatureExtractor.from_config(tiny_config(), **{name: value}),
        lambda: CiTrusFeatureExtractor(**{name: value}),
    ):
        with pytest.raises(ValueError, match=message):
            build()


def test_feature_size_other_than_the_channel_count_is_refused_naming_num_channels(classifier):
    """`CiTrusFeatureExtractor(feature_size=3)` built a one-channel extractor."""
    message = r"`feature_size` .* is the channel count here: pass num_channels=3"
    with pytest.raises(ValueError, match=message):
        CiTrusFeatureExtractor(feature_size=3, channel_independent=False)
    with pytest.raises(ValueError, match=message):
        CiTrusFeatureExtractor.from_pretrained(classifier, feature_size=3)
    extractor = CiTrusFeatureExtractor(num_channels=3, feature_size=3)  # the same count: taken
    with pytest.raises(ValueError, match=r"`feature_size` .* is the channel count here: pass num_channels=2"):
        extractor.feature_size = 2
    extractor.num_channels = 2
    assert extractor.feature_size == 2 and extractor.to_dict()["feature_size"] == 2


def test_a_saved_file_keeps_its_feature_size_and_loads(classifier, tmp_path):
    saved = json.loads((classifier / "preprocessor_config.json").read_text())
    assert saved["feature_size"] == saved["num_channels"]
    # an extractor saved after `extractor.num_channels = 2` kept feature_size 1 in its file
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**saved, "num_channels": 2, "feature_size": 1}))
    assert CiTrusFeatureExtractor.from_pretrained(tmp_path).feature_size == 2


# ---------------------------------------------------------------------------- 3. .to(half) of the window times


@pytest.mark.parametrize(
    "cast",
    [
        lambda features: features.to(torch.float16),
        lambda features: features.to(dtype=torch.bfloat16),
        lambda features: features.to("cpu", torch.float16),
    ],
    ids=["to(float16)", "to(dtype=bfloat16)", "to(cpu, float16)"],
)
def test_casting_window_features_casts_the_model_inputs_and_keeps_the_start_times(cast):
    """`features.to(torch.bfloat16)` rounded the float64 start times too: 16 s off after 2 h, inf after 20 h in
    float16."""
    extractor = CiTrusFeatureExtractor(sampling_rate=1.0, context_length=200, patch_length=20)
    day = np.random.default_rng(0).standard_normal(70_000)  # 19.4 h at 1 Hz
    features = extractor(day, sampling_rate=1, alignment="window", hop_length=30, return_tensors="pt")
    exact = features["window_start_seconds"].clone()
    assert exact[-1] > 65504  # beyond float16's range
    cast(features)
    assert features["input_values"].dtype in (torch.float16, torch.bfloat16)
    assert features["window_start_seconds"].dtype == torch.float64
    assert torch.equal(features["window_start_seconds"], exact)
    assert features["recording_index"].dtype == torch.int64
    batch = next(extractor.iter_windows(day, sampling_rate=1, batch_size=4, return_tensors="pt"))
    assert batch.to(torch.float16)["window_start_seconds"].dtype == torch.float64


# ---------------------------------------------------------------- 4. saved beside a model of another contract


def test_saving_an_extractor_beside_a_model_of_another_contract_is_refused(classifier, tmp_path):
    """AutoFeatureExtractor + AutoModel then loaded a silently mismatched pair (the pipeline refused it)."""
    folder = tmp_path / "model"
    CiTrusForSequenceClassification(tiny_config(num_labels=2, sampling_rate=50.0)).save_pretrained(folder)
    with pytest.raises(
        ValueError,
        match=r"(?s)holds a CiTrus model .*config\.json.* sampling_rate=100\.0 \(the model's: 50\.0\).*"
        r"CiTrusFeatureExtractor\.from_config\(model\.config\)\.save_pretrained",
    ):
        CiTrusFeatureExtractor.from_pretrained(classifier).save_pretrained(folder)
    assert not (folder / "preprocessor_config.json").exists()
    CiTrusFeatureExtractor.from_config(CiTrusConfig.from_pretrained(folder)).save_pretrained(folder)
    assert AutoFeatureExtractor.from_pretrained(folder).sampling_rate == 50.0


def test_saving_an_extractor_of_another_window_length_beside_a_model_warns(tmp_path, caplog):
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    caplog.set_level(logging.WARNING)
    tiny_extractor(context_length=400).save_pretrained(tmp_path)
    assert any("cuts windows of 400 samples and the model was trained on 200" in m for m in warnings_said(caplog))


# ------------------------------------------------------------------------------------------- 5. from_json_file


def test_from_json_file_checks_the_saved_file_as_from_pretrained_does(classifier, tmp_path, caplog):
    saved = json.loads((classifier / "preprocessor_config.json").read_text())
    path = tmp_path / "preprocessor_config.json"
    path.write_text(json.dumps({key: value for key, value in saved.items() if key != "context_length"}))
    with pytest.raises(ValueError, match=r"has no \['context_length'\], which `save_pretrained` always writes"):
        CiTrusFeatureExtractor.from_json_file(path)
    path.write_text(json.dumps({**saved, "normalisation": "none"}))
    caplog.set_level(logging.WARNING)
    loaded = CiTrusFeatureExtractor.from_json_file(path)
    assert any("'normalisation' (did you mean 'normalization'?)" in m for m in warnings_said(caplog))
    assert loaded.context_length == saved["context_length"] and loaded.normalization == "zscore"


# ---------------------------------------------------------------------- 6. a model folder without its extractor


@pytest.mark.parametrize("loader", [AutoFeatureExtractor, CiTrusFeatureExtractor])
def test_a_model_folder_without_its_extractor_says_how_to_save_one(tmp_path, loader):
    """transformers' generic "make sure ... is the correct path to a directory containing a preprocessor_config.json"
    came back, where the pipeline names the fix."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path)
    with pytest.raises(
        OSError,
        match=r"(?s)CiTrus model.*no feature extractor \(preprocessor_config\.json\).*"
        r"CiTrusFeatureExtractor\.from_config\(model\.config\)\.save_pretrained\(folder\)",
    ):
        loader.from_pretrained(tmp_path)


# ------------------------------------------------------------------------------------ 7. pad_to_multiple_of


@pytest.mark.parametrize("lengths", [(200, 140), (100, 60)])
def test_pad_to_multiple_of_stops_at_the_context(lengths, caplog):
    """lcm(64, 20) = 320 padded 200-sample windows to 320, past the context (the model then warned the input was
    longer than its context and advised alignment='window')."""
    extractor = tiny_extractor()
    rng = np.random.default_rng(0)
    rows = [{k: v[0] for k, v in extractor(rng.standard_normal(n), sampling_rate=100).items()} for n in lengths]
    caplog.set_level(logging.WARNING)
    logging.Logger.warning_once.cache_clear()  # said once per process
    batch = DataCollatorWithPadding(extractor, pad_to_multiple_of=64)(rows)
    assert batch["input_values"].shape[-1] == 200 and batch["patch_mask"].shape[-1] == 10
    assert any("pad_to_multiple_of=64" in m and "context" in m for m in warnings_said(caplog))
    assert DataCollatorWithPadding(extractor, pad_to_multiple_of=8)(rows)["input_values"].shape[-1] == (
        200 if lengths[0] == 200 else 120
    )


def test_a_collators_max_length_shorter_than_its_rows_names_a_fix_a_collator_can_use():
    extractor = tiny_extractor()
    rows = [{k: v[0] for k, v in extractor(np.ones(n), sampling_rate=100).items()} for n in (200, 100)]
    with pytest.raises(ValueError) as refused:
        DataCollatorWithPadding(extractor, padding="max_length", max_length=100)(rows)
    assert "max_length=100" in str(refused.value) and "extractor(recording, sampling_rate=..., max_length=100)" in str(
        refused.value
    )


# ---------------------------------------------------------------------------------------- 8. max_window_bytes


def test_max_window_bytes_is_not_saved_and_a_saved_one_is_ignored(tmp_path, caplog):
    extractor = tiny_extractor()
    extractor.max_window_bytes = None
    assert "max_window_bytes" not in extractor.to_dict()
    extractor.save_pretrained(tmp_path)
    assert "max_window_bytes" not in json.loads((tmp_path / "preprocessor_config.json").read_text())
    saved = json.loads((tmp_path / "preprocessor_config.json").read_text())
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**saved, "max_window_bytes": None}))
    caplog.set_level(logging.WARNING)
    for loader in (CiTrusFeatureExtractor, AutoFeatureExtractor):
        assert loader.from_pretrained(tmp_path).max_window_bytes == CiTrusFeatureExtractor.max_window_bytes
    assert any("max_window_bytes" in m and "not saved with the checkpoint" in m for m in warnings_said(caplog))
    with pytest.raises(TypeError, match="`max_window_bytes` must be an integer"):
        extractor.max_window_bytes = "1GB"


# ------------------------------------------------------------------------------ 9. the signal as raw_speech=


@pytest.mark.parametrize("name", ["raw_speech", "audio", "input_values"])
def test_the_signal_given_by_another_libraries_keyword_is_refused_saying_to_pass_it_first(name):
    extractor = tiny_extractor()
    for method in (extractor, extractor.iter_windows):
        with pytest.raises(TypeError, match=rf"'{name}' \(did you mean raw_signal, positionally: `extractor\(signal, "):
            result = method(**{name: np.zeros(500)}, sampling_rate=100)
            next(iter(result))
    assert extractor(raw_signal=np.zeros(500), sampling_rate=100)["input_values"].shape == (1, 1, 200)


# ---------------------------------------------------------------------- 10. input-contract overrides at load


@pytest.mark.parametrize(
    "override", [{"patch_length": 10}, {"context_length": 400}, {"normalization": "none"}, {"num_channels": 2}]
)
def test_every_input_contract_override_at_load_warns(classifier, caplog, override):
    """`from_pretrained(ckpt, patch_length=10)` changed the patch grid silently (only sampling_rate was warned of)."""
    caplog.set_level(logging.WARNING)
    ((name, value),) = override.items()
    extractor = CiTrusFeatureExtractor.from_pretrained(classifier, **override)
    assert getattr(extractor, name) == value  # still allowed
    said = [m for m in warnings_said(caplog) if f"{name}={value!r} overrides" in m]
    assert len(said) == 1 and "from_config(model.config)" in said[0]
    caplog.clear()
    saved = json.loads((classifier / "preprocessor_config.json").read_text())
    CiTrusFeatureExtractor.from_pretrained(classifier, **{name: saved[name]})
    assert not [m for m in warnings_said(caplog) if "overrides" in m]


def test_the_models_patch_mask_error_names_a_patch_length_mismatch(classifier):
    model = CiTrusModel.from_pretrained(classifier).eval()
    extractor = CiTrusFeatureExtractor.from_pretrained(classifier, patch_length=10)
    features = extractor(np.random.default_rng(0).standard_normal(140), sampling_rate=100, return_tensors="pt")
    with pytest.raises(
        ValueError, match=r"(?s)patch_mask.*patch_length=10, and the model's is 20.*from_config\(model\.config\)"
    ):
        model(**features)
