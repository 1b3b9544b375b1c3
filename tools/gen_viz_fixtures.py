"""MXNet 1.9.1 goldens for symnet.viz (run in the MXNet venv; needs the graphviz Python package).

Writes tests/fixtures/viz/viz.json:
  symbols    {net: MXNet's tojson()} for the nets of tests/fixtures/viz/nets.py
  plots      [{"net", "kwargs", "name", "format", "source"}]: mx.viz.plot_network(sym, **kwargs)
             and its Digraph's name/format/.source (dtype values are numpy type names)
  summaries  [{"net", "kwargs", "text"}]: the stdout of mx.viz.print_summary(sym, **kwargs)
  zoo        [{"file", "shape", "source", "summary"}]: plot_network(shape=...).source and
             print_summary's stdout for MXNet checkpoints in tests/fixtures/zoo (loaded from file)

Usage: /work/mxvenv/bin/python tools/gen_viz_fixtures.py
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import sys

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "tests", "fixtures", "viz")
sys.path.insert(0, OUT)
from nets import NETS, SHAPES  # noqa: E402


def plot_cases(net):
    shape = SHAPES[net]
    cases = [{}, {"shape": shape}, {"hide_weights": False},
             {"shape": shape, "hide_weights": False},
             {"shape": shape, "dtype": {"data": "float32"}},
             {"dtype": {"data": "float32"}},
             {"title": "net", "save_format": "svg",
              "node_attrs": {"fixedsize": "false", "shape": "oval", "fillcolor": "red"}}]
    if net == "mlp":
        cases.append({"shape": shape, "dtype": {"data": "float16"}, "hide_weights": False})
    return cases


def summary_cases(net):
    shape = SHAPES[net]
    return [{}, {"shape": shape}, {"shape": shape, "line_length": 80},
            {"shape": shape, "line_length": 90, "positions": [40, 60, 70, 90]}]


def as_mx_kwargs(kwargs):
    out = dict(kwargs)
    if "shape" in out:
        out["shape"] = {k: tuple(v) for k, v in out["shape"].items()}
    if "dtype" in out:
        out["dtype"] = {k: np.dtype(v).type for k, v in out["dtype"].items()}
    return out


ZOO = {"resnet-20-cifar-symbol.json": [1, 3, 28, 28],
       "mobilenet-0.25-symbol.json": [1, 3, 224, 224]}


def main() -> None:
    result = {"mxnet": mx.__version__, "symbols": {}, "plots": [], "summaries": []}
    for net, build in NETS.items():
        sym = build(mx)
        result["symbols"][net] = sym.tojson()
        for kwargs in plot_cases(net):
            dot = mx.viz.plot_network(sym, **as_mx_kwargs(kwargs))
            result["plots"].append({"net": net, "kwargs": kwargs, "name": dot.name,
                                    "format": dot.format, "source": dot.source})
        for kwargs in summary_cases(net):
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                mx.viz.print_summary(sym, **as_mx_kwargs(kwargs))
            result["summaries"].append({"net": net, "kwargs": kwargs, "text": buf.getvalue()})
    result["zoo"] = []
    for fname, shape in ZOO.items():
        sym = mx.sym.load(os.path.join(REPO, "tests", "fixtures", "zoo", fname))
        dot = mx.viz.plot_network(sym, shape={"data": tuple(shape)})
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            mx.viz.print_summary(sym, shape={"data": tuple(shape)})
        result["zoo"].append({"file": fname, "shape": shape, "source": dot.source,
                              "summary": buf.getvalue()})
    path = os.path.join(OUT, "viz.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {path}: {len(result['plots'])} plots, {len(result['summaries'])} summaries")


if __name__ == "__main__":
    main()
