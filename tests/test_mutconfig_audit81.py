"""Mutation audit 81 of the fusion configuration, the vocabulary, the command entry points (`citrus`, `citrus demo`,
`citrus push`, the scripts' boundary), the package's logging and its extras: guards for the mutants no test killed
(each passes on main and fails on its mutant), and the defects the audit found."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from tiny_configs import save_tiny_classifier, save_trained_adapter, tiny_config

from citrus_hf.commands.main import main

# ------------------------------------------------------------------------------------------- fusion configuration


def test_the_fusion_configs_numbers_are_checked_as_numbers_and_stored_as_json_writes_them():
    """`head_dropout="0.1"` (a hand-written JSON) is named as no number, where the range check compared a str with a
    float; `num_targets=2.0` is stored as the int 2 and True is refused (a bool sized a one-output head)."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    encoders = {"ecg": tiny_config()}
    with pytest.raises(TypeError, match=r"`head_dropout` must be a number, got '0.1' \(str\)"):
        CiTrusFusionConfig(modality_configs=encoders, head_dropout="0.1")
    with pytest.raises(TypeError, match=r"`num_targets` must be an integer, got True \(bool\)"):
        CiTrusFusionConfig(modality_configs=encoders, num_targets=True)
    config = CiTrusFusionConfig(modality_configs=encoders, num_targets=2.0, head_dropout=0)
    assert (type(config.num_targets), type(config.head_dropout)) == (int, float)


def test_an_encoders_saved_dict_is_taken_without_where_it_was_saved():
    """A modality given as a saved config's dict (`CiTrusConfig.from_pretrained(path).to_dict()`) keeps the encoder's
    settings, not the folder it was read from (`_name_or_path`), as the fusion config's own `to_dict` leaves it out."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    saved = {**tiny_config().to_dict(), "_name_or_path": "runs/ecg"}
    config = CiTrusFusionConfig(modality_configs={"ecg": saved})
    assert config.modality_config("ecg").name_or_path == ""


def test_the_fusion_config_refuses_an_integer_torch_dtype_and_rebuilds_a_stale_label2id(caplog):
    """As `CiTrusConfig`: `torch_dtype="int8"` (transformers' older name of `dtype`) is refused, not turned into integer
    weights, and a `label2id` given beside another `id2label` is rebuilt from it at construction."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    encoders = {"ecg": tiny_config()}
    with pytest.raises(ValueError, match=r"`torch_dtype='int8'` .* is not a dtype a CiTrus model is built in"):
        CiTrusFusionConfig(modality_configs=encoders, torch_dtype="int8")
    config = CiTrusFusionConfig(modality_configs=encoders, id2label={0: "a", 1: "b"}, label2id={"x": 0, "y": 1})
    assert config.label2id == {"a": 0, "b": 1}


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ({"head_dropout": 1.0}, r"`head_dropout` must lie in \[0, 1\), got 1.0"),
        ({"initializer_range": -0.02}, r"`initializer_range` is a standard deviation and must be non-negative"),
        ({"id2label": {0: "a", 2: "b"}}, r"`id2label` must name the classes 0..1"),
        (
            {"id2label": {0: "a", 1: "a"}},
            r"`id2label` gives one name to several classes \('a' names the ids \[0, 1\]\)",
        ),
        ({"problem_type": "multi_class"}, r"`problem_type='multi_class'` is not supported"),
    ],
)
def test_the_fusion_config_checks_its_head_as_the_single_modality_config_does(setting, expected):
    """A dropout of 1 zeroes the whole concatenated embedding (the head learns nothing), a negative initializer range
    draws no weights, and a class numbering with a gap, a class named twice or an unknown problem_type mislabel the
    head's outputs: each is refused when the fusion config is built."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    with pytest.raises(ValueError, match=expected):
        CiTrusFusionConfig(modality_configs={"ecg": tiny_config()}, **setting)


def test_an_attention_implementation_per_modality_reaches_each_encoder_and_to_dict_leaves_out_where_it_was_read():
    """transformers' dict form `{"ecg": "eager", "": "sdpa"}` gives the modality named its own implementation and the
    others the default (""), and a sub-config's local path and transformers version stay out of the saved config.json
    (a published fusion config named the folders on the author's machine)."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()})
    config._attn_implementation = {"ecg": "eager", "": "sdpa"}
    assert {name: sub._attn_implementation for name, sub in config.modality_configs.items()} == {
        "ecg": "eager",
        "eda": "sdpa",
    }
    config.modality_configs["ecg"].name_or_path = "/home/me/runs/ecg"
    saved = config.to_dict()["modality_configs"]["ecg"]
    assert not {"_name_or_path", "transformers_version"} & set(saved)


def test_modality_config_is_a_copy():
    """`modality_config(name)` is documented as a copy (to build or save that encoder on its own): changing it must not
    change the fusion config, whose encoder would no longer match its weights."""
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config()})
    copied = config.modality_config("ecg")
    copied.num_channels = 5
    assert config.modality_configs["ecg"].num_channels != 5 and copied is not config.modality_configs["ecg"]


