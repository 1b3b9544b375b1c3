"""Generate golden fixtures for optimizers, lr schedulers and initializers with MXNet 1.9.1.

Run with the MXNet oracle venv (never from tests)::

    MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \
        /work/mxvenv/bin/python tools/gen_optim_fixtures.py

Writes ``tests/fixtures/optim/optim.json`` (case descriptions, scheduler sequences, initializer
strings and bounds) and ``tests/fixtures/optim/optim.npz`` (initial weights, gradients and the
weights after every step).

Optimizer cases call the updater the way FeedForward/Module do: ``updater(indices, grads,
weights)`` with all parameters at once (integer indices, optional ``param_idx2name``); cases
with ``"call": "single"`` call ``updater(i, grad, weight)`` one parameter at a time. Each step
gets fresh gradient copies (AdaDelta rescales its gradient argument in place).
"""
from __future__ import annotations

import json
import os
import warnings

import numpy as np

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")

import mxnet as mx  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                       "optim")

PARAMS = [("fc1_weight", (3, 4)), ("fc1_bias", (3,)), ("bn_gamma", (3,))]
STEPS = 6

SCHED_CLASSES = {
    "FactorScheduler": mx.lr_scheduler.FactorScheduler,
    "MultiFactorScheduler": mx.lr_scheduler.MultiFactorScheduler,
    "PolyScheduler": mx.lr_scheduler.PolyScheduler,
    "CosineScheduler": mx.lr_scheduler.CosineScheduler,
}


def make_sched(spec):
    return SCHED_CLASSES[spec["type"]](**spec["kwargs"])


