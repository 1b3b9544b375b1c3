"""Core behaviour beyond the MXNet goldens: numerical gradients, eager == jitted, naming, errors."""
from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import symnet as mx
from symnet.base import FormatError, GraphError, ParamError, ShapeError, SymnetError
from symnet.compiler import compile_symbol
from symnet.ops.registry import LowerCtx, get_op, parse_params

# (op, params, input shapes in argument order) -- float64 numerical gradient checks.
GRAD_CASES = [
    ("FullyConnected", {"num_hidden": 3}, [(2, 5), (3, 5), (3,)]),
    ("FullyConnected", {"num_hidden": 3, "flatten": False, "no_bias": True}, [(2, 2, 5), (3, 5)]),
    ("Convolution", {"kernel": (3,), "num_filter": 2, "stride": (2,), "pad": (1,)},
     [(2, 3, 7), (2, 3, 3), (2,)]),
    ("Convolution", {"kernel": (3, 2), "num_filter": 4, "num_group": 2, "dilate": (2, 1)},
     [(1, 4, 7, 5), (4, 2, 3, 2), (4,)]),
    ("Convolution", {"kernel": (2, 2, 2), "num_filter": 2, "no_bias": True},
     [(1, 2, 3, 4, 3), (2, 2, 2, 2, 2)]),
    ("Pooling", {"kernel": (2, 2), "pool_type": "avg", "pooling_convention": "full",
                 "stride": (2, 2), "pad": (1, 0)}, [(1, 2, 5, 5)]),
    ("Pooling", {"kernel": (3,), "pool_type": "sum", "stride": (2,)}, [(2, 2, 7)]),
    ("Pooling", {"kernel": (2, 2), "pool_type": "lp", "p_value": 2}, [(1, 1, 4, 4)]),
    ("Pooling", {"kernel": (2, 2), "pool_type": "max", "stride": (2, 2)}, [(1, 2, 4, 6)]),
    ("Pooling", {"global_pool": True, "pool_type": "avg"}, [(2, 3, 3, 3)]),
    ("Activation", {"act_type": "relu"}, [(3, 4)]),
    ("Activation", {"act_type": "sigmoid"}, [(3, 4)]),
    ("Activation", {"act_type": "tanh"}, [(3, 4)]),
    ("Activation", {"act_type": "softrelu"}, [(3, 4)]),
    ("Activation", {"act_type": "softsign"}, [(3, 4)]),
    ("softmax", {"axis": 1, "temperature": 2.0}, [(2, 3, 2)]),
    ("log_softmax", {}, [(3, 4)]),
    ("Flatten", {}, [(2, 3, 2)]),
    ("_power", {}, [(3,), (3,)]),
    ("_rpower_scalar", {"scalar": 2.0}, [(4,)]),
    ("_rdiv_scalar", {"scalar": 3.0}, [(4,)]),
]


def _case_id(case):
    op, params, _ = case
    return op + "-" + "-".join(f"{k}{v}" for k, v in params.items())


@pytest.mark.parametrize("case", GRAD_CASES, ids=[_case_id(c) for c in GRAD_CASES])
def test_numerical_gradients_float64(case):
    op_name, raw, shapes = case
    op = get_op(op_name)
    p = parse_params(op, raw)
    rng = np.random.RandomState(0)
    with jax.enable_x64(True):
        # Positive, well separated values keep max pooling away from ties and power defined.
        args = tuple(jnp.asarray(rng.uniform(0.5, 1.5, s) + 0.01 * np.arange(np.prod(s))
                                 .reshape(s), jnp.float64) for s in shapes)

        def f(*xs):
            out = op.lower(p, LowerCtx(False, None, "t"), *xs)
            return out[0] if isinstance(out, tuple) else out

        check_grads(f, args, order=1, modes=["rev"], atol=1e-6, rtol=1e-6)


