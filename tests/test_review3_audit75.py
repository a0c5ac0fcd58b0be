"""Review of audit 75's Hub and loading commits: the refusal of pickled weights (`use_safetensors=False`, or a folder
holding only a pytorch_model.bin) names the whole call that converts them, which loads; a remote-code model saved
again from a checkpoint whose pipeline code cannot be read says so on one line with the fixes. Tiny models."""

from __future__ import annotations

import logging
import os
import re
import shutil

import pytest
import torch
from hub_server import DEFAULT_USER, HubServer, client_env, client_result, run_client
from test_hubmsgs_audit75 import COMMIT, remote_modules  # noqa: F401 (a fixture)
from tiny_configs import tiny_config

from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification


@pytest.fixture
def pickled_checkpoint(tmp_path):
    """A classifier's checkpoint folder holding its config and only pickled weights (pytorch_model.bin, and a
    Trainer's optimizer.pt beside them), and the model it was saved from."""
    torch.manual_seed(0)
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    folder = tmp_path / "pickled"
    model.save_pretrained(folder)
    (folder / "model.safetensors").unlink()
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    torch.save({}, folder / "optimizer.pt")
    return folder, model


@pytest.mark.parametrize("given", [{}, {"use_safetensors": False}])
def test_the_pickle_refusal_names_a_conversion_that_loads(given, pickled_checkpoint):
    """The refusal said to "pass them as `state_dict=`" (or "`model.save_pretrained(folder)` after loading its state
    dict"); `from_pretrained(folder, state_dict=...)`, the reading at hand, is refused again by the same check, and
    transformers refuses `state_dict=` beside a checkpoint's name. It now names the whole call, on the model's
    weights file (not the optimizer.pt beside it), and that call and `save_pretrained` give a loadable checkpoint."""
    folder, model = pickled_checkpoint
    with pytest.raises((OSError, ValueError)) as raised:
        CiTrusForSequenceClassification.from_pretrained(str(folder), **given)
    said = str(raised.value)
    call = re.search(r"`(CiTrusForSequenceClassification\.from_pretrained\(None, [^`]+)`", said)
    assert call is not None and "pytorch_model.bin" in call.group(1), said
    assert f"save_pretrained({str(folder)!r})" in said, said
    converted = eval(
        call.group(1), {"CiTrusForSequenceClassification": CiTrusForSequenceClassification, "torch": torch}
    )
    converted.save_pretrained(folder)
    loaded = CiTrusForSequenceClassification.from_pretrained(str(folder))
    torch.testing.assert_close(loaded.classifier.weight, model.classifier.weight, rtol=0, atol=0)


@pytest.mark.usefixtures("remote_modules")
def test_a_remote_code_model_whose_checkpoint_lost_its_pipeline_code_is_warned_of_on_one_line(tmp_path, caplog):
    """A model loaded as its checkpoint's remote code (the class imported from the checkpoint's modeling file, as
    `trust_remote_code=True` does where citrus_hf is not installed) from a folder without pipelines.py, saved again:
    the warning carried transformers' text, which pointed to "https://huggingface.co//<the folder's path>/tree/main"
    and left the fix at "needs citrus_hf installed". It now says the folder holds no pipelines.py, on one line, with
    the other fixes (copy the code in, save again once it can be read)."""
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    folder = tmp_path / "checkpoint"
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(folder)
    remote_class = get_class_from_dynamic_module("modeling_citrus.CiTrusForSequenceClassification", str(folder))
    model = remote_class.from_pretrained(str(folder))
    (folder / "pipelines.py").unlink()  # a checkpoint saved before its pipeline code was, or copied without it
    with caplog.at_level(logging.WARNING):
        model.save_pretrained(tmp_path / "again")
    said = [record.getMessage() for record in caplog.records if "pipeline code" in record.getMessage()]
    assert len(said) == 1 and "\n" not in said[0], said
    assert f"({str(folder)!r} holds no pipelines.py)" in said[0], said
    assert "backends.py copied in" in said[0] and "huggingface.co" not in said[0], said
    assert "pipelines.py" not in os.listdir(tmp_path / "again")


