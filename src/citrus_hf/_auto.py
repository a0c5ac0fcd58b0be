"""Registering CiTrus with transformers' Auto classes without importing torch at `import citrus_hf`.

`AutoConfig.from_pretrained(folder)` and its siblings find CiTrus only once its classes are registered, and importing
any of transformers' auto modules imports torch. So registration waits for transformers: when `citrus_hf` is
imported, every auto module already loaded is registered with at once, and a `sys.meta_path` finder watches for the
others; it wraps their loaders so that CiTrus is registered right after such a module has executed, whoever imports
it (`from transformers import AutoModel`, `transformers.AutoConfig`, ...). Accessing a public name of `citrus_hf`
registers with all of them (`register_all`).

Each registration imports the CiTrus modules it needs once the auto module has finished executing. When a CiTrus
module is itself executing at that moment (importing `modeling_citrus` imports `transformers.modeling_layers`, which
imports `modeling_auto`), the registration waits until that module has finished: the finder watches the CiTrus model
modules too, so no half-initialised module is ever used.

Registration also lets the Auto classes take the name of a checkpoint shipped with the package ("citrus-small"), as
the CiTrus classes and `pipeline` do (`_take_bundled_names`). Higher layers plug into transformers the same way
through `add_registration`, called by the package root: the pipelines (`citrus_hf.inference.registration`) and the
publishing hooks (`citrus_hf.publishing.hooks`); this module imports neither.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.abc
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

_AUTO = "transformers.models.auto."


def _register_configs() -> None:
    from transformers.models.auto.configuration_auto import AutoConfig

    from .configuration_citrus import CiTrusConfig, reading_config_of
    from .configuration_citrus_fusion import CiTrusFusionConfig

    AutoConfig.register(CiTrusConfig.model_type, CiTrusConfig, exist_ok=True)
    AutoConfig.register(CiTrusFusionConfig.model_type, CiTrusFusionConfig, exist_ok=True)
    for config_class in (CiTrusConfig, CiTrusFusionConfig):
        config_class._checkpoint_locator = _bundled_checkpoint
        config_class._typo_hint = _typo_hint
    # (AutoConfig reads the file with transformers' own loader: the checkpoint is named to the config this way)
    _take_bundled_names(AutoConfig, around=reading_config_of)


def _bundled_checkpoint(name: str):
    """The folder of a checkpoint shipped with the package, or None; None too when a local folder has that name,
    which wins as it does for transformers over the Hub (the CiTrus classes' locator)."""
    from ._bundled import folder_if_bundled

    folder = folder_if_bundled(name)
    return None if folder is name else folder


def _typo_hint(name) -> str:
    """The sentence naming the bundled checkpoint a name that failed as a folder and as a Hub id may be a typo of, or
    "" (the CiTrus classes' `_typo_hint`)."""
    from ._bundled import bundled_suggestion

    return bundled_suggestion(name)


def _adapter_lookup_as_the_load(kwargs: dict) -> dict:
    """`kwargs` of an Auto model class's `from_pretrained`, with `adapter_kwargs` that carry the load's
    `local_files_only` and `cache_dir`. transformers (5.25) looks for an adapter_config.json with `adapter_kwargs`
    alone, so `from_pretrained(hub_id, local_files_only=True)` still asked the Hub for one and, without a network,
    retried for about 25 s before the real error. Keys the caller put in `adapter_kwargs` are kept."""
    carried = {key: kwargs[key] for key in ("local_files_only", "cache_dir") if kwargs.get(key) is not None}
    if not carried:
        return kwargs
    return {**kwargs, "adapter_kwargs": {**carried, **(kwargs.get("adapter_kwargs") or {})}}


def _take_bundled_names(
    auto_class: type,
    explain: Callable[[OSError, object, dict], None] | None = None,
    around: Callable[[object, dict], contextlib.AbstractContextManager] | None = None,
) -> None:
    """Let `auto_class.from_pretrained` (and that of every Auto class inheriting it) take the name of a checkpoint
    shipped with the package: `AutoModel.from_pretrained("citrus-small")` loads the bundled folder offline, where
    transformers would look the name up on the Hub, retry for most of a minute without a network and end in an error
    about the connection. The name of a local folder wins, and every other argument passes through unchanged
    (idempotent). A name that fails and is close to a bundled one ("citrus-smal") gets "Did you mean" added to the
    error. `explain(error, folder, kwargs)`, where given, may raise the package's one-line reason for an OSError
    transformers raised. An Auto model class given a CiTrus fusion checkpoint it has no class for is refused before
    transformers lists every model type it knows (`_refuse_family_without_class`); so is a CiTrus checkpoint given
    to an Auto class of another kind of task (AutoModelForAudioClassification). `around(folder, kwargs)`, where
    given, is a context the load runs in."""
    from ._bundled import folder_if_bundled, is_adapter_folder
    from .configuration_citrus import raise_with_hint

    loader = auto_class.__dict__["from_pretrained"].__func__
    if getattr(loader, "_citrus_bundled_names", False):
        return

    @functools.wraps(loader)
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        folder = folder_if_bundled(pretrained_model_name_or_path)
        # A model class given a CiTrus LoRA folder (no config.json) names it before transformers reads (and may fail
        # to parse) its adapter_config.json to load the base; the folder's feature extractor loads as it is. A folder
        # with a config.json too is a whole model, which transformers loads with the adapter attached.
        if hasattr(cls, "_model_mapping") and is_adapter_folder(folder):
            from .modeling_citrus import _refuse_citrus_adapter

            _refuse_citrus_adapter(folder)
        if hasattr(cls, "_model_mapping"):
            _refuse_family_without_class(cls, folder, kwargs, pretrained_model_name_or_path)
            _refuse_disagreeing_dtypes(cls, folder, kwargs)
            kwargs = _adapter_lookup_as_the_load(kwargs)
        try:
            with contextlib.nullcontext() if around is None else around(folder, kwargs):
                loaded = loader(cls, folder, *args, **kwargs)
        except OSError as error:
            if explain is not None:
                explain(error, folder, kwargs)
            # (offline, a Hub id the cache holds nothing of keeps transformers' error: nothing tells it is a CiTrus
            # checkpoint, and importing the package must not change what other models' loads say)
            raise_with_hint(error, _typo_hint(pretrained_model_name_or_path))
        except AttributeError as error:
            _name_a_settings_file_that_is_no_object(folder, kwargs, error)
            raise
        if folder is not pretrained_model_name_or_path:
            _record_bundled_name(loaded, pretrained_model_name_or_path)
        return loaded

    from_pretrained._citrus_bundled_names = True
    auto_class.from_pretrained = classmethod(from_pretrained)


# The settings files an Auto class reads as JSON objects before any CiTrus code sees them (AutoFeatureExtractor and
# AutoProcessor call `.get` on preprocessor_config.json's contents in transformers itself).
_SETTINGS_FILES = ("preprocessor_config.json", "processor_config.json")


def _name_a_settings_file_that_is_no_object(folder, kwargs: dict, error: AttributeError) -> None:
    """Raise a ValueError naming the file when the AttributeError an Auto class raised (`'list' object has no
    attribute 'get'`) came from one of `_SETTINGS_FILES` holding JSON other than an object; return (so that the caller
    re-raises the original error) when every such file the checkpoint has is an object. Files are looked up as the
    Auto class did (a folder or the local Hub cache), never downloaded."""
    import json

    from transformers.utils import cached_file

    lookup = {key: kwargs[key] for key in ("subfolder", "revision", "cache_dir", "token") if key in kwargs}
    for name in _SETTINGS_FILES:
        try:
            path = cached_file(
                folder, name, local_files_only=True, _raise_exceptions_for_missing_entries=False, **lookup
            )
            if path is None:
                continue
            with open(path, encoding="utf-8") as handle:
                values = json.load(handle)
        except (OSError, ValueError):
            continue  # unreadable or not JSON: transformers' own error is not about this
        if not isinstance(values, dict):
            raise ValueError(
                f"{str(folder)!r}: its {name} holds a JSON {type(values).__name__}, not the object of settings "
                "`save_pretrained` writes; save the feature extractor again."
            ) from error


def _refuse_family_without_class(cls: type, folder, kwargs: dict, shown_name=None) -> None:
    """Refuse a CiTrus checkpoint given to an Auto model class that has no class for its family, naming the Auto class
    that loads it: a fusion checkpoint in AutoModel or AutoModelForPreTraining (with the routes to an embedding), a
    single-modality one in a class of another kind of task (AutoModelForAudioClassification, a natural guess for a
    signal classifier). transformers would fail with "Unrecognized configuration class", after some ten seconds spent
    importing every config class it knows to list them (11 kB), none of them the class to use. Nothing is said where
    the config cannot be read here: transformers' loading reports that. `shown_name` is the name the caller gave
    ("citrus-small"), shown instead of the bundled folder it resolved to."""
    if cls._model_mapping is None:
        return
    from .configuration_citrus_fusion import CiTrusFusionConfig

    config_class, saved = _saved_citrus_config(folder, kwargs)
    if config_class is None or cls._model_mapping.get(config_class, None) is not None:
        return
    architectures = saved.get("architectures")
    architecture = str(architectures[0]) if isinstance(architectures, list) and architectures else None
    loaders = [
        auto_class.__name__
        for auto_class in _auto_model_classes()
        if getattr(auto_class._model_mapping.get(config_class, None), "__name__", None) == architecture
    ]
    loader = loaders[0] if loaders else "AutoModelForSequenceClassification"
    if loader == "AutoModelForTimeSeriesRegression":
        loader = "citrus_hf.AutoModelForTimeSeriesRegression"
    shown = repr(os.fspath(shown_name if isinstance(shown_name, (str, os.PathLike)) else folder))
    if config_class is CiTrusFusionConfig:
        saved_as = f" ({architecture}, one encoder per modality)" if architecture else " (one encoder per modality)"
        raise ValueError(
            f"{shown} is a CiTrus fusion checkpoint{saved_as}, which {cls.__name__} does not load: load it with "
            f"`{loader}.from_pretrained({shown})`. Its fused embedding is `model.embed(...)`; one modality's encoder "
            f"is `{architecture or 'CiTrusFusionForSequenceClassification'}.load_encoder({shown}, modality)`."
        )
    saved_as = f" ({architecture})" if architecture else ""
    raise ValueError(
        f"{shown} is a CiTrus checkpoint{saved_as}, which {cls.__name__} does not load: CiTrus models classify "
        f"windows of signal with `AutoModelForSequenceClassification.from_pretrained({shown}, num_labels=N)` (a new "
        "head on a pre-trained encoder; a fine-tuned classifier keeps its own), regress with "
        "`citrus_hf.AutoModelForTimeSeriesRegression`, embed with `AutoModel`"
        + (f"; this one loads with `{loader}.from_pretrained({shown})`." if loaders else ".")
    )


def _saved_citrus_config(folder, kwargs: dict) -> tuple[type | None, dict | None]:
    """The CiTrus config class (single-modality or fusion) of the checkpoint `folder` and its saved config.json's
    contents, looked up with the `from_pretrained` keywords `kwargs`; (None, None) where the config cannot be read here
    or is another model's (transformers' loading reports the former, and the latter is none of the package's)."""
    if not isinstance(folder, (str, os.PathLike)):
        return None, None
    import json

    from transformers.utils import CONFIG_NAME, cached_file

    from .configuration_citrus import CiTrusConfig
    from .configuration_citrus_fusion import CiTrusFusionConfig
    from .feature_extraction_citrus import CHECKPOINT_LOOKUP_KWARGS

    families = {config.model_type: config for config in (CiTrusConfig, CiTrusFusionConfig)}
    lookup = {key: kwargs[key] for key in CHECKPOINT_LOOKUP_KWARGS if key in kwargs}
    try:
        path = cached_file(folder, CONFIG_NAME, _raise_exceptions_for_missing_entries=False, **lookup)
        with open(path, encoding="utf-8") as handle:
            saved = json.load(handle)
    except Exception:  # missing, unreachable, not JSON: transformers' own loading says so
        return None, None
    config_class = families.get(saved.get("model_type")) if isinstance(saved, dict) else None
    return config_class, (saved if config_class is not None else None)


def _refuse_disagreeing_dtypes(cls: type, folder, kwargs: dict) -> None:
    """Refuse `dtype` and `torch_dtype` that disagree, given to the Auto model class `cls` for a CiTrus checkpoint,
    naming the call the user made (`AutoModelForSequenceClassification.from_pretrained`): the CiTrus class's own check
    (`check_dtype_keywords`) would name the class transformers picked, a call the user never typed. Only with both
    keywords given is the config read, and another model's checkpoint keeps transformers' behaviour."""
    if kwargs.get("dtype") is None or kwargs.get("torch_dtype") is None:
        return
    if _saved_citrus_config(folder, kwargs)[0] is None:
        return
    from .modeling_citrus import check_dtype_keywords

    check_dtype_keywords(f"{cls.__name__}.from_pretrained", kwargs)


def _explain_extractor_lookup(error: OSError, folder, kwargs: dict) -> None:
    """Raise the one-line reason for transformers' "make sure ... is the correct path to a directory containing a
    preprocessor_config.json file" where there is one (`extractor_lookup_hint`): the folder is a CiTrus fusion
    checkpoint, whose processor_config.json holds one feature extractor per modality, or the Hub did not answer."""
    from .feature_extraction_citrus import extractor_lookup_hint

    hint = extractor_lookup_hint(folder, kwargs, citrus_class=False)
    if hint is not None:
        raise OSError(hint) from None


def _auto_model_classes() -> list[type]:
    """transformers' Auto model classes and the package's own (`AutoModelForTimeSeriesRegression`)."""
    import transformers.models.auto.modeling_auto as modeling_auto
    from transformers.models.auto.auto_factory import _BaseAutoModelClass

    classes = [*vars(modeling_auto).values(), globals().get("AutoModelForTimeSeriesRegression")]
    classes = [value for value in classes if isinstance(value, type) and issubclass(value, _BaseAutoModelClass)]
    return [auto_class for auto_class in dict.fromkeys(classes) if auto_class._model_mapping is not None]


def _record_bundled_name(loaded, name: str) -> None:
    """A config or model loaded from a bundled checkpoint's folder records the checkpoint's name, as the CiTrus classes
    do (`_CiTrusFamilyMixin.from_pretrained`): what an adapter or a card built on it names as its base. Feature
    extractors record no origin."""
    from transformers.configuration_utils import PreTrainedConfig
    from transformers.modeling_utils import PreTrainedModel

    if isinstance(loaded, PreTrainedConfig):
        loaded._name_or_path = name
    elif isinstance(loaded, PreTrainedModel):  # the model keeps its own copy beside its config's
        loaded.config._name_or_path = loaded.name_or_path = name


def _register_models() -> None:
    from transformers.models.auto.auto_factory import _BaseAutoModelClass
    from transformers.models.auto.modeling_auto import (
        AutoModel,
        AutoModelForPreTraining,
        AutoModelForSequenceClassification,
    )

    from .configuration_citrus import CiTrusConfig, time_series_regression_auto_class
    from .configuration_citrus_fusion import CiTrusFusionConfig
    from .modeling_citrus import (
        CiTrusForPretraining,
        CiTrusForRegression,
        CiTrusForSequenceClassification,
        CiTrusModel,
        _CiTrusFamilyMixin,
    )
    from .modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification

    global AutoModelForTimeSeriesRegression
    AutoModelForTimeSeriesRegression = time_series_regression_auto_class(__name__)
    AutoModel.register(CiTrusConfig, CiTrusModel, exist_ok=True)
    AutoModelForPreTraining.register(CiTrusConfig, CiTrusForPretraining, exist_ok=True)
    AutoModelForSequenceClassification.register(CiTrusConfig, CiTrusForSequenceClassification, exist_ok=True)
    AutoModelForSequenceClassification.register(
        CiTrusFusionConfig, CiTrusFusionForSequenceClassification, exist_ok=True
    )
    AutoModelForTimeSeriesRegression.register(CiTrusConfig, CiTrusForRegression, exist_ok=True)
    AutoModelForTimeSeriesRegression.register(CiTrusFusionConfig, CiTrusFusionForRegression, exist_ok=True)
    _CiTrusFamilyMixin._checkpoint_locator = _bundled_checkpoint
    # transformers gives each AutoModel* class its own copy of the base's `from_pretrained` (for its docstring), so
    # each is wrapped; classes deriving from the base later (AutoModelForTimeSeriesRegression) inherit the base's.
    import transformers.models.auto.modeling_auto as modeling_auto

    for auto_class in [_BaseAutoModelClass, *vars(modeling_auto).values()]:
        if isinstance(auto_class, type) and issubclass(auto_class, _BaseAutoModelClass):
            if "from_pretrained" in vars(auto_class):
                _take_bundled_names(auto_class)


def _register_feature_extractors() -> None:
    from transformers.models.auto.feature_extraction_auto import AutoFeatureExtractor

    from .configuration_citrus import CiTrusConfig
    from .feature_extraction_citrus import CiTrusFeatureExtractor, loading_extractor_from

    AutoFeatureExtractor.register(CiTrusConfig, CiTrusFeatureExtractor, exist_ok=True)
    CiTrusFeatureExtractor._checkpoint_locator = _bundled_checkpoint
    CiTrusFeatureExtractor._typo_hint = _typo_hint
    # transformers reads the settings file itself and gives the extractor its contents alone: the load says where
    # they come from, for the contract-override warnings (a pre-training checkpoint's task set-up is no override)
    _take_bundled_names(AutoFeatureExtractor, _explain_extractor_lookup, loading_extractor_from)


def _register_processors() -> None:
    from transformers.models.auto.processing_auto import AutoProcessor

    from .configuration_citrus import CiTrusConfig
    from .configuration_citrus_fusion import CiTrusFusionConfig
    from .feature_extraction_citrus import CiTrusFeatureExtractor
    from .processing_citrus_fusion import CiTrusFusionProcessor

    AutoProcessor.register(CiTrusFusionConfig, CiTrusFusionProcessor, exist_ok=True)
    # A single-modality checkpoint's processor is its feature extractor, as for transformers' audio models without a
    # tokenizer. Unregistered, AutoProcessor would try AutoTokenizer first, which asks whether to run the
    # checkpoint's code.
    AutoProcessor.register(CiTrusConfig, CiTrusFeatureExtractor, exist_ok=True)
    _take_bundled_names(AutoProcessor)
    _load_processor_only_folders(AutoProcessor, CiTrusFeatureExtractor, CiTrusFusionProcessor)


def _load_processor_only_folders(auto_processor: type, extractor_class: type, processor_class: type) -> None:
    """Let `AutoProcessor.from_pretrained` load a local folder that holds only a CiTrus feature extractor, or only a
    CiTrus fusion processor, saved before they recorded their `processor_class` (an extractor saved on its own, a
    LoRA adapter folder, a fusion processor saved without its model): transformers found no config.json, turned the
    file's `auto_map` into a remote-code reference and asked "Do you wish to run the custom code? [y/N]", waiting
    15 s in a terminal and forever in a notebook. Every other folder or name passes through unchanged
    (idempotent)."""
    loader = auto_processor.__dict__["from_pretrained"].__func__
    if getattr(loader, "_citrus_extractor_folders", False):
        return

    @functools.wraps(loader)
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        _refuse_unknown_processor_class(pretrained_model_name_or_path, kwargs)
        for saved_class, file_name, type_key in (
            (extractor_class, "preprocessor_config.json", "feature_extractor_type"),
            (processor_class, "processor_config.json", "processor_type"),
        ):
            if _is_processor_only_folder(pretrained_model_name_or_path, saved_class.__name__, file_name, type_key):
                kwargs.pop("trust_remote_code", None)  # nothing remote runs: the class is this package's
                return saved_class.from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        return loader(cls, pretrained_model_name_or_path, *args, **kwargs)

    from_pretrained._citrus_extractor_folders = True
    auto_processor.from_pretrained = classmethod(from_pretrained)


# The files AutoProcessor reads `processor_class` from, in its order, each with the key naming the CiTrus class that
# saved it and that class's name (what `processor_class` says in a file the package wrote).
_PROCESSOR_CLASS_FILES = (
    ("processor_config.json", "processor_type", "CiTrusFusionProcessor"),
    ("preprocessor_config.json", "feature_extractor_type", "CiTrusFeatureExtractor"),
)


def _refuse_unknown_processor_class(name, kwargs: dict) -> None:
    """Refuse a CiTrus checkpoint whose processor_config.json or preprocessor_config.json (the first of them, in
    AutoProcessor's order, that has a `processor_class`) names a processor class transformers resolves to no class (a
    hand-edited or misspelt name, or not text), naming the file, the field and the fix. transformers found no class,
    tried its Auto classes one after the other, and the image processor's asked "Do you wish to run the custom code?
    [y/N]" of the file's `auto_map` (15 s in a terminal, forever in a notebook; with `trust_remote_code=True` it ran
    the code instead), and a value that is no text failed on "'in <string>' requires string". Files are looked up as
    AutoProcessor looks them up (a folder, a bundled name, the Hub); another model's files, a class transformers
    knows (its own, or one registered with `AutoProcessor.register`), and a file that cannot be read pass."""
    import json

    from transformers.models.auto.processing_auto import processor_class_from_name
    from transformers.utils import cached_file

    from ._bundled import folder_if_bundled
    from .feature_extraction_citrus import CHECKPOINT_LOOKUP_KWARGS

    if not isinstance(name, (str, os.PathLike)):
        return
    folder = folder_if_bundled(name)
    lookup = {key: kwargs[key] for key in CHECKPOINT_LOOKUP_KWARGS if key in kwargs}
    for file_name, type_key, citrus_class in _PROCESSOR_CLASS_FILES:
        try:
            path = cached_file(
                folder,
                file_name,
                _raise_exceptions_for_missing_entries=False,
                _raise_exceptions_for_connection_errors=False,
                **lookup,
            )
            with open(path, encoding="utf-8") as handle:
                saved = json.load(handle)
        except Exception:  # missing, unreachable, not JSON: transformers' own loading says so
            continue
        if not isinstance(saved, dict) or saved.get("processor_class") is None:
            continue
        named = saved["processor_class"]
        if saved.get(type_key) == citrus_class and (not isinstance(named, str) or not processor_class_from_name(named)):
            raise ValueError(
                f"{os.fspath(name)!r}: its {file_name} names processor_class {named!r}, a class transformers does not "
                f"know, so AutoProcessor cannot load it: set the field to {citrus_class!r} (the class that saved "
                "the file) or remove it."
            )
        return  # AutoProcessor reads no further file


def _is_processor_only_folder(
    name, saved_type: str, file_name: str = "preprocessor_config.json", type_key: str = "feature_extractor_type"
) -> bool:
    """Whether `name` is a local folder with the `file_name` of a `saved_type` extractor (or processor: its type under
    `type_key`) that names no processor class, and no config.json nor the other kind's file."""
    import json

    if not isinstance(name, (str, os.PathLike)):
        return False
    folder = Path(os.fspath(name))
    settings = folder / file_name
    others = {"preprocessor_config.json", "processor_config.json"} - {file_name}
    if not settings.is_file() or any((folder / other).exists() for other in ("config.json", *others)):
        return False
    try:
        saved = json.loads(settings.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False  # transformers' own reading names the problem
    return isinstance(saved, dict) and saved.get(type_key) == saved_type and "processor_class" not in saved


def _answer_peft_base_lookups() -> None:
    """Let peft's check for a base model's config.json (made at every adapter save, to see whether a text model's
    vocabulary was resized) find that of a checkpoint shipped with the package. A model loaded from "citrus-small"
    records that name as its adapter's base (it loads by that name wherever the package is installed); peft looked it
    up on the Hub at every save (`save_pretrained`, each Trainer checkpoint), or, offline, warned "Could not find a
    config file in citrus-small". The answer is the bundled folder's own; every other name is peft's lookup."""
    import peft.utils.save_and_load as save_and_load

    lookup = save_and_load.check_file_exists_on_hf_hub
    if getattr(lookup, "_citrus_bundled_names", False):
        return

    @functools.wraps(lookup)
    def check_file_exists_on_hf_hub(repo_id, filename, **kwargs):
        folder = _bundled_checkpoint(repo_id) if isinstance(repo_id, str) else None
        if folder is not None:
            return os.path.isfile(os.path.join(folder, filename))
        return lookup(repo_id, filename, **kwargs)

    check_file_exists_on_hf_hub._citrus_bundled_names = True
    save_and_load.check_file_exists_on_hf_hub = check_file_exists_on_hf_hub


# registration name -> (the transformers module it waits for, what registers CiTrus with it, the CiTrus modules that
# registration imports). The Auto classes' registrations are named after their auto module; `add_registration` adds
# others, several per module if need be.
REGISTRATIONS: dict[str, tuple[str, Callable[[], None], tuple[str, ...]]] = {
    _AUTO + "configuration_auto": (
        _AUTO + "configuration_auto",
        _register_configs,
        ("configuration_citrus", "configuration_citrus_fusion"),
    ),
    _AUTO + "modeling_auto": (
        _AUTO + "modeling_auto",
        _register_models,
        ("configuration_citrus", "configuration_citrus_fusion", "modeling_citrus", "modeling_citrus_fusion"),
    ),
    _AUTO + "feature_extraction_auto": (
        _AUTO + "feature_extraction_auto",
        _register_feature_extractors,
        ("configuration_citrus", "feature_extraction_citrus"),
    ),
    _AUTO + "processing_auto": (
        _AUTO + "processing_auto",
        _register_processors,
        (
            "configuration_citrus",
            "configuration_citrus_fusion",
            "feature_extraction_citrus",
            "processing_citrus_fusion",
        ),
    ),
    # peft is optional: this one waits for as long as peft is not imported
    "peft.utils.save_and_load": ("peft.utils.save_and_load", _answer_peft_base_lookups, ()),
}
# The transformers modules the CiTrus model files import names from (tests/test_layers.py checks the list against
# their imports). One of them can be half executed when an auto module finishes: `from transformers import BertModel`
# executes `modeling_layers`, which imports `modeling_auto` before it defines the `GradientCheckpointingLayer` that
# `modeling_citrus` imports, and registering right then failed that user's import with a circular-import error. Every
# registration waits until none of them is half executed.
TRANSFORMERS_MODULES_IMPORTED = (
    "transformers.activations",
    "transformers.configuration_utils",
    "transformers.data.data_collator",
    "transformers.dynamic_module_utils",
    "transformers.feature_extraction_sequence_utils",
    "transformers.feature_extraction_utils",
    "transformers.initialization",
    "transformers.integrations",
    "transformers.modeling_layers",
    "transformers.modeling_outputs",
    "transformers.modeling_utils",
    "transformers.utils",
    "transformers.utils.hub",
)
# Modules whose end of execution may let a registration run: the transformers modules, and the CiTrus modules
# (importing `modeling_citrus` imports `modeling_auto`, whose registration must then wait until `modeling_citrus` is
# complete).
WATCHED = (
    {module for module, _, _ in REGISTRATIONS.values()}
    | {f"{__package__}.{name}" for _, _, needed in REGISTRATIONS.values() for name in needed}
    | set(TRANSFORMERS_MODULES_IMPORTED)
)
# The package's submodules (not the package itself, which is executing while it installs the registrations): every
# one is watched, and none may be half executed when a registration runs.
_SUBMODULES = f"{__package__}."
_done: set[str] = set()
_running: set[str] = set()
_lock = threading.RLock()


def _initializing(module_name: str) -> bool:
    """The module is executing right now (it is in `sys.modules` already, but incomplete)."""
    module = sys.modules.get(module_name)
    return module is not None and bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _register_ready(executed: str | None = None) -> None:
    """Run every registration whose auto module is loaded and none of whose CiTrus modules is half executed.

    `executed` names a module that has just finished executing (the import system marks it complete only after its
    loader returns)."""

    def initializing(module_name: str) -> bool:
        return module_name != executed and _initializing(module_name)

    with _lock:
        # A registration imports CiTrus modules, and those import others than its `needed` list names: run while any
        # CiTrus module is half executed, one imported peft's targets (`training.lora`), whose import of
        # `feature_extraction_citrus` completed a transformers module, whose hook then imported the half-executed
        # extractor module (`import citrus_hf` after `import peft` and `from transformers import pipeline` failed).
        # Every CiTrus module's end of execution runs this again (`_WatchedModuleFinder`).
        if any(initializing(module_name) for module_name in list(sys.modules) if module_name.startswith(_SUBMODULES)):
            return
        for name, (module_name, register, needed) in REGISTRATIONS.items():
            if name in _done or name in _running:
                continue
            if module_name not in sys.modules or initializing(module_name):
                continue
            if any(initializing(f"{__package__}.{needed_name}") for needed_name in needed) or any(
                initializing(imported) for imported in TRANSFORMERS_MODULES_IMPORTED
            ):
                continue  # runs when that module has finished executing (see `_RegisteringLoader`)
            _running.add(name)
            try:
                register()
                _done.add(name)
            finally:
                _running.discard(name)
        if _done == set(REGISTRATIONS):
            _uninstall()


class _RegisteringLoader(importlib.abc.Loader):
    """The loader of a watched module: runs the real loader, then the registrations that have become possible."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        self._loader.exec_module(module)
        _register_ready(executed=module.__name__)

    def __getattr__(self, name: str):
        # get_source, get_resource_reader, is_package, ...: the real loader's.
        return getattr(self._loader, name)


class _WatchedModuleFinder(importlib.abc.MetaPathFinder):
    """Finds the watched modules with the other finders and gives them a `_RegisteringLoader`."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in WATCHED and not fullname.startswith(_SUBMODULES):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisteringLoader(spec.loader)
                return spec
        return None


_finder = _WatchedModuleFinder()


def _uninstall() -> None:
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def install() -> None:
    """Register with every auto module transformers has loaded, and watch for the others (called by
    `import citrus_hf`)."""
    with _lock:
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)
        _register_ready()


def add_registration(
    module_name: str, register: Callable[[], None], needed: tuple[str, ...], name: str | None = None
) -> None:
    """Run `register` once the transformers module `module_name` (e.g. `transformers.pipelines`, or an auto module)
    has been imported, like the Auto registrations; `needed` names the CiTrus modules it imports (relative to this
    package). `name` tells registrations waiting for the same module apart (default: `module_name`). Call before
    `install`."""
    with _lock:
        REGISTRATIONS[name or module_name] = (module_name, register, tuple(needed))
        WATCHED.update({module_name, *(f"{__package__}.{needed_name}" for needed_name in needed)})


def register_all() -> None:
    """Register CiTrus with all of transformers' Auto classes now (imports them, and with them torch). Other
    registrations (`add_registration`) still wait for their module."""
    for module_name in {module for module, _, _ in REGISTRATIONS.values()}:
        if module_name.startswith(_AUTO):
            importlib.import_module(module_name)
    _register_ready()


def __getattr__(name: str):
    # `AutoModelForTimeSeriesRegression` is built when transformers' modeling_auto is registered with.
    if name == "AutoModelForTimeSeriesRegression":
        register_all()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["REGISTRATIONS", "AutoModelForTimeSeriesRegression", "add_registration", "install", "register_all"]
