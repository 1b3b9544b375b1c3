"""The rest of MXNet's Module API: input gradients, Monitor, states, reshape, iter_predict,
save/load_params, optimizer states through Module.load. Goldens from tools/gen_module_fixtures.py
(MXNet 1.9.1)."""
from __future__ import annotations

import json
import logging
import os
import re

import numpy as np
import pytest

import symnet as mx
from symnet.base import GraphError, ShapeError, SymnetError

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "module")
with open(os.path.join(FIX, "module.json")) as _f:
    META = json.load(_f)
ARR = dict(np.load(os.path.join(FIX, "module.npz")))


def _case_module(name):
    case = META["cases"][name]
    net = mx.sym.load_json(case["json"])
    inputs = {n: ARR[f"{name}/in/{n}"] for n in case["data"] + case["label"]}
    mod = mx.mod.Module(net, data_names=case["data"], label_names=case["label"] or None)
    mod.bind(data_shapes=[(n, inputs[n].shape) for n in case["data"]],
             label_shapes=[(n, inputs[n].shape) for n in case["label"]] or None,
             inputs_need_grad=True)
    mod.set_params({n: mx.nd.array(ARR[f"{name}/in/{n}"]) for n in case["params"]},
                   {n: mx.nd.array(ARR[f"{name}/in/{n}"]) for n in case["aux"]})
    batch = mx.io.DataBatch([mx.nd.array(inputs[n]) for n in case["data"]],
                            [mx.nd.array(inputs[n]) for n in case["label"]] or None)
    return case, mod, batch


@pytest.mark.parametrize("name", ["conv", "two_inputs", "head_grad"])
def test_input_grads_match_mxnet(name):
    case, mod, batch = _case_module(name)
    mod.forward(batch, is_train=True)
    head = ARR.get(f"{name}/head")
    mod.backward(None if head is None else [mx.nd.array(head)])
    grads = mod.get_input_grads()
    assert len(grads) == len(case["data"])
    for n, g in zip(case["data"], grads):
        want = ARR[f"{name}/input_grad/{n}"]
        assert np.abs(want).max() > 0, n
        np.testing.assert_allclose(g.asnumpy(), want, rtol=1e-4, atol=1e-6, err_msg=n)
    for i, o in enumerate(mod.get_outputs()):
        np.testing.assert_allclose(o.asnumpy(), ARR[f"{name}/output/{i}"], rtol=1e-4,
                                   atol=1e-6)


def test_input_grads_need_inputs_need_grad():
    _, mod, batch = _case_module("head_grad")
    with pytest.raises(SymnetError, match="backward"):
        mod.get_input_grads()
    plain = mx.mod.Module(mod.symbol, label_names=None)
    plain.bind(data_shapes=[("data", (5, 6))])
    plain.init_params()
    plain.forward(batch, is_train=True)
    plain.backward([mx.nd.ones((5, 3))])
    with pytest.raises(SymnetError, match="inputs_need_grad=True"):
        plain.get_input_grads()


def _parse(line):
    m = re.match(r"Batch:\s+(\d+) (\S+)\s+(\S+)\t$", line)
    assert m, line
    return int(m.group(1)), m.group(2), float(m.group(3))


def test_monitor_in_fit_matches_mxnet(caplog):
    """Names, order, batches and values of MXNet's Monitor lines (forward outputs, then the
    updated weights and moving statistics)."""
    mon_meta = META["monitor"]
    net = mx.sym.load_json(META["cases"]["conv"]["json"])
    arg = {n: mx.nd.array(ARR[f"monitor/in/{n}"]) for n in META["cases"]["conv"]["params"]}
    aux = {n: mx.nd.array(ARR[f"monitor/in/{n}"]) for n in META["cases"]["conv"]["aux"]}
    mon = mx.mon.Monitor(2, pattern=mon_meta["pattern"])
    mod = mx.mod.Module(net)
    with caplog.at_level(logging.INFO):
        mod.fit(mx.io.NDArrayIter(ARR["monitor/x"], ARR["monitor/y"], 3), num_epoch=1,
                monitor=mon, optimizer="sgd", optimizer_params={"learning_rate": 0.1},
                arg_params=arg, aux_params=aux)
    got = [_parse(r.getMessage()) for r in caplog.records
           if r.getMessage().startswith("Batch:")]
    want = [_parse(s) for s in mon_meta["lines"]]
    assert [g[:2] for g in got] == [w[:2] for w in want]
    np.testing.assert_allclose([g[2] for g in got], [w[2] for w in want], rtol=1e-4)


