"""A pre-training run's checkpoints: where they are (`checkpoints_in`), which one `--resume-from` names
(`resolve_resume`), whether every state file `Accelerator.load_state` reads is whole (`checkpoint_problems`), and
whether a resume repeats the settings of the run that wrote it (`resume_settings`, `check_resumable`, with the
`run_environment` the results also depend on). `pretrain`'s loop writes them (`PretrainingLoop.save_checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers.utils import SAFE_WEIGHTS_NAME, logging

from ..data.listings import files_under, folders_and_files_under, is_hidden_name
from ..loading import read_json_object
from .arguments import PretrainArguments
from .launch import LAUNCH_ACCUMULATION, LAUNCH_PRECISION, cpu_launch

if TYPE_CHECKING:
    from accelerate import Accelerator

logger = logging.get_logger(__name__)

# A run's checkpoints are the folders `<output_dir>/CHECKPOINTS_DIR/<CHECKPOINT_PREFIX><step>` (`checkpoints_in`).
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_PREFIX = "step-"

# `pretrain.TrainingProgress`, the one object the loop registers for checkpointing (Accelerate's custom_checkpoint_<i>.pkl).
_PROGRESS_FILE = "custom_checkpoint_0.pkl"
# The settings of the run that wrote a checkpoint, beside it: a resume with others is no longer the uninterrupted run.
RUN_SETTINGS_FILE = "run_settings.json"
# A run's summary, in its output folder: what it was run with (its `arguments`), written when a run ends (`pretrain`).
SUMMARY_FILE = "pretraining_summary.json"
# The optimisation schedule's settings (also the hyper-parameters a card lists: scripts/bundle_citrus_small.py).
SCHEDULE_SETTINGS = (
    "max_steps",
    "per_device_batch_size",
    "gradient_accumulation_steps",
    "learning_rate",
    "weight_decay",
    "warmup_steps",
    "max_grad_norm",
    "mixed_precision",
)
# Settings that decide the batches, the model or the schedule (a resumed run must repeat them to be exact).
RESUME_SETTINGS = (
    "dataset",
    "dataset_options",
    "train_split",
    "sampling_rate",
    "nan_policy",
    "synthetic_ratio",
    "synthetic_generators",
    "model_config",
    "config_overrides",
    *SCHEDULE_SETTINGS,
    "seed",
)


def checkpoints_in(output_dir: str | os.PathLike) -> list[Path]:
    """The checkpoints of a run, oldest first."""
    folder = Path(output_dir) / CHECKPOINTS_DIR
    found = [p for p in folder.glob(f"{CHECKPOINT_PREFIX}*") if re.fullmatch(rf"{CHECKPOINT_PREFIX}\d+", p.name)]
    return sorted(found, key=checkpoint_step)


def checkpoint_step(folder: Path) -> int:
    """The optimizer step of a checkpoint folder `step-N` (`checkpoints_in` finds only such names)."""
    return int(folder.name[len(CHECKPOINT_PREFIX) :])


def resolve_resume(args: PretrainArguments, accelerator: Accelerator) -> Path | None:
    """The checkpoint `--resume-from` names, once every state file in it is found readable (`checkpoint_problems`):
    `latest` is the newest such checkpoint, skipping (and naming) newer ones a stopped or killed save left
    incomplete."""
    if args.resume_from is None:
        return None
    checkpoints = Path(args.output_dir) / CHECKPOINTS_DIR
    afresh = "afresh without --resume-from (--overwrite-output-dir)."
    if args.resume_from == "latest":
        found = checkpoints_in(args.output_dir)
        if not found:
            raise FileNotFoundError(
                f"resume_from='latest' but {checkpoints} holds no checkpoint; start "
                "without --resume-from, or point --resume-from at a checkpoint folder."
            )
        skipped = []
        for folder in reversed(found):
            problems = checkpoint_problems(folder, accelerator)
            if not problems:
                if skipped and accelerator.is_main_process:
                    logger.warning(
                        f"--resume-from latest: {'; '.join(skipped)}; resuming from {folder.name}, the newest complete "
                        "checkpoint."
                    )
                return folder
            skipped.append(f"{folder.name} is incomplete ({'; '.join(problems)})")
        raise ValueError(f"No checkpoint in {checkpoints} can be resumed: {'; '.join(skipped)}. Start {afresh}")
    path = Path(args.resume_from)
    if not path.exists():
        raise FileNotFoundError(
            f"--resume-from {str(path)!r} does not exist; give a checkpoint folder "
            f"({checkpoints / (CHECKPOINT_PREFIX + 'N')}), or 'latest' for the newest one there."
        )
    if not (path / _PROGRESS_FILE).is_file():
        raise FileNotFoundError(
            f"{path} is not a pre-training checkpoint (no {_PROGRESS_FILE} from Accelerator.save_state); "
            f"checkpoints are the folders {checkpoints / (CHECKPOINT_PREFIX + 'N')}."
        )
    problems = checkpoint_problems(path, accelerator)
    if problems:
        raise ValueError(
            f"The checkpoint {path} cannot be resumed: {'; '.join(problems)}. Resume from an earlier "
            f"{CHECKPOINT_PREFIX}N of the run (in {path.parent}), or start {afresh}"
        )
    return path


def checkpoint_problems(folder: Path, accelerator: Accelerator) -> list[str]:
    """What keeps `folder` from an exact resume, one line per state file `Accelerator.load_state` would read that is
    missing, empty or unreadable (a save cut short, a full disk, a copy left half-done); empty when none.

    Accelerate reads a damaged file with a traceback from deep inside torch or safetensors, and a missing or damaged
    RNG state without a word, which would continue the run inexactly. Its torch files are read here with
    `weights_only=True` (what `load_state` does for all but the progress file, which it unpickles in full): one that
    holds more than saved state is refused before that.
    """
    from accelerate.utils import load
    from accelerate.utils.constants import OPTIMIZER_NAME, RNG_STATE_NAME, SCALER_NAME, SCHEDULER_NAME

    torch_files = [f"{OPTIMIZER_NAME}.bin", f"{SCHEDULER_NAME}.bin", _PROGRESS_FILE]
    # one random state per process of the run that wrote it: a checkpoint of another process count is whole (its
    # resume is refused by `check_resumable`, naming the count), not "incomplete" with advice to start afresh
    processes = _recorded_processes(folder) or accelerator.num_processes
    torch_files += [f"{RNG_STATE_NAME}_{index}.pkl" for index in range(processes)]
    if accelerator.scaler is not None:  # fp16's loss scale
        torch_files.append(SCALER_NAME)
    problems = []
    for name in [SAFE_WEIGHTS_NAME, *torch_files, RUN_SETTINGS_FILE]:
        path = folder / name
        if not path.is_file():
            if name != RUN_SETTINGS_FILE:  # written beside checkpoints since `check_resumable` exists
                missing = "without it the run would not continue exactly" if name.startswith(RNG_STATE_NAME) else ""
                problems.append(f"{name} is missing" + (f" ({missing})" if missing else ""))
            continue
        if path.stat().st_size == 0:
            problems.append(f"{name} is empty")
            continue
        try:
            if name == SAFE_WEIGHTS_NAME:
                from safetensors import safe_open

                with safe_open(path, framework="pt") as weights:
                    for key in weights.keys():
                        weights.get_slice(key)
            elif name == RUN_SETTINGS_FILE:
                read_json_object(path, "")
            else:
                load(path, map_location="cpu")
        except Exception:  # safetensors', json's, torch's and the unpickler's many kinds, which all say the same here
            problems.append(f"{name} is cut short or damaged")
    return problems


def _recorded_processes(folder: Path) -> int | None:
    """The process count `RUN_SETTINGS_FILE` records for the run that wrote `folder`; None without a readable one."""
    try:
        processes = json.loads((folder / RUN_SETTINGS_FILE).read_text(encoding="utf-8")).get("num_processes")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None
    return processes if isinstance(processes, int) and not isinstance(processes, bool) and processes > 0 else None


def resume_settings(args: PretrainArguments, num_processes: int) -> dict[str, Any]:
    """The settings an exact resume repeats, JSON-ready (with the process count: it shards the batches, and, for a
    dataset on disk, which files it holds: `dataset_files`, None for a registered set or a Hub id, which a folder of
    that name, put there later, would shadow)."""
    values = asdict(args)
    settings = {**{key: values[key] for key in RESUME_SETTINGS}, "num_processes": num_processes}
    settings[DATASET_FILES] = dataset_files_digest(args.dataset)
    return json.loads(json.dumps(settings, default=str))


# The settings a launch's environment gives when the command is not given them (`pretrain._accelerator`).
LAUNCH_SETTINGS = {"mixed_precision": LAUNCH_PRECISION, "gradient_accumulation_steps": LAUNCH_ACCUMULATION}
# The key of `resume_settings` that records the files of a dataset on disk.
DATASET_FILES = "dataset_files"


def _is_cache(file: Path) -> bool:
    return file.name.startswith(("cache-", "tmp")) and file.suffix == ".arrow" or file.name.startswith(".")


def dataset_files_digest(dataset: str | os.PathLike | None, legacy: bool = False) -> str | None:
    """A digest of the files under a dataset on disk (a folder of recordings, a `save_to_disk` folder, one file): each
    one's path within it and size; None for a registered name or a Hub id. A resume on a folder that gained, lost or
    resized files since the run would continue on other windows (and other held-out files) without a word.

    The files are listed as the data layer lists a folder to read it (`data.listings.files_under`: a symlinked subject
    folder followed, hidden files left out). `legacy`: listed with `Path.rglob` instead, as runs recorded it before,
    which does not descend into a symlinked folder, so a file changed in one went unnoticed (`check_resumable` still
    accepts such a run's digest)."""
    if dataset is None:
        return None
    path = Path(str(dataset)).expanduser()
    if not path.exists():
        return None
    if path.is_file():
        return _files_digest(path, [path])
    return _files_digest(path, _legacy_files(path) if legacy else _listed_files(files_under(path)))


def _legacy_files(path: Path) -> list[Path]:
    """The files under the folder `path` as an earlier citrus-hf listed them for `dataset_files_digest` (`Path.rglob`:
    hidden folders' files and "__" names counted, symlinked folders not entered)."""
    return _listed_files(path.rglob("*"))


def _listed_files(listed) -> list[Path]:
    """The files of a listing that `dataset_files_digest` counts, sorted."""
    # (`datasets` writes the caches of its maps, `cache-*.arrow`, into a `save_to_disk` folder: not the data's files)
    return sorted(f for f in listed if f.is_file() and not _is_cache(f))


def _files_digest(path: Path, files: list[Path]) -> str:
    """`dataset_files_digest` of the dataset `path`, a folder of which `files` are the files counted (or one file,
    itself): each one's path within it and size."""
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path) if file != path else file.name}:{file.stat().st_size};".encode())
    return digest.hexdigest()[:16]


