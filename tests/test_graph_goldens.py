"""Graph-level goldens from MXNet 1.9.1 (tests/fixtures/graphs, tools/gen_core_fixtures.py).

Graphs are rebuilt with the same builder code MXNet ran (tests/fixtures/graphs/builders.py) and
compared field by field: names, tojson text, attrs, shapes and types; then the MXNet-written
checkpoint and NDArray files are loaded, and executor numbers (forward, backward with
grad_req write/add/null, bind, copy_params_from) are compared on fixed batches.
"""
from __future__ import annotations

import functools
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import symnet as mx

HERE = Path(__file__).parent
GRAPHS = HERE / "fixtures" / "graphs"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(GRAPHS))
import builders  # noqa: E402
import zoo_params  # noqa: E402

GRAPH_NAMES = ["mlp", "lenet", "autonames", "attrs", "variable_init"]
SIMPLE_FIELDS = ["list_arguments", "list_outputs", "list_auxiliary_states", "list_inputs",
                 "internals_outputs", "children_outputs", "attr_dict", "list_attr",
                 "internals_list_attr", "len"]
SHAPE_FIELDS = ["infer_shape", "infer_shape_no_kwargs", "infer_shape_partial_no_kwargs",
                "infer_type"]
FWD = {"rtol": 1e-4, "atol": 1e-5}
GRAD = {"rtol": 1e-3, "atol": 1e-4}


def _load_json(name: str):
    with open(GRAPHS / name) as f:
        return json.load(f)


@functools.lru_cache(maxsize=None)
def _expected(gname: str) -> dict:
    return _load_json(f"{gname}.json")


@functools.lru_cache(maxsize=None)
def _built(gname: str):
    return builders.BUILDERS[gname](mx)


@functools.lru_cache(maxsize=None)
def _legacy(fname: str):
    return mx.sym.load(str(GRAPHS / fname))


def _field(sym, field: str, expected: dict):
    """What symnet reports for one field of tools/gen_core_fixtures.py:describe_symbol."""
    if field == "internals_outputs":
        return sym.get_internals().list_outputs()
    if field == "children_outputs":
        children = sym.get_children()
        return None if children is None else children.list_outputs()
    if field == "internals_list_attr":
        internals = sym.get_internals()
        return {n: internals[n].list_attr() for n in internals.list_outputs()}
    if field == "len":
        return len(sym)
    if field == "infer_shape":
        kw = {k: tuple(v) for k, v in expected["infer_shape"]["kwargs"].items()}
        return _shapes_doc(sym.infer_shape(**kw), kwargs=expected["infer_shape"]["kwargs"])
    if field == "infer_shape_no_kwargs":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _shapes_doc(sym.infer_shape())
    if field == "infer_shape_partial_no_kwargs":
        return _shapes_doc(sym.infer_shape_partial())
    if field == "infer_type":
        kw = expected["infer_type"]["kwargs"]
        a, o, x = sym.infer_type(**kw)
        names = [None if t is None else [None if v is None else np.dtype(v).name for v in t]
                 for t in (a, o, x)]
        return {"kwargs": kw, "arg_types": names[0], "out_types": names[1],
                "aux_types": names[2]}
    return getattr(sym, field)()


def _shapes_doc(res, kwargs=None) -> dict:
    a, o, x = res
    conv = (lambda s: None if s is None else [list(t) for t in s])
    doc = {"arg_shapes": conv(a), "out_shapes": conv(o), "aux_shapes": conv(x)}
    if kwargs is not None:
        doc = {"kwargs": kwargs, **doc}
    return doc


GRAPH_FIELD_CASES = [pytest.param(g, f, id=f"{g}:{f}")
                     for g in GRAPH_NAMES for f in SIMPLE_FIELDS + SHAPE_FIELDS
                     if f in _expected(g)]


@pytest.mark.parametrize("gname,field", GRAPH_FIELD_CASES)
def test_graph_field(gname, field):
    """list_*, internals, children, attrs, len and shape/type inference equal MXNet's."""
    expected = _expected(gname)
    assert _field(_built(gname), field, expected) == expected[field]


@pytest.mark.parametrize("gname", GRAPH_NAMES)
def test_tojson_structure(gname):
    """tojson() parses to the same document MXNet writes (nodes, attrs, heads, row ptrs)."""
    assert json.loads(_built(gname).tojson()) == json.loads(_expected(gname)["tojson"])


@pytest.mark.parametrize("gname", GRAPH_NAMES)
def test_tojson_text(gname):
    """tojson() is MXNet's text byte for byte (indent 2, dmlc separators)."""
    assert _built(gname).tojson() == _expected(gname)["tojson"]


@pytest.mark.parametrize("gname", GRAPH_NAMES)
def test_load_json_round_trip(gname):
    """load_json(MXNet's text) lists the same names and writes the same document back."""
    text = _expected(gname)["tojson"]
    sym = mx.sym.load_json(text)
    assert sym.list_arguments() == _expected(gname)["list_arguments"]
    assert sym.list_outputs() == _expected(gname)["list_outputs"]
    assert json.loads(sym.tojson()) == json.loads(text)