def test_monitor_on_executor_and_module_forward():
    """Executor.set_monitor_callback via Monitor.install; stat_func, sort and monitor_all;
    the statistics equal numpy on the executor's own outputs."""
    data = mx.sym.Variable("data")
    fc = mx.sym.FullyConnected(data, num_hidden=3, name="fc")
    net = mx.sym.Activation(fc, act_type="tanh", name="act")
    exe = net.simple_bind(mx.cpu(), data=(2, 4))
    rng = np.random.RandomState(0)
    for n, a in exe.arg_dict.items():
        a[:] = rng.uniform(-1, 1, a.shape)
    mon = mx.mon.Monitor(1, stat_func=lambda x: mx.nd.max(x).reshape((1,)), sort=True,
                         monitor_all=True)
    mon.install(exe)
    mon.tic()
    exe.forward(is_train=False)
    res = mon.toc()
    names = [r[1] for r in res]
    assert names == sorted(names)
    assert {"fc_output", "act_output", "fc_data", "fc_weight", "act_data", "data"} <= set(names)
    got = {r[1]: float(r[2]) for r in res}
    x, w, b = (exe.arg_dict[n].asnumpy() for n in ("data", "fc_weight", "fc_bias"))
    np.testing.assert_allclose(got["fc_output"], (x @ w.T + b).max(), rtol=1e-5)
    np.testing.assert_allclose(got["act_output"], exe.outputs[0].asnumpy().max(), rtol=1e-5)
    # an inactive batch reports nothing; interval 2 skips every other batch
    assert mon.toc() == []
    mon2 = mx.mon.Monitor(2, pattern=".*output|fc_bias")
    mon2.install(exe)
    mon2.install(exe)
    seen = []
    for _ in range(4):
        mon2.tic()
        exe.forward()
        seen.append(len(mon2.toc()))
    assert seen == [3, 0, 3, 0]  # two outputs and fc_bias, once each
    # default statistic: norm(x) / sqrt(size)
    mod = mx.mod.Module(net, label_names=None)
    mod.bind(data_shapes=[("data", (2, 4))], for_training=False)
    mod.init_params(arg_params={n: exe.arg_dict[n] for n in ("fc_weight", "fc_bias")})
    mon3 = mx.mon.Monitor(1, pattern="act_output")
    mod.install_monitor(mon3)
    mod.install_monitor(mon3)  # again, as a second fit(monitor=...) does: no duplicates
    mon3.tic()
    mod.forward(mx.io.DataBatch([exe.arg_dict["data"]]))
    (step, name, text), = mon3.toc()
    out = mod.get_outputs()[0].asnumpy()
    assert (step, name) == (1, "act_output")
    np.testing.assert_allclose(float(text), np.linalg.norm(out) / np.sqrt(out.size), rtol=1e-5)


def test_feedforward_fit_with_monitor(caplog):
    x = np.random.RandomState(0).rand(20, 5).astype(np.float32)
    y = (x.sum(1) > 2.5).astype(np.float32)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2,
                                                     name="fc"), name="softmax")
    model = mx.model.FeedForward(net, num_epoch=1, learning_rate=0.1)
    with caplog.at_level(logging.INFO):
        model.fit(mx.io.NDArrayIter(x, y, 5), monitor=mx.mon.Monitor(2, pattern="fc_.*"))
    lines = [_parse(r.getMessage()) for r in caplog.records
             if r.getMessage().startswith("Batch:")]
    assert [(s, n) for s, n, _ in lines] == [(s, n) for s in (1, 3)
                                             for n in ("fc_output", "fc_weight", "fc_bias")]


