"""The package's extension points (registries of datasets, arms, recipes, augmentations, objectives, synthetic
generators) used from outside the repository, as a user's script uses them (an audit of what each one promises)."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace

import pytest

# --------------------------------------------------------------------------- what a checkpoint's corpus held out


@pytest.fixture
def swapped_basic_motions():
    """A set of one's own registered after citrus-small was pre-trained: BasicMotions with its official splits
    swapped (its test split is the official TRAIN, which citrus-small's corpus pooled)."""
    import citrus_hf.data  # noqa: F401  (the package's sets first)
    from citrus_hf.data.recordings import plan_official_split
    from citrus_hf.data.registry import DATASETS, register_dataset
    from citrus_hf.data.sources.uea_basic_motions import _read, basic_motions_recordings, class_names

    name = "audit66_bm_swapped"

    def plan(options, context):
        refs = basic_motions_recordings(context.archive_cache_dir)
        swapped = [replace(ref, split={"train": "test", "test": "train"}[ref.split]) for ref in refs]
        values, _, _ = _read(refs[0].arguments["path"])
        return plan_official_split(swapped, class_names(context.archive_cache_dir), values.shape[1:])

    register_dataset(
        name=name, description="BasicMotions, splits swapped", task="classification",
        sources=("uea_basic_motions",), splits="official TRAIN is test here",
    )(plan)  # fmt: skip
    yield name
    DATASETS.pop(name)


def _check(tmp_path, dataset, checkpoint="citrus-small", **settings):
    from citrus_hf.evaluation.protocol import ProtocolConfig, _check_not_pretrained_on, _dataset_context

    config = ProtocolConfig(
        output_dir=str(tmp_path / "out"), datasets=[dataset], arms=["citrus-small", "prior"],
        checkpoints={"citrus-small": checkpoint}, seeds=[0], budgets=["1"], show_progress=False, **settings,
    )  # fmt: skip
    _check_not_pretrained_on(config, _dataset_context(config, dataset), {"citrus-small": checkpoint})


@pytest.mark.usefixtures("offline_archives_cached")
def test_registering_a_set_does_not_hold_its_spans_out_of_a_checkpoint_built_before(tmp_path, swapped_basic_motions):
    """The corpus check took what the corpus held out from the registry as it is now: once a set that tests on
    BasicMotions' official TRAIN was registered, those trials counted as held out of citrus-small, and scoring
    citrus-small on the windows it was pre-trained on went through."""
    swapped = {"train_split": {"basic_motions": "test"}, "test_split": {"basic_motions": "train"}}
    with pytest.raises(ValueError, match=r"32 of the 40 test windows of basic_motions .* are in the corpus"):
        _check(tmp_path, "basic_motions", **swapped)


@pytest.mark.usefixtures("offline_archives_cached")
def test_a_set_of_ones_own_scored_as_built_is_held_to_what_the_corpus_held_out(tmp_path, swapped_basic_motions):
    """A registered set with its default options skipped the check ("as built for the corpus"), though the corpus
    was built before the set existed and held none of its splits out."""
    with pytest.raises(
        ValueError, match=r"32 of the 40 test windows .* built before audit66_bm_swapped was registered"
    ):
        _check(tmp_path, swapped_basic_motions)


@pytest.mark.usefixtures("offline_archives_cached")
def test_a_corpus_built_with_the_set_registered_held_it_out(tmp_path, swapped_basic_motions, monkeypatch):
    """A checkpoint whose summary records the set among those its corpus held out (at the set's version) is scored
    on it as built, without the windows being counted."""
    from citrus_hf._bundled import folder_if_bundled
    from citrus_hf.data.registry import evaluation_sets
    from citrus_hf.data.sources import pretraining

    folder = tmp_path / "checkpoint"
    shutil.copytree(folder_if_bundled("citrus-small"), folder)
    summary = json.loads((folder / "pretraining_summary.json").read_text())
    summary["evaluation_sets"] = evaluation_sets()
    (folder / "pretraining_summary.json").write_text(json.dumps(summary))

    def counted(*args, **kwargs):
        raise AssertionError("the windows of a set the corpus held out as built were counted")

    monkeypatch.setattr(pretraining, "examples_in_pretrain_corpus", counted)
    _check(tmp_path, swapped_basic_motions, checkpoint=str(folder))
    # the same set at another builder version than the corpus held out: counted
    summary["evaluation_sets"][swapped_basic_motions] = "0.9.0"
    (folder / "pretraining_summary.json").write_text(json.dumps(summary))
    with pytest.raises(AssertionError, match="were counted"):
        _check(tmp_path, swapped_basic_motions, checkpoint=str(folder))


def test_a_corpus_records_the_sets_registered_when_it_was_built(tmp_path):
    """What a pre-training run records as held out: the sets registered now for a registered corpus, those a saved
    copy's note records for the folder (`citrus data build --output`), nothing for other data."""
    import datasets

    from citrus_hf.data.builders import BUILT_FROM_FILE, corpus_evaluation_sets, save_built_dataset
    from citrus_hf.data.registry import evaluation_sets

    now = evaluation_sets()
    assert "basic_motions" in now and "pretrain_corpus" not in now
    assert corpus_evaluation_sets("pretrain_corpus") == now
    rows = datasets.Dataset.from_dict({"input_values": [[[0.0, 1.0]]], "sampling_rate": [1.0]})
    save_built_dataset(datasets.DatasetDict(train=rows), "pretrain_corpus", tmp_path / "copy")
    assert json.loads((tmp_path / "copy" / BUILT_FROM_FILE).read_text())["evaluation_sets"] == now
    save_built_dataset(
        datasets.DatasetDict(train=rows), "pretrain_corpus", tmp_path / "old", evaluation_sets={"a": "1"}
    )
    assert corpus_evaluation_sets(tmp_path / "old") == {"a": "1"}
    assert corpus_evaluation_sets(tmp_path / "nowhere") is None and corpus_evaluation_sets(None) is None


# ------------------------------------------------------------------------------ arms and recipes of one's own


@pytest.fixture
def registered_arms():
    """Registers arms for one test (`registered_arms(arm, ...)`) and takes them out of the registry after it."""
    from citrus_hf.evaluation.arms import ARMS, register_arm

    names = []

    def register(*arms):
        for arm in arms:
            register_arm(arm)
            names.append(arm.name)
        return arms[0] if len(arms) == 1 else arms

    yield register
    for name in names:
        ARMS.pop(name, None)


@pytest.fixture
def registered_recipes():
    """Registers recipe classes for one test and takes them out of the registry after it."""
    from citrus_hf.training.recipes import RECIPES, register_recipe

    names = []

    def register(recipe_class):
        register_recipe(recipe_class)
        names.append(recipe_class.name)
        return recipe_class

    yield register
    for name in names:
        RECIPES.pop(name, None)


def _signatures(tmp_path, arms, **settings):
    from citrus_hf.evaluation.settings import ProtocolConfig

    config = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=arms, **settings)
    return config.signature(), config.run_signatures()