def test_softmax_output_gradient_is_mxnet_closed_form():
    data = mx.sym.Variable("data")
    net = mx.sym.SoftmaxOutput(data, name="softmax", normalization="valid", use_ignore=True,
                               ignore_label=2, grad_scale=0.5)
    exe = net.simple_bind(mx.cpu(), data=(4, 3))
    x = np.random.RandomState(1).randn(4, 3).astype(np.float32)
    label = np.array([0, 2, 1, 1], np.float32)
    exe.forward(is_train=True, data=x, softmax_label=label)
    exe.backward(out_grads=[mx.nd.array(np.full((4, 3), 100.0))])  # head grads are ignored
    p = np.exp(x) / np.exp(x).sum(1, keepdims=True)
    want = p - np.eye(3)[label.astype(int)]
    want[label == 2] = 0.0
    want *= 0.5 / 3  # three labels differ from ignore_label
    np.testing.assert_allclose(exe.grad_dict["data"].asnumpy(), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(exe.grad_dict["softmax_label"].asnumpy(), 0)


def _lenet():
    data = mx.sym.Variable("data")
    c1 = mx.sym.Convolution(data, kernel=(5, 5), num_filter=4, name="conv1")
    a1 = mx.sym.Activation(c1, act_type="tanh")
    p1 = mx.sym.Pooling(a1, pool_type="max", kernel=(2, 2), stride=(2, 2))
    f = mx.sym.Flatten(p1)
    fc = mx.sym.FullyConnected(f, num_hidden=10, name="fc")
    return mx.sym.SoftmaxOutput(fc, name="softmax")


def test_eager_eval_equals_jitted_apply():
    net = _lenet()
    shapes = dict(zip(net.list_arguments(), net.infer_shape(data=(2, 1, 12, 12))[0]))
    rng = np.random.RandomState(3)
    arrays = {k: rng.randn(*s).astype(np.float32) for k, s in shapes.items()}
    arrays["softmax_label"] = np.array([1, 7], np.float32)
    eager = net.eval(mx.cpu(), **{k: mx.nd.array(v) for k, v in arrays.items()})[0].asnumpy()
    graph = compile_symbol(net)
    with jax.disable_jit():
        plain, _ = graph.apply({k: jnp.asarray(v) for k, v in arrays.items()}, {}, None, False)
    jitted, _ = graph.forward_fn(False)({k: jnp.asarray(v) for k, v in arrays.items()}, {}, None)
    np.testing.assert_allclose(eager, np.asarray(jitted[0]), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.asarray(plain[0]), np.asarray(jitted[0]), rtol=1e-5, atol=1e-6)


def test_executor_compiles_forward_once_per_signature():
    net = _lenet()
    exe = net.simple_bind(mx.cpu(), data=(2, 1, 12, 12))
    graph = compile_symbol(net)
    for _ in range(3):
        exe.forward(is_train=True)
        exe.backward()
    fwd = graph.forward_fn(True)
    assert fwd._cache_size() == 1
    assert compile_symbol(net) is graph


def test_auto_names_follow_mxnet():
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=4)
    act = mx.sym.Activation(fc, act_type="relu")
    assert fc.name == "fullyconnected0" and act.name == "activation0"
    assert mx.sym.FullyConnected(act, num_hidden=2).name == "fullyconnected1"
    assert (data + data).name == "_plus0" and (data + 1).name == "_plusscalar0"
    assert (1 - data).name == "_rminusscalar0" and (-data).name == "_mulscalar0"
    with mx.name.Prefix("net_"):
        inner = mx.sym.FullyConnected(data, num_hidden=2)
    assert inner.list_arguments() == ["data", "net_fullyconnected0_weight",
                                      "net_fullyconnected0_bias"]
    out = mx.sym.SoftmaxOutput(fc, name="softmax")
    assert out.list_outputs() == ["softmax_output"]
    assert out.list_arguments()[-1] == "softmax_label"
    with mx.name.NameManager():
        assert mx.sym.FullyConnected(data, num_hidden=1).name == "fullyconnected0"


