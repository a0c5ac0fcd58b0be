"""Mutation audit 79, second part, of publishing/push.py and publishing/hooks.py: the branch a push lands on, the
revision whose files it deletes, the commit it goes onto, and the Trainer / peft push hooks. Each test here failed on
a hand-made mutant of the module that the suite let through (the mutant named in its docstring) and passes on the
package as it is. The pushes run on the test Hub served in this process (`local_hub`); no network."""

from __future__ import annotations

from concurrent.futures import Future


def test_a_failed_background_upload_runs_nothing_after_it():
    """`_followed_by` (a Trainer's `push_to_hub(blocking=False)`): where the upload fails, the deletion of the other
    kind's files must not run (it would delete them from a repository the new checkpoint never reached) and the
    future carries the upload's error. Mutant h10 (`then()` run whatever the upload's outcome) passed."""
    from citrus_hf.publishing.hooks import _followed_by

    ran = []
    upload = Future()
    pushed = _followed_by(upload, lambda: ran.append("deletion"))
    refused = OSError("the Hub refused the upload")
    upload.set_exception(refused)
    assert pushed.exception() is refused
    assert ran == []


# -------------------------------------------------------------------- Trainer.push_to_hub: what it deletes, where


def _trainer_deletions(tmp_path, monkeypatch, model, push_kwargs, **arguments) -> list[dict]:
    """The arguments `Trainer.push_to_hub(**push_kwargs)` of `model` (a Trainer built with `TrainingArguments(
    **arguments)`) passes to `push.delete_the_other_kind`, with the upload going to tests/test_suite78_audit78.py's
    `_StubHub` (no Hub: the card is not drafted, the repository id is set)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import transformers.trainer
    from test_suite78_audit78 import _StubHub
    from transformers import Trainer, TrainingArguments

    from citrus_hf.publishing import push

    deletions, gate = [], threading.Event()
    gate.set()
    monkeypatch.setattr(
        push,
        "delete_the_other_kind",
        lambda repo_id, folder, adapter, **given: deletions.append({"adapter": adapter, **given}),
    )
    with ThreadPoolExecutor(max_workers=1) as executor:
        monkeypatch.setattr(transformers.trainer, "hf_api", lambda: _StubHub(executor, [], gate))
        args = TrainingArguments(
            tmp_path / "run", use_cpu=True, report_to="none", hub_model_id="user/tiny", **arguments
        )
        trainer = Trainer(model=model, args=args)
        trainer.hub_model_id = "user/tiny"  # (`init_hf_repo` would create it on the Hub)
        monkeypatch.setattr(trainer, "create_model_card", lambda **kwargs: None)
        trainer.push_to_hub(**push_kwargs)
    return deletions


def test_a_trainer_push_deletes_on_its_hub_revision_with_its_hub_token(tmp_path, monkeypatch):
    """`TrainingArguments(hub_revision=..., hub_token=...)` with `push_to_hub()` given neither: the upload goes to
    that branch, so the other kind's files are deleted there, not on the default branch (whose checkpoint this push
    never replaced). Mutant h05 (the deletion on `push_to_hub`'s own `revision=` only) passed."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    deletions = _trainer_deletions(tmp_path, monkeypatch, model, {}, hub_revision="dev", hub_token="hf_args")
    assert deletions == [{"adapter": False, "fusion": False, "revision": "dev", "token": "hf_args"}]
    given = _trainer_deletions(
        tmp_path, monkeypatch, model, {"revision": "v2", "token": "hf_given"}, hub_revision="dev"
    )
    assert given == [{"adapter": False, "fusion": False, "revision": "v2", "token": "hf_given"}]


def test_a_trainer_push_of_an_adapter_or_a_fusion_model_replaces_the_other_kinds(tmp_path, monkeypatch):
    """A Trainer holding a LoRA adapter pushes an adapter (the full model's files are the other kind), one holding a
    fusion model a fusion checkpoint (the single-modality extractor is the other kind's). Mutants h03 (`adapter`
    always False) and h04 (`fusion` always False) passed."""
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification, CiTrusFusionConfig, CiTrusFusionForSequenceClassification
    from citrus_hf.training import lora

    adapter = lora.apply_lora(CiTrusForSequenceClassification(tiny_config(num_labels=2)), r=2, verbose=False)
    assert _trainer_deletions(tmp_path, monkeypatch, adapter, {}) == [
        {"adapter": True, "fusion": False, "revision": None, "token": None}
    ]
    config = CiTrusFusionConfig(modality_configs={"ecg": tiny_config(), "eda": tiny_config()}, num_labels=2)
    fusion = CiTrusFusionForSequenceClassification(config)
    assert _trainer_deletions(tmp_path, monkeypatch, fusion, {}) == [
        {"adapter": False, "fusion": True, "revision": None, "token": None}
    ]


# -------------------------------------------------------------------- push_to_hub to a branch


def test_a_push_to_a_branch_reads_and_replaces_that_branch_only(local_hub):
    """A second push to the branch `dev` keeps the licence of dev's card (not main's) when given none, and deletes
    the adapter files dev holds while main keeps its own. Mutants p21 (a branch the repository has read as new),
    p23 (its head read from the default branch), p24 / p25 / p27 (its card read from the default branch) and p04
    (the upload deletes nothing) passed."""
    from hub_server import DEFAULT_TOKEN, DEFAULT_USER
    from huggingface_hub import HfApi
    from tiny_configs import tiny_config

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.publishing import push

    repo = f"{DEFAULT_USER}/citrus-branches"
    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, license="mit")
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, revision="dev", license="bsd-3-clause")
    api = HfApi(token=DEFAULT_TOKEN)
    for branch in ("main", "dev"):  # an adapter left on each branch (an earlier push of the other kind)
        api.upload_file(path_or_fileobj=b"{}", path_in_repo="adapter_config.json", repo_id=repo, revision=branch)
    push.push_to_hub(model, repo, token=DEFAULT_TOKEN, revision="dev", tags=["second"])
    dev, main = local_hub.repo_files(repo, "dev"), local_hub.repo_files(repo)
    assert b"license: bsd-3-clause" in dev["README.md"] and b"- second" in dev["README.md"]
    assert "adapter_config.json" not in dev
    assert b"license: mit" in main["README.md"] and b"- second" not in main["README.md"]
    assert "adapter_config.json" in main


