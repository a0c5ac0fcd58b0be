"""Mutation audit of the commands, third pass (audit80_mutcli3): checks that fail where `citrus data build --json`
leaves out the Hub repository it pushed to, where `citrus data info` reads a folder named like a registered set as
that set or prints its channel-hours to one decimal, where `citrus finetune`'s line leaves out the step its early
stopping kept, and where `citrus export` checks the graph on no padded window.

The sets are the session's class folders of .npy recordings at 50 Hz (`recording_folders`); no network.
"""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

from tiny_configs import tiny_config

from citrus_hf.commands.main import main


# -------------------------------------------------------------------------------------------------- citrus data
def test_data_build_json_names_the_hub_repository_it_pushed_to(
    recording_folders, monkeypatch, own_datasets_cache, capsys
):
    """`citrus data build FOLDER --push-to-hub REPO --json`: the JSON document says where the set went (`pushed_to`:
    REPO), as its line on stderr does. (The push itself is recorded here, not made: tests/hub push through the Hub
    protocol, which `datasets` reaches only from a fresh process.)"""
    from citrus_hf.publishing import datasets as publishing

    pushes = []
    monkeypatch.setattr(publishing, "publish", lambda dataset_dict, name, **where: pushes.append(where["push_to_hub"]))
    repo = "someone/own-set"
    capsys.readouterr()
    argv = ["data", "build", str(recording_folders), "--sampling-rate", "50", "--push-to-hub", repo, "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert pushes == [repo] and summary["pushed_to"] == repo and summary["output"] is None
    assert f"pushed to the Hub: {repo}" in captured.err


def test_data_info_reads_a_folder_named_like_a_registered_set_as_the_folder(
    recording_folders, tmp_path, monkeypatch, own_datasets_cache, capsys
):
    """A folder `basic_motions` in the working folder: `citrus data info basic_motions` summarises that folder (its 2
    classes, 88 s of train and 32 s of test windows of one channel), as `citrus data build basic_motions` reads it,
    not the registered set of that name; its channel-hours are printed to 3 decimals (0.024, not 0.0)."""
    shutil.copytree(recording_folders, tmp_path / "basic_motions")
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["data", "info", "basic_motions", "--sampling-rate", "50", "--cache-dir", str(tmp_path / "cache")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "classes (2): fast, slow" in "\n".join(lines)
    hours = {
        line.split()[0]: line.split()[-1] for line in lines if line.split()[:1] in (["train"], ["test"], ["total"])
    }
    assert hours == {"train": f"{88 / 3600:.3f}", "test": f"{32 / 3600:.3f}", "total": f"{120 / 3600:.3f}"}


# ---------------------------------------------------------------------------------------------- citrus finetune
def test_the_finetune_line_names_the_step_early_stopping_kept():
    """A run that kept its best validation step says which ("best at step 40"); one without (a probe) says none."""
    from citrus_hf.commands.finetune import describe_fit
    from citrus_hf.training.finetune import FinetuneResult

    fields = dict(
        output_dir="out", task="classification", test_metrics={}, validation_metrics={}, num_train=8,
        num_validation=2, num_test=2, history=[], seconds=1.0,
    )  # fmt: skip
    tuned = FinetuneResult(recipe="finetune", best_step=40, steps=60, **fields)
    assert describe_fit(tuned) == "recipe finetune, 60 steps (best at step 40)"
    assert describe_fit(FinetuneResult(recipe="probe", best_step=None, steps=0, **fields)) == "recipe probe"


# ------------------------------------------------------------------------------------------------ citrus export
def test_the_export_check_runs_one_padded_window_through_both_backends():
    """`citrus export` checks ONNX Runtime against PyTorch on a window whose second half is masked padding (as the
    pipelines send a recording's last window): a graph that ignores the patch mask is reported off, where a check that
    never passed a mask found it within tolerance."""
    from citrus_hf.commands.export import _differences

    model = SimpleNamespace(config=tiny_config(num_channels=2))
    patch_length = model.config.patch_length

    def masked_mean(windows, patch_mask):  # (batch, channels, time), (batch, patches) -> (batch, channels)
        if patch_mask is None:
            return windows.mean(-1)
        kept = patch_mask.repeat_interleave(patch_length, dim=-1)[:, None, :].to(windows.dtype)
        return (windows * kept).sum(-1) / kept.sum(-1)

    def mask_ignored(windows, patch_mask):
        return windows.mean(-1)

    absolute, _, within = _differences(model, mask_ignored, masked_mean)
    assert absolute > 0.01 and not within
    assert _differences(model, masked_mean, masked_mean)[2]
