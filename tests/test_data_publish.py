"""Publishing options shared by `citrus data build` and the dataset scripts: one folder, or one per part."""

from __future__ import annotations

import argparse

from datasets import Dataset, DatasetDict, load_from_disk

from citrus_hf.commands.data import add_publish_arguments
from citrus_hf.publishing.datasets import publish_from_args


def _tiny():
    return DatasetDict({"train": Dataset.from_dict({"input_values": [[[0.0, 1.0]]], "label": [0]})})


def test_single_destination(tmp_path):
    parser = argparse.ArgumentParser()
    add_publish_arguments(parser)
    args = parser.parse_args(["--output", str(tmp_path / "out")])
    publish_from_args(_tiny(), "basic_motions", args)
    assert load_from_disk(str(tmp_path / "out"))["train"].num_rows == 1


def test_one_folder_per_part(tmp_path):
    parser = argparse.ArgumentParser()
    add_publish_arguments(parser, per_part="set")
    args = parser.parse_args(["--output", str(tmp_path)])
    assert "one sub-folder per set" in parser.format_help()
    publish_from_args(_tiny(), "tfc_fd_b", args, part="fd_b")
    assert load_from_disk(str(tmp_path / "fd_b"))["train"].num_rows == 1
    assert not args.private and args.push_to_hub is None
