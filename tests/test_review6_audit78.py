"""Audit 78, review 6: the errors helper's channel list check (`validate_input_contract`) seen through a user's
habits. It refused a number naming the field, but let through containers that have a length and are no list (a set in
its hash order, a dict, a range) and lists whose entries are no names (numbers, None, nested lists)."""

from __future__ import annotations

import pytest
from tiny_configs import tiny_config


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"C4", "C3"}, r"got .* \(set\), whose order is not the channels'; pass a list of strings"),
        ({"C3": 0, "C4": 1}, r"got \{'C3': 0, 'C4': 1\} \(dict\); pass a list of strings in the channels' order"),
        (range(2), r"got range\(0, 2\) \(range\); pass a list of strings"),
    ],
)
def test_a_channel_list_that_is_no_list_is_refused_naming_the_field(given, said):
    """A set passed (its order the hashes', so names were given to the wrong channels, changing with PYTHONHASHSEED)
    and a dict or range passed too, to fail only at `save_pretrained` with JSON's "Object of type set is not JSON
    serializable"; the tuple, array and pandas Index that the config turns into a list stay accepted."""
    with pytest.raises(TypeError, match=rf"`channel_names` is a list with one name per channel, {said}"):
        tiny_config(num_channels=2, channel_names=given)
    assert tiny_config(num_channels=2, channel_names=("C3", "C4")).channel_names == ["C3", "C4"]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ([1, 2], r"holds 1 \(int\); each channel's entry is a string, e\.g\. '1'\."),
        (["eeg", None], r"holds None \(NoneType\); each channel's entry is a string\."),
        ([["eeg"], ["eog"]], r"holds \['eeg'\] \(list\); each channel's entry is a string\."),
    ],
)
def test_a_channel_list_of_entries_that_are_no_names_is_refused(given, said):
    """Numbers and None passed (channels are picked by name, as text: they matched no file's channel), and a nested
    list failed with Python's "unhashable type: 'list'", naming neither the field nor the fix."""
    with pytest.raises(TypeError, match=rf"`channel_modalities` {said}"):
        tiny_config(num_channels=2, channel_modalities=given)
