"""MXNet 1.9.1 goldens for the model zoo graphs in /work/shared/data/zoo (run in the MXNet venv).

For each NAME-symbol.json writes into tests/fixtures/zoo/:
  zoo.json     per graph: MXNet's list_arguments/list_auxiliary_states/list_outputs, infer_shape
               at the README input shape (batch 1), whether MXNet's tojson() of the loaded graph
               equals the file text (and its sha256), the forward input shape (batch 2, the
               smallest square spatial size the graph accepts, or its own size for the small
               MNIST/CIFAR nets), the arg/aux shapes there and the name of the logits output.
  outputs.npz  "<name>/out/<i>" forward outputs (is_train=False) and "<name>/logits" (the input of
               the SoftmaxOutput head), computed with parameters from tests/zoo_params.py
               (make_params over list order, input make_input(shape, seed=0), label zeros).
  <name>-symbol.json + <name>-0000.params  real MXNet checkpoints (mx.model.save_checkpoint)
               for the small graphs whose .params stays under 2 MB.

Usage: MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \\
    /work/mxvenv/bin/python tools/gen_zoo_fixtures.py [--zoo DIR] [--checkpoints a,b]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import warnings

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
import zoo_params  # noqa: E402

OUT = os.path.join(REPO, "tests", "fixtures", "zoo")
DEFAULT_ZOO = "/work/shared/data/zoo"

# README input shapes (C, H, W)
INPUT_SHAPES = {
    "mlp": (1, 28, 28), "lenet": (1, 28, 28), "lenet-stn": (1, 28, 28),
    "resnet-20-cifar": (3, 28, 28),
    "inception-v3": (3, 299, 299), "inception-v4": (3, 299, 299),
    "inception-resnet-v2": (3, 299, 299),
}
FULL_SIZE_FORWARD = {"mlp", "lenet", "lenet-stn", "resnet-20-cifar"}
CHECKPOINT_CANDIDATES = ("mlp", "lenet", "resnet-20-cifar", "mobilenet-0.25")
CHECKPOINT_LIMIT = 2 * 1024 * 1024
FORWARD_BATCH = 2
# ResNets accept even 1x1 inputs; 32 keeps padding/stride paths non-degenerate.
MIN_SIZE = 32
NON_PARAMS = ("data", "softmax_label")


def input_shape(name: str) -> tuple:
    return INPUT_SHAPES.get(name, (3, 224, 224))


def infer_ok(sym, shape) -> bool:
    """True when MXNet infers every shape with all dimensions positive."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a, o, x = sym.infer_shape(data=shape)
    except mx.base.MXNetError:
        return False
    if a is None:
        return False
    return all(d > 0 for s in a + o + x for d in s)


def smallest_size(sym, chw) -> int:
    """Smallest square spatial size >= MIN_SIZE at which the graph infers."""
    c, h, _ = chw
    for s in range(min(MIN_SIZE, h), h + 1):
        if infer_ok(sym, (1, c, s, s)):
            return s
    return h


def shapes_list(shapes):
    return None if shapes is None else [list(s) for s in shapes]


def one_graph(path: str, name: str, arrays: dict) -> dict:
    text = open(path).read()
    sym = mx.sym.load(path)
    chw = input_shape(name)
    full = (1,) + chw
    a, o, x = sym.infer_shape(data=full)
    rejson = sym.tojson()
    info = {
        "file": os.path.basename(path),
        "input_shape": list(full),
        "list_arguments": sym.list_arguments(),
        "list_auxiliary_states": sym.list_auxiliary_states(),
        "list_outputs": sym.list_outputs(),
        "arg_shapes": shapes_list(a), "out_shapes": shapes_list(o), "aux_shapes": shapes_list(x),
        "tojson_equals_file": rejson == text,
        "tojson_sha256": hashlib.sha256(rejson.encode()).hexdigest(),
        "num_nodes": len(json.loads(rejson)["nodes"]),
    }
    size = chw[1] if name in FULL_SIZE_FORWARD else smallest_size(sym, chw)
    fshape = (FORWARD_BATCH, chw[0], size, size)
    fa, fo, fx = sym.infer_shape(data=fshape)
    args, auxs = sym.list_arguments(), sym.list_auxiliary_states()
    params = zoo_params.make_params(args, fa, skip=NON_PARAMS)
    aux = zoo_params.make_params(auxs, fx)
    data = zoo_params.make_input(fshape, seed=0)
    logits_name = sym.get_children().list_outputs()[0]
    net = mx.sym.Group([sym, sym.get_internals()[logits_name]])
    shapes = dict(zip(args, fa))
    exe = net.simple_bind(mx.cpu(), grad_req="null", **shapes)
    for k, v in params.items():
        exe.arg_dict[k][:] = v
    for k, v in aux.items():
        exe.aux_dict[k][:] = v
    exe.arg_dict["data"][:] = data
    if "softmax_label" in exe.arg_dict:
        exe.arg_dict["softmax_label"][:] = 0
    outs = [r.asnumpy() for r in exe.forward(is_train=False)]
    for i, r in enumerate(outs[:-1]):
        arrays[f"{name}/out/{i}"] = r
    arrays[f"{name}/logits"] = outs[-1]
    for r in outs:
        if not np.all(np.isfinite(r)):
            raise ValueError(f"{name}: non-finite output")
    info.update({
        "forward_input_shape": list(fshape),
        "forward_arg_shapes": shapes_list(fa), "forward_out_shapes": shapes_list(fo),
        "forward_aux_shapes": shapes_list(fx),
        "logits_output": logits_name,
        "logits_absmax": float(np.abs(outs[-1]).max()),
        "checkpoint": None,
    })
    if name in CHECKPOINT_CANDIDATES:
        nbytes = sum(v.nbytes for v in params.values()) + sum(v.nbytes for v in aux.values())
        if nbytes < CHECKPOINT_LIMIT:
            mx.model.save_checkpoint(os.path.join(OUT, name), 0, sym,
                                     {k: mx.nd.array(v) for k, v in params.items()},
                                     {k: mx.nd.array(v) for k, v in aux.items()})
            info["checkpoint"] = {"prefix": name, "epoch": 0}
        else:
            print(f"{name}: checkpoint skipped ({nbytes} bytes)")
    return info


def main() -> None:
    global CHECKPOINT_CANDIDATES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zoo", default=DEFAULT_ZOO)
    ap.add_argument("--checkpoints", default=",".join(CHECKPOINT_CANDIDATES),
                    help="comma-separated graphs that also get a real MXNet checkpoint")
    opts = ap.parse_args()
    CHECKPOINT_CANDIDATES = tuple(n for n in opts.checkpoints.split(",") if n)
    os.makedirs(OUT, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    graphs = {}
    for fname in sorted(os.listdir(opts.zoo)):
        if not fname.endswith("-symbol.json"):
            continue
        name = fname[: -len("-symbol.json")]
        graphs[name] = one_graph(os.path.join(opts.zoo, fname), name, arrays)
        g = graphs[name]
        print(f"{name}: forward {g['forward_input_shape']} logits max {g['logits_absmax']:.3g}"
              f" tojson==file {g['tojson_equals_file']}")
    with open(os.path.join(OUT, "zoo.json"), "w") as f:
        head = {"generator": "tools/gen_zoo_fixtures.py", "mxnet_version": mx.__version__,
                "param_recipe": "tests/zoo_params.py"}
        f.write(json.dumps(head)[:-1] + ', "graphs": {\n')
        f.write(",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in graphs.items()))
        f.write("}}\n")
    np.savez_compressed(os.path.join(OUT, "outputs.npz"), **arrays)


if __name__ == "__main__":
    main()
