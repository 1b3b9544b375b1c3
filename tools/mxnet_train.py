"""Train one ``graphs/`` MNIST network with real MXNet 1.9.1, exactly as ``symnet train`` does.

Runs in the MXNet oracle venv (never from tests)::

    /work/mxvenv/bin/python tools/mxnet_train.py lenet --seed 1

The network is the one in ``graphs/<name>.py`` itself: the module is loaded with ``symnet``
aliased to ``mxnet`` (the graph modules only call ``mx.sym.*``), inside a fresh
``mx.name.NameManager`` as ``graphs.build`` does, so layer names and structure are identical by
construction. The recipe is that module's ``RECIPE``, applied the way ``symnet/cli.py`` applies
it: ``mx.random.seed`` + ``np.random.seed``, ``NDArrayIter(shuffle=True)`` over the embedded 10,000
images (``/255``, reshaped to ``input_shape``), ``FeedForward(optimizer, initializer,
**optimizer_params)``, a ``FactorScheduler`` of ``step_epochs * (N // batch)`` updates when the
recipe has one; accuracy of ``FeedForward.score`` on the canonical test set
(``../shared/data/mnist/t10k-*``). Prints one JSON line (``validation_accuracy`` in [0, 1]).
"""
from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import logging
import os
import re
import sys
import time
from typing import Any, Dict, Tuple

import numpy as np

os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMBEDDED = os.path.join(ROOT, "symnet", "datasets", "data")
TEST_DIR = os.path.join(os.path.dirname(ROOT), "shared", "data", "mnist")


def read_idx(path: str) -> np.ndarray:
    """An IDX file (gzipped or raw) as a numpy array (uint8 MNIST: images (N, 28, 28))."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError(f"{path}: not a uint8 IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_graph_module(name: str):
    """``graphs/<name>.py`` imported with ``symnet`` bound to ``mxnet`` (no symnet needed)."""
    path = os.path.join(ROOT, "graphs", f"{name}.py")
    if not os.path.isfile(path):
        raise SystemExit(f"mxnet_train: no graph module {path}")
    sys.modules.setdefault("symnet", mx)  # the graph modules do `import symnet as mx`
    spec = importlib.util.spec_from_file_location(f"_mx_graphs_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def initializer(spec: Any) -> mx.init.Initializer:
    """The RECIPE initializer, parsed as ``symnet/cli.py`` parses it."""
    if spec is None:
        return mx.init.Uniform(0.01)
    m = re.fullmatch(r"\s*(\w+)\s*(?:\(\s*([^)]*)\))?\s*", spec)
    if not m:
        raise ValueError(f"cannot parse initializer {spec!r}")
    args = [float(a) for a in m.group(2).split(",")] if m.group(2) else []
    return mx.init.create(m.group(1).lower(), *args)


def load_data(input_shape: Tuple[int, ...]):
    """(train_x, train_y, test_x, test_y) float32, images /255 and shaped for the graph."""
    x = read_idx(os.path.join(EMBEDDED, "train10k-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(EMBEDDED, "train10k-labels-idx1-ubyte.gz"))
    vx = read_idx(os.path.join(TEST_DIR, "t10k-images-idx3-ubyte.gz"))
    vy = read_idx(os.path.join(TEST_DIR, "t10k-labels-idx1-ubyte.gz"))

    def prep(images):
        return (images.astype(np.float32) / 255.0).reshape((-1,) + tuple(input_shape))

    return prep(x), y.astype(np.float32), prep(vx), vy.astype(np.float32)


def train(name: str, seed: int, epochs: int = 0, eval_each_epoch: bool = False) -> Dict[str, Any]:
    """Train ``name`` by its RECIPE with MXNet; returns the JSON summary."""
    module = load_graph_module(name)
    recipe = dict(getattr(module, "RECIPE", {}))
    num_epoch = epochs or recipe.get("num_epoch", 10)
    batch = recipe.get("batch_size", 100)
    input_shape = tuple(recipe.get("input_shape", (1, 28, 28)))
    mx.random.seed(seed)
    np.random.seed(seed)
    x, y, vx, vy = load_data(input_shape)
    train_iter = mx.io.NDArrayIter(x, y, batch, shuffle=True)
    val_iter = mx.io.NDArrayIter(vx, vy, batch)
    with mx.name.NameManager():
        net = module.get_symbol(num_classes=10)
    opt_params = dict(recipe.get("optimizer_params", {"learning_rate": 0.1}))
    schedule = recipe.get("lr_schedule")
    if schedule and schedule.get("type") == "factor":
        steps = max(1, int(schedule.get("step_epochs", 1)) * (len(y) // batch))
        opt_params["lr_scheduler"] = mx.lr_scheduler.FactorScheduler(
            step=steps, factor=schedule["factor"],
            base_lr=opt_params.get("learning_rate", 0.01))
    model = mx.model.FeedForward(symbol=net, ctx=mx.cpu(), num_epoch=num_epoch,
                                 optimizer=recipe.get("optimizer", "sgd"),
                                 initializer=initializer(recipe.get("initializer")),
                                 **opt_params)
    start = time.time()
    model.fit(X=train_iter, eval_data=val_iter if eval_each_epoch else None,
              batch_end_callback=mx.callback.Speedometer(batch, 50))
    acc = model.score(val_iter)
    return {"system": "mxnet", "version": mx.__version__, "graph": name, "seed": seed,
            "epochs": num_epoch, "batch_size": batch,
            "validation_accuracy": round(float(acc), 4),
            "train_seconds": round(time.time() - start, 1),
            "engine": os.environ.get("MXNET_ENGINE_TYPE", "ThreadedEnginePerDevice")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("graph", help="a graphs/ MNIST module name, e.g. lenet")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=0, help="override the recipe (smoke tests)")
    p.add_argument("--eval-each-epoch", action="store_true",
                   help="also log test accuracy after every epoch (slower; no effect on results)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    summary = train(args.graph, args.seed, args.epochs, args.eval_each_epoch)
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