def test_only_the_fusion_task_classes_record_a_pipeline():
    """A fusion class without a task head (the base class, a user's own subclass under another name) records no
    `custom_pipelines`: naming the classification pipeline there would send `pipeline(model=folder)` to a task its
    model does not have."""
    from citrus_hf.configuration_citrus_fusion import fusion_custom_pipelines_for

    assert dict(fusion_custom_pipelines_for("CiTrusFusionPreTrainedModel")) == {}
    regression = dict(fusion_custom_pipelines_for("CiTrusFusionForRegression"))
    assert regression == {
        "time-series-fusion-regression": {
            "impl": "pipelines.BioSignalFusionRegressionPipeline",
            "pt": ["AutoModelForTimeSeriesRegression"],
        }
    }


def test_a_misspelt_modality_is_matched_to_a_missing_one():
    """An unknown name stands for a modality that is missing, not for one given already ("ecgg" beside "ecg" is the
    missing "eeg"); one unknown name for the one missing modality is that one however it is spelt."""
    from citrus_hf.configuration_citrus_fusion import check_modality_names

    with pytest.raises(ValueError, match=r"did you mean 'eeg' for 'ecgg'\?"):
        check_modality_names({"ecg", "ecgg"}, ["ecg", "eeg"], "input_values")
    with pytest.raises(ValueError, match=r"missing \['ecg'\] .*did you mean 'ecg' for 'heart'\?"):
        check_modality_names({"eda", "heart"}, ["ecg", "eda"], "input_values")


def test_modality_keywords_leave_the_callers_options_and_none_defaults_alone():
    """Keywords that are None (peft's `input_ids=None`) are no misspelt modality, and with every modality given the
    other keywords stay for the caller's own check (`return_loss=True` was called an unknown modality)."""
    from citrus_hf.configuration_citrus_fusion import modality_keywords

    kwargs = {"ecg": 1, "input_ids": None}
    assert modality_keywords(None, kwargs, ["ecg", "eda"], "input_values") == {"ecg": 1}
    assert kwargs == {"input_ids": None}
    kwargs = {"ecg": 1, "eda": 2, "return_loss": True}
    assert modality_keywords(None, kwargs, ["ecg", "eda"], "input_values") == {"ecg": 1, "eda": 2}
    assert kwargs == {"return_loss": True}


def test_modalities_added_by_keyword_or_in_place_union_become_encoders_in_sorted_order():
    """`modality_configs.update(eda=...)` and `modality_configs |= {...}`, the dict habits, add their modalities as
    `CiTrusConfig`s in sorted order (the order the embeddings are concatenated in)."""
    from citrus_hf import CiTrusConfig
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config()})
    config.modality_configs.update(eda=tiny_config().to_dict())
    config.modality_configs |= {"acc": tiny_config().to_dict()}
    assert config.modalities == ["acc", "ecg", "eda"]
    assert all(isinstance(sub, CiTrusConfig) for sub in config.modality_configs.values())


# ------------------------------------------------------------------------------------------- citrus push