# How long before the checkpoint a change is still taken as after it (`_read_files_untouched_since`): FAT stamps a
# file to the 2 s below its write, HFS+, ext3 and many NFS servers to the second, and an NFS server stamps by its own
# clock, while the checkpoint's settings may lie on a disk that stamps to the nanosecond. A change that late is no
# edit a run's data gets before its first checkpoint.
_TIMESTAMP_SLACK_NS = 2_000_000_000


def _read_files_untouched_since(dataset: Path, moment_ns: int) -> bool:
    """Whether no file or folder under the dataset folder `dataset` that a run reads (`files_under`'s walk:
    `listings.folders_and_files_under`), nor a link on the way to it, was written or changed at or after `moment_ns`
    (ns since the epoch), less `_TIMESTAMP_SLACK_NS`: a file added, removed or resized changes its own or its
    folder's modification time. False for a single file or anything unreadable (the digest decides)."""
    if not dataset.is_dir():
        return False
    # (a change within a coarse file system's tick, or a server clock's lag, of the checkpoint's is taken as after it)
    latest_ns = moment_ns - _TIMESTAMP_SLACK_NS
    absolute = Path(os.path.abspath(dataset))
    # --dataset a link (or a folder above it one): pointed at another folder since, it names other recordings, all
    # of whose times may be older than the checkpoint, while the folder that holds the link is not walked
    links = [path for path in (absolute, *absolute.parents) if path.is_symlink()]
    folders, files = folders_and_files_under(dataset)
    try:
        return not any(_changed_ns(os.lstat(link)) >= latest_ns for link in links) and not any(
            _changed_ns(os.stat(entry)) >= latest_ns for entry in (*folders, *files)
        )
    except OSError:
        return False


