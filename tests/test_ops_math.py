"""symnet/ops/math.py and regression.py lowerings against MXNet 1.9.1 goldens and numerics.

Every case of tests/fixtures/ops/math.{json,npz} (tools/gen_ops_math_fixtures.py) is run on the
op's lowering directly: infer_shape equals MXNet's and jax.eval_shape, forward and input
gradients equal MXNet's, and differentiable lowerings pass a float64 numerical gradient check.
The loss heads are checked against their closed-form MXNet gradients; bad inputs raise clear
symnet errors.
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
from symnet.ops import get_op
from symnet.ops.registry import LowerCtx, parse_params

OPS_DIR = Path(__file__).parent / "fixtures" / "ops"
CTX = LowerCtx(True, None, "op")

with open(OPS_DIR / "math.json") as _f:
    CASES = json.load(_f)["cases"]


@functools.lru_cache(maxsize=None)
def _npz() -> dict:
    with np.load(OPS_DIR / "math.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _group(cid: str, kind: str) -> dict:
    prefix = f"{cid}/{kind}/"
    return {k[len(prefix):]: v for k, v in _npz().items() if k.startswith(prefix)}


def _op_params(case: dict):
    op = get_op(case["op"])
    kwargs = dict(case["kwargs"])
    if op.variadic and op.variadic not in kwargs:
        kwargs[op.variadic] = len(case["inputs"])
    return op, parse_params(op, kwargs)


def _as_tuple(out):
    return out if isinstance(out, tuple) else (out,)


def _at_kink(x: np.ndarray) -> bool:
    """Whole or half-integer entries (ties, 0 for abs/relu, round) or NaN: no finite difference."""
    return bool(np.isnan(x).any() or np.any(2 * x == np.round(2 * x)))


def _input_grads(op, p, args, outs, heads):
    """MXNet-semantics gradients of the lowering: the op's own ``grad`` or autodiff."""
    if op.grad is not None:
        return op.grad(p, args, outs, heads)
    _, vjp = jax.vjp(lambda *xs: _as_tuple(op.lower(p, CTX, *xs)), *args)
    return vjp(tuple(jnp.asarray(h) for h in heads))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_shapes_and_types(case):
    """infer_shape equals MXNet's and the traced lowering (jax.eval_shape, nothing runs);
    infer_type equals the lowering's dtypes. Values and gradients of every case are compared
    with MXNet's through the symbol layer in test_op_goldens.py."""
    op, p = _op_params(case)
    if not op.variadic:  # MXNet's variables are the op's input names (or <name>_<input>)
        prefix = case["name"] + "_"
        assert op.arguments(p) == tuple(n[len(prefix):] if n.startswith(prefix) else n
                                        for n in case["arguments"])
    arg_np = _group(case["id"], "arg")
    given = [tuple(arg_np[n].shape) if n in case["inputs"] else None for n in case["arguments"]]
    in_shapes, out_shapes, aux_shapes = op.infer_shape(p, given)
    assert [tuple(s) for s in in_shapes] == [tuple(s) for s in case["arg_shapes"]]
    assert [tuple(s) for s in out_shapes] == [tuple(s) for s in case["out_shapes"]]
    assert list(aux_shapes) == case["aux_shapes"]
    args = [jax.ShapeDtypeStruct(arg_np[n].shape, arg_np[n].dtype) for n in case["arguments"]]
    abstract = _as_tuple(jax.eval_shape(lambda *xs: op.lower(p, CTX, *xs), *args))
    assert [a.shape for a in abstract] == [tuple(s) for s in out_shapes]
    want_types = op.infer_type(p, [a.dtype for a in args])[1]
    assert [np.dtype(a.dtype) for a in abstract] == [np.dtype(t) for t in want_types]
    expected = _group(case["id"], "out")
    assert [np.dtype(a.dtype) for a in abstract] == [expected[str(i)].dtype
                                                     for i in range(len(abstract))]


@pytest.mark.parametrize("cid", ["exp", "broadcast_maximum_ties", "sum_axis0x2_keepdimsTrue_u",
                                 "max_axis1_int3", "dot_tb", "batch_dot_tab", "take_axis1_wrap",
                                 "where_rows", "clip_bounds", "stack_neg",
                                 "LinearRegressionOutput_n1", "MakeLoss_valid"])
