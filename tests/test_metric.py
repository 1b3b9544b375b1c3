"""symnet.metric against MXNet 1.9.1 goldens (tools/gen_metric_fixtures.py): host and device."""
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from symnet import metric as M
from symnet.base import ParamError, ShapeError, SymnetError

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "metric")
with open(os.path.join(FIX, "metric.json")) as _f:
    DOC = json.load(_f)
ARR = dict(np.load(os.path.join(FIX, "metric.npz"), allow_pickle=False))
CASES = {c["id"]: c for c in DOC["metrics"]}
DEVICE_CASES = [c for c in CASES if CASES[c]["device"]]
PAD_BATCH = 8
RTOL = 1e-6


def custom_mae(label, pred):
    return float(np.abs(label.reshape(pred.shape) - pred).mean())


def custom_tuple(label, pred):
    return float(np.abs(label.reshape(pred.shape) - pred).sum()), int(label.size)


def make_metric(spec, kwargs):
    """Same construction as the generator's make_metric, through symnet's API."""
    if isinstance(spec, list):
        return M.create([M.create(s, **(kwargs if s.startswith("top_k") else {}))
                         for s in spec])
    if spec.startswith("np:"):
        return M.np(globals()[spec[3:]])
    if spec.startswith("custom:"):
        return M.create(globals()[spec[7:]])
    return M.create(spec, **kwargs)


def step_arrays(cid, i, npairs):
    labels = [ARR[f"{cid}/{i}/label{j}"] for j in range(npairs)]
    preds = [ARR[f"{cid}/{i}/pred{j}"] for j in range(npairs)]
    return labels, preds


def assert_value(got, want, ctx):
    gname, gval = got
    wname, wval = want
    assert gname == wname, ctx
    if isinstance(wval, list):
        assert isinstance(gval, list) and len(gval) == len(wval), ctx
    gval, wval = np.atleast_1d(np.asarray(gval, float)), np.atleast_1d(np.asarray(wval, float))
    np.testing.assert_allclose(gval, wval, rtol=RTOL, atol=0, equal_nan=True, err_msg=ctx)


def check(metric, expected, ctx):
    assert_value(metric.get(), expected["get"], ctx + " get")
    assert_value(metric.get_global(), expected["get_global"], ctx + " get_global")


# ---------------------------------------------------------------------------------------------
# host path
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["numpy", "jax"])
@pytest.mark.parametrize("cid", sorted(CASES))
def test_host_matches_mxnet(cid, kind):
    case = CASES[cid]
    metric = make_metric(case["metric"], case["kwargs"])
    conv = np.asarray if kind == "numpy" else jnp.asarray
    for i, (step, want) in enumerate(zip(case["steps"], case["expected"])):
        if step["op"] == "update":
            labels, preds = step_arrays(cid, i, step["pairs"])
            metric.update([conv(x) for x in labels], [conv(x) for x in preds])
        else:
            getattr(metric, step["op"])()
        check(metric, want, f"{cid} step {i}")


def test_host_accepts_single_arrays_and_ndarray():
    case = CASES["acc"]
    labels, preds = step_arrays("acc", 0, 1)
    m = M.Accuracy()
    m.update(labels[0], preds[0])
    check(m, case["expected"][0], "single arrays")
    nd = pytest.importorskip("symnet.ndarray")
    if not hasattr(nd, "array"):
        pytest.skip("symnet.ndarray.array not available yet")
    m = M.Accuracy()
    m.update([nd.array(labels[0])], [nd.array(preds[0])])
    check(m, case["expected"][0], "NDArray")


# ---------------------------------------------------------------------------------------------
# device path: jitted updates on padded batches (pad rows are NaN / out-of-range garbage)
# ---------------------------------------------------------------------------------------------
def pad_rows(arr, n_valid, fill):
    factor = arr.shape[0] // n_valid
    extra = np.full((PAD_BATCH * factor - arr.shape[0],) + arr.shape[1:], fill, arr.dtype)
    return np.concatenate([arr, extra])


def padded_step(cid, i, npairs):
    labels, preds = step_arrays(cid, i, npairs)
    n = labels[0].shape[0]
    labels = [pad_rows(x, n, 9.0) for x in labels]
    preds = [pad_rows(x, n, np.nan) for x in preds]
    mask = np.zeros(PAD_BATCH, np.float32)
    mask[:n] = 1
    return labels, preds, mask


