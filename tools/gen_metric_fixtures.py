"""Generate MXNet 1.9.1 goldens for symnet.metric and symnet.callback.

Run in the MXNet venv (never imported by tests):

    MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \
        /work/mxvenv/bin/python tools/gen_metric_fixtures.py

Writes tests/fixtures/metric/metric.json + metric.npz:

* ``metrics``: cases ``{id, metric, kwargs, device, steps, expected}``; each step is
  ``{"op": "update", "pairs": k}`` (arrays ``<id>/<step>/label<j>``, ``<id>/<step>/pred<j>``),
  ``{"op": "reset_local"}`` or ``{"op": "reset"}``; ``expected[i]`` holds MXNet's ``get()`` and
  ``get_global()`` after step ``i``.
* ``callbacks``: scenarios ``{id, callback, kwargs, metric, steps, log, final}``; each step is
  ``{epoch, nbatch, time, update}`` (update arrays ``cb/<id>/<step>/label0|pred0``); ``log`` is
  every message MXNet logged (root logger, fake clock), ``final`` the metric's get/get_global.
"""
from __future__ import annotations

import json
import logging
import os
import time

import numpy as np

os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
os.environ.setdefault("MXNET_SUBGRAPH_BACKEND", "NONE")
import mxnet as mx  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures",
                   "metric")
rng = np.random.RandomState(1234)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype("float32")


def cls_pair(n, c=4):
    return (rng.randint(0, c, size=n).astype("float32"),
            softmax(rng.randn(n, c).astype("float32")))


def cls_2d_pair(n, c=3, t=2):
    return (rng.randint(0, c, size=(n, t)).astype("float32"),
            softmax(rng.randn(n, c, t).astype("float32"), axis=1))


def ids_pair(n, c=3):
    return (rng.randint(0, c, size=n).astype("float32"),
            rng.randint(0, c, size=n).astype("float32"))


def bin_pair(n):
    return (rng.randint(0, 2, size=n).astype("float32"),
            softmax(rng.randn(n, 2).astype("float32")))


def reg_1d(n):
    return (rng.randn(n).astype("float32"), rng.randn(n, 1).astype("float32"))


def reg_2d(n):
    return (rng.randn(n, 3).astype("float32"), rng.randn(n, 3).astype("float32"))


def corr_pair(n):
    label = rng.randn(n, 2).astype("float32")
    return label, (0.6 * label + rng.randn(n, 2).astype("float32")).astype("float32")


def perp_2d(n, c=5, t=3):
    label = rng.randint(0, c, size=(n, t)).astype("float32")
    return label, softmax(rng.randn(n * t, c).astype("float32"))


def loss_pair(n):
    return rng.randint(0, 2, size=n).astype("float32"), rng.rand(n, 2).astype("float32")


def loss_1d(n):
    return rng.randint(0, 2, size=n).astype("float32"), rng.rand(n).astype("float32")


def custom_mae(label, pred):
    return float(np.abs(label.reshape(pred.shape) - pred).mean())


def custom_tuple(label, pred):
    return float(np.abs(label.reshape(pred.shape) - pred).sum()), int(label.size)


# (id, create-arg, kwargs, pair generator, device capable, custom feval name)
CASES = [
    ("acc", "acc", {}, cls_pair, True),
    ("acc_2d_label", "acc", {}, cls_2d_pair, True),
    ("acc_class_ids", "accuracy", {}, ids_pair, True),
    ("top_k_acc_3", "top_k_accuracy", {"top_k": 3}, lambda n: cls_pair(n, 6), True),
    ("top_k_acc_2", "top_k_acc", {"top_k": 2}, cls_pair, True),
    ("f1_macro", "f1", {}, bin_pair, True),
    ("f1_micro", "f1", {"average": "micro"}, bin_pair, True),
    ("mcc_macro", "mcc", {}, bin_pair, True),
    ("mcc_micro", "mcc", {"average": "micro"}, bin_pair, True),
    ("mae_1d", "mae", {}, reg_1d, True),
    ("mae_2d", "mae", {}, reg_2d, True),
    ("mse_1d", "mse", {}, reg_1d, True),
    ("mse_2d", "mse", {}, reg_2d, True),
    ("rmse_1d", "rmse", {}, reg_1d, True),
    ("rmse_2d", "rmse", {}, reg_2d, True),
    ("ce", "ce", {}, cls_pair, True),
    ("nll_loss", "nll_loss", {}, cls_pair, True),
    ("perplexity", "perplexity", {"ignore_label": None}, cls_pair, True),
    ("perplexity_ignore0", "perplexity", {"ignore_label": 0}, cls_pair, True),
    ("perplexity_2d_label", "perplexity", {"ignore_label": 1}, perp_2d, True),
    ("pearsonr_macro", "pearsonr", {}, corr_pair, True),
    ("pearsonr_micro", "pearsonr", {"average": "micro"}, corr_pair, False),
    ("loss", "loss", {}, loss_pair, True),
    ("loss_1d", "loss", {}, loss_1d, True),
    ("composite", ["acc", "ce", "top_k_accuracy"], {"top_k": 2}, cls_pair, True),
    ("custom_np", "np:custom_mae", {}, reg_2d, False),
    ("custom_tuple", "custom:custom_tuple", {}, reg_2d, False),
]

# (pairs per update, batch rows) per step; None = reset_local; "reset" = reset
STEPS = [(1, 6), (2, 5), (1, 7), None, (1, 3), (2, 6), "reset", (1, 5)]