def test_lowering_values(cid):
    """A sample of cases run on the bare lowering (no symbol layer) equals MXNet's numbers."""
    case = next(c for c in CASES if c["id"] == cid)
    op, p = _op_params(case)
    arg_np = _group(cid, "arg")
    args = [jnp.asarray(arg_np[n]) for n in case["arguments"]]
    outs = _as_tuple(op.lower(p, CTX, *args))
    expected = _group(cid, "out")
    for i, out in enumerate(outs):
        np.testing.assert_allclose(out, expected[str(i)], rtol=1e-5, atol=1e-6)
    heads = _group(cid, "head_grad")
    heads = [heads[str(i)] for i in range(len(outs))] if heads else [np.zeros(o.shape)
                                                                     for o in outs]
    grads = _input_grads(op, p, args, outs, heads)
    want = _group(cid, "grad")
    for name, g in zip(case["arguments"], grads):
        if name not in case["grad_skip"]:
            got = np.zeros(want[name].shape) if g is None else np.asarray(g)
            np.testing.assert_allclose(got, want[name], rtol=1e-4, atol=1e-5, err_msg=name)


def _differentiable(case):
    if not case["grad"] or get_op(case["op"]).grad is not None:
        return False
    if case["op"] in ("Cast", "cast", "BlockGrad", "stop_gradient"):
        return False  # float16 output; zero gradient by definition
    arg_np = _group(case["id"], "arg")
    return any(n not in case["grad_skip"] and not _at_kink(arg_np[n]) for n in case["arguments"])


def _one_per_op(cases):
    seen, out = set(), []
    for c in cases:
        if c["op"] not in seen:
            seen.add(c["op"])
            out.append(c)
    return out


# One case per op (the first whose inputs are away from kinks) keeps the float64 checks fast.
NUMERIC = _one_per_op([c for c in CASES if _differentiable(c)])


@pytest.mark.parametrize("case", NUMERIC, ids=[c["id"] for c in NUMERIC])
def test_numerical_gradient(case):
    """The lowering's autodiff gradient equals finite differences in float64."""
    op, p = _op_params(case)
    arg_np = _group(case["id"], "arg")
    names = case["arguments"]
    free = [n for n in names if n not in case["grad_skip"] and not _at_kink(arg_np[n])]
    with jax.enable_x64(True):
        fixed = {n: jnp.asarray(arg_np[n], jnp.float64) for n in names}

        def f(*xs):
            vals = dict(fixed, **dict(zip(free, xs)))
            return op.lower(p, CTX, *[vals[n] for n in names])

        check_grads(f, tuple(fixed[n] for n in free), order=1, modes=["rev"])


# ---- MXNet gradient semantics in closed form -------------------------------------------------

def _params(name, **kw):
    op = get_op(name)
    return op, parse_params(op, kw)


def _grads(name, inputs, heads=None, **kw):
    op, p = _params(name, **kw)
    outs = _as_tuple(op.lower(p, CTX, *inputs))
    heads = heads if heads is not None else [jnp.full(o.shape, 7.0) for o in outs]
    return outs, _input_grads(op, p, inputs, outs, heads)


RNG = np.random.RandomState(0)


@pytest.mark.parametrize("name,fwd,res", [
    ("LinearRegressionOutput", lambda x: x, lambda d: d),
    ("LogisticRegressionOutput", lambda x: 1 / (1 + np.exp(-x)), lambda d: d),
    ("MAERegressionOutput", lambda x: x, np.sign),
])
@pytest.mark.parametrize("data_shape,label_shape", [((5, 1), (5,)), ((4, 3), (4, 3)),
                                                    ((2, 6), (2, 3, 2))])
