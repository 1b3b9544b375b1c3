"""FeedForward (mx.model) against MXNet 1.9.1 training goldens (tests/fixtures/train/).

The goldens come from tools/gen_train_fixtures.py; tests/fixtures/train/recipe.py (pure numpy)
builds the same networks, data, initial parameters and parameter statistics on both sides.
"""
from __future__ import annotations

import json
import logging
import os
import sys

import numpy as np
import pytest

import symnet as mx
from symnet.base import GraphError, ParamError, ShapeError, SymnetError

FIX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "train")
sys.path.insert(0, FIX)
import recipe  # noqa: E402

with open(os.path.join(FIX, "train.json")) as _f:
    GOLD = json.load(_f)


# ---- helpers ---------------------------------------------------------------------------------

class LogCapture(logging.Handler):
    """Collects root-logger messages (INFO and up) while active."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())

    def __enter__(self):
        root = logging.getLogger()
        self._level = root.level
        root.setLevel(logging.INFO)
        root.addHandler(self)
        return self

    def __exit__(self, *exc):
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)


def mnist_setup(build):
    """(net, X, y, init) for a recipe network on the embedded MNIST subset."""
    X, y = recipe.mnist()
    net = build(mx)
    names = [a for a in net.list_arguments() if a not in ("data", "softmax_label")]
    shapes, _, _ = net.infer_shape(data=(recipe.BATCH,) + X.shape[1:])
    shape_of = dict(zip(net.list_arguments(), shapes))
    return net, X, y, recipe.init_params(names, [shape_of[n] for n in names])


def mnist_iters(X, y):
    n, b = recipe.N_TRAIN, recipe.BATCH
    return (mx.io.NDArrayIter(X[:n], y[:n], b, shuffle=False),
            mx.io.NDArrayIter(X[n:n + recipe.N_EVAL], y[n:n + recipe.N_EVAL], b, shuffle=False))


def assert_stats_close(ref, got, rtol=1e-4):
    """Compare recipe.param_stats outputs; errors are relative to each parameter's L2 norm."""
    assert sorted(ref) == sorted(got)
    for name, r in ref.items():
        g = got[name]
        assert g["shape"] == r["shape"], name
        scale = max(r["norm"], 1e-6)
        assert abs(g["norm"] - r["norm"]) <= rtol * scale, (name, g["norm"], r["norm"])
        assert abs(g["sum"] - r["sum"]) <= rtol * scale * 10, (name, g["sum"], r["sum"])
        np.testing.assert_allclose(g["head"], r["head"], rtol=0, atol=rtol * scale,
                                   err_msg=f"{name} first values")
        np.testing.assert_allclose(g["proj"], r["proj"], rtol=0, atol=rtol * scale,
                                   err_msg=f"{name} projections")


def stats_of(params):
    return recipe.param_stats({k: v.asnumpy() for k, v in params.items()})


def tiny_model(num_epoch=2, seed=5, **kw):
    net = recipe.build_tiny(mx)
    shapes, _, _ = net.infer_shape(data=(10, 20))
    names = [a for a in net.list_arguments() if a not in ("data", "softmax_label")]
    shape_of = dict(zip(net.list_arguments(), shapes))
    init = recipe.init_params(names, [shape_of[n] for n in names], seed=seed)
    opt = {"learning_rate": 0.1, "momentum": 0.9}
    opt.update(kw)
    return mx.model.FeedForward(net, num_epoch=num_epoch,
                                arg_params={k: mx.nd.array(v) for k, v in init.items()}, **opt)


class ShortLastIter(mx.io.DataIter):
    """Yields full batches and then one short batch (fewer rows, pad=0), as custom code may."""

    def __init__(self, x, y, batch_size):
        super().__init__(batch_size)
        self.x, self.y, self.cur = x, y, 0

    @property
    def provide_data(self):
        return [mx.io.DataDesc("data", (self.batch_size,) + self.x.shape[1:])]

    @property
    def provide_label(self):
        return [mx.io.DataDesc("softmax_label", (self.batch_size,))]

    def reset(self):
        self.cur = 0

    def next(self):
        if self.cur >= len(self.x):
            raise StopIteration
        sl = slice(self.cur, self.cur + self.batch_size)
        self.cur += self.batch_size
        return mx.io.DataBatch([mx.nd.array(self.x[sl])], [mx.nd.array(self.y[sl])], pad=0)


