"""Session 82 mutation audit of the fusion processor (`processing_citrus_fusion.py`): guards for what a user relies
on that no test pinned (which modality goes to which slot, the channel settings of every extractor, the arrays it
returns, its refusals), each checked to fail on a hand-made mutant of the code.

Random tensors only feed plumbing checks here (shapes, routing, refusals); nothing claims accuracy.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusConfig, CiTrusForPretraining, CiTrusModel
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

RATES = {"ecg": 100, "eda": 20}


def eda_config(**overrides) -> CiTrusConfig:
    """One channel at 20 Hz, 4 s windows of 10-sample patches."""
    return tiny_config(
        **{"sampling_rate": 20, "context_length": 80, "patch_length": 10, "spectrogram_n_fft": 10, **overrides}
    )


def fusion_config(**overrides) -> CiTrusFusionConfig:
    """ECG (2 leads, 100 Hz, 2 s) and EDA (1 channel, 20 Hz, 4 s), both concatenating their channels."""
    values = {"modality_configs": {"eda": eda_config(), "ecg": tiny_config(num_channels=2)}, "num_labels": 2}
    return CiTrusFusionConfig(**{**values, **overrides})


def recordings(batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    """`batch` recordings of each modality of `fusion_config`, 2 s each at the encoders' rates."""
    rng = np.random.default_rng(seed)
    return {"ecg": rng.standard_normal((batch, 2, 200)), "eda": rng.standard_normal((batch, 1, 40))}


# ------------------------------------------------------------------------------------------------ construction


def test_a_processor_built_from_modalities_in_any_order_lists_them_as_the_model_does():
    """The model concatenates its modalities sorted by name; a processor built from a dict in another order lists
    them sorted too, so `check_model` accepts it and its saved file matches the model's."""
    config = fusion_config()
    extractors = {
        name: CiTrusFeatureExtractor.from_config(config.modality_configs[name], channel_independent=False)
        for name in ("eda", "ecg")
    }
    processor = CiTrusFusionProcessor(extractors)
    assert processor.modalities == ["ecg", "eda"] == config.modalities
    processor.check_model(config)
    assert list(processor(recordings(), sampling_rate=RATES)["input_values"]) == ["ecg", "eda"]


@pytest.mark.parametrize("name", ["ecg-lead", "ecg lead", ""])
def test_a_modality_name_the_model_cannot_use_is_refused(name):
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with pytest.raises(ValueError, match=f"modality name {name!r} is not usable: use letters, digits and underscores"):
        CiTrusFusionProcessor({name: extractor})


def test_a_value_that_is_no_feature_extractor_is_refused_naming_its_modality():
    with pytest.raises(TypeError, match="modality 'ecg': expected a CiTrusFeatureExtractor, got CiTrusConfig"):
        CiTrusFusionProcessor({"ecg": tiny_config()})


def test_from_config_keeps_the_channel_setting_the_caller_gives_a_modality_that_averages_channels():
    """`extractor_kwargs` apply to every extractor: a caller who wants the EDA extractor to refuse other channel
    counts (`channel_independent=False`) keeps that, though its mean pooling would take any."""
    config = fusion_config(modality_configs={"eda": eda_config(channel_pooling="mean"), "ecg": tiny_config()})
    assert CiTrusFusionProcessor.from_config(config).feature_extractors["eda"].channel_independent
    strict = CiTrusFusionProcessor.from_config(config, channel_independent=False)
    assert not strict.feature_extractors["eda"].channel_independent


@pytest.mark.parametrize("saved_extractor", [False, True], ids=["config", "saved extractor"])
def test_from_encoders_makes_a_concatenating_modality_refuse_other_channel_counts(tmp_path, saved_extractor):
    """A pre-training checkpoint's own extractor takes any channel count; in a fusion model whose head concatenates
    that modality's channels, the processor built from the encoders refuses other counts, as `check_model` asks."""
    torch.manual_seed(0)
    ecg = tiny_config(num_channels=2)
    CiTrusForPretraining(ecg).save_pretrained(tmp_path)
    if saved_extractor:
        CiTrusFeatureExtractor.from_config(CiTrusConfig.from_pretrained(tmp_path)).save_pretrained(tmp_path)
        assert CiTrusFeatureExtractor.from_pretrained(tmp_path).channel_independent  # the encoder's own: any count
    processor = CiTrusFusionProcessor.from_encoders({"ecg": tmp_path, "eda": CiTrusModel(eda_config())})
    assert not processor.feature_extractors["ecg"].channel_independent
    processor.check_model(
        CiTrusFusionConfig(modality_configs={"ecg": CiTrusConfig.from_pretrained(tmp_path), "eda": eda_config()})
    )
    with pytest.raises(ValueError, match="modality 'ecg': "):
        processor({"ecg": np.zeros((1, 3, 200)), "eda": np.zeros((1, 1, 40))}, sampling_rate=RATES)


