"""Ops of norm.py, layers.py and shape.py: lowerings against MXNet goldens (group "nn_extra"),
float64 numerical gradient checks, BatchNorm statistics, and error messages.

The generic tests/test_op_goldens.py runs the same goldens through the symbol layer; here the
op classes are driven directly (parse_params -> infer_shape -> lower -> jax.vjp).
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from symnet.base import ParamError, ShapeError
from symnet.compiler import _with_custom_grad
from symnet.ops import LowerCtx, get_op
from symnet.ops.registry import parse_params

FIX = Path(__file__).parent / "fixtures" / "ops"
with open(FIX / "nn_extra.json") as _f:
    CASES = json.load(_f)["cases"]


@functools.lru_cache(maxsize=None)
def _npz():
    with np.load(FIX / "nn_extra.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _get(cid, kind):
    prefix = f"{cid}/{kind}/"
    return {k[len(prefix):]: v for k, v in _npz().items() if k.startswith(prefix)}


def _as_list(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _run(op, p, is_train, args, aux, key=None):
    """Lower once: returns (outputs list, new aux list)."""
    if op.grad is not None:  # a loss head: MXNet's gradient, as the compiler wires it
        res = _with_custom_grad(op, p, bool(is_train))(*args, *aux)
    else:
        ctx = LowerCtx(is_train, key if key is not None else jax.random.PRNGKey(0), "op")
        res = op.lower(p, ctx, *args, *aux)
    if op.aux_states(p):
        outs, new_aux = res
        return _as_list(outs), list(new_aux)
    return _as_list(res), []


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden(case):
    """Names, shape inference and the lowering's outputs, aux states and gradients (their count
    and shapes, traced abstractly: nothing compiles) match MXNet 1.9.1. The numbers of every
    case are compared through the executor, the path users take, in test_op_goldens.py."""
    cid = case["id"]
    op = get_op(case["op"])
    kwargs = dict(case["kwargs"])
    if op.variadic and op.variadic not in kwargs:
        kwargs[op.variadic] = len(case["inputs"])  # the symbol layer sets num_args
    p = parse_params(op, kwargs)
    name = case["name"]
    n_in = len(case["inputs"])

    # list_arguments / list_auxiliary_states / list_outputs (the single-op symbol's view).
    own = list(op.arguments(p))
    assert len(own) == len(case["arguments"])
    for i, (suffix, full) in enumerate(zip(own, case["arguments"])):
        if i >= n_in:
            assert full == f"{name}_{suffix}"
    assert [f"{name}_{a}" for a in op.aux_states(p)] == case["aux_states"]
    assert [f"{name}_{o}" for o in op.outputs(p)] == case["outputs"]

    # infer_shape from the given inputs only completes auto arguments (weights) as MXNet does.
    arg_vals = _get(cid, "arg")
    shapes = [tuple(arg_vals[a].shape) if i < n_in else None
              for i, a in enumerate(case["arguments"])]
    in_shapes, out_shapes, aux_shapes = op.infer_shape(p, shapes)
    assert [tuple(s) for s in in_shapes] == [tuple(s) for s in case["arg_shapes"]]
    n_vis = len(case["outputs"])
    assert len(out_shapes) == op.num_outputs(p)
    assert [tuple(s) for s in out_shapes[:n_vis]] == [tuple(s) for s in case["out_shapes"]]
    assert [tuple(s) for s in aux_shapes] == [tuple(s) for s in case["aux_shapes"]]

    args = [jnp.asarray(arg_vals[a]) for a in case["arguments"]]
    aux_in = _get(cid, "aux")
    aux = [jnp.asarray(aux_in[a]) for a in case["aux_states"]]
    is_train = case["is_train"]

    def fwd(*xs):
        outs, new_aux = _run(op, p, is_train, xs, aux)
        return outs, new_aux

    def fwd_bwd(xs, heads):
        (outs, new_aux), vjp = jax.vjp(fwd, *xs)
        cot = [heads[i] if i < len(heads) else jnp.zeros_like(o) for i, o in enumerate(outs)]
        return outs, new_aux, vjp((cot, [jnp.zeros_like(a) for a in new_aux]))

    n_vis = len(case["outputs"])
    head_vals = _get(cid, "head_grad")
    heads = [jnp.asarray(head_vals[str(i)]) for i in range(n_vis)]
    outs, new_aux, grads = jax.eval_shape(fwd_bwd, args, heads)
    assert len(outs) == op.num_outputs(p)
    for got, want_shape in zip(outs, out_shapes):
        assert tuple(got.shape) == tuple(want_shape)
    for i in range(n_vis):
        assert tuple(outs[i].shape) == _get(cid, "out")[str(i)].shape, f"{cid} output {i}"
    for a, got in zip(case["aux_states"], new_aux):
        assert tuple(got.shape) == _get(cid, "aux_after")[a].shape, f"{cid} aux {a}"
    if case["grad"]:
        want = _get(cid, "grad")
        for a, g in zip(case["arguments"], grads):
            if a not in case["grad_skip"]:
                assert tuple(g.shape) == want[a].shape, f"{cid} grad {a}"


# ---- numerical gradients (float64) ------------------------------------------------------------

GRAD_CASES = [
    ("BatchNorm", {"fix_gamma": False}, [(4, 3, 2), (3,), (3,)], [(3,), (3,)], True),
    ("BatchNorm", {"fix_gamma": False, "axis": -1}, [(3, 2, 4), (4,), (4,)], [(4,), (4,)], True),
    ("BatchNorm", {"use_global_stats": True}, [(4, 3), (3,), (3,)], [(3,), (3,)], True),
    ("InstanceNorm", {}, [(2, 3, 4), (3,), (3,)], [], True),
    ("LayerNorm", {"axis": 1}, [(2, 4, 3), (4,), (4,)], [], True),
    ("L2Normalization", {"mode": "channel"}, [(2, 3, 2, 2)], [], True),
    ("L2Normalization", {"mode": "spatial"}, [(2, 3, 2, 2)], [], True),
    ("L2Normalization", {}, [(3, 4)], [], True),
    ("LRN", {"nsize": 3, "alpha": 0.1}, [(2, 4, 2, 2)], [], True),
    ("LeakyReLU", {"act_type": "prelu"}, [(3, 2, 2), (2,)], [], True),
    ("LeakyReLU", {"act_type": "elu"}, [(3, 4)], [], True),
    ("LeakyReLU", {"act_type": "gelu"}, [(3, 4)], [], True),
    ("LeakyReLU", {"act_type": "rrelu"}, [(3, 4)], [], True),
    ("Deconvolution", {"kernel": (3, 3), "num_filter": 4, "stride": (2, 2), "num_group": 2,
                       "no_bias": False}, [(1, 2, 3, 3), (2, 2, 3, 3), (4,)], [], True),
    ("Deconvolution", {"kernel": (2,), "num_filter": 2, "dilate": (2,), "adj": (1,),
                       "stride": (2,)}, [(2, 3, 4), (3, 2, 2)], [], True),
    ("SoftmaxActivation", {}, [(3, 4)], [], True),
    ("SoftmaxActivation", {"mode": "channel"}, [(2, 3, 2)], [], True),
    ("UpSampling", {"scale": 2, "sample_type": "bilinear", "num_filter": 2},
     [(1, 2, 2, 3), (2, 1, 4, 4)], [], True),
    ("UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 2},
     [(1, 2, 2, 2), (1, 1, 1, 1)], [], True),
    ("GridGenerator", {"transform_type": "affine", "target_shape": (3, 2)}, [(2, 6)], [], True),
    ("GridGenerator", {"transform_type": "warp"}, [(1, 2, 3, 2)], [], True),
    ("Concat", {"num_args": 2, "dim": 0}, [(2, 3), (1, 3)], [], True),
    ("Reshape", {"shape": (-3, 0)}, [(2, 3, 4)], [], True),
    ("slice", {"begin": (None, 1), "end": (None, None), "step": (2, 2)}, [(5, 4)], [], True),
    ("SliceChannel", {"num_outputs": 2, "axis": 0}, [(4, 3)], [], True),
    ("Pad", {"mode": "reflect", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)}, [(1, 1, 3, 4)], [], True),
    ("Pad", {"mode": "edge", "pad_width": (0, 0, 0, 0, 1, 2, 2, 1)}, [(1, 1, 3, 4)], [], True),
    ("Crop", {"num_args": 1, "h_w": (2, 2), "center_crop": True}, [(1, 2, 4, 5)], [], True),
    ("tile", {"reps": (2, 3)}, [(2, 3)], [], True),
    ("repeat", {"repeats": 2, "axis": 0}, [(2, 3)], [], True),
    ("reverse", {"axis": (0, 1)}, [(2, 3)], [], True),
    ("GroupNorm", {"num_groups": 2}, [(2, 4, 3), (2,), (2,)], [], True),
    ("SequenceLast", {"axis": 1}, [(2, 3, 2)], [], True),
    ("SequenceReverse", {}, [(3, 2, 2)], [], True),
]


@pytest.mark.parametrize("name,kwargs,shapes,aux_shapes,is_train", GRAD_CASES,
                         ids=[f"{c[0]}_{i}" for i, c in enumerate(GRAD_CASES)])
def test_numerical_gradients(name, kwargs, shapes, aux_shapes, is_train):
    """Reverse-mode gradients of every lowering agree with finite differences (float64)."""
    op = get_op(name)
    p = parse_params(op, kwargs)
    rng = np.random.RandomState(7)
    with jax.enable_x64(True):
        args = [rng.uniform(0.3, 1.5, s) * rng.choice([-1.0, 1.0], s) for s in shapes]
        args = [jnp.asarray(a, jnp.float64) for a in args]
        aux = [jnp.asarray(rng.uniform(0.5, 1.5, s), jnp.float64) for s in aux_shapes]

        def f(*xs):
            outs, _ = _run(op, p, is_train, xs, aux, key=jax.random.PRNGKey(3))
            return tuple(outs[:len(op.outputs(p))])  # hidden outputs carry no gradient

        check_grads(jax.jit(f), tuple(args), order=1, modes=["rev"], atol=1e-5, rtol=1e-5)


def test_spatial_transformer_numerical_gradient():
    """Away from pixel-grid kinks the sampler's gradient w.r.t. data and loc is exact."""
    op = get_op("SpatialTransformer")
    p = parse_params(op, {"target_shape": (3, 4), "transform_type": "affine",
                          "sampler_type": "bilinear"})
    rng = np.random.RandomState(1)
    with jax.enable_x64(True):
        data = jnp.asarray(rng.randn(1, 2, 5, 6))
        loc = jnp.asarray([[0.83, 0.07, 0.031, -0.06, 0.77, -0.043]])

        def f(d, l):
            return _run(op, p, True, (d, l), [])[0][0]

        check_grads(jax.jit(f), (data, loc), order=1, modes=["rev"], atol=1e-5, rtol=1e-5,
                    eps=1e-6)


