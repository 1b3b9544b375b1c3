"""Python custom operators (``mx.operator``, ``mx.sym.Custom``) against MXNet 1.9.1 goldens
(tools/gen_custom_fixtures.py); the operators are in fixtures/custom/custom_ops.py."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

import symnet as mx
from symnet.base import GraphError, ParamError

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "custom")
sys.path.insert(0, FIX)
import custom_ops  # noqa: E402

custom_ops.define(mx)
with open(os.path.join(FIX, "custom.json")) as _f:
    META = json.load(_f)
ARR = dict(np.load(os.path.join(FIX, "custom.npz")))


def test_graph_json_and_signature_match_mxnet():
    net = custom_ops.pair_net(mx)
    gold = META["pair"]
    assert net.tojson() == gold["json"]
    loaded = mx.sym.load_json(gold["json"])
    assert loaded.list_arguments() == gold["arguments"]
    assert loaded.list_outputs() == gold["outputs"]
    assert loaded.list_auxiliary_states() == gold["aux"]
    _, outs, _ = loaded.infer_shape(data=(4, 5))
    assert outs == [(4, 3), (4, 3)]


def test_forward_backward_match_mxnet():
    net = mx.sym.load_json(META["pair"]["json"])
    exe = net.simple_bind(mx.cpu(), data=(4, 5))
    for name, arr in exe.arg_dict.items():
        arr[:] = ARR[f"pair/in/{name}"]
    exe.forward(is_train=True)
    exe.backward([mx.nd.array(ARR["pair/head0"]), mx.nd.array(ARR["pair/head1"])])
    for i, out in enumerate(exe.outputs):
        np.testing.assert_allclose(out.asnumpy(), ARR[f"pair/out/{i}"], rtol=1e-5, atol=1e-6)
    for name, g in exe.grad_dict.items():
        np.testing.assert_allclose(g.asnumpy(), ARR[f"pair/grad/{name}"], rtol=1e-5,
                                   atol=1e-6, err_msg=name)


@pytest.mark.parametrize("steps", [1, None])
def test_module_fit_with_numpy_softmax_loss_matches_mxnet(steps):
    """The op's backward is the loss gradient, inside the jitted step (and the scanned one)."""
    net = custom_ops.softmax_mlp(mx)
    x, y = ARR["softmax/x"], ARR["softmax/y"]
    init = {k.split("/")[-1]: mx.nd.array(v) for k, v in ARR.items()
            if k.startswith("softmax/init/")}
    mod = mx.mod.Module(net, steps_per_execution=steps)
    mod.fit(mx.io.NDArrayIter(x, y, 10), num_epoch=1, optimizer="sgd",
            optimizer_params={"learning_rate": 0.5}, arg_params=init)
    arg, _ = mod.get_params()
    for name, v in arg.items():
        want = ARR[f"softmax/final/{name}"]
        assert not np.allclose(want, ARR[f"softmax/init/{name}"])
        np.testing.assert_allclose(v.asnumpy(), want, rtol=1e-5, atol=1e-6, err_msg=name)
    pred = mod.predict(mx.io.NDArrayIter(x[:10], None, 10)).asnumpy()
    np.testing.assert_allclose(pred, ARR["softmax/predict10"], rtol=1e-5, atol=1e-6)
    assert mod.score(mx.io.NDArrayIter(x, y, 10), "acc") == \
        [tuple(s) for s in META["softmax"]["score"]]


class _Counter(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] + aux[0])
        if is_train:
            self.assign(aux[0], "write", aux[0] + 1)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0])


@mx.operator.register("test_counter")
class _CounterProp(mx.operator.CustomOpProp):
    def list_auxiliary_states(self):
        return ["count"]

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]], [(1,)]

    def create_operator(self, ctx, shapes, dtypes):
        return _Counter()


def test_aux_state_updates_in_training_only():
    net = mx.sym.Custom(mx.sym.Variable("data"), op_type="test_counter", name="c")
    assert net.list_auxiliary_states() == ["c_count"]
    exe = net.simple_bind(mx.cpu(), data=(2, 3))
    exe.arg_dict["data"][:] = np.ones((2, 3))
    for _ in range(3):
        exe.forward(is_train=True)
    np.testing.assert_array_equal(exe.aux_dict["c_count"].asnumpy(), [3.0])
    out = exe.forward(is_train=False)[0].asnumpy()
    np.testing.assert_array_equal(out, np.full((2, 3), 4.0))
    np.testing.assert_array_equal(exe.aux_dict["c_count"].asnumpy(), [3.0])
    exe.forward(is_train=True)
    exe.backward(mx.nd.ones((2, 3)) * 2)
    np.testing.assert_array_equal(exe.grad_dict["data"].asnumpy(), np.full((2, 3), 2.0))