# ----------------------------------------------------------------------------------------------------- calling


@pytest.mark.parametrize("return_tensors, kind", [("np", np.ndarray), ("pt", torch.Tensor)])
def test_the_arrays_returned_are_of_the_kind_asked_for_in_every_modality(return_tensors, kind):
    """`return_tensors="np"` is what `to_columns` and `datasets.map` take; every modality's values and mask come back
    as that kind."""
    processor = CiTrusFusionProcessor.from_config(fusion_config())
    batch = processor(recordings(), sampling_rate=RATES, return_tensors=return_tensors)
    for key in ("input_values", "patch_mask"):
        assert all(isinstance(value, kind) for value in batch[key].values()), key


def test_an_extractor_that_cuts_windows_on_its_own_is_refused_by_the_fusion_processor():
    """An extractor saved or built with `alignment="window"` cuts each modality where its own recording allows, so
    the windows of an example stopped lining up in time: the processor refuses it as it refuses the keyword."""
    config = fusion_config()
    extractors = CiTrusFusionProcessor.from_config(config).feature_extractors
    extractors["eda"] = CiTrusFeatureExtractor.from_config(
        config.modality_configs["eda"], channel_independent=False, alignment="window"
    )
    with pytest.raises(ValueError, match="alignment='window' cuts each modality on its own"):
        CiTrusFusionProcessor(extractors)(recordings(), sampling_rate=RATES)


def test_a_single_modality_extractor_called_after_the_fusion_processor_gives_its_own_advice():
    """The fusion processor swaps the extractors' advice for its own while it runs (an encoder built for the channel
    count, not a mean-pooling head); an extractor called on its own afterwards advises as before, whether the fusion
    call succeeded or failed."""
    processor = CiTrusFusionProcessor.from_config(fusion_config())
    single = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2), channel_independent=False)
    three_leads = np.zeros((1, 3, 200))
    processor(recordings(), sampling_rate=RATES)
    with pytest.raises(ValueError, match=r"or fine-tune with channel_pooling='mean'"):
        single(three_leads, sampling_rate=100)
    with pytest.raises(ValueError, match=r"modality 'ecg': .*build the fusion model with an encoder for 3 channels"):
        processor({"ecg": three_leads, "eda": np.zeros((1, 1, 40))}, sampling_rate=RATES)
    with pytest.raises(ValueError, match=r"or fine-tune with channel_pooling='mean'"):
        single(three_leads, sampling_rate=100)


def test_the_padding_of_a_shorter_recording_is_masked_in_its_own_modality():
    """EDA recordings of 2 s and 4 s in one batch: the 2 s one is padded to 4 s and its last 4 patches (of 10 samples
    at 20 Hz) are marked as padding, so the encoder does not pool them as signal; ECG, a full 2 s window, masks none."""
    processor = CiTrusFusionProcessor.from_config(fusion_config())
    rng = np.random.default_rng(0)
    batch = processor(
        {"ecg": rng.standard_normal((2, 2, 200)), "eda": [rng.standard_normal((1, 40)), rng.standard_normal((1, 80))]},
        sampling_rate=RATES,
        padding="max_length",
    )
    assert batch["input_values"]["eda"].shape == (2, 1, 80)
    assert batch["patch_mask"]["eda"].tolist() == [[1, 1, 1, 1, 0, 0, 0, 0], [1] * 8]
    assert batch["patch_mask"]["ecg"].tolist() == [[1] * 10] * 2


def test_one_max_length_for_encoders_of_two_rates_advises_the_full_windows_when_asked_for_them():
    """`max_length=200` is ECG's full 2 s window at 100 Hz: the dict advised is the same 2 s of EDA at 20 Hz (the
    longest span both encoders take, in whole patches of both), not a shorter one."""
    processor = CiTrusFusionProcessor.from_config(fusion_config())
    with pytest.raises(ValueError, match=r"e\.g\. max_length=\{'ecg': 200, 'eda': 40\} \(2 s each"):
        processor(recordings(), sampling_rate=RATES, max_length=200)


# ------------------------------------------------------------------------------------------ against the model


@pytest.mark.parametrize("field", ["normalization_mean", "normalization_std", "context_length", "patch_length"])
def test_a_processor_of_other_fixed_statistics_or_windows_is_refused_against_the_model(field):
    """Each of these fields changes what the encoder sees (windows scaled by other statistics, cut to another length
    or patched otherwise) without changing a shape the model checks: `check_model` names the field that differs."""
    stats = {"normalization": "fixed", "normalization_mean": [0.5], "normalization_std": [2.0]}
    model_config = fusion_config(modality_configs={"eda": eda_config(**stats), "ecg": tiny_config(num_channels=2)})
    other = {"normalization_mean": [0.0], "normalization_std": [1.0], "context_length": 40, "patch_length": 20}
    processor_config = fusion_config(
        modality_configs={"eda": eda_config(**{**stats, field: other[field]}), "ecg": tiny_config(num_channels=2)}
    )
    CiTrusFusionProcessor.from_config(model_config).check_model(model_config)
    with pytest.raises(ValueError, match=f"eda: {field}="):
        CiTrusFusionProcessor.from_config(processor_config).check_model(model_config)