def _centroid_arm(name, description="nearest centroid", **attributes):
    from citrus_hf.evaluation.arms import Arm

    class Centroid(Arm):
        def run(self, context, prepared, chosen, seed, run_dir):
            return {"test": {}}

    arm = Centroid()
    arm.name, arm.description = name, description
    arm.__dict__.update(attributes)
    return arm


def test_an_arm_of_ones_own_is_refitted_once_changed(tmp_path, registered_arms):
    """`run_signatures` held nothing of an arm that is not a CiTrus one: runs of an arm edited since (another model
    behind the same name) were reused from runs.jsonl."""
    from citrus_hf.evaluation.arms import ARMS

    arm = registered_arms(_centroid_arm("audit66-mine", shrinkage=0.1))
    shared, first = _signatures(tmp_path, ["audit66-mine", "prior"])
    assert first["prior"] == shared  # the package's arms keep the signatures their recorded runs have
    assert first["audit66-mine"] != shared
    assert arm.fingerprint()["settings"]["shrinkage"] == 0.1
    arm.shrinkage = 0.2  # another setting of the arm
    assert _signatures(tmp_path, ["audit66-mine"])[1]["audit66-mine"] != first["audit66-mine"]
    ARMS.pop("audit66-mine")
    registered_arms(_centroid_arm("audit66-mine", description="predicts class 0", shrinkage=0.1))
    assert _signatures(tmp_path, ["audit66-mine"])[1]["audit66-mine"] != first["audit66-mine"]
    ARMS.pop("audit66-mine")
    registered_arms(_centroid_arm("audit66-mine", shrinkage=0.1))  # the same arm again: its runs are reused
    assert _signatures(tmp_path, ["audit66-mine"])[1]["audit66-mine"] == first["audit66-mine"]


