"""Generate the "math" operator goldens with real MXNet 1.9.1.

Writes tests/fixtures/ops/math.json and math.npz in the shared operator-golden format (see the
helpers' brief): per case the op, kwargs, MXNet's list_*/infer_shape, input values, forward
outputs, head gradients and input gradients (grad_req='write').

Run from the repository root with the MXNet venv:

    MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \
        /work/mxvenv/bin/python tools/gen_ops_math_fixtures.py
"""
from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "ops")
GROUP = "math"
rng = np.random.RandomState(1234)


# ---- input generators --------------------------------------------------------------------------

def gen(kind, shape):
    """A float32 array of ``shape`` drawn according to ``kind``."""
    shape = tuple(shape)
    if kind == "u":
        return rng.uniform(-1, 1, shape)
    if kind == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if kind == "big":
        return rng.uniform(-3, 3, shape)
    if kind == "int3":  # few distinct values: ties for max/min/comparisons
        return rng.randint(-1, 2, shape).astype(np.float64)
    if kind == "bool":
        return rng.randint(0, 2, shape).astype(np.float64)
    if kind == "half":  # exact halves for round/rint, plus random values
        x = rng.uniform(-3, 3, shape)
        flat = x.reshape(-1)
        halves = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.0, 3.5])
        flat[:min(len(halves), flat.size)] = halves[:flat.size]
        return x
    if kind == "zeros_in":  # random values with exact zeros (abs/sign/relu at the kink)
        x = rng.uniform(-1, 1, shape)
        x.reshape(-1)[::5] = 0.0
        return x
    if kind == "nan":
        x = rng.uniform(0.5, 1.5, shape)
        x.reshape(-1)[::4] = np.nan
        return x
    if kind.startswith("idx"):  # idx:lo:hi integer indices as floats
        _, lo, hi = kind.split(":")
        return rng.randint(int(lo), int(hi), shape).astype(np.float64)
    raise ValueError(kind)


def case(cid, op, inputs, kwargs=None, **extra):
    """``inputs``: list of (name, shape, kind); extra: grad, head, grad_skip, auto, rtol, atol."""
    return dict(id=cid, op=op, inputs=inputs, kwargs=kwargs or {}, **extra)


CASES = []
add = CASES.append

# ---- unary -------------------------------------------------------------------------------------
S = (3, 4)
for op, kind in [("exp", "u"), ("log", "pos"), ("log2", "pos"), ("log10", "pos"),
                 ("log1p", "pos"), ("expm1", "u"), ("sqrt", "pos"), ("rsqrt", "pos"),
                 ("cbrt", "pos"), ("square", "u"), ("abs", "zeros_in"), ("sign", "zeros_in"),
                 ("relu", "zeros_in"), ("sigmoid", "big"), ("tanh", "u"), ("softsign", "big"),
                 ("negative", "u"), ("reciprocal", "pos"), ("floor", "big"), ("ceil", "big"),
                 ("round", "half"), ("rint", "half"), ("fix", "big"), ("trunc", "big"),
                 ("sin", "big"), ("cos", "big"), ("tan", "u"), ("arctan", "big"), ("sinh", "u"),
                 ("cosh", "u"), ("erf", "u"), ("ones_like", "u"), ("zeros_like", "u"),
                 ("BlockGrad", "u"), ("stop_gradient", "u")]:
    add(case(f"{op}", op, [("data", (2, 3, 4) if op in ("exp", "relu") else S, kind)]))

add(case("clip", "clip", [("data", (3, 5), "u")], dict(a_min=-0.25, a_max=0.5)))
add(case("clip_bounds", "clip", [("data", (2, 4), "int3")], dict(a_min=-1.0, a_max=0.0)))

# ---- broadcasting binaries ------------------------------------------------------------------
B = [((2, 1, 3), (4, 1)), ((3, 4), (3, 4)), ((1,), (2, 3)), ((2, 3, 1), (1, 3, 4))]
add(case("broadcast_add_a", "broadcast_add", [("lhs", B[0][0], "u"), ("rhs", B[0][1], "u")]))
add(case("broadcast_add_same", "broadcast_add", [("lhs", B[1][0], "u"), ("rhs", B[1][1], "u")]))
add(case("broadcast_add_scalarlike", "broadcast_add",
         [("lhs", B[2][0], "u"), ("rhs", B[2][1], "u")]))