# ---- MXNet parity ----------------------------------------------------------------------------

@pytest.mark.parametrize("netname,steps,tol", [
    ("mlp", None, 1e-4),    # default: 10 steps per dispatch, the same arithmetic as MXNet's
    # Saturated tanh values tie in max pooling, so LeNet's first steps are chaotic: scaling
    # the initial weights by (1 + 1e-7) moves these statistics by up to 3e-3 of a parameter's
    # norm. The plain step (MXNet's arithmetic) matches MXNet to 1e-6 with jax 0.10 and to
    # 7e-4 with jax 0.11, whose XLA rounds the convolutions differently.
    ("lenet", 1, 2e-3),
    ("lenet", None, 1e-2),  # default on the CPU: scanned im2col steps, other rounding
])
def test_feedforward_fit_matches_mxnet(netname, steps, tol):
    gold = GOLD[netname]["feedforward"]
    net, X, y, init = mnist_setup(getattr(recipe, "build_" + netname))
    train, val = mnist_iters(X, y)
    model = mx.model.FeedForward(net, ctx=mx.cpu(), num_epoch=1,
                                 arg_params={k: mx.nd.array(v) for k, v in init.items()},
                                 steps_per_execution=steps, **recipe.OPT)
    with LogCapture() as cap:
        model.fit(train, eval_data=val,
                  batch_end_callback=mx.callback.Speedometer(recipe.BATCH, 5))
    assert model._session.steps == (steps or 10)
    assert_stats_close(gold["params"], stats_of(model.arg_params), rtol=tol)
    assert [recipe.mask_line(s) for s in cap.lines] == gold["log"]
    pred = model.predict(X[recipe.N_TRAIN:recipe.N_TRAIN + 20])
    assert pred.shape == (20, 10)
    np.testing.assert_allclose(pred, np.array(gold["predict20"]), rtol=tol, atol=tol / 10)
    _, val = mnist_iters(X, y)
    assert model.score(val) == pytest.approx(gold["score"], abs=1e-9 if tol < 1e-3 else 0.01)


def test_mxnet_checkpoint_loads_predicts_and_scores():
    prefix = os.path.join(FIX, "tiny")
    model = mx.model.FeedForward.load(prefix, 2)
    x, y = recipe.tiny_data()
    pred = model.predict(x[:10])
    np.testing.assert_allclose(pred, np.array(GOLD["tiny"]["predict10"]), rtol=1e-5, atol=1e-6)
    assert model.score(mx.io.NDArrayIter(x, y, 10)) == pytest.approx(GOLD["tiny"]["score"])
    sym, arg, aux = mx.model.load_checkpoint(prefix, 2)
    assert sym.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias",
                                    "softmax_label"]
    assert sorted(arg) == ["fc1_bias", "fc1_weight", "fc2_bias", "fc2_weight"] and aux == {}


def test_fit_continues_from_mxnet_checkpoint(tmp_path):
    prefix = os.path.join(FIX, "tiny")
    model = mx.model.FeedForward.load(prefix, 2, num_epoch=3, learning_rate=0.1, momentum=0.9)
    assert model.begin_epoch == 2
    x, y = recipe.tiny_data()
    with LogCapture() as cap:
        model.fit(mx.io.NDArrayIter(x, y, 10, shuffle=False))
    epochs = [s for s in cap.lines if s.startswith("Epoch[")]
    assert epochs and all(s.startswith("Epoch[2]") for s in epochs), cap.lines
    for name, ref in GOLD["tiny"]["continued"].items():
        np.testing.assert_allclose(model.arg_params[name].asnumpy(), np.array(ref),
                                   rtol=1e-4, atol=1e-6, err_msg=name)


# ---- persistence -------------------------------------------------------------------------------

