"""Run under `accelerate launch --cpu --num_processes 2`: a tiny data-parallel pre-training on the real EEG corpus.

Every process writes the weights it ended with (`rank{R}_weights.safetensors`) and the ids of the examples it
trained on (`sample_ids_rank{R}.jsonl`; with synthetic windows, their sources), so the test can check that the
processes saw different examples and ended with the same weights as the saved model.

    ddp_pretrain.py OUTPUT_DIR [SYNTHETIC_RATIO]
"""

import faulthandler
import sys
from pathlib import Path

from accelerate import PartialState
from safetensors.torch import save_file

from citrus_hf.training.pretrain import PretrainArguments, pretrain

# A process that hangs (rank 0 finished, rank 1 never returned from `pretrain`: in a quarter of the launches on a
# loaded machine, one after its process group was destroyed) prints every thread's stack and exits, so the failure
# says where it stopped and the test launches once more. The run takes about 10 s on a loaded 2-core machine: the
# limit leaves it 9 times that, and a hang costs 90 s of the suite, not the 240 s it did.
faulthandler.dump_traceback_later(90, exit=True)
output_dir = Path(sys.argv[1])
synthetic_ratio = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
result = pretrain(
    PretrainArguments(
        output_dir=str(output_dir),
        dataset="eeg_pretrain",
        dataset_options={"window_seconds": 10.0, "hop_seconds": 10.0},
        model_config="tiny",
        max_steps=4,
        per_device_batch_size=8,
        save_steps=2,
        logging_steps=1,
        eval_steps=2,
        report_to="none",
        log_sample_ids=True,
        show_progress=False,
        synthetic_ratio=synthetic_ratio,
        synthetic_generators={"kernel_synth": 1.0, "cauker": 1.0, "ecg": 1.0},
    )
)
state = PartialState()
weights = {name: tensor.detach().contiguous() for name, tensor in result.model.state_dict().items()}
save_file(weights, str(output_dir / f"rank{state.process_index}_weights.safetensors"))
print(f"rank {state.process_index} of {state.num_processes} done: {result.steps} steps, loss {result.final_loss}")
# the held-out curve each process returns (the main process alone computes it)
print(
    f"rank {state.process_index} held-out {result.eval_losses} baseline {result.eval_baseline_losses} learnt {result.learnt}"
)