add(case("broadcast_plus", "broadcast_plus", [("lhs", B[3][0], "u"), ("rhs", B[3][1], "u")]))
add(case("broadcast_sub", "broadcast_sub", [("lhs", B[3][0], "u"), ("rhs", B[3][1], "u")]))
add(case("broadcast_minus", "broadcast_minus", [("lhs", B[0][0], "u"), ("rhs", B[0][1], "u")]))
add(case("broadcast_mul", "broadcast_mul", [("lhs", B[0][0], "u"), ("rhs", B[0][1], "u")]))
add(case("broadcast_mul_b", "broadcast_mul", [("lhs", B[2][0], "u"), ("rhs", B[2][1], "u")]))
add(case("broadcast_div", "broadcast_div", [("lhs", B[3][0], "u"), ("rhs", B[3][1], "pos")]))
add(case("broadcast_power", "broadcast_power", [("lhs", B[0][0], "pos"), ("rhs", B[0][1], "u")]))
add(case("broadcast_hypot", "broadcast_hypot", [("lhs", B[3][0], "u"), ("rhs", B[3][1], "u")]))
add(case("broadcast_mod", "broadcast_mod", [("lhs", B[0][0], "big"), ("rhs", B[0][1], "pos")]))
add(case("broadcast_maximum", "broadcast_maximum",
         [("lhs", B[0][0], "u"), ("rhs", B[0][1], "u")]))
add(case("broadcast_maximum_ties", "broadcast_maximum",
         [("lhs", (3, 4), "int3"), ("rhs", (1, 4), "int3")]))
add(case("broadcast_minimum", "broadcast_minimum",
         [("lhs", B[3][0], "u"), ("rhs", B[3][1], "u")]))
add(case("broadcast_minimum_ties", "broadcast_minimum",
         [("lhs", (3, 4), "int3"), ("rhs", (3, 1), "int3")]))
for op in ["equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal",
           "logical_and", "logical_or", "logical_xor"]:
    add(case(f"broadcast_{op}", f"broadcast_{op}",
             [("lhs", (2, 1, 3), "int3"), ("rhs", (4, 3), "int3")]))

# ---- same-shape binaries and scalar forms ---------------------------------------------------
for op, kl, kr in [("elemwise_add", "u", "u"), ("elemwise_sub", "u", "u"),
                   ("elemwise_mul", "u", "u"), ("elemwise_div", "u", "pos"),
                   ("_maximum", "int3", "int3"), ("_minimum", "int3", "int3"),
                   ("_hypot", "u", "u"), ("_equal", "int3", "int3"),
                   ("_not_equal", "int3", "int3"), ("_greater", "int3", "int3"),
                   ("_greater_equal", "int3", "int3"), ("_lesser", "int3", "int3"),
                   ("_lesser_equal", "int3", "int3")]:
    add(case(op, op, [("lhs", (3, 5), kl), ("rhs", (3, 5), kr)]))
for op, sc, kind in [("_maximum_scalar", 0.2, "u"), ("_maximum_scalar", 0.0, "int3"),
                     ("_minimum_scalar", -0.1, "u"), ("_minimum_scalar", 1.0, "int3"),
                     ("_hypot_scalar", 0.5, "u"), ("_equal_scalar", 1.0, "int3"),
                     ("_not_equal_scalar", 0.0, "int3"), ("_greater_scalar", 0.0, "int3"),
                     ("_greater_equal_scalar", 0.0, "int3"), ("_lesser_scalar", 0.0, "int3"),
                     ("_lesser_equal_scalar", 1.0, "int3")]:
    add(case(f"{op}_{kind}", op, [("data", (3, 4), kind)], dict(scalar=sc)))

