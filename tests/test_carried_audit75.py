"""Items carried over several audits, settled (session 75): each test names what a user met before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

# ---------------------------------------------------------------------------- citrus evaluate --class-weight balanced


def test_the_patchtst_arms_fine_tune_with_the_class_weights_of_the_citrus_arms(monkeypatch, tmp_path):
    """`--class-weight balanced` weighed the CiTrus arms' fine-tuning loss while the PatchTST arm trained unweighted,
    so the paired gap between them on an imbalanced set compared two weightings. Every trained arm now hands the
    Trainer the same weights of its draw; recorded PatchTST runs (unweighted) are not reused under the setting."""
    from citrus_hf.evaluation.protocol import ProtocolConfig, _report_metadata, run_protocol
    from citrus_hf.training import trainer
    from citrus_hf.training.finetune import TrainerSettings

    asked = []
    fit = trainer.train_with_trainer

    def spy(model, train, validation, task, output_dir, settings, data_collator=None, label_names=None, **kwargs):
        weights = kwargs.get("class_weights")
        asked.append((type(model).__name__, None if weights is None else np.asarray(weights).tolist(), label_names))
        return fit(model, train, validation, task, output_dir, settings, data_collator, label_names, **kwargs)

    monkeypatch.setattr(trainer, "train_with_trainer", spy)
    settings = dict(
        datasets=["basic_motions"],
        budgets=["2"],
        seeds=[0],
        arms=["citrus-scratch", "patchtst-scratch"],
        model_config="tiny",
        show_progress=False,
        finetune=TrainerSettings(max_steps=2, eval_steps=1, per_device_batch_size=4, show_progress=False),
        recipe="finetune",
    )
    weighted = ProtocolConfig(output_dir=str(tmp_path / "w"), class_weight="balanced", **settings)
    runs = run_protocol(weighted).runs
    assert len(runs) == 2 and all(np.isfinite(run["macro_f1"]) for run in runs)
    by_model = {name: (weights, labels) for name, weights, labels in asked}
    assert by_model["CiTrusForSequenceClassification"][0] == [1.0] * 4  # two of each of the 4 classes
    # the same weights, given to the Trainer's loss (which reads `labels`) rather than to PatchTST's own
    assert by_model["PatchTSTForClassification"] == ([1.0] * 4, ["labels"])
    assert _report_metadata(weighted, {})["class weights"] == (
        "balanced (classification sets) in citrus-scratch, patchtst-scratch"
    )
    signatures = weighted.run_signatures()
    assert signatures["patchtst-scratch"] != weighted.signature()

    asked.clear()
    plain = ProtocolConfig(output_dir=str(tmp_path / "p"), **settings)
    run_protocol(plain)
    assert {name: (weights, labels) for name, weights, labels in asked}["PatchTSTForClassification"] == (
        None,
        ["target_values"],
    )
    # unweighted runs keep the signature of the runs recorded before
    assert plain.run_signatures()["patchtst-scratch"] == plain.signature()


def test_the_weighted_cross_entropy_reads_patchtst_logits():
    """The Trainer's weighted loss read `outputs["logits"]`, which transformers' PatchTST calls `prediction_logits`:
    the weighted loss of a PatchTST classifier (`--class-weight balanced`) is its cross-entropy, weighted by class."""
    from citrus_hf.evaluation.baselines import PatchTSTCollator, build_patchtst_task_model
    from citrus_hf.loading import build_config
    from citrus_hf.training.trainer import weighted_cross_entropy

    config = build_config("tiny")
    model = build_patchtst_task_model("classification", 2, config, num_labels=3).eval()
    collator = PatchTSTCollator("classification", config.patch_length, "labels")
    generator = torch.Generator().manual_seed(0)
    rows = [
        {
            "input_values": torch.randn(2, config.context_length, generator=generator),
            "patch_mask": torch.ones(config.context_length // config.patch_length, dtype=torch.int8),
            "labels": torch.tensor(label),
        }
        for label in (0, 0, 0, 1, 2)
    ]
    batch = collator(rows)
    labels = batch.pop("labels")  # as the Trainer takes them out for its `compute_loss_func`
    with torch.no_grad():
        outputs = model(**batch)
    weights = np.array([0.5, 2.0, 3.0])
    loss = weighted_cross_entropy(weights)(outputs, labels)
    per_example = torch.nn.functional.cross_entropy(outputs.prediction_logits, labels, reduction="none")
    assert float(loss) == pytest.approx(float((torch.tensor(weights).float()[labels] * per_example).mean()), rel=1e-6)


# ------------------------------------------------------------------------------------------ nested settings files


def test_a_nested_seed_of_the_evaluate_settings_file_is_said_to_be_ignored(tmp_path, caplog):
    """`citrus evaluate config.yaml` with `finetune: {seed: 5}` (nested as the Python `ProtocolConfig` holds it) dropped
    the seed without a word, as the command sets each run's seed from `seeds`: the user believed the runs used it. It
    is still dropped (a protocol.json the command wrote runs again as it is), and said so, naming --seeds; the other
    nested keys are taken, and a file holding the default seed (every protocol.json) says nothing."""
    import logging

    from citrus_hf.commands import evaluate

    settings = tmp_path / "evaluate.yaml"
    settings.write_text("datasets: [basic_motions]\noutput_dir: out\nfinetune:\n  seed: 5\n  max_steps: 7\n")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        parsed = evaluate.build_parser().parse([str(settings)])
    assert parsed.finetune.max_steps == 7 and parsed.finetune.seed == 0
    assert "sets finetune: seed: 5, which citrus evaluate ignores: it sets each run's seed from `seeds` (--seeds)" in (
        caplog.text
    )
    caplog.clear()
    settings.write_text("datasets: [basic_motions]\noutput_dir: out\nfinetune:\n  seed: 0\n  max_steps: 7\n")
    with caplog.at_level(logging.WARNING, logger="citrus_hf"):
        evaluate.build_parser().parse([str(settings)])
    assert "ignores" not in caplog.text


@pytest.mark.parametrize(
    "command, text, said",
    [
        (
            "finetune",
            "dataset: basic_motions\noutput_dir: ${oc.env:HOME}/har\n",
            "sets output_dir: '${oc.env:HOME}/har', an interpolation",
        ),
        (
            "evaluate",
            "datasets: [basic_motions]\noutput_dir: out\nfinetune:\n  learning_rate: ${lr}\n",
            "sets finetune: learning_rate: '${lr}', an interpolation",
        ),
    ],
    ids=["output_dir", "nested"],
)
def test_an_omegaconf_interpolation_in_a_settings_file_is_refused(tmp_path, command, text, said):
    """A settings file written for OmegaConf / Hydra (`output_dir: ${oc.env:HOME}/har`) was read as plain YAML: the
    interpolation stayed text, and the run wrote into a folder named `${oc.env:HOME}` under the working folder
    without a word. It is refused, naming the setting and how to resolve it."""
    from citrus_hf.commands import UsageError, evaluate, finetune

    settings = tmp_path / "settings.yaml"
    settings.write_text(text)
    parser = {"finetune": finetune, "evaluate": evaluate}[command].build_parser()
    with pytest.raises(UsageError, match="resolve=True") as refused:
        parser.parse([str(settings)])
    assert said in str(refused.value)


def test_the_protocol_takes_its_trainer_settings_as_a_dict(tmp_path):
    """`ProtocolConfig(**asdict(config))` (which its own code calls the same protocol), `ProtocolConfig(**settings)`
    of a protocol.json or a Hydra config's nested `finetune` mapping failed with "'dict' object has no attribute
    'lr_scheduler_type'" deep in its checks, where `FinetuneArguments` took a dict `trainer`. The mapping is read over
    the protocol's default Trainer settings, its unknown names refused."""
    import json
    from dataclasses import asdict, replace

    from citrus_hf.evaluation import ProtocolConfig
    from citrus_hf.training.finetune import TrainerSettings

    config = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], finetune=TrainerSettings(max_steps=3))
    again = ProtocolConfig(**json.loads(json.dumps(asdict(config))))
    assert again == config and again.signature() == config.signature()
    nested = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], finetune={"learning_rate": 3e-4})
    default = ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"]).finetune
    assert nested.finetune == replace(default, learning_rate=3e-4)
    with pytest.raises(ValueError, match=r"`finetune` has no settings \['max_step'\]"):
        ProtocolConfig(output_dir=str(tmp_path), datasets=["basic_motions"], finetune={"max_step": 3})