def test_save_load_round_trip_predict_bit_identical(tmp_path):
    x, y = recipe.tiny_data()
    model = tiny_model(num_epoch=1)
    model.fit(mx.io.NDArrayIter(x, y, 10))
    before = model.predict(x)
    acc = model.score(mx.io.NDArrayIter(x, y, 10))
    prefix = str(tmp_path / "rt")
    model.save(prefix)
    assert sorted(os.listdir(tmp_path)) == ["rt-0001.params", "rt-symbol.json"]
    loaded = mx.model.FeedForward.load(prefix, 1)
    assert loaded.begin_epoch == 1
    after = loaded.predict(x)
    assert after.dtype == before.dtype and np.array_equal(after, before)
    assert loaded.score(mx.io.NDArrayIter(x, y, 10)) == acc
    for k, v in model.arg_params.items():
        assert np.array_equal(loaded.arg_params[k].asnumpy(), v.asnumpy()), k


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    x, y = recipe.tiny_data()
    model = tiny_model(num_epoch=1)
    model.fit(mx.io.NDArrayIter(x, y, 10))
    prefix = str(tmp_path / "ck")
    model.save(prefix, 1)
    with open(prefix + "-0001.params", "rb") as f:
        old = f.read()
    with open(prefix + "-symbol.json", "rb") as f:
        old_json = f.read()
    model.arg_params["fc1_weight"][:] = 0.0

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        model.save(prefix, 1)
    monkeypatch.undo()
    with open(prefix + "-0001.params", "rb") as f:
        assert f.read() == old
    with open(prefix + "-symbol.json", "rb") as f:
        assert f.read() == old_json
    assert sorted(os.listdir(tmp_path)) == ["ck-0001.params", "ck-symbol.json"]
    # and the surviving file still loads
    _, arg, _ = mx.model.load_checkpoint(prefix, 1)
    assert float(np.abs(arg["fc1_weight"].asnumpy()).sum()) > 0


# ---- partial batches and padding ---------------------------------------------------------------

@pytest.mark.parametrize("handle", ["pad", "roll_over", "discard", "short"])
def test_last_partial_batch_does_not_recompile(handle):
    x, y = recipe.tiny_data(n=25)
    if handle == "short":
        it = ShortLastIter(x, y, 10)
    else:
        it = mx.io.NDArrayIter(x, y, 10, shuffle=False, last_batch_handle=handle)
    seen = []
    model = tiny_model(num_epoch=2)
    model.fit(it, batch_end_callback=lambda p: seen.append((p.epoch, p.nbatch)))
    assert model._trainer.compile_count == 1
    # roll_over: 25 rows, batch 10 -> epoch 0 keeps 5 rows over, epoch 1 has 3 batches (MXNet)
    per_epoch = {"pad": (3, 3), "roll_over": (2, 3), "discard": (2, 2), "short": (3, 3)}[handle]
    assert seen == [(e, b) for e in range(2) for b in range(1, per_epoch[e] + 1)]
    assert all(np.isfinite(v.asnumpy()).all() for v in model.arg_params.values())


def _mislabelled_first_rows(model, x):
    """Labels equal to the predictions except rows 0 and 1 (wrong), so padding would show."""
    pred = model.predict(x).argmax(axis=1)
    lab = pred.astype(np.float32).copy()
    lab[:2] = (pred[:2] + 1) % 4
    lab[5] = (pred[5] + 1) % 4
    return lab


def test_padded_rows_never_count_in_score():
    x, _ = recipe.tiny_data(n=10)
    model = tiny_model(num_epoch=1)
    x_all, y_all = recipe.tiny_data()
    model.fit(mx.io.NDArrayIter(x_all, y_all, 10))
    lab = _mislabelled_first_rows(model, x)
    probs = model.predict(x)
    want = float(np.mean(probs.argmax(axis=1) == lab))
    assert want == pytest.approx(0.7)
    # 10 rows, batch 4: the last batch repeats rows 0 and 1 (pad=2) or is short.
    got_pad = model.score(mx.io.NDArrayIter(x, lab, 4, last_batch_handle="pad"))
    got_short = model.score(ShortLastIter(x, lab, 4))
    assert got_pad == pytest.approx(want, abs=1e-12)
    assert got_short == pytest.approx(want, abs=1e-12)
    # a wrong implementation counting the 2 padded rows would give 7/12
    assert abs(7 / 12 - want) > 0.1
    pred_pad = model.predict(mx.io.NDArrayIter(x, lab, 4, last_batch_handle="pad"))
    assert pred_pad.shape == (10, 4)
    np.testing.assert_allclose(pred_pad, probs, rtol=1e-6, atol=1e-7)