# ---- reductions -----------------------------------------------------------------------------
R = (2, 3, 4)
REDUCTIONS = [
    ("sum", {}, "u"), ("sum", dict(axis=1), "u"),
    ("sum", dict(axis=[0, 2], keepdims=True), "u"), ("sum", dict(axis=-1), "u"),
    ("sum", dict(axis=1, exclude=True), "u"),
    ("sum", dict(axis=[0], exclude=True, keepdims=True), "u"),
    ("sum", dict(keepdims=True), "u"), ("sum_axis", dict(axis=2), "u"),
    ("mean", {}, "u"), ("mean", dict(axis=[1, 2]), "u"),
    ("mean", dict(axis=-2, keepdims=True), "u"), ("mean", dict(axis=2, exclude=True), "u"),
    ("max", {}, "u"), ("max", dict(axis=1), "u"),
    ("max", dict(axis=[0, 2], keepdims=True), "u"), ("max", dict(axis=1), "int3"),
    ("max", {}, "int3"), ("max_axis", dict(axis=0), "u"),
    ("min", dict(axis=-1), "u"), ("min", dict(axis=2), "int3"),
    ("min", dict(axis=0, exclude=True), "u"), ("min_axis", dict(axis=1), "u"),
    ("prod", dict(axis=1), "u"), ("prod", {}, "pos"),
    ("prod", dict(axis=-1, keepdims=True), "u"),
    ("nansum", dict(axis=0), "nan"), ("nansum", {}, "nan"), ("nanprod", dict(axis=1), "nan"),
    ("norm", {}, "u"), ("norm", dict(ord=1), "u"), ("norm", dict(axis=1), "u"),
    ("norm", dict(axis=[-2, -1], keepdims=True), "u"), ("norm", dict(ord=1, axis=[0, 2]), "u"),
    ("norm", dict(axis=-1, keepdims=True), "u"),
]
for op, kwargs, kind in REDUCTIONS:
    tag = "_".join(f"{k}{'x'.join(map(str, v)) if isinstance(v, list) else v}"
                   for k, v in kwargs.items()) or "all"
    add(case(f"{op}_{tag}_{kind}", op, [("data", R, kind)], kwargs))
for op, kwargs, kind in [("argmax", {}, "u"), ("argmax", dict(axis=1), "u"),
                         ("argmax", dict(axis=-1, keepdims=True), "u"),
                         ("argmax", dict(axis=1), "int3"), ("argmax", dict(keepdims=True), "u"),
                         ("argmin", dict(axis=0), "u"), ("argmin", dict(axis=2), "int3"),
                         ("argmax_channel", {}, "u")]:
    tag = "_".join(f"{k}{v}" for k, v in kwargs.items()) or "all"
    add(case(f"{op}_{tag}_{kind}", op, [("data", R, kind)], kwargs, grad=False))

# ---- dot / batch_dot ------------------------------------------------------------------------
for cid, ls, rs, kwargs in [
        ("dot_1d_1d", (3,), (3,), {}), ("dot_2d_1d", (2, 3), (3,), {}),
        ("dot_1d_2d", (3,), (3, 4), {}), ("dot_2d_2d", (2, 3), (3, 4), {}),
        ("dot_3d_2d", (2, 3, 4), (4, 5), {}),
        ("dot_ta", (4, 2, 3), (4, 5), dict(transpose_a=True)),
        ("dot_tb", (2, 3, 4), (5, 2, 4), dict(transpose_b=True)),
        ("dot_tab", (3, 2), (4, 3), dict(transpose_a=True, transpose_b=True)),
        ("dot_ta_1d", (3, 2), (3,), dict(transpose_a=True))]:
    add(case(cid, "dot", [("lhs", ls, "u"), ("rhs", rs, "u")], kwargs))
for cid, ls, rs, kwargs in [
        ("batch_dot", (2, 3, 4), (2, 4, 5), {}),
        ("batch_dot_ta", (2, 4, 3), (2, 4, 5), dict(transpose_a=True)),
        ("batch_dot_tb", (2, 3, 4), (2, 5, 4), dict(transpose_b=True)),
        ("batch_dot_tab", (3, 4, 2), (3, 5, 4), dict(transpose_a=True, transpose_b=True))]:
    add(case(cid, "batch_dot", [("lhs", ls, "u"), ("rhs", rs, "u")], kwargs))