@pytest.fixture
def pushed(monkeypatch):
    """What `citrus push` hands the publishing layer: one namespace per call, its keywords as attributes."""
    import citrus_hf.publishing.push

    calls = []

    def record(model, repo_id, feature_extractor=None, **kwargs):
        calls.append(SimpleNamespace(model=model, repo_id=repo_id, feature_extractor=feature_extractor, **kwargs))
        return SimpleNamespace(pr_url=None, commit_url=f"https://huggingface.co/{repo_id}/commit/1")

    monkeypatch.setattr(citrus_hf.publishing.push, "push_to_hub", record)
    monkeypatch.setattr(citrus_hf.publishing.push, "push_adapter_to_hub", record)
    return calls


def test_push_hands_every_option_to_the_publishing_layer_and_the_saved_extractor(tmp_path, pushed, capsys):
    """Every option of `citrus push` reaches `push_to_hub` (no test looked at the keywords: a dropped `--revision`,
    `--license` or `--private` published to main, under another license, in public), and the extractor saved beside
    the weights is the one published, not one rebuilt from the config (whose settings differ from the run's)."""
    from citrus_hf import CiTrusFeatureExtractor

    folder = save_tiny_classifier(tmp_path / "har")
    CiTrusFeatureExtractor.from_config(tiny_config(num_labels=2), nan_policy="interpolate").save_pretrained(folder)
    hyperparameters = tmp_path / "hp.json"
    hyperparameters.write_text(json.dumps({"learning_rate": 0.001}))
    options = ["--private", "--revision", "dev", "--license", "mit", "--tag", "wrist", "--base-model", "org/base"]
    options += ["--hyperparameters", str(hyperparameters), "--pretraining-corpus", "tuh", "--dataset", "me/set"]
    assert main(["push", str(folder), "me/x", *options]) == 0
    assert main(["push", str(folder), "me/y", "--create-pr", "--base-model", "a/b", "c/d"]) == 0
    first, second = pushed
    assert first.feature_extractor.nan_policy == "interpolate"
    assert (first.private, first.revision, first.license, first.create_pr) == (True, "dev", "mit", False)
    assert (first.tags, first.base_model, first.datasets) == (["wrist"], "org/base", ["me/set"])
    assert first.hyperparameters == {"learning_rate": 0.001} and first.pretraining == {"corpus": "tuh"}
    assert (second.private, second.revision, second.create_pr) == (None, None, True)
    assert second.base_model == ["a/b", "c/d"] and second.license is None
    assert capsys.readouterr().out.count("Pushed ") == 2


def test_push_of_a_fusion_checkpoint_takes_one_corpus_per_modality(tmp_path, pushed, capsys):
    """A fusion checkpoint's `--pretraining-corpus` is MODALITY=CORPUS per encoder, checked against its modalities."""
    from citrus_hf import CiTrusFusionForSequenceClassification
    from citrus_hf.configuration_citrus_fusion import CiTrusFusionConfig

    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
    folder = tmp_path / "fusion"
    CiTrusFusionForSequenceClassification(config).save_pretrained(folder)
    corpora = ["--pretraining-corpus", "ecg=ptb-xl", "eda=wesad"]
    assert main(["push", str(folder), "me/fusion", *corpora]) == 0
    assert pushed[0].pretraining == {"ecg": {"corpus": "ptb-xl"}, "eda": {"corpus": "wesad"}}
    capsys.readouterr()
    assert main(["push", str(folder), "me/fusion", "--pretraining-corpus", "ekg=ptb-xl"]) == 2
    assert "has one encoder per modality ['ecg', 'eda']; give MODALITY=CORPUS" in capsys.readouterr().err


def test_push_of_a_single_checkpoint_refuses_a_corpus_per_modality_and_odd_options(tmp_path, pushed, capsys):
    folder = save_tiny_classifier(tmp_path / "har")
    refused = [
        (["--pretraining-corpus", "a", "b"], "give --pretraining-corpus once"),
        (["--create-pr", "--revision", "dev"], "it cannot take --revision"),
        (["--arm", "citrus-time"], "give --eval-results too"),
    ]
    for options, expected in refused:
        assert main(["push", str(folder), "me/x", *options]) == 2, options
        assert expected in capsys.readouterr().err
    assert main(["push", str(folder), "me/x/y"]) == 2
    assert "must be `namespace/name`" in capsys.readouterr().err
    assert pushed == []