def test_states_are_inputs_the_optimizer_leaves_alone():
    data, state = mx.sym.Variable("data"), mx.sym.Variable("h")
    net = mx.sym.LinearRegressionOutput(
        mx.sym.FullyConnected(data, num_hidden=2, name="fc") + state, name="lro")
    mod = mx.mod.Module(net, label_names=["lro_label"], state_names=["h"])
    mod.bind(data_shapes=[("data", (4, 3))], label_shapes=[("lro_label", (4, 2))])
    mod.init_params(mx.init.Uniform(0.5))
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5})
    arg, _ = mod.get_params()
    assert sorted(arg) == ["fc_bias", "fc_weight"]
    (h,) = mod.get_states()
    assert h.shape == (4, 2) and not h.asnumpy().any()
    mod.set_states(value=2.0)
    batch = mx.io.DataBatch([mx.nd.ones((4, 3))], [mx.nd.zeros((4, 2))])
    mod.forward(batch, is_train=False)
    w, b = arg["fc_weight"].asnumpy(), arg["fc_bias"].asnumpy()
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(),
                               np.ones((4, 3)) @ w.T + b + 2.0, rtol=1e-5)
    given = np.arange(8, dtype=np.float32).reshape(4, 2)
    mod.set_states(states=[[mx.nd.array(given)]])
    mod.forward(batch, is_train=True)
    mod.backward()
    mod.update()
    np.testing.assert_array_equal(mod.get_states(merge_multi_context=False)[0][0].asnumpy(),
                                  given)
    assert not np.allclose(mod.get_params()[0]["fc_weight"].asnumpy(), w)
    with pytest.raises(ShapeError, match="'h'"):
        mod.set_states(states=[mx.nd.zeros((2, 2))])
    with pytest.raises(GraphError, match="state name"):
        mx.mod.Module(net, label_names=["lro_label"], state_names=["nope"])


def _tiny():
    rng = np.random.RandomState(3)
    x = rng.rand(40, 6).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.float32)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(
        mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=8,
                                                name="fc1"), act_type="relu"),
        num_hidden=2, name="fc2"), name="softmax")
    return net, x, y


