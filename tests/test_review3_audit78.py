"""Review 3 of session 78's own work (the hot paths made faster, the suite made cheaper): what a strict reading of
those changes found wrong."""

from __future__ import annotations

from citrus_hf.data.readers import edf

# ------------------------------------------------------------------------------------------------------ EDF headers


def test_an_edf_headers_names_follow_a_signal_renamed_after_the_first_call(edf_path):
    """`EdfHeader` (public, a mutable dataclass) kept its signal names from the first call: a caller who then
    renamed a signal (`header.labels[i] = ...`, or gave a new list) got the old names from `signal_names`, `position`
    and `names_by_rate`, and the new name was refused as not in the file. The names follow the labels."""
    header = edf.read_edf_header(edf_path)
    assert next(iter(header.signal_names())) == "Fc5."
    header.labels[0] = "FC5"
    assert list(header.signal_names())[:2] == ["FC5", "Fc3."] and "Fc5." not in header.signal_names()
    assert header.position(edf_path, "FC5") == 0 and header.sampling_rate("FC5") == 160.0
    assert header.names_by_rate()[160.0][0] == "FC5"
    header.labels = ["EEG"] * len(header.labels)  # a new list, one label for every signal: told apart by place
    assert list(header.signal_names())[:2] == ["EEG-0", "EEG-1"]
