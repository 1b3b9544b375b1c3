"""Module (mx.mod) against MXNet 1.9.1 training goldens and against its own fit loop."""
from __future__ import annotations

import os

import numpy as np
import pytest

import symnet as mx
from symnet.base import GraphError, ParamError, ShapeError, SymnetError

from test_model import (FIX, GOLD, LogCapture, ShortLastIter, assert_stats_close,  # noqa: F401
                        mnist_iters, mnist_setup, recipe, stats_of)


def tiny_init(seed=5):
    net = recipe.build_tiny(mx)
    shapes, _, _ = net.infer_shape(data=(10, 20))
    names = [a for a in net.list_arguments() if a not in ("data", "softmax_label")]
    shape_of = dict(zip(net.list_arguments(), shapes))
    init = recipe.init_params(names, [shape_of[n] for n in names], seed=seed)
    return net, {k: mx.nd.array(v) for k, v in init.items()}


OPT = {"learning_rate": 0.1, "momentum": 0.9, "wd": 1e-4}


@pytest.mark.parametrize("netname,steps,tol", [("mlp", None, 1e-4), ("lenet", 1, 2e-3),
                                               ("lenet", None, 1e-2)])
def test_module_fit_matches_mxnet(netname, steps, tol):
    """As test_model's FeedForward test: LeNet's steps are f32-chaos close (see there)."""
    gold = GOLD[netname]["module"]
    net, X, y, init = mnist_setup(getattr(recipe, "build_" + netname))
    train, val = mnist_iters(X, y)
    mod = mx.mod.Module(net, context=mx.cpu(), steps_per_execution=steps)
    with LogCapture() as cap:
        mod.fit(train, eval_data=val, optimizer="sgd", optimizer_params=dict(recipe.OPT),
                arg_params={k: mx.nd.array(v) for k, v in init.items()}, num_epoch=1,
                batch_end_callback=mx.callback.Speedometer(recipe.BATCH, 5))
    arg, aux = mod.get_params()
    assert aux == {}
    assert mod._session.steps == (steps or 10)
    assert_stats_close(gold["params"], stats_of(arg), rtol=tol)
    assert [recipe.mask_line(s) for s in cap.lines] == gold["log"]
    _, val = mnist_iters(X, y)
    res = mod.score(val, "acc")
    assert [n for n, _ in res] == [n for n, _ in gold["score"]]
    assert res[0][1] == pytest.approx(gold["score"][0][1], abs=1e-9 if tol < 1e-3 else 0.01)