def test_forward_any_batch_size_iter_predict_and_reshape():
    net, x, y = _tiny()
    mod = mx.mod.Module(net)
    it = mx.io.NDArrayIter(x, y, 8)
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params(mx.init.Xavier())
    full = mod.predict(it).asnumpy()
    # a batch of 3 (MXNet reshapes on the fly): 3 rows out, equal to predict's rows
    mod.forward(mx.io.DataBatch([mx.nd.array(x[:3])]), is_train=False)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), full[:3], rtol=1e-6)
    with pytest.raises(ShapeError, match="only the batch size"):
        mod.forward(mx.io.DataBatch([mx.nd.array(x[:3, :5])]), is_train=False)
    # iter_predict: per-batch outputs without the padding of the last batch (40 = 5 x 8)
    it5 = mx.io.NDArrayIter(x[:37], None, 8)
    chunks = [(o[0].asnumpy(), i, b.pad) for o, i, b in mod.iter_predict(it5)]
    assert [i for _, i, _ in chunks] == [0, 1, 2, 3, 4] and chunks[-1][2] == 3
    np.testing.assert_allclose(np.concatenate([c for c, _, _ in chunks]), full[:37],
                               rtol=1e-6)
    # reshape to batch 5: parameters and optimizer state kept
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1,
                                                          "momentum": 0.9})
    it.reset()
    mod.forward_backward(it.next())
    mod.update()
    before = mod.get_params()[0]
    mom = mod._session.state.opt
    mod.reshape([("data", (5, 6))], [("softmax_label", (5,))])
    assert mod.data_shapes == [("data", (5, 6))]
    assert [tuple(s) for _, s in mod.output_shapes] == [(5, 2)]
    after = mod.get_params()[0]
    for k in before:
        np.testing.assert_array_equal(after[k].asnumpy(), before[k].asnumpy())
    import jax
    for a, b in zip(jax.tree_util.tree_leaves(mom),
                    jax.tree_util.tree_leaves(mod._session.state.opt)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    mod.fit(mx.io.NDArrayIter(x, y, 5), num_epoch=1)


def test_save_params_load_params_and_mxnet_file(tmp_path):
    case = META["cases"]["conv"]
    net = mx.sym.load_json(case["json"])
    mod = mx.mod.Module(net)
    mod.bind([("data", (4, 2, 5, 5))], [("softmax_label", (4,))])
    mod.load_params(os.path.join(FIX, "saved.params"))  # written by MXNet's save_params
    arg, aux = mod.get_params()
    for n in case["params"]:
        np.testing.assert_array_equal(arg[n].asnumpy(), ARR[f"conv/in/{n}"])
    assert sorted(aux) == sorted(case["aux"])
    fname = str(tmp_path / "m.params")
    mod.save_params(fname)
    saved = mx.nd.load(fname)
    assert sorted(saved) == sorted([f"arg:{n}" for n in arg] + [f"aux:{n}" for n in aux])
    other = mx.mod.Module(net)
    other.bind([("data", (4, 2, 5, 5))], [("softmax_label", (4,))])
    other.init_params()
    other.load_params(fname)
    for n, v in other.get_params()[0].items():
        np.testing.assert_array_equal(v.asnumpy(), arg[n].asnumpy())
    mx.nd.save(str(tmp_path / "bad.params"), {"weight": mx.nd.zeros((1,))})
    with pytest.raises(GraphError, match="arg:"):
        other.load_params(str(tmp_path / "bad.params"))


def test_module_load_restores_optimizer_states(tmp_path):
    """Two epochs straight equal one epoch, a checkpoint with optimizer states, Module.load
    (load_optimizer_states=True) and a second epoch: the momentum survives."""
    net, x, y = _tiny()
    init = {"fc1_weight": mx.nd.array(np.random.RandomState(1).uniform(-.5, .5, (8, 6))),
            "fc1_bias": mx.nd.zeros((8,)),
            "fc2_weight": mx.nd.array(np.random.RandomState(2).uniform(-.5, .5, (2, 8))),
            "fc2_bias": mx.nd.zeros((2,))}
    opt = {"learning_rate": 0.1, "momentum": 0.9}
    straight = mx.mod.Module(net)
    straight.fit(mx.io.NDArrayIter(x, y, 8), num_epoch=2, optimizer_params=opt,
                 arg_params=init)
    first = mx.mod.Module(net)
    first.fit(mx.io.NDArrayIter(x, y, 8), num_epoch=1, optimizer_params=opt, arg_params=init)
    prefix = str(tmp_path / "ck")
    first.save_checkpoint(prefix, 1, save_optimizer_states=True)
    results = {}
    for load_states in (True, False):
        resumed = mx.mod.Module.load(prefix, 1, load_optimizer_states=load_states)
        resumed.fit(mx.io.NDArrayIter(x, y, 8), num_epoch=2, begin_epoch=1,
                    optimizer_params=opt)
        results[load_states] = resumed.get_params()[0]
    want = straight.get_params()[0]
    for k in want:
        np.testing.assert_allclose(results[True][k].asnumpy(), want[k].asnumpy(), rtol=1e-5,
                                   atol=1e-7, err_msg=k)
    assert not np.allclose(results[False]["fc1_weight"].asnumpy(),
                           want["fc1_weight"].asnumpy(), rtol=1e-5, atol=1e-7)


def test_borrow_optimizer_and_prepare():
    net, x, y = _tiny()
    a = mx.mod.Module(net)
    a.bind([("data", (8, 6))], [("softmax_label", (8,))])
    a.init_params()
    b = mx.mod.Module(net)
    b.bind([("data", (8, 6))], [("softmax_label", (8,))])
    b.init_params()
    with pytest.raises(SymnetError, match="no optimizer"):
        b.borrow_optimizer(a)
    a.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.3})
    b.borrow_optimizer(a)
    assert b.optimizer_initialized and b._optimizer is a._optimizer
    batch = mx.io.DataBatch([mx.nd.array(x[:8])], [mx.nd.array(y[:8])])
    b.prepare(batch)
    w = b.get_params()[0]["fc2_weight"].asnumpy()
    b.forward_backward(batch)
    g = b._grads["fc2_weight"]
    b.update()
    # plain SGD with rescale_grad = 1/8 and lr 0.3
    np.testing.assert_allclose(b.get_params()[0]["fc2_weight"].asnumpy(),
                               w - 0.3 * np.asarray(g) / 8, rtol=1e-5, atol=1e-7)


