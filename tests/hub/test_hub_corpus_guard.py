"""The protocol's refusal to score a pre-trained arm on windows its corpus holds reads a Hub checkpoint's
`pretraining_summary.json` as it reads a local folder's: `citrus-small` pushed as a Hub repo and named by its id is
refused on the EMG split whose test windows its corpus holds (see tests/test_evaluation.py for the bundled name)."""

from __future__ import annotations

SCRIPT = """
from huggingface_hub import HfApi
from citrus_hf._bundled import bundled_checkpoint
from citrus_hf.evaluation import ProtocolConfig, run_protocol

api = HfApi()
repo_id = api.create_repo("citrus-small-copy").repo_id
api.upload_folder(repo_id=repo_id, folder_path=str(bundled_checkpoint("citrus-small")))
config = ProtocolConfig(
    output_dir="evaluation", datasets=["myo_gestures"], dataset_options={"myo_gestures": {"test_repetitions": [2, 3]}},
    arms=["citrus-small", "prior"], checkpoints={"citrus-small": repo_id}, budgets=["1"], seeds=[0],
    show_progress=False,
)
try:
    run_protocol(config)
    print("SCORED")
except ValueError as error:
    print("REFUSED", error)
"""


def test_a_hub_checkpoint_is_refused_on_windows_of_its_corpus(hub_client, tmp_path):
    import datasets

    # the datasets cache of this process (where test_evaluation builds the same split): the client's Hub cache is its
    # own, and rebuilding the registered set there cost most of the test's time
    output = hub_client(SCRIPT, HF_DATASETS_CACHE=str(datasets.config.HF_DATASETS_CACHE))
    assert "REFUSED 10 of the 49 test windows of myo_gestures (recordings R2_C3, R2_C4)" in output, output
    assert not (tmp_path / "evaluation" / "runs.jsonl").exists()
