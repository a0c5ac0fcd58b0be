"""One definition per question, shared by every path that asks it (style audit 2): which folder is a LoRA adapter
folder (`is_adapter_folder`: the loaders, the commands, the pipeline and the Auto classes), which holds a
pre-training run (`holds_pretraining_run`: `citrus pretrain` and `citrus finetune`), how a card gets extra tags
(`_add_tags`), and the record fields the model card reads, which must stay fields of the dataclasses written.

Tiny random models: these tests check which weights arrive where, not accuracy."""

from __future__ import annotations

import dataclasses
import importlib
import types
import typing

import pytest
import torch
from huggingface_hub import ModelCard, ModelCardData
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForSequenceClassification, pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification

TARGETS = ["q_proj", "v_proj"]


def _logits(model, inputs):
    with torch.no_grad():
        return model.eval()(input_values=inputs).logits


@pytest.fixture
def model_with_adapter(make_tiny_config, tmp_path):
    """A folder holding a whole fine-tuned model (config.json, model.safetensors, its extractor) and, beside it, a
    LoRA adapter peft saved on that model; its adapter_config.json names the pre-training checkpoint the model was
    fine-tuned from, whose encoder differs. Returns the folder, an input batch and the adapted model's logits."""
    CiTrusForPretraining(make_tiny_config()).save_pretrained(tmp_path / "base")
    model = CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", num_labels=3)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # full fine-tuning moved every weight away from the base's
        for parameter in model.parameters():
            parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
    folder = tmp_path / "model_and_adapter"
    model.save_pretrained(folder)
    extractor = CiTrusFeatureExtractor.from_config(model.config)
    extractor.save_pretrained(folder)
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=TARGETS, task_type="SEQ_CLS"))
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.add_(0.1 * torch.randn(parameter.shape, generator=generator))
    peft_model.save_pretrained(folder)
    recording = torch.randn(200, generator=generator).numpy()
    inputs = extractor(recording, sampling_rate=100, return_tensors="pt")["input_values"]
    return folder, recording, inputs, _logits(peft_model, inputs)


def test_a_folder_with_a_model_and_an_adapter_is_one_kind_of_folder_for_every_path(model_with_adapter):
    """transformers loads a folder holding config.json and adapter_config.json as the model in the folder with the
    adapter attached (the base its adapter_config.json names is not read). `citrus push`/`export` and the Auto
    classes took it so, but `pipeline(model=folder)` took it for an adapter folder and merged the adapter into that
    other base: other weights, other predictions, no word. Every path now asks `is_adapter_folder`."""
    from citrus_hf import _bundled, loading
    from citrus_hf.inference import registration

    folder, recording, inputs, expected = model_with_adapter
    assert loading.is_adapter_folder is _bundled.is_adapter_folder
    assert not loading.is_adapter_folder(folder)
    loading.check_model_reference(folder)  # a whole model: no refusal naming an adapter
    assert registration._adapter_folder(str(folder), {"model_type": "citrus"}, {}) is None

    torch.testing.assert_close(
        _logits(AutoModelForSequenceClassification.from_pretrained(folder), inputs), expected, rtol=0, atol=1e-5
    )
    torch.testing.assert_close(
        _logits(CiTrusForSequenceClassification.from_pretrained(folder), inputs), expected, rtol=0, atol=1e-5
    )
    result = pipeline(model=str(folder), backend="torch")(
        recording, sampling_rate=100, function_to_apply="none", top_k=3
    )
    scores = sorted(entry["score"] for entry in result["labels"])
    assert scores == pytest.approx(sorted(expected[0].tolist()), abs=1e-5)


def test_an_adapter_folder_is_adapter_config_json_without_config_json(model_with_adapter, tmp_path):
    """The adapter alone (no config.json) is an adapter folder for every path; anything but a folder is not."""
    from citrus_hf import _auto, loading
    from citrus_hf.inference import registration

    folder, _, _, _ = model_with_adapter
    adapter = tmp_path / "adapter_only"
    adapter.mkdir()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        (adapter / name).write_bytes((folder / name).read_bytes())
    assert loading.is_adapter_folder(adapter) and loading.is_adapter_folder(str(adapter))
    assert registration._adapter_folder(str(adapter), None, {}) == str(adapter)
    with pytest.raises(FileNotFoundError, match="is a LoRA adapter"):
        loading.check_model_reference(adapter)
    for other in (tmp_path / "missing", tmp_path / "base", None, 3, {"model_type": "citrus"}):
        assert not loading.is_adapter_folder(other)
    # `_auto` may not import `loading` (sibling layers): both take the one definition from `_bundled`
    assert "is_adapter_folder" in _auto._take_bundled_names.__code__.co_names


def test_the_bottom_layer_spells_the_file_names_of_transformers_and_peft():
    """`_bundled` is imported by `citrus --help` (no transformers) and sits beside the vocabulary, so it spells the
    two names itself: they must stay those of transformers and peft."""
    from peft.utils import CONFIG_NAME as PEFT_CONFIG_NAME
    from transformers.utils import CONFIG_NAME

    from citrus_hf import _bundled
    from citrus_hf.vocabulary_citrus import ADAPTER_CONFIG_NAME

    assert _bundled._CONFIG_NAME == CONFIG_NAME
    assert _bundled._ADAPTER_CONFIG_NAME == ADAPTER_CONFIG_NAME == PEFT_CONFIG_NAME


