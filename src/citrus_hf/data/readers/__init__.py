"""Readers for the real formats bio-signals come in, one module per format.

Each reader returns numpy arrays shaped ``(channels, time)`` plus the sampling rate, and turns the errors of the
underlying library into a :class:`~citrus_hf.data.errors.CitrusDataError` that names the file and the fix. Readers are
generic: what a corpus's files mean (labels, units, splits) is decided in its module in :mod:`citrus_hf.data.sources`.

* EDF / EDF+ (and BDF), :mod:`.edf`: :func:`read_edf` through MNE, after a header check that catches truncated files
  (MNE silently reads a truncated EDF as a shorter recording), a long one a stretch at a time through
  :func:`read_edf_segments`; annotations through :func:`read_edf_annotations`.
* OpenSignals HDF5 and text (biosignalsplux, BITalino), :mod:`.opensignals`: :func:`read_opensignals_h5`,
  :func:`read_opensignals_txt` (raw ADC counts; each sensor's transfer function lives with its corpus in
  :mod:`citrus_hf.data.sources`).
* WFDB, :mod:`.wfdb`: :func:`read_wfdb` through ``wfdb``.
* BrainVision (``.vhdr`` + ``.eeg`` + ``.vmrk``), :mod:`.brainvision`: :func:`read_brainvision` with numpy alone,
  :func:`read_brainvision_header`.
* EEGLAB ``.set`` (+ ``.fdt``), :mod:`.eeglab`: :func:`read_eeglab` through ``scipy.io.loadmat`` (MATLAB v5 / v7).
* TF-C ``.pt``, :mod:`.tfc`: :func:`load_tfc_split` through ``torch.load(weights_only=True)``.
* ARFF (UEA) and CSV, :mod:`.arff_csv`: :func:`read_uea_arff`, :func:`read_csv_matrix`, :func:`read_timed_csv`.
* sktime / aeon ``.ts``, :mod:`.ts`: :func:`read_ts`. R data files, :mod:`.rdata`: :func:`read_r_data`.
* ``.npy`` / ``.npz`` and numpy pickles, :mod:`.pickles`: :func:`load_npy`, :func:`load_npz`, :func:`load_pickle`
  (restricted to numpy arrays).

* Any of EDF / BDF, WFDB, BrainVision, EEGLAB, WAV, ``.npy`` and ``.csv`` / ``.tsv`` / ``.txt`` by the file's suffix,
  :mod:`.files`: :func:`read_recording` (what ``citrus predict`` reads), with the vendors' CSV layouts it recognises
  and the binary formats it refers to their converters in :mod:`.vendors`.

Every reader is importable from here (``from citrus_hf.data.readers import read_edf``). The heavy libraries (MNE,
h5py, wfdb, torch, scipy) are imported inside the readers, only when one is used.
"""

from __future__ import annotations

from .arff_csv import read_csv_matrix, read_timed_csv, read_uea_arff
from .brainvision import BrainVisionHeader, read_brainvision, read_brainvision_header
from .edf import (
    Annotation,
    EdfHeader,
    Recording,
    holds_annotations_only,
    read_edf,
    read_edf_annotations,
    read_edf_header,
    read_edf_segments,
)
from .eeglab import EeglabSet, read_eeglab, read_eeglab_set
from .files import (
    RATED_FORMATS,
    RECORDING_FORMATS,
    STARTED_FORMATS,
    companion_files,
    csv_has_time_column,
    header_rates,
    read_recording,
    recording_format,
    records_its_rate,
    records_its_start,
    refuse_vendor_text_header,
)
from .opensignals import OPENSIGNALS_BODY_SIGNALS, OpenSignalsRecording, read_opensignals_h5, read_opensignals_txt
from .pickles import load_npy, load_npz, load_pickle
from .rdata import RObject, read_r_data
from .tfc import load_tfc_split
from .ts import TsFile, read_ts
from .wfdb import WfdbRecording, read_wfdb

__all__ = [
    "OPENSIGNALS_BODY_SIGNALS",
    "RATED_FORMATS",
    "RECORDING_FORMATS",
    "STARTED_FORMATS",
    "Annotation",
    "BrainVisionHeader",
    "EdfHeader",
    "EeglabSet",
    "OpenSignalsRecording",
    "RObject",
    "Recording",
    "TsFile",
    "WfdbRecording",
    "companion_files",
    "csv_has_time_column",
    "header_rates",
    "holds_annotations_only",
    "load_npy",
    "load_npz",
    "load_pickle",
    "load_tfc_split",
    "read_brainvision",
    "read_brainvision_header",
    "read_csv_matrix",
    "read_edf",
    "read_edf_annotations",
    "read_edf_header",
    "read_edf_segments",
    "read_eeglab",
    "read_eeglab_set",
    "read_opensignals_h5",
    "read_opensignals_txt",
    "read_r_data",
    "read_recording",
    "read_timed_csv",
    "read_ts",
    "read_uea_arff",
    "read_wfdb",
    "refuse_vendor_text_header",
    "recording_format",
    "records_its_rate",
    "records_its_start",
]