def test_imperative_loop_equals_fit(tmp_path):
    x, y = recipe.tiny_data()
    net, init = tiny_init()
    it = mx.io.NDArrayIter(x, y, 10, shuffle=False)
    ref = mx.mod.Module(net)
    with LogCapture() as cap:
        ref.fit(it, optimizer="sgd", optimizer_params=OPT, arg_params=init, num_epoch=2)
    ref_arg, _ = ref.get_params()
    train_acc = [s for s in cap.lines if "Train-accuracy" in s]

    mod = mx.mod.Module(net, data_names=("data",), label_names=("softmax_label",))
    mod.bind(data_shapes=it.provide_data, label_shapes=it.provide_label)
    assert mod.binded and mod.data_names == ["data"] and mod.label_names == ["softmax_label"]
    assert [tuple(s) for _, s in mod.output_shapes] == [(10, 4)]
    mod.init_params(arg_params=init)
    mod.init_optimizer(optimizer="sgd", optimizer_params=OPT)
    metric = mx.metric.create("acc")
    logs = []
    for epoch in range(2):
        it.reset()
        metric.reset()
        for batch in it:
            mod.forward(batch, is_train=True)
            mod.backward()
            mod.update()
            mod.update_metric(metric, batch.label)
        logs.append("Epoch[%d] Train-%s=%f" % ((epoch,) + metric.get()))
    assert logs == train_acc
    arg, _ = mod.get_params()
    for k in ref_arg:
        np.testing.assert_allclose(arg[k].asnumpy(), ref_arg[k].asnumpy(), rtol=1e-5,
                                   atol=1e-7, err_msg=k)
    assert not np.allclose(arg["fc1_weight"].asnumpy(), init["fc1_weight"].asnumpy())

    # get_outputs after an inference forward equals predict and is a probability table
    batch = mx.io.DataBatch([mx.nd.array(x[:10])], [mx.nd.array(y[:10])])
    mod.forward(batch, is_train=False)
    out = mod.get_outputs()[0].asnumpy()
    assert out.shape == (10, 4)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)
    pred = mod.predict(mx.io.NDArrayIter(x[:10], None, 10)).asnumpy()
    np.testing.assert_allclose(pred, out, rtol=1e-6, atol=1e-7)
    # numpy reference of the forward pass
    a = {k: v.asnumpy() for k, v in arg.items()}
    h = np.maximum(x[:10] @ a["fc1_weight"].T + a["fc1_bias"], 0)
    z = h @ a["fc2_weight"].T + a["fc2_bias"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(out, e / e.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)

    # set_params / get_params round trip
    other = mx.mod.Module(net)
    other.bind(data_shapes=it.provide_data, label_shapes=it.provide_label, for_training=False)
    other.set_params(arg, {})
    arg2, _ = other.get_params()
    for k in arg:
        assert np.array_equal(arg2[k].asnumpy(), arg[k].asnumpy()), k
    np.testing.assert_array_equal(
        other.predict(mx.io.NDArrayIter(x[:10], None, 10)).asnumpy(), pred)

    # save_checkpoint / load
    prefix = str(tmp_path / "mod")
    mod.save_checkpoint(prefix, 2)
    assert sorted(os.listdir(tmp_path)) == ["mod-0002.params", "mod-symbol.json"]
    loaded = mx.mod.Module.load(prefix, 2)
    loaded.bind(data_shapes=it.provide_data, label_shapes=it.provide_label, for_training=False)
    np.testing.assert_array_equal(
        loaded.predict(mx.io.NDArrayIter(x[:10], None, 10)).asnumpy(), pred)


def test_module_loads_mxnet_checkpoint():
    x, y = recipe.tiny_data()
    mod = mx.mod.Module.load(os.path.join(FIX, "tiny"), 2)
    mod.bind(data_shapes=[("data", (10, 20))], label_shapes=[("softmax_label", (10,))],
             for_training=False)
    pred = mod.predict(mx.io.NDArrayIter(x[:10], None, 10)).asnumpy()
    np.testing.assert_allclose(pred, np.array(GOLD["tiny"]["predict10"]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("handle", ["pad", "roll_over", "discard", "short"])
def test_module_partial_batch_no_recompile(handle):
    x, y = recipe.tiny_data(n=25)
    if handle == "short":
        it = ShortLastIter(x, y, 10)
    else:
        it = mx.io.NDArrayIter(x, y, 10, shuffle=False, last_batch_handle=handle)
    net, init = tiny_init()
    mod = mx.mod.Module(net)
    seen = []
    mod.fit(it, optimizer_params=OPT, arg_params=init, num_epoch=2,
            batch_end_callback=lambda p: seen.append((p.epoch, p.nbatch)))
    assert mod._session.trainer.compile_count == 1
    per_epoch = {"pad": (3, 3), "roll_over": (2, 3), "discard": (2, 2), "short": (3, 3)}[handle]
    # Module counts batches from 0 (FeedForward from 1)
    assert seen == [(e, b) for e in range(2) for b in range(per_epoch[e])]


def test_module_score_excludes_padded_rows():
    x, y = recipe.tiny_data(n=10)
    net, init = tiny_init()
    mod = mx.mod.Module(net)
    mod.bind(data_shapes=[("data", (4, 20))], label_shapes=[("softmax_label", (4,))],
             for_training=False)
    mod.init_params(arg_params=init)
    probs = mod.predict(mx.io.NDArrayIter(x, None, 4)).asnumpy()
    assert probs.shape == (10, 4)
    pred = probs.argmax(axis=1)
    lab = pred.astype(np.float32)
    lab[[0, 1, 5]] = (pred[[0, 1, 5]] + 1) % 4   # rows 0, 1 are the padding rows
    res = mod.score(mx.io.NDArrayIter(x, lab, 4, last_batch_handle="pad"), "acc")
    assert res == [("accuracy", pytest.approx(0.7, abs=1e-12))]
    assert mod.score(ShortLastIter(x, lab, 4), "acc")[0][1] == pytest.approx(0.7, abs=1e-12)


def test_module_train_metric_excludes_padded_rows():
    # lr 0 keeps the parameters fixed, so Train-accuracy is a plain numpy accuracy
    x, y = recipe.tiny_data(n=10)
    net, init = tiny_init()
    probe = mx.mod.Module(net)
    probe.bind(data_shapes=[("data", (4, 20))], for_training=False, label_shapes=None)
    probe.init_params(arg_params=init)
    pred = probe.predict(mx.io.NDArrayIter(x, None, 4)).asnumpy().argmax(axis=1)
    lab = pred.astype(np.float32)
    lab[[0, 1, 5]] = (pred[[0, 1, 5]] + 1) % 4
    mod = mx.mod.Module(net)
    with LogCapture() as cap:
        mod.fit(mx.io.NDArrayIter(x, lab, 4, last_batch_handle="pad"), arg_params=init,
                optimizer_params={"learning_rate": 0.0}, num_epoch=1)
    assert "Epoch[0] Train-accuracy=0.700000" in cap.lines, cap.lines


def test_module_errors():
    x, y = recipe.tiny_data(n=20)
    net, init = tiny_init()
    with pytest.raises(GraphError, match="datum"):
        mx.mod.Module(net, data_names=("datum",))
    mod = mx.mod.Module(net)
    mod.bind(data_shapes=[("data", (10, 20))], label_shapes=[("softmax_label", (10,))])
    mod.init_params(arg_params=init)
    with pytest.raises(ParamError) as err:
        mod.init_optimizer(optimizer="sgdd")
    assert "sgdd" in str(err.value) and "adam" in str(err.value)
    with pytest.raises((ValueError, SymnetError)) as err:
        mx.mod.Module(net).fit(mx.io.NDArrayIter(x, y, 10), eval_metric="acurracy",
                               num_epoch=1, arg_params=init)
    assert "acurracy" in str(err.value) and "acc" in str(err.value)
    with pytest.raises(SymnetError):
        mx.mod.Module(net).init_params()          # not bound


def test_module_bind_rejects_inconsistent_shapes():
    net, _ = tiny_init()
    mod = mx.mod.Module(net)
    with pytest.raises((ShapeError, GraphError)) as err:
        mod.bind(data_shapes=[("data", (10, 20))], label_shapes=[("softmax_label", (7,))])
    msg = str(err.value).replace(" ", "")
    assert "label" in msg and "(7,)" in msg and "(10,)" in msg, msg


def test_module_forward_rejects_wrong_feature_shape():
    net, init = tiny_init()
    mod = mx.mod.Module(net)
    mod.bind(data_shapes=[("data", (10, 20))], label_shapes=[("softmax_label", (10,))])
    mod.init_params(arg_params=init)
    with pytest.raises((ShapeError, GraphError)) as err:
        mod.forward(mx.io.DataBatch([mx.nd.zeros((10, 21))], [mx.nd.zeros((10,))]))
    msg = str(err.value).replace(" ", "")
    assert "data" in msg and "(10,21)" in msg and "(10,20)" in msg, msg


def test_module_fit_rejects_wrong_feature_shape_from_iterator():
    x, y = recipe.tiny_data(n=20)
    net, init = tiny_init()

    class Wrong(ShortLastIter):
        def next(self):
            b = super().next()
            return mx.io.DataBatch([mx.nd.zeros((10, 21))], b.label, pad=0)

    with pytest.raises((ShapeError, GraphError)) as err:
        mx.mod.Module(net).fit(Wrong(x, y, 10), arg_params=init, num_epoch=1)
    msg = str(err.value).replace(" ", "")
    assert "data" in msg and "21" in msg and "20" in msg, msg


def test_module_fit_nan_raises_nonfinite_error():
    from symnet.trainer import NonFiniteError
    x, y = recipe.tiny_data(n=40)
    net, init = tiny_init()
    with pytest.raises(NonFiniteError) as err:
        mx.mod.Module(net).fit(mx.io.NDArrayIter(x * 1e3, y, 10), arg_params=init, num_epoch=2,
                               optimizer_params={"learning_rate": 1e12})
    assert "epoch 0" in str(err.value) and "batch" in str(err.value)