class _WrongShape(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        if is_train:
            out_data[0][:] = mx.nd.ones((1,))  # broadcast into the declared (2, 7): fine
        else:
            out_data[0] = mx.nd.zeros((5, 5))  # rebinds the list entry: a wrong shape

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        raise ValueError("no gradient here")


@mx.operator.register("test_wrong")
class _WrongProp(mx.operator.CustomOpProp):
    def infer_shape(self, in_shape):
        return in_shape, [(in_shape[0][0], 7)], []

    def create_operator(self, ctx, shapes, dtypes):
        return _WrongShape()


def test_errors_name_the_op_type_and_node():
    with pytest.raises(ParamError, match="'nope' is not registered"):
        mx.sym.Custom(mx.sym.Variable("data"), op_type="nope")
    bad_json = META["pair"]["json"].replace("scaled_pair", "not_here")
    with pytest.raises(GraphError, match="not_here"):
        mx.sym.load_json(bad_json)
    net = mx.sym.Custom(mx.sym.Variable("data"), op_type="test_wrong", name="w")
    exe = net.simple_bind(mx.cpu(), data=(2, 3))
    out = exe.forward(is_train=True)[0]
    np.testing.assert_array_equal(out.asnumpy(), np.ones((2, 7)))
    with pytest.raises(Exception, match=r"test_wrong.*'w'.*shape \(5, ?5\).*declared \(2, ?7\)"):
        exe.forward(is_train=False)[0].asnumpy()
    exe.forward(is_train=True)
    with pytest.raises(Exception, match="test_wrong.*'w'.*backward raised ValueError"):
        exe.backward(mx.nd.ones((2, 7)))
        exe.grad_dict["data"].asnumpy()


class _BadGrad(mx.operator.CustomOp):
    """x ** 2 with a wrong gradient (x instead of 2x)."""

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * in_data[0])

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * in_data[0])


@mx.operator.register("test_bad_grad")
class _BadGradProp(mx.operator.CustomOpProp):
    def create_operator(self, ctx, shapes, dtypes):
        return _BadGrad()


def test_check_utils_on_custom_ops():
    """mx.test_utils' symbolic and numeric checks: they pass on correct operators (the custom
    op and FullyConnected, against numpy) and catch a wrong gradient."""
    from symnet import test_utils as tu
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (3, 5)).astype(np.float32)
    w = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
    b = rng.uniform(-1, 1, (4,)).astype(np.float32)
    pair = custom_ops.pair_net(mx)
    y = (x @ w.T + b) * 1.5
    outs = tu.check_symbolic_forward(pair, {"data": x, "fc_weight": w[:3], "fc_bias": b[:3]},
                                     [y[:, :3], y[:, :3] ** 2], rtol=1e-5, atol=1e-6)
    assert len(outs) == 2
    with pytest.raises(AssertionError, match="pair_square"):
        tu.check_symbolic_forward(pair, [x, w[:3], b[:3]], {"pair_square": y[:, :3]})
    fc = mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=4, name="fc")
    g = rng.uniform(-1, 1, (3, 4)).astype(np.float32)
    grads = tu.check_symbolic_backward(fc, [x, w, b], [g], {"data": g @ w, "fc_weight": g.T @ x,
                                                           "fc_bias": g.sum(0)},
                                       rtol=1e-5, atol=1e-6)
    assert set(grads) == {"data", "fc_weight", "fc_bias"}
    tu.check_numeric_gradient(fc, [x, w, b], numeric_eps=1e-2, rtol=2e-2, atol=1e-3)
    tu.check_numeric_gradient(pair, [x, w[:3], b[:3]], numeric_eps=1e-2, rtol=2e-2,
                              atol=1e-3)
    bad = mx.sym.Custom(mx.sym.Variable("data"), op_type="test_bad_grad")
    with pytest.raises(AssertionError, match="gradient of 'data'"):
        tu.check_numeric_gradient(bad, [x], numeric_eps=1e-2, rtol=2e-2, atol=1e-3)
