"""The same model by every route (audit 65): a fusion model over encoders that pool every layer (what the probe and
LP-FT recipes of `citrus finetune` save) crashed in its first forward pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification


def test_a_fusion_model_pools_every_layer_of_an_encoder_that_says_so():
    torch.manual_seed(0)
    ecg = tiny_config(head_features="all_layers")
    eda = tiny_config(sampling_rate=20, context_length=80, patch_length=10, spectrogram_n_fft=10)
    fusion = CiTrusFusionForSequenceClassification(
        CiTrusFusionConfig(modality_configs={"ecg": ecg, "eda": eda}, num_labels=2, normalize_embeddings=False)
    ).eval()
    generator = torch.Generator().manual_seed(0)
    batch = {"ecg": torch.randn(2, 1, 200, generator=generator), "eda": torch.randn(2, 1, 80, generator=generator)}
    assert fusion(input_values=batch).logits.shape == (2, 2)
    # the ecg part of the fused embedding is what the encoder's own classifier pools from the same weights
    single = CiTrusForSequenceClassification(tiny_config(head_features="all_layers", num_labels=2)).eval()
    single.citrus.load_state_dict(fusion.encoders["ecg"].state_dict())
    with torch.no_grad():
        fused = fusion.embed(batch)
        own = single.embed(batch["ecg"])
    torch.testing.assert_close(fused[:, : own.shape[-1]], own)


def test_citrus_predict_applies_the_nan_policy_saved_with_the_checkpoint(tmp_path, capsys):
    import numpy as np

    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.commands.main import main

    torch.manual_seed(0)
    config = tiny_config(num_labels=2)
    CiTrusForSequenceClassification(config).save_pretrained(tmp_path / "model")
    CiTrusFeatureExtractor.from_config(config, nan_policy="interpolate").save_pretrained(tmp_path / "model")
    data = np.random.default_rng(0).standard_normal((1, 400)).astype("float32")
    data[0, 10:20] = np.nan
    np.save(tmp_path / "gap.npy", data)
    argv = ["predict", str(tmp_path / "model"), str(tmp_path / "gap.npy"), "--sampling-rate", "100"]
    argv += ["--backend", "torch", "--no-show-progress"]
    assert main(argv) == 0  # as pipeline(model=folder) scores it: the gap filled, as the checkpoint says
    assert "2 window(s)" in capsys.readouterr().out
    assert main([*argv, "--nan-policy", "raise"]) == 2  # asked for on the command line, it wins
    assert "NaN" in capsys.readouterr().err


def test_auroc_counts_rows_tied_in_probability_as_ties():
    # integer logits: many rows give a class the same probability, their other logits the same numbers in another
    # order or shifted by a constant; their log-odds were a float step apart, and AUROC broke the tie by that step
    from scipy.special import softmax
    from sklearn.metrics import roc_auc_score

    from citrus_hf.training.metrics import classification_metrics

    rng = np.random.default_rng(1)
    for _ in range(300):
        labels = rng.integers(0, 3, 8)
        if len(np.unique(labels)) < 3:
            continue
        logits = np.round(rng.normal(size=(8, 3)))
        # probabilities rounded, so that those tied in exact arithmetic tie in the reference too
        expected = roc_auc_score(labels, np.round(softmax(logits, axis=1), 12), multi_class="ovr")
        assert classification_metrics(logits, labels)["auroc"] == pytest.approx(expected, abs=1e-9)
