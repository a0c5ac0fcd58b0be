"""The same model by every route (audit 65): a fusion model over encoders that pool every layer (what the probe and
LP-FT recipes of `citrus finetune` save) crashed in its first forward pass; a set that `citrus data build` wrote
(every row's subject "unknown") was carved by subject, not by recording as the registered set it copies."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

from citrus_hf import CiTrusForSequenceClassification
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
from citrus_hf.data.budgets import carve_validation
from citrus_hf.data.splits import load_task_splits
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


def _own_set(folder, subject_of) -> str:
    """A tiny labelled `save_to_disk` set: 2 classes x 6 recordings of one row each; `subject_of(label, take)`."""
    rng = np.random.default_rng(0)
    rows = {"input_values": [], "label": [], "subject": [], "recording": [], "sampling_rate": []}
    for label in range(2):
        for take in range(6):
            rows["input_values"].append(rng.standard_normal((1, 50)).astype(np.float32))
            rows["label"].append(label)
            rows["subject"].append(subject_of(label, take))
            rows["recording"].append(f"r{label}-{take}")
            rows["sampling_rate"].append(10.0)
    test = {key: values[:2] for key, values in rows.items()}  # (windows and recordings of their own: not train's)
    test.update(
        input_values=[rng.standard_normal((1, 50)).astype(np.float32) for _ in range(2)], recording=["t0", "t1"]
    )
    splits = {"train": datasets.Dataset.from_dict(rows), "test": datasets.Dataset.from_dict(test)}
    datasets.DatasetDict(splits).save_to_disk(folder)
    return str(folder)


def test_unknown_subjects_are_carved_by_recording_as_the_registered_set(tmp_path):
    """Every row "unknown" (what `citrus data build` writes when the source does not say) read as one subject: no
    validation was carved ("too few recordings per class", with 6 per class) and the budget came from another pool."""
    folder = _own_set(tmp_path / "built", lambda label, take: "unknown")
    splits = load_task_splits(folder)
    train = datasets.load_from_disk(folder)["train"]
    _, expected = carve_validation(len(train), np.asarray(train["label"]), list(train["recording"]))
    assert len(splits.validation) and list(splits.validation_rows) == list(expected)
    assert "by recording," in splits.validation_source and splits.carved_by == "recording"


def test_known_subjects_stay_whole_and_unknown_ones_go_by_recording(tmp_path):
    """Known subjects are still kept on one side; rows of an unknown subject are each their recording's group."""
    folder = _own_set(tmp_path / "mixed", lambda label, take: "unknown" if take < 2 else f"S{take % 2}")
    splits = load_task_splits(folder)
    assert "by subject (recording where unknown)" in splits.validation_source
    known = lambda split: set(split["subject"]) - {"unknown"}  # noqa: E731
    assert not known(splits.train) & known(splits.validation)


def test_one_known_subject_says_too_few_subjects_not_recordings(tmp_path):
    """One subject for every row: the message blamed recordings (6 per class) instead of the one subject."""
    folder = _own_set(tmp_path / "one", lambda label, take: "S1")
    with pytest.raises(ValueError, match="too few subjects per class"):
        load_task_splits(folder)
    assert load_task_splits(folder, require_validation=False).validation_source.startswith(
        "none: train has too few subjects per class"
    )


def _fine_tuned_encoder(folder, **extractor_settings) -> str:
    """A tiny classifier saved with an extractor of its own settings, as `citrus finetune` saves one."""
    from citrus_hf import CiTrusFeatureExtractor

    config = tiny_config(num_labels=2)
    # the extractor first: saved after the model, one of another contract is refused (as a folder written before that
    # check, or by hand, may still hold one)
    CiTrusFeatureExtractor.from_config(config, **extractor_settings).save_pretrained(folder)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    return str(folder)


def test_the_fusion_processor_aligns_an_encoder_as_its_own_saved_extractor(tmp_path):
    """`from_config` rebuilt the extractor from the config: a fine-tuned encoder's saved alignment ("interpolate")
    and NaN policy were dropped, and the fusion model saw the first 2 s of 10 s rows (cropped by "resample")."""
    from citrus_hf import CiTrusFeatureExtractor
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    folder = _fine_tuned_encoder(tmp_path / "ecg", alignment="interpolate", nan_policy="interpolate")
    own = CiTrusFeatureExtractor.from_pretrained(folder)
    rows = np.random.default_rng(0).standard_normal((3, 1, 1000)).astype(np.float32)  # 10 s at 100 Hz
    rows[0, 0, 5] = np.nan
    expected = own(list(rows), sampling_rate=100, return_tensors="pt")["input_values"]
    fusion = CiTrusFusionForSequenceClassification.from_encoders({"ecg": folder}, num_labels=2)
    loaded = CiTrusForSequenceClassification.from_pretrained(folder)
    for encoders in ({"ecg": folder}, {"ecg": loaded}):  # a folder, or a model loaded from one
        processor = CiTrusFusionProcessor.from_encoders(encoders)
        processor.check_model(fusion)
        assert torch.equal(processor(ecg=rows, sampling_rate=100)["input_values"]["ecg"], expected)
    processor.save_pretrained(tmp_path / "fusion")
    reloaded = CiTrusFusionProcessor.from_pretrained(tmp_path / "fusion").feature_extractors["ecg"]
    assert (reloaded.alignment, reloaded.nan_policy) == ("interpolate", "interpolate")


def test_the_fusion_processor_refuses_a_saved_extractor_of_another_contract(tmp_path):
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    folder = _fine_tuned_encoder(tmp_path / "ecg", sampling_rate=50.0)
    with pytest.raises(ValueError, match="does not align recordings to its encoder.*sampling_rate=50"):
        CiTrusFusionProcessor.from_encoders({"ecg": folder})


def test_the_readme_says_what_the_autopeft_route_leaves_out():
    """The README showed `AutoPeftModelForSequenceClassification.from_pretrained(adapter, ...)` as working too; it keeps
    only the logits (the base's id2label, context_length and normalisation), which the README did not say."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    shown = readme.index("peft.AutoPeftModelForSequenceClassification.from_pretrained(")
    paragraph = readme[shown : readme.index("\n\n", shown)]
    for named in ("logits only", "id2label", "context_length", "load_adapter(", "pipeline(model="):
        assert named in paragraph, named
