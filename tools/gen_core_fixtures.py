"""MXNet 1.9.1 golden fixtures for symnet's core ops and graphs (run in the MXNet venv only).

Writes tests/fixtures/ops/core.{json,npz} (op cases in the shared op-fixture format, see
tools/README.md) and tests/fixtures/graphs/* (MLP/LeNet/auto-name graphs, a checkpoint, executor
numbers, legacy JSON). ``OpFixtureWriter`` is reusable by other generators
(``from gen_core_fixtures import OpFixtureWriter``). Never imported by symnet or by the tests.

Usage: MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \
    /work/mxvenv/bin/python tools/gen_core_fixtures.py
"""
from __future__ import annotations

import json
import os
import zlib

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(REPO, "tests", "fixtures")


def seed_of(text: str) -> int:
    """Deterministic 32-bit seed from a string (crc32)."""
    return zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF


def to_mx_kwargs(kwargs: dict) -> dict:
    """JSON kwargs (lists) -> MXNet kwargs (tuples), as a user would write them."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}


def lookup_op(op: str):
    """The mx.sym function for an op name, falling back to mx.sym._internal."""
    fn = getattr(mx.sym, op, None)
    if fn is None:
        fn = getattr(mx.sym._internal, op)
    return fn


def shapes_list(shapes) -> list:
    return [list(s) for s in shapes] if shapes is not None else None


class OpFixtureWriter:
    """Collects op cases and writes <group>.json + <group>.npz."""

    def __init__(self, group: str):
        self.group = group
        self.cases: list[dict] = []
        self.arrays: dict[str, np.ndarray] = {}

    def add(self, cid: str, op: str, kwargs: dict | None = None, inputs=("data",),
            shapes: dict | None = None, name: str = "op", is_train: bool = True,
            grad: bool = True, loss: bool = False, gen: dict | None = None,
            grad_skip=(), infer_inputs=None, extra: dict | None = None,
            rtol=None, atol=None, grad_rtol=None, grad_atol=None) -> dict:
        """Build, run and record one case.

        Args:
            cid: unique case id (npz key prefix).
            op: mx.sym function name (or _internal name).
            kwargs: op params as JSON values.
            inputs: names of the variables passed positionally.
            shapes: shapes of (at least) the inputs; other args get MXNet's inferred shape.
            loss: True for loss heads: backward() gets no head gradients.
            gen: {arg_name: callable(rng, shape) -> array} overriding the default N(0, 1) values.
            grad_skip: args whose gradient is recorded but not compared.
            infer_inputs: names whose shapes infer_shape receives (default: inputs).
        """
        assert cid not in {c["id"] for c in self.cases}, cid
        kwargs = dict(kwargs or {})
        gen = gen or {}
        rng = np.random.RandomState(seed_of(self.group + "/" + cid))
        with mx.name.NameManager():
            fn = lookup_op(op)
            sym = fn(*[mx.sym.Variable(n) for n in inputs], name=name, **to_mx_kwargs(kwargs))
        args = sym.list_arguments()
        auxs = sym.list_auxiliary_states()
        outs = sym.list_outputs()
        infer_inputs = list(inputs if infer_inputs is None else infer_inputs)
        arg_shapes, out_shapes, aux_shapes = sym.infer_shape(
            **{n: tuple(shapes[n]) for n in infer_inputs})
        all_shapes = dict(zip(args, arg_shapes))
        for n, s in shapes.items():
            all_shapes[n] = tuple(s)
        node = json.loads(sym.tojson())["nodes"][-1]
        case = {"id": cid, "op": op, "kwargs": kwargs, "inputs": list(inputs), "name": name,
                "is_train": is_train, "arguments": args, "aux_states": auxs, "outputs": outs,
                "out_shapes": shapes_list(out_shapes), "arg_shapes": shapes_list(arg_shapes),
                "aux_shapes": shapes_list(aux_shapes), "grad": grad,
                "grad_skip": list(grad_skip), "json_op": node["op"],
                "json_attrs": node.get("attrs", {})}
        if infer_inputs != list(inputs):
            case["infer_inputs"] = infer_inputs
        for key, val in (("rtol", rtol), ("atol", atol), ("grad_rtol", grad_rtol),
                         ("grad_atol", grad_atol)):
            if val is not None:
                case[key] = val
        if extra:
            case.update(extra)
        exe = sym.simple_bind(mx.cpu(), grad_req="write" if grad else "null",
                              **{n: all_shapes[n] for n in args})
        for n in args:
            shape = tuple(exe.arg_dict[n].shape)
            val = gen[n](rng, shape) if n in gen else rng.randn(*shape)
            val = np.asarray(val, dtype=np.float32)
            exe.arg_dict[n][:] = val
            self.arrays[f"{cid}/arg/{n}"] = val
        for n in auxs:
            shape = tuple(exe.aux_dict[n].shape)
            val = gen[n](rng, shape) if n in gen else rng.randn(*shape)
            val = np.asarray(val, dtype=np.float32)
            exe.aux_dict[n][:] = val
            self.arrays[f"{cid}/aux/{n}"] = val
        res = exe.forward(is_train=is_train)
        for i, o in enumerate(res):
            self.arrays[f"{cid}/out/{i}"] = o.asnumpy()
        if grad:
            if loss:
                exe.backward()
            else:
                heads = []
                for i, o in enumerate(res):
                    h = rng.randn(*o.shape).astype(np.float32)
                    self.arrays[f"{cid}/head_grad/{i}"] = h
                    heads.append(mx.nd.array(h))
                exe.backward(heads)
            for n in args:
                g = exe.grad_dict[n]
                if g is not None:
                    self.arrays[f"{cid}/grad/{n}"] = g.asnumpy()
        for n in auxs:
            self.arrays[f"{cid}/aux_after/{n}"] = exe.aux_dict[n].asnumpy()
        for k, v in list(self.arrays.items()):
            if k.startswith(cid + "/") and not np.all(np.isfinite(v)):
                raise ValueError(f"non-finite values in {k}")
        self.cases.append(case)
        return case

    def write(self) -> None:
        out_dir = os.path.join(FIXTURES, "ops")
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, self.group + ".json"), "w") as f:
            head = {"generator": f"tools/gen_{self.group}_fixtures.py",
                    "mxnet_version": mx.__version__}
            f.write(json.dumps(head)[:-1] + ', "cases": [\n')
            f.write(",\n".join(json.dumps(c) for c in self.cases))
            f.write("]}\n")
        np.savez_compressed(os.path.join(out_dir, self.group + ".npz"), **self.arrays)
        print(f"{self.group}: {len(self.cases)} cases, {len(self.arrays)} arrays")


# ----------------------------------------------------------------------------------------------
# value generators (rng, shape) -> array
def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def nonzero(rng, shape):
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def labels(num_classes, ignore=None, frac=0.3):
    """Integer class labels stored as float; with `ignore`, about `frac` rows get that value."""
    def make(rng, shape):
        lab = rng.randint(0, num_classes, shape).astype(np.float64)
        if ignore is not None:
            mask = rng.uniform(size=shape) < frac
            mask.flat[0] = True
            lab[mask] = ignore
        return lab
    return make


def soft_labels(rng, shape):
    p = rng.uniform(0.1, 1.0, shape)
    return p / p.sum(axis=1, keepdims=True)


def core_cases(w: OpFixtureWriter) -> None:
    """Every core op case (odd sizes, several parameter settings each)."""
    # FullyConnected ---------------------------------------------------------------------------
    w.add("FullyConnected_h5", "FullyConnected", {"num_hidden": 5}, shapes={"data": (3, 7)})
    w.add("FullyConnected_4d_flatten", "FullyConnected", {"num_hidden": 4},
          shapes={"data": (3, 2, 3, 2)})
    w.add("FullyConnected_no_bias", "FullyConnected", {"num_hidden": 6, "no_bias": True},
          shapes={"data": (3, 7)})
    w.add("FullyConnected_flatten_false_3d", "FullyConnected",
          {"num_hidden": 6, "flatten": False}, shapes={"data": (3, 4, 5)})
    w.add("FullyConnected_flatten_false_4d_no_bias", "FullyConnected",
          {"num_hidden": 3, "flatten": False, "no_bias": True}, shapes={"data": (2, 3, 2, 5)})
    w.add("FullyConnected_flatten_true_3d", "FullyConnected", {"num_hidden": 3, "flatten": True},
          shapes={"data": (3, 4, 5)})

    # Convolution ------------------------------------------------------------------------------
    c1 = {"data": (2, 3, 11)}
    w.add("Convolution1d_k3", "Convolution", {"kernel": [3], "num_filter": 4}, shapes=c1)
    w.add("Convolution1d_k3_s2_p1", "Convolution",
          {"kernel": [3], "num_filter": 4, "stride": [2], "pad": [1]}, shapes=c1)
    w.add("Convolution1d_k3_d2_nobias", "Convolution",
          {"kernel": [3], "num_filter": 2, "dilate": [2], "no_bias": True}, shapes=c1)
    w.add("Convolution1d_k2_g3", "Convolution",
          {"kernel": [2], "num_filter": 6, "num_group": 3, "pad": [1]}, shapes=c1)
    c2 = {"data": (2, 3, 7, 9)}
    w.add("Convolution2d_k3", "Convolution", {"kernel": [3, 3], "num_filter": 4}, shapes=c2)
    w.add("Convolution2d_k3_s2_p1", "Convolution",
          {"kernel": [3, 3], "num_filter": 4, "stride": [2, 2], "pad": [1, 1]}, shapes=c2)
    w.add("Convolution2d_k3_s21_p10", "Convolution",
          {"kernel": [3, 3], "num_filter": 3, "stride": [2, 1], "pad": [1, 0]}, shapes=c2)
    w.add("Convolution2d_k3_d2", "Convolution",
          {"kernel": [3, 3], "num_filter": 4, "dilate": [2, 2]}, shapes=c2)
    w.add("Convolution2d_k3_d21_p2", "Convolution",
          {"kernel": [3, 3], "num_filter": 2, "dilate": [2, 1], "pad": [2, 1]}, shapes=c2)
    w.add("Convolution2d_k13_p01", "Convolution",
          {"kernel": [1, 3], "num_filter": 4, "pad": [0, 1]}, shapes=c2)
    w.add("Convolution2d_k31_p10", "Convolution",
          {"kernel": [3, 1], "num_filter": 4, "pad": [1, 0]}, shapes=c2)
    w.add("Convolution2d_k2_p1_even", "Convolution",
          {"kernel": [2, 2], "num_filter": 3, "pad": [1, 1]}, shapes=c2)
    w.add("Convolution2d_k1_nobias", "Convolution",
          {"kernel": [1, 1], "num_filter": 5, "no_bias": True}, shapes=c2)
    w.add("Convolution2d_k5_s3_p2", "Convolution",
          {"kernel": [5, 5], "num_filter": 2, "stride": [3, 3], "pad": [2, 2]}, shapes=c2)
    g4 = {"data": (2, 4, 7, 9)}
    w.add("Convolution2d_group2", "Convolution",
          {"kernel": [3, 3], "num_filter": 6, "num_group": 2, "pad": [1, 1]}, shapes=g4)
    w.add("Convolution2d_depthwise", "Convolution",
          {"kernel": [3, 3], "num_filter": 4, "num_group": 4, "pad": [1, 1], "no_bias": True},
          shapes=g4)
    w.add("Convolution2d_depthwise_mult2_s2", "Convolution",
          {"kernel": [3, 3], "num_filter": 8, "num_group": 4, "stride": [2, 2], "pad": [1, 1]},
          shapes=g4)
    w.add("Convolution2d_workspace_layout", "Convolution",
          {"kernel": [3, 3], "num_filter": 2, "workspace": 512, "layout": "NCHW"}, shapes=c2)
    c3 = {"data": (2, 2, 5, 6, 7)}
    w.add("Convolution3d_k3", "Convolution", {"kernel": [3, 3, 3], "num_filter": 3}, shapes=c3)
    w.add("Convolution3d_k3_s2_p1", "Convolution",
          {"kernel": [3, 3, 3], "num_filter": 3, "stride": [2, 2, 2], "pad": [1, 1, 1]},
          shapes=c3)
    w.add("Convolution3d_k213_nobias", "Convolution",
          {"kernel": [2, 1, 3], "num_filter": 2, "pad": [0, 0, 1], "no_bias": True}, shapes=c3)
    w.add("Convolution3d_group2_d2", "Convolution",
          {"kernel": [2, 2, 2], "num_filter": 4, "num_group": 2, "dilate": [2, 2, 2]},
          shapes=c3)

    # Pooling ----------------------------------------------------------------------------------
    p2 = {"data": (2, 3, 7, 9)}
    for pt in ("max", "avg", "sum"):
        w.add(f"Pooling2d_{pt}_k3_s2", "Pooling",
              {"kernel": [3, 3], "stride": [2, 2], "pool_type": pt}, shapes=p2)
        w.add(f"Pooling2d_{pt}_k3_s2_full", "Pooling",
              {"kernel": [3, 3], "stride": [2, 2], "pool_type": pt,
               "pooling_convention": "full"}, shapes=p2)
        w.add(f"Pooling2d_{pt}_k3_s2_p1", "Pooling",
              {"kernel": [3, 3], "stride": [2, 2], "pad": [1, 1], "pool_type": pt}, shapes=p2)
        w.add(f"Pooling2d_{pt}_global", "Pooling",
              {"kernel": [3, 3], "global_pool": True, "pool_type": pt}, shapes=p2)
    w.add("Pooling2d_max_k2_stride_default", "Pooling", {"kernel": [2, 2], "pool_type": "max"},
          shapes=p2)
    w.add("Pooling2d_avg_k3_stride_default", "Pooling", {"kernel": [3, 3], "pool_type": "avg"},
          shapes=p2)
    w.add("Pooling2d_default_pool_type", "Pooling", {"kernel": [2, 2], "stride": [2, 2]},
          shapes=p2)
    w.add("Pooling2d_max_k2_s2_even", "Pooling",
          {"kernel": [2, 2], "stride": [2, 2], "pool_type": "max"}, shapes={"data": (2, 3, 8, 6)})
    # Tied windows (small integers): MXNet sends a window's gradient to its first maximum in
    # row-major order; symnet's reshape pooling (CPU passes) must do the same.
    w.add("Pooling2d_max_k2_s2_ties", "Pooling",
          {"kernel": [2, 2], "stride": [2, 2], "pool_type": "max"}, shapes={"data": (2, 3, 4, 6)},
          gen={"data": lambda rng, shape: rng.randint(0, 3, shape).astype(np.float64)})
    w.add("Pooling2d_max_k23_s12_p11", "Pooling",
          {"kernel": [2, 3], "stride": [1, 2], "pad": [1, 1], "pool_type": "max"}, shapes=p2)
    for cip in (True, False):
        tag = "cip" if cip else "nocip"
        w.add(f"Pooling2d_avg_k3_s2_p1_{tag}", "Pooling",
              {"kernel": [3, 3], "stride": [2, 2], "pad": [1, 1], "pool_type": "avg",
               "count_include_pad": cip}, shapes=p2)
        w.add(f"Pooling2d_avg_k3_s2_p1_full_{tag}", "Pooling",
              {"kernel": [3, 3], "stride": [2, 2], "pad": [1, 1], "pool_type": "avg",
               "pooling_convention": "full", "count_include_pad": cip}, shapes=p2)
        w.add(f"Pooling2d_avg_k2_s2_full_{tag}", "Pooling",
              {"kernel": [2, 2], "stride": [2, 2], "pool_type": "avg",
               "pooling_convention": "full", "count_include_pad": cip}, shapes=p2)
    w.add("Pooling2d_max_k3_s2_p1_full", "Pooling",
          {"kernel": [3, 3], "stride": [2, 2], "pad": [1, 1], "pool_type": "max",
           "pooling_convention": "full"}, shapes=p2)
    # lp pooling: positive inputs (p=1,3 on negatives is not a norm; MXNet does not take |x|)
    for pv in (1, 2, 3):
        w.add(f"Pooling2d_lp{pv}_k3_s2", "Pooling",
              {"kernel": [3, 3], "stride": [2, 2], "pool_type": "lp", "p_value": pv},
              shapes=p2, gen={"data": positive})
    w.add("Pooling2d_lp2_k2_s1_mixed_sign", "Pooling",
          {"kernel": [2, 2], "stride": [1, 1], "pool_type": "lp", "p_value": 2}, shapes=p2,
          gen={"data": nonzero})
    w.add("Pooling2d_lp2_global", "Pooling",
          {"kernel": [1, 1], "global_pool": True, "pool_type": "lp", "p_value": 2}, shapes=p2,
          gen={"data": positive})
    w.add("Pooling2d_lp3_k3_s2_p1", "Pooling",
          {"kernel": [3, 3], "stride": [2, 2], "pad": [1, 1], "pool_type": "lp", "p_value": 3},
          shapes=p2, gen={"data": positive})
    p1 = {"data": (2, 3, 11)}
    w.add("Pooling1d_max_k3_s2", "Pooling", {"kernel": [3], "stride": [2], "pool_type": "max"},
          shapes=p1)
    w.add("Pooling1d_avg_k2_s2_p1", "Pooling",
          {"kernel": [2], "stride": [2], "pad": [1], "pool_type": "avg"}, shapes=p1)
    w.add("Pooling1d_sum_k3_full", "Pooling",
          {"kernel": [3], "stride": [2], "pool_type": "sum", "pooling_convention": "full"},
          shapes=p1)
    w.add("Pooling1d_max_global", "Pooling", {"kernel": [2], "global_pool": True}, shapes=p1)
    # pooling_convention='same' is not recorded: MXNet 1.9.1's infer_shape fails for it
    # (tuple index error) unless pad is given, so no user graph can rely on it.
    p3 = {"data": (2, 2, 5, 6, 7)}
    w.add("Pooling3d_max_k2_s2", "Pooling",
          {"kernel": [2, 2, 2], "stride": [2, 2, 2], "pool_type": "max"}, shapes=p3)
    w.add("Pooling3d_avg_k3_s2_p1", "Pooling",
          {"kernel": [3, 3, 3], "stride": [2, 2, 2], "pad": [1, 1, 1], "pool_type": "avg"},
          shapes=p3)
    w.add("Pooling3d_avg_k3_s2_p1_nocip_full", "Pooling",
          {"kernel": [3, 3, 3], "stride": [2, 2, 2], "pad": [1, 1, 1], "pool_type": "avg",
           "count_include_pad": False, "pooling_convention": "full"}, shapes=p3)
    w.add("Pooling3d_avg_global", "Pooling",
          {"kernel": [1, 1, 1], "global_pool": True, "pool_type": "avg"}, shapes=p3)
    w.add("Pooling3d_sum_k2_stride_default", "Pooling",
          {"kernel": [2, 3, 2], "pool_type": "sum"}, shapes=p3)

    # Activation / Flatten / Dropout -----------------------------------------------------------
    for act in ("relu", "sigmoid", "tanh", "softrelu", "softsign"):
        w.add(f"Activation_{act}", "Activation", {"act_type": act}, shapes={"data": (3, 4, 5)})
    w.add("Activation_relu_4d", "Activation", {"act_type": "relu"},
          shapes={"data": (2, 3, 3, 5)})
    w.add("Flatten_4d", "Flatten", {}, shapes={"data": (2, 3, 4, 5)})
    w.add("Flatten_3d", "Flatten", {}, shapes={"data": (3, 1, 7)})
    w.add("Flatten_2d", "Flatten", {}, shapes={"data": (3, 7)})
    w.add("flatten_lower_alias", "flatten", {}, shapes={"data": (2, 3, 5)})
    w.add("Dropout_inference", "Dropout", {"p": 0.5}, shapes={"data": (3, 4, 5)},
          is_train=False, grad=False)
    w.add("Dropout_inference_p03", "Dropout", {"p": 0.3}, shapes={"data": (2, 7)},
          is_train=False, grad=False)
    w.add("Dropout_train_p0", "Dropout", {"p": 0.0}, shapes={"data": (3, 5)})

    # SoftmaxOutput ----------------------------------------------------------------------------
    sd = {"data": (5, 4)}
    lab4 = {"op_label": labels(4)}
    for norm in ("null", "batch", "valid"):
        w.add(f"SoftmaxOutput_norm_{norm}", "SoftmaxOutput", {"normalization": norm},
              shapes=sd, loss=True, gen=lab4, grad_skip=["op_label"])
        w.add(f"SoftmaxOutput_norm_{norm}_ignore", "SoftmaxOutput",
              {"normalization": norm, "use_ignore": True, "ignore_label": 2}, shapes=sd,
              loss=True, gen={"op_label": labels(4, ignore=2)}, grad_skip=["op_label"])
        w.add(f"SoftmaxOutput_norm_{norm}_multi_output", "SoftmaxOutput",
              {"normalization": norm, "multi_output": True}, shapes={"data": (2, 4, 3, 3)},
              loss=True, gen={"op_label": labels(4)}, grad_skip=["op_label"])
        w.add(f"SoftmaxOutput_norm_{norm}_multi_output_ignore", "SoftmaxOutput",
              {"normalization": norm, "multi_output": True, "use_ignore": True,
               "ignore_label": 0}, shapes={"data": (2, 3, 5)}, loss=True,
              gen={"op_label": labels(3, ignore=0)}, grad_skip=["op_label"])
    w.add("SoftmaxOutput_valid_label_matches_ignore_no_use", "SoftmaxOutput",
          {"normalization": "valid", "ignore_label": 1}, shapes=sd, loss=True,
          gen={"op_label": labels(4, ignore=1)}, grad_skip=["op_label"])
    w.add("SoftmaxOutput_default_ignore_minus1", "SoftmaxOutput",
          {"use_ignore": True}, shapes=sd, loss=True,
          gen={"op_label": labels(4, ignore=-1)}, grad_skip=["op_label"])
    w.add("SoftmaxOutput_grad_scale", "SoftmaxOutput", {"grad_scale": 0.5}, shapes=sd,
          loss=True, gen=lab4, grad_skip=["op_label"])
    w.add("SoftmaxOutput_grad_scale_batch", "SoftmaxOutput",
          {"grad_scale": 3.0, "normalization": "batch"}, shapes=sd, loss=True, gen=lab4,
          grad_skip=["op_label"])
    w.add("SoftmaxOutput_4d_flattened", "SoftmaxOutput", {}, shapes={"data": (3, 2, 2, 2)},
          loss=True, gen={"op_label": labels(8)}, grad_skip=["op_label"])
    w.add("SoftmaxOutput_preserve_shape", "SoftmaxOutput", {"preserve_shape": True},
          shapes={"data": (2, 3, 4)}, loss=True, gen={"op_label": labels(4)},
          grad_skip=["op_label"])
    w.add("SoftmaxOutput_preserve_shape_batch", "SoftmaxOutput",
          {"preserve_shape": True, "normalization": "batch"}, shapes={"data": (2, 3, 4)},
          loss=True, gen={"op_label": labels(4)}, grad_skip=["op_label"])
    w.add("SoftmaxOutput_smooth_alpha", "SoftmaxOutput", {"smooth_alpha": 0.1}, shapes=sd,
          loss=True, gen=lab4, grad_skip=["op_label"])
    w.add("SoftmaxOutput_smooth_alpha_multi_output", "SoftmaxOutput",
          {"smooth_alpha": 0.2, "multi_output": True}, shapes={"data": (2, 4, 3)}, loss=True,
          gen={"op_label": labels(4)}, grad_skip=["op_label"])
    w.add("SoftmaxOutput_soft_label", "SoftmaxOutput", {}, inputs=("data", "label"),
          shapes={"data": (4, 5), "label": (4, 5)}, loss=True, gen={"label": soft_labels},
          grad_skip=["label"])
    w.add("SoftmaxOutput_soft_label_grad_scale", "SoftmaxOutput",
          {"grad_scale": 2.0}, inputs=("data", "label"),
          shapes={"data": (4, 5), "label": (4, 5)}, loss=True, gen={"label": soft_labels},
          grad_skip=["label"])
    w.add("SoftmaxOutput_label_positional", "SoftmaxOutput", {"normalization": "batch"},
          inputs=("data", "label"), shapes={"data": (5, 4), "label": (5,)}, loss=True,
          gen={"label": labels(4)}, grad_skip=["label"], infer_inputs=["data"])
    w.add("SoftmaxOutput_out_grad", "SoftmaxOutput", {"out_grad": True}, shapes=sd,
          gen=lab4, grad_skip=["op_label"])
    w.add("Softmax_alias", "Softmax", {}, shapes=sd, loss=True, gen=lab4,
          grad_skip=["op_label"])
    w.add("SoftmaxOutput_inference", "SoftmaxOutput", {}, shapes=sd, is_train=False,
          grad=False, gen=lab4)

    # softmax / log_softmax --------------------------------------------------------------------
    for fn in ("softmax", "log_softmax"):
        w.add(f"{fn}_default", fn, {}, shapes={"data": (3, 4, 5)})
        w.add(f"{fn}_axis1", fn, {"axis": 1}, shapes={"data": (3, 4, 5)})
        w.add(f"{fn}_axis0", fn, {"axis": 0}, shapes={"data": (3, 4, 5)})
        w.add(f"{fn}_axis_neg2_temp2", fn, {"axis": -2, "temperature": 2.0},
              shapes={"data": (3, 4, 5)})
        w.add(f"{fn}_temp05", fn, {"temperature": 0.5}, shapes={"data": (4, 7)})

    # arithmetic from Python operators ---------------------------------------------------------
    ab = {"a": (3, 4), "b": (3, 4)}
    binary = [
        # id, op name as called here, python expression, operator name, json op, gens
        ("add", "elemwise_add", "a + b", "add", {}),
        ("sub", "elemwise_sub", "a - b", "sub", {}),
        ("mul", "elemwise_mul", "a * b", "mul", {}),
        ("div", "elemwise_div", "a / b", "truediv", {"b": nonzero}),
        ("pow", "_power", "a ** b", "pow", {"a": positive}),
    ]
    for cid, op, expr, pyop, gen in binary:
        w.add(f"binary_{cid}", op, {}, inputs=("a", "b"), shapes=ab, gen=gen,
              extra={"py": {"expr": expr, "operator": pyop, "operands": ["a", "b"]}})
    for op, gen in (("_plus", {}), ("_minus", {}), ("_mul", {}), ("_div", {"b": nonzero}),
                    ("_Plus", {}), ("_Minus", {}), ("_Mul", {}), ("_Div", {"b": nonzero}),
                    ("_Power", {"a": positive}), ("_maximum", {}), ("_minimum", {}),
                    ("_Maximum", {}), ("_Minimum", {})):
        w.add(f"internal{op}", op, {}, inputs=("a", "b"), shapes=ab, gen=gen)
    w.add("maximum_sym_sym", "_maximum", {}, inputs=("a", "b"), shapes=ab,
          extra={"py": {"expr": "mx.sym.maximum(a, b)", "function": "maximum",
                        "operands": ["a", "b"]}})
    w.add("minimum_sym_sym", "_minimum", {}, inputs=("a", "b"), shapes=ab,
          extra={"py": {"expr": "mx.sym.minimum(a, b)", "function": "minimum",
                        "operands": ["a", "b"]}})
    a = {"a": (3, 5)}
    scalar = [
        # id, json op, scalar, python expression, operator, operands, gens
        ("plus", "_plus_scalar", 2.0, "a + 2.0", "add", ["a", 2.0], {}),
        ("rplus", "_plus_scalar", 2.0, "2.0 + a", "add", [2.0, "a"], {}),
        ("plus_int", "_plus_scalar", 3, "a + 3", "add", ["a", 3], {}),
        ("minus", "_minus_scalar", 1.5, "a - 1.5", "sub", ["a", 1.5], {}),
        ("rminus", "_rminus_scalar", 1.0, "1.0 - a", "sub", [1.0, "a"], {}),
        ("mul", "_mul_scalar", 3.0, "a * 3.0", "mul", ["a", 3.0], {}),
        ("rmul", "_mul_scalar", 0.5, "0.5 * a", "mul", [0.5, "a"], {}),
        ("neg", "_mul_scalar", -1.0, "-a", "neg", ["a"], {}),
        ("div", "_div_scalar", 4.0, "a / 4.0", "truediv", ["a", 4.0], {}),
        ("rdiv", "_rdiv_scalar", 2.0, "2.0 / a", "truediv", [2.0, "a"], {"a": nonzero}),
        ("power", "_power_scalar", 2.0, "a ** 2.0", "pow", ["a", 2.0], {}),
        ("power_frac", "_power_scalar", 0.5, "a ** 0.5", "pow", ["a", 0.5], {"a": positive}),
        ("power_int3", "_power_scalar", 3, "a ** 3", "pow", ["a", 3], {}),
        ("rpower", "_rpower_scalar", 2.0, "2.0 ** a", "pow", [2.0, "a"], {}),
        ("rpower_e", "_rpower_scalar", 1.5, "1.5 ** a", "pow", [1.5, "a"], {}),
    ]
    for cid, op, sc, expr, pyop, operands, gen in scalar:
        w.add(f"scalar_{cid}", op, {"scalar": sc}, inputs=("a",), shapes=a, gen=gen,
              extra={"py": {"expr": expr, "operator": pyop, "operands": operands}})
    w.add("scalar_maximum", "_maximum_scalar", {"scalar": 0.2}, inputs=("a",), shapes=a,
          extra={"py": {"expr": "mx.sym.maximum(a, 0.2)", "function": "maximum",
                        "operands": ["a", 0.2]}})
    w.add("scalar_minimum", "_minimum_scalar", {"scalar": -0.1}, inputs=("a",), shapes=a,
          extra={"py": {"expr": "mx.sym.minimum(-0.1, a)", "function": "minimum",
                        "operands": [-0.1, "a"]}})
    for cid, op in (("PlusScalar", "_PlusScalar"), ("MinusScalar", "_MinusScalar"),
                    ("RMinusScalar", "_RMinusScalar"), ("MulScalar", "_MulScalar"),
                    ("DivScalar", "_DivScalar"), ("RDivScalar", "_RDivScalar"),
                    ("PowerScalar", "_PowerScalar"), ("RPowerScalar", "_RPowerScalar")):
        gen = {"a": positive}
        w.add(f"internal_{cid}", op, {"scalar": 1.5}, inputs=("a",), shapes=a, gen=gen)


def record_python_exprs(w: OpFixtureWriter) -> None:
    """For cases with a "py" entry: the node MXNet creates from the Python expression.

    Built inside a fresh NameManager so the auto node name is the first of its kind.
    """
    import operator
    for case in w.cases:
        py = case.get("py")
        if not py:
            continue
        with mx.name.NameManager():
            syms = {n: mx.sym.Variable(n) for n in case["inputs"]}
            vals = [syms[o] if isinstance(o, str) else o for o in py["operands"]]
            if "operator" in py:
                res = getattr(operator, py["operator"])(*vals)
            else:
                res = getattr(mx.sym, py["function"])(*vals)
        node = json.loads(res.tojson())["nodes"][-1]
        py["json_op"] = node["op"]
        py["node_name"] = node["name"]
        py["attrs"] = node.get("attrs", {})
        py["list_outputs"] = res.list_outputs()
        py["list_arguments"] = res.list_arguments()


# ----------------------------------------------------------------------------------------------
# graph-level goldens (tests/fixtures/graphs)
GRAPHS = os.path.join(FIXTURES, "graphs")


def _import_shared():
    """tests/zoo_params.py and tests/fixtures/graphs/builders.py, shared with the tests."""
    import sys
    for p in (os.path.join(REPO, "tests"), GRAPHS):
        if p not in sys.path:
            sys.path.insert(0, p)
    import builders
    import zoo_params
    return builders, zoo_params


def _type_name(t) -> str | None:
    return None if t is None else np.dtype(t).name


def describe_symbol(sym, shape_kwargs: dict | None, type_kwargs: dict | None) -> dict:
    """Everything a symnet graph test compares, as MXNet reports it."""
    internals = sym.get_internals()
    children = sym.get_children()
    d = {
        "list_arguments": sym.list_arguments(),
        "list_outputs": sym.list_outputs(),
        "list_auxiliary_states": sym.list_auxiliary_states(),
        "list_inputs": sym.list_inputs(),
        "internals_outputs": internals.list_outputs(),
        "children_outputs": None if children is None else children.list_outputs(),
        "attr_dict": sym.attr_dict(),
        "list_attr": sym.list_attr(),
        "internals_list_attr": {n: internals[n].list_attr() for n in internals.list_outputs()},
        "len": len(sym),
        "tojson": sym.tojson(),
    }
    if shape_kwargs is not None:
        a, o, x = sym.infer_shape(**{k: tuple(v) for k, v in shape_kwargs.items()})
        d["infer_shape"] = {"kwargs": shape_kwargs, "arg_shapes": shapes_list(a),
                            "out_shapes": shapes_list(o), "aux_shapes": shapes_list(x)}
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, o, x = sym.infer_shape()
    d["infer_shape_no_kwargs"] = {"arg_shapes": shapes_list(a), "out_shapes": shapes_list(o),
                                  "aux_shapes": shapes_list(x)}
    a, o, x = sym.infer_shape_partial()
    d["infer_shape_partial_no_kwargs"] = {"arg_shapes": shapes_list(a),
                                          "out_shapes": shapes_list(o),
                                          "aux_shapes": shapes_list(x)}
    if type_kwargs is not None:
        a, o, x = sym.infer_type(**type_kwargs)
        d["infer_type"] = {"kwargs": type_kwargs,
                           "arg_types": None if a is None else [_type_name(t) for t in a],
                           "out_types": None if o is None else [_type_name(t) for t in o],
                           "aux_types": None if x is None else [_type_name(t) for t in x]}
    return d


def _dump(name: str, obj) -> None:
    with open(os.path.join(GRAPHS, name), "w") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.write("\n")


LEGACY_08 = """{
  "nodes": [
    {"op": "null", "param": {}, "name": "data", "inputs": [], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "fc1_weight", "inputs": [], "backward_source_id": -1,
     "attr": {"lr_mult": "2.0", "wd_mult": "0.0"}},
    {"op": "null", "param": {}, "name": "fc1_bias", "inputs": [], "backward_source_id": -1},
    {"op": "FullyConnected", "param": {"no_bias": "False", "num_hidden": "16"}, "name": "fc1",
     "inputs": [[0, 0], [1, 0], [2, 0]], "backward_source_id": -1},
    {"op": "Activation", "param": {"act_type": "relu"}, "name": "relu1", "inputs": [[3, 0]],
     "backward_source_id": -1, "attr": {"ctx_group": "stage1"}},
    {"op": "null", "param": {}, "name": "fc2_weight", "inputs": [], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "fc2_bias", "inputs": [], "backward_source_id": -1},
    {"op": "FullyConnected", "param": {"no_bias": "False", "num_hidden": "10"}, "name": "fc2",
     "inputs": [[4, 0], [5, 0], [6, 0]], "backward_source_id": -1},
    {"op": "null", "param": {}, "name": "softmax_label", "inputs": [], "backward_source_id": -1},
    {"op": "SoftmaxOutput", "param": {"grad_scale": "1", "ignore_label": "-1",
     "multi_output": "False", "normalization": "null", "use_ignore": "False"},
     "name": "softmax", "inputs": [[7, 0], [8, 0]], "backward_source_id": -1}
  ],
  "arg_nodes": [0, 1, 2, 5, 6, 8],
  "heads": [[9, 0]]
}
"""


def graph_fixtures() -> None:
    builders, zoo_params = _import_shared()
    os.makedirs(GRAPHS, exist_ok=True)
    f32 = {"data": "float32"}
    specs = {
        "mlp": ({"data": [100, 784]}, f32),
        "lenet": ({"data": [100, 1, 28, 28]}, f32),
        "autonames": ({"data": [4, 6]}, f32),
        "attrs": ({}, {}),
        "variable_init": (None, None),
    }
    for gname, (shape_kwargs, type_kwargs) in specs.items():
        sym = builders.BUILDERS[gname](mx)
        d = describe_symbol(sym, shape_kwargs, type_kwargs)
        d["builder"] = f"tests/fixtures/graphs/builders.py:{gname}"
        _dump(f"{gname}.json", d)

    # composition / op without data / indexing, recorded on the autonames graph's pieces
    with mx.name.NameManager():
        fc = mx.sym.FullyConnected(num_hidden=3, name="fc")
        x = mx.sym.Variable("x")
        composed = fc(fc_data=x)
        auto_no_data = mx.sym.Activation(act_type="relu")
    internals = builders.mlp(mx).get_internals()
    _dump("misc.json", {
        "op_without_data_arguments": fc.list_arguments(),
        "composed_arguments": composed.list_arguments(),
        "composed_tojson": composed.tojson(),
        "auto_no_data_arguments": auto_no_data.list_arguments(),
        "mlp_internals_by_name_fc2_output": internals["fc2_output"].list_outputs(),
        "mlp_internals_index_3": internals[3].list_outputs(),
        "mlp_internals_len": len(internals),
    })

    legacy_files = {"legacy-0.8-symbol.json": LEGACY_08}
    modern = json.loads(builders.mlp(mx).tojson())
    del modern["attrs"]
    legacy_files["noattrs-symbol.json"] = json.dumps(modern, indent=2)
    legacy = {}
    for fname, text in legacy_files.items():
        with open(os.path.join(GRAPHS, fname), "w") as f:
            f.write(text)
        sym = mx.sym.load(os.path.join(GRAPHS, fname))
        shape = [2, 7] if fname.startswith("legacy") else [2, 784]
        legacy[fname] = describe_symbol(sym, {"data": shape}, {"data": "float32"})
        legacy[fname]["load_json_equal"] = (mx.sym.load_json(text).tojson()
                                            == sym.tojson())
    _dump("legacy.json", legacy)

    executor_fixtures(builders, zoo_params)
    ndarray_files()


def executor_fixtures(builders, zoo_params) -> None:
    """Checkpoint of a small-input MLP + executor numbers for the MLP and LeNet."""
    arrays: dict[str, np.ndarray] = {}
    meta: dict = {}
    # -- MLP on 20 input features: checkpoint written by MXNet
    mlp = builders.mlp(mx)
    n, feat = 8, 20
    arg_shapes, _, _ = mlp.infer_shape(data=(n, feat))
    shapes = dict(zip(mlp.list_arguments(), arg_shapes))
    params = zoo_params.make_params(mlp.list_arguments(), arg_shapes,
                                    skip=("data", "softmax_label"))
    mx.model.save_checkpoint(os.path.join(GRAPHS, "mlp20"), 0, mlp,
                             {k: mx.nd.array(v) for k, v in params.items()}, {})
    batches = []
    for seed in (1, 2):
        x = zoo_params.make_input((n, feat), seed=seed)
        y = np.random.RandomState(100 + seed).randint(0, 10, n).astype(np.float32)
        batches.append((x, y))
        arrays[f"mlp/batch{seed}/data"] = x
        arrays[f"mlp/batch{seed}/softmax_label"] = y
    meta["mlp"] = {"checkpoint": "mlp20", "epoch": 0, "data_shape": [n, feat],
                   "param_recipe": "tests/zoo_params.py make_params",
                   "arguments": mlp.list_arguments()}

    def bind(grad_req):
        exe = mlp.simple_bind(mx.cpu(), grad_req=grad_req, **shapes)
        for k, v in params.items():
            exe.arg_dict[k][:] = v
        return exe

    exe = bind("write")
    x, y = batches[0]
    out = exe.forward(is_train=False, data=x, softmax_label=y)[0].asnumpy()
    arrays["mlp/out_infer"] = out
    exe.forward(is_train=True, data=x, softmax_label=y)
    arrays["mlp/out_train"] = exe.outputs[0].asnumpy()
    exe.backward()
    for k, g in exe.grad_dict.items():
        arrays[f"mlp/grad_write/{k}"] = g.asnumpy()
    exe = bind("add")
    for xb, yb in batches:
        exe.forward(is_train=True, data=xb, softmax_label=yb)
        exe.backward()
    for k, g in exe.grad_dict.items():
        arrays[f"mlp/grad_add/{k}"] = g.asnumpy()
    req = {k: "write" for k in mlp.list_arguments()}
    # MXNet compat: with MKLDNN, FullyConnected skips the bias gradient when the weight's
    # grad_req is 'null' (bias grad stays 0), so only a bias is switched off here.
    req.update({"data": "null", "softmax_label": "null", "fc2_bias": "null"})
    exe = bind(req)
    exe.forward(is_train=True, data=x, softmax_label=y)
    exe.backward()
    for k, g in exe.grad_dict.items():
        if g is not None:
            np.testing.assert_allclose(g.asnumpy(), arrays[f"mlp/grad_write/{k}"], rtol=1e-5,
                                       atol=1e-7, err_msg=k)
    meta["mlp"]["grad_req_dict"] = req
    meta["mlp"]["grad_req_dict_none"] = sorted(k for k, g in exe.grad_dict.items() if g is None)
    for k, g in exe.grad_dict.items():
        if g is not None:
            arrays[f"mlp/grad_dict_req/{k}"] = g.asnumpy()

    # -- LeNet: params from the recipe (not stored), forward + gradients of a fixed batch
    lenet = builders.lenet(mx)
    n = 4
    arg_shapes, _, _ = lenet.infer_shape(data=(n, 1, 28, 28))
    lshapes = dict(zip(lenet.list_arguments(), arg_shapes))
    lparams = zoo_params.make_params(lenet.list_arguments(), arg_shapes,
                                     skip=("data", "softmax_label"))
    x = zoo_params.make_input((n, 1, 28, 28), seed=3)
    y = np.random.RandomState(103).randint(0, 10, n).astype(np.float32)
    arrays["lenet/data"] = x
    arrays["lenet/softmax_label"] = y
    exe = lenet.simple_bind(mx.cpu(), grad_req="write", **lshapes)
    for k, v in lparams.items():
        exe.arg_dict[k][:] = v
    arrays["lenet/out_infer"] = exe.forward(is_train=False, data=x,
                                            softmax_label=y)[0].asnumpy()
    exe.forward(is_train=True, data=x, softmax_label=y)
    exe.backward()
    big = {"fc1_weight", "conv2_weight"}
    for k, g in exe.grad_dict.items():
        g = g.asnumpy()
        if k in big:
            arrays[f"lenet/grad_slice/{k}"] = g.reshape(g.shape[0], -1)[:6, :40]
            arrays[f"lenet/grad_norm/{k}"] = np.array(np.linalg.norm(g), np.float32)
        else:
            arrays[f"lenet/grad/{k}"] = g
    meta["lenet"] = {"data_shape": [n, 1, 28, 28], "param_recipe": "tests/zoo_params.py",
                     "input_recipe": "zoo_params.make_input(shape, seed=3)",
                     "grad_slice": "g.reshape(g.shape[0], -1)[:6, :40]",
                     "big_grads": sorted(big)}
    _dump("executor.json", meta)
    np.savez_compressed(os.path.join(GRAPHS, "executor.npz"), **arrays)


def ndarray_files() -> None:
    """mx.nd.save files of several dtypes, as a dict and as a list, with their values."""
    rng = np.random.RandomState(7)
    vals = {
        "f32": rng.randn(2, 3).astype(np.float32),
        "f64": rng.randn(3).astype(np.float64),
        "f16": rng.randn(2, 2).astype(np.float16),
        "u8": rng.randint(0, 255, (4,)).astype(np.uint8),
        "i32": rng.randint(-100, 100, (2, 1, 2)).astype(np.int32),
        "i8": rng.randint(-100, 100, (3,)).astype(np.int8),
        "i64": rng.randint(-100, 100, (2,)).astype(np.int64),
        "scalar_like": np.array([1.5], np.float32),
    }
    mx.nd.save(os.path.join(GRAPHS, "ndarrays_dict.params"),
               {k: mx.nd.array(v, dtype=v.dtype) for k, v in vals.items()})
    mx.nd.save(os.path.join(GRAPHS, "ndarrays_list.params"),
               [mx.nd.array(vals["f32"]), mx.nd.array(vals["i32"], dtype=np.int32)])
    np.savez_compressed(os.path.join(GRAPHS, "ndarrays.npz"), **vals)


def main() -> None:
    w = OpFixtureWriter("core")
    core_cases(w)
    record_python_exprs(w)
    w.write()
    graph_fixtures()


if __name__ == "__main__":
    main()
