#!/usr/bin/env bash
# The GPU run of the harness, on the lent CUDA machine (its python3 holds jax[cuda], optax,
# torch): benchmarks/gpu.sh BATCH [bench.py options...]. Keras and its two missing
# dependencies travel as wheels in .whl/ (see benchmarks/README.md). Results go to $OUT.
set -uo pipefail
batch=${1:?usage: benchmarks/gpu.sh BATCH [bench.py options]}
shift
out=${OUT:-/tmp/bench-out}
mkdir -p "$out"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site
fi
py=$(command -v python3)
export SYMNET_PY=$py TORCH_PY=$py KERAS_PY=$py PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm \
  --format=csv,noheader
"$py" -c 'import jax, torch, optax, numpy; print("jax", jax.__version__, jax.devices(), "torch", torch.__version__, torch.cuda.is_available(), "optax", optax.__version__, "numpy", numpy.__version__)'
"$py" benchmarks/bench.py --device gpu --batch "$batch" --jsonl "$out/results_gpu_b$batch.jsonl" \
  --out "$out/bench_table_gpu_b$batch.md" --timeout 200 "$@" 2>&1 | tee "$out/log_b$batch.txt"
