#!/bin/bash
# Second call: two more citrus-base candidates side by side (C: the recipe for 6,000 steps; D: width 384 x 6 layers).
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 MPLBACKEND=Agg
cd "$(dirname "$0")/.."
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || echo "pip failed"
export PYTHONPATH=/tmp/site:$PWD/src:$PWD/benchmarks
echo "setup $(( $(date +%s) - T0 )) s"
timeout 330 python3 benchmarks/gpu_pretrain.py --corpus .gpu/corpus.npz --output-dir /tmp/C/run --skip-throughput \
  --report-to none --num-workers 6 --max-steps 6000 --json $OUT/c.json > $OUT/c.log 2>&1 &
PC=$!
timeout 330 python3 benchmarks/gpu_pretrain.py --corpus .gpu/corpus.npz --output-dir /tmp/D/run --skip-throughput \
  --report-to none --num-workers 6 --config-overrides '{"d_model": 384, "ffn_dim": 768, "num_hidden_layers": 6, "num_attention_heads": 8}' \
  --json $OUT/d.json > $OUT/d.log 2>&1 &
PD=$!
wait $PC; echo "C rc=$? at $(( $(date +%s) - T0 )) s"; wait $PD; echo "D rc=$? at $(( $(date +%s) - T0 )) s"
tail -c 400 $OUT/c.log; tail -c 400 $OUT/d.log
for c in C D; do (cd /tmp/$c/run 2>/dev/null && tar cf /tmp/$c.tar --exclude=checkpoints --exclude=runs . && split -b 15M -d /tmp/$c.tar $OUT/$c.tar. ; ls -la /tmp/$c/run/model.safetensors); done; ls -la $OUT
echo "total $(( $(date +%s) - T0 )) s"