def test_tiny_separable_data_reaches_accuracy():
    mx.random.seed(0)
    x, y = recipe.tiny_data(n=80, seed=3)
    net = recipe.build_tiny(mx)
    model = mx.model.FeedForward(net, num_epoch=5, learning_rate=0.5, momentum=0.9,
                                 initializer=mx.init.Xavier())
    model.fit(mx.io.NDArrayIter(x, y, 20, shuffle=False))
    assert model.score(mx.io.NDArrayIter(x, y, 20)) >= 0.95
    # numpy check of the same number
    assert model.score(mx.io.NDArrayIter(x, y, 20)) == pytest.approx(
        float(np.mean(model.predict(x).argmax(1) == y)))


def test_fit_with_numpy_arrays_and_eval_tuple():
    x, y = recipe.tiny_data(n=30)
    model = tiny_model(num_epoch=1, numpy_batch_size=8)
    with LogCapture() as cap:
        model.fit(x, y, eval_data=(x, y))
    assert any(s.startswith("Epoch[0] Validation-accuracy=") for s in cap.lines), cap.lines
    assert model.predict(x).shape == (30, 4)


# ---- errors ------------------------------------------------------------------------------------

def test_error_data_label_length_mismatch():
    x, y = recipe.tiny_data(n=20)
    with pytest.raises(ValueError, match="20.*19|19.*20"):
        tiny_model(num_epoch=1).fit(x, y[:19])
    with pytest.raises((ValueError, SymnetError), match="20.*19|19.*20"):
        mx.io.NDArrayIter(x, y[:19], 4)


def test_error_labels_out_of_class_range():
    x, y = recipe.tiny_data(n=20)
    y = y.copy()
    y[3] = 7.0  # the net has 4 classes
    with pytest.raises((ValueError, SymnetError), match="7|label|class"):
        tiny_model(num_epoch=1).fit(mx.io.NDArrayIter(x, y, 10))


def test_error_data_shape_rejected_names_input_and_shapes():
    x, y = recipe.tiny_data(n=20)
    model = tiny_model(num_epoch=1)
    model.fit(mx.io.NDArrayIter(x, y, 10))
    bad = np.zeros((10, 21), np.float32)
    with pytest.raises((ShapeError, GraphError)) as err:
        model.predict(bad)
    msg = str(err.value)
    assert "data" in msg and "21" in msg and "20" in msg, msg
    with pytest.raises((ShapeError, GraphError)) as err:
        tiny_model(num_epoch=1).fit(mx.io.NDArrayIter(np.zeros((20, 21), np.float32), y, 10))
    msg = str(err.value)
    assert "21" in msg and "20" in msg, msg


def test_error_empty_iterator():
    x, y = recipe.tiny_data(n=20)

    class Empty(ShortLastIter):
        def next(self):
            raise StopIteration

    with pytest.raises(ValueError, match="no batch"):
        tiny_model(num_epoch=1).fit(Empty(x, y, 10))


def test_error_unknown_optimizer_metric_initializer():
    x, y = recipe.tiny_data(n=20)
    net = recipe.build_tiny(mx)
    with pytest.raises(ParamError, match="sgd") as err:
        mx.model.FeedForward(net, num_epoch=1, optimizer="sgdd").fit(mx.io.NDArrayIter(x, y, 10))
    assert "sgdd" in str(err.value) and "adam" in str(err.value)
    with pytest.raises((ValueError, SymnetError)) as err:
        tiny_model(num_epoch=1).fit(mx.io.NDArrayIter(x, y, 10), eval_metric="acurracy")
    assert "acurracy" in str(err.value) and "acc" in str(err.value)
    with pytest.raises((ValueError, SymnetError)) as err:
        mx.init.create("unifrom")
    assert "unifrom" in str(err.value) and "uniform" in str(err.value).lower()


