"""Precision and dtype habits of transformers users (session 74 audit):

1. `CiTrusFusion*.from_encoders` builds the fusion model in the encoders' dtype, or in the `dtype=` it is given, as
   `from_pretrained` would: it built float32 whatever it was given (bf16 encoders silently doubled in memory, and
   `dtype=torch.bfloat16` only landed on the config, which then said bf16 of float32 weights).
2. A fusion config checks its `dtype` as a single-modality one does: `dtype="int8"` was taken (integer weights),
   "float128" failed inside transformers with a bare AttributeError, and `AutoConfig.from_pretrained(fusion,
   dtype="auto")` with "module 'torch' has no attribute 'auto'".
3. Rows holding bfloat16 tensors are batched (as float32, which holds every bf16 value) by the fusion collator, by
   `CiTrusPaddingCollator` and by the extractor's `pad`: a bf16 window was refused as "not a numeric array (Got
   unsupported ScalarType BFloat16)", and bf16 labels failed inside torch with that bare message.
4. A task head kept in float32 (or float64) on a bf16 / fp16 model runs in its own dtype, in the single-modality
   and the fusion task models alike: `model.half(); model.classifier.float()` failed inside torch with "mat1 and mat2
   must have the same dtype".
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

from test_fusion import ecg_config, eda_config, fusion_config, inputs  # noqa: E402
from tiny_configs import tiny_config  # noqa: E402
from transformers import AutoConfig  # noqa: E402

from citrus_hf import (  # noqa: E402
    CiTrusFeatureExtractor,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
)
from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig  # noqa: E402
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification  # noqa: E402
from citrus_hf.processing_citrus_fusion import CiTrusFusionDataCollator, CiTrusPaddingCollator  # noqa: E402

# ------------------------------------------------------------------------------ 1. from_encoders keeps the dtype


def _saved_encoders(folder: Path, ecg_dtype: torch.dtype, eda_dtype: torch.dtype) -> dict[str, Path]:
    """An ECG and an EDA encoder saved in `folder` in the given dtypes; returns modality -> checkpoint folder."""
    torch.manual_seed(0)
    CiTrusModel(ecg_config()).to(ecg_dtype).save_pretrained(folder / "ecg")
    CiTrusModel(eda_config()).to(eda_dtype).save_pretrained(folder / "eda")
    return {"ecg": folder / "ecg", "eda": folder / "eda"}


@pytest.mark.parametrize("as_objects", [False, True])
def test_from_encoders_of_bf16_encoders_builds_a_bf16_fusion_model(tmp_path, as_objects):
    encoders = _saved_encoders(tmp_path, torch.bfloat16, torch.bfloat16)
    if as_objects:
        encoders = {name: CiTrusModel.from_pretrained(folder) for name, folder in encoders.items()}
    model = CiTrusFusionForSequenceClassification.from_encoders(encoders, num_labels=3)
    assert {parameter.dtype for parameter in model.parameters()} == {torch.bfloat16}
    assert model.config.dtype == torch.bfloat16
    assert model(inputs()).logits.dtype == torch.bfloat16


def test_from_encoders_takes_the_dtype_keyword_as_from_pretrained_does(tmp_path):
    encoders = _saved_encoders(tmp_path, torch.float32, torch.float32)
    model = CiTrusFusionForSequenceClassification.from_encoders(encoders, num_labels=3, dtype=torch.bfloat16)
    assert {parameter.dtype for parameter in model.parameters()} == {torch.bfloat16}
    model.save_pretrained(tmp_path / "fusion")
    saved = json.loads((tmp_path / "fusion" / "config.json").read_text())
    assert saved["dtype"] == "bfloat16"
    assert {values["dtype"] for values in saved["modality_configs"].values()} == {"bfloat16"}
    assert CiTrusFusionForSequenceClassification.from_pretrained(tmp_path / "fusion").dtype == torch.bfloat16


def test_from_encoders_of_mixed_dtypes_builds_the_widest_and_records_it(tmp_path):
    encoders = _saved_encoders(tmp_path, torch.bfloat16, torch.float32)
    model = CiTrusFusionForSequenceClassification.from_encoders(encoders, num_labels=3)
    assert {parameter.dtype for parameter in model.parameters()} == {torch.float32}
    # each encoder's sub-config says the dtype it has in the fusion model, not the source checkpoint's
    assert {config.dtype for config in model.config.modality_configs.values()} == {torch.float32}
    source = CiTrusModel.from_pretrained(encoders["ecg"]).state_dict()
    for key, tensor in model.encoders["ecg"].state_dict().items():  # upcast exactly: every bf16 value kept
        assert torch.equal(tensor, source[key].to(tensor.dtype)), key


def test_from_encoders_refuses_a_dtype_of_no_float_type(tmp_path):
    encoders = _saved_encoders(tmp_path, torch.float32, torch.float32)
    with pytest.raises(ValueError, match="'int8'.*float32"):
        CiTrusFusionForSequenceClassification.from_encoders(encoders, num_labels=3, dtype="int8")


# ------------------------------------------------------------------------------ 2. the fusion config's dtype


@pytest.mark.parametrize("value", ["int8", "float128", torch.int64])
def test_a_fusion_config_dtype_of_no_float_type_is_refused_naming_the_choices(value):
    with pytest.raises(ValueError, match=r"`dtype=.*is not a dtype a CiTrus model is built in.*'bfloat16'"):
        fusion_config(dtype=value)


@pytest.mark.parametrize("value", ["int64", "float128"])
def test_a_saved_fusion_config_of_no_float_dtype_is_refused_on_loading(tmp_path, value):
    CiTrusFusionForSequenceClassification(fusion_config()).save_pretrained(tmp_path)
    values = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**values, "dtype": value}))
    with pytest.raises(ValueError, match=f"`dtype='{value}'`"):
        CiTrusFusionForSequenceClassification.from_pretrained(tmp_path)


@pytest.mark.parametrize("field", ["dtype", "torch_dtype"])
def test_the_auto_dtype_keyword_reads_a_fusion_config_in_its_saved_dtype(tmp_path, field):
    CiTrusFusionForSequenceClassification(fusion_config()).to(torch.bfloat16).save_pretrained(tmp_path / "model")
    config = AutoConfig.from_pretrained(tmp_path / "model", **{field: "auto"})
    assert config.dtype == torch.bfloat16
    config.save_pretrained(tmp_path / "saved")
    assert AutoConfig.from_pretrained(tmp_path / "saved").dtype == torch.bfloat16


# ------------------------------------------------------------------------------ 3. rows of bfloat16 tensors


def test_the_fusion_collator_batches_bf16_windows_and_labels():
    generator = torch.Generator().manual_seed(0)
    rows = [
        {
            "input_values": {
                "ecg": torch.randn(2, 200, generator=generator).bfloat16(),
                "eda": torch.randn(1, 80, generator=generator).bfloat16(),
            },
            "labels": torch.tensor(60.5 + index, dtype=torch.bfloat16),
        }
        for index in range(3)
    ]
    batch = CiTrusFusionDataCollator()(rows)
    for name in ("ecg", "eda"):
        expected = torch.stack([row["input_values"][name] for row in rows]).float()
        assert batch["input_values"][name].dtype == torch.float32
        assert torch.equal(batch["input_values"][name], expected)
    assert batch["labels"].tolist() == [60.5, 61.5, 62.5]


def test_padding_rows_of_bf16_labels_keeps_their_values():
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    rows = [
        {"input_values": torch.randn(1, 200), "patch_mask": torch.ones(10, dtype=torch.long), "labels": torch.tensor(1.5)},
        {"input_values": torch.randn(1, 180), "patch_mask": torch.ones(9, dtype=torch.long), "labels": torch.tensor(2.5)},
    ]  # fmt: skip
    rows = [{**row, "labels": row["labels"].bfloat16()} for row in rows]
    assert CiTrusPaddingCollator(extractor)(rows)["labels"].tolist() == [1.5, 2.5]
    assert extractor.pad(rows, return_tensors="pt")["labels"].tolist() == [1.5, 2.5]


# ------------------------------------------------------------------------------ 4. a head in its own dtype


def _task_model(model_class):
    """A tiny `model_class` and inputs of 3 windows for it."""
    torch.manual_seed(0)
    if model_class is CiTrusFusionForSequenceClassification:
        return model_class(fusion_config()), inputs()
    if model_class is CiTrusFusionForRegression:
        config = CiTrusFusionConfig(modality_configs={"eda": eda_config(), "ecg": ecg_config()}, num_targets=1)
        return model_class(config), inputs()
    sizes = {"num_labels": 3} if model_class is CiTrusForSequenceClassification else {}
    return model_class(tiny_config(**sizes)), torch.randn(3, 1, 200, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize(
    "model_class",
    [
        CiTrusForSequenceClassification,
        CiTrusForRegression,
        CiTrusFusionForSequenceClassification,
        CiTrusFusionForRegression,
    ],
)
@pytest.mark.parametrize("body_dtype, head_dtype", [(torch.bfloat16, torch.float32), (torch.float16, torch.float32), (torch.float32, torch.float64)])  # fmt: skip
def test_a_head_in_another_dtype_than_the_body_runs_in_its_own(model_class, body_dtype, head_dtype):
    model, values = _task_model(model_class)
    model.eval().to(body_dtype)
    head = getattr(model, model_class.head_name)
    head.to(head_dtype)
    labels = torch.tensor([0, 2, 1]) if "Classification" in model_class.__name__ else torch.tensor([1.0, 2.0, 3.0])
    output = model(values, labels=labels)
    assert output.logits.dtype == head_dtype
    output.loss.backward()
    assert head.weight.grad is not None and head.weight.grad.dtype == head_dtype
    assert all(
        parameter.dtype == body_dtype
        for name, parameter in model.named_parameters()
        if not name.startswith(model_class.head_name)
    )
