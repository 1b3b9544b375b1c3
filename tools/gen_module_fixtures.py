"""Generate Module-API fixtures with MXNet 1.9.1: input gradients, Monitor, save_params.

Run with the MXNet oracle venv (never from tests)::

    /work/mxvenv/bin/python tools/gen_module_fixtures.py

Writes into ``tests/fixtures/module/``:

* ``module.npz``: inputs, parameters and MXNet's results (arrays named ``<case>/<what>``).
* ``module.json``: for each case, the graph JSON, data/label names and the array names; the
  Monitor's ``toc`` lines of a 4-batch ``Module.fit``.
* ``saved.params``: ``Module.save_params`` of the ``conv`` case.
* ``module.json["fused_rnn_init"]``: ``mx.init.FusedRNN`` on RNN parameter vectors (forget
  bias 2.5), given ``One()``, and with ``init=None`` inside the variable's ``__init__``
  falling back on Module.init_params' initializer.

Cases (each ``Module.bind(..., inputs_need_grad=True)``, ``set_params``, one
``forward(is_train=True)`` and ``backward()``, then ``get_input_grads()`` and the outputs):

* ``conv``: Convolution, BatchNorm (training statistics), ReLU, FullyConnected, SoftmaxOutput.
* ``two_inputs``: two data inputs concatenated into FullyConnected and LinearRegressionOutput.
* ``head_grad``: a FullyConnected head without a loss, ``backward(out_grads=[g])``.
"""
from __future__ import annotations

import json
import logging
import os

import numpy as np

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "..", "tests", "fixtures", "module")
#: What the Monitor case watches: forward outputs and weights (MXNet's backward outputs,
#: ``*_backward_output*``, are left out: symnet does not report them).
MONITOR_PATTERN = r"^(?!.*backward).*(_output|_weight|moving_mean)$"


def conv_net():
    data = mx.sym.Variable("data")
    x = mx.sym.Convolution(data, num_filter=3, kernel=(3, 3), pad=(1, 1), name="conv")
    x = mx.sym.BatchNorm(x, fix_gamma=False, name="bn")
    x = mx.sym.Activation(x, act_type="relu", name="relu")
    x = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def two_inputs_net():
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    x = mx.sym.Concat(a, b, dim=1, name="cat")
    x = mx.sym.FullyConnected(x, num_hidden=2, name="fc")
    return mx.sym.LinearRegressionOutput(x, name="lro")


def head_net():
    return mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3, name="fc")


CASES = {
    "conv": (conv_net, {"data": (4, 2, 5, 5)}, {"softmax_label": (4,)}),
    "two_inputs": (two_inputs_net, {"a": (3, 4), "b": (3, 2)}, {"lro_label": (3, 2)}),
    "head_grad": (head_net, {"data": (5, 6)}, {}),
}


def _params(net, shapes, rng):
    arg_s, _, aux_s = net.infer_shape(**shapes)
    arg = {n: rng.uniform(-0.5, 0.5, s).astype(np.float32)
           for n, s in zip(net.list_arguments(), arg_s) if n not in shapes}
    aux = {n: (rng.uniform(0.5, 1.5, s) if "var" in n else rng.uniform(-0.2, 0.2, s))
           .astype(np.float32) for n, s in zip(net.list_auxiliary_states(), aux_s)}
    return arg, aux