def test_push_of_an_adapter_names_its_one_base_and_refuses_a_full_checkpoints_options(tmp_path, pushed, capsys):
    adapter = save_trained_adapter(save_tiny_classifier(tmp_path / "base"), tmp_path / "adapter")
    assert main(["push", str(adapter), "me/lora", "--base-model", "org/base", "--revision", "dev"]) == 0
    assert (pushed[0].base_model, pushed[0].revision, pushed[0].private) == ("org/base", "dev", None)
    capsys.readouterr()
    assert main(["push", str(adapter), "me/lora", "--base-model", "a/b", "c/d"]) == 2
    assert "a LoRA adapter adapts one base model" in capsys.readouterr().err
    assert main(["push", str(adapter), "me/lora", "--dataset", "me/set"]) == 2
    assert "--dataset describe a full checkpoint" in capsys.readouterr().err
    assert len(pushed) == 1


# ------------------------------------------------------------------------------------------- citrus demo


def test_the_demo_runs_what_the_readme_says():
    """README "The main job": four sets, 1, 5 and 20 labels per class (heart rate: 5 and 20 windows), 3 seeds, the
    bundled citrus-small against itself from random weights, MiniRocket + ridge and the prior; `--quick` runs every
    set at its smallest budget with one seed. Only the quick run ran in a test, and its checks read the demo's own
    constants: a budget, seed or set dropped from the full demo went unseen."""
    from citrus_hf.commands.demo import demo_config

    full, quick = demo_config("out"), demo_config("out", quick=True)
    for config in (full, quick):
        assert config.datasets == ["basic_motions", "eeg_blink", "myo_gestures", "hr_ecg"]
        assert config.arms == ["citrus-small", "citrus-scratch", "minirocket", "prior"]  # aeon is installed here
        assert (config.model_config, config.num_threads, config.output_dir) == ("citrus-small", 1, "out")
    assert (full.budgets, full.dataset_budgets, full.seeds) == (["1", "5", "20"], {"hr_ecg": ["5", "20"]}, [0, 1, 2])
    assert (quick.budgets, quick.dataset_budgets, quick.seeds) == (["1"], {"hr_ecg": ["5"]}, [0])


@pytest.mark.parametrize("options", [["--quick", "--no-fetch"], []])
def test_citrus_demo_hands_quick_and_no_fetch_on(options, monkeypatch, capsys):
    import citrus_hf.data
    import citrus_hf.evaluation.protocol

    class Stop(Exception):
        pass

    seen = []

    def stop(config):
        seen.append(config)
        raise Stop

    monkeypatch.setattr(citrus_hf.data, "fetch_offline_corpus", lambda: seen.append("fetched"))
    monkeypatch.setattr(citrus_hf.evaluation.protocol, "run_protocol", stop)
    with pytest.raises(Stop):
        main(["demo", *options])
    fetching = "--no-fetch" not in options
    assert seen[:-1] == (["fetched"] if fetching else [])  # the corpus is fetched first, unless --no-fetch
    assert seen[-1].seeds == ([0] if "--quick" in options else [0, 1, 2])
    assert ("Fetching the offline real corpus" in capsys.readouterr().err) == fetching


def test_citrus_demo_says_it_leaves_minirocket_out_without_aeon(monkeypatch, capsys):
    """README: without the `[baselines]` extra "the demo says so and leaves it out"."""
    import importlib.util

    import citrus_hf.evaluation.protocol

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "aeon" else real_find_spec(name, *a)
    )

    seen = []

    class Stop(Exception):
        pass

    def stop(config):
        seen.append(config.arms)
        raise Stop

    monkeypatch.setattr(citrus_hf.evaluation.protocol, "run_protocol", stop)
    with pytest.raises(Stop):
        main(["demo", "--quick", "--no-fetch"])
    assert seen == [["citrus-small", "citrus-scratch", "prior"]]
    assert "MiniRocket + ridge, the classical baseline, is left out: it needs aeon" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------- citrus (main)