_JITTED = {}


def jitted_update(cid):
    """One jitted update per case (device_update reads only the metric's static config)."""
    if cid not in _JITTED:
        case = CASES[cid]
        config = make_metric(case["metric"], case["kwargs"])
        _JITTED[cid] = jax.jit(lambda s, l, p, m: config.device_update(s, l, p, m))
    return _JITTED[cid]


@pytest.mark.parametrize("lazy", [False, True], ids=["merge_each", "lazy_stash"])
@pytest.mark.parametrize("cid", DEVICE_CASES)
def test_device_matches_mxnet(cid, lazy):
    """merge_each: device_merge after every update; lazy_stash: device_stash and read only at
    reset_local/reset (so pending increments cross a reset_local) and at the end."""
    case = CASES[cid]
    metric = make_metric(case["metric"], case["kwargs"])
    assert metric.device_capable
    update = jitted_update(cid)
    state = metric.device_init()
    last = len(case["steps"]) - 1
    for i, (step, want) in enumerate(zip(case["steps"], case["expected"])):
        if step["op"] == "update":
            labels, preds, mask = padded_step(cid, i, step["pairs"])
            if lazy:
                metric.device_stash(update(metric.device_state(), labels, preds, mask))
            else:
                state = update(state, labels, preds, mask)
                metric.device_merge(state)
                state = metric.device_init()
        else:
            getattr(metric, step["op"])()
        if not lazy or step["op"] != "update" or i == last:
            check(metric, want, f"{cid} step {i} (device, lazy={lazy})")


def test_device_state_is_stable_pytree():
    """The state keeps structure and dtypes, so a jitted step compiles once."""
    for cid in DEVICE_CASES:
        case = CASES[cid]
        metric = make_metric(case["metric"], case["kwargs"])
        s0 = metric.device_init()
        labels, preds, mask = padded_step(cid, 0, 1)
        s1 = metric.device_update(s0, labels, preds, mask)
        assert jax.tree_util.tree_structure(s0) == jax.tree_util.tree_structure(s1), cid
        for a, b in zip(jax.tree_util.tree_leaves(s0), jax.tree_util.tree_leaves(s1)):
            assert a.shape == b.shape == () and a.dtype == b.dtype, cid


@pytest.mark.parametrize("cid", ["acc", "mae_2d", "f1_macro", "mcc_macro", "pearsonr_macro",
                                 "perplexity", "loss"])
def test_all_padding_update_is_noop(cid):
    case = CASES[cid]
    metric = make_metric(case["metric"], case["kwargs"])
    labels, preds, mask = padded_step(cid, 0, 1)
    state = metric.device_update(metric.device_init(), labels, preds, np.zeros_like(mask))
    metric.device_merge(state)
    assert metric.num_inst == 0 and metric.global_num_inst == 0
    assert math.isnan(metric.get()[1])


def test_device_mask_none_counts_all_rows():
    labels, preds = step_arrays("ce", 0, 1)
    m = M.CrossEntropy()
    m.device_merge(m.device_update(m.device_init(), labels, preds, None))
    assert_value(m.get(), CASES["ce"]["expected"][0]["get"], "mask None")


def test_reset_discards_pending_and_block_until_ready():
    labels, preds, mask = padded_step("acc", 0, 1)
    m = M.Accuracy()
    m.device_stash(m.device_update(m.device_state(), labels, preds, mask))
    m.block_until_ready()
    m.reset()
    assert m.num_inst == 0 and m.global_num_inst == 0
    # after a read, device_state() restarts from zeros
    assert int(m.device_state()["num"]) == 0


def test_composite_device_state_composes_children():
    m = M.create(["acc", "ce"])
    state = m.device_init()
    assert isinstance(state, tuple) and len(state) == 2
    labels, preds, mask = padded_step("acc", 0, 1)
    m.device_stash(m.device_update(m.device_state(), labels, preds, mask))
    # a child read syncs that child's own stash
    assert m.get_metric(0).num_inst == int(mask.sum())


