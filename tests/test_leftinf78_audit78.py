"""Session 78 leftovers on the inference / Hub side: the no-signal reasons read from one registry, the inference
package's public names, the pipelines' averaging rule's shape checks, the no-folder note of a plain Hub id, counts of
one in messages, and the package's own commits after peft's and the Trainer's uploads made onto the commit they
read."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from tiny_configs import tiny_config

# ------------------------------------------------------------------------------ 1. the no-signal reasons, once


def test_every_no_signal_reason_the_pipeline_gives_is_one_the_command_prints():
    """Guard (passes before the change too): the reasons a window's stretch can get (`_stretch_without_signal`: NaN
    throughout, constant, constant only after alignment) are the registry's, and `citrus predict`'s line names each
    with what the registry says it means. The command kept its own copy of the reasons and their words."""
    from citrus_hf.commands.predict import _no_signal_line
    from citrus_hf.inference.pipelines import NO_SIGNAL_REASONS, _stretch_without_signal

    stretches = {
        "interpolated": (np.full((2, 50), np.nan), False),
        "flat": (np.zeros((2, 50)), False),
        "flat after alignment": (np.linspace(0, 1, 100).reshape(2, 50), True),
    }
    given = {_stretch_without_signal(stretch, aligned_flat) for stretch, aligned_flat in stretches.values()}
    assert given == set(NO_SIGNAL_REASONS)
    assert _stretch_without_signal(np.linspace(0, 1, 100).reshape(2, 50), False) is None
    windows = [{"no_signal": reason} for reason in sorted(given)] + [{"no_signal": None}]
    line = _no_signal_line("night.npy", {"windows": windows, "label": "W"})
    for reason in given:
        assert f"1 {reason}: {NO_SIGNAL_REASONS[reason]}" in line, line


def test_a_fusion_windows_no_signal_reason_is_printed_with_its_modality():
    """A fusion window's reason names its modality ("flat (eda)", the fusion pipeline's): `citrus predict` looked it
    up among its own two words, found none, and printed "1 of 2 window(s) hold no signal ()". It now counts each
    reason with its modality and says what it means."""
    from citrus_hf.commands.predict import _no_signal_line

    windows = [{"no_signal": "flat (eda)"}, {"no_signal": None}, {"no_signal": "interpolated (ecg)"}]
    line = _no_signal_line("session", {"windows": windows, "targets": [1.0]})
    assert "2 of 3 window(s) hold no signal (1 flat (eda): constant, e.g. an electrode off; 1 interpolated (ecg): " in (
        line
    ), line
    assert "left out of its target" in line, line


def test_a_no_signal_reason_the_registry_lacks_is_printed_as_given():
    """A checkpoint whose own pipeline code (another version's) marks a window with a reason this version's registry
    lacks: the sort by the registry's order stopped `citrus predict` with `ValueError: 'gap' is not in list` (the
    last read's finding). It is counted last, as given, without a meaning."""
    from citrus_hf.commands.predict import _no_signal_line

    windows = [{"no_signal": "gap"}, {"no_signal": "flat"}, {"no_signal": None}]
    line = _no_signal_line("night.npy", {"windows": windows, "label": "W"})
    assert "2 of 3 window(s) hold no signal (1 flat: constant, e.g. an electrode off; 1 gap), " in line, line


# --------------------------------------------------------------------- 2. the inference package's public names


def test_the_inference_package_lists_its_public_names_and_each_imports():
    """`citrus_hf.inference` had no `__all__` (the other sub-packages have theirs): `from citrus_hf.inference import
    *` gave nothing, and docs saw no API. Its names now load on first use, as the other sub-packages' do."""
    import citrus_hf.inference as inference

    assert set(inference.__all__) == set(inference._NAMES)
    assert {"BioSignalClassificationPipeline", "load_backend", "NO_SIGNAL_REASONS"} <= set(inference.__all__)
    for name in inference.__all__:
        value = getattr(inference, name)
        module = __import__(f"citrus_hf.inference.{inference._NAMES[name]}", fromlist=[name])
        assert value is getattr(module, name), name
    assert set(inference.__all__) <= set(dir(inference))
    namespace: dict = {}
    exec("from citrus_hf.inference import *", namespace)
    assert set(inference.__all__) <= set(namespace)


# ------------------------------------------------------------- 3. the pipelines' averaging rule checks its shapes


@pytest.mark.parametrize(
    ("outputs", "seconds"),
    [
        (torch.ones(3, 2), torch.tensor([2.0])),  # one value broadcast over every window
        (torch.ones(3, 2), torch.ones(3, 1)),  # a column: broadcast to (3, 2) against the outputs
        (torch.ones(3), torch.ones(3)),  # one value per window, no row each
    ],
)
def test_the_pipelines_averaging_rule_refuses_mismatched_shapes_as_recording_mean_does(outputs, seconds):
    """The pipelines' own copy of the averaging rule (remote code, for a model file without `recording_mean`) had no
    shape checks: seconds of one value weighted every window alike, and a 1-D output came back unchanged. It now
    refuses them in the words of `modeling_citrus.recording_mean`."""
    from citrus_hf.inference.pipelines import _seconds_weighted_mean
    from citrus_hf.modeling_citrus import recording_mean

    with pytest.raises(ValueError) as expected:
        recording_mean(outputs, seconds)
    with pytest.raises(ValueError) as raised:
        _seconds_weighted_mean(outputs, seconds)
    assert str(raised.value) == str(expected.value)


# --------------------------------------------------------- 4. no note of a missing folder for a plain Hub id


def test_load_pretrained_of_a_hub_id_says_nothing_of_a_local_folder(tmp_path, monkeypatch):
    """Offline, `load_pretrained("owner/name")` added "(No folder 'owner/name' exists under the current folder ...)"
    to the cache's refusal, noise for a Hub id. It is said only of a name that reads as a path (`looks_like_a_path`:
    here, a parent folder runs/ that exists)."""
    from citrus_hf import load_pretrained

    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    offline = {"cache_dir": tmp_path / "cache", "local_files_only": True}
    with pytest.raises(OSError) as raised:
        load_pretrained("owner/name", **offline)
    assert "the cache does not hold this snapshot" in str(raised.value)
    assert "No folder" not in str(raised.value), str(raised.value)
    with pytest.raises(OSError, match=r"No folder 'runs/mdoel' exists under the current folder"):
        load_pretrained("runs/mdoel", **offline)


# -------------------------------------------------------------------------------- 5. a count of one in messages


def test_messages_count_one_name_target_and_class_in_the_singular():
    """ "target_names gives 1 names ('hr') for 2 targets", "for 1 targets", "id2label names 1 outputs" and "names 1
    classes": a count of one now reads "1 name", "1 target", "1 output", "1 class"."""
    from citrus_hf.configuration_citrus import check_label_count, check_target_names
    from citrus_hf.training import regression_metrics

    with pytest.raises(ValueError, match=r"^target_names gives 1 name \('hr'\) for 2 targets:"):
        regression_metrics([[1, 2], [2, 3], [3, 5]], [[1, 2], [2, 3], [4, 4]], target_names=["hr"])
    with pytest.raises(ValueError, match=r"^target_names gives 2 names \('h', 'r'\) for 1 target:"):
        regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], target_names=["h", "r"])
    with pytest.raises(ValueError) as raised:
        check_target_names(SimpleNamespace(id2label={0: "hr"}, num_targets=2), "CiTrusForRegression")
    said = str(raised.value)
    assert said.startswith("id2label names 1 output ('hr'), and CiTrusForRegression has num_targets=2"), said
    assert "Pass num_targets=1 for 1 target, or one name per target (2 names in id2label)." in said, said
    with pytest.raises(ValueError, match=r"which names 1 class \(\['a'\]\)"):
        check_label_count(2, "id2label", ["a"])


