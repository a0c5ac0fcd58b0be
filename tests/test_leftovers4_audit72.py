"""Small items left by audit 72's helpers: units a config records reach its extractor, a pushed feature-extraction
pipeline's card names its task, a stager whose channels run at different rates in a PSG is told what can help, and a
misspelt loading option is refused rather than the default branch loaded."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_configs import save_tiny_classifier, tiny_config, write_edf

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor
from citrus_hf.commands.main import main


# ------------------------------------------------ (a) the units a config records reach CiTrusFeatureExtractor.from_config
def test_from_config_carries_the_units_a_config_records():
    """`CiTrusConfig(channel_units=["uV"])` kept the units in config.json while `from_config` dropped them: a recording
    in V to a fixed-statistics checkpoint then went in unconverted, a million times off."""
    config = tiny_config(
        num_channels=1, channel_units=["uV"], normalization="fixed", normalization_mean=[0.0], normalization_std=[50.0]
    )
    extractor = CiTrusFeatureExtractor.from_config(config)
    assert extractor.channel_units == ["µV"]
    recording = np.random.default_rng(0).standard_normal((1, 400)).astype(np.float32) * 50  # µV
    in_volts = extractor(recording * 1e-6, sampling_rate=100, input_channel_units=["V"], return_tensors="np")
    in_microvolts = extractor(recording, sampling_rate=100, return_tensors="np")
    np.testing.assert_allclose(in_volts["input_values"], in_microvolts["input_values"], rtol=1e-4, atol=1e-4)
    # a keyword still overrides the config's, and a config without units gives an extractor without
    assert CiTrusFeatureExtractor.from_config(config, channel_units=["mV"]).channel_units == ["mV"]
    assert CiTrusFeatureExtractor.from_config(tiny_config(num_channels=1)).channel_units is None


# ------------------------------------------------ (b) a feature-extraction pipeline's folder: its card's task
def test_the_card_of_a_saved_feature_extraction_pipeline_names_its_task(tmp_path):
    """`build_model_card` (`citrus push`'s card) took the pipeline tag from the model's class: a classifier's folder
    saved by the feature-extraction pipeline was tagged time-series-classification."""
    from transformers import pipeline

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.publishing.cards import build_model_card

    pipeline("time-series-feature-extraction", model=str(save_tiny_classifier(tmp_path / "cls"))).save_pretrained(
        tmp_path / "embedder"
    )
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "embedder")
    card = build_model_card(model, CiTrusFeatureExtractor.from_pretrained(tmp_path / "embedder"), repo_id="u/embedder")
    assert card.data.pipeline_tag == "time-series-feature-extraction"
    # a classifier fine-tuned from an encoder (whose own feature-extraction entry names AutoModel) stays a classifier
    plain = CiTrusForSequenceClassification.from_pretrained(save_tiny_classifier(tmp_path / "plain"))
    plain.config.custom_pipelines = {
        "time-series-feature-extraction": {"impl": "pipelines.BioSignalFeatureExtractionPipeline", "pt": ["AutoModel"]}
    }
    card = build_model_card(plain, CiTrusFeatureExtractor.from_config(plain.config), repo_id="u/plain")
    assert card.data.pipeline_tag == "time-series-classification"


# ------------------------------------------------ (c) a stager whose channels run at different rates in a PSG
def test_a_stager_whose_channels_sit_at_different_rates_is_told_what_can_help(tmp_path, capsys):
    """The reader's "pick channels of one rate by name (--channels ...)" was said where the model's own channels sit at
    two rates: no --channels can help such a model."""
    from citrus_hf import CiTrusForSequenceClassification

    config = tiny_config(num_labels=2, num_channels=2)
    folder = tmp_path / "stager"
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    extractor = CiTrusFeatureExtractor.from_config(config)
    extractor.channel_names = ["EEG Fpz-Cz", "EMG submental"]
    extractor.save_pretrained(folder)
    rng = np.random.default_rng(0)
    psg = write_edf(
        tmp_path / "night.edf",
        [rng.standard_normal(6000) * 20, rng.standard_normal(60) * 20, rng.standard_normal(60)],
        ["EEG Fpz-Cz", "EMG submental", "Temp rectal"],
        [100, 1, 1],
        plus=False,
    )
    assert main(["predict", str(folder), str(psg), "--backend", "torch"]) == 2
    err = capsys.readouterr().err
    assert "EEG Fpz-Cz at 100 Hz, EMG submental at 1 Hz" in err
    assert "--channels" not in err and "resample" in err


# ------------------------------------------------ (d) a misspelt loading option
@pytest.mark.parametrize(
    "load",
    [
        lambda folder, **kwargs: CiTrusFeatureExtractor.from_pretrained(folder, **kwargs),
        lambda folder, **kwargs: CiTrusConfig.from_pretrained(folder, **kwargs),
        lambda folder, **kwargs: __import__("citrus_hf").CiTrusForSequenceClassification.from_pretrained(
            folder, **kwargs
        ),
        lambda folder, **kwargs: __import__("transformers").AutoFeatureExtractor.from_pretrained(folder, **kwargs),
    ],
    ids=["extractor", "config", "model", "auto_extractor"],
)
def test_a_misspelt_loading_option_is_refused(load, tmp_path):
    """`from_pretrained(path, revison="v1")` loaded the default branch without a word (the extractor, the config) or
    failed deep in the model's constructor."""
    folder = save_tiny_classifier(tmp_path / "cls")
    with pytest.raises(ValueError, match=r"'revison' \(did you mean 'revision'\?\) is not a loading option"):
        load(folder, revison="v1")
    with pytest.raises(ValueError, match=r"'cachedir' \(did you mean 'cache_dir'\?\)"):
        load(folder, cachedir=str(tmp_path / "cache"))
    load(folder, revision=None, local_files_only=True)  # the options as spelt load


def test_the_fusion_processor_refuses_a_misspelt_loading_option(tmp_path):
    from citrus_hf import CiTrusFusionProcessor

    with pytest.raises(ValueError, match=r"'revison' \(did you mean 'revision'\?\) is not a loading option"):
        CiTrusFusionProcessor.from_pretrained(str(tmp_path), revison="v1")
