"""Shared pieces of the benchmark helpers: argument parsing, data/init loading, JSON output.

Only numpy and the standard library: every peer venv (torch, MXNet, Keras) imports this file.
The data and the initial parameters live in one .npz written by ``bench.py``:

    x        float32 (N, 1, 28, 28), MNIST scaled to [0, 1] (already shuffled once)
    y        float32 (N,) labels 0..9
    mlp/<name>, lenet/<name>   initial parameters in MXNet layout (FC (out, in), conv OIHW)

Parameter names are those MXNet gives the tutorial symbols (fc1_weight, conv1_bias, ...).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Dict, List

import numpy as np

#: Batch size (``BENCH_BATCH``; bench.py ``--batch``) and device (``BENCH_DEVICE``: "cpu" or
#: "gpu"; bench.py ``--device``) of every helper.
BATCH = int(os.environ.get("BENCH_BATCH", "100"))
DEVICE = os.environ.get("BENCH_DEVICE", "cpu")
LR = 0.1

#: (name, shape) of each parameter, in MXNet order and layout.
PARAM_SHAPES = {
    "mlp": [("fc1_weight", (128, 784)), ("fc1_bias", (128,)),
            ("fc2_weight", (64, 128)), ("fc2_bias", (64,)),
            ("fc3_weight", (10, 64)), ("fc3_bias", (10,))],
    "lenet": [("conv1_weight", (20, 1, 5, 5)), ("conv1_bias", (20,)),
              ("conv2_weight", (50, 20, 5, 5)), ("conv2_bias", (50,)),
              ("fc1_weight", (500, 800)), ("fc1_bias", (500,)),
              ("fc2_weight", (10, 500)), ("fc2_bias", (10,))],
}


def parser(system: str) -> argparse.ArgumentParser:
    """The command line every helper accepts."""
    p = argparse.ArgumentParser(description=f"{system} benchmark helper (prints one JSON line)")
    p.add_argument("--model", choices=["mlp", "lenet", "resnet20"], required=True)
    p.add_argument("--data", required=True, help=".npz written by bench.py")
    p.add_argument("--n", type=int, required=True, help="training samples per epoch")
    p.add_argument("--epochs", type=int, default=4, help="epochs (the first 2 are warm-up)")
    p.add_argument("--npred", type=int, default=0, help="samples for predict (0: skip)")
    p.add_argument("--variant", default="", help="system-specific variant")
    p.add_argument("--trace", default="", metavar="DIR",
                   help="write a jax.profiler trace of about epoch 3 (JAX-based helpers; "
                        "see trace_steps.py)")
    return p


#: The epoch (0-based) that ``--trace`` records (symnet: from its first batch callback to the
#: next epoch's first): the first two compile and warm up.
TRACE_EPOCH = 2


def load(path: str, model: str, n: int):
    """(x (n,C,28,28) f32, y (n,) f32, params dict name -> f32 array in MXNet layout).

    ``resnet20`` gets the MNIST images repeated to 3 channels and no shared parameters (each
    system initialises its own; use :func:`load_json` for the graph). An ``n`` beyond the data
    file repeats it (the GPU runs need longer epochs than the embedded 10k images).
    """
    with np.load(path, allow_pickle=False) as z:
        x = np.ascontiguousarray(np.resize(z["x"], (n,) + z["x"].shape[1:])[:n],
                                 dtype=np.float32)
        if model == "resnet20":
            x = np.ascontiguousarray(np.repeat(x, 3, axis=1))
        y = np.ascontiguousarray(np.resize(z["y"], (n,)), dtype=np.float32)
        params = {k.split("/", 1)[1]: np.array(z[k], dtype=np.float32)
                  for k in z.files if k.startswith(model + "/") and not k.endswith("/json")}
    if n % BATCH:
        raise SystemExit(f"--n {n} must be a multiple of the batch size {BATCH}")
    return x, y, params


def load_json(path: str, model: str) -> str:
    """The symbol JSON stored in the data file (``<model>/json``, written by bench.py)."""
    with np.load(path, allow_pickle=False) as z:
        return str(z[model + "/json"])


def make_params(model: str, seed: int = 0) -> Dict[str, np.ndarray]:
    """Xavier-uniform weights (MXNet's rule, fan_in + fan_out, magnitude 3), zero biases."""
    rng = np.random.RandomState(seed)
    out = {}
    for name, shape in PARAM_SHAPES[model]:
        if name.endswith("bias"):
            out[name] = np.zeros(shape, np.float32)
            continue
        rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
        fan_in, fan_out = shape[1] * rf, shape[0] * rf
        scale = np.sqrt(3.0 / ((fan_in + fan_out) / 2.0))
        out[name] = rng.uniform(-scale, scale, shape).astype(np.float32)
    return out


#: Epochs excluded from the throughput: the first (it compiles). symnet used to recompile in
#: epoch 2 (earlier RESULTS.md); it now compiles exactly once, so one warm-up epoch is enough.
WARM_EPOCHS = 1


def train_sps(epoch_times: List[float], n: int) -> float:
    """Samples/s over the epochs after the ``WARM_EPOCHS`` warm-up epochs."""
    rest = epoch_times[WARM_EPOCHS:]
    if not rest:
        return float("nan")
    return n * len(rest) / sum(rest)


def emit(system: str, args, **fields) -> None:
    """Print the result line (``BENCH_JSON {...}``), the only line bench.py reads."""
    rec = {"system": system, "model": args.model, "n": args.n, "epochs": args.epochs,
           "variant": args.variant, "batch": BATCH, "device": DEVICE, "pid": os.getpid(),
           "time": time.time()}
    rec.update(fields)
    # Peak resident set size of this process (Linux: ru_maxrss in KiB), train + predict.
    rec["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    if "epoch_times" in rec:
        rec["train_sps"] = train_sps(rec["epoch_times"], args.n)
    sys.stdout.write("BENCH_JSON " + json.dumps(rec) + "\n")
    sys.stdout.flush()