def test_regression_heads_closed_form(name, fwd, res, data_shape, label_shape):
    """out = fwd(x); grad = grad_scale / (label.size / N) * res(out - label); no label grad;
    the head gradient is ignored."""
    x = RNG.uniform(-2, 2, data_shape).astype(np.float32)
    y = RNG.uniform(0, 1, label_shape).astype(np.float32)
    (out,), (gx, gy) = _grads(name, [jnp.asarray(x), jnp.asarray(y)], grad_scale=0.3)
    np.testing.assert_allclose(out, fwd(x), rtol=1e-6)
    num_output = y.size / y.shape[0]
    expect = 0.3 / num_output * res(fwd(x) - y.reshape(x.shape))
    np.testing.assert_allclose(gx, expect, rtol=1e-5, atol=1e-7)
    assert gy is None


def test_regression_label_shape_inference():
    op, p = _params("LinearRegressionOutput")
    assert op.infer_shape(p, [(4, 1), None]) == ([(4, 1), (4,)], [(4, 1)], [])
    assert op.infer_shape(p, [(4, 3), None]) == ([(4, 3), (4, 3)], [(4, 3)], [])
    with pytest.raises(ShapeError, match=r"label has shape \(4,\).*\(4, 3\)"):
        op.infer_shape(p, [(4, 3), (4,)])


@pytest.mark.parametrize("normalization,thresh,divisor", [
    ("null", 0.0, lambda x: 1.0),
    ("batch", 0.0, lambda x: x.shape[0]),
    ("valid", 0.2, lambda x: max((x > 0.2).sum(), 1)),
    ("valid", 5.0, lambda x: 1.0),  # no valid entry: divide by 1, not 0
])
def test_make_loss_closed_form(normalization, thresh, divisor):
    x = RNG.uniform(-1, 1, (4, 3)).astype(np.float32)
    (out,), (g,) = _grads("MakeLoss", [jnp.asarray(x)], grad_scale=2.0,
                          normalization=normalization, valid_thresh=thresh)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_allclose(g, np.full(x.shape, 2.0 / divisor(x)), rtol=1e-6)


def test_make_loss_and_block_grad():
    x = jnp.asarray(RNG.uniform(-1, 1, (2, 3)).astype(np.float32))
    _, (g,) = _grads("make_loss", [x])
    np.testing.assert_array_equal(g, np.ones((2, 3)))
    for name in ("BlockGrad", "stop_gradient"):
        (out,), (g,) = _grads(name, [x])
        np.testing.assert_array_equal(out, x)
        np.testing.assert_array_equal(g, np.zeros((2, 3)))


