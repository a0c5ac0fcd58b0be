"""Audit 75, review 7: a review of this session's own changes. The fusion processor takes `from_pretrained`'s
optional parameters by position as the config and the extractor do again; the data layer's NaN advice names a row's
padding as padding, not as a gap, and weighs a run of unknown rate against a patch it can count in the row's samples."""

from __future__ import annotations

import numpy as np
import pytest
from test_fusion import fusion_config

from citrus_hf import CiTrusFusionProcessor

# ----------------------------------------------------------- 1. the fusion processor's positional parameters


def test_fusion_processor_takes_from_pretraineds_parameters_by_position(tmp_path):
    """`CiTrusFusionProcessor.from_pretrained(folder, cache_dir)` raised Python's 'takes 2 positional arguments but 3
    were given', where transformers' `ProcessorMixin.from_pretrained` (and the CiTrus config and extractor, b41aa84)
    take `cache_dir, force_download, local_files_only, token, revision` by position."""
    processor = CiTrusFusionProcessor.from_config(fusion_config())
    processor.save_pretrained(tmp_path / "saved")
    cache = str(tmp_path / "cache")
    assert CiTrusFusionProcessor.from_pretrained(tmp_path / "saved", cache) == processor
    assert CiTrusFusionProcessor.from_pretrained(tmp_path / "saved", cache, False, True, None, None) == processor
    with pytest.raises(TypeError, match="got multiple values for argument 'cache_dir'"):
        CiTrusFusionProcessor.from_pretrained(tmp_path / "saved", cache, cache_dir=cache)