def test_an_arm_whose_code_was_edited_is_another_arm(tmp_path, registered_arms, monkeypatch):
    """The same class in the same module, its `run` edited between two sessions: the runs are refitted."""
    import importlib.util

    from citrus_hf.evaluation.arms import ARMS

    def arm_of(version, returned):
        path = tmp_path / version / "audit66_my_arms.py"
        path.parent.mkdir()
        path.write_text(
            "from citrus_hf.evaluation.arms import Arm\n\n\nclass Mine(Arm):\n"
            "    name, description = 'audit66-code', 'mine'\n\n"
            f"    def run(self, context, prepared, chosen, seed, run_dir):\n        return {returned}\n"
        )
        spec = importlib.util.spec_from_file_location("audit66_my_arms", path)
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, "audit66_my_arms", module)  # as an imported module is
        spec.loader.exec_module(module)
        return registered_arms(module.Mine())

    arm_of("v1", "{'test': {}}")
    before = _signatures(tmp_path, ["audit66-code"])[1]["audit66-code"]
    ARMS.pop("audit66-code")
    arm_of("v2", "{'test': {'accuracy': 1.0}}")
    assert _signatures(tmp_path, ["audit66-code"])[1]["audit66-code"] != before


def test_a_fingerprint_that_is_no_json_dict_is_refused_naming_the_arm(tmp_path, registered_arms):
    arm = registered_arms(_centroid_arm("audit66-odd"))
    arm.fingerprint = lambda: {"model": object()}
    with pytest.raises(ValueError, match=r"arm 'audit66-odd''s fingerprint\(\) returned .* must return a dict of JSON"):
        _signatures(tmp_path, ["audit66-odd"])


def test_a_recipe_of_ones_own_has_a_fingerprint_in_the_run_signature(tmp_path, registered_recipes):
    """`recipe_fingerprint(<a user's recipe>)` was {}: a CiTrus arm fitted with a recipe edited since reused its runs."""
    from citrus_hf.training.recipes import ProbeRecipe, recipe_fingerprint

    class Mine(ProbeRecipe):
        name = "audit66-recipe"
        description = "the probe, renamed"
        shrink = 0.5

    registered_recipes(Mine)
    fingerprint = recipe_fingerprint("audit66-recipe")
    assert fingerprint["class"].endswith("Mine") and fingerprint["settings"]["shrink"] == 0.5 and fingerprint["code"]
    assert recipe_fingerprint("finetune") == {}  # the package's, as result caches recorded them
    shared, first = _signatures(tmp_path, ["citrus-scratch"], recipe="audit66-recipe")
    Mine.shrink = 0.25
    assert _signatures(tmp_path, ["citrus-scratch"], recipe="audit66-recipe")[1] != first


# ------------------------------------------------------------------------------------- a recipe of one's own