@pytest.mark.parametrize(
    ("code", "status", "said"), [("stopped: no labels", 1, "stopped: no labels\n"), (None, 0, ""), (3, 3, "")]
)
def test_a_command_ended_by_sys_exit_returns_the_status_python_gives(code, status, said, monkeypatch, capsys):
    """`sys.exit("message")` in a command's work (a user's code it runs, a library) ends a Python program with status
    1 and the message on stderr; `main` returned 0, a failed command reported as a success."""
    import citrus_hf.commands.demo

    def stopped(argv):
        raise SystemExit(code)

    monkeypatch.setattr(citrus_hf.commands.demo, "run", stopped)
    assert main(["demo"]) == status
    assert capsys.readouterr().err == said


@pytest.mark.parametrize(("running", "others"), [("1/345", 0.0), ("3/345", 2.0)])
def test_the_running_count_leaves_this_process_out(running, others, monkeypatch):
    """/proc/loadavg's running count includes the process that reads it: alone on the machine, no other program runs
    (counted as one, torch's threads waited passively on free cores, where spinning is faster)."""
    import io

    import citrus_hf.commands.main

    monkeypatch.setattr(
        citrus_hf.commands.main, "open", lambda *a, **k: io.StringIO(f"0.5 0.4 0.3 {running} 99\n"), raising=False
    )
    assert citrus_hf.commands.main.runnable_elsewhere_now(samples=3, gap_seconds=0.0) == others


# ------------------------------------------------------------------------------------------- extras


def test_a_missing_package_is_named_once_however_many_of_its_modules_are_needed():
    from citrus_hf._extras import MissingExtraError, check_installed

    with pytest.raises(MissingExtraError) as refused:
        check_installed(["no_such_toolkit.a", "no_such_toolkit.b", "aeon_is_not_this"], "The 'mine' arm")
    assert str(refused.value) == (
        "The 'mine' arm needs no_such_toolkit and aeon_is_not_this, which are not installed: install no_such_toolkit "
        "and aeon_is_not_this (not a dependency of citrus-hf: e.g. pip install no_such_toolkit aeon_is_not_this)."
    )


def test_each_optional_module_is_named_with_the_extra_that_installs_it():
    """`EXTRAS` is the one table a missing module's message reads its `pip install 'citrus-hf[...]'` from: each entry
    must name an extra of pyproject.toml that lists that module's distribution (a wrong entry advised an extra that
    does not install it)."""
    import re
    from pathlib import Path

    from citrus_hf._extras import EXTRAS

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the package supports 3.10

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    for module, extra in EXTRAS.items():
        distributions = {re.split(r"[<>=!~\[ ;]", requirement)[0].lower() for requirement in extras.get(extra, [])}
        assert module in distributions, (module, extra, sorted(distributions))


# ------------------------------------------------------------------------------------------- vocabulary


def test_the_dynamics_pooling_reads_the_lags_it_was_measured_with():
    """`mean_max_std_dynamics` pools the autocorrelation at lags 1 to 12 patches (measured against 1, 3 and 9 on the
    protocol's validation splits, `vocabulary_citrus`): one lag fewer changed every probe's features, and the head
    size with them, without a test noticing."""
    from citrus_hf.vocabulary_citrus import AUTOCORRELATION_LAGS, POOLING_STATISTICS

    assert AUTOCORRELATION_LAGS == tuple(range(1, 13))
    assert POOLING_STATISTICS["mean_max_std_dynamics"] == 16


def test_auto_is_the_default_alignment_the_readme_names():
    """README: "`--alignment auto` (the default)", which resamples unless that would crop slow series; the shared
    default (`DEFAULT_TASK_ALIGNMENT`) changed silently for every command and protocol run."""
    from citrus_hf.commands.finetune import build_parser

    arguments = build_parser().parse(["--dataset", "basic_motions", "--output-dir", "runs/x"])
    assert arguments.alignment == "auto"


