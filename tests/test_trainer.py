"""The shared training step: multi-step dispatch, device-resident data, one compilation."""
from __future__ import annotations

import logging
from unittest import mock

import numpy as np
import pytest

import symnet as mx
import symnet.trainer


def _mlp(dropout: bool = False):
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=16, name="fc1")
    net = mx.sym.Activation(net, act_type="relu", name="relu1")
    if dropout:
        net = mx.sym.Dropout(net, p=0.3, name="drop")
    net = mx.sym.FullyConnected(net, num_hidden=3, name="fc2")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def _data(n=53):
    rng = np.random.RandomState(0)
    x = rng.randn(n, 6).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32) + (x[:, 1] > 1).astype(np.float32)
    return x, y


def _skipping(select):
    """Trainers made inside the block skip steps past an epoch's end by a select
    (``select=True``: GPUs, and CPU graphs without convolutions) or a ``lax.cond``
    (``False``: CPU convolution graphs); None leaves the choice per backend and graph."""
    return mock.patch.object(symnet.trainer, "SKIP_BY_SELECT", select)


def _fit(steps, handle="pad", dropout=False, callback=None, epochs=3, select=None, n=53):
    x, y = _data(n)
    mx.random.seed(7)
    it = mx.io.NDArrayIter(x, y, 10, shuffle=False, last_batch_handle=handle)
    model = mx.model.FeedForward(_mlp(dropout), num_epoch=epochs, learning_rate=0.5,
                                 momentum=0.9, steps_per_execution=steps,
                                 initializer=mx.init.Xavier())
    with _skipping(select):
        model.fit(it, batch_end_callback=callback)
    if select is not None:
        assert model._trainer.skip_by_select is select
    return model


@pytest.mark.parametrize("handle", ["pad", "roll_over", "discard"])
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("select", [False, True])
def test_multi_step_dispatch_equals_single_steps(handle, dropout, select):
    # 6 batches an epoch in dispatches of 4: the second dispatch runs 2 steps past the end,
    # which must leave the parameters, optimizer state and metric unchanged.
    one = _fit(1, handle, dropout)
    many = _fit(4, handle, dropout, select=select)
    assert many.history[-1]["train"] == pytest.approx(one.history[-1]["train"], rel=1e-6)
    for name, value in one.arg_params.items():
        np.testing.assert_allclose(many.arg_params[name].asnumpy(), value.asnumpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)
    assert many._trainer.compile_count == 1  # the scan, whatever the epoch's batch count