# ---------------------------------------------------------------------------------------------
# host-only metrics and errors
# ---------------------------------------------------------------------------------------------
def test_custom_metric_is_host_only():
    m = M.np(custom_mae)
    assert m.device_capable is False and m.name == "custom_mae"
    with pytest.raises(SymnetError, match="host update"):
        m.device_init()
    assert M.create(["acc", m]).device_capable is False
    assert M.PearsonCorrelation(average="micro").device_capable is False
    assert M.create(lambda l, p: 0.0).name == "custom(<lambda>)"
    with pytest.raises(NotImplementedError):
        m.get_config()


def test_create_names_aliases_and_errors():
    expect = {"acc": M.Accuracy, "accuracy": M.Accuracy, "top_k_acc": M.TopKAccuracy,
              "top_k_accuracy": M.TopKAccuracy, "f1": M.F1, "mcc": M.MCC, "mae": M.MAE,
              "mse": M.MSE, "rmse": M.RMSE, "ce": M.CrossEntropy,
              "crossentropy": M.CrossEntropy, "nll_loss": M.NegativeLogLikelihood,
              "perplexity": M.Perplexity, "pearsonr": M.PearsonCorrelation, "loss": M.Loss,
              "composite": M.CompositeEvalMetric, "torch": M.Torch, "caffe": M.Caffe}
    for name, cls in expect.items():
        kwargs = {"top_k": 2} if "top_k" in name else {}
        kwargs = {"ignore_label": None} if name == "perplexity" else kwargs
        assert type(M.create(name, **kwargs)) is cls, name
    assert M.create("ACC").name == "accuracy"
    assert M.create("top_k_accuracy", top_k=5).name == "top_k_accuracy_5"
    assert M.create("ce").name == "cross-entropy" and M.create("nll_loss").name == "nll-loss"
    with pytest.raises(ParamError, match="Unknown metric 'accurcy'.*acc, accuracy"):
        M.create("accurcy")
    acc = M.Accuracy()
    assert M.create(acc) is acc
    with pytest.raises(ParamError, match="already an instance"):
        M.create(acc, 3)
    comp = M.create(["acc", "mse"])
    assert comp.get() == (["accuracy", "mse"], [pytest.approx(float("nan"), nan_ok=True)] * 2)
    assert type(M.create('["f1", {"average": "micro"}]')) is M.F1
    assert M.create({"metric": "f1", "average": "micro"}).average == "micro"
    rebuilt = M.create(M.Accuracy(axis=2, name="a2").get_config())
    assert (type(rebuilt), rebuilt.axis, rebuilt.name) == (M.Accuracy, 2, "a2")
    with pytest.raises(ParamError, match="top_k > 1"):
        M.TopKAccuracy(top_k=1)
    assert isinstance(comp.get_metric(5), ValueError)  # MXNet returns, not raises


def test_register_and_alias():
    @M.register
    @M.alias("my_metric_alias")
    class MyMetric(M.EvalMetric):
        def __init__(self):
            super().__init__("mine")

        def update(self, labels, preds):
            self.sum_metric += 1
            self.num_inst += 2

    m = M.create("my_metric_alias")
    assert isinstance(m, MyMetric) and isinstance(M.create("mymetric"), MyMetric)
    m.update([], [])
    assert m.get() == ("mine", 0.5) and m.get_global() == ("mine", 0.5)
    assert str(m) == "EvalMetric: {'mine': 0.5}"


def test_shape_errors():
    with pytest.raises(ShapeError, match="labels"):
        M.Accuracy().update([np.zeros(3), np.zeros(3)], [np.zeros((3, 2))])
    with pytest.raises(ShapeError, match="pair"):
        M.Accuracy().device_update(M.Accuracy().device_init(), [jnp.zeros(3)] * 2,
                                   [jnp.zeros((3, 2))], None)
    with pytest.raises(ShapeError, match="multiple of the mask"):
        M.Accuracy().device_update(M.Accuracy().device_init(), [jnp.zeros(3)],
                                   [jnp.zeros((3, 2))], jnp.ones(2))
    with pytest.raises(ValueError, match="binary"):
        M.F1().update([np.array([0, 1, 2.0])], [np.zeros((3, 2))])


def test_update_dict_selects_names():
    labels, preds = step_arrays("acc", 0, 1)
    m = M.Accuracy(output_names=["out"], label_names=["lab"])
    m.update_dict({"lab": labels[0], "other": np.zeros(1)},
                  {"junk": np.zeros((1, 1)), "out": preds[0]})
    check(m, CASES["acc"]["expected"][0], "update_dict")