# ---- BatchNorm statistics ---------------------------------------------------------------------

def test_batchnorm_training_step_updates_moving_stats():
    """Training returns m*moving + (1-m)*batch stats (biased variance); gamma grad is 0."""
    op = get_op("BatchNorm")
    p = parse_params(op, {"momentum": 0.8})
    rng = np.random.RandomState(0)
    x = rng.randn(5, 3, 4).astype(np.float32)
    mm = rng.randn(3).astype(np.float32)
    mv = rng.uniform(0.5, 2, 3).astype(np.float32)
    gamma = jnp.full((3,), 3.0)
    beta = jnp.zeros((3,))
    outs, (new_mm, new_mv) = _run(op, p, True, (x, gamma, beta), (mm, mv))
    np.testing.assert_allclose(new_mm, 0.8 * mm + 0.2 * x.mean((0, 2)), rtol=1e-5)
    np.testing.assert_allclose(new_mv, 0.8 * mv + 0.2 * x.var((0, 2)), rtol=1e-5)
    ref = (x - x.mean((0, 2), keepdims=True)) / np.sqrt(x.var((0, 2), keepdims=True) + 1e-3)
    np.testing.assert_allclose(outs[0], ref, rtol=1e-4, atol=1e-5)  # fix_gamma: gamma ignored

    def loss(g):
        return jnp.sum(_run(op, p, True, (x, g, beta), (mm, mv))[0][0] * x)

    np.testing.assert_array_equal(jax.grad(loss)(gamma), np.zeros(3))