def test_sleep_vocabularies_stage_each_label_and_refuse_ambiguous_registrations():
    """A stager's labels map to AASM's stages (R&K's S4 is N3, Sleep-EDF's "Sleep stage R" is REM, movement time is
    unstaged); labels of no vocabulary, or wake and REM without an NREM stage, are no stager; a vocabulary naming a
    label twice in two cases, or a taken name with other labels, is refused."""
    from citrus_hf.vocabulary_citrus import register_sleep_vocabulary, sleep_stages_of

    assert sleep_stages_of(["W", "S1", "S4", "R", "Movement time"]) == {
        "W": "W",
        "S1": "N1",
        "S4": "N3",
        "R": "REM",
        "Movement time": "unstaged",
    }
    assert sleep_stages_of(["Sleep stage W", "Sleep stage 2", "Sleep stage R"])["Sleep stage R"] == "REM"
    assert sleep_stages_of(["W", "R"]) is None and sleep_stages_of(["W", "N1", "sitting"]) is None
    with pytest.raises(ValueError, match="names a label twice in different cases"):
        register_sleep_vocabulary("audit81", {"Wake": "W", "wake": "W"})
    with pytest.raises(ValueError, match="A sleep vocabulary named 'AASM' is registered with other labels"):
        register_sleep_vocabulary("AASM", {"W": "W", "N1": "N1"})


def test_a_unit_that_is_no_voltage_converts_to_itself():
    """A channel in per cent (SpO2) or an undeclared unit beside the same converts with factor 1; None (refused) is
    only for two units that differ."""
    from citrus_hf.vocabulary_citrus import unit_factor

    assert unit_factor("%", " % ") == 1.0 and unit_factor(None, "") == 1.0 and unit_factor("%", "uV") is None


def test_as_list_takes_a_str_as_one_item_and_counted_says_zero_in_the_plural():
    """`tags="har"` is the one tag "har" (not "h", "a", "r"), and "0 names", as the messages that count what a call
    gave read."""
    from citrus_hf.vocabulary_citrus import as_list, counted

    assert as_list("har") == ["har"] and as_list(None) == [] and as_list(("a", "b")) == ["a", "b"]
    assert [counted(n, "class", "classes") for n in (0, 1, 3)] == ["0 classes", "1 class", "3 classes"]


def _plus_one(value):
    return value + 1


def test_a_registry_replaces_only_the_same_definition_run_again():
    """`redefines`: the package's own entries are never replaced; a lambda under a taken name replaces it only when
    its code is the same (two lambdas differing in a constant are two definitions); a partial has no definition to
    recognise."""
    import functools

    from citrus_hf.vocabulary_citrus import as_bool, redefines

    first, second, again = (lambda value: value + 1), (lambda value: value + 2), (lambda value: value + 1)
    assert redefines(first, again) and not redefines(first, second)
    assert redefines(_plus_one, _plus_one) and not redefines(as_bool, as_bool)
    assert not redefines(functools.partial(_plus_one), functools.partial(_plus_one))


# ------------------------------------------------------------------------------------------- logs


@pytest.mark.parametrize(
    ("configured", "variable", "level"),
    [(0, "detail", 10), (0, "error", 40), (0, "not-a-level", 0), (30, "detail", 30)],
)
def test_the_package_follows_transformers_verbosity_and_its_variable(configured, variable, level, monkeypatch):
    """The level transformers' logger has (`set_verbosity_*`) wins; before one is set, TRANSFORMERS_VERBOSITY as
    transformers reads it: "detail" is its DEBUG with lines, a name it does not know sets nothing (the root logger's
    level applies)."""
    import logging

    from citrus_hf._logs import transformers_verbosity

    monkeypatch.setattr(logging.getLogger("transformers"), "level", configured)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", variable)
    assert transformers_verbosity() == level


def test_a_closed_pipe_ends_with_the_shells_code_for_sigpipe():
    """128 + SIGPIPE, as git and cat end (the module docstring): the tests of a closed pipe compared with the module's
    own constant, so another number went unseen."""
    import signal

    from citrus_hf.commands.main import BROKEN_PIPE_EXIT_CODE

    assert BROKEN_PIPE_EXIT_CODE == 128 + signal.SIGPIPE == 141