def test_tie_gradients_follow_mxnet():
    """max/min reductions give every tied element the full gradient; broadcast_maximum gives
    ties to lhs only; clip passes the gradient at its bounds; abs has gradient 0 at 0."""
    x = jnp.asarray([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    _, (g,) = _grads("max", [x], heads=[jnp.ones((2,))], axis=1)
    np.testing.assert_array_equal(g, [[0, 1, 1], [1, 1, 0]])
    _, (gl, gr) = _grads("broadcast_maximum", [x, jnp.asarray([[3.0], [2.0]])],
                         heads=[jnp.ones((2, 3))])
    np.testing.assert_array_equal(gl, [[0, 1, 1], [1, 1, 0]])
    np.testing.assert_array_equal(gr, [[1], [1]])
    _, (g,) = _grads("clip", [x], heads=[jnp.ones((2, 3))], a_min=1.0, a_max=2.0)
    np.testing.assert_array_equal(g, [[1, 0, 0], [1, 1, 0]])
    _, (g,) = _grads("abs", [jnp.asarray([-1.0, 0.0, 2.0])], heads=[jnp.ones(3)])
    np.testing.assert_array_equal(g, [-1, 0, 1])


def test_rounding_rules():
    x = jnp.asarray([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    op, p = _params("round")
    np.testing.assert_array_equal(op.lower(p, CTX, x), [-3, -2, -1, 1, 2, 3])
    op, p = _params("rint")
    np.testing.assert_array_equal(op.lower(p, CTX, x), [-3, -2, -1, 0, 1, 2])


def test_ops_are_jittable():
    """Lowerings with shape-dependent logic trace under jit (no host sync)."""
    x = jnp.asarray(RNG.uniform(-1, 1, (2, 3, 4)).astype(np.float32))
    for name, kw in [("sum", dict(axis=(1,), exclude=True)), ("max", dict(axis=(0, 2))),
                     ("norm", dict(ord=1, axis=(1,))), ("argmax", dict(axis=-1)),
                     ("MakeLoss", dict(normalization="valid"))]:
        op, p = _params(name, **kw)
        np.testing.assert_allclose(jax.jit(lambda a: op.lower(p, CTX, a))(x),
                                   op.lower(p, CTX, x), rtol=1e-6)


def test_type_inference():
    f32 = np.dtype("float32")
    op, p = _params("Cast", dtype="float16")
    assert op.infer_type(p, [f32])[1] == [np.dtype("float16")]
    op, p = _params("one_hot", depth=3, dtype="int32")
    assert op.infer_type(p, [f32])[1] == [np.dtype("int32")]
    op, p = _params("norm", out_dtype="float16")
    assert op.infer_type(p, [f32])[1] == [np.dtype("float16")]
    op, p = _params("argmax", axis=0)
    assert op.infer_type(p, [np.dtype("float64")])[1] == [np.dtype("float64")]


# ---- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,kw,shapes,match", [
    ("dot", {}, [(2, 3), (4, 5)], r"lhs \(2, 3\) and rhs \(4, 5\).*size 3 in lhs and 4 in rhs"),
    ("dot", dict(transpose_b=True), [(2, 3), (3, 4)], r"size 3 in lhs and 4 in rhs.*transpose_b"),
    ("batch_dot", {}, [(2, 3), (2, 3)], r"N >= 3"),
    ("batch_dot", {}, [(2, 3, 4), (3, 4, 5)], r"batch dimensions \(2,\) and \(3,\)"),
    ("broadcast_add", {}, [(2, 3), (3, 2)], r"lhs \(2, 3\) and rhs \(3, 2\) cannot be broadcast"),
    ("elemwise_add", {}, [(2, 3), (3, 2)], r"same shape \(use broadcast_add"),
    ("_maximum", {}, [(2, 3), (2,)], r"same shape \(use broadcast_maximum"),
    ("sum", dict(axis=3), [(2, 3, 4)], r"axis=3 is out of range .*\(2, 3, 4\).*-3\.\.2"),
    ("sum", dict(axis=(1, -2)), [(2, 3, 4)], r"names an axis twice"),
    ("norm", dict(ord=3), [(2, 3)], r"ord=1 or ord=2, received ord=3"),
    ("argmax", dict(axis=-4), [(2, 3, 4)], r"axis=-4 is out of range"),
    ("take", dict(axis=2), [(2, 3), (4,)], r"axis=2 is out of range"),
    ("where", {}, [(2,), (3, 4), (3, 4)], r"condition has shape \(2,\), expected .*\(3, 4\)"),
    ("where", {}, [(3,), (3, 4), (4, 3)], r"x \(3, 4\) and y \(4, 3\)"),
    ("broadcast_to", dict(shape=(2, 3)), [(3, 3)], r"axis 0 has size 3, which must be 1 or 2"),
    ("broadcast_to", dict(shape=(2,)), [(1, 3)], r"as many axes"),
    ("broadcast_axis", dict(axis=(0,), size=(4,)), [(2, 3)], r"only expand axes of size 1"),
    ("add_n", dict(num_args=2), [(2, 3), (3, 2)], r"arg0 has \(2, 3\) but arg1 has \(3, 2\)"),
    ("LinearRegressionOutput", {}, [(4, 3), (5, 3)], r"label has shape \(5, 3\)"),
])
def test_shape_errors(name, kw, shapes, match):
    op, p = _params(name, **kw)
    with pytest.raises(ShapeError, match=match):
        op.infer_shape(p, list(shapes))


def test_param_errors():
    with pytest.raises(ParamError, match="'dtype'.*'float33' is not one of"):
        _params("Cast", dtype="float33")
    with pytest.raises(ParamError, match="required parameter 'a_min'"):
        _params("clip", a_max=1.0)
    with pytest.raises(ParamError, match="unknown parameter 'axes'.*'axis'"):
        _params("sum", axes=1)