# (id, optimizer name, kwargs, options)
# options: idx2name (bool), lr_mult / wd_mult (set_*_mult dicts), sched (scheduler spec),
#          sym (True: build a symbol with __lr_mult__/__wd_mult__ attrs), call ('list'|'single')
OPT_CASES = [
    ("sgd_plain", "sgd", {"learning_rate": 0.1}, {}),
    ("sgd_mom_wd", "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01},
     {"idx2name": True}),
    ("sgd_mom_wd_single", "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01},
     {"idx2name": True, "call": "single"}),
    ("sgd_clip_rescale", "sgd", {"learning_rate": 0.05, "clip_gradient": 0.3, "rescale_grad": 0.5,
                                 "wd": 0.02}, {}),
    ("sgd_mom_clip_mult", "sgd", {"learning_rate": 0.1, "momentum": 0.8, "clip_gradient": 0.4,
                                  "wd": 0.05},
     {"idx2name": True, "lr_mult": {"fc1_bias": 2.0}, "wd_mult": {"bn_gamma": 0.5}}),
    ("sgd_sched_factor", "sgd", {"momentum": 0.9},
     {"idx2name": True,
      "sched": {"type": "FactorScheduler", "kwargs": {"step": 2, "factor": 0.5, "base_lr": 0.2}}}),
    ("sgd_sched_override", "sgd", {"learning_rate": 0.3, "momentum": 0.5},
     {"sched": {"type": "FactorScheduler", "kwargs": {"step": 2, "factor": 0.5,
                                                      "base_lr": 0.1}}}),
    ("sgd_sym_mult", "sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.1},
     {"idx2name": True, "sym": True}),
    ("sgd_begin_num_update", "sgd", {"learning_rate": 0.1, "begin_num_update": 3},
     {"sched": {"type": "MultiFactorScheduler",
                "kwargs": {"step": [4, 6], "factor": 0.1, "base_lr": 0.1}}}),
    ("ccsgd_mom", "ccsgd", {"learning_rate": 0.1, "momentum": 0.9}, {}),
    ("nag_mom_wd", "nag", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01},
     {"idx2name": True}),
    ("nag_mom_clip", "nag", {"learning_rate": 0.1, "momentum": 0.7, "clip_gradient": 0.3,
                             "rescale_grad": 2.0, "wd": 0.05}, {}),
    ("nag_plain", "nag", {"learning_rate": 0.1, "wd": 0.01}, {}),
    ("adam_default", "adam", {}, {}),
    ("adam_wd_clip", "adam", {"learning_rate": 0.01, "wd": 0.1, "clip_gradient": 0.5,
                              "rescale_grad": 0.5}, {"idx2name": True}),
    ("adam_sched_cos", "adam", {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6},
     {"sched": {"type": "CosineScheduler",
                "kwargs": {"max_update": 5, "base_lr": 0.01, "final_lr": 0.001,
                           "warmup_steps": 2, "warmup_begin_lr": 0.002}}}),
    ("adagrad_default", "adagrad", {"learning_rate": 0.1}, {}),
    ("adagrad_wd_clip", "adagrad", {"learning_rate": 0.1, "wd": 0.05, "clip_gradient": 0.5,
                                    "eps": 1e-5}, {"idx2name": True}),
    ("rmsprop_plain", "rmsprop", {"learning_rate": 0.01, "wd": 0.01}, {}),
    ("rmsprop_clip", "rmsprop", {"learning_rate": 0.01, "clip_gradient": 0.3, "gamma1": 0.95,
                                 "clip_weights": 0.6}, {}),
    ("rmsprop_centered", "rmsprop", {"learning_rate": 0.01, "centered": True, "wd": 0.01},
     {"idx2name": True}),
    ("rmsprop_centered_clip", "rmsprop", {"learning_rate": 0.01, "centered": True,
                                          "gamma1": 0.8, "gamma2": 0.7, "clip_gradient": 0.4,
                                          "clip_weights": 0.6, "rescale_grad": 0.5}, {}),
    ("adadelta_default", "adadelta", {}, {}),
    ("adadelta_wd_clip", "adadelta", {"rho": 0.8, "epsilon": 1e-4, "wd": 0.1,
                                      "clip_gradient": 0.3, "rescale_grad": 0.5},
     {"idx2name": True}),
    ("ftrl_default", "ftrl", {}, {}),
    ("ftrl_wd_clip", "ftrl", {"learning_rate": 0.2, "lamda1": 0.05, "beta": 0.5, "wd": 0.1,
                              "clip_gradient": 0.5}, {}),
    ("signum_default", "signum", {}, {}),
    ("signum_wd_lh", "signum", {"learning_rate": 0.02, "momentum": 0.8, "wd": 0.1,
                                "wd_lh": 0.05, "clip_gradient": 0.3}, {}),
    # MXNet compat: signsgd_update rejects wd_lh in 1.9.1, so momentum=0 runs without it.
    ("signsgd", "signum", {"learning_rate": 0.02, "momentum": 0.0, "wd": 0.1}, {}),
    ("adamax_default", "adamax", {}, {}),
    ("adamax_wd_clip", "adamax", {"learning_rate": 0.01, "wd": 0.1, "clip_gradient": 0.4,
                                  "rescale_grad": 2.0}, {"idx2name": True}),
    ("nadam_default", "nadam", {}, {}),
    ("nadam_wd_clip", "nadam", {"learning_rate": 0.01, "wd": 0.1, "clip_gradient": 0.4,
                                "schedule_decay": 0.01}, {"idx2name": True}),
    ("nadam_single", "nadam", {"learning_rate": 0.01}, {"call": "single"}),
    ("lamb_default", "lamb", {}, {}),
    ("lamb_default_single", "lamb", {}, {"call": "single"}),
    ("lamb_wd_bounds", "lamb", {"learning_rate": 0.01, "wd": 0.1, "lower_bound": 0.5,
                                "upper_bound": 2.0, "clip_gradient": 0.5}, {"idx2name": True}),
    ("lamb_nobias_single", "lamb", {"learning_rate": 0.01, "bias_correction": False,
                                    "wd": 0.01}, {"call": "single"}),
    ("ftml_default", "ftml", {"learning_rate": 0.01}, {}),
    ("ftml_wd_clip", "ftml", {"learning_rate": 0.01, "wd": 0.1, "clip_gradient": 0.3,
                              "beta1": 0.7}, {}),
    # MXNet compat: DCASGD with momentum fails in 1.9.1 (`if mom:` on an NDArray).
    ("dcasgd_plain", "dcasgd", {"learning_rate": 0.1, "wd": 0.01, "lamda": 0.1}, {}),
]