def test_executor_reshape_shares_parameters():
    net, x, _ = _tiny()
    exe = net.simple_bind(mx.cpu(), data=(8, 6))
    for n, a in exe.arg_dict.items():
        if n != "softmax_label":
            a[:] = np.random.RandomState(0).uniform(-1, 1, a.shape)
    small = exe.reshape(data=(3, 6), softmax_label=(3,))
    assert small.arg_dict["fc1_weight"] is exe.arg_dict["fc1_weight"]
    assert small.arg_dict["data"].shape == (3, 6)
    full = exe.forward(data=x[:8])[0].asnumpy()
    np.testing.assert_allclose(small.forward(data=x[:3])[0].asnumpy(), full[:3], rtol=1e-6)
    with pytest.raises(ShapeError, match="softmax_label"):
        exe.reshape(data=(3, 6))
    assert exe.reshape(partial_shaping=True, data=(3, 6)).arg_dict["softmax_label"].shape == (3,)


@pytest.mark.parametrize("key", sorted(META["fused_rnn_init"]))
def test_fused_rnn_initializer_matches_mxnet(key):
    """mx.init.FusedRNN cuts the vector into MXNet's pieces (the forget-gate biases show where):
    with a given initializer, and with init=None falling back on init_params' initializer."""
    gold = META["fused_rnn_init"][key]
    mode, layers, bi = key.rsplit("_", 2)
    layers, bi = int(layers), bool(int(bi))
    fused = mx.init.FusedRNN(mx.init.One(), 3, layers, mode, bi, forget_bias=2.5)
    arr = mx.nd.zeros((gold["size"],))
    mx.init.Uniform()(mx.init.InitDesc("rnn_parameters",
                                       attrs={"__init__": fused.dumps()}), arr)
    np.testing.assert_array_equal(arr.asnumpy(), np.array(gold["constant"], np.float32))
    params = mx.sym.Variable("rnn_parameters", init=mx.init.FusedRNN(
        None, num_hidden=3, num_layers=layers, mode=mode, bidirectional=bi, forget_bias=2.5))
    net = mx.sym.RNN(mx.sym.Variable("data"), params, state_size=3, num_layers=layers,
                     mode=mode, bidirectional=bi, name="rnn")
    states = [n for n in net.list_arguments() if n.startswith("rnn_state")]
    mod = mx.mod.Module(net, label_names=None, state_names=states)
    mod.bind([("data", (4, 2, 5))], for_training=False)
    mod.init_params(mx.init.Constant(0.25))
    np.testing.assert_array_equal(mod.get_params()[0]["rnn_parameters"].asnumpy(),
                                  np.array(gold["global"], np.float32))


