"""symnet.xla_options: which XLA options symnet's programs compile with, and that they apply.

On the CPU, graphs with convolutions compile without YNNPACK convolutions (XLA's own kernels
measured faster, benchmarks/RESULTS.md); everything else keeps XLA's defaults. The numbers
under these options are checked against MXNet's goldens by the op, graph and zoo tests, which
run through the same jitted forms.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import symnet as mx
from symnet import xla_options
from symnet.compiler import compile_symbol
from symnet.trainer import Trainer

OPTION = "xla_cpu_experimental_ynn_fusion_type"


def _convnet():
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), num_filter=32, pad=(1, 1), name="conv")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.FullyConnected(mx.sym.flatten(net), num_hidden=4, name="fc")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def _mlp():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=4, name="fc")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def _ynn_roots(hlo: str) -> list:
    """The root instruction of every YNNPACK fusion in an optimized HLO module."""
    roots = []
    for m in re.finditer(r"calls=%([\w.\-]+)[^\n]*__ynn_fusion", hlo):
        body = re.search(r"^%" + re.escape(m.group(1)) + r" .*?^}", hlo, re.M | re.S).group(0)
        roots.append(re.search(r"ROOT %\S+ = \S+ ([\w\-]+)\(", body).group(1))
    return roots


def test_options_per_backend_and_graph(monkeypatch):
    monkeypatch.delenv("SYMNET_CPU_CONV", raising=False)
    opts = xla_options.compiler_options("cpu", _convnet())
    if not xla_options._accepted(tuple(sorted(xla_options._CPU_CONV_BY_XLA.items()))):
        assert opts == {}  # a jaxlib without the option: XLA's defaults, no error
        return
    assert opts == {OPTION: "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"}
    assert xla_options.compiler_options("cpu", _mlp()) == {}
    assert xla_options.compiler_options("gpu", _convnet()) == {}
    assert xla_options.compiler_options("tpu", _convnet()) == {}
    monkeypatch.setenv("SYMNET_CPU_CONV", "ynn")
    assert xla_options.compiler_options("cpu", _convnet()) == {}


def test_an_option_the_compiler_rejects_falls_back_to_defaults():
    assert xla_options._accepted(((OPTION, "NOT_A_FUSION_TYPE"),)) is False
    assert xla_options._accepted((("xla_cpu_no_such_option", "1"),)) is False


def test_cpu_conv_programs_compile_without_ynnpack_convolutions(monkeypatch):
    monkeypatch.delenv("SYMNET_CPU_CONV", raising=False)
    sym = _convnet()
    trainer = Trainer(sym, ["data"], ["softmax_label"], backend="cpu")
    if not trainer.compiler_options:
        pytest.skip("this jaxlib does not take the option")
    graph = compile_symbol(sym, backend="cpu")
    assert trainer.compiler_options == graph.compiler_options
    assert graph.compiler_options == xla_options.conv_graph_options("cpu")
    rng = np.random.RandomState(0)
    args = {"data": rng.rand(8, 16, 8, 8).astype(np.float32),
            "conv_weight": rng.rand(32, 16, 3, 3).astype(np.float32) * 0.1,
            "conv_bias": np.zeros(32, np.float32),
            "fc_weight": rng.rand(4, 2048).astype(np.float32) * 0.01,
            "fc_bias": np.zeros(4, np.float32),
            "softmax_label": np.arange(8, dtype=np.float32) % 4}
    names = ["conv_weight", "conv_bias", "fc_weight", "fc_bias", "data"]
    fn = graph.forward_backward_fn(names)
    heads = (None,)
    hlo = fn.lower(args, {}, None, heads).compile().as_text()
    assert "convolution(" in hlo  # forward, input and weight gradients are still convolutions
    assert "convolution" not in _ynn_roots(hlo)
    # The trainer's programs (here its predict step) compile with the same options.
    params = {n: args[n] for n in names if n != "data"}
    pred = trainer.predict_step().lower(params, {}, {}, {"data": args["data"]}).compile()
    pred_hlo = pred.as_text()
    assert "convolution(" in pred_hlo and "convolution" not in _ynn_roots(pred_hlo)
    # The same program under XLA's defaults is a different compilation (distinct cache
    # entries): the option reaches the compiler.
    monkeypatch.setenv("SYMNET_CPU_CONV", "ynn")
    plain = compile_symbol(sym, backend="cpu")
    assert plain is not graph and plain.compiler_options is None
    # XLA's default (jaxlib 0.10) gives these convolutions to YNNPACK: if that changes, the
    # option's premise (and its measurement) needs looking at again.
    plain_hlo = plain.forward_backward_fn(names).lower(args, {}, None, heads).compile().as_text()
    assert "convolution" in _ynn_roots(plain_hlo)
    outs, _, grads = fn(args, {}, None, heads)
    outs0, _, grads0 = plain.forward_backward_fn(names)(args, {}, None, heads)
    np.testing.assert_allclose(np.asarray(outs[0]), np.asarray(outs0[0]), rtol=1e-5, atol=1e-6)
    for n in names:
        np.testing.assert_allclose(np.asarray(grads[n]), np.asarray(grads0[n]),
                                   rtol=1e-4, atol=1e-5, err_msg=n)