def test_a_processor_saved_with_its_model_loads_without_a_channel_warning(tmp_path, caplog):
    """The warning that a saved extractor passed any channel count is for processors saved before `from_config`
    fixed the count; one built by `from_config` and saved beside its model loads without it."""
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification

    torch.manual_seed(0)
    config = fusion_config()
    CiTrusFusionForSequenceClassification(config).save_pretrained(tmp_path)
    CiTrusFusionProcessor.from_config(config).save_pretrained(tmp_path)
    with caplog.at_level("WARNING"):
        loaded = CiTrusFusionProcessor.from_pretrained(tmp_path)
    assert "passed any channel count" not in caplog.text
    assert loaded == CiTrusFusionProcessor.from_config(config)


def test_private_keys_of_a_saved_processor_are_left_out_without_a_warning(tmp_path, caplog):
    """Keys starting with `_` are private (transformers' own, or a note), which the extractor's and the config's
    readers skip quietly too; a key the processor does not know is still named."""
    saved = CiTrusFusionProcessor.from_config(fusion_config()).to_dict()
    with caplog.at_level("WARNING"):
        CiTrusFusionProcessor.from_dict({**saved, "_note": "aligned for the 2024 study"})
    assert "does not know" not in caplog.text
    with caplog.at_level("WARNING"):
        CiTrusFusionProcessor.from_dict({**saved, "note": "aligned for the 2024 study"})
    assert "does not know, ignored: 'note'" in caplog.text


# ------------------------------------------------------------------------------------------- unaligned spans


def _duration_warnings(caplog, ecg_seconds: float, eda_seconds: float, batch: int = 1) -> list[str]:
    processor = CiTrusFusionProcessor.from_config(fusion_config())
    rng = np.random.default_rng(0)
    given = {
        "ecg": rng.standard_normal((batch, 2, round(ecg_seconds * 100))),
        "eda": rng.standard_normal((batch, 1, round(eda_seconds * 20))),
    }
    caplog.clear()
    with caplog.at_level("WARNING", logger="citrus_hf.processing_citrus_fusion"):
        processor(given, sampling_rate=RATES)
    return [record.getMessage() for record in caplog.records if "cover different durations" in record.getMessage()]


def test_modalities_a_tenth_apart_in_duration_are_named_and_closer_ones_are_not(caplog):
    """2 s of ECG beside 1.75 s of EDA (an eighth shorter: a clock or rate off) is named; beside 1.9 s (a twentieth)
    it is not, as cutting each modality to whole samples leaves small differences."""
    assert _duration_warnings(caplog, 2.0, 1.75)
    assert not _duration_warnings(caplog, 2.0, 1.9)


def test_unaligned_spans_are_named_once_per_batch(caplog):
    """Every example of a batch read at a wrong rate is off alike: one warning names the first, not one per row."""
    warnings = _duration_warnings(caplog, 2.0, 1.0, batch=3)
    assert len(warnings) == 1 and "example 0" in warnings[0]


def test_the_size_of_a_fusion_batch_counts_every_modality():
    """The `Trainer` counts the inputs it has seen (`include_num_input_tokens_seen`) and estimates a step's work as
    `inputs["input_values"].numel()`: every modality's values count, not the largest modality's alone."""
    batch = CiTrusFusionProcessor.from_config(fusion_config())(recordings(batch=3), sampling_rate=RATES)
    assert batch["input_values"].numel() == 3 * 2 * 200 + 3 * 1 * 40


def test_the_extractor_of_an_encoder_loaded_from_the_hub_is_read_at_the_commit_its_weights_came_from():
    """`from_encoders({"ecg": model}, encoder_loading_kwargs={"revision": "dev"})` with a model loaded from a Hub
    repository reads the extractor saved beside the weights it holds (their commit), not that of another revision
    given for the encoders named by repository; the revision given serves only a model that recorded no commit."""
    from citrus_hf.processing_citrus_fusion import _loaded_from

    model = CiTrusModel(tiny_config())
    model.name_or_path = "someone/ecg-encoder"
    model.config._commit_hash = "a" * 40
    loading = {"revision": "dev", "token": "hf_test", "force_download": True}
    assert _loaded_from(model, loading) == ("someone/ecg-encoder", {"token": "hf_test", "revision": "a" * 40})
    model.config._commit_hash = None
    assert _loaded_from(model, loading) == ("someone/ecg-encoder", {"token": "hf_test", "revision": "dev"})