SCHED_CASES = [
    ("factor", {"type": "FactorScheduler", "kwargs": {"step": 3, "factor": 0.5, "base_lr": 0.1}}),
    ("factor_stop", {"type": "FactorScheduler",
                     "kwargs": {"step": 2, "factor": 0.1, "base_lr": 1.0,
                                "stop_factor_lr": 1e-3}}),
    ("factor_warm_linear", {"type": "FactorScheduler",
                            "kwargs": {"step": 2, "factor": 0.5, "base_lr": 0.1,
                                       "warmup_steps": 4, "warmup_begin_lr": 0.01}}),
    ("factor_warm_const", {"type": "FactorScheduler",
                           "kwargs": {"step": 3, "factor": 0.9, "base_lr": 0.1,
                                      "warmup_steps": 3, "warmup_begin_lr": 0.02,
                                      "warmup_mode": "constant"}}),
    ("multifactor", {"type": "MultiFactorScheduler",
                     "kwargs": {"step": [3, 5, 9], "factor": 0.5, "base_lr": 0.1}}),
    ("multifactor_warm", {"type": "MultiFactorScheduler",
                          "kwargs": {"step": [4, 7], "factor": 0.1, "base_lr": 0.5,
                                     "warmup_steps": 3, "warmup_begin_lr": 0.05}}),
    ("poly", {"type": "PolyScheduler", "kwargs": {"max_update": 10, "base_lr": 0.1}}),
    ("poly_final_pwr", {"type": "PolyScheduler",
                        "kwargs": {"max_update": 12, "base_lr": 0.1, "pwr": 3,
                                   "final_lr": 0.01}}),
    ("poly_warm", {"type": "PolyScheduler",
                   "kwargs": {"max_update": 12, "base_lr": 0.1, "pwr": 1, "final_lr": 0.001,
                              "warmup_steps": 4, "warmup_begin_lr": 0.001}}),
    ("cosine", {"type": "CosineScheduler", "kwargs": {"max_update": 10, "base_lr": 0.1}}),
    ("cosine_final_warm", {"type": "CosineScheduler",
                           "kwargs": {"max_update": 12, "base_lr": 0.1, "final_lr": 0.01,
                                      "warmup_steps": 3, "warmup_begin_lr": 0.01}}),
    ("cosine_warm_const", {"type": "CosineScheduler",
                           "kwargs": {"max_update": 12, "base_lr": 0.2, "final_lr": 0.0,
                                      "warmup_steps": 5, "warmup_begin_lr": 0.05,
                                      "warmup_mode": "constant"}}),
]
SCHED_N = list(range(0, 18))


def build_sym(names):
    """A tiny graph whose variables carry lr/wd multipliers."""
    w = mx.sym.Variable("fc1_weight", lr_mult=0.5, wd_mult=2.0)
    b = mx.sym.Variable("fc1_bias", lr_mult=3.0)
    g = mx.sym.Variable("bn_gamma", wd_mult=0.0)
    data = mx.sym.Variable("data")
    out = mx.sym.FullyConnected(data, weight=w, bias=b, num_hidden=3, name="fc1")
    out = mx.sym.broadcast_mul(out, mx.sym.reshape(g, shape=(1, 3)))
    return out


