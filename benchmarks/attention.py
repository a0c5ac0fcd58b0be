"""Attention formulations for short sequences with small heads, side by side at the paper configuration's shape.

Classification inference of the paper configuration (`speed.py`) spends about 60 % of its time in attention over
150 patch tokens with 8 heads of size 8. This benchmark times every formulation of that one kernel that this CPU
offers, in one run, in alternating rounds, on the same inputs (random, in the layout and range of the model's own:
see `compare_kernels`), and prints each one's time, ratio to PyTorch's fp32
`scaled_dot_product_attention` (what both CiTrus and transformers' PatchTST run by default) and its largest
difference from it:

- `sdpa`: `torch.nn.functional.scaled_dot_product_attention`, fp32 (the reference).
- `eager`: matrix product, softmax, matrix product (`modeling_citrus.eager_attention_forward`).
- `sdpa-bf16`: SDPA on bf16 tensors.
- `blocked-bf16`: the `bf16` inference backend's blocked kernel (`inference.backends._exp2_attention`): a few
  (sequence, head) pairs per thread at a time, products in bf16, the softmax as `exp2` of the scores (shifted by a
  bound of each row's maximum only where they could overflow); given bf16 queries, keys and values, as the model's
  projections produce them under autocast.
- `bf16-backend`: with heads wider than `BLOCKED_ATTENTION_MAX_HEAD_DIM` only, what the backend's attention
  (`blocked_bf16_attention`) runs for them: SDPA in bf16 under autocast.
- `blocked-bf16-softmax`: the same blocks with PyTorch's float32 softmax (`inference.backends._softmax_attention`,
  what the backend ran before, and still runs for masks other than a key mask).
- `compiled-sdpa`, `compiled-eager`: the same under `torch.compile` (inductor; compilation is not timed).
- `ort-mha`: ONNX Runtime's fused `com.microsoft.MultiHeadAttention` contrib operator, fp32 (when onnxruntime is
  installed).

Then the whole paper-configuration classifier at `--model-batch-size`, so that what a faster kernel would buy end to
end is measured rather than assumed: PyTorch eager, `torch.compile`, and (with onnxruntime) the package's ONNX export
run by ONNX Runtime as it is (`onnxruntime`, the `onnxruntime` inference backend) and after onnxscript's ONNX
Runtime fusions (`onnxruntime-fused`: `onnxscript.rewriter.ort_fusions.optimize_for_ort`, which turns every
attention into `MultiHeadAttention` and bias + GELU into `BiasGelu`).

    python benchmarks/attention.py                   # every formulation, then the whole model
    python benchmarks/attention.py --no-compile --no-model
    python benchmarks/attention.py --no-compile --no-model --heads 4 --head-dim 32 --seq-length 100   # citrus-small
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from citrus_hf.commands.script import positive_int, run_script
from citrus_hf.inference.backends import (
    BLOCKED_ATTENTION_MAX_HEAD_DIM,
    _exp2_attention,
    _softmax_attention,
    blocked_bf16_attention,
    export_onnx,
    onnx_export_available,
)
from citrus_hf.modeling_citrus import eager_attention_forward

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import time_alternating  # noqa: E402
from speed import PAPER, build  # noqa: E402

SEQ_LENGTH = PAPER["context_length"] // PAPER["patch_length"]
NUM_HEADS = PAPER["num_attention_heads"]
HEAD_DIM = PAPER["d_model"] // NUM_HEADS
# Standard deviation of the random queries, keys and values with heads of 8 (see `compare_kernels`); (8 / head_dim)^(1/4)
# times it with other heads, which keeps the blocked kernel's score bound where it is.
INPUT_SCALE = 0.5


class _Inference(torch.nn.Module):
    """Stands in for the attention module that transformers' attention functions receive (they read `training`)."""

    def __init__(self):
        super().__init__()
        self.eval()


def _interface(function, dtype: torch.dtype | None = None):
    """A transformers attention function as `(q, k, v) -> (N, heads, seq, head_dim)`, under autocast if `dtype`, with
    q, k, v in `dtype` as the model's projections hand them over under autocast."""
    module = _Inference()

    def attend(query, key, value):
        with torch.autocast("cpu", dtype=dtype) if dtype else nullcontext():
            if dtype:
                query, key, value = query.to(dtype), key.to(dtype), value.to(dtype)
            output, _ = function(module, query, key, value, None, scaling=query.shape[-1] ** -0.5)
        return output.transpose(1, 2)

    return attend


def _blocked_exp2(module, query, key, value, attention_mask, scaling):
    # the blocked kernel itself, at any head width (the backend's attention hands wide heads to SDPA)
    return _exp2_attention(query, key, value, attention_mask, scaling), None


def _blocked_softmax(module, query, key, value, attention_mask, scaling):
    return _softmax_attention(query, key, value, attention_mask, scaling), None