# ---- where, cast, one_hot, take ---------------------------------------------------------------
add(case("where_same", "where", [("condition", (3, 4), "bool"), ("x", (3, 4), "u"),
                                 ("y", (3, 4), "u")]))
add(case("where_rows", "where", [("condition", (3,), "bool"), ("x", (3, 2, 2), "u"),
                                 ("y", (3, 2, 2), "u")]))
add(case("Cast_float16", "Cast", [("data", (3, 4), "u")], dict(dtype="float16"),
         rtol=2e-3, atol=2e-3))
add(case("cast_int32", "cast", [("data", (3, 4), "big")], dict(dtype="int32"), grad=False))
add(case("one_hot", "one_hot", [("indices", (2, 3), "idx:-1:6")], dict(depth=4), grad=False))
add(case("one_hot_values", "one_hot", [("indices", (5,), "idx:0:3")],
         dict(depth=3, on_value=2.5, off_value=-1.0, dtype="int32"), grad=False))
add(case("take_clip", "take", [("a", (4, 3), "u"), ("indices", (2, 3), "idx:-2:6")],
         grad_skip=["indices"]))
add(case("take_axis1_wrap", "take", [("a", (2, 3, 2), "u"), ("indices", (4,), "idx:-4:7")],
         dict(axis=1, mode="wrap"), grad_skip=["indices"]))
add(case("take_axis_neg", "take", [("a", (2, 3, 4), "u"), ("indices", (2, 2), "idx:0:4")],
         dict(axis=-1), grad_skip=["indices"]))

# ---- broadcast_to / axis / like ---------------------------------------------------------------
add(case("broadcast_to", "broadcast_to", [("data", (1, 3, 1), "u")], dict(shape=[2, 0, 4])))
add(case("broadcast_axis", "broadcast_axis", [("data", (1, 3, 1), "u")],
         dict(axis=[0, 2], size=[2, 4])))
add(case("broadcast_axes", "broadcast_axes", [("data", (3, 1), "u")], dict(axis=1, size=5)))
add(case("broadcast_like", "broadcast_like", [("lhs", (1, 3), "u"), ("rhs", (2, 3), "u")]))
add(case("broadcast_like_axes", "broadcast_like", [("lhs", (1, 3), "u"), ("rhs", (5, 4), "u")],
         dict(lhs_axes=[0], rhs_axes=[1])))

# ---- variadic -------------------------------------------------------------------------------
add(case("add_n", "add_n", [("a0", (2, 3), "u"), ("a1", (2, 3), "u"), ("a2", (2, 3), "u")]))
add(case("ElementWiseSum", "ElementWiseSum", [("a0", (3, 2), "u"), ("a1", (3, 2), "u")]))
add(case("stack", "stack", [("a0", (2, 3), "u"), ("a1", (2, 3), "u")]))
add(case("stack_neg", "stack", [("a0", (2, 3), "u"), ("a1", (2, 3), "u"), ("a2", (2, 3), "u")],
         dict(axis=-1)))
add(case("stack_mid", "stack", [("a0", (2, 3), "u"), ("a1", (2, 3), "u")], dict(axis=1)))

# ---- loss heads (MXNet ignores the head gradient: none given) ------------------------------------
LOSS = dict(head=False, grad_skip=["op_label"])
add(case("LinearRegressionOutput_n1", "LinearRegressionOutput", [("data", (4, 1), "u")], **LOSS))
add(case("LinearRegressionOutput_scale", "LinearRegressionOutput", [("data", (4, 3), "u")],
         dict(grad_scale=0.5), **LOSS))
add(case("LinearRegressionOutput_label", "LinearRegressionOutput",
         [("data", (3, 2), "u"), ("label", (3, 2), "u")], head=False, grad_skip=["label"]))
add(case("LogisticRegressionOutput", "LogisticRegressionOutput", [("data", (4, 3), "big")],
         auto={"op_label": "bool"}, **LOSS))
