"""Checkpoint file layouts (audit 65): a sharded save over a single-file one, weights saved with `variant=` through
the commands and the pipeline, `subfolder=` in the package's loaders and the pipeline, what a Hub download takes, and
the refusals of folders whose weights are not where the loader looks. The Hub side is in hub/test_hub_layouts_audit65.py.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from huggingface_hub.utils import filter_repo_objects
from tiny_configs import save_tiny_classifier, tiny_config
from transformers import pipeline

from citrus_hf import CiTrusFeatureExtractor, CiTrusForPretraining, CiTrusForSequenceClassification, CiTrusModel
from citrus_hf.loading import check_model_reference, load_feature_extractor, load_pretrained
from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification


def _classifier(seed: int) -> CiTrusForSequenceClassification:
    torch.manual_seed(seed)
    return CiTrusForSequenceClassification(tiny_config(num_labels=3))


def _same_weights(model, other) -> bool:
    return all(torch.equal(tensor, other.state_dict()[name]) for name, tensor in model.state_dict().items())


# ------------------------------------------------------------------- 2: a save over another layout in the same folder


@pytest.mark.parametrize("first, second", [({}, {"max_shard_size": "2KB"}), ({"max_shard_size": "2KB"}, {})])
def test_a_save_over_another_layout_leaves_only_its_own_weights(tmp_path, first, second):
    """Shards saved where a model.safetensors was: transformers left it, and every loader served those old weights."""
    old, new = _classifier(0), _classifier(1)
    old.save_pretrained(tmp_path, **first)
    new.save_pretrained(tmp_path, **second)
    names = {path.name for path in tmp_path.iterdir()}
    sharded = "max_shard_size" in second
    assert ("model.safetensors" in names) != sharded
    assert ("model.safetensors.index.json" in names) == sharded
    assert _same_weights(CiTrusForSequenceClassification.from_pretrained(tmp_path), new)
    assert _same_weights(load_pretrained(tmp_path), new)


def test_a_folder_holding_both_a_weights_file_and_shards_is_refused(tmp_path):
    """Such a folder (transformers' own save, a copy) served the single file whichever was newer."""
    folder = tmp_path / "both"
    _classifier(1).save_pretrained(folder, max_shard_size="2KB")
    _classifier(0).save_pretrained(tmp_path / "single")
    shutil.copy(tmp_path / "single" / "model.safetensors", folder)
    expected = r"holds both model.safetensors and model.safetensors.index.json .*Delete the stale one"
    with pytest.raises(OSError, match=expected):
        CiTrusForSequenceClassification.from_pretrained(folder)
    with pytest.raises(OSError, match=expected):
        load_pretrained(folder)
    with pytest.raises(OSError, match=expected):
        check_model_reference(str(folder))


# ------------------------------------------------------------- 3: variant weights, config.json without architectures


def _variant_without_architectures(folder):
    model = _classifier(0)
    model.save_pretrained(folder, variant="fp16")
    CiTrusFeatureExtractor.from_config(model.config).save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    config.pop("architectures")
    config.pop("custom_pipelines", None)
    (folder / "config.json").write_text(json.dumps(config))
    return model


def test_the_pipeline_reads_the_head_from_the_variant_weights(tmp_path):
    """The class of a config.json without `architectures` was read from model.safetensors only: a classifier saved
    with variant= ran as an encoder, embedding instead of classifying."""
    model = _variant_without_architectures(tmp_path)
    classify = pipeline(model=str(tmp_path), model_kwargs={"variant": "fp16"}, backend="torch")
    assert type(classify.model).__name__ == "CiTrusForSequenceClassification"
    assert _same_weights(classify.model, model)
    signal = np.random.default_rng(0).standard_normal((1, 200)).astype("float32")
    assert "label" in classify(signal, sampling_rate=100)


def test_an_encoder_loaded_from_a_checkpoint_naming_no_class_says_so_in_english(tmp_path, caplog):
    _variant_without_architectures(tmp_path)
    with caplog.at_level("WARNING"):
        CiTrusModel.from_pretrained(tmp_path, variant="fp16")
    assert "(another CiTrus class's checkpoint)" in caplog.text and "a another" not in caplog.text


# --------------------------------------------------------------------------------------- 4: subfolder= everywhere


def test_the_loaders_and_the_pipeline_read_the_subfolder_asked_for(tmp_path):
    """load_pretrained checked the root folder (no config.json there: refused; a fusion model there: its class was
    taken), the extractor loaders had no `subfolder`, and the pipeline refused the root folder."""
    torch.manual_seed(0)
    classifier_folder = save_tiny_classifier(tmp_path / "ecg", num_labels=3)
    expected = CiTrusForSequenceClassification.from_pretrained(classifier_folder)
    assert _same_weights(load_pretrained(tmp_path, subfolder="ecg"), expected)
    assert load_feature_extractor(tmp_path, subfolder="ecg").sampling_rate == 100
    classify = pipeline(model=str(tmp_path), model_kwargs={"subfolder": "ecg"}, backend="torch")
    assert _same_weights(classify.model, expected)
    fusion = CiTrusFusionForSequenceClassification.from_encoders({"ecg": CiTrusModel(tiny_config())}, num_labels=2)
    fusion.save_pretrained(tmp_path)  # the root now holds another kind of checkpoint
    assert _same_weights(load_pretrained(tmp_path, subfolder="ecg"), expected)
    with pytest.raises(OSError, match=r"has no subfolder 'eeg' \(its subfolders: \['ecg'\]\)"):
        load_pretrained(tmp_path, subfolder="eeg")


# -------------------------------------------------------------------------- 5, 8: what the commands refuse up front


def test_the_commands_refuse_variant_weights_before_any_work(tmp_path):
    """No command takes a variant, and their errors said to "pass the `variant=`"; evaluate said it after writing
    protocol.json and building the sets."""
    from citrus_hf.evaluation import ProtocolConfig

    _classifier(0).save_pretrained(tmp_path / "fp16", variant="fp16")
    expected = r"weights saved with `variant=` \['fp16'\] and no model.safetensors.* save it again without `variant=`"
    with pytest.raises(FileNotFoundError, match=expected):
        check_model_reference(str(tmp_path / "fp16"))
    with pytest.raises(FileNotFoundError, match=expected):
        ProtocolConfig(
            output_dir=str(tmp_path / "evaluation"),
            arms=["citrus-time"],
            checkpoints={"citrus-time": str(tmp_path / "fp16")},
        )
    assert not (tmp_path / "evaluation").exists()


def test_a_trainer_output_dir_before_its_final_save_names_its_checkpoints(tmp_path):
    for step in (3, 10):
        _classifier(0).save_pretrained(tmp_path / f"checkpoint-{step}")
    with pytest.raises(
        FileNotFoundError, match=r"the Trainer's \['checkpoint-3', 'checkpoint-10'\]; pass one of those"
    ):
        check_model_reference(str(tmp_path), "--model")


# ------------------------------------------------------------------------------------ 6: what a Hub download takes


def test_a_hub_download_takes_the_root_checkpoint_or_the_subfolder_and_variant_asked_for():
    """ "*.safetensors" matched every subfolder's and every variant's weights (fnmatch's * crosses "/")."""
    from citrus_hf.loading import checkpoint_patterns

    repo = [
        "config.json", "model.safetensors", "model.fp16.safetensors", "model.safetensors.index.json",
        "model-00001-of-00002.safetensors", "model.fp16-00001-of-00002.safetensors", "modeling_citrus.py",
        "README.md", "training_args.bin", "checkpoint-3/config.json", "checkpoint-3/model.safetensors",
        "ecg/config.json", "ecg/model.safetensors", "ecg/deeper/model.safetensors", "adapter_model.safetensors",
    ]  # fmt: skip

    def taken(**asked):
        allow, ignore = checkpoint_patterns(**asked)
        return set(filter_repo_objects(repo, allow_patterns=allow, ignore_patterns=ignore))

    assert taken() == {
        "config.json", "model.safetensors", "model.safetensors.index.json", "model-00001-of-00002.safetensors",
        "modeling_citrus.py", "README.md", "adapter_model.safetensors",
    }  # fmt: skip
    assert {"model.fp16.safetensors", "model.fp16-00001-of-00002.safetensors"} <= taken(variant="fp16")
    assert not {"model.safetensors", "model-00001-of-00002.safetensors"} & taken(variant="fp16")
    assert taken(subfolder="ecg") == {"ecg/config.json", "ecg/model.safetensors"}


# ------------------------------------------------------------------------ 7: where the weights are when not here


def test_a_folder_without_weights_says_where_they_are_without_pickle_advice(tmp_path):
    """Shards without their index, or weights in a subfolder, got "a pickle can run code" though no pickle was there."""
    _classifier(0).save_pretrained(tmp_path / "shards", max_shard_size="2KB")
    (tmp_path / "shards" / "model.safetensors.index.json").unlink()
    with pytest.raises(OSError, match=r"shards \['model-00001-of-.*without their index.*restore the index") as error:
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "shards")
    assert "pickle" not in str(error.value)
    CiTrusForPretraining(tiny_config()).save_pretrained(tmp_path / "base" / "enc")
    config = tiny_config(num_labels=3)  # weights given with their config (a LoRA adapter's base loads so)
    with pytest.raises(OSError, match=r"its subfolders \['enc'\] hold checkpoints") as error:
        CiTrusForSequenceClassification.from_pretrained(tmp_path / "base", config=config)
    assert "pickle" not in str(error.value)