def test_a_registered_recipe_is_taken_by_the_settings_and_the_command_line(tmp_path, registered_recipes):
    """`RECIPE_NAMES` was copied when recipes.py was imported: FinetuneArguments, ProtocolConfig and the --recipe
    choices refused a recipe registered after, the only way a user's recipe can be registered."""
    from citrus_hf.commands.evaluate import build_parser as evaluate_parser
    from citrus_hf.commands.finetune import build_parser as finetune_parser
    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.training import recipes
    from citrus_hf.training.arguments import FinetuneArguments

    class Mine(recipes.ProbeRecipe):
        name = "audit66-probe"
        description = "the probe, renamed"

    registered_recipes(Mine)
    assert "audit66-probe" in recipes.RECIPE_NAMES and "audit66-probe" in recipes.recipe_names()
    arguments = FinetuneArguments(output_dir=str(tmp_path), dataset="basic_motions", recipe="audit66-probe")
    assert recipes.resolve_recipe(arguments.recipe, 1.0) is recipes.RECIPES["audit66-probe"]
    ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=["prior"], recipe="audit66-probe")
    common = ["--output-dir", str(tmp_path), "--recipe", "audit66-probe"]
    assert finetune_parser().parse([*common, "--dataset", "basic_motions"]).recipe == "audit66-probe"
    assert (
        evaluate_parser().parse([*common, "--datasets", "basic_motions", "--arms", "prior"]).recipe == "audit66-probe"
    )


def test_an_unknown_recipe_is_refused_with_the_registered_names(tmp_path, registered_recipes):
    from citrus_hf.commands import UsageError
    from citrus_hf.commands.finetune import build_parser
    from citrus_hf.evaluation.arms import CiTrusArm
    from citrus_hf.evaluation.settings import ProtocolConfig
    from citrus_hf.training.arguments import FinetuneArguments

    with pytest.raises(ValueError, match=r"recipe must be one of auto, probe, .*got 'prob' .*@register_recipe"):
        FinetuneArguments(output_dir=str(tmp_path), dataset="basic_motions", recipe="prob")
    with pytest.raises(UsageError, match="invalid choice: 'prob'"):
        build_parser().parse(["--output-dir", str(tmp_path), "--dataset", "basic_motions", "--recipe", "prob"])
    from citrus_hf.evaluation.arms import ARMS

    ARMS["audit66-citrus"] = CiTrusArm("audit66-citrus", "with a recipe never registered", recipe="nowhere")
    try:
        with pytest.raises(
            ValueError, match=r"The arm 'audit66-citrus' fits with its own recipe: recipe must be one of"
        ):
            ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], arms=["audit66-citrus"])
    finally:
        ARMS.pop("audit66-citrus")


# ------------------------------------------------------------------------------------------ registry names


def test_an_arm_recipe_or_augmentation_under_a_taken_name_is_refused(registered_arms):
    """register_recipe, register_arm and register_augmentation replaced what was registered under the name without a
    word: a recipe named "probe" became what --recipe auto runs, an arm named "minirocket" the reference."""
    from citrus_hf.evaluation.arms import ARMS
    from citrus_hf.training.augment import AUGMENTATIONS, register_augmentation
    from citrus_hf.training.recipes import RECIPES, ProbeRecipe, register_recipe, resolve_recipe

    probe, minirocket, shift = RECIPES["probe"], ARMS["minirocket"], AUGMENTATIONS["shift"]
    with pytest.raises(ValueError, match=r"The recipe 'probe' is already registered \(ProbeRecipe\); registry names"):

        @register_recipe
        class NotTheProbe(ProbeRecipe):
            name = "probe"
            description = "not the probe"

    with pytest.raises(ValueError, match=r"The recipe 'auto' is already registered \(the rule that picks a recipe\)"):

        @register_recipe
        class Auto(ProbeRecipe):
            name = "auto"
            description = "not the rule"

    with pytest.raises(ValueError, match=r"The evaluation arm 'minirocket' is already registered \(MiniRocket"):
        registered_arms(_centroid_arm("minirocket"))
    with pytest.raises(ValueError, match=r"The augmentation 'shift' is already registered"):
        register_augmentation("shift")(lambda windows, lengths, generator: windows)
    assert (RECIPES["probe"], ARMS["minirocket"], AUGMENTATIONS["shift"]) == (probe, minirocket, shift)
    assert type(resolve_recipe("auto", 1.0)) is ProbeRecipe


