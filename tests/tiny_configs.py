"""The tiny CiTrus configuration of the test modules (a module of its own: `conftest` names are ambiguous between test
folders, so tests import from here)."""

from __future__ import annotations

import numpy as np

from citrus_hf import CiTrusConfig
from citrus_hf.configuration_citrus import MODEL_PRESETS

# The "tiny" preset (a few thousand parameters) at the input the model tests feed it: 200 samples, 2 s at 100 Hz, in
# 10 patches of 20.
TINY = {**MODEL_PRESETS["tiny"], "sampling_rate": 100.0, "context_length": 200, "patch_length": 20}


def tiny_config(**overrides) -> CiTrusConfig:
    """The tiny preset with `overrides`: 200 samples, 10 patches of 20, one layer of width 16."""
    return CiTrusConfig(**{**TINY, **overrides})


def save_tiny_classifier(folder, num_labels: int = 2):
    """A tiny `CiTrusForSequenceClassification` of `num_labels` classes and its extractor saved in `folder`, as a
    fine-tuned checkpoint's folder holds them. Returns `folder`."""
    from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

    config = tiny_config(num_labels=num_labels)
    CiTrusForSequenceClassification(config).save_pretrained(folder)
    CiTrusFeatureExtractor.from_config(config).save_pretrained(folder)
    return folder


def save_trained_adapter(base, folder):
    """A LoRA adapter (rank 2) on the classifier saved in `base`, with its B matrices drawn away from zero as training
    leaves them (a fresh adapter changes nothing), saved in `folder` with `save_adapter`. Returns `folder`."""
    import torch

    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.lora import apply_lora, save_adapter

    peft_model = apply_lora(CiTrusForSequenceClassification.from_pretrained(base), r=2, verbose=False)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
    save_adapter(peft_model, folder)
    return folder


def diverging_trainer(output_dir, callbacks):
    """A `Trainer` of a tiny 3-class classifier on 16 random windows whose learning rate of 1e30 (constant, no weight
    decay, no clipping) blows the weights up at step 1, so the loss of step 2 is NaN; it saves a checkpoint every step
    into `output_dir`. Returns `(trainer, model)`."""
    import torch
    from transformers import Trainer, TrainingArguments

    from citrus_hf import CiTrusForSequenceClassification

    generator = torch.Generator().manual_seed(0)
    rows = [{"input_values": torch.randn(1, 200, generator=generator), "labels": i % 3} for i in range(16)]
    model = CiTrusForSequenceClassification(tiny_config(num_labels=3))
    arguments = TrainingArguments(
        output_dir=str(output_dir), max_steps=6, per_device_train_batch_size=8, learning_rate=1e30, weight_decay=0.0,
        lr_scheduler_type="constant", save_strategy="steps", save_steps=1, logging_steps=1, report_to="none",
        use_cpu=True, disable_tqdm=True, max_grad_norm=0.0,
    )  # fmt: skip
    return Trainer(model=model, args=arguments, train_dataset=rows, callbacks=callbacks), model


def write_edf(
    path, signals, labels, rates, units="uV", peak: float = 500.0, plus: bool = True, start=None, annotations=()
):
    """An EDF+ file (plain EDF with `plus=False`, as Sleep-EDF's PSG files) at `path` of `signals` (one 1-D array
    `(time,)` per channel, in physical units), each channel labelled `labels[i]`, sampled at `rates` Hz and recorded
    in `units` (one for every channel, or a list of one per channel), stored as 16-bit samples over -`peak` .. `peak`
    (a sample beyond is clipped by the writer); `start` the recording's start (a `datetime`), pyedflib's default
    (now) when None; `annotations` EDF+ annotations, (onset s, duration s, description). Returns `path`."""
    import pyedflib

    count = len(labels)
    rates = list(rates) if isinstance(rates, list | tuple) else [rates] * count
    units = list(units) if isinstance(units, list | tuple) else [units] * count
    headers = [
        dict(label=label, dimension=unit, sample_frequency=rate, physical_max=peak, physical_min=-peak,
             digital_max=32767, digital_min=-32768, transducer="", prefilter="")
        for label, rate, unit in zip(labels, rates, units, strict=True)
    ]  # fmt: skip
    writer = pyedflib.EdfWriter(
        str(path), count, file_type=pyedflib.FILETYPE_EDFPLUS if plus else pyedflib.FILETYPE_EDF
    )
    try:
        writer.setSignalHeaders(headers)
        if start is not None:
            writer.setStartdatetime(start)
        for onset, duration, description in annotations:
            writer.writeAnnotation(onset, duration, description)
        writer.writeSamples([np.ascontiguousarray(signal, dtype=np.float64) for signal in signals])
    finally:
        writer.close()
    return path


def write_edf_annotations(path, items, start=None):
    """An EDF+ file at `path` of annotations only (as a Sleep-EDF hypnogram): `items` are (onset s, duration s or None
    for a point event, description); `start` the recording's start (a `datetime`), pyedflib's default when None.
    Returns `path`."""
    import pyedflib

    writer = pyedflib.EdfWriter(str(path), 0, file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        if start is not None:
            writer.setStartdatetime(start)
        for onset, duration, description in items:
            writer.writeAnnotation(onset, -1 if duration is None else duration, description)
    finally:
        writer.close()
    return path


def project_with_tiny_classifier(tmp_path, monkeypatch):
    """A notebook's two project folders: `project` (the working directory, offline, with a tiny classifier saved at
    its relative path `runs/base`) and `elsewhere` (empty), for tests of what a relative folder means after a chdir.
    Returns `(project, elsewhere)`."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    (project / "runs").mkdir(parents=True)
    elsewhere.mkdir()
    monkeypatch.chdir(project)
    save_tiny_classifier("runs/base")
    return project, elsewhere


def checkpointing_on(model, **checkpoint_kwargs) -> None:
    """Turn activation (gradient) checkpointing on under the name this transformers has: `activation_checkpointing_
    enable` from 5.23, where the older `gradient_checkpointing_enable` gives a FutureWarning; `checkpoint_kwargs`
    (`use_reentrant=`) go to torch's checkpoint."""
    if hasattr(model, "activation_checkpointing_enable"):
        model.activation_checkpointing_enable(activation_checkpointing_kwargs=checkpoint_kwargs or None)
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=checkpoint_kwargs or None)


def checkpointing_off(model) -> None:
    """Turn activation checkpointing off under the name this transformers has (see `checkpointing_on`)."""
    (getattr(model, "activation_checkpointing_disable", None) or model.gradient_checkpointing_disable)()


def synthetic_pretrain_arguments(output_dir, **changes):
    """`PretrainArguments` of a tiny pre-training on synthetic windows only (no corpus to build), quiet, in
    `output_dir`, with `changes`."""
    from citrus_hf.training.arguments import PretrainArguments

    return PretrainArguments(
        output_dir=str(output_dir),
        dataset="none",
        synthetic_ratio=1.0,
        synthetic_generators={"kernel_synth": 1.0},
        model_config="tiny",
        report_to="none",
        show_progress=False,
        **changes,
    )