@pytest.mark.parametrize("kwargs,is_train", [({}, False), ({"use_global_stats": True}, True)])
def test_batchnorm_moving_stats_unchanged(kwargs, is_train):
    """Inference and use_global_stats normalise with the moving stats and never update them."""
    op = get_op("BatchNorm")
    p = parse_params(op, dict(kwargs, fix_gamma=False))
    rng = np.random.RandomState(2)
    x = rng.randn(4, 2, 3).astype(np.float32)
    mm = np.array([0.5, -1.0], np.float32)
    mv = np.array([2.0, 0.25], np.float32)
    g = np.array([1.5, -0.5], np.float32)
    b = np.array([0.1, 0.2], np.float32)
    outs, new_aux = _run(op, p, is_train, (x, g, b), (mm, mv))
    np.testing.assert_array_equal(new_aux[0], mm)
    np.testing.assert_array_equal(new_aux[1], mv)
    ref = (x - mm[None, :, None]) / np.sqrt(mv[None, :, None] + 1e-3) * g[None, :, None] \
        + b[None, :, None]
    np.testing.assert_allclose(outs[0], ref, rtol=1e-5, atol=1e-6)


def test_batchnorm_jit_and_eval_shape():
    """The lowering is jittable and its abstract shapes equal infer_shape's."""
    op = get_op("BatchNorm")
    p = parse_params(op, {"output_mean_var": True})
    _, out_shapes, aux_shapes = op.infer_shape(p, [(6, 4, 3), None, None])
    specs = [jax.ShapeDtypeStruct(s, jnp.float32) for s in [(6, 4, 3), (4,), (4,), (4,), (4,)]]
    fn = jax.jit(lambda *a: op.lower(p, LowerCtx(True, None, "bn"), *a))
    outs, aux = jax.eval_shape(fn, *specs)
    assert [o.shape for o in outs] == out_shapes
    assert [a.shape for a in aux] == aux_shapes


