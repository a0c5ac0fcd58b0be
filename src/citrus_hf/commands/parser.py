"""The parser every `citrus` command is built with: transformers' `HfArgumentParser` over the command's dataclass, so
each option is defined once (the dataclass field, its help in `metadata["help"]`) and `--help` shows its default.

On top of `HfArgumentParser`:

- a field whose type is a dataclass (`FinetuneArguments.trainer`) contributes its fields as options of their own
  group (`metadata["exclude"]` names the ones a command sets itself), and is rebuilt from them;
- a `dict` field takes `KEY=VALUE` pairs (`--config-overrides d_model=128 cnn_channels=[8,16]`): values are read as
  JSON when they can be, as text otherwise; a `dict[str, list]` value is split at commas (`hr_ecg=5,20,all`) and a
  `dict[str, dict]` key names both levels (`hr_ecg:window_seconds=10`), a `dict[str, float]` value must be a number.
  Pairs update the field's default. A field that is a number or such a dict (`float | dict[str, float]`) takes one
  number or the pairs (`--sampling-rate 250`, `--sampling-rate my_set=250 other=100`). `metadata["dataset_keys"]`
  marks a field whose keys name datasets, paths that may hold `=` (`runs/fs=100=250`) and whose values never do:
  its pairs are split at the last `=`; a `NAME:KEY=VALUE` name ends at the first `:KEY=` (`runs/fs=100:x=5`);
- `metadata["positional"]` makes a field a positional argument (a `list` field takes one value or more);
- `metadata["choices"]` and `metadata["help"]` may be functions, called when the parser is built: a registry's names
  (`--recipe`, `--arms`) then include those a user's script registered before building it;
- settings can come from a JSON or YAML file, `citrus <command> config.yaml`, `--config config.yaml` or
  `--config=config.yaml`; options given on the command line override the file's. Where the first positional argument
  may be a data file (`metadata["data_files"]`: `citrus data info train.json`), a JSON file given first is the
  settings file only when it holds settings of the command (an object whose keys all name them, or that has no
  `input_values` and names one besides `sampling_rate`: a misspelt key is then refused as one);
- a value that starts with `~` (`--output-dir ~/runs/har`, `output_dir: ~/runs/har` in a settings file, which no shell
  expands) is expanded to the home folder once, here, so every command reads and writes the same folder
  (transformers' `TrainingArguments` expands `output_dir` so); no Hub id, preset or registered name starts with `~`;
- long options are never abbreviated (`allow_abbrev=False`, as Accelerate's parsers): `--model` is not taken for
  `--model-config`, and a later option cannot change what an old command line means;
- positional arguments may stand on both sides of options (`citrus predict MODEL a.npy --sampling-rate 100 b.npy`:
  argparse's intermixed parsing; plain parsing took `b.npy` for an unrecognized argument); an option of several
  values given twice is refused (argparse kept the last);
- a boolean flag takes a value only when one follows (`--private`, `--private false`), so a flag before a positional
  argument does not swallow it (`citrus push --private runs/har me/citrus-har`);
- `given` names the settings the command line or the settings file gave (a command leaves a setting that Accelerate
  can also set unset when neither gave it: `citrus pretrain --mixed-precision`);
- a usage error raises `UsageError`, which `citrus` prints as one line. An option spelt as transformers or Accelerate
  spell theirs (`--learning_rate`, `--per_device_train_batch_size`, `--bf16`) is refused with this command's spelling,
  and an unknown option with the closest one; a setting written `KEY=VALUE` where an argument stands (Hydra's
  `max_steps=2`) with the option that takes it (`--max-steps 2`);
- a value such as `-1e2` is a number, not an option (Python 3.13's test, which argparse before it lacked).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import json
import logging
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

from transformers import HfArgumentParser
from transformers.hf_argparser import string_to_bool

from . import UsageError

logger = logging.getLogger(__name__)

CONFIG_SUFFIXES = (".json", ".yaml", ".yml")


def parse_value(text: str) -> Any:
    """A `KEY=VALUE` value: JSON when it parses (`128`, `[8,16]`, `true`), else the text itself."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class _KeyValues(argparse.Action):
    """`--name KEY=VALUE [KEY=VALUE ...]` into a dict that starts from the option's default; with `scalar_type`
    (a field that is a number or a dict of them), also `--name VALUE`, one value for all."""

    def __init__(
        self,
        option_strings,
        dest,
        value_type: Any = Any,
        scalar_type: type | None = None,
        metavar: str | None = None,
        dataset_keys: bool = False,
        **kwargs,
    ):
        self.value_type = value_type
        self.scalar_type = scalar_type
        self.dataset_keys = dataset_keys
        super().__init__(option_strings, dest, nargs="+", metavar=metavar or "KEY=VALUE", **kwargs)

    def _expected(self) -> str:
        if self.scalar_type is None:
            return "KEY=VALUE pairs"
        return f"one {_TYPE_WORDS.get(self.scalar_type, self.scalar_type.__name__)} or KEY=VALUE pairs"

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, self.read(values, getattr(namespace, self.dest, None)))

    def read(self, values: Sequence[str], current: Any) -> Any:
        """The option's value after `values` (its arguments) on top of `current` (its value so far)."""
        if self.scalar_type is not None and len(values) == 1 and "=" not in values[0]:
            return self.convert(values[0], self.scalar_type, values[0])
        result = copy.deepcopy(current) if isinstance(current, dict) else {}  # pairs replace a single value
        origin = get_origin(self.value_type)
        nested = origin is dict or self.value_type is dict
        for item in values:
            if nested:
                # the name is a dataset, whose path may hold ":" or "=" (`runs/fs=100`, `C:/sets/ecg`), and the value
                # may hold both (a path, JSON): the name ends at the first ":" that a KEY= follows
                match = _NESTED_PAIR.fullmatch(item)
                if match is None:
                    raise argparse.ArgumentError(self, f"expects NAME:KEY=VALUE pairs, got {item!r}")
                outer, inner, text = match.groups()
                result.setdefault(outer, {})[inner] = parse_value(text)
                continue
            # a key that names a dataset may hold "=" (a hydra-style folder `runs/fs=100`) and such a value (a rate,
            # a split name, a choice) never does; other keys are names without "=" and their values may hold one
            key, separator, text = item.rpartition("=") if self.dataset_keys else item.partition("=")
            if not separator or not key:
                # numbers where one is taken (`--sampling-rate 100 250`): the error showed the first alone, a number,
                # as if that were not one (a number among pairs is shown alone: it is the one out of place)
                several = self.scalar_type is not None and not any("=" in value for value in values)
                given = " ".join(values) if several else item
                raise argparse.ArgumentError(self, f"expects {self._expected()}, got {given!r}")
            if origin is list:
                result[key] = [part.strip() for part in text.split(",") if part.strip()]
            elif self.value_type is str:
                result[key] = text
            elif self.value_type in _TYPE_WORDS:
                result[key] = self.convert(text, self.value_type, item)
            else:
                result[key] = parse_value(text)
        return result

    def convert(self, text: str, value_type: type, item: str) -> Any:
        """`text` as `value_type` (a number), or the option's usage error naming `item`."""
        try:
            return value_type(text)
        except ValueError:
            raise argparse.ArgumentError(
                self, f"invalid {_TYPE_WORDS[value_type]} {item!r} (expects {self._expected()})"
            ) from None


