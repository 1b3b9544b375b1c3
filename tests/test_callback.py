"""symnet.callback log lines and metric side effects against MXNet 1.9.1 goldens."""
import json
import logging
import os
import sys
import types

import jax
import numpy as np
import pytest

from symnet import callback as C
from symnet import metric as M

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "metric")
with open(os.path.join(FIX, "metric.json")) as _f:
    SCENARIOS = {s["id"]: s for s in json.load(_f)["callbacks"]}
ARR = dict(np.load(os.path.join(FIX, "metric.npz"), allow_pickle=False))


def make_callback(sc):
    name, kwargs = sc["callback"], sc["kwargs"]
    if name == "Speedometer":
        return C.Speedometer(**kwargs)
    if name == "ProgressBar":
        return C.ProgressBar(**kwargs)
    if name == "log_train_metric":
        return C.log_train_metric(**kwargs)
    return C.LogValidationMetricsCallback()


def make_metric(spec):
    return None if spec is None else M.create(spec)


def root_messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "root"]


def run(sc, monkeypatch, caplog, device=False, local_vars=None):
    """Replay a scenario; device=True updates the metric with jitted device steps (lazy)."""
    cb, metric = make_callback(sc), make_metric(sc["metric"])
    clock = [0.0]
    monkeypatch.setattr(C.time, "time", lambda: clock[0])
    caplog.set_level(logging.INFO)
    step = None
    if device and metric is not None:
        step = jax.jit(lambda s, l, p, m: metric.device_update(s, l, p, m))
    for i, st in enumerate(sc["steps"]):
        if st["update"]:
            label, pred = ARR[f"cb/{sc['id']}/{i}/label0"], ARR[f"cb/{sc['id']}/{i}/pred0"]
            if step is None:
                metric.update([label], [pred])
            else:
                mask = np.ones(label.shape[0], np.float32)
                metric.device_stash(step(metric.device_state(), [label], [pred], mask))
        clock[0] = st["time"]
        cb(C.BatchEndParam(epoch=st["epoch"], nbatch=st["nbatch"], eval_metric=metric,
                           locals=local_vars if local_vars is not None else {}))
    return metric