def test_rrelu_training_slopes_in_bounds():
    """rrelu in training draws negative slopes in [lower_bound, upper_bound); mask reports them."""
    op = get_op("LeakyReLU")
    p = parse_params(op, {"act_type": "rrelu", "lower_bound": 0.1, "upper_bound": 0.3})
    x = -jnp.ones((50, 40))
    (out, mask), _ = _run(op, p, True, (x,), [], key=jax.random.PRNGKey(5))
    slopes = -np.asarray(out)
    assert slopes.min() >= 0.1 and slopes.max() < 0.3
    assert abs(slopes.mean() - 0.2) < 0.01
    np.testing.assert_allclose(slopes, mask, rtol=1e-6)
    (out2, _), _ = _run(op, p, False, (x,), [])
    np.testing.assert_allclose(out2, -0.2 * np.ones((50, 40)), rtol=1e-6)


def test_embedding_clips_indices_and_gives_no_data_grad():
    op = get_op("Embedding")
    p = parse_params(op, {"input_dim": 4, "output_dim": 2})
    w = jnp.arange(8.0).reshape(4, 2)
    idx = jnp.array([-3.0, 1.0, 7.0])
    (out,), _ = _run(op, p, True, (idx, w), [])
    np.testing.assert_array_equal(out, [[0, 1], [2, 3], [6, 7]])
    g = jax.grad(lambda d: _run(op, p, True, (d, w), [])[0][0].sum())(idx)
    np.testing.assert_array_equal(g, np.zeros(3))