# -------------------------------------------------- 6. the package's own commits go onto the commit they read


def _racing_commit(repo: str):
    """A commit of another file to `repo`'s default branch, as another push or an edit on the Hub makes it."""
    from hub_server import DEFAULT_TOKEN
    from huggingface_hub import HfApi

    HfApi(token=DEFAULT_TOKEN).upload_file(
        path_or_fileobj=b"their notes", path_in_repo="NOTES.md", repo_id=repo, commit_message="a concurrent edit"
    )


def test_the_adapter_task_config_commit_is_refused_when_the_branch_moved(local_hub, monkeypatch):
    """After peft's own `PeftModel.push_to_hub`, the package commits the adapter's citrus_task_config.json (its
    classes and input contract): it committed with no `parent_commit`, so a commit reaching the branch in between
    (another push) got this adapter's task config without a word. The commit now goes onto peft's, and a race is one
    line that says to push again; without one, the push goes through."""
    from hub_server import DEFAULT_TOKEN, DEFAULT_USER

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training import lora

    repo = f"{DEFAULT_USER}/citrus-adapter-raced"
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    adapter = lora.apply_lora(model, r=2, verbose=False)
    save = lora.save_trainer_adapters

    def raced_then_saved(*args, **kwargs):
        _racing_commit(repo)
        return save(*args, **kwargs)

    monkeypatch.setattr(lora, "save_trainer_adapters", raced_then_saved)
    with pytest.raises(OSError) as raised:
        adapter.push_to_hub(repo, token=DEFAULT_TOKEN)
    said = str(raised.value)
    assert said.startswith(f"{repo} changed after peft's push uploaded the adapter"), said
    assert "push again" in said and "\n" not in said, said
    assert "citrus_task_config.json" not in local_hub.repo_files(repo)
    monkeypatch.setattr(lora, "save_trainer_adapters", save)
    adapter.push_to_hub(repo, token=DEFAULT_TOKEN)
    files = local_hub.repo_files(repo)
    assert "citrus_task_config.json" in files and files["NOTES.md"] == b"their notes"


