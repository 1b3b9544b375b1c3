"""Initializers vs MXNet 1.9.1: dumps strings, draw bounds, deterministic outputs, dispatch."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from symnet import initializer as I
from symnet import ndarray as nd
from symnet.base import ParamError, ShapeError

_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "optim")
_DOC = json.load(open(os.path.join(_DIR, "optim.json")))["initializers"]
_Z = np.load(os.path.join(_DIR, "optim.npz"), allow_pickle=False)

INITS = {
    "uniform_default": lambda: I.Uniform(),
    "uniform_0.1": lambda: I.Uniform(0.1),
    "normal_default": lambda: I.Normal(),
    "normal_0.5": lambda: I.Normal(0.5),
    "xavier_default": lambda: I.Xavier(),
    "xavier_in": lambda: I.Xavier(factor_type="in", magnitude=2.34),
    "xavier_out_gauss": lambda: I.Xavier(rnd_type="gaussian", factor_type="out"),
    "msra_default": lambda: I.MSRAPrelu(),
    "msra_in": lambda: I.MSRAPrelu("in", 0.1),
    "orthogonal": lambda: I.Orthogonal(),
    "orthogonal_normal": lambda: I.Orthogonal(scale=2.0, rand_type="normal"),
    "constant": lambda: I.Constant(0.5),
    "zero": lambda: I.Zero(),
    "one": lambda: I.One(),
    "bilinear": lambda: I.Bilinear(),
    "lstmbias": lambda: I.LSTMBias(2.0),
}


@pytest.mark.parametrize("key", sorted(INITS))
def test_dumps_matches_mxnet_and_create_roundtrips(key):
    init = INITS[key]()
    assert init.dumps() == _DOC["dumps"][key]
    again = I.create(init.dumps())
    assert type(again) is type(init) and again.dumps() == init.dumps()


def test_create_names_aliases_and_errors():
    assert isinstance(I.create("zeros"), I.Zero)
    assert isinstance(I.create("ones"), I.One)
    assert isinstance(I.create("Xavier", magnitude=2), I.Xavier)
    u = I.Uniform()
    assert I.create(u) is u
    with pytest.raises(ParamError, match=r"Unknown initializer 'glorot'.*uniform.*xavier"):
        I.create("glorot")


@pytest.mark.parametrize("case", _DOC["bounds"],
                         ids=[f"{b['init']}-{'x'.join(map(str, b['shape']))}"
                              for b in _DOC["bounds"]])
def test_random_draws_use_mxnets_scale(case):
    init = INITS[case["init"]]()
    kind, a, b = case["call"]
    shape = tuple(case["shape"])
    if isinstance(init, I.Xavier):
        scale = init.scale_for("conv_weight", shape)
        assert scale == pytest.approx(b, rel=1e-12)
        assert init.rnd_type == ("uniform" if kind == "uniform" else "gaussian")
    big = (2000,) + shape[1:]
    x = np.asarray(init.generate(I.InitDesc("conv_weight"), big, key=jax.random.PRNGKey(1)))
    if isinstance(init, I.Xavier):  # scale depends on fan_out, recompute for the big shape
        bound = init.scale_for("conv_weight", big)
    else:
        bound = b
    if kind == "uniform":
        assert x.min() >= -bound and x.max() <= bound
        np.testing.assert_allclose(x.std(), bound / np.sqrt(3), rtol=0.05)
    else:
        np.testing.assert_allclose(x.std(), bound, rtol=0.05)
    assert abs(x.mean()) < 0.05 * bound


DET = _DOC["deterministic"]


@pytest.mark.parametrize("case", DET, ids=[f"{c['path']}-{c['init']}-{c['name']}" for c in DET])
def test_deterministic_dispatch_matches_mxnet(case):
    arr = nd.array(np.full(case["shape"], 7, np.float32))
    init = INITS[case["init"]]()
    if case["path"] == "desc":
        init(I.InitDesc(case["name"]), arr)
        ref = _Z[f"init/{case['init']}/{case['name']}"]
    else:
        init(case["name"], arr)
        ref = _Z[f"init/legacy/{case['name']}"]
    np.testing.assert_allclose(arr.asnumpy(), ref, rtol=1e-7)


@pytest.mark.parametrize("shape", ["1x1x4x4", "2x3x3x3", "1x2x5x6"])
def test_bilinear_kernel_matches_mxnet(shape):
    dims = tuple(int(s) for s in shape.split("x"))
    arr = nd.zeros(dims)
    I.Bilinear()(I.InitDesc("up_weight"), arr)
    np.testing.assert_allclose(arr.asnumpy(), _Z[f"init/bilinear_shape/{shape}"], rtol=1e-7)


def test_init_attr_wins_over_suffix_and_global():
    arr = nd.zeros((3,))
    I.Uniform()(I.InitDesc("fc_bias", {"__init__": I.Constant(3.0).dumps()}), arr)
    np.testing.assert_array_equal(arr.asnumpy(), _Z["init/attr/fc_bias"])
    arr = nd.zeros((8,))
    I.Uniform()(I.InitDesc("lstm_bias", {"__init__": I.LSTMBias(2.0).dumps()}), arr)
    np.testing.assert_array_equal(arr.asnumpy(), _Z["init/attr/lstm_bias"])


def test_mixed_uses_first_matching_pattern():
    mixed = I.Mixed([".*bias", ".*"], [I.Constant(2.0), I.One()])
    for n in ("fc_bias", "fc_weight", "bn_gamma"):
        arr = nd.array(np.full((3, 2), 7, np.float32))
        mixed(I.InitDesc(n), arr)
        np.testing.assert_array_equal(arr.asnumpy(), _Z[f"init/mixed/{n}"])
    with pytest.raises(ParamError, match="did not match any pattern"):
        I.Mixed(["a.*"], [I.One()])("fc_weight", nd.zeros((2,)))


def test_unknown_suffix_raises():
    with pytest.raises(ParamError, match="Unknown initialization pattern for 'data'"):
        I.Uniform()(I.InitDesc("data"), nd.zeros((2,)))


def test_orthogonal_rows_are_orthogonal_with_scale():
    for init, shape in ((I.Orthogonal(), (4, 6)), (I.Orthogonal(2.0, "normal"), (6, 2, 2))):
        w = np.asarray(init.generate(I.InitDesc("o_weight"), shape,
                                     key=jax.random.PRNGKey(3))).reshape(shape[0], -1)
        s = init.scale
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, s * s * np.eye(gram.shape[0]), atol=1e-5)


def test_xavier_rejects_vectors():
    with pytest.raises(ShapeError, match="at least 2D"):
        I.Xavier().generate(I.InitDesc("v_weight"), (5,), key=jax.random.PRNGKey(0))


def test_load_strips_prefix_and_falls_back():
    src = {"arg:fc_weight": nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))}
    load = I.Load(src, default_init=I.Constant(0.25))
    arr = nd.zeros((2, 3))
    load("fc_weight", arr)
    np.testing.assert_array_equal(arr.asnumpy(), np.arange(6).reshape(2, 3))
    other = nd.zeros((2, 2))
    load("x_weight", other)
    np.testing.assert_array_equal(other.asnumpy(), 0.25)
    with pytest.raises(ShapeError, match="Shape mismatch"):
        load("fc_weight", nd.zeros((3, 2)))
    with pytest.raises(ParamError, match="no default initializer"):
        I.Load(src)("y_weight", nd.zeros((1,)))


def test_init_params_functional_honours_init_attr_and_key():
    shapes = {"fc_weight": (3, 4), "fc_bias": (3,), "bn_gamma": (3,), "bn_moving_var": (3,),
              "w2_weight": (2, 2)}
    attrs = {"bn_moving_var": {"__init__": '["one", {}]'},
             "w2_weight": {"__init__": I.Constant(5.0).dumps()}}
    p1 = I.init_params(I.Uniform(0.01), shapes, attrs, key=jax.random.PRNGKey(0))
    p2 = I.init_params(I.Uniform(0.01), shapes, attrs, key=jax.random.PRNGKey(0))
    assert {k: v.shape for k, v in p1.items()} == shapes
    np.testing.assert_array_equal(np.asarray(p1["fc_weight"]), np.asarray(p2["fc_weight"]))
    assert np.abs(np.asarray(p1["fc_weight"])).max() <= 0.01
    np.testing.assert_array_equal(np.asarray(p1["fc_bias"]), 0)
    np.testing.assert_array_equal(np.asarray(p1["bn_gamma"]), 1)
    np.testing.assert_array_equal(np.asarray(p1["bn_moving_var"]), 1)
    np.testing.assert_array_equal(np.asarray(p1["w2_weight"]), 5)


def test_global_seed_is_used_without_key():
    from symnet import random as R
    R.seed(7)
    a = I.Uniform().generate(I.InitDesc("a_weight"), (5,))
    R.seed(7)
    b = I.Uniform().generate(I.InitDesc("a_weight"), (5,))
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_variable_init_attr_string_is_dumps():
    assert _DOC["variable_init_attr"] == I.Xavier(rnd_type="gaussian", magnitude=2).dumps()