# ---- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kwargs,shapes,match", [
    ("BatchNorm", {}, [(2, 3, 4), (4,), None], r"gamma.*\(4,\).*expected \(3,\)"),
    ("BatchNorm", {"axis": 3}, [(2, 3, 4), None, None], r"axis=3.*3 dimensions"),
    ("LayerNorm", {}, [(2, 3), None, (2,)], r"beta.*expected \(3,\)"),
    ("Deconvolution", {"kernel": (3, 3), "num_filter": 2}, [(1, 3, 4), None],
     r"data must be 4-D.*received shape \(1, 3, 4\)"),
    ("Deconvolution", {"kernel": (3, 3), "num_filter": 2}, [(1, 3, 4, 4), (3, 3, 3, 3)],
     r"weight has shape \(3, 3, 3, 3\), expected \(3, 2, 3, 3\)"),
    ("Embedding", {"input_dim": 5, "output_dim": 2}, [(3,), (5, 3)],
     r"weight has shape \(5, 3\), expected \(5, 2\)"),
    ("LeakyReLU", {"act_type": "prelu"}, [(2, 3), (4,)], r"gamma has shape \(4,\)"),
    ("Concat", {"num_args": 2}, [(2, 3), (3, 3)], r"arg1 has shape \(3, 3\)"),
    ("Reshape", {"shape": (5, -1)}, [(2, 3, 4)], r"24 elements.*do not divide by 5"),
    ("Reshape", {"shape": (5, 5)}, [(2, 3, 4)], r"cannot reshape \(2, 3, 4\)"),
    ("SliceChannel", {"num_outputs": 4}, [(2, 6)], r"does not split into num_outputs=4"),
    ("slice_axis", {"axis": 2, "begin": 0, "end": 1}, [(2, 3)], r"axis=2 is out of range"),
    ("slice", {"begin": (2,), "end": (1,)}, [(4, 3)], r"selects nothing"),
    ("Pad", {"mode": "constant", "pad_width": (1, 1, 0, 0, 0, 0, 0, 0)}, [(1, 2, 3, 3)],
     r"must not pad the N and C axes"),
    ("Crop", {"num_args": 1, "h_w": (5, 2)}, [(1, 1, 4, 4)], r"does not fit data"),
    ("SpatialTransformer", {"target_shape": (3, 3), "transform_type": "affine",
                            "sampler_type": "bilinear"}, [(2, 1, 4, 4), (2, 4)],
     r"loc must be \(2, 6\)"),
    ("UpSampling", {"scale": 2, "sample_type": "nearest", "num_args": 2},
     [(1, 1, 4, 4), (1, 1, 3, 3)], r"arg1 has shape \(1, 1, 3, 3\)"),
    ("GroupNorm", {"num_groups": 3}, [(2, 4, 3), None, None], r"num_groups=3 must divide the 4"),
    ("GroupNorm", {"num_groups": 2}, [(2, 4, 3), (4,), None], r"gamma has shape \(4,\)"),
    ("SequenceMask", {"use_sequence_length": True, "axis": 2}, [(4, 3, 2), (3,)],
     r"axis must be 0 \(time-major\) or 1"),
    ("SequenceReverse", {"axis": 1}, [(3, 4, 2)], r"axis=0 only"),
    ("SVMOutput", {}, [(4, 5), (5,)], r"label has shape \(5,\), expected \(4,\)"),
    ("CTCLoss", {}, [(6, 3, 5), (2, 4)], r"label has shape \(2, 4\), expected \(3, L\)"),
    ("CTCLoss", {}, [(6, 5), (3, 4)], r"data must be \(sequence_length, batch_size"),
    ("topk", {"k": 6}, [(3, 5)], r"k=6 must be in \[1, 5\]"),
    ("squeeze", {"axis": (0,)}, [(3, 1)], r"axis 0 of data \(3, 1\) has size 3"),
    ("depth_to_space", {"block_size": 2}, [(1, 6, 2, 2)], r"channels 6.*block_size\^2 = 4"),
    ("space_to_depth", {"block_size": 2}, [(1, 1, 3, 4)], r"do not divide by block_size 2"),
    ("slice_like", {}, [(2, 3), (3, 3)], r"larger than data"),
    ("reshape_like", {}, [(2, 3), (4, 2)], r"cannot reshape lhs \(2, 3\)"),
    ("gather_nd", {}, [(3, 4), (3, 2)], r"index 3 axes of data \(3, 4\)"),
    ("moments", {}, [(3, 4)], r"axes is empty"),
])
def test_shape_errors_name_the_input(name, kwargs, shapes, match):
    op = get_op(name)
    p = parse_params(op, kwargs)
    with pytest.raises(ShapeError, match=match):
        op.infer_shape(p, shapes)