@pytest.mark.parametrize("handle", ["pad", "roll_over"])
def test_whole_dispatch_epochs_run_without_skipping(handle):
    # 60 samples, batches of 10, 3 steps a dispatch: every dispatch is full, so the scanned
    # step runs without the select that skips past-end steps; not under roll_over, whose
    # batch count may change from epoch to epoch.
    seen = {1: [], 3: []}

    def callback(steps):
        def read(param):
            seen[steps].append((param.epoch, param.nbatch, param.eval_metric.get()[1]))
        return read

    one = _fit(1, handle, dropout=True, n=60, callback=callback(1))
    many = _fit(3, handle, dropout=True, select=True, n=60, callback=callback(3))
    skips = [key[-1] for key in many._trainer._cache if key[0] == "scan"]
    assert skips == [handle == "roll_over"]
    assert many._trainer.compile_count == 1
    assert [s[:2] for s in seen[3]] == [(e, b) for e in range(3) for b in range(1, 7)]
    np.testing.assert_allclose([s[2] for s in seen[3]], [s[2] for s in seen[1]], rtol=1e-6)
    assert many.history[-1]["train"] == pytest.approx(one.history[-1]["train"], rel=1e-6)
    for name, value in one.arg_params.items():
        np.testing.assert_allclose(many.arg_params[name].asnumpy(), value.asnumpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def _fit_shuffled(prefetch, epoch_end=None, steps=4):
    """3 epochs of a shuffling iterator with dropout, ``epoch_end(iterator, epoch)`` called at
    each epoch's end; (model, whether each epoch found its inputs sent ahead still valid)."""
    x, y = _data()
    mx.random.seed(11)
    np.random.seed(5)
    it = mx.io.NDArrayIter(x, y, 10, shuffle=True)
    model = mx.model.FeedForward(_mlp(dropout=True), num_epoch=3, learning_rate=0.5,
                                 steps_per_execution=steps, initializer=mx.init.Xavier())
    used = []
    matches = symnet.trainer._Ahead.matches

    def spy(self, *args):
        used.append(matches(self, *args))
        return used[-1]

    callback = None if epoch_end is None else (lambda epoch, *_: epoch_end(it, epoch))
    with mock.patch.object(symnet.trainer._Ahead, "matches", spy):
        if prefetch:
            model.fit(it, epoch_end_callback=callback)
        else:
            with mock.patch.object(symnet.trainer.Session, "prefetch_epoch"):
                model.fit(it, epoch_end_callback=callback)
    return model, used


@pytest.mark.parametrize("steps", [1, 4])
def test_next_epoch_sent_ahead_changes_nothing(steps):
    # FeedForward.fit sends the next epoch's plan, key and metric state while the device
    # finishes an epoch; the results are those of sending them when the epoch starts.
    ahead, used = _fit_shuffled(True, steps=steps)
    plain, unused = _fit_shuffled(False, steps=steps)
    assert used == [True, True] and unused == []
    assert [h["train"] for h in ahead.history] == [h["train"] for h in plain.history]
    for name, value in plain.arg_params.items():
        np.testing.assert_array_equal(ahead.arg_params[name].asnumpy(), value.asnumpy(),
                                      err_msg=name)


def test_next_epoch_sent_ahead_is_dropped_when_a_callback_reshuffles_or_draws_a_key():
    def epoch_end(it, epoch):
        if epoch == 0:
            it.reset()  # a new order for epoch 1
        else:
            mx.random.uniform(shape=(1,))  # epoch 2's key is not the one sent ahead

    ahead, used = _fit_shuffled(True, epoch_end)
    plain, _ = _fit_shuffled(False, epoch_end)
    assert used == [False, False]
    for name, value in plain.arg_params.items():
        np.testing.assert_array_equal(ahead.arg_params[name].asnumpy(), value.asnumpy(),
                                      err_msg=name)


def test_callbacks_see_mxnet_batch_numbering_and_metrics_with_multi_step(caplog):
    logs, ahead = {}, {}
    for steps in (1, 4):
        seen, ahead[steps] = [], []
        speed = mx.callback.Speedometer(10, frequent=2)

        def callback(param, seen=seen, speed=speed, got=ahead[steps]):
            seen.append((param.epoch, param.nbatch))
            got.append(param.locals["batches_ahead"])
            speed(param)

        with caplog.at_level(logging.INFO):
            caplog.clear()
            _fit(steps, callback=callback, epochs=2)
        lines = [r.getMessage() for r in caplog.records if "Batch [" in r.getMessage()]
        logs[steps] = ([line.split("\t")[0] + "\t" + line.split("\t")[2] for line in lines],
                       seen)
    assert logs[1] == logs[4]
    assert logs[1][1] == [(e, b) for e in range(2) for b in range(1, 7)]
    # later batches of the same dispatch: 6 batches an epoch in dispatches of 4, then of 2
    assert ahead[1] == [0] * 12
    assert ahead[4] == [3, 2, 1, 0, 1, 0] * 2
    assert len(logs[1][0]) == 6  # batches 2, 4, 6 of each epoch log an accuracy


def test_training_metric_excludes_padding_on_device():
    x, y = _data(n=25)
    it = mx.io.NDArrayIter(x, y, 10, shuffle=False, last_batch_handle="pad")
    model = mx.model.FeedForward(_mlp(), num_epoch=1, learning_rate=0.0,
                                 initializer=mx.init.Xavier())
    model.fit(it)
    pred = model.predict(x).argmax(1)
    acc = float((pred == y).mean())
    np.testing.assert_allclose(model.history[0]["train"]["accuracy"], acc, rtol=1e-6)
    assert model.predict(x).shape == (25, 3)


@pytest.mark.parametrize("steps,select", [(1, None), (4, False), (4, True)])
def test_inner_loop_makes_no_implicit_host_transfers(steps, select):
    """The resident training loop passes only device values: run it under a transfer guard."""
    x, y = _data()
    it = mx.io.NDArrayIter(x, y, 10, shuffle=False)
    model = mx.model.FeedForward(_mlp(dropout=True), num_epoch=1, learning_rate=0.1,
                                 steps_per_execution=steps, initializer=mx.init.Xavier())
    with _skipping(select):
        model.fit(it)  # compiles; the guarded epoch reuses the compiled step
    assert _guarded_epoch(model, it) == 6


def _guarded_epoch(model, it) -> int:
    """Train ``model`` one more epoch of ``it`` under ``transfer_guard('disallow')``."""
    import jax
    it.reset()
    session = model._session
    metric = mx.metric.create("acc")
    arrays = session.resident_arrays(it)
    with jax.transfer_guard("disallow"):
        count = session.train_epoch_resident(it, arrays, metric, 0, lambda nb, pad, ahead: None,
                                             want_metric=False)
    assert 0.0 <= metric.get()[1] <= 1.0
    return count


def test_micro_batched_conv_loop_makes_no_implicit_host_transfers(monkeypatch):
    """The same guard on the scanned im2col step split into micro-batches (CPU default)."""
    import jax
    import symnet.trainer as trainer
    if jax.default_backend() != "cpu":
        pytest.skip("the scanned im2col step is the CPU default only")
    monkeypatch.setattr(trainer, "IM2COL_MICRO_BYTES", 12 * 6 * 6 * 9 * 4 // 2)
    rng = np.random.RandomState(2)
    x = rng.rand(36, 1, 8, 8).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > 0.5).astype(np.float32)
    it = mx.io.NDArrayIter(x, y, 12, shuffle=True)
    model = mx.model.FeedForward(_small_convnet(), num_epoch=1, learning_rate=0.1,
                                 steps_per_execution=2, initializer=mx.init.Xavier())
    model.fit(it)  # compiles the warm-start step and the scan
    assert trainer.micro_batches(model._trainer.symbol,
                                 {"data": (12, 1, 8, 8), "softmax_label": (12,)}) == 2
    assert _guarded_epoch(model, it) == 3


def test_dropout_masks_change_between_epochs():
    x, y = _data()
    mx.random.seed(3)
    it = mx.io.NDArrayIter(x, y, 10, shuffle=False)
    model = mx.model.FeedForward(_mlp(dropout=True), num_epoch=1, learning_rate=0.1,
                                 initializer=mx.init.Xavier())
    model.fit(it)
    session = model._session
    keys = []
    for _ in range(2):
        session.new_epoch()
        keys.append(np.asarray(session._key))
    assert not np.array_equal(keys[0], keys[1])


def test_bfloat16_compute_keeps_float32_master_weights_and_learns():
    x, y = _data(n=200)
    it = mx.io.NDArrayIter(x, y, 20, shuffle=False)
    results = {}
    for dtype in (None, "bfloat16"):
        mx.random.seed(0)
        model = mx.model.FeedForward(_mlp(), num_epoch=5, learning_rate=0.5, momentum=0.9,
                                     compute_dtype=dtype, initializer=mx.init.Xavier())
        model.fit(it)
        it.reset()
        assert all(v.dtype == np.float32 for v in model.arg_params.values())
        results[dtype] = model.score(mx.io.NDArrayIter(x, y, 20))
    assert results["bfloat16"] > 0.8
    assert abs(results["bfloat16"] - results[None]) < 0.1  # tiny data: coarse bound


def test_random_seed_reproduces_init_shuffle_and_dropout():
    x, y = _data(n=40)
    results = []
    for _ in range(2):
        mx.random.seed(11)
        it = mx.io.NDArrayIter(x, y, 10, shuffle=True)
        model = mx.model.FeedForward(_mlp(dropout=True), num_epoch=2, learning_rate=0.3,
                                     initializer=mx.init.Uniform(0.2))
        model.fit(it)
        results.append({k: v.asnumpy() for k, v in model.arg_params.items()})
    for name in results[0]:
        np.testing.assert_array_equal(results[0][name], results[1][name], err_msg=name)


def test_multi_step_composite_metric_matches_single_step():
    values = {}
    for steps in (1, 4):
        seen = []

        def callback(param, seen=seen):
            if param.nbatch % 2 == 0:
                seen.append(tuple(v for _, v in param.eval_metric.get_name_value()))

        x, y = _data()
        mx.random.seed(7)
        it = mx.io.NDArrayIter(x, y, 10, shuffle=False)
        model = mx.model.FeedForward(_mlp(), num_epoch=2, learning_rate=0.5,
                                     steps_per_execution=steps, initializer=mx.init.Xavier())
        model.fit(it, eval_metric=["acc", "ce"], batch_end_callback=callback)
        values[steps] = (seen, model.history[-1]["train"])
    np.testing.assert_allclose(np.array(values[1][0]), np.array(values[4][0]), rtol=1e-5)
    assert values[1][1].keys() == values[4][1].keys()
    for key in values[1][1]:
        np.testing.assert_allclose(values[4][1][key], values[1][1][key], rtol=1e-5)


# ---- steps per dispatch: the default policy and the warm start ---------------------------------

def _small_convnet(filters=4, kernel=3):
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(kernel, kernel), num_filter=filters, name="conv")
    net = mx.sym.Activation(net, act_type="relu", name="relu")
    net = mx.sym.Pooling(net, pool_type="max", kernel=(2, 2), stride=(2, 2), name="pool")
    net = mx.sym.FullyConnected(mx.sym.flatten(net), num_hidden=3, name="fc")
    return mx.sym.SoftmaxOutput(net, name="softmax")