def test_a_trainer_pushing_during_training_creates_its_branch_and_one_pushing_at_the_end_leaves_it(local_hub, tmp_path):
    """`Trainer(...)` with `push_to_hub=True` and a `hub_revision` the repository lacks creates that branch when the
    checkpoints are pushed during training (their background uploads to a missing branch failed unseen), and leaves
    it to `push_to_hub` with `hub_strategy="end"`. Mutant h02 (the strategies read the other way round) passed."""
    from hub_server import DEFAULT_TOKEN, DEFAULT_USER
    from huggingface_hub import HfApi
    from tiny_configs import tiny_config
    from transformers import Trainer, TrainingArguments

    from citrus_hf import CiTrusForSequenceClassification

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    api = HfApi(token=DEFAULT_TOKEN)
    for strategy, created in (("every_save", True), ("end", False)):
        repo = f"{DEFAULT_USER}/citrus-trainer-{strategy.replace('_', '-')}"
        args = TrainingArguments(
            tmp_path / strategy, use_cpu=True, report_to="none", push_to_hub=True, hub_model_id=repo,
            hub_revision="dev", hub_strategy=strategy, hub_token=DEFAULT_TOKEN,
        )  # fmt: skip
        Trainer(model=model, args=args)
        branches = {branch.name for branch in api.list_repo_refs(repo).branches}
        assert ("dev" in branches) is created, (strategy, branches)