def test_param_errors():
    with pytest.raises(ParamError, match="not one of"):
        parse_params(get_op("L2Normalization"), {"mode": "pixel"})
    with pytest.raises(ParamError, match="required parameter 'nsize'"):
        parse_params(get_op("LRN"), {})
    with pytest.raises(ParamError, match="Did you mean 'fix_gamma'"):
        parse_params(get_op("BatchNorm"), {"fix_gama": True})


def test_aliases_and_defaults():
    """MXNet's alias names resolve to the same op; defaults are MXNet's."""
    for a, b in [("concat", "Concat"), ("reshape", "Reshape"), ("split", "SliceChannel"),
                 ("pad", "Pad"), ("swapaxes", "SwapAxis"), ("flip", "reverse"),
                 ("identity", "_copy"), ("crop", "slice")]:
        assert get_op(a) is get_op(b)
    bn = parse_params(get_op("BatchNorm"), {})
    assert (bn.eps, bn.momentum, bn.fix_gamma, bn.axis) == (1e-3, 0.9, True, 1)
    assert parse_params(get_op("Deconvolution"), {"kernel": (2,), "num_filter": 1}).no_bias


def test_rnn_unsupported_options_name_the_node():
    import symnet as mx
    net = mx.sym.RNN(mx.sym.Variable("data"), state_size=4, num_layers=1, mode="lstm",
                     projection_size=2, name="enc")
    with pytest.raises(ShapeError, match=r"RNN .enc. \(created at .*projection_size"):
        net.infer_shape(data=(5, 2, 3))
    with pytest.raises(ShapeError, match="use_sequence_length"):
        mx.sym.RNN(mx.sym.Variable("data"), state_size=4, num_layers=1, mode="gru",
                   use_sequence_length=True, name="dec").infer_shape(data=(5, 2, 3))


def test_rnn_lstm_state_clip_bounds_the_cell_state():
    """MXNet 1.9.1's CPU kernel ignores lstm_state_clip_* (a cuDNN option); symnet clips as
    documented: with a wide range it equals the unclipped layer, with a narrow one the cell
    state stays inside it."""
    op = get_op("RNN")
    rng = np.random.RandomState(0)
    base = {"mode": "lstm", "state_size": 3, "num_layers": 1, "state_outputs": True}
    x = jnp.asarray(rng.uniform(-1.5, 1.5, (5, 2, 3)), jnp.float32)
    params = jnp.asarray(rng.uniform(-1.5, 1.5, (4 * 3 * 6 + 24,)), jnp.float32)
    zeros = jnp.zeros((1, 2, 3), jnp.float32)
    ctx = LowerCtx(True, None, "op")

    def run(**kw):
        return op.lower(parse_params(op, {**base, **kw}), ctx, x, params, zeros, zeros)

    plain = run()
    wide = run(lstm_state_clip_min=-100.0, lstm_state_clip_max=100.0)
    for a, b in zip(plain, wide):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    assert np.abs(np.asarray(plain[2])).max() > 0.3
    narrow = run(lstm_state_clip_min=-0.3, lstm_state_clip_max=0.25)
    cell = np.asarray(narrow[2])
    assert cell.min() >= -0.3 and cell.max() <= 0.25
    assert not np.allclose(np.asarray(narrow[0]), np.asarray(plain[0]))


