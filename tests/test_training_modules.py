"""Where the training settings and the pre-training checkpoints live: `TrainerSettings` and its value checks in
`training.settings` (below the recipes and the `trainer`, which name it in their signatures), the checkpoint and
resume code in `training.checkpoints` (split out of `training.pretrain`), every name still importable from where it
was first defined."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys


def test_trainer_settings_names_are_the_same_objects_from_their_old_home():
    from citrus_hf.training import arguments, settings

    assert "TrainerSettings" in settings.__all__ and "check_seed" in settings.__all__
    moved = [name for name in settings.__all__ if getattr(arguments, name, None) is not getattr(settings, name)]
    assert not moved, moved


def test_trainer_settings_is_defined_in_the_settings_module_and_exported_from_it():
    import citrus_hf.training
    from citrus_hf.training import settings

    finetune = importlib.import_module("citrus_hf.training.finetune")  # the module (the package exports the function)
    assert settings.TrainerSettings.__module__ == "citrus_hf.training.settings"
    assert citrus_hf.training.TrainerSettings is settings.TrainerSettings is finetune.TrainerSettings


def test_checkpoint_names_are_the_same_objects_from_pretrain():
    from citrus_hf.training import checkpoints

    pretrain = importlib.import_module("citrus_hf.training.pretrain")  # the module, not the function
    assert {"checkpoints_in", "check_resumable", "CHECKPOINTS_DIR", "SCHEDULE_SETTINGS"} <= set(checkpoints.__all__)
    moved = [name for name in checkpoints.__all__ if getattr(pretrain, name, None) is not getattr(checkpoints, name)]
    assert not moved, moved


def _public_callables():
    from citrus_hf.training import recipes, trainer

    for module in (recipes, trainer):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isfunction(value):
                yield f"{module.__name__}.{name}", value
            elif inspect.isclass(value):
                for method_name, method in vars(value).items():
                    if inspect.isfunction(method) and (method_name == "fit" or not method_name.startswith("_")):
                        yield f"{module.__name__}.{name}.{method_name}", method


def test_the_recipes_and_the_trainer_hint_every_parameter_and_name_trainer_settings():
    """`settings`, `model`, `train` were unhinted while `TrainerSettings` sat above these modules' layer."""
    unhinted, settings_hints = [], {}
    for qualified, function in _public_callables():
        for parameter in list(inspect.signature(function).parameters.values()):
            if parameter.name in ("self", "cls") or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            if parameter.annotation is inspect.Parameter.empty:
                unhinted.append(f"{qualified}({parameter.name})")
            if parameter.name == "settings":
                settings_hints[qualified] = parameter.annotation
    assert not unhinted, unhinted
    assert settings_hints and set(settings_hints.values()) == {"TrainerSettings"}, settings_hints


def test_the_settings_module_imports_no_torch():
    code = (
        "import sys\n"
        "import citrus_hf.training.settings, citrus_hf.training.recipes, citrus_hf.training.trainer\n"
        "print(sorted(m for m in ('torch', 'transformers', 'datasets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