def test_fused_rnn_xavier_scales_each_gate_piece():
    fused = mx.init.FusedRNN(mx.init.Xavier(magnitude=3), num_hidden=8, num_layers=1,
                             mode="gru")
    size = 3 * 8 * (5 + 8) + 2 * 3 * 8
    desc = mx.init.InitDesc("rnn_parameters", attrs={"__init__": fused.dumps()})
    value = np.asarray(mx.init.Uniform().generate(desc, (size,)))
    pieces, off = {}, 0
    for name, shape in fused.pieces(size):
        pieces[name] = value[off:off + int(np.prod(shape))].reshape(shape)
        off += int(np.prod(shape))
    assert list(pieces)[:4] == ["l0_i2h_r_weight", "l0_i2h_z_weight", "l0_i2h_o_weight",
                                "l0_h2h_r_weight"]
    bound = np.sqrt(3 / ((5 + 8) / 2))  # Xavier on one (8, 5) gate piece, not (24, 5)
    w = pieces["l0_i2h_z_weight"]
    assert w.shape == (8, 5) and 0.7 * bound < np.abs(w).max() <= bound
    assert not any(v.any() for k, v in pieces.items() if k.endswith("bias"))
    with pytest.raises(ShapeError, match="do not fit"):
        fused.pieces(size + 1)


def test_lstm_module_trains_with_states_and_fused_init():
    """An LSTM regression in a Module: zero states (state_names), FusedRNN parameters; the
    scanned training step lowers the loss, and the RNN's outputs equal a numpy LSTM."""
    rng = np.random.RandomState(0)
    x = rng.randn(64, 6, 3).astype(np.float32)  # (N, T, I)
    y = x[:, :, 0].sum(1, keepdims=True).astype(np.float32)
    data = mx.sym.transpose(mx.sym.Variable("data"), axes=(1, 0, 2))
    params = mx.sym.Variable("rnn_parameters", init=mx.init.FusedRNN(
        mx.init.Xavier(), num_hidden=8, num_layers=1, mode="lstm"))
    rnn = mx.sym.RNN(data, params, state_size=8, num_layers=1, mode="lstm", name="rnn")
    out = mx.sym.FullyConnected(mx.sym.SequenceLast(rnn), num_hidden=1, name="fc")
    net = mx.sym.LinearRegressionOutput(out, name="lro")
    mod = mx.mod.Module(net, label_names=["lro_label"],
                        state_names=["rnn_state", "rnn_state_cell"])
    it = mx.io.NDArrayIter(x, y, 16, label_name="lro_label")
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params(mx.init.Xavier())
    before = mod.score(it, "mse")[0][1]
    it.reset()
    mod.fit(it, num_epoch=15, optimizer="adam", optimizer_params={"learning_rate": 0.02},
            eval_metric="mse")
    after = mod.score(it, "mse")[0][1]
    assert after < 0.2 * before, (before, after)
    # numpy LSTM with MXNet's packing and gate order i, f, g, o
    p = mod.get_params()[0]["rnn_parameters"].asnumpy()
    h = 8
    wx, wh = p[:32 * 3].reshape(32, 3), p[96:96 + 32 * 8].reshape(32, 8)
    bx, bh = p[352:384], p[384:416]
    hs, cs = np.zeros((4, h)), np.zeros((4, h))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for t in range(6):
        gates = x[:4, t] @ wx.T + bx + hs @ wh.T + bh
        i, f, g, o = np.split(gates, 4, axis=1)
        cs = sig(f) * cs + sig(i) * np.tanh(g)
        hs = sig(o) * np.tanh(cs)
    internals = net.get_internals()["rnn_output"]
    exe = internals.simple_bind(mx.cpu(), data=(4, 6, 3), grad_req="null")
    exe.arg_dict["data"][:] = x[:4]
    exe.arg_dict["rnn_parameters"][:] = p
    last = exe.forward()[0].asnumpy()[-1]
    np.testing.assert_allclose(last, hs, rtol=1e-4, atol=1e-5)
