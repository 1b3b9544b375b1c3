"""Every op case of every tests/fixtures/ops/<group>.json against MXNet 1.9.1's recorded numbers.

A case (format: tools/README.md) is built as
``getattr(mx.sym, op)(*[Variable(n) for n in inputs], name=name, **kwargs)``; we compare
list_*/infer_shape, the JSON node symnet writes, forward outputs, input gradients (grad_req
'write', head gradients from the npz; none for loss heads) and aux states after the step.
New groups need no code here: dropping <group>.json + <group>.npz into the folder adds them.
"""
from __future__ import annotations

import functools
import json
import operator
from pathlib import Path

import numpy as np
import pytest

import symnet as mx

OPS_DIR = Path(__file__).parent / "fixtures" / "ops"
FWD_RTOL, FWD_ATOL = 1e-4, 1e-5
GRAD_RTOL, GRAD_ATOL = 1e-3, 1e-4


def _load_cases():
    cases = []
    for path in sorted(OPS_DIR.glob("*.json")):
        with open(path) as f:
            doc = json.load(f)
        if not isinstance(doc, dict) or "cases" not in doc:
            continue
        npz = path.with_suffix(".npz")
        if not npz.exists():
            continue
        for case in doc["cases"]:
            cases.append(pytest.param(path.stem, case, id=f"{path.stem}:{case['id']}"))
    return cases


CASES = _load_cases()
PY_CASES = [c for c in CASES if "py" in c.values[1]]


@functools.lru_cache(maxsize=None)
def _arrays(group: str) -> dict:
    """All arrays of a group, loaded once (no pickle)."""
    with np.load(OPS_DIR / f"{group}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _case_arrays(group: str, cid: str, kind: str) -> dict:
    prefix = f"{cid}/{kind}/"
    return {k[len(prefix):]: v for k, v in _arrays(group).items() if k.startswith(prefix)}


def _op_fn(op: str):
    fn = getattr(mx.sym, op, None)
    if fn is None:
        fn = getattr(mx.sym._internal, op, None)
    if fn is None:
        pytest.fail(f"symnet has no mx.sym.{op} nor mx.sym._internal.{op}")
    return fn


def _kwargs(case: dict) -> dict:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}


def _build(case: dict):
    with mx.name.NameManager():
        inputs = [mx.sym.Variable(n) for n in case["inputs"]]
        return _op_fn(case["op"])(*inputs, name=case["name"], **_kwargs(case))


def _shapes(shapes):
    return None if shapes is None else [tuple(s) for s in shapes]


def _close(actual, expected, rtol, atol, what):
    actual = np.asarray(actual)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=what)


@pytest.mark.parametrize("group,case", CASES)
def test_lists_and_shapes(group, case):
    """list_arguments/aux/outputs and infer_shape equal MXNet's."""
    sym = _build(case)
    assert sym.list_arguments() == case["arguments"]
    assert sym.list_auxiliary_states() == case["aux_states"]
    assert sym.list_outputs() == case["outputs"]
    args = _case_arrays(group, case["id"], "arg")
    names = case.get("infer_inputs", case["inputs"])
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape(**{n: args[n].shape for n in names})
    assert _shapes(arg_shapes) == _shapes(case["arg_shapes"])
    assert _shapes(out_shapes) == _shapes(case["out_shapes"])
    assert _shapes(aux_shapes) == _shapes(case["aux_shapes"])


@pytest.mark.parametrize("group,case", [c for c in CASES if "json_op" in c.values[1]])
def test_json_node(group, case):
    """The op node symnet writes has MXNet's op name and string attrs."""
    node = json.loads(_build(case).tojson())["nodes"][-1]
    assert node["op"] == case["json_op"]
    assert node["name"] == case["name"]
    assert node.get("attrs", {}) == case["json_attrs"]


@pytest.mark.parametrize("group,case", CASES)
def test_forward_backward(group, case):
    """Forward outputs, input gradients and aux states after the step equal MXNet's."""
    cid = case["id"]
    sym = _build(case)
    args = _case_arrays(group, cid, "arg")
    aux = _case_arrays(group, cid, "aux")
    exe = sym.simple_bind(mx.cpu(), grad_req="write" if case["grad"] else "null",
                          **{n: args[n].shape for n in case["arguments"]})
    for n, v in args.items():
        exe.arg_dict[n][:] = v
    for n, v in aux.items():
        exe.aux_dict[n][:] = v
    outs = exe.forward(is_train=case["is_train"])
    expected = _case_arrays(group, cid, "out")
    assert len(outs) == len(expected)
    rtol, atol = case.get("rtol", FWD_RTOL), case.get("atol", FWD_ATOL)
    for i, out in enumerate(outs):
        _close(out.asnumpy(), expected[str(i)], rtol, atol, f"{cid} output {i}")
    if case["grad"]:
        heads = _case_arrays(group, cid, "head_grad")
        out_grads = [mx.nd.array(heads[str(i)]) for i in range(len(heads))] or None
        exe.backward(out_grads)
        grtol = case.get("grad_rtol", GRAD_RTOL)
        gatol = case.get("grad_atol", GRAD_ATOL)
        for n, g in _case_arrays(group, cid, "grad").items():
            if n in case.get("grad_skip", ()):
                continue
            got = exe.grad_dict[n]
            assert got is not None, f"{cid}: no gradient for {n}"
            _close(got.asnumpy(), g, grtol, gatol, f"{cid} grad {n}")
    for n, v in _case_arrays(group, cid, "aux_after").items():
        _close(exe.aux_dict[n].asnumpy(), v, rtol, atol, f"{cid} aux after {n}")


def _py_expr(case: dict):
    py = case["py"]
    with mx.name.NameManager():
        syms = {n: mx.sym.Variable(n) for n in case["inputs"]}
        vals = [syms[o] if isinstance(o, str) else o for o in py["operands"]]
        if "operator" in py:
            return getattr(operator, py["operator"])(*vals)
        return getattr(mx.sym, py["function"])(*vals)


@pytest.mark.parametrize("group,case", PY_CASES)
def test_python_operator(group, case):
    """Python operators on symbols create MXNet's node (op, auto name, attrs) and numbers."""
    py = case["py"]
    sym = _py_expr(case)
    node = json.loads(sym.tojson())["nodes"][-1]
    assert (node["op"], node["name"], node.get("attrs", {})) == (
        py["json_op"], py["node_name"], py["attrs"]), py["expr"]
    assert sym.list_outputs() == py["list_outputs"]
    assert sym.list_arguments() == py["list_arguments"]
    args = _case_arrays(group, case["id"], "arg")
    exe = sym.simple_bind(mx.cpu(), grad_req="null", **{n: v.shape for n, v in args.items()})
    out = exe.forward(is_train=False, **args)[0].asnumpy()
    _close(out, _case_arrays(group, case["id"], "out")["0"], FWD_RTOL, FWD_ATOL, py["expr"])
