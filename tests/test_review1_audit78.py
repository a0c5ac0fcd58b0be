"""Review of session 78's own landed work: a relative $XDG_CACHE_HOME's warning names where the archives are now kept
and the archives the user had under it; a set's build note records its selection as the cache key does; a subclass's
own __post_init__ normalising a TrainerSettings field is no assignment of the caller's."""

from __future__ import annotations

import dataclasses
import logging

from citrus_hf.training.settings import TrainerSettings, given_fields


# ------------------------------------------------ 1. a relative $XDG_CACHE_HOME: where the archives are, and were
def test_a_relative_xdg_cache_home_warning_names_the_archives_left_there(cache_home_given_relative, tmp_path, caplog):
    """XDG_CACHE_HOME=cache (relative), ignored since session 78, held the archives fetched before: the warning said
    only "using ~/.cache", and the next build said an archive is missing and fetched it again. It now names the folder
    the archives are kept in and the archives left under the relative one, with the variable that keeps using them."""
    from citrus_hf.data.fetch import archive_cache_dir

    earlier = cache_home_given_relative("CITRUS_HF_CACHE", "archives", "ptb_xl.zip")
    with caplog.at_level(logging.WARNING, logger="citrus_hf.data.fetch"):
        kept = archive_cache_dir()
    assert kept == tmp_path / "home" / ".cache" / "citrus_hf" / "archives"
    assert f"the offline archives are kept in {kept}" in caplog.text
    assert f"the 1 archive(s) under {earlier} are not read there: CITRUS_HF_CACHE={earlier}" in caplog.text


# ------------------------------------------ 2. a build note records the selection as the build and its cache key read it
def test_the_build_note_records_the_selection_as_the_cache_key_does():
    """`build_dataset` reads {"records": "100"} as ["100"] and {"subsets": None} as no selection since session 78,
    for its cache key too; the note saved beside the set (`save_built_dataset`, a published set's) still recorded the
    spelling given: "100", and a selection of None for a set built whole."""
    from citrus_hf.data.builders import built_from_note

    assert built_from_note("mitdb_beats", selection={"records": "100"})["selection"] == {"records": ["100"]}
    assert "selection" not in built_from_note("sleep_edf", selection={"subjects": None, "subsets": None})
    assert built_from_note("sleep_edf", selection={"subjects": 0})["selection"] == {"subjects": [0]}


# ----------------------------- 3. a subclass's own __post_init__ normalising a field is no assignment of the caller's
@dataclasses.dataclass
class _NormalisingSettings(TrainerSettings):
    """A user's settings as HfArgumentParser users write them: a field of their own, and their `__post_init__`
    normalising a field after the base's."""

    note: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.show_progress = bool(self.show_progress)


class _PlainNormalisingSettings(TrainerSettings):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.seed = int(self.seed)


def test_a_subclass_post_init_writing_a_field_is_not_an_assignment():
    """Since session 78 a field assigned after construction counts as given (ProtocolConfig then warns that it is
    ignored), and only the base's `__post_init__` was excused: a subclass's own, normalising show_progress after it,
    made `show_progress` "given" by a caller who never named it (and ProtocolConfig warned of it)."""
    assert given_fields(_NormalisingSettings(note="x")) is None
    assert given_fields(_PlainNormalisingSettings(learning_rate=1e-3)) == {"learning_rate"}
    settings = _NormalisingSettings()
    settings.seed = 9  # (an assignment after construction still counts)
    assert given_fields(settings) == {"seed"}