def run_opt_case(cid, name, kwargs, opts, arrays):
    rng = np.random.RandomState(sum(map(ord, cid)))
    kw = dict(kwargs)
    if opts.get("sched"):
        kw["lr_scheduler"] = make_sched(opts["sched"])
    names = [n for n, _ in PARAMS]
    if opts.get("idx2name"):
        kw["param_idx2name"] = {i: n for i, n in enumerate(names)}
    sym_attrs = None
    if opts.get("sym"):
        sym = build_sym(names)
        kw["sym"] = sym
        sym_attrs = {"attr_dict": sym.attr_dict(), "arguments": sym.list_arguments()}
    opt = mx.optimizer.create(name, **kw)
    if opts.get("lr_mult"):
        opt.set_lr_mult(opts["lr_mult"])
    if opts.get("wd_mult"):
        opt.set_wd_mult(opts["wd_mult"])
    updater = mx.optimizer.get_updater(opt)
    weights = []
    for i, (n, shp) in enumerate(PARAMS):
        if n.endswith("gamma"):
            w0 = 1.0 + 0.3 * rng.randn(*shp)
        else:
            w0 = 0.5 * rng.randn(*shp)
        w0 = w0.astype(np.float32)
        arrays[f"{cid}/init/{n}"] = w0
        weights.append(mx.nd.array(w0))
    lrs = []
    for step in range(STEPS):
        grads_np = []
        for n, shp in PARAMS:
            g = rng.randn(*shp).astype(np.float32)
            if step == 2:
                g[0] = 0.0  # exercise sign(0) / zero-gradient paths
            arrays[f"{cid}/grad/{step}/{n}"] = g
            grads_np.append(g)
        grads = [mx.nd.array(g) for g in grads_np]
        if opts.get("call") == "single":
            for i in range(len(PARAMS)):
                updater(i, grads[i], weights[i])
        else:
            updater(list(range(len(PARAMS))), grads, weights)
        for (n, _), w in zip(PARAMS, weights):
            arrays[f"{cid}/w/{step}/{n}"] = w.asnumpy()
        lrs.append(float(opt.learning_rate))
    case = {"id": cid, "name": name, "kwargs": kwargs, "params": [[n, list(s)] for n, s in PARAMS],
            "steps": STEPS, "idx2name": bool(opts.get("idx2name")),
            "call": opts.get("call", "list"), "num_update": int(opt.num_update),
            "learning_rate_after": lrs}
    for key in ("sched", "lr_mult", "wd_mult"):
        if opts.get(key):
            case[key] = opts[key]
    if sym_attrs is not None:
        case["sym"] = sym_attrs
    return case


def sched_cases():
    out = []
    for cid, spec in SCHED_CASES:
        sch = make_sched(spec)
        seq = [float(sch(n)) for n in SCHED_N]
        out.append({"id": cid, "spec": spec, "num_update": SCHED_N, "lr": seq})
    # Non-monotone queries: the stateful FactorScheduler never goes back up.
    sch = make_sched(SCHED_CASES[0][1])
    ns = [0, 7, 2, 10, 4]
    out.append({"id": "factor_nonmonotone", "spec": SCHED_CASES[0][1], "num_update": ns,
                "lr": [float(sch(n)) for n in ns], "stateful_only": True})
    return out


class _Rec:
    """Records the (low, high) / (loc, scale) arguments MXNet's initializers draw with."""

    def __init__(self):
        self.calls = []

    def install(self):
        rec = self
        orig_u, orig_n = mx.random.uniform, mx.random.normal

        def uniform(low=0, high=1, shape=None, *a, **k):
            rec.calls.append(["uniform", float(low), float(high)])
            return orig_u(low, high, shape, *a, **k)

        def normal(loc=0, scale=1, shape=None, *a, **k):
            rec.calls.append(["normal", float(loc), float(scale)])
            return orig_n(loc, scale, shape, *a, **k)
        mx.initializer.random.uniform = uniform
        mx.initializer.random.normal = normal