def test_register_arm_on_a_class_registers_an_instance(registered_arms):
    """`@register_arm` on a class (as `@register_recipe` is used) registered the class itself: the protocol then
    called its methods unbound, deep in protocol.py."""
    from citrus_hf.evaluation.arms import ARMS, Arm, CiTrusArm

    @registered_arms
    class Centroid(Arm):
        name = "audit66-deco"
        description = "nearest centroid"

        def run(self, context, prepared, chosen, seed, run_dir):
            return {"test": {}}

    assert isinstance(Centroid, type) and isinstance(ARMS["audit66-deco"], Centroid)
    with pytest.raises(TypeError, match=r"instantiates the class CiTrusArm without arguments, .*register_arm\(Ci"):
        registered_arms(CiTrusArm)
    with pytest.raises(TypeError, match="register_arm takes an Arm"):
        registered_arms(object())


# -------------------------------------------------------------------------------- an objective of one's own


@pytest.fixture
def objective_registry_kept(monkeypatch):
    """The objective registries as they were before the test, whatever it registers or loads."""
    from citrus_hf import configuration_citrus
    from citrus_hf.modeling_citrus import PRETRAINING_HEADS

    monkeypatch.setattr(configuration_citrus, "PRETRAINING_OBJECTIVES", configuration_citrus.PRETRAINING_OBJECTIVES)
    monkeypatch.setattr(configuration_citrus, "_SAVED_UNREGISTERED_OBJECTIVES", set(), raising=False)
    before = dict(PRETRAINING_HEADS)
    yield
    PRETRAINING_HEADS.clear()
    PRETRAINING_HEADS.update(before)


def _audit66_head():
    from citrus_hf.modeling_citrus import CiTrusTimeHead

    class Audit66Head(CiTrusTimeHead):
        objective = "audit66_time"
        description = "the time objective under another name"

    return Audit66Head


@pytest.mark.usefixtures("objective_registry_kept")
def test_one_registration_makes_an_objective_of_ones_own_usable(make_tiny_config):
    """`register_pretraining_head` alone left the config refusing the name (its PRETRAINING_OBJECTIVES had to be
    patched as well, which only the package's own test did)."""
    from citrus_hf import CiTrusForPretraining
    from citrus_hf.modeling_citrus import register_pretraining_head

    with pytest.raises(
        ValueError, match=r"'audit66_time'.* not supported; .*registered with .*register_pretraining_head"
    ):
        make_tiny_config(pretraining_objective="audit66_time")
    register_pretraining_head(_audit66_head())
    model = CiTrusForPretraining(make_tiny_config(pretraining_objective="audit66_time"))
    assert model.head.objective == "audit66_time"


@pytest.mark.usefixtures("objective_registry_kept")
def test_a_checkpoint_of_an_objective_not_registered_here_loads_its_encoder(tmp_path, make_tiny_config):
    """A checkpoint pre-trained with an objective this installation lacks failed to load at all, config included,
    with a message that read like a typo ("not supported; choose one of ...")."""
    import torch

    from citrus_hf import (
        CiTrusConfig,
        CiTrusForPretraining,
        CiTrusForSequenceClassification,
        CiTrusModel,
        build_model_card,
    )
    from citrus_hf.modeling_citrus import PRETRAINING_HEADS, register_pretraining_head

    register_pretraining_head(_audit66_head())
    saved = CiTrusForPretraining(make_tiny_config(pretraining_objective="audit66_time"))
    saved.save_pretrained(tmp_path / "ckpt")
    PRETRAINING_HEADS.pop("audit66_time")  # another session, without the extension
    from citrus_hf import configuration_citrus

    configuration_citrus.PRETRAINING_OBJECTIVES = tuple(PRETRAINING_HEADS)

    assert CiTrusConfig.from_pretrained(tmp_path / "ckpt").pretraining_objective == "audit66_time"
    encoder = CiTrusModel.from_pretrained(tmp_path / "ckpt")
    weights = saved.citrus.state_dict()
    assert all(torch.equal(tensor, weights[name]) for name, tensor in encoder.state_dict().items())
    classifier = CiTrusForSequenceClassification.from_pretrained(tmp_path / "ckpt", num_labels=2)
    assert "audit66_time" in str(build_model_card(classifier))
    with pytest.raises(ValueError, match=r"objective 'audit66_time', which this installation does not register: .*"
                       r"register_pretraining_head .*newer citrus-hf"):  # fmt: skip
        CiTrusForPretraining.from_pretrained(tmp_path / "ckpt")
    with pytest.raises(ValueError, match="not supported"):  # a name typed by hand is still refused
        make_tiny_config(pretraining_objective="audit66_tiem")


