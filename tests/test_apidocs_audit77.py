"""Audit 77 (the public API's docstrings and type hints as a contract, checked against what runs): card tags and
limitations given as one str."""

from __future__ import annotations

import pytest
import torch
from huggingface_hub import ModelCard
from tiny_configs import save_trained_adapter, tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification, build_model_card

# ------------------------------------------- 1. a str of tags or limitations is one item, not one per letter


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(0)
    config = tiny_config(num_labels=2)
    return CiTrusForSequenceClassification(config), CiTrusFeatureExtractor.from_config(config)


def test_a_card_takes_one_tag_and_one_limitation_given_as_a_str(classifier):
    """`build_model_card(..., tags="har")` tagged the card "h", "a" and "r", and `limitations="..."` listed every
    letter as a bullet of its own: `list()` of a str. A str is one tag, as transformers' `Trainer.create_model_card`
    and `add_model_tags` take it."""
    model, extractor = classifier
    card = build_model_card(model, extractor, tags="har", limitations="Not validated on infants.")
    assert "har" in card.data.tags and "h" not in card.data.tags
    assert "- Not validated on infants." in str(card) and "\n- N\n" not in str(card)


def _publish_here(monkeypatch, folder):
    """`push`'s upload replaced by a write into `folder`, with no card or commit on the (absent) Hub to replace."""
    from citrus_hf.publishing import push

    def publish(repo_id, write, check, **options):
        folder.mkdir()
        write(folder)
        check(folder)

    monkeypatch.setattr(push, "_publish_folder", publish)
    monkeypatch.setattr(push, "_existing_card", lambda *args: None)
    monkeypatch.setattr(push, "_branch_head", lambda *args: None)  # a new repository: no commit to push onto


def test_push_to_hub_takes_one_tag_given_as_a_str(classifier, tmp_path, monkeypatch):
    """`push_to_hub(model, repo, tags="har")` (and `model.push_to_hub(..., tags="har")`) tagged the card with the
    tag's letters."""
    from citrus_hf.publishing import push_to_hub

    model, extractor = classifier
    _publish_here(monkeypatch, tmp_path / "published")
    push_to_hub(model, "me/har", extractor, tags="har")
    tags = ModelCard.load(tmp_path / "published" / "README.md").data.tags
    assert "har" in tags and "h" not in tags


def test_push_adapter_to_hub_takes_one_tag_given_as_a_str(tmp_path, monkeypatch):
    """`push_adapter_to_hub(peft_model, repo, tags="imu")` tagged the adapter's card "i", "m" and "u"."""
    from tiny_configs import save_tiny_classifier

    from citrus_hf.publishing import push_adapter_to_hub
    from citrus_hf.training.lora import load_adapter

    base = save_tiny_classifier(tmp_path / "base")
    adapter = load_adapter(base, save_trained_adapter(base, tmp_path / "adapter"))
    _publish_here(monkeypatch, tmp_path / "published")
    push_adapter_to_hub(adapter, "me/imu-adapter", tags="imu", base_model="me/base")
    tags = ModelCard.load(tmp_path / "published" / "README.md").data.tags
    assert "imu" in tags and "i" not in tags


# ------------------------------------------------------------ 2. a regression target's name given as one str


def test_regression_metrics_take_one_target_name_given_as_a_str():
    """`regression_metrics(..., target_names="hr")` of two targets reported `mae_h` and `mae_r` with no word, and of
    one target said "target_names gives 2 names ('h', 'r') for 1 targets"; a str is one name."""
    from citrus_hf.training import regression_metrics

    assert regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0], target_names="hr")["mae"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"\('hr'\) for 2 targets"):
        regression_metrics([[1, 2], [2, 3], [3, 5]], [[1, 2], [2, 3], [4, 4]], target_names="hr")


def test_compute_metrics_fn_reads_one_target_name_given_as_a_str():
    """The Trainer hooks read the targets' names off `compute_metrics_fn` (to minimise `mae_<name>`): a str was read
    as one name per letter."""
    from citrus_hf.training import compute_metrics_fn

    assert compute_metrics_fn("regression", target_names="heart_rate").citrus_target_names == ["heart_rate"]


# ------------------------------------------ 3. build_dataset's selection: one value alone, and keys no set reads


def test_a_selection_of_one_mitdb_record_alone_builds_that_record(tmp_path):
    """`selection={"records": "101"}` said "MIT-BIH record(s) 1, 0, 1 are in neither split" (the str's letters),
    and `{"records": 101}` failed inside str.join; one record alone is the list of that one."""
    from test_data_formats import write_wfdb_record

    from citrus_hf.data import build_dataset

    (tmp_path / "mitdb").mkdir()
    for record in ("101", "106"):
        write_wfdb_record(tmp_path / "mitdb", record, seconds=8)
    for chosen in ("101", 101):
        built = build_dataset(
            "mitdb_beats", data_dir=tmp_path / "mitdb", download=False, cache_dir=tmp_path / "cache",
            selection={"records": chosen},
        )  # fmt: skip
        assert set(built["train"]["recording"]) == {"101"}


def test_a_selection_of_one_sleep_edf_subject_alone_builds_that_subjects_nights(tmp_path):
    """`selection={"subjects": 0}` failed inside the pairing (TypeError: 'int' object is not iterable)."""
    from test_sleep_audit72 import write_night

    from citrus_hf.data import build_dataset

    for subject in range(2):
        write_night(tmp_path / "sleep", [("W", 60), ("2", 60)], recording=f"SC40{subject}1")
    built = build_dataset(
        "sleep_edf", data_dir=tmp_path / "sleep", download=False, cache_dir=tmp_path / "cache",
        selection={"subjects": 0}, channels=["EEG Fpz-Cz"], fractions=(1, 0, 0),
    )  # fmt: skip
    assert {subject for split in built.values() for subject in split["subject"]} == {"SC00"}