def test_auto_steps_policy():
    from symnet.trainer import IM2COL_SCAN_MAX_PATCH, auto_steps
    import graphs
    mnist = {"data": (100, 1, 28, 28), "softmax_label": (100,)}
    assert auto_steps(_mlp(), {"data": (10, 6)}) == 10
    assert auto_steps(graphs.build("lenet"), mnist) == 10
    # ResNet-20's first stage: 28*28*16*3*3 = 112,896 values per sample > the limit
    assert auto_steps(graphs.build("resnet-20-cifar"), dict(mnist, data=(100, 3, 28, 28))) == 1
    assert 28 * 28 * 16 * 9 > IM2COL_SCAN_MAX_PATCH > 8 * 8 * 20 * 5 * 5  # LeNet's conv2
    # GPUs scan every graph (measured on an H100: benchmarks/RESULTS.md, section GPU)
    assert auto_steps(graphs.build("resnet-20-cifar"), dict(mnist, data=(100, 3, 28, 28)),
                      backend="gpu") == 10
    assert auto_steps(graphs.build("lenet"), None, backend="cpu") == 1  # shapes unknown


def test_lowering_follows_the_training_devices_not_the_default_backend():
    """ctx=mx.cpu() on a GPU host trains on the CPU: the CPU's passes, steps and skipping."""
    from symnet.trainer import Trainer
    x = np.random.RandomState(0).rand(20, 1, 8, 8).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > 0.5).astype(np.float32)
    net = _small_convnet()
    gpu = Trainer(net, ["data"], ["softmax_label"], backend="gpu")
    assert (gpu.graph.mode, gpu.scan_graph.mode, gpu.loops_well, gpu.skip_by_select) == (
        "none", "none", True, True)
    with mock.patch("jax.default_backend", return_value="gpu"):  # a GPU host, simulated
        model = mx.model.FeedForward(net, ctx=mx.cpu(), num_epoch=1, learning_rate=0.1,
                                     initializer=mx.init.Xavier())
        model.fit(mx.io.NDArrayIter(x, y, 10))
        trainer = model._trainer
        assert trainer.backend == "cpu"
        assert (trainer.graph.mode, trainer.scan_graph.mode) == ("nhwc", "nhwc+im2col")
        assert (trainer.loops_well, trainer.skip_by_select) == (False, False)
        # The CPU skips by select only where steps are cheap: graphs without convolutions.
        assert Trainer(_mlp(), ["data"], ["softmax_label"], backend="cpu").skip_by_select
        assert model._session.steps == 10  # the CPU's choice for small convolutions
        model.predict(x)
        assert model._trainer.backend == "cpu"
        mod = mx.mod.Module(net, context=mx.cpu())
        mod.bind(data_shapes=[("data", (10, 1, 8, 8))], label_shapes=[("softmax_label", (10,))])
        mod.init_params(mx.init.Xavier())
        assert mod._session.trainer.backend == "cpu"
        assert mod._session.trainer.graph.mode == "nhwc"
        exe = net.simple_bind(mx.cpu(), data=(10, 1, 8, 8))
        assert exe._graph.mode == "nhwc"