# `NAME:KEY=VALUE`: the name up to the first ":" that a key (no ":" or "=") and its "=" follow.
_NESTED_PAIR = re.compile(r"(.+?):([^:=]+)=(.*)", re.DOTALL)

# The value types of `KEY=VALUE` pairs (and single values) that are converted, and what errors call them.
_TYPE_WORDS = {float: "number", int: "integer"}

# An OmegaConf / Hydra interpolation (`${root}/run`, `${oc.env:HOME}`) in a settings file: YAML reads it as text.
_INTERPOLATION = re.compile(r"\$\{[^}]*\}")


class _DashedOptions:
    """Hands `HfArgumentParser`'s options to `parser` with their dashed names only (`--output-dir`, not also
    `--output_dir`): one spelling for every option of every command."""

    def __init__(self, parser):
        self.parser = parser

    def add_argument(self, *names, **kwargs):
        dashed = [name for name in names if not (name.startswith("--") and "_" in name)]
        if kwargs.get("action") == "store_false":  # HfArgumentParser's `--no-x` of a boolean `x` that defaults to True
            kwargs["help"] = f"set --{kwargs['dest'].replace('_', '-')} false"
        return self.parser.add_argument(*(dashed or names), **kwargs)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless it is required, has none, or its help says what it is ("default: ...")."""

    def _get_help_string(self, action):
        if (
            action.required
            or action.default is None
            or isinstance(action, argparse._StoreFalseAction)
            or "default: " in (action.help or "")
        ):
            return action.help
        return super()._get_help_string(action)


# Options of transformers (`TrainingArguments`, its example scripts) that a command spells otherwise: their name with
# underscores -> (this package's field, the value that field takes for it, or None). Spelling with underscores alone
# (`--learning_rate`, `--max_steps`) needs no entry: the dashed spelling is suggested.
_OTHER_NAMES: dict[str, tuple[str, str | None]] = {
    "per_device_train_batch_size": ("per_device_batch_size", None),
    "per_device_eval_batch_size": ("per_device_batch_size", None),
    "bf16": ("mixed_precision", "bf16"),
    "fp16": ("mixed_precision", "fp16"),
    "warmup_ratio": ("warmup_steps", None),
    "resume_from_checkpoint": ("resume_from", None),
    "dataloader_num_workers": ("num_workers", None),
    "model_name_or_path": ("model", None),
    "dataset_name": ("dataset", None),
    "disable_tqdm": ("show_progress", "false"),
}
# TrainingArguments' publishing options, which a training command here does not take: `citrus push` publishes a run's
# folder (with its model card) once it is written.
_PUBLISHING_NAMES = frozenset(
    ("push_to_hub", "hub_model_id", "hub_token", "hub_private_repo", "hub_strategy", "hub_always_push", "hub_revision")
)
# Other spellings a user tries (a short name, another command's option): their name with underscores -> this package's
# fields that may be meant, each with what it takes; a command names those of them it has.
_NEAR_NAMES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "lr": (("learning_rate", None),),
    "model": (
        ("checkpoints", "ARM=CHECKPOINT evaluates a pre-trained checkpoint as that arm"),
        ("model_config", "the model's settings only: its weights start afresh"),
    ),
}


# What argparse reads as a negative number rather than an option: Python 3.13's test (a dash, then a digit or a point
# and a digit), which takes scientific notation too, and the words `float` reads (`-inf`, `-infinity`, `-nan`, any
# case), so that `--sampling-rate -inf` is refused naming the rate, as `-1e309` is, not with "expected one argument".
NEGATIVE_NUMBER = re.compile(r"-(?:\.?\d|(?:inf|infinity|nan)$)", re.IGNORECASE)

# The destination of `--recipe NAME` (a command's named sets of settings), apart from any field of the settings.
NAMED_RECIPE = "named_recipe"


def _default_of(field: dataclasses.Field) -> Any:
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


class CommandParser(HfArgumentParser):
    """The parser of one `citrus` command: `CommandParser(FinetuneArguments, prog="citrus finetune").parse(argv)`
    returns a `FinetuneArguments`."""

    def __init__(
        self,
        dataclass_type: type,
        *,
        prog: str,
        description: str | None = None,
        recipes: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        """`recipes`: named sets of settings (`PRETRAIN_RECIPES`) that `--recipe NAME` starts from."""
        self.arguments_type = dataclass_type
        self.given: set[str] = set()  # after `parse`: the fields the command line, the file or the recipe set
        # parent field -> (its dataclass, its default value, names the command line does not set)
        self.nested: dict[str, tuple[type, Any, tuple[str, ...]]] = {}
        self.recipes = dict(recipes or {})
        # whether a positional argument may be a data file, which a `.json` given first may then be
        self.positional_data_files = any(
            f.metadata.get("positional") and f.metadata.get("data_files") for f in dataclasses.fields(dataclass_type)
        )
        super().__init__(None, prog=prog, description=description, formatter_class=_HelpFormatter, allow_abbrev=False)
        # a value such as -1e2 or -1.5E-3 is a number, not an option: argparse before Python 3.13 took only -100 and
        # -1.5 for one, so `--sampling-rate -1e2` failed with "expected one argument" instead of naming the rate
        self._negative_number_matcher = NEGATIVE_NUMBER
        self._add_fields(dataclass_type)
        self.add_argument(
            "--config",
            metavar="FILE",
            help=f"JSON or YAML file of settings (also as the first argument: `{prog} config.yaml`); options on the "
            "command line override the file's",
        )
        if self.recipes:  # (a command whose settings have a `recipe` field of their own cannot take named recipes)
            self.add_argument(
                "--recipe",
                dest=NAMED_RECIPE,
                metavar="NAME",
                help=f"start from a named recipe's settings ({', '.join(self.recipes)}); a settings file and options "
                "on the command line override them",
            )

    def error(self, message: str):
        if message.startswith("the following arguments are required: "):
            message += self._swallowed_positionals(message.split(": ", 1)[1])
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")

    def _swallowed_positionals(self, missing: str) -> str:
        """Why positional arguments that were given are missing: an option that takes several values takes every
        argument up to the next option (`citrus predict --channels 0 1 MODEL REC` gives --channels four values).
        The hint names that option and the fix, or is empty; `missing`: argparse's list of the missing arguments."""
        argv = getattr(self, "_argv", [])
        argv = argv[: argv.index("--")] if "--" in argv else argv
        for index in range(len(argv) - 1, -1, -1):
            if argv[index].startswith("-"):
                action = self._option_string_actions.get(argv[index])
                if action is None or action.nargs not in ("+", "*") or index + 1 >= len(argv):
                    return ""
                option = argv[index]
                return (
                    f"; {option} took every argument after it: give the positional arguments before {option}, or end "
                    f"its values with -- ({option} VALUE... -- {missing.replace(',', '').upper()})"
                )
        return ""

    # ------------------------------------------------------------------------------------------------ spellings

    def _option(self, name: str) -> str | None:
        """The option of field `name` (`--per-device-batch-size`), None when this command has no such option."""
        option = f"--{name.replace('_', '-')}"
        return option if option in self._option_string_actions else None

    def _other_spelling(self, name: str, in_file: bool = False) -> str | None:
        """This command's spelling of `name` (an option, or a settings file's key when `in_file`) when it is another
        library's spelling of one of its options (`--max_steps`, `--per_device_train_batch_size`, `--bf16`)."""
        key = name.lstrip("-").replace("-", "_")
        if not in_file and self._option(key):  # `name` itself is no option (`--max_steps`)
            return f"options are spelt with dashes: {self._option(key)}"
        if key in _PUBLISHING_NAMES:
            return (
                f"{self.prog} does not publish: once it has written its output folder, `citrus push OUTPUT_DIR "
                "OWNER/NAME` uploads it with its model card"
            )
        field, value = _OTHER_NAMES.get(key, (None, None))
        if field is not None and self._option(field) is None and field in _NEAR_NAMES:
            key, field = field, None  # `--model_name_or_path` where there is no `--model`: as `--model`
        if field is None:
            near = [(self._option(f), what) for f, what in _NEAR_NAMES.get(key, ()) if self._option(f)]
            if not near:
                return None
            spelt = [option[2:].replace("-", "_") if in_file else option for option, _ in near]
            return "this command's: " + " or ".join(
                f"{name} ({what})" if what else name for name, (_, what) in zip(spelt, near)
            )
        if self._option(field) is None:
            return None
        if in_file:
            return f"transformers' name; this command's: {field}" + (f": {value}" if value else "")
        return f"transformers' name; this command's: {self._option(field)}" + (f" {value}" if value else "")

    def _refuse_other_spellings(self, argv: Sequence[str]) -> None:
        """Refuse options spelt as transformers or Accelerate spell theirs, naming this command's spelling: before
        argparse, whose first complaint may be a required option, not the misspelt one that gave it."""
        wrong: dict[str, list[str]] = {}  # hint -> the options it answers (`--push_to_hub`, `--hub_model_id`: one)
        for token in argv:
            if token == "--":
                break
            name = token.split("=", 1)[0]
            if name.startswith("--") and name not in self._option_string_actions:
                hint = self._other_spelling(name)
                if hint:
                    wrong.setdefault(hint, []).append(name)
        if wrong:
            answered = [", ".join(names) + f" ({hint})" for hint, names in wrong.items()]
            self.error(f"unrecognized arguments: {', '.join(answered)}")

    def _refuse_settings_as_pairs(self, argv: Sequence[str]) -> None:
        """Refuse a setting written `KEY=VALUE` where an argument stands (`max_steps=2`, `model=citrus-small`: Hydra's
        form, and some training scripts'), naming this command's spelling: it was refused as an unrecognized argument,
        or read as a recording or checkpoint named `max_steps=2`, with no word of `--max-steps 2`. Only a KEY that is
        one of this command's options or positional arguments, outside an option's values (`--config-overrides
        d_model=16`), and no existing path (`runs/fs=100`)."""
        wrong = []
        pending, inside = 0, False  # the values still to come of the option before: a count, or up to the next option
        for token in argv:
            if token == "--":
                break
            if token.startswith("-") and not self._negative_number_matcher.match(token):
                action = self._option_string_actions.get(token.split("=", 1)[0])
                if action is None or "=" in token:
                    pending, inside = 0, False
                elif action.nargs in ("+", "*"):
                    pending, inside = 0, True
                elif isinstance(action.nargs, int):  # (0: a flag)
                    pending, inside = action.nargs, False
                else:  # one value, or "?": a boolean without one was spelt `--flag=true` (`flags_before_positionals`)
                    pending, inside = 1, False
                continue
            if inside:
                continue
            if pending:
                pending -= 1
                continue
            key, equals, value = token.partition("=")
            name = key.lstrip("+").replace("-", "_")  # (Hydra's `+key=value` adds a key)
            if not equals or not name.isidentifier() or os.path.exists(token):
                continue
            if option := self._option(name):
                wrong.append(f"{token} (options are given as {option} {value})")
            elif any(not action.option_strings and action.dest == name for action in self._actions):
                wrong.append(f"{token} (give {name.upper()} without `{key}=`: {value})")
        if wrong:
            self.error(f"unrecognized arguments: {', '.join(wrong)}")

    def _refuse_repeated_lists(self, argv: Sequence[str]) -> None:
        """Refuse an option that takes several values given twice (`--channels 0 1 --channels 2`): argparse keeps the
        last, so the run used channel 2 alone and said nothing. (A `KEY=VALUE` option's pairs add up, and an option
        of one value given again replaces it, as a wrapper script that appends an override expects.)"""
        counts: dict[str, int] = {}
        for token in argv:
            if token == "--":
                break
            action = self._option_string_actions.get(token.split("=", 1)[0]) if token.startswith("--") else None
            if action is not None and action.nargs in ("+", "*") and not isinstance(action, _KeyValues):
                option = action.option_strings[0]
                counts[option] = counts.get(option, 0) + 1
        for option, count in counts.items():
            if count > 1:
                self.error(
                    f"argument {option}: given {count} times, and only the last would count: list all its values "
                    f"after one {option}"
                )

    def _unrecognized(self, extras: Sequence[str]) -> str:
        """argparse's "unrecognized arguments" message, with the closest option to each unknown one."""
        options = [option for option in self._option_string_actions if option.startswith("--")]
        words = []
        for token in extras:
            name = token.split("=", 1)[0]
            close = self._closest(name, options) if name.startswith("--") else None
            words.append(f"{token} (did you mean {close}?)" if close else token)
        return f"unrecognized arguments: {' '.join(words)}"

    def _closest(self, name: str, options: list[str]) -> str | None:
        """The option closest to the unknown `name`. For `--no-X` (asking to turn something off), the spelling that
        turns the option closest to `--X` off: its `--no-...` when it has one, else `--... false`, never the option
        that turns it on."""
        if name.startswith("--no-") and len(name) > len("--no-"):
            positive = [option for option in options if not option.startswith("--no-")]
            close = difflib.get_close_matches(f"--{name[len('--no-') :]}", positive, n=1)
            if close:
                negative = f"--no-{close[0][2:]}"
                if negative in self._option_string_actions:
                    return negative
                if self._option_string_actions[close[0]].type is string_to_bool:
                    return f"{close[0]} false"
        starting = [option for option in options if option.startswith(name)]
        if len(starting) == 1:  # the one option a shortened name could stand for (`--out`): named, never taken
            return starting[0]
        close = difflib.get_close_matches(name, options, n=1)
        return close[0] if close else None

    @staticmethod
    def _closest_setting(name: str, settings: list[str]) -> str | None:
        """`did you mean learning_rate?` for a settings file's misspelt key (`learnign_rate`), or None."""
        close = difflib.get_close_matches(name, settings, n=1)
        return f"did you mean {close[0]}?" if close else None

    def _given_on_command_line(self, argv: Sequence[str]) -> tuple[set[str], list[str]]:
        """The fields `argv` sets (argparse does not tell a default from a value given), and its unknown arguments:
        `argv` parsed with no defaults and nothing required, so that only the options given are in the result."""
        saved = [(action, action.default, action.required) for action in self._actions]
        try:
            for action in self._actions:
                action.default, action.required = argparse.SUPPRESS, False
            namespace, extras = super().parse_known_intermixed_args(list(argv))
        finally:
            for action, default, required in saved:
                action.default, action.required = default, required
        return set(vars(namespace)), extras

    # ------------------------------------------------------------------------------------------------ the options

    def _add_fields(self, dataclass_type: type) -> None:
        hints = get_type_hints(dataclass_type)
        for field in dataclasses.fields(dataclass_type):
            if not field.init:
                continue
            field_type = hints[field.name]
            if dataclasses.is_dataclass(field_type):
                default = _default_of(field)
                excluded = tuple(field.metadata.get("exclude", ()))
                self.nested[field.name] = (field_type, default, excluded)
                group = self.add_argument_group(field.metadata.get("help", field.name))
                nested_hints = get_type_hints(field_type)
                for nested in dataclasses.fields(field_type):
                    if nested.init and nested.name not in excluded:
                        self.add_field(group, nested, nested_hints[nested.name], getattr(default, nested.name))
            else:
                self.add_field(self, field, field_type)

    @classmethod
    def add_field(
        cls,
        parser,
        field: dataclasses.Field,
        field_type: Any,
        default: Any = dataclasses.MISSING,
        help: str | None = None,
    ) -> None:
        """Add the option of one dataclass field to `parser` (any argparse parser or group); `default` and `help`
        replace the field's own."""
        field = copy.copy(field)
        field.type = field_type
        if isinstance(default, (list, dict)):  # HfArgumentParser reads a list's default from its factory
            field.default, field.default_factory = dataclasses.MISSING, lambda: copy.deepcopy(default)
        elif default is not dataclasses.MISSING:
            field.default, field.default_factory = default, dataclasses.MISSING
        metadata = dict(field.metadata)
        metadata.pop("exclude", None)
        metadata.pop("data_files", None)
        dataset_keys = bool(metadata.pop("dataset_keys", False))
        if help is not None:
            metadata["help"] = help
        # a registry's names (as choices, or in the help), read now: after a script registered its own
        if callable(metadata.get("choices")):
            metadata["choices"] = tuple(metadata["choices"]())
        if callable(metadata.get("help")):
            metadata["help"] = metadata["help"]()
        if metadata.get("help"):
            # argparse formats help with `%`: a literal one ("50% overlap") crashed `--help` ("%o format: an integer
            # is required"); argparse's own placeholders (`%(default)s`) and escapes (`%%`) stay
            metadata["help"] = re.sub(r"%%|%(?!\()", "%%", metadata["help"])
        if metadata.pop("positional", False):
            kwargs = {"help": metadata.get("help"), "type": field_type if callable(field_type) else str}
            if get_origin(field_type) is list:  # one value or more (`citrus predict MODEL RECORDING...`)
                kwargs.update(nargs="+", type=(get_args(field_type) or (str,))[0])
            elif field.default is not dataclasses.MISSING:
                kwargs.update(nargs="?", default=field.default)
            parser.add_argument(field.name, **kwargs)
            return
        origin = get_origin(field_type)
        optional = type(None) in get_args(field_type)
        mapping = (
            field_type if origin is dict else next((a for a in get_args(field_type) if get_origin(a) is dict), None)
        )
        if mapping is not None:
            value_type = get_args(mapping)[1] if get_args(mapping) else Any
            # `float | dict[str, float]`: one number, or the pairs
            scalars = [a for a in get_args(field_type) if a is not mapping and a is not type(None)]
            scalar_type = scalars[0] if origin is not dict and len(scalars) == 1 and scalars[0] in _TYPE_WORDS else None
            parser.add_argument(
                f"--{field.name.replace('_', '-')}",
                action=_KeyValues,
                value_type=value_type,
                scalar_type=scalar_type,
                dataset_keys=dataset_keys,
                metavar=metadata.get("metavar"),
                dest=field.name,
                default=_default_of(field) if not optional or field.default is not None else None,
                help=metadata.get("help"),
            )
            return
        field.metadata = metadata
        cls._parse_dataclass_field(_DashedOptions(parser), field)

    # ------------------------------------------------------------------------------------------------ parsing

    def parse(self, argv: Sequence[str]):
        """Parse `argv` (after the command's name) into the command's dataclass."""
        argv = list(argv)
        config_files = []
        if argv and not argv[0].startswith("-") and argv[0].endswith(CONFIG_SUFFIXES) and self._settings_first(argv[0]):
            config_files.append(argv.pop(0))
        config_files += self._pop_values(argv, "--config")
        if len(config_files) > 1:
            self.error(f"one settings file, please: got {', '.join(config_files)}")
        recipes = self._pop_values(argv, "--recipe") if self.recipes else []
        if len(recipes) > 1:
            self.error(f"one recipe, please: got {', '.join(recipes)}")
        if recipes and recipes[0] not in self.recipes:
            self.error(f"argument --recipe: unknown recipe {recipes[0]!r}; recipes: {', '.join(self.recipes)}")
        argv = flags_before_positionals(self, argv)
        self._argv = argv  # for `error`'s hint on positional arguments an option took
        self._refuse_other_spellings(argv)
        self._refuse_settings_as_pairs(argv)
        self._refuse_repeated_lists(argv)
        options = argv[: argv.index("--")] if "--" in argv else argv
        if "-h" in options or "--help" in options:
            # here, not inside `_given_on_command_line`'s parse, which hides every default (each option's help
            # names its default)
            self.print_help()
            self.exit()
        # Unknown options first: a mistyped `--out` is the error to name, not the `--output-dir` it leaves missing.
        given, extras = self._given_on_command_line(argv)
        if extras:
            self.error(self._unrecognized(extras))
        self.given = set()
        self._restore_defaults()
        if recipes:  # the recipe first, then the settings file, then the command line: each overrides the one before
            self._apply_settings(self.recipes[recipes[0]], f"recipe {recipes[0]!r}")
        if config_files:
            self._apply_config_file(Path(os.path.expanduser(config_files[0])))
        parsed, _ = self.parse_known_intermixed_args(argv)  # the same `argv`: its unknown arguments were refused above
        self.given |= given
        namespace = vars(parsed)
        namespace.pop("config", None)
        namespace.pop(NAMED_RECIPE, None)
        return self._build({name: _expand_home(value) for name, value in namespace.items()})

    def _settings_first(self, path: str) -> bool:
        """Whether the first argument `path` (a `.json`, `.yaml` or `.yml` file) is a settings file. Where a positional
        argument may be a data file, a `.json` file is one only when it holds an object whose keys all name settings
        of the command: `citrus data info train.json` was read as settings ("must hold a mapping of settings")."""
        if not (self.positional_data_files and path.endswith(".json")):
            return True
        try:
            values = json.loads(Path(os.path.expanduser(path)).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):  # JSON lines, or missing: no settings file
            return False
        names = {action.dest for action in self._actions} | set(self.nested)
        if not isinstance(values, dict):
            return False
        keys = {str(key).replace("-", "_") for key in values}
        # also a settings file with a misspelt key (`windw_seconds`), so that it is refused naming that key rather than
        # read as a data file without signals: an object of no `input_values` (every data file's column) that sets a
        # setting other than a row's own `sampling_rate`
        return keys <= names or ("input_values" not in keys and bool(keys & names - {"sampling_rate"}))

    def _pop_values(self, argv: list[str], option: str) -> list[str]:
        """Remove every `option VALUE` / `option=VALUE` from `argv` (up to a `--`) and return the values."""
        values, index = [], 0
        while index < len(argv) and argv[index] != "--":
            if argv[index] == option:
                if index + 1 >= len(argv) or argv[index + 1].startswith("-"):
                    self.error(f"argument {option}: expected one argument")
                values.append(argv.pop(index + 1))
                argv.pop(index)
            elif argv[index].startswith(f"{option}="):  # as argparse takes any option
                values.append(argv.pop(index).split("=", 1)[1])
            else:
                index += 1
        return values

    def _restore_defaults(self) -> None:
        """Put back the defaults a recipe or settings file of an earlier `parse` replaced (a parser parses again in
        tests and in `--help` checks; each parse starts from the dataclass's defaults)."""
        if not hasattr(self, "_field_defaults"):
            self._field_defaults = {id(action): (action.default, action.required) for action in self._actions}
        for action in self._actions:
            action.default, action.required = self._field_defaults[id(action)]

    def _apply_config_file(self, path: Path) -> None:
        if path.is_dir():
            raise IsADirectoryError(
                f"Settings file {str(path)!r} is a folder; --config takes a JSON or YAML file of settings."
            )
        if not path.is_file():
            raise FileNotFoundError(f"Settings file {str(path)!r} does not exist.")
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            values = json.loads(text)
        else:
            import yaml

            try:
                values = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise UsageError(f"{path} is not valid YAML: {' '.join(str(error).split())}") from None
        if not isinstance(values, dict):
            raise UsageError(f"{path} must hold a mapping of settings (option names without dashes).")
        self._apply_settings(values, str(path))

    def _apply_settings(self, values: Mapping[str, Any], source: str) -> None:
        """Take `values` (setting names, with dashes or underscores) as the defaults the command line overrides;
        `source` (a file, a recipe) names them in errors."""
        _refuse_interpolations(values, source)
        flat: dict[str, Any] = {}
        for key, value in values.items():
            name = str(key).replace("-", "_")
            if name in self.nested and isinstance(value, dict):
                # The fields a command sets itself are skipped, so a file the command wrote (an evaluation's
                # protocol.json, whose trainer settings hold the per-run seed) runs again as it is.
                excluded = self.nested[name][2]
                nested_values = {str(k).replace("-", "_"): v for k, v in value.items()}
                flat.update({k: v for k, v in nested_values.items() if k not in excluded})
                self._warn_of_settings_set_per_run(name, nested_values, source)
            else:
                flat[name] = value
        actions: dict[str, argparse.Action] = {}
        for action in self._actions:  # the first per name: not the `--no-x` of a boolean, which shares its dest
            if action.dest not in ("help", "config", NAMED_RECIPE):
                actions.setdefault(action.dest, action)
        unknown = sorted(set(flat) - set(actions))
        if unknown:
            hints = [
                (name, self._other_spelling(name, in_file=True) or self._closest_setting(name, list(actions)))
                for name in unknown
            ]
            named = [f"{name} ({hint})" if hint else name for name, hint in hints]
            raise UsageError(
                f"{source} sets unknown setting(s) {', '.join(named)}; known: {', '.join(sorted(actions))}."
            )
        self.given |= set(flat)
        for name, value in flat.items():
            action = actions[name]
            if isinstance(action, _KeyValues):
                value = self._pairs_as_on_command_line(action, value, source)
            if isinstance(action, _KeyValues) and isinstance(value, dict) and isinstance(action.default, dict):
                value = {**action.default, **value}
            elif isinstance(action, _KeyValues) and action.scalar_type is not None and not isinstance(value, dict):
                value = self._convert(action, value)  # YAML reads `1e3` as text
            elif not isinstance(action, _KeyValues):
                if action.nargs in ("+", "*") and value is not None and not isinstance(value, list):
                    # `tag: production` is `--tag production`, a list of one: kept as text, the command read its
                    # letters as the items (`recordings: rec.npy` looked for a recording 'r')
                    value = [value]
                if action.type is not None:  # YAML reads `1e-3` as text: convert as the command line would
                    value = (
                        [self._convert(action, v) for v in value]
                        if isinstance(value, list)
                        else self._convert(action, value)
                    )
                self._check_choice(action, value, source)
            if isinstance(action, _KeyValues) and isinstance(value, dict) and action.value_type in _TYPE_WORDS:
                for key, item in value.items():
                    self._refuse_yes_no(item, action.value_type, f"{action.dest}:{key}")
            action.default = value
            action.required = False

    def _warn_of_settings_set_per_run(self, name: str, values: Mapping[str, Any], source: str) -> None:
        """Warn where a settings file gives a nested setting that the command sets itself for each run (the field's
        `set_per_run` metadata, each key with what sets it instead: `citrus evaluate`'s `finetune: {seed: 5}`, whose
        runs take their seeds from `seeds`, and `{show_progress: true}`), with another value than its default: the
        file is read (a protocol.json the command wrote runs again as it is), but that value was dropped without a
        word, and the user believed the runs used it."""
        default = self.nested[name][1]
        field = next(f for f in dataclasses.fields(self.arguments_type) if f.name == name)
        for key, instead in field.metadata.get("set_per_run", {}).items():
            if key in values and values[key] != getattr(default, key):
                logger.warning(f"{source} sets {name}: {key}: {values[key]!r}, which {self.prog} ignores: {instead}.")

    def _pairs_as_on_command_line(self, action: _KeyValues, value: Any, source: str) -> Any:
        """A settings file's `KEY=VALUE` setting written as on the command line (`config_overrides: d_model=16
        n_layers=1`, or a list of such pairs) read as there: kept as text, it crashed the command ("argument after
        ** must be a mapping"). A mapping, one number, and JSON text (`'{"min_lr_rate": 0.1}'`) stay as they are."""
        if isinstance(value, str) and "=" in value and not value.lstrip().startswith("{"):
            texts = shlex.split(value)  # as a shell splits the command line, quotes included
        elif isinstance(value, str) and action.scalar_type is None and not value.lstrip().startswith("{"):
            texts = [value]  # no pair at all (`config_overrides: d_model`): refused below, naming it
        elif isinstance(value, list) and value and all(isinstance(item, str) for item in value):
            texts = value
        else:
            return value
        try:
            return action.read(texts, action.default)
        except argparse.ArgumentError as error:
            raise UsageError(f"{self.prog}: {source} sets {action.dest}: {error.message}.") from None

    def _convert(self, action: argparse.Action, value: Any) -> Any:
        value_type = action.scalar_type if isinstance(action, _KeyValues) else action.type
        self._refuse_yes_no(value, value_type, action.dest)
        if not isinstance(value, str):
            return value
        try:
            return value_type(value)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as error:  # the last: a yes/no that is neither
            raise UsageError(f"{self.prog}: setting {action.dest}: invalid value {value!r} ({error}).") from None

    def _refuse_yes_no(self, value: Any, value_type: Any, setting: str) -> None:
        """Refuse a settings file's `true` / `false` for a number: a bool is an int to Python, so `hop_seconds: true`
        or `per_device_batch_size: true` ran as 1 without a word (and `false` as 0)."""
        if isinstance(value, bool) and value_type in _TYPE_WORDS:
            word = _TYPE_WORDS[value_type]
            raise UsageError(
                f"{self.prog}: setting {setting}: {str(value).lower()} is a yes/no, not a {word}; write the {word} "
                "itself (or leave the setting out for its default)."
            )

    def _check_choice(self, action: argparse.Action, value: Any, source: str) -> None:
        """Refuse a settings file's (or a recipe's) `value` that is none of `action`'s choices, as argparse refuses
        the command line's: argparse checks choices on the values it parses, never on defaults, which the settings
        file's become (`pooling: median` was taken where `--pooling median` was refused)."""
        if action.choices is None or value is None:
            return
        for item in value if isinstance(value, list) else [value]:
            if item not in action.choices:
                choices = ", ".join(map(str, action.choices))
                raise UsageError(
                    f"{self.prog}: {source} sets {action.dest}: invalid choice {item!r} (choose from {choices})."
                )

    def _build(self, values: dict[str, Any]):
        for name, (nested_type, default, excluded) in self.nested.items():
            settings = {
                f.name: values.pop(f.name) for f in dataclasses.fields(nested_type) if f.init and f.name not in excluded
            }
            settings.update({n: getattr(default, n) for n in excluded})
            values[name] = nested_type(**settings)
        return self.arguments_type(**values)