def run_case(name, rng, arrays):
    build, dshapes, lshapes = CASES[name]
    net = build()
    shapes = {**dshapes, **lshapes}
    arg, aux = _params(net, shapes, rng)
    inputs = {n: rng.uniform(-1, 1, s).astype(np.float32) for n, s in dshapes.items()}
    for n, s in lshapes.items():
        inputs[n] = (rng.randint(0, 4, s) if name == "conv" else rng.uniform(-1, 1, s)) \
            .astype(np.float32)
    mod = mx.mod.Module(net, data_names=list(dshapes), label_names=list(lshapes) or None)
    mod.bind(data_shapes=list(dshapes.items()), label_shapes=list(lshapes.items()) or None,
             inputs_need_grad=True)
    mod.set_params({k: mx.nd.array(v) for k, v in arg.items()},
                   {k: mx.nd.array(v) for k, v in aux.items()})
    batch = mx.io.DataBatch([mx.nd.array(inputs[n]) for n in dshapes],
                            [mx.nd.array(inputs[n]) for n in lshapes] or None)
    mod.forward(batch, is_train=True)
    out_grads = None
    if name == "head_grad":
        arrays[f"{name}/head"] = rng.uniform(-1, 1, (5, 3)).astype(np.float32)
        out_grads = [mx.nd.array(arrays[f"{name}/head"])]
    mod.backward(out_grads)
    for n, v in {**arg, **aux, **inputs}.items():
        arrays[f"{name}/in/{n}"] = v
    for n, g in zip(dshapes, mod.get_input_grads()):
        arrays[f"{name}/input_grad/{n}"] = g.asnumpy()
    for i, o in enumerate(mod.get_outputs()):
        arrays[f"{name}/output/{i}"] = o.asnumpy()
    if name == "conv":
        mod.save_params(os.path.join(OUT_DIR, "saved.params"))
    return {"json": net.tojson(), "data": list(dshapes), "label": list(lshapes),
            "params": sorted(arg), "aux": sorted(aux)}


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def run_monitor(rng, arrays):
    """Module.fit over 4 batches of 3 with Monitor(2): the toc lines of batches 0 and 2."""
    net = conv_net()
    shapes = {"data": (3, 2, 5, 5), "softmax_label": (3,)}
    arg, aux = _params(net, shapes, rng)
    x = rng.uniform(-1, 1, (12, 2, 5, 5)).astype(np.float32)
    y = rng.randint(0, 4, (12,)).astype(np.float32)
    for n, v in {**arg, **aux}.items():
        arrays[f"monitor/in/{n}"] = v
    arrays["monitor/x"], arrays["monitor/y"] = x, y
    mon = mx.mon.Monitor(2, pattern=MONITOR_PATTERN)
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    cap = _Capture()
    root.addHandler(cap)
    mod = mx.mod.Module(net)
    mod.fit(mx.io.NDArrayIter(x, y, 3), num_epoch=1, monitor=mon, optimizer="sgd",
            optimizer_params={"learning_rate": 0.1},
            arg_params={k: mx.nd.array(v) for k, v in arg.items()},
            aux_params={k: mx.nd.array(v) for k, v in aux.items()})
    root.removeHandler(cap)
    return {"pattern": MONITOR_PATTERN,
            "lines": [s for s in cap.lines if s.startswith("Batch:")]}


def run_fused_rnn_init():
    """mx.init.FusedRNN on RNN parameter vectors: given One(), and falling back on the
    global initializer through the variable's __init__ (Module.init_params)."""
    out = {}
    for mode, layers, bi in (("lstm", 2, True), ("gru", 1, False), ("rnn_tanh", 2, False)):
        data = mx.sym.Variable("data")
        params = mx.sym.Variable("rnn_parameters", init=mx.init.FusedRNN(
            None, num_hidden=3, num_layers=layers, mode=mode, bidirectional=bi,
            forget_bias=2.5))
        net = mx.sym.RNN(data, params, state_size=3, num_layers=layers, mode=mode,
                         bidirectional=bi, name="rnn")
        shapes, _, _ = net.infer_shape(data=(4, 2, 5))
        size = dict(zip(net.list_arguments(), shapes))["rnn_parameters"][0]
        arr = mx.nd.zeros((size,))
        # MXNet 1.9.1 cannot rebuild a FusedRNN whose init is not None from its __init__
        # string (it looks the inner initializer up in the wrong registry), so the given-init
        # case calls the initializer object's own hook.
        fused = mx.init.FusedRNN(mx.init.One(), 3, layers, mode, bi, forget_bias=2.5)
        fused._init_weight(mx.init.InitDesc("rnn_parameters", global_init=mx.init.Uniform()),
                           arr)
        states = [n for n in net.list_arguments() if n.startswith("rnn_state")]
        mod = mx.mod.Module(net, label_names=None, state_names=states)
        mod.bind([("data", (4, 2, 5))], for_training=False)
        mod.init_params(mx.init.Constant(0.25))
        out[f"{mode}_{layers}_{int(bi)}"] = {
            "size": size, "constant": arr.asnumpy().tolist(),
            "global": mod.get_params()[0]["rnn_parameters"].asnumpy().tolist()}
    return out


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    rng = np.random.RandomState(7)
    arrays = {}
    meta = {"cases": {name: run_case(name, rng, arrays) for name in CASES},
            "monitor": run_monitor(rng, arrays), "fused_rnn_init": run_fused_rnn_init(),
            "mxnet": mx.__version__}
    np.savez_compressed(os.path.join(OUT_DIR, "module.npz"), **arrays)
    with open(os.path.join(OUT_DIR, "module.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", len(arrays), "arrays,", len(meta["monitor"]["lines"]), "monitor lines")


if __name__ == "__main__":
    main()
