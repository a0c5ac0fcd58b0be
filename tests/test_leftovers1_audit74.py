"""Leftovers of audit 74 (each test failed before its fix):

1. `fit_probe` on a bf16 / fp16 model wrote the ridge read-out, with its folded standardisation, into a half-precision
   head: rounded, the folded bias no longer cancelled the features' means (accuracy 0.95 -> 0.72 on a tiny model).
   The head is now float32, and a checkpoint that keeps its head in float32 beside a half-precision encoder loads it
   in float32 again (transformers' `dtype="auto"` cast it to the config's bf16), fusion task models alike. Fusion
   models have no ridge probe (their frozen-encoder probe trains the head with the Trainer).
2. The "already carries peft adapters" advice of `load_adapter` showed `peft_model.load_adapter('owner/name', ...)`
   without the `subfolder=` (and `revision=`) the adapter came from.
3. `fill_non_finite`'s "drop that channel ... before calling the feature extractor" was also said by the MiniRocket
   baseline's `raw_windows`, where no feature extractor is called.
4. An `Array3D` (or 3-D list) `input_values` column was refused as "holds list<item: list<item: list<item: float>>>".
5. `from_pretrained(classifier_folder, num_labels=5)` printed transformers' "incompatible to the `id2label` map" line
   ahead of the package's own error, which says it with the fix.
6. checkpoint_selection.md's two hand-written "mean ± std" lines name their spread (the sample std, ddof 1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from test_hf_native import transformers_log
from test_probe import _aligned
from tiny_configs import save_tiny_classifier, tiny_config

from citrus_hf import CiTrusForSequenceClassification


def _close_classes(count: int = 60, spread: float = 0.01):
    """`(inputs (count, 2, 200), labels (count,))`: three classes that differ by `spread` around one shared signal,
    so a probe's features have large means and small spreads (a folded standardisation with a large bias)."""
    generator = torch.Generator().manual_seed(1)
    labels = torch.arange(count) % 3
    inputs = torch.randn(1, 2, 200, generator=generator) + spread * torch.randn(count, 2, 200, generator=generator)
    inputs[labels == 1] += spread
    inputs[labels == 2] *= 1 + spread
    return inputs, labels


def _logits(model, inputs):
    model.eval()  # (a model built in Python starts in train mode, with dropout)
    with torch.no_grad():
        return model(inputs, patch_mask=torch.ones(len(inputs), 10, dtype=torch.long)).logits.float().numpy()


def test_a_probe_on_a_bf16_model_keeps_its_read_out_in_float32():
    from citrus_hf.training.probe import embed_dataset, fit_probe

    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_channels=2, num_labels=3, pooling="mean"))
    model = model.to(torch.bfloat16)
    inputs, labels = _close_classes()
    rows = _aligned(inputs, labels)
    readout = fit_probe(model, rows, "classification")
    assert model.classifier.weight.dtype == torch.float32
    assert model.citrus.encoder.layers[0].attention.q_proj.weight.dtype == torch.bfloat16  # the rest is kept
    scores = readout.predict(embed_dataset(model, rows))
    logits = _logits(model, inputs)
    np.testing.assert_allclose(logits, scores, atol=1e-3, rtol=1e-3)
    assert (logits.argmax(1) == scores.argmax(1)).all()


def _bf16_model_with_float32_head(folder: Path):
    """A bf16 classifier whose head is float32 (as `fit_probe` leaves it), saved in `folder`."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_channels=2, num_labels=3)).to(torch.bfloat16)
    model.classifier.float()
    with torch.no_grad():  # a read-out that half precision cannot hold
        model.classifier.weight.copy_(
            torch.linspace(-1, 1, model.classifier.weight.numel()).view_as(model.classifier.weight) * (1 + 2**-12)
        )
    model.save_pretrained(folder)
    return model


@pytest.mark.parametrize("dtype", [None, "auto", torch.bfloat16, torch.float16])
def test_a_float32_head_beside_a_half_precision_encoder_loads_in_float32(tmp_path, dtype):
    model = _bf16_model_with_float32_head(tmp_path / "probe")
    kwargs = {} if dtype is None else {"dtype": dtype}
    loaded = CiTrusForSequenceClassification.from_pretrained(tmp_path / "probe", **kwargs)
    assert loaded.classifier.weight.dtype == loaded.classifier.bias.dtype == torch.float32
    assert torch.equal(loaded.classifier.weight, model.classifier.weight)
    encoder_dtype = torch.bfloat16 if dtype in (None, "auto") else dtype
    assert loaded.citrus.encoder.layers[0].attention.q_proj.weight.dtype == encoder_dtype
    if encoder_dtype == torch.bfloat16:
        inputs, _ = _close_classes(6)
        np.testing.assert_array_equal(_logits(loaded, inputs), _logits(model, inputs))


def test_a_checkpoint_of_one_dtype_loads_wholly_in_the_dtype_asked_for(tmp_path):
    """Guard (passes before and after): only a head kept apart from its encoder's dtype stays float32."""
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).save_pretrained(tmp_path / "f32")
    loaded = CiTrusForSequenceClassification.from_pretrained(tmp_path / "f32", dtype=torch.bfloat16)
    assert {parameter.dtype for parameter in loaded.parameters()} == {torch.bfloat16}
    CiTrusForSequenceClassification(tiny_config(num_labels=3)).to(torch.bfloat16).save_pretrained(tmp_path / "bf16")
    loaded = CiTrusForSequenceClassification.from_pretrained(tmp_path / "bf16")
    assert {parameter.dtype for parameter in loaded.parameters()} == {torch.bfloat16}