def test_auto_steps_keeps_conv_graphs_out_of_scans_without_the_passes(monkeypatch):
    from symnet.trainer import auto_steps
    import graphs
    monkeypatch.setenv("SYMNET_OPTIMIZE", "none")  # no im2col: convolutions would loop slowly
    net = graphs.build("torch_cnn")
    assert auto_steps(net, {"data": (100, 1, 28, 28), "softmax_label": (100,)}) == 1
    assert auto_steps(_mlp(), {"data": (10, 6)}) == 10


def test_conv_graph_warm_start_matches_plain_steps():
    """On the CPU a scanned conv graph first runs one plain step, then k-step scans."""
    import jax
    rng = np.random.RandomState(1)
    x = rng.rand(25, 1, 8, 8).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > 0.5).astype(np.float32)
    out, seen = {}, {}
    for steps in (1, 4):
        mx.random.seed(2)
        it = mx.io.NDArrayIter(x, y, 10, shuffle=True)
        model = mx.model.FeedForward(_small_convnet(), num_epoch=3, learning_rate=0.2,
                                     momentum=0.9, steps_per_execution=steps,
                                     initializer=mx.init.Xavier())
        seen[steps] = []
        model.fit(it, batch_end_callback=lambda p, s=seen[steps]: s.append(
            (p.epoch, p.nbatch, p.eval_metric.get()[1])))
        out[steps] = model
    trainer = out[4]._trainer
    if jax.default_backend() == "cpu":
        assert trainer.scan_graph is not trainer.graph
        # the plain step (the warm start) and the scan: each compiled exactly once
        assert trainer.compile_count == 2
        assert all(fn._cache_size() == 1 for fn in trainer._cache.values())
    assert [s[:2] for s in seen[4]] == [(e, b) for e in range(3) for b in (1, 2, 3)]
    np.testing.assert_allclose([s[2] for s in seen[4]], [s[2] for s in seen[1]], atol=1e-6)
    for name, value in out[1].arg_params.items():
        np.testing.assert_allclose(out[4].arg_params[name].asnumpy(), value.asnumpy(),
                                   rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_sees_every_nonfinite_value(bad):
    import jax
    from symnet.trainer import _all_finite
    check = jax.jit(lambda outs: _all_finite(outs))
    rng = np.random.RandomState(0)
    big = ((rng.rand(64, 3, 25) - 0.5) * 6e38).astype(np.float32)  # sums would overflow
    small = rng.rand(100, 10).astype(np.float32)
    assert bool(check((big, small)))
    for pos in (0, 1, 2399, 4799):
        b = big.copy()
        b.flat[pos] = bad
        assert not bool(check((b, small))), pos
    s = small.copy()
    s[99, 9] = bad
    assert not bool(check((big, s)))


@pytest.mark.parametrize("steps", [1, 4])
def test_nonfinite_error_names_the_first_bad_batch(steps):
    from symnet.trainer import NonFiniteError
    x, y = _data(n=60)
    x[25] = np.nan  # batch 2 of 10-row batches (no shuffle)
    model = mx.model.FeedForward(_mlp(), num_epoch=1, learning_rate=0.1,
                                 steps_per_execution=steps, initializer=mx.init.Xavier())
    with pytest.raises(NonFiniteError, match="epoch 0, batch 2;"):
        model.fit(mx.io.NDArrayIter(x, y, 10))


def test_micro_batches_policy():
    from symnet.trainer import IM2COL_MICRO_BYTES, micro_batches
    import graphs
    mnist = {"data": (100, 1, 28, 28), "softmax_label": (100,)}
    # LeNet's conv2 patches: 100 x 8*8*20*5*5 floats = 12.8 MB -> two micro-batches of 6.4 MB
    assert 100 * 8 * 8 * 500 * 4 > IM2COL_MICRO_BYTES >= 50 * 8 * 8 * 500 * 4
    assert micro_batches(graphs.build("lenet"), mnist) == 2
    assert micro_batches(graphs.build("lenet"), {"data": (50, 1, 28, 28),
                                                 "softmax_label": (50,)}) == 1
    assert micro_batches(graphs.build("lenet"), {"data": (1000, 1, 28, 28),
                                                 "softmax_label": (1000,)}) == 8  # at most 8
    assert micro_batches(graphs.build("lenet"), {"data": (101, 1, 28, 28),
                                                 "softmax_label": (101,)}) == 1  # prime
    assert micro_batches(_mlp(), {"data": (100, 6), "softmax_label": (100,)}) == 1  # no conv
    assert micro_batches(graphs.build("torch_cnn"), mnist) == 1  # Dropout draws random numbers


@pytest.mark.parametrize("change", ["batchnorm", "normalization", "flattened_label"])
def test_micro_batches_refuse_graphs_that_mix_rows(change, monkeypatch):
    import symnet.trainer as trainer
    monkeypatch.setattr(trainer, "IM2COL_MICRO_BYTES", 64)
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, kernel=(3, 3), num_filter=4, name="conv")
    if change == "batchnorm":  # batch statistics couple the rows
        net = mx.sym.BatchNorm(net, name="bn")
    if change == "flattened_label":  # 4-D softmax with (N, H, W) labels reads label rows 0..N-1
        net = mx.sym.SoftmaxOutput(net, name="softmax")
        shapes = {"data": (8, 1, 6, 6), "softmax_label": (8, 4, 4)}
    else:
        net = mx.sym.FullyConnected(mx.sym.flatten(net), num_hidden=3, name="fc")
        norm = "batch" if change == "normalization" else "null"
        net = mx.sym.SoftmaxOutput(net, normalization=norm, name="softmax")
        shapes = {"data": (8, 1, 6, 6), "softmax_label": (8,)}
    assert trainer.micro_batches(net, shapes) == 1
    if change != "flattened_label":
        plain = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.flatten(
            mx.sym.Convolution(data, kernel=(3, 3), num_filter=4)), num_hidden=3))
        assert trainer.micro_batches(plain, shapes) == 8  # the same graph without the change


