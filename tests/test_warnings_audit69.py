"""Warnings hygiene (warnings audit 69): what a user running the README's routes sees printed that they did nothing
to cause, and warnings that name deprecated transformers API.

Tiny configs on the CPU: each test takes a second or two.
"""

from __future__ import annotations

import logging

import numpy as np
from tiny_configs import tiny_config

from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor


def _clear_once_caches() -> None:
    logging.Logger.warning_once.cache_clear()
    logging.Logger.info_once.cache_clear()


def test_the_short_recording_notice_of_the_default_padding_is_no_warning(caplog):
    """The default `padding='longest'` keeps a short recording at its own duration and gives the outputs of the full
    window: the notice itself says "nothing needs changing", yet it came at WARNING level, so every user of short
    clips (the README's EMG windows, `examples/embeddings_sklearn.py`) saw it printed. It is information now."""
    _clear_once_caches()
    extractor = CiTrusFeatureExtractor.from_config(tiny_config())
    with caplog.at_level(logging.DEBUG, logger="citrus_hf"):
        extractor([np.random.default_rng(0).standard_normal(50)], sampling_rate=100)
    notices = [record for record in caplog.records if "nothing needs changing" in record.getMessage()]
    assert len(notices) == 1
    assert notices[0].levelno == logging.INFO