def test_misc_naming_and_composition():
    """Op without data input, composition by keyword, internals indexing."""
    exp = _load_json("misc.json")
    with mx.name.NameManager():
        fc = mx.sym.FullyConnected(num_hidden=3, name="fc")
        x = mx.sym.Variable("x")
        composed = fc(fc_data=x)
        auto_no_data = mx.sym.Activation(act_type="relu")
    internals = _built("mlp").get_internals()
    assert fc.list_arguments() == exp["op_without_data_arguments"]
    assert composed.list_arguments() == exp["composed_arguments"]
    assert json.loads(composed.tojson()) == json.loads(exp["composed_tojson"])
    assert auto_no_data.list_arguments() == exp["auto_no_data_arguments"]
    assert internals["fc2_output"].list_outputs() == exp["mlp_internals_by_name_fc2_output"]
    assert internals[3].list_outputs() == exp["mlp_internals_index_3"]
    assert len(internals) == exp["mlp_internals_len"]


LEGACY = _load_json("legacy.json")
LEGACY_CASES = [pytest.param(fname, f, id=f"{fname}:{f}") for fname in LEGACY
                for f in SIMPLE_FIELDS + SHAPE_FIELDS + ["tojson"] if f in LEGACY[fname]]


@pytest.mark.parametrize("fname,field", LEGACY_CASES)
def test_legacy_json(fname, field):
    """Pre-0.9 JSON (param/attr keys, 2-element inputs) and JSON without top-level attrs load
    as MXNet 1.9.1 upgrades them."""
    sym = _legacy(fname)
    expected = LEGACY[fname]
    if field == "tojson":
        assert json.loads(sym.tojson()) == json.loads(expected["tojson"])
    else:
        assert _field(sym, field, expected) == expected[field]


# ------------------------------------------------------------------------------------------
# checkpoint and NDArray files written by MXNet
EXEC = _load_json("executor.json")


@functools.lru_cache(maxsize=None)
def _exec_arrays() -> dict:
    with np.load(GRAPHS / "executor.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _mlp_params():
    sym = _built("mlp")
    n, feat = EXEC["mlp"]["data_shape"]
    arg_shapes, _, _ = sym.infer_shape(data=(n, feat))
    return zoo_params.make_params(sym.list_arguments(), arg_shapes,
                                  skip=("data", "softmax_label"))


def test_load_checkpoint_mxnet_written():
    """mx.model.load_checkpoint reads MXNet's mlp20-symbol.json + mlp20-0000.params."""
    sym, arg_params, aux_params = mx.model.load_checkpoint(str(GRAPHS / "mlp20"), 0)
    assert sym.list_arguments() == EXEC["mlp"]["arguments"]
    assert aux_params == {}
    expected = _mlp_params()
    assert list(arg_params) == list(expected)
    for k, v in expected.items():
        assert arg_params[k].dtype == np.float32
        np.testing.assert_array_equal(arg_params[k].asnumpy(), v, err_msg=k)


@pytest.mark.parametrize("suffix", ["-0000.params", "-symbol.json"])
def test_save_checkpoint_bytes_equal_mxnet(tmp_path, suffix):
    """symnet's save_checkpoint writes the same bytes as MXNet (.params and -symbol.json)."""
    params = {k: mx.nd.array(v) for k, v in _mlp_params().items()}
    mx.model.save_checkpoint(str(tmp_path / "mlp20"), 0, _built("mlp"), params, {})
    assert (tmp_path / f"mlp20{suffix}").read_bytes() == (GRAPHS / f"mlp20{suffix}").read_bytes()


def test_nd_load_dict_of_dtypes():
    """mx.nd.load of an MXNet-saved dict keeps order, dtypes, shapes and values."""
    loaded = mx.nd.load(str(GRAPHS / "ndarrays_dict.params"))
    with np.load(GRAPHS / "ndarrays.npz", allow_pickle=False) as z:
        expected = {k: z[k] for k in z.files}
    assert isinstance(loaded, dict)
    assert sorted(loaded) == sorted(expected)
    for k, v in expected.items():
        got = loaded[k].asnumpy()
        assert got.dtype == v.dtype, k
        np.testing.assert_array_equal(got, v, err_msg=k)


def test_nd_load_list_and_save_bytes(tmp_path):
    """A saved list loads as a list; saving it again gives MXNet's bytes."""
    loaded = mx.nd.load(str(GRAPHS / "ndarrays_list.params"))
    with np.load(GRAPHS / "ndarrays.npz", allow_pickle=False) as z:
        f32, i32 = z["f32"], z["i32"]
    assert isinstance(loaded, list) and len(loaded) == 2
    np.testing.assert_array_equal(loaded[0].asnumpy(), f32)
    assert loaded[1].asnumpy().dtype == np.int32
    np.testing.assert_array_equal(loaded[1].asnumpy(), i32)
    out = tmp_path / "list.params"
    mx.nd.save(str(out), loaded)
    assert out.read_bytes() == (GRAPHS / "ndarrays_list.params").read_bytes()


# ------------------------------------------------------------------------------------------
# executor numbers
def _mlp_exe(grad_req):
    sym = _built("mlp")
    n, feat = EXEC["mlp"]["data_shape"]
    exe = sym.simple_bind(mx.cpu(), grad_req=grad_req, data=(n, feat))
    exe.copy_params_from({k: mx.nd.array(v) for k, v in _mlp_params().items()})
    return exe


def _batch(i):
    arr = _exec_arrays()
    return {"data": arr[f"mlp/batch{i}/data"], "softmax_label": arr[f"mlp/batch{i}/softmax_label"]}


def test_mlp_forward_inference():
    exe = _mlp_exe("write")
    out = exe.forward(is_train=False, **_batch(1))[0].asnumpy()
    np.testing.assert_allclose(out, _exec_arrays()["mlp/out_infer"], **FWD)


def test_mlp_forward_backward_write():
    arr = _exec_arrays()
    exe = _mlp_exe("write")
    exe.forward(is_train=True, **_batch(1))
    np.testing.assert_allclose(exe.outputs[0].asnumpy(), arr["mlp/out_train"], **FWD)
    exe.backward()
    for k in _built("mlp").list_arguments():
        if k == "softmax_label":
            continue
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), arr[f"mlp/grad_write/{k}"],
                                   err_msg=k, **GRAD)


