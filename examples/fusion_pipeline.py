"""Score a long multimodal recording with a fusion model through its transformers pipeline.

A fusion classifier (one CiTrus encoder per modality, their embeddings fused under one head) takes one window per
modality; the pipeline cuts each modality's recording into windows of the same times, aligns each with its own
extractor, runs them in batches and returns every window's label and the whole recording's:

    python examples/fusion_pipeline.py --model runs/fusion --modality ecg=ECG.csv --modality eda=EDA.csv
    python examples/fusion_pipeline.py --model runs/fusion --recording night.edf \\
        --modality-channels "eeg=EEG Fpz-Cz,EEG Pz-Oz" eog="EOG horizontal"
    python examples/fusion_pipeline.py --tiny  # a random tiny fusion model on 30 s of synthetic ECG + EDA (seconds)

`--model` is the folder `Trainer.save_model` wrote for a fusion model (weights, config and processor).
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
import transformers

import citrus_hf  # registers the CiTrus pipelines with transformers


def tiny_fusion_folder() -> str:
    """A random tiny fusion classifier (ECG at 100 Hz, EDA at 20 Hz, 2 s windows) saved with its processor."""
    import torch

    from citrus_hf import CiTrusConfig
    from citrus_hf.configuration_citrus import MODEL_PRESETS
    from citrus_hf.modeling_citrus_fusion import CiTrusFusionForSequenceClassification
    from citrus_hf.processing_citrus_fusion import CiTrusFusionProcessor

    small = {**MODEL_PRESETS["tiny"], "context_length": 200, "patch_length": 20}
    configs = {
        "ecg": CiTrusConfig(**small),
        "eda": CiTrusConfig(
            **{**small, "sampling_rate": 20, "context_length": 40, "patch_length": 10, "spectrogram_n_fft": 10}
        ),
    }
    torch.manual_seed(0)
    model = CiTrusFusionForSequenceClassification.from_encoders(
        {name: citrus_hf.CiTrusModel(config) for name, config in configs.items()},
        id2label={0: "calm", 1: "stressed"},
    )
    folder = tempfile.mkdtemp()
    model.save_pretrained(folder)
    CiTrusFusionProcessor.from_config(model.config).save_pretrained(folder)
    return folder


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a fusion model's folder (or Hub id)")
    parser.add_argument("--modality", action="append", default=[], help="MODALITY=FILE, one per modality")
    parser.add_argument("--recording", help="one file holding every modality (with --modality-channels)")
    parser.add_argument("--modality-channels", nargs="+", default=[], help="MODALITY=CHANNEL,CHANNEL ...")
    parser.add_argument("--sampling-rate", type=float, help="Hz, for files that do not record their rate")
    parser.add_argument("--hop-seconds", type=float, help="seconds between window starts (default: the window)")
    parser.add_argument("--tiny", action="store_true", help="a random tiny model on synthetic signals")
    args = parser.parse_args(argv)
    if args.tiny:
        folder = tiny_fusion_folder()
        rng = np.random.default_rng(0)
        inputs = {"ecg": rng.standard_normal(30 * 250), "eda": rng.standard_normal(30 * 32)}
        options = {"sampling_rate": {"ecg": 250, "eda": 32}}
    elif args.model is None:
        parser.error("give --model (a fusion model's folder), or --tiny")
    else:
        folder = args.model
        options = {} if args.sampling_rate is None else {"sampling_rate": args.sampling_rate}
        if args.recording:
            inputs = args.recording
            options["modality_channels"] = {
                name: channels.split(",") for name, channels in (item.split("=", 1) for item in args.modality_channels)
            }
        else:
            inputs = dict(item.split("=", 1) for item in args.modality)
    if args.hop_seconds is not None:
        options["hop_seconds"] = args.hop_seconds
    # `transformers.pipeline` looked up after `import citrus_hf`, which makes it build fusion pipelines too
    classify = transformers.pipeline(model=folder)  # the fusion pipeline: the task comes from the checkpoint
    result = classify(inputs, **options)
    for window in result["windows"]:
        print(f"{window['start']:8.1f}-{window['end']:8.1f} s  {window['label']}  {window['score']:.3f}")
    print(f"recording: {result['label']} ({result['score']:.3f}); seconds per label {result['label_seconds']}")
    return result


if __name__ == "__main__":
    main()