# ------------------------------------------------------------------------------ what an arm or a recipe returns


_FINE = {"accuracy": 0.5, "balanced_accuracy": 0.5, "macro_f1": 0.5, "auroc": float("nan")}


@pytest.mark.parametrize(
    ("outcome", "problem"),
    [
        (None, "returned NoneType"),
        ({"metrics": {"macro_f1": 0.5}}, "returned no 'test' metrics"),
        ({"test": {"f1": 0.5}}, r"returned test metrics without accuracy, .*auroc \(it gave f1\)"),
        ({"test": {**_FINE, "arm": "prior", "seed": 99}}, "named arm, seed, fields of the run's record"),
        ({"test": {**_FINE, "accuracy": 50.0}}, r"accuracy=50.0: metrics are fractions in \[0, 1\]"),
        ({"test": {**_FINE, "accuracy": "0.5"}}, "no numbers: accuracy='0.5'"),
        ({"test": _FINE, "steps": "10"}, "returned 'steps' as '10'"),
    ],
)
def test_what_an_arm_returns_is_checked_naming_the_arm(registered_arms, outcome, problem):
    """A faulty arm's result crashed deep in protocol.py (None, no "test") or was taken silently: metrics of other
    names shown as n/a, percentages, and metric keys "arm" / "seed" that overwrote the run's record."""
    from citrus_hf.evaluation.protocol import _checked_outcome

    registered_arms(_centroid_arm("audit66-faulty"))
    with pytest.raises(
        ValueError, match=rf"The arm 'audit66-faulty' \(Centroid.run\) .*{problem}.*; Arm.run must return"
    ):
        _checked_outcome("audit66-faulty", outcome, "classification", reserved=("arm", "seed"))


def test_numpy_numbers_and_nan_are_metrics(registered_arms):
    import numpy as np

    from citrus_hf.evaluation.protocol import _checked_outcome

    registered_arms(_centroid_arm("audit66-numpy"))
    test = {**{name: np.float32(0.5) for name in _FINE}, "auroc": float("nan"), "loss": 0.1}
    metrics = _checked_outcome("audit66-numpy", {"test": test, "steps": 3}, "classification", reserved=())
    assert set(metrics) == set(_FINE) and all(type(value) is float for value in metrics.values())
    regression = {"mae": 2.0, "rmse": 3.0, "pearson_r": float("nan")}
    assert _checked_outcome("audit66-numpy", {"test": regression}, "regression", reserved=()) == regression


def test_a_recipe_returning_anything_but_a_recipe_outcome_is_refused_naming_it(make_tiny_config):
    """A recipe whose fit returned the bare model failed deep inside scoring (`outcome.model`)."""
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.recipes import ProbeRecipe, RecipeOutcome, fit_recipe

    model = CiTrusForSequenceClassification(make_tiny_config(num_labels=2))

    class Forgetful(ProbeRecipe):
        name = "audit66-forgetful"

        def fit(self, model, *args, **kwargs):
            return model

    with pytest.raises(ValueError, match=r"recipe 'audit66-forgetful' \(.*Forgetful.fit\) returned "
                       r"CiTrusForSequenceClassification; Recipe.fit must return a RecipeOutcome\(model="):  # fmt: skip
        fit_recipe(Forgetful(), model, None, None, "classification", None, "unused")

    class Fine(ProbeRecipe):
        name = "audit66-fine"

        def fit(self, model, *args, **kwargs):
            return RecipeOutcome(model=model, steps=1)

    assert fit_recipe(Fine(), model, None, None, "classification", None, "unused").steps == 1


