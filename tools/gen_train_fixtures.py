"""Generate training-parity fixtures with MXNet 1.9.1 (FeedForward and Module).

Run with the MXNet oracle venv (never from tests)::

    MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \
        /work/mxvenv/bin/python tools/gen_train_fixtures.py

Writes into ``tests/fixtures/train/``:

* ``train.json``: for the tutorial MLP and LeNet, trained one epoch on the first 1000 embedded
  MNIST images (batch 100, no shuffle, SGD lr 0.1 momentum 0.9 wd 1e-4, initial parameters from
  ``recipe.init_params``) with ``FeedForward.fit`` and ``Module.fit``: statistics of the final
  parameters (``recipe.param_stats``), the log lines (Speedometer(100, 5), eval on the next 300
  images), FeedForward predict outputs for the first 20 eval images and the eval score; for the
  tiny MLP checkpoint: predict/score on fixed data and the parameters after continuing training.
* ``tiny-symbol.json`` / ``tiny-0002.params``: a checkpoint written by MXNet's save_checkpoint.
"""
from __future__ import annotations

import json
import logging
import os
import sys

import numpy as np

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "fixtures", "train")
sys.path.insert(0, OUT_DIR)
import recipe  # noqa: E402


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _capture():
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    h = _Capture()
    root.addHandler(h)
    return h


def _iters(X, y):
    n, b = recipe.N_TRAIN, recipe.BATCH
    train = mx.io.NDArrayIter(X[:n], y[:n], b, shuffle=False)
    val = mx.io.NDArrayIter(X[n:n + recipe.N_EVAL], y[n:n + recipe.N_EVAL], b, shuffle=False)
    return train, val


def _init(net, X):
    names = [a for a in net.list_arguments() if a not in ("data", "softmax_label")]
    shapes, _, _ = net.infer_shape(data=(recipe.BATCH,) + X.shape[1:])
    shape_of = dict(zip(net.list_arguments(), shapes))
    return recipe.init_params(names, [shape_of[n] for n in names])


def run_net(build, X, y):
    net = build(mx)
    init = _init(net, X)
    res = {}
    # FeedForward.fit
    train, val = _iters(X, y)
    cap = _capture()
    model = mx.model.FeedForward(net, ctx=mx.cpu(), num_epoch=1,
                                 arg_params={k: mx.nd.array(v) for k, v in init.items()},
                                 **recipe.OPT)
    model.fit(train, eval_data=val, batch_end_callback=mx.callback.Speedometer(recipe.BATCH, 5))
    logging.getLogger().removeHandler(cap)
    Xe = X[recipe.N_TRAIN:recipe.N_TRAIN + 20]
    pred = model.predict(Xe)
    _, val = _iters(X, y)
    score = model.score(val)
    res["feedforward"] = {
        "params": recipe.param_stats({k: v.asnumpy() for k, v in model.arg_params.items()}),
        "log": [recipe.mask_line(s) for s in cap.lines],
        "predict20": np.asarray(pred, np.float64).round(7).tolist(),
        "score": float(score)}
    # Module.fit
    train, val = _iters(X, y)
    cap = _capture()
    mod = mx.mod.Module(net, context=mx.cpu())
    mod.fit(train, eval_data=val, optimizer="sgd", optimizer_params=dict(recipe.OPT),
            arg_params={k: mx.nd.array(v) for k, v in init.items()}, num_epoch=1,
            batch_end_callback=mx.callback.Speedometer(recipe.BATCH, 5))
    logging.getLogger().removeHandler(cap)
    arg, _ = mod.get_params()
    _, val = _iters(X, y)
    res["module"] = {"params": recipe.param_stats({k: v.asnumpy() for k, v in arg.items()}),
                     "log": [recipe.mask_line(s) for s in cap.lines],
                     "score": [[n, float(v)] for n, v in mod.score(val, "acc")]}
    return res


def run_tiny():
    net = recipe.build_tiny(mx)
    x, y = recipe.tiny_data()
    shapes, _, _ = net.infer_shape(data=(10, 20))
    names = [a for a in net.list_arguments() if a not in ("data", "softmax_label")]
    shape_of = dict(zip(net.list_arguments(), shapes))
    init = recipe.init_params(names, [shape_of[n] for n in names], seed=5)
    model = mx.model.FeedForward(net, num_epoch=2, learning_rate=0.1, momentum=0.9,
                                 arg_params={k: mx.nd.array(v) for k, v in init.items()})
    model.fit(mx.io.NDArrayIter(x, y, 10, shuffle=False))
    prefix = os.path.join(OUT_DIR, "tiny")
    mx.model.save_checkpoint(prefix, 2, net, model.arg_params, model.aux_params)
    probe = x[:10]
    pred = model.predict(probe)
    score = model.score(mx.io.NDArrayIter(x, y, 10, shuffle=False))
    # continue from the checkpoint for one epoch (begin_epoch=2)
    cont = mx.model.FeedForward.load(prefix, 2, num_epoch=3, learning_rate=0.1, momentum=0.9)
    cont.fit(mx.io.NDArrayIter(x, y, 10, shuffle=False))
    return {"predict10": np.asarray(pred, np.float64).round(8).tolist(), "score": float(score),
            "continued": {k: v.asnumpy().astype(np.float64).round(8).tolist()
                          for k, v in cont.arg_params.items()},
            "continued_shapes": {k: list(v.shape) for k, v in cont.arg_params.items()}}


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    X, y = recipe.mnist()
    out = {"mxnet": mx.__version__, "mlp": run_net(recipe.build_mlp, X, y),
           "lenet": run_net(recipe.build_lenet, X, y), "tiny": run_tiny()}
    with open(os.path.join(OUT_DIR, "train.json"), "w") as f:
        json.dump(out, f, indent=0)
    print("wrote", os.path.join(OUT_DIR, "train.json"))


if __name__ == "__main__":
    main()
