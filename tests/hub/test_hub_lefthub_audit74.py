"""Audit 74, known Hub leftovers mended: an adapter trained on a base from a Hub repository's subfolder is put back on
that subfolder's checkpoint; an adapter in a subfolder of a Hub repository loads by the repository and subfolder
(`pipeline(model=repo, model_kwargs={"subfolder": ...})`, `load_adapter(..., subfolder=...)`) and its errors, like
those of a Hub repository whose config.json is not JSON, name the repository typed, not a Hub cache folder; offline, a
repository downloaded whole (`snapshot_download`) without a feature extractor is said to have none, not to be
"never downloaded"; a registered set pushed by `citrus data build --push-to-hub` is read back without the warning of
recordings shared across splits that its time blocks are by design. Clients run in subprocesses pointed at the test
hub (see conftest.py): one publishes and reads every repository online, a second reads offline what the first cached
(two clients, not seven: each costs seconds of imports)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from hub_server import DEFAULT_USER, ScriptResults, in_one_client, printed_by_each
from test_hub_hub3_audit73 import OUTCOME
from tiny_configs import save_tiny_classifier, save_trained_adapter, tiny_config

from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification

TWO = f"{DEFAULT_USER}/citrus-tiny-two-checkpoints-for-an-adapter"

ON_A_SUBFOLDER = """
import json
import torch
from huggingface_hub import HfApi
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import pipeline
from citrus_hf import CiTrusFeatureExtractor, CiTrusForSequenceClassification
from citrus_hf.training.lora import apply_lora, load_adapter, save_adapter

HfApi().create_repo("__TWO__")
HfApi().upload_folder(folder_path="two", repo_id="__TWO__")
model = CiTrusForSequenceClassification.from_pretrained("__TWO__", subfolder="ecg")
peft_model = apply_lora(model, r=2, verbose=False)
with torch.no_grad():
    for name, parameter in peft_model.named_parameters():
        if "lora_B" in name:
            parameter.normal_(0, 0.5, generator=torch.Generator().manual_seed(1))