def _changed_ns(status: os.stat_result) -> int:
    """When a file's content (mtime) or its entry (ctime: renamed, its times set back by a copy that keeps them) last
    changed, in ns since the epoch."""
    return max(status.st_mtime_ns, status.st_ctime_ns)


def run_environment() -> dict[str, Any]:
    """What a run's results depend on beyond its settings, recorded in its summary and checkpoints: the torch version
    and thread count (the backward pass's parallel sums round differently with another count)."""
    return {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}


def check_resumable(resume_dir: Path, args: PretrainArguments, num_processes: int, warn: bool = True) -> float | None:
    """Refuse a resume whose settings differ from those of the run that wrote the checkpoint (recorded beside it since
    this check exists): its batches, model or schedule would differ from the uninterrupted run's.

    One exception: a lower `--learning-rate`, the way on after a run stopped by a NaN loss (its message advises it);
    the run's learning rate is then returned, for `lower_learning_rate`, with a warning when `warn` (the run trains
    from there at the lower rate, and its records give that one). Otherwise None.

    A resume with another torch thread count or version (`run_environment`) is allowed, with a warning when `warn`:
    it continues the same run, but no longer bit for bit.

    A run on a dataset on disk (its files' digest recorded) is refused where the same --dataset names nothing on disk
    now: its files cannot be compared. A run on a registered set or a Hub id (its digest recorded as None) is refused
    where the same --dataset names a path on disk now, which the data layer would read instead. A digest an earlier
    citrus-hf took (`dataset_files_digest(legacy=True)`) counted the files of hidden folders too (.git/,
    .ipynb_checkpoints/), which no run reads: where it no longer matches but nothing a run reads changed after the
    checkpoint was written (`_read_files_untouched_since`), the resume goes on, with a warning when `warn`; where
    something did, the refusal names the hidden entries written since (`_hidden_entries_since`).

    A checkpoint of an earlier citrus-hf, written before `RUN_SETTINGS_FILE`, is checked against the `arguments` its
    run's summary records (`_run_settings_of_earlier_run`); without a summary, the resume is allowed with a warning."""
    recorded_file = resume_dir / RUN_SETTINGS_FILE
    recorded_in = f"The checkpoint {resume_dir} was written by a run"
    if recorded_file.is_file():
        recorded = read_json_object(recorded_file, "")  # `checkpoint_problems` has found it a JSON object
    else:
        recorded = _run_settings_of_earlier_run(resume_dir)
        if recorded is None:
            if warn:
                logger.warning(
                    f"The checkpoint {resume_dir} was written by an earlier citrus-hf, which kept no {RUN_SETTINGS_FILE} "
                    f"beside it, and its run left no {SUMMARY_FILE}: whether this resume repeats the run's settings "
                    "(data, model, schedule, seed) cannot be checked. Resume with the settings the run was started "
                    "with, or the run goes on as another one."
                )
            return None
        recorded_in = (
            f"The checkpoint {resume_dir} was written by a run of an earlier citrus-hf (no {RUN_SETTINGS_FILE}; its "
            f"{SUMMARY_FILE} records the settings)"
        )
    current = resume_settings(args, num_processes)
    files, now = recorded.get(DATASET_FILES), current[DATASET_FILES]
    same_dataset = recorded.get("dataset") == current["dataset"]
    if same_dataset and files is not None and now is None:
        # the run read a dataset on disk that is not there now: its files cannot be compared, and the same text may
        # now name a registered set or a Hub id (a relative folder resumed from another working directory)
        raise ValueError(f"{recorded_in} on the dataset on disk --dataset {args.dataset!r}, {_no_longer_there(args)}")
    if same_dataset and DATASET_FILES in recorded and files is None and now is not None:
        # the run read a registered set or a Hub dataset, and the data layer reads a path on disk before a name: the
        # resume would read what was put there since. (Only where the digest is recorded as None: the first citrus-hf
        # to write RUN_SETTINGS_FILE recorded no digest, for a folder either, and those after it, until None was
        # recorded, no key for a name: a run without the key may have read the folder, and is not refused here.)
        shadow = Path(os.path.abspath(Path(str(args.dataset)).expanduser()))
        kind = "folder" if shadow.is_dir() else "file"
        raise ValueError(
            f"{recorded_in} on the registered set or Hub dataset --dataset {args.dataset!r}, and a {kind} of that name "
            f"is there now ({shadow}), which the resume would read instead (a path on disk is read before a name): "
            f"resume from another working directory, or rename the {kind}."
        )
    legacy = None if files in (None, now) else dataset_files_digest(args.dataset, legacy=True)
    hidden_since = ""
    if legacy is not None and files == legacy:
        # a run recorded before the listing followed symlinked folders: the same files, listed the old way (without
        # this, every such run's resume was refused as one whose files had changed)
        current[DATASET_FILES] = files
    elif legacy not in (None, now) and recorded_file.is_file():  # the old listing sees files no run reads
        dataset, checkpointed_ns = Path(str(args.dataset)).expanduser(), recorded_file.stat().st_mtime_ns
        if _read_files_untouched_since(dataset, checkpointed_ns):
            # the old listing counted the files of hidden folders too (.git/, whose index a `git status` rewrites,
            # .ipynb_checkpoints/), which no run reads: what changed since lies there alone
            if warn:
                logger.warning(
                    f"The run that wrote {resume_dir} recorded the files under --dataset as an earlier citrus-hf "
                    "listed them, hidden folders (.git/, .ipynb_checkpoints/, __MACOSX/) included; those changed "
                    "since, but no file or folder a run reads was written, added or removed after the checkpoint: "
                    "resuming on the same recordings."
                )
            current[DATASET_FILES] = files
        else:
            hidden_since = _hidden_entries_since(dataset, checkpointed_ns, files)
    lowered = (
        isinstance(recorded.get("learning_rate"), (int, float))
        and 0 < current["learning_rate"] < recorded["learning_rate"]
    )
    differences = [
        _difference(key, current[key], recorded[key], hidden_since)
        for key in current
        if key in recorded
        and recorded[key] != current[key]
        and not (key == "learning_rate" and lowered)
        and not (key == DATASET_FILES and not same_dataset)  # (another dataset's files: named as --dataset)
    ]
    if differences:
        raise ValueError(
            f"{recorded_in} with other settings: {'; '.join(differences)}. Resume "
            "with the run's settings (an exact continuation; only a lower --learning-rate may differ), or start a new "
            "--output-dir."
        )
    if lowered and warn:
        logger.warning(
            f"Resuming {resume_dir} at --learning-rate {current['learning_rate']:g}, lower than the run's "
            f"{recorded['learning_rate']:g}: its schedule goes on from the checkpoint's step scaled to the lower peak "
            "(no longer the uninterrupted run), and the run's records give the lower rate."
        )
    environment = run_environment()
    changed = [
        f"{key.replace('_', ' ')} {environment[key]} (the run: {recorded[key]})"
        for key in environment
        if key in recorded and recorded[key] != environment[key]
    ]
    if changed and warn:
        logger.warning(
            f"Resuming {resume_dir} with {' and '.join(changed)}: the resumed run is then not bit-identical to an "
            "uninterrupted one (sums round differently); resume with the run's thread count (OMP_NUM_THREADS) and torch "
            "version to keep it exact."
        )
    return float(recorded["learning_rate"]) if lowered else None


