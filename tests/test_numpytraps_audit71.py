"""numpy values in what citrus writes for people to read (numpy 2 / pandas traps, audit 71)."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_configs import synthetic_pretrain_arguments, tiny_config

from citrus_hf import CiTrusForSequenceClassification, build_model_card


def test_card_lists_numpy_hyperparameters_as_python_lists():
    """A hyper-parameter given as a numpy array (Adam's betas from `np.array`) was written as numpy prints it,
    "[0.9   0.999]", where the same values in a list read "0.9, 0.999"; numpy scalars read as Python numbers."""
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    hyperparameters = {"betas": np.array([0.9, 0.999]), "epochs": np.int64(5), "learning_rate": np.float32(1e-3)}
    text = str(build_model_card(model, hyperparameters=hyperparameters))
    assert "| betas | 0.9, 0.999 |" in text
    assert "| epochs | 5 |" in text
    assert "| learning_rate | 0.001 |" in text


def _numpy_steps(**more):
    """Settings as a script computes them with numpy (`np.ceil(n / batch).astype(int)`, a rate from an array)."""
    return {"max_steps": np.int64(2), "learning_rate": np.float32(1e-3), "warmup_steps": np.float32(0.1), **more}


def test_settings_hold_numpy_numbers_as_python_numbers(tmp_path):
    """The checks take numpy numbers (a value read from an array), but the settings kept them: a numpy seed failed
    deep in `random.seed` ("The only supported seed types are: None, int, ..."), and run_settings.json recorded
    max_steps as the text "2", which a resume from the command line's 2 then did not match."""
    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.training import FinetuneArguments, TrainerSettings
    from citrus_hf.training.arguments import PretrainArguments
    from citrus_hf.training.checkpoints import resume_settings

    pretraining = PretrainArguments(output_dir=str(tmp_path / "p"), seed=np.int64(3), **_numpy_steps())
    trainer = TrainerSettings(seed=np.int64(3), **_numpy_steps())
    finetuning = FinetuneArguments(output_dir=str(tmp_path / "f"), dataset="basic_motions", trainer=trainer)
    protocol = ProtocolConfig(
        output_dir=str(tmp_path / "e"), datasets=["basic_motions"], arms=["prior"], seeds=list(np.arange(2))
    )
    for settings in (pretraining, finetuning.trainer):
        for name in ("max_steps", "learning_rate", "warmup_steps", "seed"):
            assert type(getattr(settings, name)) in (int, float), name
    assert resume_settings(pretraining, 1)["max_steps"] == 2
    assert protocol.seeds == [0, 1] and all(type(seed) is int for seed in protocol.seeds)
    # an array of seeds was refused as "Seeds must be integers >= 0, got [0 1]"
    protocol = ProtocolConfig(
        output_dir=str(tmp_path / "e"), datasets=["basic_motions"], arms=["prior"], seeds=np.arange(2)
    )
    assert protocol.seeds == [0, 1] and all(type(seed) is int for seed in protocol.seeds)


def test_pretrain_with_numpy_settings_writes_its_summary(tmp_path):
    """A run whose settings held numpy numbers trained, then failed writing its summary (a numpy bool derived from
    them: "Cannot serialise bool"), leaving the run without the file evaluate, push and --resume-from read."""
    from citrus_hf.training.pretrain import pretrain

    arguments = synthetic_pretrain_arguments(
        tmp_path / "run",
        per_device_batch_size=np.int64(4),
        eval_batches=np.int64(1),
        seed=np.int64(3),
        **_numpy_steps(),
    )
    pretrain(arguments)
    assert (tmp_path / "run" / "pretraining_summary.json").is_file()


def test_data_info_of_a_set_with_a_nan_target_is_json_and_names_it(tmp_path, capsys):
    """`citrus data info --json` of a set with one NaN target wrote `"mean": NaN` (not JSON: jq and JavaScript refuse
    it) and the text said "mean nan, sd nan, range nan-nan": the statistics are now of the finite targets, with
    the count of the others; and targets of a small scale no longer read "mean 0.0, sd 0.0"."""
    import json

    from datasets import Dataset, DatasetDict

    from citrus_hf.commands.main import main

    rng = np.random.default_rng(0)

    def split(targets):
        signals = rng.standard_normal((len(targets), 1, 200)).astype(np.float32)
        return Dataset.from_dict(
            {"input_values": signals.tolist(), "target": targets, "sampling_rate": [100.0] * len(targets)}
        )

    folder = tmp_path / "set"
    DatasetDict(train=split([0.001, np.nan, 0.003, 0.002]), test=split([-0.002, 0.004])).save_to_disk(str(folder))
    assert main(["data", "info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out, parse_constant=lambda word: pytest.fail(f"{word} in the JSON"))
    assert info["splits"]["train"]["target"] == {
        "mean": pytest.approx(0.002),
        "std": pytest.approx(np.std([0.001, 0.003, 0.002])),
        "min": 0.001,
        "max": 0.003,
        "not_finite": 1,
    }
    assert "not_finite" not in info["splits"]["test"]["target"]
    assert main(["data", "info", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "target train: mean 0.002, sd 0.0008165, range 0.001 to 0.003 (1 target not finite)" in text
    assert "target test: mean 0.001, sd 0.003, range -0.002 to 0.004" in text


def test_a_metadata_rate_written_by_pandas_agrees_with_the_edf_files_rate(tmp_path, own_datasets_cache):  # noqa: F811
    """pandas' `to_json` writes floats to 10 digits: an EDF file's 1000 samples per 3 s record, 333.3333333333333 Hz,
    came back from its metadata.jsonl as 333.3333333333 and the folder was refused as "records its rate, 333.333 Hz,
    and its metadata says 333.333 Hz". Rates that agree to a millionth are one rate (the file's is kept); rates that
    differ are named with the digits that tell them apart."""
    import pandas as pd

    from citrus_hf.data.splits import load_task_splits

    pyedflib = pytest.importorskip("pyedflib")
    rng = np.random.default_rng(0)
    rate = 1000 / 3
    for split in ("train", "test"):
        (tmp_path / "set" / split).mkdir(parents=True)
        rows = []
        for index in range(2):
            writer = pyedflib.EdfWriter(str(tmp_path / "set" / split / f"r{index}.edf"), 1, pyedflib.FILETYPE_EDFPLUS)
            writer.setDatarecordDuration(3)
            header = dict(label="Cz", dimension="uV", sample_frequency=rate, physical_min=-100, physical_max=100)
            writer.setSignalHeaders([header | dict(digital_min=-32768, digital_max=32767, transducer="", prefilter="")])
            writer.writeSamples([10 * rng.standard_normal(6000)])
            writer.close()
            rows.append({"file_name": f"r{index}.edf", "label": "ab"[index], "sampling_rate": rate})
        pd.DataFrame(rows).to_json(tmp_path / "set" / split / "metadata.jsonl", orient="records", lines=True)
    splits = load_task_splits(tmp_path / "set", require_validation=False)
    assert set(splits.train["sampling_rate"]) == {rate}
    (tmp_path / "set" / "test" / "metadata.jsonl").write_text(
        '{"file_name": "r0.edf", "label": "a", "sampling_rate": 333.3}\n'
        '{"file_name": "r1.edf", "label": "b", "sampling_rate": 333.3}\n'
    )
    with pytest.raises(ValueError, match=r"records its rate, 333\.3333333 Hz, and its metadata says 333\.3 Hz"):
        load_task_splits(tmp_path / "set", require_validation=False)