@pytest.mark.parametrize(
    ("name", "selection", "said"),
    [
        ("eeg_blink", {"records": ["100"]}, r"'eeg_blink' is built whole.*mitdb_beats"),
        ("mitdb_beats", {"subjects": [1]}, r"takes no selection of 'subjects'; its selection keys are 'records'"),
    ],
)
def test_a_selection_key_the_set_does_not_read_is_refused(name, selection, said, tmp_path):
    """A selection given to a set that reads none of it was dropped without a word: an offline set was built whole,
    and MIT-BIH given `subjects` built every record. Refused before any work (the archive or folder is not read)."""
    from citrus_hf.data import CitrusDataError, build_dataset

    with pytest.raises(CitrusDataError, match=said):
        build_dataset(name, data_dir=tmp_path, download=False, cache_dir=tmp_path / "cache", selection=selection)


# ---------------------------------------------- 4. evaluation results given as the folder `citrus evaluate` wrote


def test_evaluation_results_given_as_their_folder_are_named_a_folder(tmp_path, capsys):
    """`parse_eval_results("runs/eval")` (and `citrus push --eval-results runs/eval`) said the folder "does not
    exist"; it exists, and the file meant is the results.json in it."""
    from citrus_hf.commands.main import main
    from citrus_hf.evaluation import parse_eval_results

    with pytest.raises(IsADirectoryError, match=r"is a folder; pass the results.json .*results\.json"):
        parse_eval_results(tmp_path)
    assert main(["push", str(tmp_path), "me/x", "--eval-results", str(tmp_path)]) == 2
    assert "--eval-results" in (said := capsys.readouterr().err) and "is a folder" in said


# ------------------------------------------------------------ 5. one set's label budget alone in dataset_budgets


@pytest.mark.parametrize("budget", ["all", "10", 10, "10%"])
def test_one_budget_alone_for_a_set_is_that_budget(budget):
    """`ProtocolConfig(dataset_budgets={"eeg_blink": "all"})` said "Cannot read the label budget 'a'", "10" "a label
    budget of 0 examples", 10 "'int' object is not iterable": the value was read as a list of its characters, where
    `budgets="10"` alone is already the list of that one."""
    from citrus_hf.evaluation import ProtocolConfig

    config = ProtocolConfig(arms=["prior"], datasets=["eeg_blink"], dataset_budgets={"eeg_blink": budget})
    assert config.dataset_budgets == {"eeg_blink": [budget]}


# ------------------------------------------------------ 6. a recording file's channel given as one position alone


def test_one_channel_position_alone_is_named_with_the_list_to_pass(edf_path):
    """`read_recording(path, channels=0)` (and the pipelines' `channels=0`, documented `list[str | int]`) failed with
    Python's "object of type 'int' has no len()"; the package names the list to pass, as it does for one name."""
    from citrus_hf.data.readers import read_recording

    with pytest.raises(TypeError, match=r"list of channel names or positions, got 0 \(int\); pass \[0\]"):
        read_recording(edf_path, channels=0)
    assert read_recording(edf_path, channels=[0]).channel_names == ["Fc5."]


# ------------------------------------------------- 7. a dataset card gives the options as the build resolves them


def test_a_dataset_card_gives_the_hop_a_new_window_moved_and_refuses_an_unknown_option():
    """`dataset_card("eeg_pretrain", options={"window_seconds": 10.0})` (what `citrus data build --window-seconds 10
    --push-to-hub` pushes) said hop_seconds 30.0 where the set was built with 10 s windows 10 s apart, and a misspelt
    option was printed beside the default it did not change, in a `build_dataset` call that cannot run."""
    from citrus_hf.data import CitrusDataError
    from citrus_hf.publishing import dataset_card

    card = dataset_card("eeg_pretrain", options={"window_seconds": 10.0})
    assert '"window_seconds": 10.0, "hop_seconds": 10.0' in card
    with pytest.raises(CitrusDataError, match=r"has no option\(s\) \['windw_seconds'\]"):
        dataset_card("hr_ecg", options={"windw_seconds": 5.0})


# ----------------------------------------------- 8. an arm or recipe class that does not define its abstract method


def test_an_arm_class_without_run_is_told_to_define_it():
    """`@register_arm` on an Arm subclass without `run` said it "does not take" arguments and to register an instance,
    `register_arm(NoRun(...))`, which cannot be made either: the class lacks `run`."""
    from citrus_hf.evaluation import ARMS, Arm, register_arm

    class NoRun(Arm):
        name = "no-run-audit77"

    with pytest.raises(TypeError, match=r"NoRun does not define Arm's abstract method\(s\) run\(\): define them"):
        register_arm(NoRun)
    assert "no-run-audit77" not in ARMS


def test_a_recipe_class_without_fit_is_told_to_define_it():
    """`@register_recipe` on a Recipe subclass without `fit` failed with Python's "Can't instantiate abstract class"
    from inside the registry."""
    from citrus_hf.training.recipes import RECIPES, Recipe, register_recipe

    class NoFit(Recipe):
        name = "no-fit-audit77"

    with pytest.raises(TypeError, match=r"NoFit does not define Recipe's abstract method\(s\) fit\(\): define them"):
        register_recipe(NoFit)
    assert "no-fit-audit77" not in RECIPES