def test_weights_the_offline_cache_never_held_in_a_subfolder_are_named_with_it(tmp_path):
    """Offline, `from_pretrained("owner/name", subfolder="ecg")` with only ecg/config.json cached said "The Hub cache
    holds no model.safetensors of 'owner/name'", the repository's root, where none was looked for; the subfolder
    whose file it lacks is named, as the other Hub messages name it."""
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path / "model")
    cached = tmp_path / "cache" / "models--owner--sub"
    (cached / "snapshots" / COMMIT / "ecg").mkdir(parents=True)
    (cached / "refs").mkdir()
    (cached / "refs" / "main").write_text(COMMIT)
    shutil.copy(tmp_path / "model" / "config.json", cached / "snapshots" / COMMIT / "ecg" / "config.json")
    with pytest.raises(OSError) as raised:
        CiTrusForSequenceClassification.from_pretrained(
            "owner/sub", subfolder="ecg", cache_dir=tmp_path / "cache", local_files_only=True
        )
    assert str(raised.value).startswith(
        "The Hub cache holds no model.safetensors of 'owner/sub' (subfolder 'ecg'), and offline"
    ), raised.value


def test_from_pretrained_takes_its_optional_parameters_by_position_again(tmp_path):
    """transformers' `from_pretrained(name, cache_dir=None, force_download=False, local_files_only=False, token=None,
    revision="main", **kwargs)` takes them by position too; leaving an untyped revision unset broke that:
    `CiTrusFeatureExtractor.from_pretrained(folder, cache_dir)` raised "takes 2 positional arguments but 3 were
    given", and a revision given by position to `CiTrusConfig.from_pretrained` "got multiple values for argument
    'revision'"."""
    config = tiny_config()
    config.save_pretrained(tmp_path)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(tmp_path)
    extractor = CiTrusFeatureExtractor.from_pretrained(str(tmp_path), str(tmp_path / "cache"))
    assert extractor.sampling_rate == config.sampling_rate
    loaded = CiTrusConfig.from_pretrained(str(tmp_path), str(tmp_path / "cache"), False, False, None, "main")
    assert loaded.to_diff_dict() == config.to_diff_dict()


REMOTE_PUSH = """
import json
from huggingface_hub import HfApi
from transformers.dynamic_module_utils import get_class_from_dynamic_module
remote_class = get_class_from_dynamic_module("modeling_citrus.CiTrusForSequenceClassification", "local")
assert remote_class._hub_publisher is None and remote_class._pipeline_code_saver is None
remote_class.from_pretrained("local").save_pretrained("again", push_to_hub=True, repo_id="__REPO__")
print("RESULT:", json.dumps(sorted(HfApi().list_repo_files("__REPO__"))))
"""


def test_a_remote_code_model_pushed_through_save_pretrained_uploads_its_pipeline_code(tmp_path):
    """A model loaded as its checkpoint's remote code and published with `save_pretrained(folder, push_to_hub=True)`
    (transformers' own push: remote code has no publisher) uploaded a config.json naming its pipeline without
    pipelines.py and backends.py: transformers uploads within its `save_pretrained`, before the code was written into
    the folder. They are written before the upload now. A fresh interpreter: huggingface_hub reads the Hub's address
    (this test's server) once, when it is imported."""
    repo = f"{DEFAULT_USER}/citrus-remote-push"
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(tmp_path / "local")
    with HubServer() as hub:
        env = client_env(hub.url, tmp_path / "hf_home", HF_MODULES_CACHE=str(tmp_path / "modules"))
        out = client_result(run_client(REMOTE_PUSH.replace("__REPO__", repo), env, cwd=tmp_path).stdout)
    assert {"config.json", "model.safetensors", "pipelines.py", "backends.py"} <= set(out), out