def test_topk_flattened_and_batch_take_against_numpy():
    """The forms MXNet 1.9.1 cannot bind for goldens (topk axis=None; batch_take wants int32
    indices), against numpy."""
    rng = np.random.RandomState(3)
    x = rng.randn(3, 4).astype(np.float32)
    topk = get_op("topk")
    ctx = LowerCtx(False, None, "op")
    vals, idx = topk.lower(parse_params(topk, {"k": 5, "axis": None, "ret_typ": "both",
                                               "is_ascend": True}), ctx, jnp.asarray(x))
    order = np.argsort(x.reshape(-1), kind="stable")[:5]
    np.testing.assert_array_equal(np.asarray(idx), order.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(vals), x.reshape(-1)[order])
    take = get_op("batch_take")
    ind = np.array([3, 0, 7], np.float32)  # 7 is clipped to 3
    out = take.lower(parse_params(take, {}), ctx, jnp.asarray(x), jnp.asarray(ind))
    np.testing.assert_array_equal(np.asarray(out), x[[0, 1, 2], [3, 0, 3]])


def test_creation_symbols_write_mxnet_json():
    """mx.sym.zeros/ones/full/arange: MXNet 1.9.1's op names, auto names and attrs."""
    import symnet as mx
    nodes = [json.loads(s.tojson())["nodes"][-1] for s in (
        mx.sym.zeros((2, 3)), mx.sym.full((2,), 3), mx.sym.arange(5), mx.sym.ones((1,)))]
    assert nodes[0] == {"op": "_zeros", "name": "_zeros0", "inputs": [],
                        "attrs": {"dtype": "float32", "shape": "(2, 3)"}}
    assert nodes[1]["attrs"] == {"dtype": "float32", "shape": "(2,)", "value": "3.0"}
    assert nodes[2]["attrs"] == {"dtype": "float32", "infer_range": "False", "repeat": "1",
                                 "start": "5", "step": "1.0", "stop": "None"}
    assert nodes[3]["name"] == "_ones0"
    x = mx.sym.Variable("x")
    out = (x * mx.sym.arange(1, 7, 2, repeat=2)).eval(x=mx.nd.ones((6,)))[0].asnumpy()
    np.testing.assert_array_equal(out, [1, 1, 3, 3, 5, 5])
    with pytest.raises(ShapeError, match="unknown"):
        mx.sym.zeros((0, 3)).infer_shape()


def test_roipooling_doc_example_and_errors():
    """MXNet's documented example (scale 1.0 and 0.7) and the rois shape check."""
    op = get_op("ROIPooling")
    x = jnp.arange(48, dtype=jnp.float32).reshape(1, 1, 8, 6)
    roi = jnp.asarray([[0, 0, 0, 4, 4]], jnp.float32)
    ctx = LowerCtx(False, None, "op")
    for scale, want in ((1.0, [14, 16, 26, 28]), (0.7, [7, 9, 19, 21])):
        p = parse_params(op, {"pooled_size": (2, 2), "spatial_scale": scale})
        np.testing.assert_array_equal(np.asarray(op.lower(p, ctx, x, roi)).ravel(), want)
    p = parse_params(op, {"pooled_size": (2, 2), "spatial_scale": 1.0})
    with pytest.raises(ShapeError, match=r"rois must be \(R, 5\)"):
        op.infer_shape(p, [(1, 1, 8, 6), (3, 4)])