add(case("LogisticRegressionOutput_n1", "LogisticRegressionOutput", [("data", (5, 1), "big")],
         dict(grad_scale=2.0), auto={"op_label": "bool"}, **LOSS))
add(case("MAERegressionOutput", "MAERegressionOutput", [("data", (4, 2), "u")],
         dict(grad_scale=3.0), **LOSS))
add(case("MakeLoss", "MakeLoss", [("data", (3, 4), "u")], dict(grad_scale=2.0), head=False))
add(case("MakeLoss_batch", "MakeLoss", [("data", (3, 4), "u")], dict(normalization="batch"),
         head=False))
add(case("MakeLoss_valid", "MakeLoss", [("data", (3, 4), "u")],
         dict(normalization="valid", valid_thresh=0.1, grad_scale=1.5), head=False))
add(case("make_loss", "make_loss", [("data", (2, 3), "u")], head=False))


# ---- runner -------------------------------------------------------------------------------------

def sym_fn(op):
    fn = getattr(mx.sym, op, None)
    return fn if fn is not None else getattr(mx.sym._internal, op)


def run_case(c, arrays):
    names = [n for n, _, _ in c["inputs"]]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in c["kwargs"].items()}
    sym = sym_fn(c["op"])(*[mx.sym.Variable(n) for n in names], name="op", **kwargs)
    shapes = {n: s for n, s, _ in c["inputs"]}
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape(**shapes)
    arguments = sym.list_arguments()
    kinds = {n: k for n, _, k in c["inputs"]}
    kinds.update(c.get("auto", {}))
    args = {}
    for name, shp in zip(arguments, arg_shapes):
        args[name] = gen(kinds.get(name, "u"), shp).astype(np.float32)
    grad = c.get("grad", True)
    head = c.get("head", True) and grad
    cid = c["id"]
    nd_args = {k: mx.nd.array(v, dtype=np.float32) for k, v in args.items()}
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items()} if grad else None
    exe = sym.bind(mx.cpu(), nd_args, args_grad=grads, grad_req="write" if grad else "null")
    outs = exe.forward(is_train=True)
    for k, v in args.items():
        arrays[f"{cid}/arg/{k}"] = v
    for i, o in enumerate(outs):
        arrays[f"{cid}/out/{i}"] = o.asnumpy()
    if grad:
        if head:
            heads = [mx.nd.array(rng.normal(size=o.shape), dtype=o.dtype) for o in outs]
            for i, h in enumerate(heads):
                arrays[f"{cid}/head_grad/{i}"] = h.asnumpy()
            exe.backward(heads)
        else:
            exe.backward()
        for k in arguments:
            arrays[f"{cid}/grad/{k}"] = exe.grad_dict[k].asnumpy()
    entry = {
        "id": cid, "op": c["op"], "kwargs": c["kwargs"], "inputs": names, "name": "op",
        "is_train": True, "arguments": arguments, "aux_states": sym.list_auxiliary_states(),
        "outputs": sym.list_outputs(), "out_shapes": [list(s) for s in out_shapes],
        "arg_shapes": [list(s) for s in arg_shapes], "aux_shapes": [list(s) for s in aux_shapes],
        "grad": grad, "grad_skip": c.get("grad_skip", []),
    }
    node = json.loads(sym.tojson())["nodes"][-1]
    entry["json_op"] = node["op"]
    entry["json_attrs"] = node.get("attrs", {})
    for key in ("rtol", "atol"):
        if key in c:
            entry[key] = c[key]
    return entry


def main() -> int:
    os.makedirs(OUT_DIR, exist_ok=True)
    arrays, cases = {}, []
    ids = set()
    for c in CASES:
        if c["id"] in ids:
            raise SystemExit(f"duplicate case id {c['id']}")
        ids.add(c["id"])
        cases.append(run_case(c, arrays))
    with open(os.path.join(OUT_DIR, f"{GROUP}.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    np.savez_compressed(os.path.join(OUT_DIR, f"{GROUP}.npz"), **arrays)
    print(f"wrote {len(cases)} cases, {len(arrays)} arrays to {OUT_DIR}/{GROUP}.*")
    return 0


if __name__ == "__main__":
    sys.exit(main())
