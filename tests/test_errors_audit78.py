"""Audit 78: the package's exception and warning classes as objects, as users and libraries handle them (pickled
out of a worker process, copied, caught by a builtin base, filtered by category)."""

from __future__ import annotations

import copy
import pickle
import warnings
from pathlib import Path

import pytest
from tiny_configs import tiny_config

# ----------------------------------------------- 1. every exception class survives pickling and copying as raised


def _raised_as_the_package_raises_them(folder: Path) -> list[BaseException]:
    """One instance of each exception class of the package, built with the arguments the package raises it with
    (`UnknownNameError`: `test_a_missing_modality_or_metric_prints_its_message_as_written`)."""
    from citrus_hf import data
    from citrus_hf._extras import MissingExtraError
    from citrus_hf._figures import PlottingUnavailableError
    from citrus_hf.commands import UsageError
    from citrus_hf.configuration_citrus import ConfigTypeError, ConfigValueError, missing_subfolder_error
    from citrus_hf.data.synthetic import SyntheticExtraMissingError
    from citrus_hf.inference.backends import OnnxCacheWriteError, _UnusableExportError
    from citrus_hf.training.callbacks import NonFiniteLossError
    from citrus_hf.training.pretrain import PretrainingDidNotLearnWarning
    from citrus_hf.training.trainer import RemovedColumnError
    from citrus_hf.vocabulary_citrus import UnitError

    export = folder / "model-logits-0123.onnx"
    export.write_bytes(b"not onnx")
    unusable = _UnusableExportError(export, "could not be read (DecodeError: truncated)")
    export.unlink()  # a message built while the file was there keeps its words once it is gone
    data_errors = [getattr(data, name)("m") for name in data.__all__ if name.endswith("Error")]
    return [
        *data_errors,
        OnnxCacheWriteError(folder, "Read-only file system", False),
        unusable,
        missing_subfolder_error(folder, "run"),
        ConfigValueError(ValueError("`d_model` must be at least 1, got -3.")),
        ConfigTypeError(TypeError("`d_model` must be an integer, got 'x' (str).")),
        MissingExtraError("ONNX export needs onnx, which is not installed: pip install 'citrus-hf[onnx]'."),
        SyntheticExtraMissingError("The 'ecg' synthetic generator needs `neurokit2`, which is not installed."),
        PlottingUnavailableError("The report's figure needs matplotlib: pip install matplotlib"),
        UsageError("citrus finetune: unknown option --lerning-rate"),
        NonFiniteLossError("The training loss became nan at optimizer step 3, so the run was stopped."),
        PretrainingDidNotLearnWarning("The held-out loss is at the level of predicting the mean."),
        RemovedColumnError("The set's transform read 'signal', which the Trainer removed."),
        UnitError("a.edf: channel 'ECG' is in % and the checkpoint takes µV."),
    ]


def test_every_package_error_survives_pickling_and_copying_as_raised(tmp_path):
    """An error raised in a worker process (a DataLoader's, `datasets.map(num_proc=...)`, a process pool's) is pickled
    and raised again in the caller's. `OnnxCacheWriteError(folder, reason, full)` and `_UnusableExportError(path,
    problem)` were rebuilt from their message alone, as `type(error)(*error.args)`: unpickling (and `copy.copy`)
    failed with "TypeError: __init__() missing 2 required positional arguments", which hid the real error. The other
    classes take a message and are guards here."""
    for error in _raised_as_the_package_raises_them(tmp_path):
        for duplicate in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
            assert type(duplicate) is type(error)
            assert str(duplicate) == str(error) and duplicate.args == error.args
            assert vars(duplicate) == vars(error)


def test_an_onnx_cache_error_keeps_its_parts_and_advice_once_pickled(tmp_path):
    """A command words the error its own way (`advice`), from the folder and whether the disk is full."""
    from citrus_hf.inference.backends import OnnxCacheWriteError

    error = OnnxCacheWriteError(tmp_path, "No space left on device", True)
    restored = pickle.loads(pickle.dumps(error))
    assert isinstance(restored, OSError)
    assert (restored.folder, restored.reason, restored.full) == (tmp_path, "No space left on device", True)
    assert restored.advice("--onnx-cache-dir") == error.advice("--onnx-cache-dir")
    assert "free space on its disk" in str(restored)


# ------------------------------------- 2. a lookup's KeyError prints its message, not the message quoted as a key


def test_a_missing_modality_or_metric_prints_its_message_as_written():
    """A bare `KeyError` prints its argument's repr: `config.modality_config("emg")` showed
    `KeyError: "No modality 'emg' in this fusion config; ..."`, quoted as if the sentence were the key."""
    from citrus_hf import CiTrusFusionConfig
    from citrus_hf.evaluation.multimodal import FusionProtocolResult

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()})
    with pytest.raises(KeyError) as caught:
        config.modality_config("emg")
    assert str(caught.value) == "No modality 'emg' in this fusion config; its modalities are ['ecg', 'eda']."
    assert pickle.loads(pickle.dumps(caught.value)).args == caught.value.args

    result = FusionProtocolResult()
    result.add("fusion", "5", {"accuracy": 0.5})
    with pytest.raises(KeyError) as caught:
        result.summary("fusion", "5", "auroc")
    assert str(caught.value).startswith("No 'auroc' recorded for condition 'fusion' at budget '5'")


# ------------------------------------------------------ 3. warning and error categories importable where documented


def test_the_training_categories_import_from_citrus_hf_training_and_filter_by_class():
    """README names `PretrainingDidNotLearnWarning` (and `citrus_hf.training` the run's `NonFiniteLossError`), but
    neither was a name of `citrus_hf.training`: a user's `warnings.filterwarnings("ignore", category=...)` needed
    the module that defines it (`training.pretrain`)."""
    import citrus_hf.training as training
    from citrus_hf.training import NonFiniteLossError, PretrainingDidNotLearnWarning

    assert {"PretrainingDidNotLearnWarning", "NonFiniteLossError"} <= set(training.__all__)
    assert issubclass(PretrainingDidNotLearnWarning, UserWarning) and issubclass(NonFiniteLossError, RuntimeError)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=PretrainingDidNotLearnWarning)
        warnings.warn("not learning", PretrainingDidNotLearnWarning, stacklevel=1)
    assert caught == []


# --------------------------------------------- 4. a channel list given as a number is named, not Python's TypeError


@pytest.mark.parametrize("field", ["channel_names", "channel_modalities"])
def test_a_channel_list_given_as_a_number_names_the_field(field):
    """`CiTrusConfig(channel_names=5)` raised `ConfigTypeError: object of type 'int' has no len()`, naming neither the
    field nor what to pass."""
    with pytest.raises(TypeError, match=rf"`{field}` is a list with one name per channel, got 5 \(int\)"):
        tiny_config(num_channels=1, **{field: 5})
