"""Optimizers vs MXNet 1.9.1 trajectories (tests/fixtures/optim/), imperative and functional."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from symnet import lr_scheduler as L
from symnet import ndarray as nd
from symnet import optimizer as O
from symnet.base import FormatError, ParamError

_DIR = os.path.join(os.path.dirname(__file__), "fixtures", "optim")
_DOC = json.load(open(os.path.join(_DIR, "optim.json")))
_Z = np.load(os.path.join(_DIR, "optim.npz"), allow_pickle=False)
CASES = _DOC["optimizers"]
RTOL, ATOL = 1e-5, 1e-6


class FakeSym:
    """Stands in for a Symbol: the optimizer only reads attr_dict() and list_arguments()."""

    def __init__(self, info):
        self.info = info

    def attr_dict(self):
        return self.info["attr_dict"]

    def list_arguments(self):
        return self.info["arguments"]


def build(case):
    kw = dict(case["kwargs"])
    if "sched" in case:
        kw["lr_scheduler"] = getattr(L, case["sched"]["type"])(**case["sched"]["kwargs"])
    names = [n for n, _ in case["params"]]
    if case["idx2name"]:
        kw["param_idx2name"] = {i: n for i, n in enumerate(names)}
    if "sym" in case:
        kw["sym"] = FakeSym(case["sym"])
    opt = O.create(case["name"], **kw)
    if "lr_mult" in case:
        opt.set_lr_mult(case["lr_mult"])
    if "wd_mult" in case:
        opt.set_wd_mult(case["wd_mult"])
    return opt, names


def _arr(cid, what, step, name):
    key = f"{cid}/{what}/{name}" if step is None else f"{cid}/{what}/{step}/{name}"
    return _Z[key]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_imperative_updater_matches_mxnet(case):
    cid = case["id"]
    opt, names = build(case)
    updater = O.get_updater(opt)
    weights = [nd.array(_arr(cid, "init", None, n)) for n in names]
    for step in range(case["steps"]):
        grads = [nd.array(_arr(cid, "grad", step, n)) for n in names]
        if case["call"] == "single":
            for i in range(len(names)):
                updater(i, grads[i], weights[i])
        else:
            updater(list(range(len(names))), grads, weights)
        for n, w in zip(names, weights):
            np.testing.assert_allclose(w.asnumpy(), _arr(cid, "w", step, n), rtol=RTOL,
                                       atol=ATOL, err_msg=f"{cid} step {step} {n}")
    assert opt.num_update == case["num_update"]
    np.testing.assert_allclose(opt.learning_rate, case["learning_rate_after"][-1], rtol=1e-6)


_STEP_CACHE = {}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_functional_jitted_step_matches_mxnet(case):
    cid = case["id"]
    opt, names = build(case)
    params = {n: jnp.asarray(_arr(cid, "init", None, n)) for n in names}
    state = opt.init(params)
    step_fn = jax.jit(opt.step)
    for step in range(case["steps"]):
        grads = {n: jnp.asarray(_arr(cid, "grad", step, n)) for n in names}
        params, state = step_fn(params, grads, state)
        for n in names:
            np.testing.assert_allclose(np.asarray(params[n]), _arr(cid, "w", step, n),
                                       rtol=RTOL, atol=ATOL, err_msg=f"{cid} step {step} {n}")
    assert int(state["count"]) == case["num_update"]


@pytest.mark.parametrize("cid", ["sgd_mom_wd", "adam_wd_clip", "nadam_wd_clip", "ftrl_wd_clip"])
def test_imperative_and_functional_agree_closely(cid):
    case = [c for c in CASES if c["id"] == cid][0]
    opt_i, names = build(case)
    opt_f, _ = build(case)
    up = O.get_updater(opt_i)
    ws = [nd.array(_arr(cid, "init", None, n)) for n in names]
    params = {n: jnp.asarray(_arr(cid, "init", None, n)) for n in names}
    state = opt_f.init(params)
    for step in range(case["steps"]):
        up(list(range(len(names))), [nd.array(_arr(cid, "grad", step, n)) for n in names], ws)
        params, state = opt_f.step(params, {n: jnp.asarray(_arr(cid, "grad", step, n))
                                            for n in names}, state)
    for n, w in zip(names, ws):
        np.testing.assert_allclose(np.asarray(params[n]), w.asnumpy(), rtol=RTOL, atol=ATOL)


def test_optax_transformation_with_apply_updates():
    case = [c for c in CASES if c["id"] == "nag_mom_wd"][0]
    opt, names = build(case)
    tx = opt.to_optax()
    assert isinstance(tx, optax.GradientTransformation)
    params = {n: jnp.asarray(_arr(case["id"], "init", None, n)) for n in names}
    state = tx.init(params)
    for step in range(case["steps"]):
        grads = {n: jnp.asarray(_arr(case["id"], "grad", step, n)) for n in names}
        updates, state = jax.jit(tx.update)(grads, state, params)
        params = optax.apply_updates(params, updates)
    for n in names:
        np.testing.assert_allclose(np.asarray(params[n]), _arr(case["id"], "w", 5, n),
                                   rtol=RTOL, atol=ATOL)
    with pytest.raises(ParamError, match="needs params"):
        tx.update(grads, state)


def test_create_is_case_insensitive_and_unknown_lists_names():
    assert isinstance(O.create("SGD"), O.SGD)
    assert isinstance(O.Optimizer.create_optimizer("Adam"), O.Adam)
    assert isinstance(O.create("ccsgd"), O.SGD)
    with pytest.raises(ParamError, match=r"Cannot find optimizer 'adamw'.*adam, .*sgd"):
        O.create("adamw")


def test_register_custom_optimizer():
    @O.register
    class MyTestOpt(O.SGD):
        pass
    try:
        assert isinstance(O.create("mytestopt", learning_rate=0.5), MyTestOpt)
    finally:
        del O.Optimizer.opt_registry["mytestopt"]


def test_default_lrs_and_wd_rule():
    assert O.create("sgd").lr == 0.01
    assert O.create("adam").lr == 0.001
    assert O.create("ftrl").lr == 0.1
    opt = O.create("sgd", wd=0.1, param_idx2name={0: "fc_weight", 1: "fc_bias", 2: "bn_gamma",
                                                  3: "bn_beta"})
    assert [opt._get_wd(i) for i in range(4)] == [0.1, 0.0, 0.1, 0.0]
    opt.set_lr_mult({"fc_bias": 2.0})
    opt._update_count(1)
    assert opt._get_lr(1) == pytest.approx(0.02)


def test_set_learning_rate_and_sync_state():
    opt = O.create("sgd", learning_rate=0.1)
    params = {"w_weight": jnp.ones((2,))}
    state = opt.init(params)
    opt.set_learning_rate(0.5)
    assert opt.learning_rate == 0.5
    state = opt.sync_state(state)
    new, _ = opt.step(params, {"w_weight": jnp.ones((2,))}, state)
    np.testing.assert_allclose(np.asarray(new["w_weight"]), [0.5, 0.5])
    sch_opt = O.create("sgd", lr_scheduler=L.FactorScheduler(step=2))
    with pytest.raises(UserWarning):
        sch_opt.set_learning_rate(0.3)


def test_adadelta_rescales_callers_gradient_in_place():
    # MXNet compat: AdaDelta's update does `grad *= rescale_grad`.
    opt = O.create("adadelta", rescale_grad=0.5)
    w = nd.array(np.ones((3,), np.float32))
    g = nd.array(np.full((3,), 2.0, np.float32))
    opt.update(0, w, g, opt.create_state(0, w))
    np.testing.assert_allclose(g.asnumpy(), [1.0, 1.0, 1.0])


def test_updater_states_roundtrip_without_pickle():
    case = [c for c in CASES if c["id"] == "adam_default"][0]
    cid = case["id"]
    opt, names = build(case)
    up = O.get_updater(opt)
    ws = [nd.array(_arr(cid, "init", None, n)) for n in names]
    for step in range(3):
        up(list(range(3)), [nd.array(_arr(cid, "grad", step, n)) for n in names], ws)
    blob = up.get_states(dump_optimizer=True)
    assert isinstance(blob, bytes) and blob[:8] == (0x112).to_bytes(8, "little")
    opt2, _ = build(case)
    up2 = O.get_updater(opt2)
    up2.set_states(blob)
    assert opt2.num_update == 3 and opt2._index_update_count == {0: 3, 1: 3, 2: 3}
    for step in range(3, 6):
        up2(list(range(3)), [nd.array(_arr(cid, "grad", step, n)) for n in names], ws)
    for n, w in zip(names, ws):
        np.testing.assert_allclose(w.asnumpy(), _arr(cid, "w", 5, n), rtol=RTOL, atol=ATOL)
    with pytest.raises(FormatError):
        up2.set_states("not bytes")


def test_functional_state_bytes_roundtrip():
    opt = O.create("rmsprop", centered=True)
    params = {"a_weight": jnp.ones((2, 2)), "b_bias": jnp.zeros((3,))}
    state = opt.init(params)
    params, state = opt.step(params, {"a_weight": jnp.ones((2, 2)),
                                      "b_bias": jnp.ones((3,))}, state)
    back = O.state_from_bytes(O.state_to_bytes(state))
    assert int(back["count"]) == 1
    for k in params:
        for a, b in zip(back["slots"][k], state["slots"][k]):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_step_missing_gradient_names_param():
    opt = O.create("sgd")
    params = {"fc_weight": jnp.ones((2,)), "fc_bias": jnp.ones((2,))}
    with pytest.raises(ParamError, match="fc_bias"):
        opt.step(params, {"fc_weight": jnp.ones((2,))}, opt.init(params))


def test_multi_precision_float16_keeps_float32_master():
    opt = O.create("sgd", learning_rate=0.1, multi_precision=True)
    params = {"w_weight": jnp.ones((4,), jnp.float16)}
    state = opt.init(params)
    g = {"w_weight": jnp.full((4,), 1e-3, jnp.float16)}
    for _ in range(10):
        params, state = opt.step(params, g, state)
    assert params["w_weight"].dtype == jnp.float16
    master = state["slots"]["w_weight"][0]
    assert master.dtype == jnp.float32
    expect = 1.0 - 10 * 0.1 * float(np.float16(1e-3))
    np.testing.assert_allclose(np.asarray(master), expect, rtol=1e-6)