def test_deleting_the_other_kind_is_refused_when_the_branch_moved(local_hub, monkeypatch, tmp_path):
    """After an upload that deletes nothing (the Trainer's, peft's), the package deletes the files of the kind of
    checkpoint it replaced, listed from the branch: it deleted with no `parent_commit`, so a commit reaching the
    branch after the listing was deleted onto unseen. The deletion now goes onto the commit it listed."""
    from hub_server import DEFAULT_TOKEN, DEFAULT_USER
    from huggingface_hub import HfApi

    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-kinds-raced"
    api = HfApi(token=DEFAULT_TOKEN)
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="model.safetensors", repo_id=repo)
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    read_head = push._branch_head

    def read_then_raced(*args, **kwargs):
        head = read_head(*args, **kwargs)
        _racing_commit(repo)
        return head

    monkeypatch.setattr(push, "_branch_head", read_then_raced)
    with pytest.raises(OSError) as raised:
        push.delete_the_other_kind(repo, tmp_path / "adapter", True, fusion=False, revision=None, token=DEFAULT_TOKEN)
    said = str(raised.value)
    assert said.startswith(f"{repo} changed after this push uploaded its checkpoint"), said
    assert "model.safetensors" in said and "\n" not in said, said
    assert "model.safetensors" in local_hub.repo_files(repo)
    monkeypatch.setattr(push, "_branch_head", read_head)
    push.delete_the_other_kind(repo, tmp_path / "adapter", True, fusion=False, revision=None, token=DEFAULT_TOKEN)
    files = local_hub.repo_files(repo)
    assert "model.safetensors" not in files and files["NOTES.md"] == b"their notes"