def test_the_patchtst_arms_early_stop_counting_examples_as_the_citrus_arms_do(monkeypatch, tmp_path):
    """A set cut into windows (`window_seconds`): the CiTrus arms' early stopping counted the labelled examples
    (recordings) validation holds, PatchTST's counted its windows, so on the same draw one stopped early on a
    validation split of too few examples and the other did not. Both now give the recipe the same examples."""
    from dataclasses import replace

    from test_leftovers8_audit73 import RATE, _class_folders

    from citrus_hf.evaluation.protocol import ProtocolConfig, run_protocol
    from citrus_hf.training import recipes
    from citrus_hf.training.finetune import TrainerSettings

    counted = []
    usable = recipes.validation_is_usable

    def spy(validation, task, train_labels, examples=None):
        counted.append(None if examples is None else len(set(np.asarray(examples).tolist())))
        return usable(validation, task, train_labels, examples)

    monkeypatch.setattr(recipes, "validation_is_usable", spy)
    folder = str(_class_folders(tmp_path / "set", recordings=3, windows=10))
    config = ProtocolConfig(
        output_dir=str(tmp_path / "run"),
        datasets=[folder],
        sampling_rate=RATE,
        dataset_options={folder: {"window_seconds": 2.0}},
        select_on_validation=True,
        budgets=["1"],
        seeds=[0],
        arms=["citrus-scratch", "patchtst-scratch"],
        model_config="tiny",
        recipe="finetune",
        show_progress=False,
        finetune=TrainerSettings(max_steps=1, eval_steps=1, per_device_batch_size=16, show_progress=False),
    )
    run_protocol(config)
    assert counted == [2, 2]  # one carved validation recording per class, for either arm
    assert config.run_signatures()["patchtst-scratch"] != config.signature()
    # runs that never early-stop (the default) keep their signature
    plain = replace(config, select_on_validation=False)
    assert plain.run_signatures()["patchtst-scratch"] == plain.signature()