def test_a_fusion_model_keeps_its_float32_head_too(tmp_path):
    from test_bad_inputs import fusion_classifier

    from citrus_hf import CiTrusFusionForSequenceClassification

    model = fusion_classifier().to(torch.bfloat16)
    model.classifier.float()
    model.save_pretrained(tmp_path / "fusion")
    loaded = CiTrusFusionForSequenceClassification.from_pretrained(tmp_path / "fusion")
    assert loaded.classifier.weight.dtype == torch.float32
    assert loaded.dtype == torch.bfloat16


def test_the_second_adapter_advice_names_the_hub_subfolder_and_revision(tmp_path, monkeypatch):
    import citrus_hf.loading as loading
    from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

    repository = tmp_path / "snapshot"
    save_adapter(
        apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), r=2, verbose=False),
        repository / "lora",
    )
    # the Hub repository's download, as `resolve_checkpoint` returns it (no network here)
    monkeypatch.setattr(loading, "resolve_checkpoint", lambda *args, **kwargs: repository)
    adapted = apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), r=2, verbose=False)
    with pytest.raises(ValueError, match="already carries peft adapters") as info:
        load_adapter(adapted, "owner/adapters", subfolder="lora", revision="v1")
    assert "load_adapter('owner/adapters', subfolder='lora', revision='v1', adapter_name='second')" in str(info.value)


def test_an_all_nan_channel_in_the_minirocket_rows_names_the_baseline_not_the_extractor():
    from datasets import Dataset

    from citrus_hf.evaluation.baselines import raw_windows

    windows = np.random.default_rng(0).normal(size=(3, 2, 50))
    windows[1, 1] = np.nan
    rows = Dataset.from_dict({"input_values": windows, "labels": [0, 1, 0]})
    with pytest.raises(ValueError, match="channel 1 of row 1 has no finite value") as info:
        raw_windows(rows, nan_policy="interpolate", where="train split")
    message = str(info.value)
    assert "feature extractor" not in message and "before the MiniRocket baseline reads the set" in message


def test_an_all_nan_channel_still_names_the_feature_extractor_there():
    """Guard (passes before and after): the extractor's own message is unchanged."""
    from citrus_hf import CiTrusFeatureExtractor

    extractor = CiTrusFeatureExtractor.from_config(tiny_config(num_channels=2), nan_policy="interpolate")
    signal = np.random.default_rng(0).normal(size=(2, 200))
    signal[0] = np.nan
    with pytest.raises(ValueError, match="drop that channel .* before calling the feature extractor"):
        extractor(signal, sampling_rate=100.0)


@pytest.mark.parametrize("as_array3d", [True, False])
def test_a_3d_array_per_row_is_named_with_its_shape_and_the_fix(as_array3d):
    from datasets import Array3D, Dataset, Features, Value

    from citrus_hf.data.splits import check_labelled_splits

    values = np.random.default_rng(0).normal(size=(4, 3, 2, 50)).astype(np.float32)
    if as_array3d:
        features = Features({"input_values": Array3D((3, 2, 50), "float32"), "labels": Value("int64")})
        split = Dataset.from_dict({"input_values": values, "labels": [0, 1, 0, 1]}, features=features)
    else:
        split = Dataset.from_dict({"input_values": values.tolist(), "labels": [0, 1, 0, 1]})
    with pytest.raises(ValueError) as info:
        check_labelled_splits({"train": split, "test": split}, "classification")
    message = str(info.value)
    assert "holds a 3-D array per row (row 0: shape (3, 2, 50))" in message, message
    assert "give each its own row with its label" in message and "list<" not in message


def test_a_3d_row_with_an_axis_of_one_says_to_drop_it():
    from datasets import Dataset

    from citrus_hf.data.splits import check_labelled_splits

    values = np.random.default_rng(0).normal(size=(4, 1, 2, 50)).tolist()
    split = Dataset.from_dict({"input_values": values, "labels": [0, 1, 0, 1]})
    with pytest.raises(ValueError, match=r"Its axis 0 has length 1.*np\.squeeze\(row, axis=0\)"):
        check_labelled_splits({"train": split, "test": split}, "classification")


def test_another_num_labels_is_said_once_by_the_package_error(tmp_path):
    folder = save_tiny_classifier(tmp_path / "classifier", num_labels=3)

    with transformers_log() as records:
        with pytest.raises(ValueError, match=r"classifier.bias \(3,\) in the checkpoint vs \(5,\) here"):
            CiTrusForSequenceClassification.from_pretrained(folder, num_labels=5)
    assert not [record for record in records if "num_labels" in record.getMessage()]


def test_a_new_head_asked_for_still_shows_transformers_lines(tmp_path):
    """Guard (passes before and after): with `ignore_mismatched_sizes=True` nothing of the package's replaces
    transformers' lines, which are emitted as before (the config's line, then the loading report)."""
    folder = save_tiny_classifier(tmp_path / "classifier", num_labels=3)
    with transformers_log() as records:
        loaded = CiTrusForSequenceClassification.from_pretrained(folder, num_labels=5, ignore_mismatched_sizes=True)
    assert loaded.classifier.out_features == 5
    said = [record.getMessage() for record in records]
    assert any("incompatible to the `id2label` map" in line for line in said)
    assert any("LOAD REPORT" in line for line in said)


def test_the_checkpoint_selection_notes_name_their_spread():
    from citrus_hf.evaluation.report import SPREAD

    notes = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "checkpoint_selection.md"
    text = notes.read_text(encoding="utf-8").replace("\n", " ")
    assert "mean ± std" not in text
    assert text.count(f"mean ± {SPREAD}") == 2