def test_an_arm_of_ones_own_with_pretrained_weights_asks_for_them(tmp_path, registered_arms):
    """`pretrained = True` on an arm of one's own, run without --checkpoints, died in pretrain_arms with
    AttributeError: 'bundled'."""
    arm = _centroid_arm("audit66-embed")
    arm.pretrained = True
    registered_arms(arm)
    with pytest.raises(
        ValueError, match=r"'audit66-embed' starts from pre-trained weights .*--checkpoints audit66-embed="
    ):
        _signatures(tmp_path, ["audit66-embed", "prior"])
    _signatures(tmp_path, ["audit66-embed"], checkpoints={"audit66-embed": "citrus-small"})


# ------------------------------------------------------------------------------ a synthetic generator of one's own


def _square_waves(mode):
    from dataclasses import dataclass

    import numpy as np

    from citrus_hf.data.synthetic import SyntheticGenerator

    @dataclass
    class SquareWaves(SyntheticGenerator):
        name = "audit66_square"
        version = "1"
        modality = "synthetic"

        def generate(self, rng, sampling_rate, length):
            x = np.sign(np.sin(np.arange(4 * length) / 3.0)) + 0.05 * rng.standard_normal(4 * length)
            windows = {
                "ok": x.reshape(4, length),
                "bad": x,  # one dimension
                "long": x.reshape(2, 2 * length),
                "const": np.ones((4, length)),
                "nan": np.where(np.arange(4 * length) == 5, np.nan, x).reshape(4, length),
            }[mode]
            return windows.astype(np.float32)

    return SquareWaves()


@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        ("bad", r"windows of shape \(400,\)"),
        ("long", r"windows of shape \(2, 200\)"),
        ("nan", "holding NaN or inf"),
        ("const", r"4 constant window\(s\) of 4"),
    ],
)
def test_the_stream_checks_every_generators_windows(mode, problem):
    """`_check_windows`, whose message names the generator, ran only inside the package's own generators: a faulty
    generator of one's own surfaced as a recording or extractor problem further on (NaN windows, wrong lengths)."""
    from citrus_hf.data.streams import SyntheticWindowStream

    stream = SyntheticWindowStream(100.0, 100, 10, generators=[_square_waves(mode)])
    with pytest.raises(ValueError, match=rf"'audit66_square' generator \(SquareWaves.generate\) returned .*{problem} instead of "
                       r"finite \(num_windows, 100\) windows.*fix the generator"):  # fmt: skip
        next(iter(stream))


def test_a_fine_generator_of_ones_own_streams():
    import numpy as np

    from citrus_hf.data.streams import SyntheticWindowStream

    window = next(iter(SyntheticWindowStream(100.0, 100, 10, generators=[_square_waves("ok")])))
    assert (
        np.asarray(window["input_values"]).shape == (1, 100) and np.isfinite(np.asarray(window["input_values"])).all()
    )


# ----------------------------------------------------------------------------------- smaller faults, said early


def test_an_arm_needing_a_module_citrus_hf_does_not_know_names_it(tmp_path, registered_arms):
    """`Arm.optional_modules` outside `_extras.EXTRAS` died in check_installed with KeyError."""
    from citrus_hf._extras import MissingExtraError

    arm = _centroid_arm("audit66-xgb")
    arm.optional_modules = ("audit66_no_such_module",)
    registered_arms(arm)
    with pytest.raises(MissingExtraError, match=r"The 'audit66-xgb' arm needs audit66_no_such_module, which is not "
                       r"installed: install audit66_no_such_module \(not a dependency of citrus-hf: e\.g\. pip install "
                       r"audit66_no_such_module\), or leave it out: --arms prior\."):  # fmt: skip
        _signatures(tmp_path, ["audit66-xgb", "prior"])