def _no_longer_there(args: PretrainArguments) -> str:
    """The end of `check_resumable`'s refusal of a dataset on disk that is gone: where it was looked for (a relative
    path, in the working directory, which a resume from another one changes) and what to do."""
    given = str(args.dataset)
    path = Path(given).expanduser()
    if path.is_absolute():  # (no working directory changes where it is: `~/data`'s home named when it is used)
        return (
            f"which is no longer there{f' ({path})' if str(path) != given else ''}: put its files back there, or start "
            "a new --output-dir."
        )
    return (
        f"which is no longer there (relative to {os.getcwd()}): put its files back there (or resume from the working "
        "directory the run was started in), or start a new --output-dir."
    )


# How many hidden entries `_hidden_entries_since` names before it counts the rest.
_HIDDEN_NAMED = 3


def _hidden_entries_since(dataset: Path, moment_ns: int, recorded: str) -> str:
    """For `check_resumable`'s refusal of a run whose files' digest an earlier citrus-hf took (`recorded`,
    `dataset_files_digest(legacy=True)`), which counted hidden folders' files, on the dataset folder `dataset`, where
    something a run reads was written at or after `moment_ns` (`_read_files_untouched_since`): the hidden entries
    (`listings.is_hidden_name`) written then in the folders a run reads (a `.DS_Store`, an `.ipynb_checkpoints/`,
    whose writing dates their folder as a recording added or removed would), a few named; and, where leaving them
    out gives `recorded` back, that deleting them resumes. Empty where there are none."""
    latest_ns = moment_ns - _TIMESTAMP_SLACK_NS
    hidden = []
    for folder in folders_and_files_under(dataset)[0]:
        try:
            entries = list(os.scandir(folder))
            hidden += [
                folder / entry.name
                for entry in entries
                if is_hidden_name(entry.name) and _changed_ns(entry.stat(follow_symlinks=False)) >= latest_ns
            ]
        except OSError:  # (gone or unreadable since the walk: nothing to name)
            continue
    if not hidden:
        return ""
    named = sorted(str(path.relative_to(dataset)) for path in hidden)
    shown = ", ".join(named[:_HIDDEN_NAMED]) + (
        f" and {len(named) - _HIDDEN_NAMED} more" if len(named) > _HIDDEN_NAMED else ""
    )
    note = (
        f"; hidden entries were written after the checkpoint in folders a run reads: {shown}; the run's record of the "
        "files, taken by an earlier citrus-hf, counted hidden folders' files"
    )
    kept = [file for file in _legacy_files(dataset) if not any(file == h or h in file.parents for h in hidden)]
    if _files_digest(dataset, kept) == recorded:
        return f"{note}: delete them if they are the only change (the files then match that record)"
    # (other files differ too: a recording, or a hidden folder's older files, such as a rewritten .git/index)
    return f"{note}, but more changed: deleting them would not make the files match it"


