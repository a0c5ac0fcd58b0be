"""peft's own loaders on an adapter folder written by `save_adapter` (`citrus finetune --lora`): `AutoPeftModel`,
`AutoPeftModelForSequenceClassification` and `PeftModel.from_pretrained(base, folder)`.

adapter_config.json records what peft needs: the task class (`auto_mapping`, for `task_type=None`; peft imports it
only when `import_allowlist` names `citrus_hf`, its guard against importing packages named in a downloaded file), the
base by a name that loads anywhere (`"citrus-small"`, not this installation's path to it), and the head saved in full
(`modules_to_save`). peft then builds the base from the base's own config: where that head fits the adapter's, the
peft routes give the logits of the package's `load_adapter`. The head's other settings (classes, channels, label
names) are in `citrus_task_config.json`, which peft does not read: an adapter whose head the base does not build gets
an error that names them.

Tiny random heads on the bundled checkpoint and on a tiny pre-training checkpoint."""

from __future__ import annotations

import json

import pytest
import torch
from peft import AutoPeftModel, AutoPeftModelForSequenceClassification, PeftModel
from test_lora_peft_habits import _logits, _perturbed
from tiny_configs import tiny_config

from citrus_hf import CiTrusForPretraining, CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

ALLOW = ["citrus_hf"]  # peft's import allowlist: the task class in `auto_mapping` is citrus_hf's


@pytest.fixture(scope="module")
def bundled_adapter(tmp_path_factory):
    """An adapter on "citrus-small" with the head its config builds (2 classes, one channel), and a batch."""
    folder = tmp_path_factory.mktemp("adapter")
    task = CiTrusForSequenceClassification.from_pretrained("citrus-small", num_labels=2)
    save_adapter(_perturbed(apply_lora(task, r=2, verbose=False)), folder)
    return folder, torch.randn(2, 1, 1000, generator=torch.Generator().manual_seed(1))


def test_adapter_config_names_what_peft_needs(bundled_adapter):
    folder, _ = bundled_adapter
    saved = json.loads((folder / "adapter_config.json").read_text())
    assert saved["base_model_name_or_path"] == "citrus-small"
    assert saved["task_type"] is None and saved["modules_to_save"] == ["classifier"]
    assert saved["auto_mapping"] == {
        "base_model_class": "CiTrusForSequenceClassification",
        "parent_library": "citrus_hf.modeling_citrus",
    }


@pytest.mark.parametrize(
    "route",
    [
        lambda folder: AutoPeftModel.from_pretrained(folder, import_allowlist=ALLOW),
        lambda folder: AutoPeftModelForSequenceClassification.from_pretrained(folder, import_allowlist=ALLOW),
        lambda folder: PeftModel.from_pretrained(
            CiTrusForSequenceClassification.from_pretrained("citrus-small"), folder
        ),
    ],
    ids=["AutoPeftModel", "AutoPeftModelForSequenceClassification", "PeftModel"],
)
def test_peft_routes_give_the_logits_of_load_adapter(bundled_adapter, route):
    folder, inputs = bundled_adapter
    expected = _logits(load_adapter(None, folder), inputs)
    loaded = route(folder).eval()
    assert isinstance(loaded, PeftModel)
    assert type(loaded.get_base_model()) is CiTrusForSequenceClassification
    torch.testing.assert_close(_logits(loaded, inputs), expected, rtol=0, atol=1e-6)


def test_peft_s_allowlist_error_names_the_argument(bundled_adapter):
    folder, _ = bundled_adapter
    with pytest.raises(ValueError, match=r"import_allowlist=\['citrus_hf"):
        AutoPeftModel.from_pretrained(folder)


def test_an_adapter_whose_head_the_base_does_not_build_gets_a_clear_error(tmp_path):
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "base")
    task = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=4)
    save_adapter(_perturbed(apply_lora(task, r=2, verbose=False)), tmp_path / "adapter")
    with pytest.raises(ValueError, match=r"citrus_task_config\.json.*pass num_labels=4 .*load_adapter"):
        AutoPeftModel.from_pretrained(tmp_path / "adapter", import_allowlist=ALLOW)
    base = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base")
    with pytest.raises(ValueError, match=r"trained `classifier` has shape \(4, \d+\), the one built .* \(2, \d+\)"):
        PeftModel.from_pretrained(base, tmp_path / "adapter")
    # the fix the error names: the head's settings, which AutoPeftModel passes on to the base
    loaded = AutoPeftModel.from_pretrained(tmp_path / "adapter", import_allowlist=ALLOW, num_labels=4)
    reference = load_adapter(None, tmp_path / "adapter")
    batch = torch.randn(2, 1, task.config.context_length, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(_logits(loaded, batch), _logits(reference, batch))