def test_mlp_grad_req_add_accumulates():
    arr = _exec_arrays()
    exe = _mlp_exe("add")
    for i in (1, 2):
        exe.forward(is_train=True, **_batch(i))
        exe.backward()
    for k in _built("mlp").list_arguments():
        if k == "softmax_label":
            continue
        np.testing.assert_allclose(exe.grad_dict[k].asnumpy(), arr[f"mlp/grad_add/{k}"],
                                   err_msg=k, **GRAD)


def test_mlp_grad_req_dict_null():
    arr = _exec_arrays()
    exe = _mlp_exe(EXEC["mlp"]["grad_req_dict"])
    exe.forward(is_train=True, **_batch(1))
    exe.backward()
    none = sorted(k for k, g in exe.grad_dict.items() if g is None)
    assert none == EXEC["mlp"]["grad_req_dict_none"]
    for k, g in exe.grad_dict.items():
        if g is not None:
            np.testing.assert_allclose(g.asnumpy(), arr[f"mlp/grad_dict_req/{k}"], err_msg=k,
                                       **GRAD)


def test_mlp_bind_with_dicts_equals_simple_bind():
    """bind(args=dict, args_grad=dict) computes MXNet's gradients too."""
    arr = _exec_arrays()
    sym = _built("mlp")
    args = {k: mx.nd.array(v) for k, v in _mlp_params().items()}
    args.update({k: mx.nd.array(v) for k, v in _batch(1).items()})
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items() if k != "softmax_label"}
    exe = sym.bind(mx.cpu(), args=args, args_grad=grads)
    exe.forward(is_train=True)
    exe.backward()
    for k in grads:
        np.testing.assert_allclose(grads[k].asnumpy(), arr[f"mlp/grad_write/{k}"], err_msg=k,
                                   **GRAD)


def test_copy_params_from_extra_names():
    """Extra names raise unless allow_extra_params=True."""
    exe = _mlp_exe("null")
    extra = {"not_a_param": mx.nd.zeros((2,))}
    with pytest.raises(Exception):
        exe.copy_params_from(extra)
    exe.copy_params_from(extra, allow_extra_params=True)


def test_lenet_forward_and_gradients():
    arr = _exec_arrays()
    meta = EXEC["lenet"]
    sym = _built("lenet")
    shape = tuple(meta["data_shape"])
    arg_shapes, _, _ = sym.infer_shape(data=shape)
    params = zoo_params.make_params(sym.list_arguments(), arg_shapes,
                                    skip=("data", "softmax_label"))
    exe = sym.simple_bind(mx.cpu(), grad_req="write", data=shape)
    exe.copy_params_from({k: mx.nd.array(v) for k, v in params.items()})
    batch = {"data": arr["lenet/data"], "softmax_label": arr["lenet/softmax_label"]}
    np.testing.assert_array_equal(arr["lenet/data"], zoo_params.make_input(shape, seed=3))
    out = exe.forward(is_train=False, **batch)[0].asnumpy()
    np.testing.assert_allclose(out, arr["lenet/out_infer"], **FWD)
    exe.forward(is_train=True, **batch)
    exe.backward()
    for k in sym.list_arguments():
        if k == "softmax_label":
            continue
        g = exe.grad_dict[k].asnumpy()
        if k in meta["big_grads"]:
            np.testing.assert_allclose(g.reshape(g.shape[0], -1)[:6, :40],
                                       arr[f"lenet/grad_slice/{k}"], err_msg=k, **GRAD)
            np.testing.assert_allclose(np.linalg.norm(g), arr[f"lenet/grad_norm/{k}"],
                                       rtol=1e-4)
        else:
            np.testing.assert_allclose(g, arr[f"lenet/grad/{k}"], err_msg=k, **GRAD)