def _difference(key: str, value: Any, recorded: Any, files_note: str = "") -> str:
    """How `check_resumable` names a setting `key` that is `value` in this resume and was `recorded` in the run: as
    its option, as the variable of the launch's environment that set it (an ACCELERATE_* left in the shell from
    another job is not an option the user gave), or, for the process count, with the launch that repeats the run's.
    `files_note`: what else to say of the files under --dataset (`_hidden_entries_since`)."""
    if key == DATASET_FILES:
        return f"the files under --dataset (some were added, removed or resized since the run{files_note})"
    if key == "num_processes":
        if recorded == 1:
            launch = "without accelerate launch"
        elif torch.cuda.is_available():
            launch = f"accelerate launch --num_processes {recorded} -m citrus_hf.commands pretrain ..."
        else:  # (accelerate's --cpu starts several processes only through mpirun)
            launch = cpu_launch("pretrain", recorded)
        return (
            f"processes {value!r} (the run: {recorded!r}; launch {recorded} process{'es' * (recorded != 1)}: {launch})"
        )
    variable = LAUNCH_SETTINGS.get(key)
    launched = os.environ.get(variable, "").strip().lower() if variable else ""
    source = f"{variable}={launched} in the environment; " if launched and launched == str(value).lower() else ""
    return f"--{key.replace('_', '-')} {value!r} ({source}the run: {recorded!r})"