def _refuse_interpolations(values: Any, source: str, where: str = "") -> None:
    """Refuse an OmegaConf / Hydra interpolation in a settings file's values (nested ones and list items included):
    plain YAML keeps `output_dir: ${oc.env:HOME}/har` as text, and the run wrote into a folder of that literal name."""
    if isinstance(values, Mapping):
        for key, value in values.items():
            _refuse_interpolations(value, source, f"{where}{key}: ")
    elif isinstance(values, list):
        for value in values:
            _refuse_interpolations(value, source, where)
    elif isinstance(values, str) and _INTERPOLATION.search(values):
        raise UsageError(
            f"{source} sets {where}{values!r}, an interpolation (OmegaConf / Hydra `${{...}}`), which is not resolved "
            "here (it would be read as plain text): write the value itself, or save the config resolved first (OmegaConf.save(config, path, "
            "resolve=True))."
        )


def flags_before_positionals(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[str]:
    """`argv` with each of `parser`'s boolean flags that no yes/no value follows spelt `--flag=true`: HfArgumentParser's
    booleans take an optional value (`--quick false`), so argparse would take the next argument for it, a positional
    one (`citrus push --private runs/har me/x`) included."""
    argv = list(argv)
    for index, token in enumerate(argv[:-1]):
        if token == "--":
            break
        action = parser._option_string_actions.get(token)
        if action is not None and action.type is string_to_bool and action.nargs == "?":
            if not argv[index + 1].startswith("-") and not _is_boolean_word(argv[index + 1]):
                argv[index] = f"{token}=true"
    return argv


def _is_boolean_word(text: str) -> bool:
    """Whether a boolean option takes `text` as its value (`false`, `yes`, `1`: transformers' `string_to_bool`)."""
    try:
        string_to_bool(text)
    except argparse.ArgumentTypeError:
        return False
    return True


def _expand_home(value: Any) -> Any:
    """`value` with a leading `~` of each text in it expanded (`~/runs/har` -> `/home/me/runs/har`): in a list, in a
    dict's values; other values as they are."""
    if isinstance(value, str):
        return os.path.expanduser(value) if value.startswith("~") else value
    if isinstance(value, list):
        return [_expand_home(item) for item in value]
    if isinstance(value, dict):
        return {key: _expand_home(item) for key, item in value.items()}
    return value


__all__ = ["CONFIG_SUFFIXES", "CommandParser", "flags_before_positionals", "parse_value"]