def _sdpa(query, key, value):
    return F.scaled_dot_product_attention(query, key, value, scale=query.shape[-1] ** -0.5)


def _sdpa_bf16(query, key, value):
    return _sdpa(query.bfloat16(), key.bfloat16(), value.bfloat16())


def _ort_multi_head_attention(num_threads: int, num_heads: int, seq_length: int, head_dim: int):
    """ONNX Runtime's fused multi-head attention on `(N, heads, seq, head_dim)` inputs, or None without onnxruntime.

    The operator takes `(N, seq, heads * head_dim)`, the layout the projections write: the timed call reads the
    benchmark's inputs as they are and transposes only the output back."""
    try:
        import onnxruntime
        from onnx import TensorProto, helper
    except ImportError:
        return None
    hidden = num_heads * head_dim
    node = helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["o"], domain="com.microsoft", num_heads=num_heads)
    shape = ["batch", seq_length, hidden]
    graph = helper.make_graph(
        [node],
        "attention",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name in "qkv"],
        [helper.make_tensor_value_info("o", TensorProto.FLOAT, shape)],
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    # the IR version of opset 17 (onnx 1.12), not the installed onnx's newest: ONNX Runtime refuses a model whose IR
    # version is above its own (onnx 1.23 writes 14 by default, which onnxruntime 1.19 refused)
    model = helper.make_model(graph, opset_imports=opsets, ir_version=8)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = num_threads, 1
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def attend(query, key, value):
        def flat(tensor):
            return tensor.transpose(1, 2).reshape(len(tensor), seq_length, hidden).numpy()

        output = session.run(None, {"q": flat(query), "k": flat(key), "v": flat(value)})[0]
        return torch.from_numpy(output).view(len(query), seq_length, num_heads, head_dim).transpose(1, 2)

    return attend


def kernels(args) -> dict:
    """Every attention formulation available here, each `(q, k, v) -> (N, heads, seq, head_dim)`."""
    found = {
        "sdpa": _sdpa,
        "eager": _interface(eager_attention_forward),
        "sdpa-bf16": _sdpa_bf16,
        "blocked-bf16": _interface(_blocked_exp2, torch.bfloat16),
        "blocked-bf16-softmax": _interface(_blocked_softmax, torch.bfloat16),
    }
    if args.head_dim > BLOCKED_ATTENTION_MAX_HEAD_DIM:  # the backend's attention is then SDPA in bf16, not the kernel
        found["bf16-backend"] = _interface(blocked_bf16_attention, torch.bfloat16)
    if not args.no_compile:
        found["compiled-sdpa"] = torch.compile(_sdpa, dynamic=False)
        found["compiled-eager"] = torch.compile(_interface(eager_attention_forward), dynamic=False)
    ort_attention = _ort_multi_head_attention(torch.get_num_threads(), args.heads, args.seq_length, args.head_dim)
    if ort_attention is not None:
        found["ort-mha"] = ort_attention
    return found


def compare_kernels(args) -> dict:
    """Median milliseconds per call, ratio to fp32 SDPA, effective GFLOP/s and largest difference from SDPA."""
    torch.manual_seed(0)
    # The model's layout: each projection writes (N, seq, heads * head_dim), viewed as (N, heads, seq, head_dim) with
    # the sequence strided (PyTorch's reductions over the sequence are 8x slower on a contiguous (N, heads, seq, 8)
    # tensor). Scale 0.5: the blocked kernel's score bound is then about 20, inside the 14-41 measured on real
    # recordings, so it takes the route the model takes (unshifted; the shifted one is the unit tests' business).
    shape = (args.batch_size, args.seq_length, args.heads, args.head_dim)
    scale = INPUT_SCALE * (8 / args.head_dim) ** 0.25  # the same bound, about 20, at any head width
    query, key, value = (scale * torch.randn(shape).transpose(1, 2) for _ in range(3))
    found = kernels(args)
    with torch.inference_mode():
        reference = _sdpa(query, key, value)
        differences = {
            name: (attend(query, key, value).float() - reference).abs().max().item() for name, attend in found.items()
        }  # also compiles the compiled ones, outside the timing
        steps = {name: (lambda _, attend=attend: attend(query, key, value)) for name, attend in found.items()}
        seconds = time_alternating(steps, [query], "cpu", args.rounds, args.steps_per_round)
    flops = 4 * args.batch_size * args.heads * args.seq_length**2 * args.head_dim  # two products, 2 flops per term
    return {
        name: {
            "ms": seconds[name] * 1e3,
            "vs_sdpa": seconds["sdpa"] / seconds[name],
            "gflops": flops / seconds[name] / 1e9,
            "max_difference": differences[name],
        }
        for name in found
    }