def make_metric(spec, kwargs):
    if isinstance(spec, list):
        # composite: top_k applies to the top_k child only
        children = [mx.metric.create(s, **(kwargs if s.startswith("top_k") else {}))
                    for s in spec]
        return mx.metric.create(children)
    if spec.startswith("np:"):
        return mx.metric.np(globals()[spec[3:]])
    if spec.startswith("custom:"):
        return mx.metric.create(globals()[spec[7:]])
    return mx.metric.create(spec, **kwargs)


def plain(v):
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, str):
        return v
    return float(v)


def gen_metrics(arrays):
    cases = []
    for cid, spec, kwargs, gen, device in CASES:
        metric = make_metric(spec, kwargs)
        steps, expected = [], []
        for i, step in enumerate(STEPS):
            if step is None:
                metric.reset_local()
                steps.append({"op": "reset_local"})
            elif step == "reset":
                metric.reset()
                steps.append({"op": "reset"})
            else:
                npairs, n = step
                labels, preds = [], []
                for j in range(npairs):
                    label, pred = gen(n)
                    arrays[f"{cid}/{i}/label{j}"] = label
                    arrays[f"{cid}/{i}/pred{j}"] = pred
                    labels.append(mx.nd.array(label))
                    preds.append(mx.nd.array(pred))
                metric.update(labels, preds)
                steps.append({"op": "update", "pairs": npairs})
            expected.append({"get": plain(metric.get()), "get_global": plain(metric.get_global())})
        cases.append({"id": cid, "metric": spec, "kwargs": kwargs, "device": device,
                      "steps": steps, "expected": expected})
    return cases


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def run_scenario(arrays, sid, callback_name, kwargs, metric_spec, schedule):
    """schedule: list of (epoch, nbatch, time, update?)."""
    if callback_name == "Speedometer":
        cb = mx.callback.Speedometer(**kwargs)
    elif callback_name == "ProgressBar":
        cb = mx.callback.ProgressBar(**kwargs)
    elif callback_name == "log_train_metric":
        cb = mx.callback.log_train_metric(**kwargs)
    else:
        cb = mx.callback.LogValidationMetricsCallback()
    metric = None if metric_spec is None else make_metric(metric_spec, {})
    capture = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(capture)
    real_time = time.time
    clock = [0.0]
    time.time = lambda: clock[0]
    steps = []
    try:
        for i, (epoch, nbatch, t, update) in enumerate(schedule):
            if update and metric is not None:
                label, pred = cls_pair(4)
                arrays[f"cb/{sid}/{i}/label0"] = label
                arrays[f"cb/{sid}/{i}/pred0"] = pred
                metric.update([mx.nd.array(label)], [mx.nd.array(pred)])
            clock[0] = t
            cb(mx.model.BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=metric,
                                      locals={}))
            steps.append({"epoch": epoch, "nbatch": nbatch, "time": t,
                          "update": bool(update and metric is not None)})
    finally:
        time.time = real_time
        root.removeHandler(capture)
        root.setLevel(old_level)
    final = None if metric is None else {"get": plain(metric.get()),
                                         "get_global": plain(metric.get_global())}
    return {"id": sid, "callback": callback_name, "kwargs": kwargs, "metric": metric_spec,
            "steps": steps, "log": capture.lines, "final": final}


def train_schedule(batches_per_epoch, epochs, start=0, one_based=False):
    out, t = [], 100.0
    for e in range(epochs):
        for b in range(batches_per_epoch):
            t += 0.25 + 0.125 * ((b * 7 + e) % 3)
            out.append((e, b + 1 if one_based else b, t, True))
    return out


def gen_callbacks(arrays):
    sc = []
    sc.append(run_scenario(arrays, "speedo_reset", "Speedometer",
                           {"batch_size": 4, "frequent": 3, "auto_reset": True}, "acc",
                           train_schedule(8, 2)))
    sc.append(run_scenario(arrays, "speedo_noreset_composite", "Speedometer",
                           {"batch_size": 4, "frequent": 2, "auto_reset": False}, ["acc", "ce"],
                           train_schedule(5, 2, one_based=True)))
    sc.append(run_scenario(arrays, "speedo_nometric", "Speedometer",
                           {"batch_size": 8, "frequent": 2}, None, train_schedule(5, 1)))
    sc.append(run_scenario(arrays, "log_train_reset", "log_train_metric",
                           {"period": 2, "auto_reset": True}, "acc", train_schedule(5, 1)))
    sc.append(run_scenario(arrays, "log_train", "log_train_metric", {"period": 3},
                           ["acc", "mse"], train_schedule(7, 1)))
    sc.append(run_scenario(arrays, "validation", "LogValidationMetricsCallback", {},
                           ["acc", "ce"], [(0, 2, 1.0, True), (1, 3, 2.0, True)]))
    sc.append(run_scenario(arrays, "validation_nometric", "LogValidationMetricsCallback", {},
                           None, [(0, 2, 1.0, False)]))
    sc.append(run_scenario(arrays, "progress", "ProgressBar", {"total": 7, "length": 20}, None,
                           [(0, b, 1.0, False) for b in range(9)]))
    sc.append(run_scenario(arrays, "progress_default", "ProgressBar", {"total": 3}, None,
                           [(0, b, 1.0, False) for b in range(4)]))
    return sc


def main():
    os.makedirs(OUT, exist_ok=True)
    arrays = {}
    doc = {"mxnet": mx.__version__, "metrics": gen_metrics(arrays),
           "callbacks": gen_callbacks(arrays)}
    with open(os.path.join(OUT, "metric.json"), "w") as f:
        json.dump(doc, f, indent=1)
    np.savez_compressed(os.path.join(OUT, "metric.npz"), **arrays)
    print(f"wrote {len(doc['metrics'])} metric cases, {len(doc['callbacks'])} callback "
          f"scenarios, {len(arrays)} arrays")


if __name__ == "__main__":
    main()
