"""symnet.optimize: the NHWC / pool-fusion / im2col rewrites equal the plain lowering.

Each rewritten graph must keep list_arguments/list_auxiliary_states/list_outputs and give the
same outputs, auxiliary states and gradients of every argument as the graph as written; the
internal NHWC ops must also reproduce MXNet's recorded conv/pool numbers (tests/fixtures/ops).
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import symnet as mx
from symnet.base import ParamError
from symnet.compiler import Graph
from symnet.ops import fused
from symnet.ops.registry import get_op, parse_params
from symnet.optimize import MODES, choose, fuse_conv_pool_act, optimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from graphs import lenet, puzzlelib_lenet5  # noqa: E402

OPS_DIR = ROOT / "tests" / "fixtures" / "ops"
FAST_MODES = ("nhwc", "nhwc+im2col")


# ---- graphs ------------------------------------------------------------------------------------

def _conv_act_pool(act="relu", pool_type="max", kernel=(2, 2), stride=(2, 2), pad=(0, 0)):
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv")
    net = mx.sym.Activation(net, act_type=act, name="act")
    net = mx.sym.Pooling(net, pool_type=pool_type, kernel=kernel, stride=stride, pad=pad,
                         name="pool")
    net = mx.sym.Flatten(net, name="flat")
    return mx.sym.FullyConnected(net, num_hidden=3, name="fc")


def _bn_concat():
    """Conv -> BN -> relu -> two conv branches -> Concat -> residual add -> pools -> FC,
    with an NHWC-computed intermediate (the pool) also returned as a graph output."""
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=4, name="c0")
    net = mx.sym.BatchNorm(net, fix_gamma=False, name="bn0")
    net = mx.sym.Activation(net, act_type="relu", name="r0")
    b1 = mx.sym.Convolution(net, kernel=(1, 1), num_filter=2, name="b1")
    b2 = mx.sym.Convolution(net, kernel=(3, 3), pad=(1, 1), num_filter=2, name="b2")
    cat = mx.sym.Concat(b1, b2, dim=1, name="cat")
    res = cat + net
    pool = mx.sym.Pooling(res, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool")
    gap = mx.sym.Pooling(pool, pool_type="avg", global_pool=True, kernel=(1, 1), name="gap")
    fc = mx.sym.FullyConnected(mx.sym.Flatten(gap), num_hidden=3, name="fc")
    out = mx.sym.SoftmaxOutput(fc, name="softmax")
    return mx.sym.Group([out, pool])


def _net(name):
    if name == "lenet":
        return lenet.get_symbol(), (4, 1, 28, 28)
    if name == "puzzlelib":
        return puzzlelib_lenet5.get_symbol(), (4, 1, 28, 28)
    if name == "conv_relu_pool":
        return _conv_act_pool("relu"), (3, 2, 9, 11)  # odd sizes: 'valid' crop
    if name == "bn_concat":
        return _bn_concat(), (2, 3, 8, 8)
    raise KeyError(name)


NETS = ("lenet", "puzzlelib", "conv_relu_pool", "bn_concat")


def _inputs(sym, data_shape, dtype, seed=0, scale=1.0):
    arg_shapes, _, aux_shapes = sym.infer_shape(data=data_shape)
    rng = np.random.default_rng(seed)
    args, aux = {}, {}
    for name, shape in zip(sym.list_arguments(), arg_shapes):
        if name.endswith("label"):
            args[name] = jnp.asarray(rng.integers(0, 3, size=shape), dtype)
        elif name == "data":
            args[name] = jnp.asarray(scale * rng.standard_normal(shape), dtype)
        else:
            args[name] = jnp.asarray(0.3 * rng.standard_normal(shape), dtype)
    for name, shape in zip(sym.list_auxiliary_states(), aux_shapes):
        val = rng.uniform(0.5, 1.5, shape) if name.endswith("var") else rng.normal(size=shape)
        aux[name] = jnp.asarray(val, dtype)
    return args, aux


def _step(sym):
    """jit(args, aux, heads) -> (outputs, new_aux, grads of sum(out * head) wrt every arg)."""
    graph = Graph(sym)

    def run(args, aux, heads):
        def f(a):
            return graph.apply(a, aux, None, True)

        outs, vjp, new_aux = jax.vjp(f, args, has_aux=True)
        (grads,) = vjp(tuple(h.astype(o.dtype) for o, h in zip(outs, heads)))
        return outs, new_aux, grads

    return jax.jit(run)


def _heads(sym, args, seed=1):
    """Random head gradients, one per output."""
    rng = np.random.default_rng(seed)
    _, out_shapes, _ = sym.infer_shape(data=args["data"].shape)
    return tuple(jnp.asarray(rng.standard_normal(s), args["data"].dtype) for s in out_shapes)


@functools.lru_cache(maxsize=None)
def _built(net):
    with mx.name.NameManager():
        return _net(net)


def _count(sym, prefix="_sn_"):
    return sum(1 for n in sym._topo() if n.op is not None and n.op.name.startswith(prefix))


def _ops(sym):
    return [n.op.name for n in sym._topo() if n.op is not None]


def _assert_tree_close(actual, expected, rtol, atol, what):
    for key in expected:
        np.testing.assert_allclose(np.asarray(actual[key]), np.asarray(expected[key]),
                                   rtol=rtol, atol=atol, err_msg=f"{what} {key}")


def _assert_grads_close(actual, expected, what, rel=2e-5):
    """Each leaf within ``rel`` of its largest entry; the 1e-6 floor covers gradients that are
    zero in exact arithmetic (a conv bias before training-mode BatchNorm)."""
    assert set(actual) == set(expected)
    for k in expected:
        err = float(np.max(np.abs(np.asarray(actual[k]) - np.asarray(expected[k]))))
        bound = rel * float(np.max(np.abs(np.asarray(expected[k])))) + 1e-6
        assert err <= bound, f"{what} gradient of {k}: error {err:.2e} > {bound:.2e}"


# ---- interface and numbers equal the plain graph ----------------------------------------------

@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("mode", FAST_MODES)
def test_lists_and_shapes_unchanged(net, mode):
    sym, shape = _built(net)
    opt = optimize(sym, "cpu", mode)
    assert opt is not sym and _count(opt) > 0
    assert opt.list_arguments() == sym.list_arguments()
    assert opt.list_auxiliary_states() == sym.list_auxiliary_states()
    assert opt.list_outputs() == sym.list_outputs()
    assert opt.infer_shape(data=shape) == sym.infer_shape(data=shape)


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("mode", FAST_MODES)
def test_outputs_and_gradients_equal_plain(net, mode):
    sym, shape = _built(net)
    args, aux = _inputs(sym, shape, jnp.float32)
    heads = _heads(sym, args)
    outs0, aux0, g0 = _step(sym)(args, aux, heads)
    outs1, aux1, g1 = _step(optimize(sym, "cpu", mode))(args, aux, heads)
    for i, (a, b) in enumerate(zip(outs1, outs0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5, err_msg=f"output {i}")
    _assert_tree_close(aux1, aux0, 1e-5, 1e-6, "aux")
    assert set(g1) == set(sym.list_arguments())
    _assert_grads_close(g1, g0, f"{net} {mode}")


@pytest.mark.parametrize("net", ["lenet", "conv_relu_pool"])
def test_fusion_alone_in_nchw_equals_plain(net):
    """The fusion pass by itself (NCHW ``_sn_conv_pool_act``, no layout change)."""
    sym, shape = _built(net)
    fused_sym = fuse_conv_pool_act(sym)
    assert _count(fused_sym) == _count(fused_sym, "_sn_conv_pool_act") > 0
    assert fused_sym.list_arguments() == sym.list_arguments()
    assert fused_sym.infer_shape(data=shape) == sym.infer_shape(data=shape)
    args, aux = _inputs(sym, shape, jnp.float32)
    heads = _heads(sym, args)
    o0, _, g0 = _step(sym)(args, aux, heads)
    o1, _, g1 = _step(fused_sym)(args, aux, heads)
    np.testing.assert_allclose(o1[0], o0[0], rtol=1e-5, atol=1e-6)
    _assert_grads_close(g1, g0, f"fused {net}")


def test_float64_exact_to_rounding():
    sym, shape = _built("lenet")
    with jax.enable_x64(True):
        args, aux = _inputs(sym, shape, jnp.float64)
        heads = _heads(sym, args)
        outs0, _, g0 = _step(sym)(args, aux, heads)
        for mode in FAST_MODES:
            outs1, _, g1 = _step(optimize(sym, "cpu", mode))(args, aux, heads)
            assert outs1[0].dtype == jnp.float64
            np.testing.assert_allclose(outs1[0], outs0[0], rtol=1e-12, atol=1e-14)
            _assert_tree_close(g1, g0, 1e-10, 1e-13, f"{mode} grad")


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_ties_after_saturation_give_same_gradients(act):
    """x100 inputs: tanh saturates to +-1 and relu to 0, so many pool windows tie after the
    activation (not before); the pool-first rewrite must still give the same gradients."""
    with mx.name.NameManager():
        sym = _conv_act_pool(act)
    shape = (2, 2, 9, 9)
    args, aux = _inputs(sym, shape, jnp.float32, scale=100.0)
    conv_out = jax.nn.relu if act == "relu" else jnp.tanh
    pre = jax.lax.conv_general_dilated(args["data"], args["conv_weight"], (1, 1), "VALID")
    post = np.asarray(conv_out(pre + args["conv_bias"].reshape(1, -1, 1, 1)))
    win = post[:, :, :6, :6].reshape(2, 4, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5)
    win = win.reshape(2, 4, 3, 3, 4)
    ties = (win == win.max(-1, keepdims=True)).sum(-1) > 1
    assert ties.any(), "the test needs tied windows"
    heads = _heads(sym, args)
    _, _, g0 = _step(sym)(args, aux, heads)
    opt = optimize(sym, "cpu", "nhwc")
    assert "_sn_conv_pool_act" in _ops(opt)
    _, _, g1 = _step(opt)(args, aux, heads)
    _assert_tree_close(g1, g0, 1e-5, 1e-4, "grad")


@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("mode", FAST_MODES)
def test_tied_pool_windows_route_the_gradient_like_mxnet(act, mode):
    """Ties before the activation: integer data and an all-ones 3x3 kernel tie many 2x2 max
    windows. MXNet gives a window's whole gradient to its first maximum (row-major; see the
    ``Pooling2d_max_k2_s2_ties`` golden), as the plain lowering does; the CPU passes' reshape
    pooling must too, not split it among the tied elements."""
    with mx.name.NameManager():
        sym = _conv_act_pool(act)
    shape = (2, 2, 9, 9)
    _check_tied_grads(sym, shape, mode)


@pytest.mark.parametrize("mode", FAST_MODES)
def test_tied_global_max_pool_routes_the_gradient_like_mxnet(mode):
    with mx.name.NameManager():
        net = mx.sym.Convolution(mx.sym.Variable("data"), kernel=(3, 3), num_filter=4,
                                 name="conv")
        net = mx.sym.Activation(net, act_type="relu", name="act")
        net = mx.sym.Pooling(net, pool_type="max", kernel=(1, 1), global_pool=True, name="pool")
        sym = mx.sym.FullyConnected(mx.sym.Flatten(net), num_hidden=3, name="fc")
    _check_tied_grads(sym, (3, 2, 6, 6), mode, windows=None)


def _check_tied_grads(sym, shape, mode, windows=(2, 2)):
    """Gradients of ``optimize(sym)`` equal the plain lowering's on data with many ties."""
    args, aux = _inputs(sym, shape, jnp.float32)
    rng = np.random.default_rng(3)
    args["data"] = jnp.asarray(rng.integers(-1, 2, size=shape), jnp.float32)
    args["conv_weight"] = jnp.ones_like(args["conv_weight"])
    args["conv_bias"] = jnp.zeros_like(args["conv_bias"])
    pre = np.asarray(jax.lax.conv_general_dilated(args["data"], args["conv_weight"], (1, 1),
                                                  "VALID"))
    n, c, h, w = pre.shape
    if windows is None:  # global pooling: one window per channel
        win = pre.reshape(n, c, 1, h * w)
    else:
        kh, kw = windows
        win = pre[:, :, :h // kh * kh, :w // kw * kw].reshape(n, c, h // kh, kh, w // kw, kw)
        win = win.transpose(0, 1, 2, 4, 3, 5).reshape(n, c, -1, kh * kw)
    live = win.max(-1) > 0  # relu passes a gradient there
    ties = ((win == win.max(-1, keepdims=True)).sum(-1) > 1) & live
    assert ties.sum() >= 4, "the test needs tied windows with a gradient"
    heads = _heads(sym, args)
    _, _, g0 = _step(sym)(args, aux, heads)
    opt = optimize(sym, "cpu", mode)
    assert {"_sn_conv_pool_act", "_sn_pool_nhwc"} & set(_ops(opt))  # NHWC pooling
    _, _, g1 = _step(opt)(args, aux, heads)
    _assert_tree_close(g1, g0, 1e-5, 1e-5, f"{mode} grad")


def test_scan_of_sgd_steps_matches_plain():
    """Three SGD steps inside lax.scan (the im2col use case) follow the plain graph.

    float64: in float32 a few training steps amplify rounding-order differences to ~1e-3.
    """
    with jax.enable_x64(True):
        _scan_check()


def _scan_check():
    sym, shape = _built("lenet")
    args, aux = _inputs(sym, shape, jnp.float64)
    names = [n for n in sym.list_arguments() if n not in ("data", "softmax_label")]

    def train(graph_sym):
        graph = Graph(graph_sym)

        def loss_step(params, _):
            def f(p):
                outs, _ = graph.apply({**args, **p}, aux, None, True)
                return outs

            outs, vjp = jax.vjp(f, params)
            (g,) = vjp(tuple(jnp.ones_like(o) for o in outs))
            return jax.tree.map(lambda w, d: w - 0.1 * d, params, g), outs[0].sum()

        return jax.jit(lambda p: jax.lax.scan(loss_step, p, None, length=3))

    params = {n: args[n] for n in names}
    p0, _ = train(sym)(params)
    p1, _ = train(optimize(sym, "cpu", "nhwc+im2col"))(params)
    _assert_tree_close(p1, p0, 1e-9, 1e-11, "params after 3 steps")


# ---- where the rewrites apply -------------------------------------------------------------------

def test_lenet_rewrite_structure():
    sym, _ = _built("lenet")
    ops = _ops(optimize(sym, "cpu", "nhwc"))
    assert ops.count("_sn_conv_pool_act") == 2
    assert ops.count("_sn_to_nhwc") == 1 and ops.count("_sn_to_nchw") == 1
    assert "Convolution" not in ops and "Pooling" not in ops
    # Back to NCHW right before Flatten: MXNet's (C, H, W) flatten order is kept.
    assert ops.index("_sn_to_nchw") == ops.index("Flatten") - 1
    im2col = optimize(sym, "cpu", "nhwc+im2col")
    assert all(n.params.im2col for n in im2col._topo() if n.op is not None
               and n.op.name == "_sn_conv_pool_act")


def test_puzzlelib_conv_pool_relu_moves_bias_after_pool():
    sym, _ = _built("puzzlelib")
    opt = optimize(sym, "cpu", "nhwc")
    fusedn = [n for n in opt._topo() if n.op is not None and n.op.name == "_sn_conv_pool_act"]
    assert [n.params.act_type for n in fusedn] == ["none", "none"]
    assert _ops(opt).count("Activation") == 3  # relu1, relu2 in NHWC and relu3 after fc1


def test_bn_concat_stays_nhwc_inside():
    sym, _ = _built("bn_concat")
    opt = optimize(sym, "cpu", "nhwc")
    ops = _ops(opt)
    bn = next(n for n in opt._topo() if n.op is not None and n.op.name == "BatchNorm")
    cat = next(n for n in opt._topo() if n.op is not None and n.op.name == "Concat")
    assert bn.params.axis == 3 and cat.params.dim == 3
    assert ops.count("_sn_to_nhwc") == 1
    # the pool is also a graph output: converted back once, shared with the gap branch's input
    assert ops.count("_sn_conv_nhwc") == 3 and ops.count("_sn_pool_nhwc") == 2


@pytest.mark.parametrize("case,kwargs", [
    ("avg pooling", dict(pool_type="avg")),
    ("softsign is not in the monotone list", dict(act="softsign")),
    ("padded pooling", dict(pad=(1, 1))),
    ("overlapping pooling", dict(kernel=(3, 3), stride=(2, 2))),
])
def test_no_fusion_where_it_is_not_exact(case, kwargs):
    sym = _conv_act_pool(**kwargs)
    opt = optimize(sym, "cpu", "nhwc")
    ops = _ops(opt)
    assert "_sn_conv_pool_act" not in ops, case
    assert ops.count("_sn_conv_nhwc") == 1 and ops.count("_sn_pool_nhwc") == 1
    args, aux = _inputs(sym, (2, 2, 8, 8), jnp.float32)
    heads = _heads(sym, args)
    o0, _, g0 = _step(sym)(args, aux, heads)
    o1, _, g1 = _step(opt)(args, aux, heads)
    np.testing.assert_allclose(o1[0], o0[0], rtol=1e-5, atol=1e-5)
    _assert_tree_close(g1, g0, 1e-4, 1e-5, case)


def test_no_fusion_with_multi_consumer_intermediates():
    data = mx.sym.Variable("data")
    conv = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv")
    act = mx.sym.Activation(conv, act_type="relu", name="act")
    pool = mx.sym.Pooling(act, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool")
    for sym in (mx.sym.Group([pool, act]),            # activation is also an output
                mx.sym.Group([pool, conv * 2.0])):    # conv output has a second reader
        assert "_sn_conv_pool_act" not in _ops(optimize(sym, "cpu", "nhwc"))
        args, aux = _inputs(sym, (2, 2, 8, 8), jnp.float32)
        opt = optimize(sym, "cpu", "nhwc")
        assert opt.list_outputs() == sym.list_outputs()
        heads = _heads(sym, args)
        o0, _, g0 = _step(sym)(args, aux, heads)
        o1, _, g1 = _step(opt)(args, aux, heads)
        for a, b in zip(o1, o0):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
        _assert_tree_close(g1, g0, 1e-4, 1e-5, "grad")


def test_graphs_without_2d_convolution_are_untouched():
    data = mx.sym.Variable("data")
    mlp = mx.sym.FullyConnected(mx.sym.Activation(data, act_type="relu"), num_hidden=3)
    conv1d = mx.sym.Convolution(data, kernel=(3,), num_filter=2)
    for sym in (mlp, conv1d):
        assert optimize(sym, "cpu", "nhwc") is sym
        assert choose(sym, "cpu", scan=True) == "none"


def test_choose_policy_and_errors():
    sym, _ = _built("lenet")
    assert choose(sym, "cpu", scan=False) == "nhwc"
    assert choose(sym, "cpu", scan=True) == "nhwc+im2col"
    assert choose(sym, "gpu", scan=True) == "none"
    assert choose(sym, "tpu") == "none"
    assert optimize(sym, "cpu", "none") is sym
    assert optimize(sym, "cpu", "nhwc") is optimize(sym, "cpu", "nhwc")  # cached
    assert set(MODES) == {"none", "nhwc", "nhwc+im2col"}
    with pytest.raises(ParamError, match="unknown mode 'fast'.*nhwc"):
        optimize(sym, "cpu", "fast")
    with pytest.raises(ParamError, match="unknown backend"):
        optimize(sym, "abacus", "nhwc")


# ---- the internal NHWC ops against MXNet's recorded numbers -------------------------------------

def _golden_cases(op, ndim):
    with open(OPS_DIR / "core.json") as f:
        cases = json.load(f)["cases"]
    return [c for c in cases if c["op"] == op and len(c["arg_shapes"][0]) == ndim]


@functools.lru_cache(maxsize=None)
def _npz():
    with np.load(OPS_DIR / "core.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _golden(cid, kind):
    prefix = f"{cid}/{kind}/"
    return {k[len(prefix):]: v for k, v in _npz().items() if k.startswith(prefix)}


def _params(op, case):
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    return parse_params(get_op(op), kw)


NHWC = (0, 2, 3, 1)
NCHW = (0, 3, 1, 2)


@pytest.mark.parametrize("case", _golden_cases("Convolution", 4), ids=lambda c: c["id"])
@pytest.mark.parametrize("im2col", [False, True])
def test_conv_nhwc_matches_mxnet(case, im2col):
    p = _params("Convolution", case)
    cid, name = case["id"], case["name"]
    args = {k: jnp.asarray(v) for k, v in _golden(cid, "arg").items()}
    head = jnp.asarray(_golden(cid, "head_grad")["0"])

    def f(a):
        y = fused.conv2d_nhwc(p, a["data"].transpose(NHWC), a[f"{name}_weight"], im2col)
        if f"{name}_bias" in a:
            y = y + a[f"{name}_bias"]
        return y.transpose(NCHW)

    out, vjp = jax.vjp(f, args)
    (grads,) = vjp(head)
    np.testing.assert_allclose(out, _golden(cid, "out")["0"], rtol=1e-4, atol=1e-5)
    _assert_tree_close(grads, _golden(cid, "grad"), 1e-3, 1e-4, f"{cid} grad")


ONE_CHANNEL = [  # (kernel, stride, dilate, pad): the one-channel im2col path's geometries
    ((5, 5), (1, 1), (1, 1), (0, 0)),
    ((3, 3), (2, 1), (1, 1), (1, 0)),
    ((3, 3), (1, 1), (2, 1), (2, 1)),
    ((1, 3), (1, 1), (1, 1), (0, 1)),
    ((1, 1), (1, 1), (1, 1), (0, 0)),
    ((5, 5), (3, 3), (1, 1), (2, 2)),
]


@pytest.mark.parametrize("geometry", ONE_CHANNEL, ids=str)
def test_one_channel_im2col_matches_plain(geometry):
    """One input channel (LeNet's conv1) takes im2col's offset-major path: outputs and the
    gradients of data and weight equal XLA's convolution (checked against MXNet above)."""
    kernel, stride, dilate, pad = geometry
    p = parse_params(get_op("Convolution"), {"kernel": kernel, "stride": stride,
                                              "dilate": dilate, "pad": pad, "num_filter": 4})
    rng = np.random.RandomState(0)
    x = jnp.asarray(rng.randn(2, 9, 11, 1).astype(np.float32))
    w = jnp.asarray(rng.randn(4, 1, *kernel).astype(np.float32))

    def run(im2col):
        out, vjp = jax.vjp(lambda a, b: fused.conv2d_nhwc(p, a, b, im2col), x, w)
        head = jnp.asarray(np.random.RandomState(1).randn(*out.shape).astype(np.float32))
        return (out,) + vjp(head)

    for got, want, what in zip(run(True), run(False), ("out", "data grad", "weight grad")):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=f"{geometry} {what}")


@pytest.mark.parametrize("case", _golden_cases("Pooling", 4), ids=lambda c: c["id"])
def test_pool_nhwc_matches_mxnet(case):
    p = _params("Pooling", case)
    cid = case["id"]
    data = jnp.asarray(_golden(cid, "arg")["data"])
    head = jnp.asarray(_golden(cid, "head_grad")["0"])
    op = get_op("_sn_pool_nhwc")
    pp = op.Params(pool=p)
    shape = op.infer_shape(pp, [tuple(data.transpose(NHWC).shape)])[1][0]

    def f(x):
        out = op.lower(pp, None, x.transpose(NHWC))
        out = out[0] if isinstance(out, tuple) else out
        return out.transpose(NCHW)

    out, vjp = jax.vjp(f, data)
    assert tuple(out.shape) == fused.to_nchw_shape(shape)
    (grad,) = vjp(head)
    np.testing.assert_allclose(out, _golden(cid, "out")["0"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(grad, _golden(cid, "grad")["data"], rtol=1e-3, atol=1e-4)


def test_reshape_pool_is_used_only_when_exact():
    p = parse_params(get_op("Pooling"), {"kernel": (2, 2), "stride": (2, 2)})
    assert fused._reshape_ok(p, (1, 8, 6, 3))
    assert fused._reshape_ok(p, (1, 7, 9, 3))  # 'valid' drops the remainder: crop then reshape
    full = parse_params(get_op("Pooling"), {"kernel": (2, 2), "stride": (2, 2),
                                            "pooling_convention": "full"})
    assert fused._reshape_ok(full, (1, 8, 6, 3)) and not fused._reshape_ok(full, (1, 7, 9, 3))
    padded = parse_params(get_op("Pooling"), {"kernel": (2, 2), "stride": (2, 2), "pad": (1, 1)})
    assert not fused._reshape_ok(padded, (1, 8, 6, 3))