def check_final(metric, final):
    if final is None:
        return
    for key in ("get", "get_global"):
        got = getattr(metric, key)()
        assert got[0] == final[key][0]
        np.testing.assert_allclose(np.atleast_1d(np.asarray(got[1], float)),
                                   np.atleast_1d(np.asarray(final[key][1], float)),
                                   rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("sid", sorted(SCENARIOS))
def test_log_lines_match_mxnet(sid, monkeypatch, caplog):
    sc = SCENARIOS[sid]
    metric = run(sc, monkeypatch, caplog)
    assert root_messages(caplog) == sc["log"]
    check_final(metric, sc["final"])


@pytest.mark.parametrize("sid", ["speedo_reset", "speedo_noreset_composite", "log_train_reset"])
def test_log_lines_with_device_metric(sid, monkeypatch, caplog):
    """Metrics accumulated on device (stashed, read lazily) log the same lines."""
    sc = SCENARIOS[sid]
    metric = run(sc, monkeypatch, caplog, device=True)
    assert root_messages(caplog) == sc["log"]
    check_final(metric, sc["final"])


def test_speedometer_blocks_before_every_clock_read(monkeypatch, caplog):
    sc = SCENARIOS["speedo_reset"]
    calls = []
    run(sc, monkeypatch, caplog, device=True,
        local_vars={"block_until_ready": lambda: calls.append(1)})
    freq = sc["kwargs"]["frequent"]
    starts = sum(1 for i, s in enumerate(sc["steps"])
                 if i == 0 or s["nbatch"] < sc["steps"][i - 1]["nbatch"])
    logs = sum(1 for i, s in enumerate(sc["steps"]) if s["nbatch"] % freq == 0
               and not (i == 0 or s["nbatch"] < sc["steps"][i - 1]["nbatch"]))
    assert len(calls) == starts + logs == 2 + len(sc["log"])


def test_auto_reset_keeps_global_counters(monkeypatch, caplog):
    """Speedometer(auto_reset) clears only the local window; the global value sees every batch."""
    sc = SCENARIOS["speedo_reset"]
    metric = run(sc, monkeypatch, caplog)
    everything, window = M.Accuracy(), M.Accuracy()
    steps = sc["steps"]
    for i, st in enumerate(steps):
        arrays = [ARR[f"cb/{sc['id']}/{i}/label0"]], [ARR[f"cb/{sc['id']}/{i}/pred0"]]
        everything.update(*arrays)
        window.update(*arrays)
        starts_timer = i == 0 or st["nbatch"] < steps[i - 1]["nbatch"]
        if not starts_timer and st["nbatch"] % sc["kwargs"]["frequent"] == 0:
            window.reset()
    assert metric.get_global()[1] == pytest.approx(everything.get()[1], rel=1e-12)
    assert metric.get()[1] == pytest.approx(window.get()[1], rel=1e-12)
    assert metric.get()[1] != metric.get_global()[1]


def test_batch_end_param():
    p = C.BatchEndParam(epoch=1, nbatch=2, eval_metric=None, locals={})
    assert type(p).__name__ == "BatchEndParams" and p._fields == (
        "epoch", "nbatch", "eval_metric", "locals")


def test_do_checkpoint_calls_model_save_checkpoint(monkeypatch):
    saved = []
    fake = types.ModuleType("symnet.model")
    fake.save_checkpoint = lambda *a: saved.append(a)
    monkeypatch.setitem(sys.modules, "symnet.model", fake)
    cb = C.do_checkpoint("pre", period=2)
    for epoch in range(5):
        cb(epoch, "sym", {"w": 1}, {"a": 2})
    assert saved == [("pre", 2, "sym", {"w": 1}, {"a": 2}), ("pre", 4, "sym", {"w": 1}, {"a": 2})]


def test_module_checkpoint():
    class FakeModule:
        def __init__(self):
            self.saved = []

        def save_checkpoint(self, prefix, epoch, save_optimizer_states):
            self.saved.append((prefix, epoch, save_optimizer_states))

    mod = FakeModule()
    cb = C.module_checkpoint(mod, "m", period=0, save_optimizer_states=True)
    cb(0)
    cb(1, "sym", {}, {})
    assert mod.saved == [("m", 1, True), ("m", 2, True)]


@pytest.mark.parametrize("aheads, batches", [
    ([0] * 8, [4, 4]),                    # one step per dispatch: MXNet's count, `frequent`
    ([3, 2, 1, 0, 3, 2, 1, 0], [1, 4]),   # 4 steps per dispatch: the first window ran 1
])
def test_speedometer_counts_batches_finished_ahead(monkeypatch, caplog, aheads, batches):
    """Each callback waits for its dispatch, so with 4 steps per dispatch the timer starts
    after batches 1-4 have run: the first window times one batch (plus MXNet's own count of
    the batch that started the timer), not ``frequent``."""
    clock = [0.0]
    monkeypatch.setattr(C.time, "time", lambda: clock[0])
    caplog.set_level(logging.INFO)
    cb = C.Speedometer(batch_size=10, frequent=4)
    for nbatch, ahead in enumerate(aheads, start=1):
        clock[0] = float(nbatch)  # 1 s a batch on the clock
        cb(C.BatchEndParam(epoch=0, nbatch=nbatch, eval_metric=None,
                           locals={"batches_ahead": ahead}))
    speeds = [float(m.split("Speed: ")[1].split(" ")[0]) for m in root_messages(caplog)]
    # windows: batch 1 -> 4 (3 s) and 4 -> 8 (4 s) on the clock
    assert speeds == pytest.approx([batches[0] * 10 / 3.0, batches[1] * 10 / 4.0], abs=0.01)