def test_pretrain_and_finetune_agree_on_what_holds_a_pretraining_run(tmp_path):
    """`citrus finetune` refused a folder with an empty checkpoints/ (which `citrus pretrain` starts afresh in) and
    `citrus pretrain` a folder with a summary only by another test: one function now answers for both."""
    from citrus_hf.training.arguments import FinetuneArguments, PretrainArguments

    # (the modules: `citrus_hf.training` exports functions of the same names)
    pretrain_module = importlib.import_module("citrus_hf.training.pretrain")
    finetune_module = importlib.import_module("citrus_hf.training.finetune")
    folder = tmp_path / "run"

    def refusals() -> tuple[bool, bool]:
        refused = []
        for check in (
            lambda: pretrain_module._check_fresh_output_dir(PretrainArguments(output_dir=str(folder), dataset="x")),
            lambda: finetune_module._check_fresh_output_dir(FinetuneArguments(output_dir=str(folder), dataset="x")),
        ):
            try:
                check()
            except ValueError as error:
                assert "pre-training run" in str(error)
                refused.append(True)
            else:
                refused.append(False)
        return tuple(refused)

    (folder / pretrain_module.CHECKPOINTS_DIR).mkdir(parents=True)
    assert not pretrain_module.holds_pretraining_run(folder) and refusals() == (False, False)
    step = folder / pretrain_module.CHECKPOINTS_DIR / f"{pretrain_module.CHECKPOINT_PREFIX}2"
    step.mkdir()
    assert pretrain_module.checkpoints_in(folder) == [step]
    assert pretrain_module.holds_pretraining_run(folder) and refusals() == (True, True)
    step.rmdir()
    (folder / pretrain_module.SUMMARY_FILE).write_text("{}")
    assert pretrain_module.holds_pretraining_run(str(folder)) and refusals() == (True, True)


def test_add_tags_appends_each_tag_once_in_order():
    from citrus_hf.publishing.cards import _add_tags

    card = ModelCard.from_template(ModelCardData(tags=["citrus", "bio-signal"]))
    _add_tags(card, ["ecg", "citrus", "ecg"])
    assert card.data.tags == ["citrus", "bio-signal", "ecg"]
    bare = ModelCard.from_template(ModelCardData())
    _add_tags(bare, None)
    assert bare.data.tags is None and "tags:" not in str(bare)


def _fields_of(kind) -> dict[str, object]:
    """A dataclass's field name -> type (resolved), or {} for anything else (a dict, a number)."""
    kind = typing.get_origin(kind) or kind
    if not dataclasses.is_dataclass(kind):
        return {}
    hints = typing.get_type_hints(kind)
    return {item.name: hints[item.name] for item in dataclasses.fields(kind)}


def _mapping(kind) -> bool:
    """Whether a field of type `kind` holds a JSON object with keys of its own (`test_metrics.*`; an optional one,
    `test_recording_metrics.*`, null where the set has no recordings to score)."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        kinds = [each for each in typing.get_args(kind) if each is not type(None)]
        return len(kinds) == 1 and _mapping(kinds[0])
    return kind is typing.Any or (typing.get_origin(kind) or kind) is dict


def _free_object(kind) -> bool:
    """Whether a field of type `kind` (None for the record's root) is a dict or an optional one, whose keys no
    dataclass declares."""
    if kind is None:
        return False
    kinds = (
        typing.get_args(kind)
        if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union
        else (kind,)
    )
    return any((typing.get_origin(each) or each) is dict for each in kinds)


def test_the_run_record_fields_the_card_reads_are_fields_of_the_dataclasses_written():
    """`publishing.runs._RECORD_FIELDS` names fields of `finetune_results.json` (`FinetuneResult`, its
    `FinetuneArguments` and their `TrainerSettings`) and of `pretraining_summary.json` (`PretrainResult`,
    `PretrainArguments`) as dotted strings: a field renamed in a dataclass must fail here, not leave the card reading
    a key that is never written."""
    from citrus_hf.publishing.runs import _RECORD_FIELDS
    from citrus_hf.training.arguments import FinetuneArguments, PretrainArguments
    from citrus_hf.training.finetune import RESULTS_FILE, FinetuneResult
    from citrus_hf.training.pretrain import SUMMARY_FILE, PretrainResult

    # The keys each writer adds to the result dataclass's own fields (finetune: `asdict(result) | {...}`;
    # pretrain: `PretrainResult.summary()`, which drops the model and adds `learnt`, `| {"arguments": ...}`).
    roots = {
        RESULTS_FILE: _fields_of(FinetuneResult) | {"arguments": FinetuneArguments, "recipe_details": dict},
        SUMMARY_FILE: {name: kind for name, kind in _fields_of(PretrainResult).items() if name != "model"}
        | {"learnt": bool, "arguments": PretrainArguments},
    }
    assert set(_RECORD_FIELDS) == set(roots)
    for record, paths in _RECORD_FIELDS.items():
        for path in paths:
            known, kind = roots[record], None
            for part in path.split("."):
                if part == "*":
                    assert _mapping(kind), f"{record}: {path!r}: {kind} has no `*` entries"
                    break
                if _free_object(kind):  # (`recipe_details`, `test_classes`): its keys are its writer's, no dataclass's
                    break
                assert part in known, f"{record}: {path!r} names {part!r}, not one of {sorted(known)}"
                kind = known[part]
                known = _fields_of(kind)
