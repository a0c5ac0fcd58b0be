"""The protocol's honesty: a pre-trained arm never scored on windows its corpus holds, whichever corpus, and AUROC that
keeps the order of the scores (an audit of the evaluation's claims)."""

import numpy as np
import pytest


def test_auroc_keeps_the_order_of_margins_softmax_rounds_to_one():
    """AUROC ranked softmax probabilities, which are exactly 1.0 for margins of 40 and more: distinct scores tied."""
    from sklearn.metrics import roc_auc_score

    from citrus_hf.training.metrics import classification_metrics

    labels = np.array([0, 1, 0, 1, 0, 1])
    margins = np.array([40.0, 45.0, 50.0, 55.0, 60.0, 65.0])
    logits = np.stack([np.zeros(6), margins], axis=1)
    assert classification_metrics(logits, labels)["auroc"] == pytest.approx(roc_auc_score(labels, margins))
    three = np.stack([np.zeros(6), margins, margins - 1000], axis=1)
    assert classification_metrics(three, labels)["auroc"] == pytest.approx(roc_auc_score(labels, margins))


@pytest.mark.usefixtures("offline_archives_cached")
def test_an_arm_is_not_scored_on_windows_its_corpus_holds_whatever_the_corpus(tmp_path):
    """The check ran only for pretrain_corpus and only with non-default set options: a checkpoint pre-trained on
    multimodal_unlabelled (which holds every hr_ecg test window) was scored on hr_ecg, and one whose pretrain_corpus let
    the validation split join was scored on that validation split."""
    import json
    import shutil

    from citrus_hf._bundled import folder_if_bundled
    from citrus_hf.evaluation.protocol import ProtocolConfig, _check_not_pretrained_on, _dataset_context

    folder = tmp_path / "checkpoint"
    shutil.copytree(folder_if_bundled("citrus-small"), folder)
    summary = json.loads((folder / "pretraining_summary.json").read_text())
    summary.pop("dataset_built_from", None)

    def pretrained_on(dataset, options):
        summary["arguments"] = {**summary.get("arguments", {}), "dataset": dataset, "dataset_options": options}
        (folder / "pretraining_summary.json").write_text(json.dumps(summary))

    def check(dataset, **settings):
        config = ProtocolConfig(
            output_dir=str(tmp_path / "out"), datasets=[dataset], arms=["citrus-small", "minirocket"],
            checkpoints={"citrus-small": str(folder)}, seeds=[0], budgets=["5"], **settings,
        )  # fmt: skip
        _check_not_pretrained_on(config, _dataset_context(config, dataset), {"citrus-small": str(folder)})

    pretrained_on("multimodal_unlabelled", {})
    with pytest.raises(ValueError, match="pre-trained on multimodal_unlabelled, which pools .*systole_task1"):
        check("hr_ecg")
    pretrained_on("pretrain_corpus", {"labelled_splits": ["train", "validation"]})
    with pytest.raises(ValueError, match="of the 100 validation windows of eeg_blink .* are in the corpus"):
        check("eeg_blink", score_split="validation")
    pretrained_on("pretrain_corpus", {})
    check("eeg_blink", score_split="validation")