def test_infer_shape_incomplete_returns_nones_with_warning():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3) + mx.sym.Variable("x")
    with pytest.warns(UserWarning, match="data"):
        assert net.infer_shape() == (None, None, None)
    arg, out, aux = net.infer_shape_partial(x=(2, 3))
    assert net.list_arguments()[0] == "data" and arg[0] == () and arg[-1] == (2, 3)
    assert out == [(2, 3)] and aux == []


# ---- bad input: each names the operator, the node, the shapes and where it was created --------

def test_error_fully_connected_weight_disagrees_with_data():
    data = mx.sym.Variable("data")
    w = mx.sym.Variable("fc1_weight", shape=(10, 784))
    fc = mx.sym.FullyConnected(data, weight=w, num_hidden=10, name="fc1")
    with pytest.raises(ShapeError) as err:
        fc.infer_shape(data=(32, 400))
    msg = str(err.value)
    for part in ("FullyConnected", "'fc1'", "weight", "(10, 784)", "(10, 400)", "test_core.py"):
        assert part in msg, msg


def test_error_convolution_on_3d_data():
    conv = mx.sym.Convolution(mx.sym.Variable("data"), kernel=(3, 3), num_filter=2, name="c")
    with pytest.raises(ShapeError, match=r"Convolution 'c'.*4-D.*\(2, 3, 9\)"):
        conv.infer_shape(data=(2, 3, 9))


def test_error_unknown_parameter_suggests_the_right_one():
    with pytest.raises(ParamError, match="num_hiden.*num_hidden"):
        mx.sym.FullyConnected(mx.sym.Variable("data"), num_hiden=3)


def test_error_kernel_larger_than_padded_input():
    conv = mx.sym.Convolution(mx.sym.Variable("data"), kernel=(5, 5), num_filter=2, pad=(1, 1),
                              name="big")
    with pytest.raises(ShapeError, match=r"'big'.*larger than the padded input"):
        conv.infer_shape(data=(1, 1, 2, 2))
    pool = mx.sym.Pooling(mx.sym.Variable("data"), kernel=(4, 4), name="p")
    with pytest.raises(ShapeError, match=r"'p'.*larger than the padded input"):
        pool.infer_shape(data=(1, 1, 3, 3))


def test_error_missing_input_shape_on_bind():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3)
    with pytest.raises(ShapeError, match="data"):
        net.simple_bind(mx.cpu())


def test_error_infer_shape_int_instead_of_tuple():
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=3)
    with pytest.raises(ShapeError, match=r"data=\(10,\)"):
        net.infer_shape(data=10)


def test_error_duplicate_argument_name():
    data = mx.sym.Variable("data")
    a = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    b = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    with pytest.raises(GraphError, match="duplicate argument name 'fc_weight'.*test_core.py"):
        (a + b).list_arguments()


def test_error_malformed_json():
    with pytest.raises(GraphError, match="malformed symbol JSON at line 1"):
        mx.sym.load_json('{"nodes": [')
    with pytest.raises(GraphError, match="not an MXNet symbol JSON"):
        mx.sym.load_json('{"foo": 1}')
    bad_op = '{"nodes": [{"op": "NoSuchOp", "name": "x", "inputs": []}], "heads": [[0, 0, 0]]}'
    with pytest.raises(GraphError, match="NoSuchOp.*register"):
        mx.sym.load_json(bad_op)


def test_error_truncated_and_corrupted_params(tmp_path):
    fname = str(tmp_path / "x.params")
    mx.nd.save(fname, {"arg:w": mx.nd.ones((4, 4))})
    raw = open(fname, "rb").read()
    open(fname, "wb").write(raw[:-7])
    with pytest.raises(FormatError, match="x.params"):
        mx.nd.load(fname)
    open(fname, "wb").write(b"\x00" * 8 + raw[8:])
    with pytest.raises(FormatError, match="x.params"):
        mx.nd.load(fname)


def test_errors_never_leak_raw_jax_tracebacks_on_bind():
    net = _lenet()
    with pytest.raises(SymnetError) as err:
        net.simple_bind(mx.cpu(), data=(2, 1, 3, 3))
    assert "Convolution 'conv1'" in str(err.value)
