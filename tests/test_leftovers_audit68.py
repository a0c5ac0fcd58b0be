"""Leftovers of session 68's audits mended directly: advice that, followed literally, must work."""

from __future__ import annotations

import ast
import re

import numpy as np
import pytest
from tiny_configs import save_tiny_classifier


def test_non_lora_adapter_refusal_advice_gives_a_folder_the_pipeline_takes(tmp_path):
    """An IA3 adapter is refused by citrus-hf's adapter loading with advice to merge it with peft and save it; that
    folder lacked the feature extractor (it stays with the adapter), so `pipeline(model=merged)` refused it in turn.
    The advice names the extractor to save beside the merged model, and following it gives a working pipeline."""
    from peft import IA3Config, PeftModel, get_peft_model
    from transformers import AutoFeatureExtractor, pipeline

    from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor, CiTrusForSequenceClassification
    from citrus_hf.training.lora import load_adapter, save_task_config

    base = save_tiny_classifier(tmp_path / "base", num_labels=3)
    adapter = tmp_path / "adapter"
    peft_model = get_peft_model(
        CiTrusForSequenceClassification.from_pretrained(base), IA3Config(modules_to_save=["classifier"])
    )
    peft_model.save_pretrained(adapter)
    CiTrusFeatureExtractor.from_pretrained(base).save_pretrained(adapter)
    save_task_config(peft_model, adapter)

    with pytest.raises(ValueError) as refused:
        load_adapter(str(base), str(adapter))
    message = str(refused.value)
    assert "IA3" in message and "merge_and_unload" in message
    # the advice's extractor call, run as written
    call = re.search(r"AutoFeatureExtractor\.from_pretrained\(([^)]*)\)\.save_pretrained\(merged\)", message)
    assert call is not None, message
    merged_folder = tmp_path / "merged"
    config = CiTrusConfig.from_json_file(adapter / "citrus_task_config.json")
    merged = PeftModel.from_pretrained(
        CiTrusForSequenceClassification.from_pretrained(base, config=config), adapter
    ).merge_and_unload()
    merged.save_pretrained(merged_folder)
    AutoFeatureExtractor.from_pretrained(ast.literal_eval(call.group(1))).save_pretrained(merged_folder)

    signal = np.random.default_rng(0).standard_normal((1, 200)).astype(np.float32)
    outputs = pipeline(model=str(merged_folder))(signal, sampling_rate=100.0)
    assert outputs  # scored, not refused


def test_class_weights_for_a_recipe_whose_fit_takes_none_are_refused_naming_the_keyword():
    """`--class-weight balanced` (finetune and, since session 68, evaluate) passes `class_weights` to the recipe's
    fit; a recipe of one's own written without that keyword stopped with a bare TypeError from the call. It is refused
    naming the keyword to add; without weights (the default) the same recipe runs."""
    from citrus_hf import CiTrusForSequenceClassification
    from citrus_hf.training.recipes import Recipe, RecipeOutcome, fit_recipe

    class Centroids(Recipe):
        name, description = "centroids", "nearest centroid"

        def fit(self, model, train, validation, task, settings, output_dir):
            return RecipeOutcome(model=model, steps=0, best_step=None, history=[], details={})

    from tiny_configs import tiny_config

    model = CiTrusForSequenceClassification(tiny_config(num_labels=2))
    arguments = (model, None, None, "classification", None, None)
    with pytest.raises(ValueError, match=r"'centroids' \(Centroids\.fit\) takes no `class_weights`.*--class-weight"):
        fit_recipe(Centroids(), *arguments, class_weights=np.array([1.0, 3.0]))
    assert fit_recipe(Centroids(), *arguments).model is model