def _run_settings_of_earlier_run(resume_dir: Path) -> dict[str, Any] | None:
    """The settings (`resume_settings`'s keys, those recorded) of the run that wrote `resume_dir`, a checkpoint of an
    earlier citrus-hf without `RUN_SETTINGS_FILE`, as the `arguments` and `environment` of its run's summary record
    them: `<output_dir>/SUMMARY_FILE`, which every version wrote when a run ended. None without such a summary (a
    checkpoint outside its run's `CHECKPOINTS_DIR`, a run killed before it ended)."""
    if resume_dir.parent.name != CHECKPOINTS_DIR:
        return None
    path = resume_dir.parent.parent / SUMMARY_FILE
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    arguments = summary.get("arguments") if isinstance(summary, dict) else None
    if not isinstance(arguments, dict):
        return None
    environment = summary.get("environment")
    # JSON's values, as `resume_settings` gives them
    recorded = json.loads(json.dumps({key: arguments[key] for key in RESUME_SETTINGS if key in arguments}))
    return {**recorded, **(environment if isinstance(environment, dict) else {})}


def lower_learning_rate(optimizer, scheduler, run_learning_rate: float, learning_rate: float) -> None:
    """Scale a resumed run's optimizer and schedule (Accelerate's or torch's, its state just loaded from a checkpoint
    of peak `run_learning_rate`) to the peak `learning_rate`: the schedule's base rates and every parameter group's
    current rate, so the schedule goes on from its step at the lower peak (`check_resumable` allows it)."""
    factor = learning_rate / run_learning_rate
    schedule = getattr(scheduler, "scheduler", scheduler)  # Accelerate's wrapper holds torch's
    schedule.base_lrs = [rate * factor for rate in schedule.base_lrs]
    for group in optimizer.param_groups:
        group["lr"] *= factor
        if "initial_lr" in group:
            group["initial_lr"] *= factor
    schedule._last_lr = [group["lr"] for group in optimizer.param_groups]


__all__ = [
    "CHECKPOINTS_DIR",
    "CHECKPOINT_PREFIX",
    "RESUME_SETTINGS",
    "RUN_SETTINGS_FILE",
    "SCHEDULE_SETTINGS",
    "SUMMARY_FILE",
    "check_resumable",
    "checkpoint_step",
    "checkpoint_problems",
    "checkpoints_in",
    "lower_learning_rate",
    "resolve_resume",
    "resume_settings",
    "run_environment",
]
