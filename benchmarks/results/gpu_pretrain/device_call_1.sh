#!/bin/bash
# One device call: install the carried wheels, pre-train two citrus-base candidates side by side on the GPU
# (A: real windows only, the recipe; B: half synthetic, the default generator mix), then time CiTrus against
# PatchTST alone on the GPU. Everything that matters lands in $OUT.
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
cd "$(dirname "$0")/.."
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || echo "pip failed"
export PYTHONPATH=/tmp/site:$PWD/src:$PWD/benchmarks
if ! python3 -c "import datasets, pyarrow; print('datasets', datasets.__version__, 'pyarrow', pyarrow.__version__)"; then
  rm -rf /tmp/site/datasets*; python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site2 .whl_alt/*.whl
  export PYTHONPATH=/tmp/site2:$PYTHONPATH; python3 -c "import datasets; print('fallback datasets', datasets.__version__)"
fi
python3 -c "import torch, transformers, accelerate, huggingface_hub, numpy, pandas; print('torch', torch.__version__, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__, 'hub', huggingface_hub.__version__, 'numpy', numpy.__version__, 'pandas', pandas.__version__, torch.cuda.get_device_name())"
python3 -c "import citrus_hf.training.pretrain; import neurokit2; print('imports ok')"
nproc; echo "setup $(( $(date +%s) - T0 )) s"
timeout 360 python3 benchmarks/gpu_pretrain.py --corpus .gpu/corpus.npz --output-dir /tmp/A/run --skip-throughput \
  --report-to none --num-workers 4 --json $OUT/a.json > $OUT/a.log 2>&1 &
PA=$!
timeout 360 python3 benchmarks/gpu_pretrain.py --corpus .gpu/corpus.npz --output-dir /tmp/B/run --skip-throughput \
  --report-to none --synthetic-ratio 0.5 --num-workers 10 --json $OUT/b.json > $OUT/b.log 2>&1 &
PB=$!
wait $PA; echo "A rc=$? at $(( $(date +%s) - T0 )) s"; wait $PB; echo "B rc=$? at $(( $(date +%s) - T0 )) s"
tail -c 1500 $OUT/a.log; tail -c 1500 $OUT/b.log
for c in A B; do (cd /tmp/$c/run 2>/dev/null && tar cf $OUT/$c.tar --exclude=checkpoints --exclude=runs . ; ls -la /tmp/$c/run); done
timeout 90 python3 benchmarks/gpu_pretrain.py --skip-pretraining --rounds 5 --steps-per-round 10 --json $OUT/throughput.json 2>&1 | tail -3
timeout 50 python3 benchmarks/gpu_pretrain.py --skip-pretraining --dtype fp32 --rounds 3 --steps-per-round 10 --json $OUT/throughput_fp32.json 2>&1 | tail -2
echo "total $(( $(date +%s) - T0 )) s"
