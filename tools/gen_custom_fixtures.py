"""Generate Python custom-operator fixtures (``mx.operator``) with MXNet 1.9.1.

Run with the MXNet oracle venv (never from tests)::

    /work/mxvenv/bin/python tools/gen_custom_fixtures.py

The operators live in ``tests/fixtures/custom/custom_ops.py``, which registers them with
whichever ``mx`` it is given. Writes ``tests/fixtures/custom/custom.{json,npz}``:

* ``pair``: FullyConnected into a two-output custom op with a keyword argument
  (``scaled_pair``, scale=1.5): MXNet's JSON, one ``forward(is_train=True)`` and
  ``backward(out_grads)`` through ``simple_bind``: outputs, gradients of data and weights.
  (MXNet 1.9.1 fails to bind a custom op with auxiliary states, "Storage type inconsistent",
  so symnet's aux-state support is tested against numpy instead.)
* ``softmax``: an MLP whose loss head is the numpy softmax op (``np_softmax``), trained one
  epoch by ``Module.fit`` (batch 10, SGD lr 0.5, no shuffle) from fixed weights: the final
  parameters, the training accuracy and ``predict`` on the first 10 rows.
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
OUT_DIR = os.path.join(HERE, "..", "tests", "fixtures", "custom")
sys.path.insert(0, OUT_DIR)
import custom_ops  # noqa: E402


def run_pair(rng, arrays):
    net = custom_ops.pair_net(mx)
    exe = net.simple_bind(mx.cpu(), data=(4, 5))
    for name, arr in exe.arg_dict.items():
        arrays[f"pair/in/{name}"] = rng.uniform(-1, 1, arr.shape).astype(np.float32)
        arr[:] = arrays[f"pair/in/{name}"]
    heads = [rng.uniform(-1, 1, (4, 3)).astype(np.float32) for _ in range(2)]
    arrays["pair/head0"], arrays["pair/head1"] = heads
    exe.forward(is_train=True)
    exe.backward([mx.nd.array(h) for h in heads])
    for i, out in enumerate(exe.outputs):
        arrays[f"pair/out/{i}"] = out.asnumpy()
    for name, g in exe.grad_dict.items():
        arrays[f"pair/grad/{name}"] = g.asnumpy()
    return {"json": net.tojson(), "arguments": net.list_arguments(),
            "outputs": net.list_outputs(), "aux": net.list_auxiliary_states()}


def run_softmax(rng, arrays):
    net = custom_ops.softmax_mlp(mx)
    x = rng.uniform(-1, 1, (50, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32) + (x[:, 1] > 0.5)
    arg_s, _, _ = net.infer_shape(data=(10, 6))
    init = {n: rng.uniform(-0.5, 0.5, s).astype(np.float32)
            for n, s in zip(net.list_arguments(), arg_s) if n not in ("data", "softmax_label")}
    arrays["softmax/x"], arrays["softmax/y"] = x, y
    for n, v in init.items():
        arrays[f"softmax/init/{n}"] = v
    logging.disable(logging.INFO)
    mod = mx.mod.Module(net)
    mod.fit(mx.io.NDArrayIter(x, y, 10), num_epoch=1, optimizer="sgd",
            optimizer_params={"learning_rate": 0.5},
            arg_params={k: mx.nd.array(v) for k, v in init.items()})
    arg, _ = mod.get_params()
    for n, v in arg.items():
        arrays[f"softmax/final/{n}"] = v.asnumpy()
    arrays["softmax/predict10"] = mod.predict(mx.io.NDArrayIter(x[:10], None, 10)).asnumpy()
    score = mod.score(mx.io.NDArrayIter(x, y, 10), "acc")
    return {"json": net.tojson(), "score": [[n, float(v)] for n, v in score]}


def main():
    custom_ops.define(mx)
    rng = np.random.RandomState(11)
    arrays = {}
    meta = {"pair": run_pair(rng, arrays), "softmax": run_softmax(rng, arrays),
            "mxnet": mx.__version__}
    np.savez_compressed(os.path.join(OUT_DIR, "custom.npz"), **arrays)
    with open(os.path.join(OUT_DIR, "custom.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", len(arrays), "arrays")


if __name__ == "__main__":
    main()
