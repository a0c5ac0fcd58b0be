"""A corpus planned once per protocol run (session 78, area corpusplan): `citrus evaluate` pre-trains each of its
pre-trained arms on `config.corpus` with the same options, and every arm's `pretrain` built the corpus three times
(training split, validation split, their names), each build planning it again: loading every recording to count its
windows: 21 plans for the seven arms, a tenth of a second of CPU each for eeg_pretrain, four seconds each for
pretrain_corpus. Within
`builders.one_plan_per_set`, which `pretrain_arms` takes, a set is planned once per options; the rows, and so the
pre-trained weights, are those of a run without it."""

import json
from pathlib import Path

import pytest
from safetensors.torch import load_file

from citrus_hf.data import build_dataset, builders
from citrus_hf.data.sources import pretraining
from citrus_hf.evaluation.arms import ARMS
from citrus_hf.evaluation.protocol import _pretrain_arguments, pretrain_arms
from citrus_hf.evaluation.settings import ProtocolConfig
from citrus_hf.training.pretrain import SUMMARY_FILE, pretrain

pytestmark = pytest.mark.filterwarnings("ignore::citrus_hf.training.pretrain.PretrainingDidNotLearnWarning")

# a CiTrus arm and PatchTST (pre-trained through `baselines.pretrain_patchtst`): two model families, two contracts
TWO_ARMS = ("citrus-time", "patchtst-pretrained")


def _counting_plans(monkeypatch) -> list[dict]:
    """The options of every plan of an unlabelled corpus (`recordings.plan_channel_corpus`, as eeg_pretrain's builder
    calls it), in order."""
    planned: list[dict] = []
    plan = pretraining.plan_channel_corpus

    def counted(recordings, options, *arguments, **keywords):
        planned.append(dict(options))
        return plan(recordings, options, *arguments, **keywords)

    monkeypatch.setattr(pretraining, "plan_channel_corpus", counted)
    return planned


@pytest.fixture(scope="module")
def protocol_pretraining(tmp_path_factory):
    """`pretrain_arms` of `TWO_ARMS` for two steps on eeg_pretrain's 10 s windows (the settings of
    test_evaluation's every-arm test): `(its config, arm -> checkpoint, the options of every plan it made)`."""
    config = ProtocolConfig(
        output_dir=str(tmp_path_factory.mktemp("corpusplan") / "eval"),
        datasets=["basic_motions"],
        arms=list(TWO_ARMS),
        model_config="tiny",
        pretrain_steps=2,
        pretrain_batch_size=8,
        corpus_options={"window_seconds": 10, "hop_seconds": 10},
        show_progress=False,
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        planned = _counting_plans(monkeypatch)
        checkpoints, _ = pretrain_arms(config)
    return config, checkpoints, planned


def test_the_protocol_plans_its_corpus_once_for_every_arm_it_pre_trains(protocol_pretraining):
    config, checkpoints, planned = protocol_pretraining
    assert set(checkpoints) == set(TWO_ARMS)
    # one plan, not three per arm (six here; 21 for the seven pre-trained arms of `citrus evaluate`)
    assert len(planned) == 1 and planned[0]["window_seconds"] == 10


def test_the_arms_pre_trained_on_one_plan_are_those_pre_trained_alone(protocol_pretraining, tmp_path, monkeypatch):
    """The same windows in the same order and the same seeded draws, so the same weights and losses as each arm's
    `pretrain` alone (as `citrus pretrain` runs it); that run, which built its corpus three times (training split,
    validation split, their names) and planned it at each, plans it once (pretrain_corpus's plan: seconds)."""
    from citrus_hf.evaluation.baselines import pretrain_patchtst

    config, checkpoints, _ = protocol_pretraining
    for name in TWO_ARMS:
        alone = tmp_path / name
        arguments = _pretrain_arguments(config, ARMS[name], alone)
        with monkeypatch.context() as patches:
            planned = _counting_plans(patches)
            (pretrain_patchtst if name.startswith("patchtst") else pretrain)(arguments)
        assert len(planned) == 1, name
        shared, own = load_file(f"{checkpoints[name]}/model.safetensors"), load_file(alone / "model.safetensors")
        assert shared.keys() == own.keys() and all(shared[key].equal(own[key]) for key in own), name
        shared, own = (json.loads((Path(folder) / SUMMARY_FILE).read_text()) for folder in (checkpoints[name], alone))
        for field in ("num_train_windows", "train_losses", "eval_losses", "final_loss"):
            assert shared[field] == own[field], (name, field)


def test_a_set_is_planned_once_per_options_within_the_scope_and_afresh_outside(monkeypatch):
    """Plans (`write_plan` stood in for, so nothing is written): one per distinct options within `one_plan_per_set`,
    each build of the same options reading the first's; a new one for every build outside any scope."""
    planned = _counting_plans(monkeypatch)
    monkeypatch.setattr(builders, "write_plan", lambda name, version, options, plan, *rest, **keywords: plan)
    with builders.one_plan_per_set():
        first = build_dataset("eeg_pretrain", window_seconds=10, hop_seconds=10)
        with builders.one_plan_per_set():  # nested: the same scope
            assert build_dataset("eeg_pretrain", window_seconds=10, hop_seconds=10) is first
        other_seed = build_dataset("eeg_pretrain", window_seconds=10, hop_seconds=10, seed=1)
        assert build_dataset("eeg_pretrain", window_seconds=10, hop_seconds=10, seed=1) is other_seed
    assert [options["seed"] for options in planned] == [0, 1]
    alone = build_dataset("eeg_pretrain", window_seconds=10, hop_seconds=10)
    assert alone is not first and len(planned) == 3
    assert alone.splits == first.splits and alone.generator is first.generator  # the same recordings, in one order