save_adapter(peft_model.eval(), "adapter", CiTrusFeatureExtractor.from_config(model.config))
windows = torch.randn(2, 1, 200, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    expected = peft_model(input_values=windows).logits
    loaded = load_adapter(None, "adapter")(input_values=windows).logits
    served = pipeline(model="adapter").model(input_values=windows).logits
result = {
    "load_adapter": torch.allclose(loaded, expected, atol=1e-5),
    "pipeline": torch.allclose(served, expected, atol=1e-5),
}
print("RESULT:", json.dumps(result))
"""


def test_an_adapter_trained_on_a_hub_subfolder_s_base_is_put_back_on_it(runs):
    """An adapter trained on `from_pretrained(repo, subfolder="ecg")` recorded the repository alone as its base, so
    `load_adapter(None, adapter)` and `pipeline(model=adapter)` put it on the checkpoint at the repository's root
    (another model's weights of the same shapes): predictions of no trained model, after a warning at save time only.
    The subfolder is now recorded and read back: both give the trained model's outputs."""
    assert runs["on_a_subfolder"] == {"load_adapter": True, "pipeline": True}


IN_A_SUBFOLDER = f"{DEFAULT_USER}/citrus-tiny-adapters-in-subfolders"

ADAPTER_IN_A_SUBFOLDER = """
import json
from huggingface_hub import HfApi
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import pipeline
from citrus_hf.training.lora import load_adapter

HfApi().create_repo("__REPO__")
HfApi().upload_folder(folder_path="adapters", repo_id="__REPO__")
result = {
    "pipeline": outcome(lambda: type(pipeline(model="__REPO__", model_kwargs={"subfolder": "lora"}).model).__name__),
    "load_adapter": outcome(lambda: type(load_adapter(None, "__REPO__", subfolder="lora")).__name__),
    "damaged": outcome(lambda: pipeline(model="__REPO__", model_kwargs={"subfolder": "damaged"})),
    "damaged_at_main": outcome(lambda: load_adapter(None, "__REPO__", revision="main", subfolder="damaged")),
}
print("RESULT:", json.dumps(result))
"""


def test_an_adapter_in_a_hub_subfolder_loads_and_is_named_by_the_repository(runs):
    """`pipeline(model=repo, model_kwargs={"subfolder": "lora"})` of an adapter in a subfolder of a Hub repository
    failed on the repository's root ("'<HF_HOME>/hub/models--.../snapshots/<commit>' has no adapter_config.json"), and
    `load_adapter` took no subfolder; a damaged adapter there was named by its path in the Hub cache. Both load it, and
    its errors name the repository, the subfolder and the revision typed."""
    result = runs["in_a_subfolder"]
    assert result["pipeline"] == "CiTrusForSequenceClassification", result
    assert result["load_adapter"] == "PeftModel", result
    damaged = f"adapter_model.safetensors of '{IN_A_SUBFOLDER}' (subfolder 'damaged'"
    for key in ("damaged", "damaged_at_main"):
        assert result[key].startswith(f"OSError: {damaged}") and "snapshots" not in result[key], result[key]
    assert "revision 'main'" in result["damaged_at_main"], result["damaged_at_main"]


BROKEN = f"{DEFAULT_USER}/citrus-tiny-config-not-json"

BROKEN_CONFIG = """
import contextlib, io, json
from huggingface_hub import HfApi
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import pipeline
from citrus_hf import CiTrusConfig, CiTrusForSequenceClassification
from citrus_hf.commands.main import main
from citrus_hf.loading import load_pretrained

HfApi().create_repo("__BROKEN__")
HfApi().upload_folder(folder_path="broken", repo_id="__BROKEN__")
errors = io.StringIO()
with contextlib.redirect_stderr(errors):
    main(["predict", "__BROKEN__", "recording.npy", "--sampling-rate", "100"])
result = {
    "model": outcome(lambda: CiTrusForSequenceClassification.from_pretrained("__BROKEN__")),
    "config": outcome(lambda: CiTrusConfig.from_pretrained("__BROKEN__", revision="main")),
    "pipeline": outcome(lambda: pipeline(model="__BROKEN__")),
    "load_pretrained": outcome(lambda: load_pretrained("__BROKEN__")),
    "predict": errors.getvalue().strip().splitlines()[-1],
}
print("RESULT:", json.dumps(result))
"""


def test_a_hub_config_that_is_not_json_is_named_by_the_repository(runs):
    """A Hub repository whose config.json is not JSON was reported as "It looks like the config file at
    '<HF_HOME>/hub/models--.../snapshots/<commit>/config.json' is not a valid JSON file" (the CiTrus classes, the
    pipeline) or by that path (`load_pretrained`, `citrus predict`): a folder the user never typed. Each now names the
    file of the repository typed (with the revision given), and what to do."""
    result = runs["broken"]
    for key, said in result.items():
        assert f"config.json of '{BROKEN}'" in said and "not valid JSON" in said, (key, said)
        assert "snapshots" not in said, (key, said)
    assert f"config.json of '{BROKEN}' (revision 'main')" in result["config"], result["config"]


WHOLE = f"{DEFAULT_USER}/citrus-tiny-downloaded-whole-without-extractor"

DOWNLOAD_WHOLE = """
from huggingface_hub import HfApi, snapshot_download

HfApi().create_repo("__WHOLE__")
HfApi().upload_folder(folder_path="model", repo_id="__WHOLE__")
snapshot_download("__WHOLE__")  # every file of the repository
"""

OFFLINE_EXTRACTOR = """
import json
import citrus_hf  # before binding `pipeline`, so that it is the wrapped factory
from transformers import AutoFeatureExtractor, pipeline
from citrus_hf import CiTrusFeatureExtractor
from citrus_hf.loading import load_feature_extractor

print("RESULT:", json.dumps({
    "extractor": outcome(lambda: CiTrusFeatureExtractor.from_pretrained("__WHOLE__")),
    "auto_extractor": outcome(lambda: AutoFeatureExtractor.from_pretrained("__WHOLE__")),
    "load_feature_extractor": outcome(lambda: load_feature_extractor("__WHOLE__")),
    "pipeline": outcome(lambda: pipeline(model="__WHOLE__")),
}))
"""


def test_a_repository_downloaded_whole_without_an_extractor_is_not_called_never_downloaded(runs):
    """Offline, a repository that `huggingface_hub.snapshot_download` had fetched whole, and that holds no
    preprocessor_config.json, was said to have one "never downloaded", with advice to run that very
    `snapshot_download`. Its cache holds every file of the repository, so the loaders now say that the checkpoint has
    no feature extractor, and how to make one."""
    runs.output("download_whole")  # (its own failure, with its output, if it failed)
    result = runs["offline_extractor"]
    for key, said in result.items():
        assert "never downloaded" not in said and "snapshot_download" not in said, (key, said)
        assert "preprocessor_config.json" in said or "CiTrusFeatureExtractor" in said, (key, said)


BLOCKS = f"{DEFAULT_USER}/citrus-hr-ecg-time-blocks"
OWN_BLOCKS = f"{DEFAULT_USER}/own-time-blocks"

PUSHED_REGISTERED_SET = """
import json, logging
import datasets
import numpy as np
from citrus_hf.data.splits import load_task_splits
from citrus_hf.publishing.datasets import publish

rng = np.random.default_rng(0)

def block(rows):
    return datasets.Dataset.from_dict({
        "input_values": [rng.normal(size=(1, 100)).astype(np.float32) for _ in range(rows)],
        "target": rng.uniform(50, 90, rows).tolist(),
        "recording": [f"rec{row % 2}" for row in range(rows)],
        "sampling_rate": [100.0] * rows,
    })

# time blocks of two recordings, as the registered set hr_ecg's splits are by design
blocks = datasets.DatasetDict({"train": block(8), "validation": block(4), "test": block(4)})
publish(blocks, "hr_ecg", push_to_hub="__BLOCKS__", options={})  # as `citrus data build hr_ecg --push-to-hub`
blocks.push_to_hub("__OWN__")  # the same rows as a set of one's own

class Said(logging.Handler):
    lines = []
    def emit(self, record):
        self.lines.append(record.getMessage())

logging.getLogger("citrus_hf.data.splits").addHandler(Said())
warned = {}
for repo in ("__BLOCKS__", "__OWN__"):
    Said.lines.clear()
    load_task_splits(repo)
    warned[repo] = any("also have rows" in line for line in Said.lines)
print("RESULT:", json.dumps(warned))
"""


def test_a_registered_set_pushed_to_the_hub_is_not_warned_of_its_time_blocks(runs):
    """`citrus data build hr_ecg --push-to-hub REPO` published a registered set whose splits are time blocks of each
    recording (its design), and `citrus finetune --dataset REPO` then warned that its recordings have rows in two
    splits, asking to give each recording to one: the folder `--output` writes notes the set it holds, the Hub
    repository did not. The push now carries that note; the same rows pushed as a set of one's own are still named."""
    assert runs["blocks"] == {BLOCKS: False, OWN_BLOCKS: True}


@pytest.fixture(scope="module")
def runs(make_hub_client, tmp_path_factory) -> ScriptResults:
    """What the online client (each test's script in turn, in one Python: `in_one_client`) and then the offline one
    found, by script name, each read when a test reads it. The folders:
    two/ (a tiny classifier at the root and another in ecg/, each with its extractor), adapters/lora (a trained adapter
    of base/) and adapters/damaged (its weights not safetensors), broken/ (a config.json that is not JSON), model/ (a
    classifier without an extractor) and recording.npy."""
    workdir = tmp_path_factory.mktemp("lefthub")
    for folder, seed in ((workdir / "two", 0), (workdir / "two" / "ecg", 1)):
        torch.manual_seed(seed)
        CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(folder)
        CiTrusFeatureExtractor.from_config(tiny_config(num_labels=2)).save_pretrained(folder)
    save_tiny_classifier(workdir / "base")
    save_trained_adapter(workdir / "base", workdir / "adapters" / "lora")
    shutil.copytree(workdir / "adapters" / "lora", workdir / "adapters" / "damaged")
    (workdir / "adapters" / "damaged" / "adapter_model.safetensors").write_bytes(b"no safetensors")
    save_tiny_classifier(workdir / "broken")
    (workdir / "broken" / "config.json").write_text("{not json")
    np.save(workdir / "recording.npy", np.zeros((1, 400), dtype=np.float32))
    CiTrusForSequenceClassification(tiny_config(num_labels=2)).save_pretrained(workdir / "model")
    names = {"__TWO__": TWO, "__REPO__": IN_A_SUBFOLDER, "__BROKEN__": BROKEN, "__WHOLE__": WHOLE,
             "__BLOCKS__": BLOCKS, "__OWN__": OWN_BLOCKS}  # fmt: skip

    def named(script: str) -> str:
        for name, repo in names.items():
            script = script.replace(name, repo)
        return OUTCOME + script

    online = {"on_a_subfolder": ON_A_SUBFOLDER, "in_a_subfolder": ADAPTER_IN_A_SUBFOLDER, "broken": BROKEN_CONFIG,
              "download_whole": DOWNLOAD_WHOLE, "blocks": PUSHED_REGISTERED_SET}  # fmt: skip
    client = make_hub_client(workdir)
    printed = printed_by_each(client(in_one_client({name: named(script) for name, script in online.items()})))
    return ScriptResults({**printed, "offline_extractor": client(named(OFFLINE_EXTRACTOR), HF_HUB_OFFLINE="1")})
