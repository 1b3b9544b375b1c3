"""The MXNet model zoo graphs (/work/shared/data/zoo) against MXNet 1.9.1 (tests/fixtures/zoo).

Every NAME-symbol.json must load, list MXNet's names, infer MXNet's shapes, write back the same
JSON document, and compute MXNet's forward output with the deterministic parameters of
tests/zoo_params.py (at the reduced input size recorded by tools/gen_zoo_fixtures.py). The small
graphs also have real MXNet-written checkpoints, which must load and give the same numbers.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import symnet as mx

HERE = Path(__file__).parent
FIX = HERE / "fixtures" / "zoo"
ZOO_DIR = Path(os.environ.get("SYMNET_ZOO_DIR", "/work/shared/data/zoo"))
sys.path.insert(0, str(HERE))
import zoo_params  # noqa: E402

with open(FIX / "zoo.json") as _f:
    ZOO = json.load(_f)["graphs"]
NAMES = sorted(ZOO)
CHECKPOINTS = [n for n in NAMES if ZOO[n]["checkpoint"]]
RTOL = 1e-4
ATOL_REL = 1e-5


def _path(name: str) -> Path:
    local = ZOO_DIR / ZOO[name]["file"]
    if local.exists():
        return local
    ckpt = FIX / ZOO[name]["file"]
    if ckpt.exists():
        return ckpt
    pytest.skip(f"{local} not available (set SYMNET_ZOO_DIR)")


@functools.lru_cache(maxsize=None)
def _load(name: str):
    return mx.sym.load(str(_path(name)))


@functools.lru_cache(maxsize=None)
def _outputs() -> dict:
    with np.load(FIX / "outputs.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _shapes(shapes):
    return None if shapes is None else [list(s) for s in shapes]


@pytest.mark.parametrize("name", NAMES)
def test_lists(name):
    sym = _load(name)
    exp = ZOO[name]
    assert sym.list_arguments() == exp["list_arguments"]
    assert sym.list_auxiliary_states() == exp["list_auxiliary_states"]
    assert sym.list_outputs() == exp["list_outputs"]


@pytest.mark.parametrize("name", NAMES)
def test_infer_shape_full_size(name):
    exp = ZOO[name]
    a, o, x = _load(name).infer_shape(data=tuple(exp["input_shape"]))
    assert _shapes(a) == exp["arg_shapes"]
    assert _shapes(o) == exp["out_shapes"]
    assert _shapes(x) == exp["aux_shapes"]


@pytest.mark.parametrize("name", NAMES)
def test_tojson_round_trip(name):
    """MXNet's tojson() of the loaded file is the file itself; symnet's must parse the same."""
    assert ZOO[name]["tojson_equals_file"]
    text = _path(name).read_text()
    assert json.loads(_load(name).tojson()) == json.loads(text)


def _forward(sym, exp, arg_params, aux_params):
    shape = tuple(exp["forward_input_shape"])
    logits = sym.get_internals()[exp["logits_output"]]
    net = mx.sym.Group([sym, logits])
    exe = net.simple_bind(mx.cpu(), grad_req="null", data=shape)
    exe.copy_params_from(arg_params, aux_params)
    feed = {"data": zoo_params.make_input(shape, seed=0)}
    if "softmax_label" in exe.arg_dict:
        feed["softmax_label"] = np.zeros(exe.arg_dict["softmax_label"].shape, np.float32)
    return [o.asnumpy() for o in exe.forward(is_train=False, **feed)]


def _check(name, outs):
    ref = _outputs()
    expected = [ref[f"{name}/out/{i}"] for i in range(len(outs) - 1)] + [ref[f"{name}/logits"]]
    labels = [f"output {i}" for i in range(len(outs) - 1)] + ["logits"]
    for got, want, label in zip(outs, expected, labels):
        assert got.shape == want.shape, f"{name} {label}: {got.shape} != {want.shape}"
        atol = ATOL_REL * max(float(np.abs(want).max()), 1e-30)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=atol, err_msg=f"{name} {label}")


@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_mxnet(name):
    """Forward (is_train=False) with zoo_params equals MXNet's output and logits."""
    exp = ZOO[name]
    sym = _load(name)
    a, o, x = sym.infer_shape(data=tuple(exp["forward_input_shape"]))
    assert _shapes(a) == exp["forward_arg_shapes"]
    assert _shapes(x) == exp["forward_aux_shapes"]
    args = zoo_params.make_params(sym.list_arguments(), a, skip=("data", "softmax_label"))
    aux = zoo_params.make_params(sym.list_auxiliary_states(), x)
    _check(name, _forward(sym, exp, {k: mx.nd.array(v) for k, v in args.items()},
                          {k: mx.nd.array(v) for k, v in aux.items()}))


@pytest.mark.parametrize("name", CHECKPOINTS)
def test_mxnet_checkpoint(name):
    """MXNet-written NAME-symbol.json + NAME-0000.params load; values and outputs match."""
    exp = ZOO[name]
    sym, arg_params, aux_params = mx.model.load_checkpoint(str(FIX / exp["checkpoint"]["prefix"]),
                                                           exp["checkpoint"]["epoch"])
    assert sym.list_arguments() == exp["list_arguments"]
    assert sorted(arg_params) == sorted(set(exp["list_arguments"]) - {"data", "softmax_label"})
    assert sorted(aux_params) == sorted(exp["list_auxiliary_states"])
    a, _, x = sym.infer_shape(data=tuple(exp["forward_input_shape"]))
    for k, v in zoo_params.make_params(sym.list_arguments(), a,
                                       skip=("data", "softmax_label")).items():
        np.testing.assert_array_equal(arg_params[k].asnumpy(), v, err_msg=k)
    for k, v in zoo_params.make_params(sym.list_auxiliary_states(), x).items():
        np.testing.assert_array_equal(aux_params[k].asnumpy(), v, err_msg=k)
    _check(name, _forward(sym, exp, arg_params, aux_params))
