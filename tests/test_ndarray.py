"""NDArray behaviour vs numpy and MXNet 1.9.1, .params read/write vs MXNet-written files."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import symnet as mx
from symnet import ndarray as nd
from symnet.base import FormatError, ShapeError, SymnetError

PARAMS = os.path.join(os.path.dirname(__file__), "fixtures", "params")

RNG = np.random.RandomState(0)
A = RNG.randn(2, 3).astype(np.float32)
B = RNG.rand(2, 3).astype(np.float32) + 0.5
ROW = RNG.rand(3).astype(np.float32) + 0.5


# ---------------------------------------------------------------------- arithmetic
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv", "pow"])
@pytest.mark.parametrize("rhs_kind", ["nd", "row_nd", "scalar", "numpy"])
def test_binary_ops_match_numpy(op, rhs_kind):
    lhs = np.abs(A) + 0.1 if op == "pow" else A
    rhs = {"nd": B, "row_nd": ROW, "scalar": np.float32(1.5), "numpy": B}[rhs_kind]
    rhs_in = mx.nd.array(rhs) if rhs_kind in ("nd", "row_nd") else (
        1.5 if rhs_kind == "scalar" else rhs)
    fn = getattr(np, "true_divide" if op == "truediv" else
                 {"add": "add", "sub": "subtract", "mul": "multiply", "pow": "power"}[op])
    out = getattr(mx.nd.array(lhs), f"__{op}__")(rhs_in)
    assert isinstance(out, mx.nd.NDArray)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.asnumpy(), fn(lhs, rhs), rtol=1e-6)
    # reflected form: scalar/numpy on the left
    if rhs_kind in ("scalar", "numpy"):
        rev = getattr(mx.nd.array(lhs), f"__r{op}__")(rhs_in)
        np.testing.assert_allclose(rev.asnumpy(), fn(rhs, lhs), rtol=1e-5)


def test_numpy_on_the_left_gives_ndarray():
    out = B + mx.nd.array(A)
    assert isinstance(out, mx.nd.NDArray)
    np.testing.assert_allclose(out.asnumpy(), A + B)


def test_unary_and_comparisons():
    a = mx.nd.array(A)
    np.testing.assert_allclose((-a).asnumpy(), -A)
    np.testing.assert_allclose(abs(a).asnumpy(), np.abs(A))
    # MXNet compat: comparisons return 0/1 in the array's dtype
    gt = a > 0
    assert gt.dtype == np.float32
    np.testing.assert_array_equal(gt.asnumpy(), (A > 0).astype(np.float32))
    np.testing.assert_array_equal((a == a).asnumpy(), np.ones_like(A))
    np.testing.assert_array_equal((a <= 0).asnumpy(), (A <= 0).astype(np.float32))


def test_integer_semantics_match_mxnet():
    # observed in MXNet 1.9.1: int32 [7, 2] / 2 -> [3, 1]; * 1.5 -> [7, 2] (scalar cast to int)
    i = mx.nd.array([7, 2], dtype="int32")
    assert i.dtype == np.int32
    np.testing.assert_array_equal((i / 2).asnumpy(), [3, 1])
    np.testing.assert_array_equal((i * 1.5).asnumpy(), [7, 2])
    assert (i / 2).dtype == np.int32


def test_inplace_ops_swap_data_and_keep_identity():
    a = mx.nd.array(A)
    alias = a
    old = a._data
    a += 1
    a *= mx.nd.array(B)
    assert alias is a and a._data is not old
    np.testing.assert_allclose(alias.asnumpy(), (A + 1) * B, rtol=1e-6)
    with pytest.raises(ShapeError):
        r = mx.nd.array(ROW)
        r += mx.nd.array(A)


def test_math_functions():
    a = mx.nd.array(np.abs(A) + 0.1)
    x = np.abs(A) + 0.1
    np.testing.assert_allclose(mx.nd.exp(a).asnumpy(), np.exp(x), rtol=1e-6)
    np.testing.assert_allclose(mx.nd.log(a).asnumpy(), np.log(x), rtol=1e-6)
    np.testing.assert_allclose(mx.nd.sqrt(a).asnumpy(), np.sqrt(x), rtol=1e-6)
    np.testing.assert_allclose(mx.nd.square(a).asnumpy(), x ** 2, rtol=1e-6)
    np.testing.assert_allclose(mx.nd.clip(a, 0.3, 0.9).asnumpy(), np.clip(x, 0.3, 0.9))
    np.testing.assert_allclose(mx.nd.maximum(a, 0.5).asnumpy(), np.maximum(x, 0.5))
    np.testing.assert_allclose(mx.nd.minimum(a, mx.nd.array(B)).asnumpy(), np.minimum(x, B))
    np.testing.assert_allclose(mx.nd.dot(a, mx.nd.array(B.T)).asnumpy(), x @ B.T, rtol=1e-5)
    np.testing.assert_allclose(mx.nd.dot(a, mx.nd.array(B), transpose_b=True).asnumpy(),
                               x @ B.T, rtol=1e-5)
    np.testing.assert_allclose(mx.nd.sum(a, axis=1).asnumpy(), x.sum(1), rtol=1e-6)
    np.testing.assert_allclose(mx.nd.mean(a, axis=0).asnumpy(), x.mean(0), rtol=1e-6)


def test_full_reductions_have_shape_1_like_mxnet():
    a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    assert mx.nd.sum(a).shape == (1,)
    assert mx.nd.sum(a).asscalar() == 21
    np.testing.assert_allclose(mx.nd.norm(a).asnumpy(), [9.5393915], rtol=1e-6)
    am = mx.nd.argmax(a, axis=1)
    assert am.dtype == np.float32  # MXNet returns float indices
    np.testing.assert_array_equal(am.asnumpy(), [2, 2])
    assert a.sum(axis=1).shape == (2,)


# ---------------------------------------------------------------------- construction
def test_array_defaults_to_float32_like_mxnet():
    assert mx.nd.array(np.zeros(3)).dtype == np.float32
    assert mx.nd.array(np.zeros(3, dtype=np.int64)).dtype == np.float32
    assert mx.nd.array([1, 2]).dtype == np.float32
    assert mx.nd.array(mx.nd.array([1], dtype="int32")).dtype == np.int32
    assert mx.nd.array([1, 2], dtype="float16").dtype == np.float16
    f64 = mx.nd.array(np.array([0.1, 0.2]), dtype=np.float64)
    assert f64.dtype == np.float64
    np.testing.assert_array_equal(f64.asnumpy(), [0.1, 0.2])  # exact, no float32 round trip


def test_creation_functions():
    assert mx.nd.zeros((2, 3)).asnumpy().sum() == 0
    assert mx.nd.zeros((2, 3), dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(mx.nd.ones(4).asnumpy(), np.ones(4))
    np.testing.assert_array_equal(mx.nd.full((2,), 3).asnumpy(), [3, 3])
    assert mx.nd.empty((3, 1)).shape == (3, 1)
    np.testing.assert_array_equal(mx.nd.arange(3).asnumpy(), [0, 1, 2])
    np.testing.assert_array_equal(mx.nd.arange(0, 3, 1, repeat=2).asnumpy(),
                                  [0, 0, 1, 1, 2, 2])
    c = mx.nd.concat(mx.nd.array(A), mx.nd.array(B))  # MXNet default dim=1
    np.testing.assert_array_equal(c.asnumpy(), np.concatenate([A, B], axis=1))
    c0 = mx.nd.concat(mx.nd.array(A), mx.nd.array(B), dim=0)
    assert c0.shape == (4, 3)


def test_properties_and_conversion():
    a = mx.nd.array(A)
    assert a.shape == (2, 3) and a.size == 6 and a.ndim == 2 and len(a) == 2
    assert a.dtype is np.float32
    assert a.context == mx.cpu(0) and a.ctx == mx.cpu()
    assert a.T.shape == (3, 2)
    np.testing.assert_array_equal(np.asarray(a), A)
    assert a.astype("float16").dtype == np.float16
    assert mx.nd.array([3]).asscalar() == 3.0
    assert type(mx.nd.array([3]).asscalar()) is np.float32
    with pytest.raises(ValueError, match="not a scalar"):
        a.asscalar()
    b = a.copy()
    b[:] = 0
    np.testing.assert_array_equal(a.asnumpy(), A)
    target = mx.nd.zeros((2, 3))
    a.copyto(target)
    np.testing.assert_array_equal(target.asnumpy(), A)
    with pytest.raises(ShapeError):
        a.copyto(mx.nd.zeros((3, 2)))
    assert a.copyto(mx.cpu()).context == mx.cpu()
    assert a.as_in_context(mx.cpu()) is a
    a.wait_to_read()
    mx.nd.waitall()
    assert [r.shape for r in a] == [(3,), (3,)]


def test_repr_matches_mxnet():
    a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    assert repr(a) == "\n[[1. 2. 3.]\n [4. 5. 6.]]\n<NDArray 2x3 @cpu(0)>"
    assert repr(mx.nd.array([1.5])) == "\n[1.5]\n<NDArray 1 @cpu(0)>"


@pytest.mark.parametrize("spec,expected", [
    ((3, -1), (3, 2)), ((0, -1), (2, 3)), ((-1,), (6,)), ((6, 1), (6, 1)),
    ((-3,), (6,)), ((-4, 1, 2, -2), (1, 2, 3)), ((-2,), (2, 3)),
])
def test_reshape_special_codes(spec, expected):
    a = mx.nd.array(A)
    out = a.reshape(spec)
    assert out.shape == expected
    np.testing.assert_array_equal(out.asnumpy().ravel(), A.ravel())


def test_reshape_bad_size_is_shape_error():
    with pytest.raises(ShapeError, match=r"\(2, 3\)"):
        mx.nd.array(A).reshape((4, 2))


# ---------------------------------------------------------------------- indexing
def test_setitem_forms_match_numpy():
    a = mx.nd.array(A)
    ref = A.copy()
    a[:] = 2.0
    ref[:] = 2.0
    np.testing.assert_array_equal(a.asnumpy(), ref)
    a[:] = B
    ref[:] = B
    np.testing.assert_array_equal(a.asnumpy(), ref)
    a[:] = mx.nd.array(ROW)  # broadcast a row
    ref[:] = ROW
    np.testing.assert_array_equal(a.asnumpy(), ref)
    a[1] = np.array([7, 8, 9])
    ref[1] = [7, 8, 9]
    a[0, 1:] = 5
    ref[0, 1:] = 5
    a[:, 0] = mx.nd.array([-1, -2])
    ref[:, 0] = [-1, -2]
    np.testing.assert_array_equal(a.asnumpy(), ref)
    assert a.dtype == np.float32
    with pytest.raises(ShapeError):
        a[:] = np.ones((4, 3))


def test_getitem_basic():
    a = mx.nd.array(A)
    np.testing.assert_array_equal(a[1].asnumpy(), A[1])
    np.testing.assert_array_equal(a[0:1].asnumpy(), A[0:1])
    np.testing.assert_array_equal(a[:, 1:].asnumpy(), A[:, 1:])
    assert a[1, 2].shape == (1,)  # MXNet 1.9.1 (non-numpy mode) gives (1,)
    with pytest.raises(IndexError):
        a[2]
    with pytest.raises(IndexError):
        a[0, 5]


# ---------------------------------------------------------------------- context & random
def test_context():
    assert repr(mx.cpu()) == "cpu(0)" and repr(mx.gpu(1)) == "gpu(1)"
    assert mx.cpu(0) == mx.Context("cpu", 0) and mx.cpu(0) != mx.gpu(0)
    assert mx.current_context() == mx.cpu(0)
    with mx.Context("cpu", 1):
        assert mx.current_context() == mx.cpu(1)
    assert mx.current_context() == mx.cpu(0)
    assert mx.cpu().jax_device().platform == "cpu"
    if mx.num_gpus() == 0:
        with pytest.raises(SymnetError, match="gpu\\(0\\)"):
            mx.gpu(0).jax_device()


def test_random_seed_reproducible():
    mx.random.seed(7)
    k1 = np.asarray(mx.random.next_key())
    u1 = mx.random.uniform(0, 1, shape=(3,)).asnumpy()
    r1 = mx.random.np_rng().rand(2)
    mx.random.seed(7)
    np.testing.assert_array_equal(np.asarray(mx.random.next_key()), k1)
    np.testing.assert_array_equal(mx.random.uniform(0, 1, shape=(3,)).asnumpy(), u1)
    np.testing.assert_array_equal(mx.random.np_rng().rand(2), r1)
    assert not np.array_equal(np.asarray(mx.random.next_key()), k1)
    n = mx.random.normal(2.0, 0.5, shape=(2000,)).asnumpy()
    assert abs(n.mean() - 2.0) < 0.1 and abs(n.std() - 0.5) < 0.05
    assert ((u1 >= 0) & (u1 < 1)).all()
    with pytest.raises(ValueError):
        mx.random.seed("x")


# ---------------------------------------------------------------------- .params files
with open(os.path.join(PARAMS, "manifest.json")) as _fh:
    MANIFEST = json.load(_fh)
PARAM_FILES = sorted(MANIFEST)


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(PARAMS, "expected.npz"), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.mark.parametrize("fname", PARAM_FILES)
def test_load_mxnet_params(fname, expected):
    info = MANIFEST[fname]
    loaded = mx.nd.load(os.path.join(PARAMS, fname))
    if info["kind"] == "dict":
        assert isinstance(loaded, dict)
        assert list(loaded) == info["names"]
        items = list(loaded.items())
    else:
        assert isinstance(loaded, list)
        items = [(str(i), v) for i, v in enumerate(loaded)]
    assert [np.dtype(v.dtype).name for _, v in items] == info["dtypes"]
    assert [list(v.shape) for _, v in items] == info["shapes"]
    for k, v in items:
        np.testing.assert_array_equal(v.asnumpy(), expected[f"{fname}/{k}"])


@pytest.mark.parametrize("fname", PARAM_FILES)
def test_save_is_byte_identical_to_mxnet(fname, tmp_path):
    src = os.path.join(PARAMS, fname)
    loaded = mx.nd.load(src)
    out = tmp_path / fname
    mx.nd.save(str(out), loaded)
    with open(src, "rb") as fh:
        assert out.read_bytes() == fh.read()
    assert mx.nd.save_bytes(loaded) == out.read_bytes()
    assert os.listdir(tmp_path) == [fname]  # no temp file left behind


def test_checkpoint_keys():
    params = mx.nd.load(os.path.join(PARAMS, "tiny-0001.params"))
    assert sorted(params) == ["arg:bn1_beta", "arg:bn1_gamma", "arg:fc1_bias", "arg:fc1_weight",
                              "aux:bn1_moving_mean", "aux:bn1_moving_var"]
    assert params["arg:fc1_weight"].shape == (3, 4)


# MXNet 1.9.1 mx.nd.save('e.params', {'e': empty (0, 3), 's': 0-d array 5.0}), hex dump
MX_EMPTY_AND_SCALAR = bytes.fromhex(
    "120100000000000000000000000000000200000000000000c9fa93f90000000002000000000000000000000003"
    "00000000000000010000000000000000000000c9fa93f900000000000000000100000000000000000000000000"
    "a0400200000000000000010000000000000065010000000000000073")


def test_empty_and_zero_dim_arrays_match_mxnet_bytes():
    loaded = mx.nd.load_frombuffer(MX_EMPTY_AND_SCALAR)
    assert loaded["e"].shape == (0, 3) and loaded["s"].shape == ()
    assert float(loaded["s"].asnumpy()) == 5.0
    assert mx.nd.save_bytes(loaded) == MX_EMPTY_AND_SCALAR


def test_round_trip_list_and_dict(tmp_path):
    arrs = [mx.nd.array(A), mx.nd.array([1, 2], dtype="int8"),
            mx.nd.array(np.arange(4.0), dtype="float64")]
    path = str(tmp_path / "x.params")
    mx.nd.save(path, arrs)
    back = mx.nd.load(path)
    assert isinstance(back, list) and len(back) == 3
    for a, b in zip(arrs, back):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    mx.nd.save(path, {"w": arrs[0], "\u00fcber": arrs[2]})  # overwrite atomically
    back = mx.nd.load(path)
    assert list(back) == ["w", "\u00fcber"]
    np.testing.assert_array_equal(back["\u00fcber"].asnumpy(), np.arange(4.0))


def test_save_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError, match="dict keys must be str"):
        mx.nd.save(str(tmp_path / "a"), {1: mx.nd.array([1])})
    with pytest.raises(TypeError, match="NDArray"):
        mx.nd.save(str(tmp_path / "a"), ["nope"])


def _sample_bytes():
    return mx.nd.save_bytes({"w": mx.nd.array(A), "b": mx.nd.array(ROW)})


def test_every_truncation_raises_format_error(tmp_path):
    raw = _sample_bytes()
    path = tmp_path / "t.params"
    for cut in range(len(raw)):
        path.write_bytes(raw[:cut])
        with pytest.raises(FormatError) as info:
            mx.nd.load(str(path))
        msg = str(info.value)
        assert str(path) in msg and "byte offset" in msg and "expected" in msg


@pytest.mark.parametrize("offset,value,what", [
    (0, b"\x13", "list magic"),
    (24, b"\x00", "NDArray magic"),
    (52, b"\x09", "device type"),
    (60, b"\x09", "type flag"),
])
def test_corruption_raises_format_error(offset, value, what, tmp_path):
    raw = bytearray(_sample_bytes())
    raw[offset:offset + 1] = value
    path = tmp_path / "c.params"
    path.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match=what) as info:
        mx.nd.load(str(path))
    assert "c.params" in str(info.value)


def test_trailing_garbage_raises_format_error():
    with pytest.raises(FormatError, match="extra bytes"):
        mx.nd.load_frombuffer(_sample_bytes() + b"\x00")