def test_error_feedforward_initializer_name():
    x, y = recipe.tiny_data(n=20)
    net = recipe.build_tiny(mx)
    with pytest.raises((ValueError, SymnetError)) as err:
        mx.model.FeedForward(net, num_epoch=1, initializer="unifrom").fit(
            mx.io.NDArrayIter(x, y, 10))
    assert "unifrom" in str(err.value)


def test_error_checkpoint_params_do_not_match_graph(tmp_path):
    prefix = str(tmp_path / "bad")
    net = recipe.build_tiny(mx)
    x, y = recipe.tiny_data(n=20)
    good = {"fc1_weight": mx.nd.zeros((16, 20)), "fc1_bias": mx.nd.zeros((16,)),
            "fc2_weight": mx.nd.zeros((4, 16)), "fc2_bias": mx.nd.zeros((4,))}
    # FeedForward: a mis-shaped parameter names both shapes
    mx.model.save_checkpoint(prefix, 1, net, dict(good, fc1_weight=mx.nd.zeros((16, 21))), {})
    with pytest.raises(GraphError) as err:
        mx.model.FeedForward.load(prefix, 1, num_epoch=2).fit(mx.io.NDArrayIter(x, y, 10))
    msg = str(err.value).replace(" ", "")
    assert "fc1_weight" in msg and "(16,21)" in msg and "(16,20)" in msg, msg
    # FeedForward: an extra parameter is named (MXNet: ValueError unless allow_extra_params)
    mx.model.save_checkpoint(prefix, 2, net, dict(good, fc3_weight=mx.nd.zeros((4, 16))), {})
    with pytest.raises(GraphError, match="fc3_weight"):
        mx.model.FeedForward.load(prefix, 2, num_epoch=3).fit(mx.io.NDArrayIter(x, y, 10))
    # Module: extra and mis-shaped parameters in one message
    arg = {"fc1_weight": mx.nd.zeros((16, 21)), "fc1_bias": mx.nd.zeros((16,)),
           "fc2_weight": mx.nd.zeros((4, 16)), "fc2_bias": mx.nd.zeros((4,)),
           "fc3_weight": mx.nd.zeros((4, 16))}
    mx.model.save_checkpoint(prefix, 3, net, arg, {})
    with pytest.raises(GraphError) as err:
        mx.mod.Module.load(prefix, 3).bind([("data", (10, 20))], [("softmax_label", (10,))])
    msg = str(err.value).replace(" ", "")
    assert "fc3_weight" in msg and "fc1_weight" in msg and "(16,21)" in msg, msg
    # Module: a missing parameter is named (MXNet: RuntimeError, allow_missing=False)
    mx.model.save_checkpoint(prefix, 4, net, {k: v for k, v in good.items()
                                              if k != "fc2_weight"}, {})
    with pytest.raises(GraphError, match="fc2_weight"):
        mx.mod.Module.load(prefix, 4).bind([("data", (10, 20))], [("softmax_label", (10,))])


def test_error_module_checkpoint_one_message_names_all_problems(tmp_path):
    prefix = str(tmp_path / "bad")
    net = recipe.build_tiny(mx)
    arg = {"fc1_weight": mx.nd.zeros((16, 21)), "fc1_bias": mx.nd.zeros((16,)),
           "fc2_bias": mx.nd.zeros((4,)), "fc3_weight": mx.nd.zeros((4, 16))}
    mx.model.save_checkpoint(prefix, 1, net, arg, {})
    with pytest.raises(GraphError) as err:
        mx.mod.Module.load(prefix, 1).bind([("data", (10, 20))], [("softmax_label", (10,))])
    msg = str(err.value)
    assert "fc2_weight" in msg and "fc3_weight" in msg and "fc1_weight" in msg, msg


def test_nan_loss_raises_nonfinite_error_naming_epoch_and_batch():
    from symnet.trainer import NonFiniteError
    x, y = recipe.tiny_data(n=40)
    x = x * 1e3
    model = tiny_model(num_epoch=2, learning_rate=1e12, momentum=0.0)
    with pytest.raises(NonFiniteError) as err:
        model.fit(mx.io.NDArrayIter(x, y, 10))
    msg = str(err.value)
    assert "epoch 0" in msg and "batch" in msg, msg