def init_cases(arrays):
    inits = {
        "uniform_default": mx.init.Uniform(),
        "uniform_0.1": mx.init.Uniform(0.1),
        "normal_default": mx.init.Normal(),
        "normal_0.5": mx.init.Normal(0.5),
        "xavier_default": mx.init.Xavier(),
        "xavier_in": mx.init.Xavier(factor_type="in", magnitude=2.34),
        "xavier_out_gauss": mx.init.Xavier(rnd_type="gaussian", factor_type="out"),
        "msra_default": mx.init.MSRAPrelu(),
        "msra_in": mx.init.MSRAPrelu("in", 0.1),
        "orthogonal": mx.init.Orthogonal(),
        "orthogonal_normal": mx.init.Orthogonal(scale=2.0, rand_type="normal"),
        "constant": mx.init.Constant(0.5),
        "zero": mx.init.Zero(),
        "one": mx.init.One(),
        "bilinear": mx.init.Bilinear(),
        "lstmbias": mx.init.LSTMBias(2.0),
    }
    out = {"dumps": {k: v.dumps() for k, v in inits.items()}}
    # Scales MXNet draws with, per (initializer, shape).
    rec = _Rec()
    rec.install()
    bounds = []
    for key in ("uniform_default", "normal_0.5", "xavier_default", "xavier_in",
                "xavier_out_gauss", "msra_default", "msra_in"):
        for shape in [(4, 3), (8, 3, 3, 3), (5, 2, 4)]:
            rec.calls.clear()
            arr = mx.nd.zeros(shape)
            inits[key](mx.init.InitDesc("conv_weight"), arr)
            bounds.append({"init": key, "shape": list(shape), "call": rec.calls[-1]})
    out["bounds"] = bounds
    # Deterministic outputs via InitDesc dispatch and the legacy name path.
    det = []
    names = ["fc_weight", "fc_bias", "bn_gamma", "bn_beta", "q_min", "q_max"]
    for key in ("constant", "zero", "one", "bilinear"):
        for n in names:
            shape = (2, 2, 3, 4) if n.endswith("weight") else (4,)
            arr = mx.nd.zeros(shape) + 7
            inits[key](mx.init.InitDesc(n), arr)
            arrays[f"init/{key}/{n}"] = arr.asnumpy()
            det.append({"init": key, "name": n, "shape": list(shape), "path": "desc"})
    legacy = ["bn_moving_mean", "bn_moving_var", "bn_moving_inv_var", "x_moving_avg",
              "upsampling0_weight", "fc_weight", "fc_bias", "bn_gamma", "bn_beta"]
    for n in legacy:
        shape = (2, 1, 4, 4) if n.endswith("weight") else (3,)
        arr = mx.nd.zeros(shape) + 7
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inits["constant"](n, arr)
        arrays[f"init/legacy/{n}"] = arr.asnumpy()
        det.append({"init": "constant", "name": n, "shape": list(shape), "path": "legacy"})
    for shape in [(1, 1, 4, 4), (2, 3, 3, 3), (1, 2, 5, 6)]:
        arr = mx.nd.zeros(shape)
        mx.init.Bilinear()(mx.init.InitDesc("up_weight"), arr)
        arrays["init/bilinear_shape/" + "x".join(map(str, shape))] = arr.asnumpy()
    # __init__ attr wins over suffix dispatch and over the global initializer.
    arr = mx.nd.zeros((3,))
    mx.init.Uniform()(mx.init.InitDesc("fc_bias", {"__init__": mx.init.Constant(3.0).dumps()}),
                      arr)
    arrays["init/attr/fc_bias"] = arr.asnumpy()
    arr = mx.nd.zeros((8,))
    mx.init.Uniform()(mx.init.InitDesc("lstm_bias", {"__init__": mx.init.LSTMBias(2.0).dumps()}),
                      arr)
    arrays["init/attr/lstm_bias"] = arr.asnumpy()
    # Mixed: first matching pattern wins (re.match).
    mixed = mx.init.Mixed([".*bias", ".*"], [mx.init.Constant(2.0), mx.init.One()])
    for n in ("fc_bias", "fc_weight", "bn_gamma"):
        arr = mx.nd.zeros((3, 2)) + 7
        mixed(mx.init.InitDesc(n), arr)
        arrays[f"init/mixed/{n}"] = arr.asnumpy()
    # Variable(init=...) attribute string as stored in the graph.
    v = mx.sym.Variable("w", init=mx.init.Xavier(rnd_type="gaussian", magnitude=2))
    out["variable_init_attr"] = v.attr("__init__")
    out["deterministic"] = det
    return out


def main():
    arrays = {}
    cases = [run_opt_case(cid, n, kw, o, arrays) for cid, n, kw, o in OPT_CASES]
    doc = {"optimizers": cases, "schedulers": sched_cases(), "initializers": init_cases(arrays),
           "mxnet_version": mx.__version__}
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "optim.json"), "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    np.savez_compressed(os.path.join(OUT_DIR, "optim.npz"), **arrays)
    print(f"{len(cases)} optimizer cases, {len(doc['schedulers'])} scheduler cases, "
          f"{len(arrays)} arrays")


if __name__ == "__main__":
    main()