def test_micro_batched_scan_step_equals_the_whole_batch(monkeypatch):
    """Splitting the scanned im2col step into micro-batches adds up to the same update."""
    import jax
    import symnet.trainer as trainer
    if jax.default_backend() != "cpu":
        pytest.skip("the scanned im2col step is the CPU default only")
    rng = np.random.RandomState(3)
    x = rng.rand(36, 1, 8, 8).astype(np.float32)
    y = (x[:, 0, :4].mean(axis=(1, 2)) > 0.5).astype(np.float32)
    shapes = {"data": (12, 1, 8, 8), "softmax_label": (12,)}
    out, seen = {}, {}
    for limit in (1 << 40, 12 * 6 * 6 * 9 * 4 // 3):  # whole batch, then 3 micro-batches
        monkeypatch.setattr(trainer, "IM2COL_MICRO_BYTES", limit)
        mx.random.seed(5)
        model = mx.model.FeedForward(_small_convnet(), num_epoch=2, learning_rate=0.2,
                                     momentum=0.9, steps_per_execution=3,
                                     initializer=mx.init.Xavier())
        seen[limit] = []
        model.fit(mx.io.NDArrayIter(x, y, 12, shuffle=True), eval_metric=["acc", "ce"],
                  batch_end_callback=lambda p, s=seen[limit]: s.append(
                      [v for _, v in p.eval_metric.get_name_value()]))
        out[limit] = model
        assert trainer.micro_batches(model._trainer.symbol, shapes) == (
            1 if limit > 1 << 30 else 3)
        assert model._trainer.compile_count == 2  # warm-start step + the scan, once each
    whole, split = out.values()
    np.testing.assert_allclose(*seen.values(), rtol=1e-5)
    for name, value in whole.arg_params.items():
        np.testing.assert_allclose(split.arg_params[name].asnumpy(), value.asnumpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


def test_inference_in_one_dispatch_equals_batch_by_batch():
    """predict/score run every batch in one scan unless a callback reads the metric per batch."""
    x, y = _data(n=47)  # 5 batches, the last one padded
    mx.random.seed(4)
    model = mx.model.FeedForward(_mlp(), num_epoch=1, learning_rate=0.3,
                                 initializer=mx.init.Xavier())
    model.fit(mx.io.NDArrayIter(x, y, 10))
    it = mx.io.NDArrayIter(x, y, 10)
    scanned = model.predict(it)
    batched, _, _ = model.predict(it, return_data=True)  # the per-batch path
    assert scanned.shape == (47, 3)
    np.testing.assert_allclose(scanned, batched, rtol=1e-6, atol=1e-7)
    assert model._session.trainer.loops_well  # no convolutions
    assert any(k[0] == "gather_all" for k in model._session.trainer._cache)
    seen = []
    quiet = model.score(mx.io.NDArrayIter(x, y, 10), "ce")
    loud = model.score(mx.io.NDArrayIter(x, y, 10), "ce",
                       batch_end_callback=lambda p: seen.append(p.eval_metric.get()[1]))
    np.testing.assert_allclose(quiet, loud, rtol=1e-6)
    assert len(seen) == 5 and seen[-1] == pytest.approx(loud, rel=1e-6)
    probs = batched[np.arange(47), y.astype(int)]
    np.testing.assert_allclose(quiet, -np.log(probs).mean(), rtol=1e-5)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", True])
def test_steps_per_execution_must_be_a_positive_integer(bad):
    with pytest.raises(mx.base.ParamError, match=r"FeedForward: steps_per_execution .*"
                                                 + repr(bad).replace(".", r"\.")):
        mx.model.FeedForward(_mlp(), num_epoch=1, steps_per_execution=bad)
    with pytest.raises(mx.base.ParamError, match="Module: steps_per_execution"):
        mx.mod.Module(_mlp(), steps_per_execution=bad)
