"""The caller's global random state, kept across a fit or an evaluation.

Every fitting run seeds Python's, numpy's and torch's global generators (`transformers.set_seed`, as the Trainer
does, or accelerate's), so that runs do not depend on what ran before them. Left so, a script that seeded its own
generators and then called `finetune`, `pretrain` or `run_protocol` would draw, afterwards, what the last run seeded,
whatever the script's seed was (a loop drawing a "random" subset per trial drew the same one every trial).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


@contextmanager
def caller_random_state_kept() -> Iterator[None]:
    """Restore Python's, numpy's and torch's global random states on leaving (torch's through `torch.random.fork_rng`,
    with every GPU's where CUDA is initialised on entry; CUDA started inside is left as it ends)."""
    python_state, numpy_state = random.getstate(), np.random.get_state()
    gpus = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    try:
        with torch.random.fork_rng(devices=gpus):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