@pytest.fixture
def registered_datasets():
    """Registers datasets for one test (`registered_datasets(name, builder, **fields)`) and removes them after it."""
    import citrus_hf.data  # noqa: F401
    from citrus_hf.data.registry import DATASETS, register_dataset

    names = []

    def register(name, builder, **fields):
        register_dataset(
            name=name, description="faulty", task="classification", sources=(), splits="by subject", **fields
        )(builder)
        names.append(name)

    yield register
    for name in names:
        DATASETS.pop(name, None)


def _rows(subjects, shorter_row=None):
    import numpy as np

    from citrus_hf.data.plans import window_row

    for subject in subjects:
        for i in range(4):
            values = np.random.default_rng(subject * 10 + i).standard_normal((2, 200)).astype(np.float32)
            if i == shorter_row:
                values = values[:, :150]
            yield window_row(
                values, 100.0, 2.0 * i, subject=str(subject), recording=f"r{subject}", source="me", label=i % 2
            )


def test_a_dataset_version_datasets_cannot_read_is_refused_at_registration(registered_datasets):
    """version="1" was taken, and `datasets.Version` refused it only after every row was generated."""
    from citrus_hf.data import CitrusDataError

    with pytest.raises(CitrusDataError, match=r"'audit66_v': version must be three whole numbers, MAJOR\.MINOR\.PATCH"):
        registered_datasets("audit66_v", lambda options, context: None, version="1")


def test_a_builder_that_returns_no_plan_is_named(tmp_path, registered_datasets):
    """A builder returning None died in write_plan with AttributeError: 'NoneType' object has no attribute 'splits'."""
    from citrus_hf.data import CitrusDataError, build_dataset

    def build(options, context):
        return None

    registered_datasets("audit66_none", build)
    with pytest.raises(CitrusDataError, match=r"builder of dataset 'audit66_none' \(.*build\) returned NoneType; a "
                       r"builder returns a BuildPlan"):  # fmt: skip
        build_dataset("audit66_none", cache_dir=tmp_path)


def test_a_row_of_another_shape_than_the_features_fix_is_refused_where_it_is_built(tmp_path, registered_datasets):
    """A row shorter than the set's fixed Array2D shape was written without a word: `citrus data info` described
    the set, and fine-tuning failed deep inside datasets ("cannot reshape array of size 1500 into shape (4,2,200)")."""
    from citrus_hf.data import CitrusDataError, build_dataset
    from citrus_hf.data.plans import BuildPlan, dataset_features

    def build(options, context):
        splits = {"train": {"subjects": [1, 2], "shorter_row": 3}, "test": {"subjects": [3]}}
        return BuildPlan(dataset_features(["a", "b"], False, (2, 200)), _rows, splits)

    registered_datasets("audit66_shape", build)
    refused = r"Row 3 of the train split of dataset 'audit66_shape' \(recording 'r1', start_seconds 6\.0\) holds "
    refused += r"input_values of 2 channel\(s\) of 150 samples, .* at \(2, 200\) \(2 row\(s\) differ\)"
    for _ in range(2):  # built, then read from the cache
        with pytest.raises(CitrusDataError, match=refused):
            build_dataset("audit66_shape", cache_dir=tmp_path)


def test_evaluate_help_lists_the_arms_registered_before_the_parser_is_built(registered_arms):
    """The --arms help was written when evaluation.settings was imported: an arm registered after was accepted but
    not listed."""
    import citrus_hf.evaluation.settings  # noqa: F401  (imported before the arm registers, as a script may)
    from citrus_hf.commands.evaluate import build_parser

    registered_arms(_centroid_arm("audit66-listed"))
    assert "audit66-listed" in " ".join(build_parser().format_help().split())