def _onnx_runners(model, num_threads: int, folder: str) -> dict:
    """`{name: batch -> logits}` for the model exported to ONNX, as it is and after onnxscript's ORT fusions (when
    this onnxscript has them)."""
    import onnxruntime

    plain, _ = export_onnx(model, cache_dir=folder)
    paths = {"onnxruntime": plain}
    try:
        import onnx_ir
        from onnxscript.rewriter.ort_fusions import optimize_for_ort
    except ImportError:
        print("onnxscript without ort_fusions: onnxruntime-fused is skipped")
    else:
        graph = onnx_ir.load(plain)
        optimize_for_ort(graph)
        paths["onnxruntime-fused"] = Path(folder) / "fused.onnx"
        onnx_ir.save(graph, paths["onnxruntime-fused"])
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads, options.log_severity_level = num_threads, 1, 3
    runners = {}
    mask = np.ones((1, model.config.num_patches), dtype=np.int64)  # every patch valid: full windows
    for name, path in paths.items():
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def run(batch, session=session):
            feed = {"input_values": batch.numpy(), "patch_mask": np.repeat(mask, len(batch), axis=0)}
            return torch.from_numpy(session.run(None, feed)[0])

        runners[name] = run
    return runners


def compare_model(args) -> dict:
    """Windows per second of the paper-configuration classifier on every whole-model path, same batches."""
    torch.manual_seed(0)
    model, _ = build("citrus", "inference")
    model.eval()
    batches = [torch.randn(args.model_batch_size, 1, PAPER["context_length"]) for _ in range(2)]
    runners = {"eager": lambda batch: model(batch).logits}
    if not args.no_compile:
        compiled = torch.compile(model, dynamic=False)
        runners["compiled"] = lambda batch: compiled(batch).logits
    with tempfile.TemporaryDirectory() as folder, torch.inference_mode():
        if onnx_export_available() is None and not args.no_onnx:
            runners.update(_onnx_runners(model, torch.get_num_threads(), folder))
        reference = model(batches[0]).logits
        differences = {name: (run(batches[0]) - reference).abs().max().item() for name, run in runners.items()}
        seconds = time_alternating(runners, batches, "cpu", args.rounds, args.steps_per_round)
    return {
        name: {
            "windows_per_s": args.model_batch_size / seconds[name],
            "vs_eager": seconds["eager"] / seconds[name],
            "max_logit_difference": differences[name],
        }
        for name in runners
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--batch-size", type=positive_int, default=64, help="windows per attention call (the night's batch)"
    )
    parser.add_argument("--model-batch-size", type=positive_int, default=32)
    parser.add_argument("--rounds", type=positive_int, default=7)
    parser.add_argument("--steps-per-round", type=positive_int, default=5)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile (it needs a C++ compiler)")
    parser.add_argument("--no-model", action="store_true", help="skip the whole-model comparison")
    parser.add_argument("--no-onnx", action="store_true", help="skip ONNX Runtime in the whole-model comparison")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--heads", type=positive_int, default=NUM_HEADS, help="attention heads (kernels only)")
    parser.add_argument(
        "--head-dim", type=positive_int, default=HEAD_DIM, help="head width (kernels only; citrus-small: 32)"
    )
    parser.add_argument(
        "--seq-length", type=positive_int, default=SEQ_LENGTH, help="tokens per sequence (kernels only)"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    results = {
        "shape": {"batch": args.batch_size, "heads": args.heads, "seq": args.seq_length, "head_dim": args.head_dim},
        "threads": torch.get_num_threads(),
        "kernels": compare_kernels(args),
    }
    if not args.no_model:
        results["model"] = compare_model(args)
    results["seconds"] = time.perf_counter() - start
    report(results, args)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2)
    return results


def report(results: dict, args) -> None:
    shape = results["shape"]
    print(
        f"Attention of {shape['batch']} windows x {shape['heads']} heads x {shape['seq']} x {shape['seq']} tokens, "
        f"head size {shape['head_dim']}, {results['threads']} thread(s); median of {args.rounds} alternating rounds"
    )
    print(f"{'kernel':<22}{'ms':>9}{'vs sdpa':>10}{'GFLOP/s':>10}{'max diff':>11}")
    for name, row in results["kernels"].items():
        print(f"{name:<22}{row['ms']:>9.2f}{row['vs_sdpa']:>9.2f}x{row['gflops']:>10.1f}{row['max_difference']:>11.1e}")
    if "model" in results:
        print(f"\nPaper-configuration classifier, batch {args.model_batch_size}:")
        for name, row in results["model"].items():
            print(
                f"  {name:<18}{row['windows_per_s']:>8.1f} windows/s  {row['vs_eager']:.2f}x eager  "
                f"max logit difference {row['max_logit_difference']:.1e}"
            )


if __name__ == "__main__":
    run_script(main)  # an error the user fixes is one line, as from `citrus`
