"""Data iterators vs MXNet 1.9.1 goldens (tools/gen_io_fixtures.py -> tests/fixtures/io/)."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import symnet as mx
from symnet.base import ParamError, ShapeError

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "io")
with open(os.path.join(FIX, "ndarrayiter.json")) as _fh:
    CASES = json.load(_fh)["cases"]
with open(os.path.join(FIX, "mnistiter.json")) as _fh:
    MNIST = json.load(_fh)
EMB = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "symnet",
                   "datasets", "data")
IMG = os.path.join(EMB, "train10k-images-idx3-ubyte.gz")
LAB = os.path.join(EMB, "train10k-labels-idx1-ubyte.gz")


def _make_inputs(case):
    """Rebuild the generator's inputs (values encode the sample index)."""
    n, kind = case["n"], case["kind"]
    base = np.arange(n, dtype=np.float32)
    if kind == "array":
        return base.reshape(n, 1) * np.ones((1, 2)), base + 100, {}
    if kind == "list":
        return [base.reshape(n, 1), base.reshape(n, 1, 1) + 1000], [base + 100, base + 200], {}
    if kind == "dict":
        return ({"zeta": base.reshape(n, 1), "alpha": base.reshape(n, 1, 1) + 1000},
                {"lab": base + 100}, {})
    if kind == "nolabel":
        return base.reshape(n, 1), None, {}
    if kind == "ndarray_int":
        return (mx.nd.array(base.reshape(n, 1), dtype="int32"),
                mx.nd.array(base + 100, dtype="int32"), {})
    if kind == "list12":
        return [base.reshape(n, 1) + 1000 * i for i in range(12)], None, {}
    if kind == "names":
        return base.reshape(n, 1), base, {"data_name": "x", "label_name": "y"}
    raise AssertionError(kind)


def _make_iter(case):
    data, label, kw = _make_inputs(case)
    np.random.seed(case["np_seed"])
    return mx.io.NDArrayIter(data, label, batch_size=case["batch_size"], shuffle=case["shuffle"],
                             last_batch_handle=case["mode"], **kw)


def _first_col(arr):
    a = arr.asnumpy()
    return a.reshape(a.shape[0], -1)[:, 0].astype(int).tolist()


def _run(it, epochs):
    out = []
    for _ in range(epochs):
        out.append([{"data": [_first_col(d) for d in b.data],
                     "label": [_first_col(lab) for lab in (b.label or [])],
                     "pad": b.pad} for b in it])
        it.reset()
    return out


def _descs(descs):
    return [[d.name, list(d.shape), np.dtype(d.dtype).name, d.layout] for d in descs]


GOOD = [c for c in CASES if "mxnet_error" not in c]


@pytest.mark.parametrize("case", GOOD, ids=[c["id"] for c in GOOD])
def test_ndarrayiter_matches_mxnet(case):
    it = _make_iter(case)
    assert _descs(it.provide_data) == case["provide_data"]
    assert _descs(it.provide_label) == case["provide_label"]
    assert _run(it, len(case["epochs"])) == case["epochs"]


@pytest.mark.parametrize("case", [c for c in GOOD if c["kind"] == "array"][::3],
                         ids=lambda c: c["id"])
def test_epoch_indices_reproduce_batches(case):
    it = _make_iter(case)
    x = it.data_arrays[0][1]
    for epoch in case["epochs"]:
        idx, pads = it.epoch_indices()
        assert idx.shape == (len(epoch), case["batch_size"]) and idx.dtype == np.int32
        assert pads.tolist() == [b["pad"] for b in epoch]
        got = np.asarray(x)[idx][..., 0].astype(int).tolist() if len(epoch) else []
        assert got == [b["data"][0] for b in epoch]
        it.reset()


BROKEN = [c for c in CASES if "mxnet_error" in c]


@pytest.mark.parametrize("case", BROKEN, ids=[c["id"] for c in BROKEN])
def test_roll_over_smaller_than_batch_wraps_instead_of_crashing(case):
    # MXNet 1.9.1 raises inside slice_axis here; symnet keeps every batch full by wrapping.
    it = _make_iter(case)
    n = case["n"]
    for _ in range(3):
        for b in it:
            d = _first_col(b.data[0])
            assert len(d) == case["batch_size"] and set(d) <= set(range(n))
            assert _first_col(b.label[0]) == [v + 100 for v in d]
        it.reset()


@pytest.mark.parametrize("n", [1, 5, 9, 16])
@pytest.mark.parametrize("bs", [1, 4, 7, 20])
@pytest.mark.parametrize("mode", ["pad", "discard"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_every_sample_once_per_epoch(n, bs, mode, shuffle):
    np.random.seed(n * 100 + bs)
    it = mx.io.NDArrayIter(np.arange(n, dtype=np.float32), np.arange(n) + 0.5, batch_size=bs,
                           shuffle=shuffle, last_batch_handle=mode)
    for _ in range(2):
        seen = []
        for b in it:
            d = b.data[0].asnumpy()
            np.testing.assert_array_equal(b.label[0].asnumpy(), d + 0.5)
            assert d.shape == (bs,)
            seen.extend(d[:bs - b.pad].astype(int).tolist())
        if mode == "pad":
            assert sorted(seen) == list(range(n))
        else:
            assert len(seen) == (n // bs) * bs and len(set(seen)) == len(seen)
        it.reset()


def test_roll_over_mxnet_documented_sequence():
    it = mx.io.NDArrayIter(np.arange(10, dtype=np.float32), batch_size=4,
                           last_batch_handle="roll_over")
    epochs = [[(_first_col(b.data[0]), b.pad) for b in it] for _ in range(1) if True]
    it.reset()
    epochs.append([(_first_col(b.data[0]), b.pad) for b in it])
    assert epochs[0] == [([0, 1, 2, 3], 0), ([4, 5, 6, 7], 0)]
    assert epochs[1] == [([8, 9, 0, 1], 2), ([2, 3, 4, 5], 0), ([6, 7, 8, 9], 0)]


def test_batches_are_ndarrays_and_keep_dtype():
    it = mx.io.NDArrayIter({"a": np.ones((5, 2))}, np.arange(5), batch_size=2)
    b = next(iter(it))
    assert isinstance(b.data[0], mx.nd.NDArray) and b.data[0].dtype == np.float32
    assert b.label[0].dtype == np.float32 and b.index is None
    assert str(b) == "DataBatch: data shapes: [(2, 2)] label shapes: [(2,)]"


@pytest.mark.parametrize("kwargs,err,match", [
    ({"data": np.zeros((5, 2)), "label": np.zeros(4)}, ShapeError, "same number of samples"),
    ({"data": np.zeros((0, 2))}, ShapeError, "empty"),
    ({"data": []}, ParamError, "empty list"),
    ({"data": None}, ParamError, "None"),
    ({"data": np.zeros((5, 2)), "batch_size": 0}, ParamError, "batch_size"),
    ({"data": np.zeros((5, 2)), "batch_size": -3}, ParamError, "batch_size"),
    ({"data": np.zeros((5, 2)), "last_batch_handle": "wrap"}, ParamError, "last_batch_handle"),
    ({"data": "abc"}, TypeError, "NDArrayIter"),
])
def test_ndarrayiter_bad_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        mx.io.NDArrayIter(**kwargs)


def test_datadesc():
    d = mx.io.DataDesc("data", (2, 3))
    assert d == ("data", (2, 3)) and d.dtype == np.float32 and d.layout == "NCHW"
    assert repr(d) == "DataDesc[data,(2, 3),<class 'numpy.float32'>,NCHW]"
    assert mx.io.DataDesc.get_batch_axis("TNC") == 1
    assert mx.io.DataDesc.get_batch_axis(None) == 0
    descs = mx.io.DataDesc.get_list([("a", (1,)), ("b", (2,))], [("a", np.int32), ("b", "f")])
    assert [x.dtype for x in descs] == [np.int32, "f"]
    name, shape = d
    assert name == "data" and shape == (2, 3)


def test_resize_iter():
    base = mx.io.NDArrayIter(np.arange(6, dtype=np.float32), batch_size=2)
    it = mx.io.ResizeIter(base, 5)
    got = [_first_col(b.data[0]) for b in it]
    assert got == [[0, 1], [2, 3], [4, 5], [0, 1], [2, 3]]
    it.reset()
    assert len(list(it)) == 5


def test_prefetching_iter_matches_direct_iteration():
    x = np.arange(10, dtype=np.float32)
    i1 = mx.io.NDArrayIter({"data": x}, x + 100, batch_size=4)
    i2 = mx.io.NDArrayIter({"data": x + 50}, batch_size=4)
    it = mx.io.PrefetchingIter([i1, i2], rename_data=[{"data": "d1"}, {"data": "d2"}])
    assert [d.name for d in it.provide_data] == ["d1", "d2"]
    assert it.batch_size == 4
    for _ in range(2):
        got = [([_first_col(d) for d in b.data], _first_col(b.label[0]), b.pad) for b in it]
        assert got == [([[0, 1, 2, 3], [50, 51, 52, 53]], [100, 101, 102, 103], 0),
                       ([[4, 5, 6, 7], [54, 55, 56, 57]], [104, 105, 106, 107], 0),
                       ([[8, 9, 0, 1], [58, 59, 50, 51]], [108, 109, 100, 101], 2)]
        it.reset()


# ---------------------------------------------------------------------- MNISTIter
def _labels(it):
    return "".join(str(int(v)) for b in it for v in b.label[0].asnumpy())


def test_mnistiter_sequential_matches_mxnet():
    gold = MNIST["seq"]
    it = mx.io.MNISTIter(image=IMG, label=LAB, batch_size=128, shuffle=False, flat=False)
    assert _descs(it.provide_data) == gold["provide_data"]
    assert _descs(it.provide_label) == gold["provide_label"]
    batches = list(it)
    assert len(batches) == gold["num_batches"]
    first = batches[0]
    assert list(first.data[0].shape) == gold["data_shape"]
    assert list(first.label[0].shape) == gold["label_shape"]
    assert first.label[0].asnumpy().astype(int).tolist() == gold["first_labels"]
    assert batches[-1].label[0].asnumpy().astype(int).tolist() == gold["last_labels"]
    assert sorted({b.pad for b in batches}) == gold["pads"]
    img0 = first.data[0].asnumpy()[0]
    assert img0.max() == gold["first_image_max"]  # /256 scaling, as MXNet
    np.testing.assert_allclose(img0.sum(dtype=np.float64), gold["first_image_sum"], rtol=1e-9)
    assert img0[0, 14].tolist() == gold["first_pixels_row14"]


def test_mnistiter_parts_match_mxnet():
    gold = MNIST["part"]
    it = mx.io.MNISTIter(image=IMG, label=LAB, batch_size=100, shuffle=False, flat=True,
                         num_parts=3, part_index=1)
    batches = list(it)
    assert len(batches) == gold["num_batches"]
    assert list(batches[0].data[0].shape) == gold["data_shape"]
    assert batches[0].label[0].asnumpy().astype(int).tolist() == gold["first_labels"]
    assert batches[-1].label[0].asnumpy().astype(int).tolist() == gold["last_labels"]


@pytest.mark.parametrize("seed", [0, 3])
def test_mnistiter_shuffle_order_matches_mxnet(seed):
    gold = MNIST[f"shuffle_seed{seed}"]
    it = mx.io.MNISTIter(image=IMG, label=LAB, batch_size=1000, shuffle=True, seed=seed,
                         flat=True)
    first = _labels(it)
    assert first == gold["labels"]
    it.reset()
    assert (_labels(it) == first) == gold["same_order_each_epoch"]
    it.reset()
    b = next(iter(it))
    np.testing.assert_allclose(b.data[0].asnumpy()[0].sum(dtype=np.float64),
                               gold["first_image_sum"], rtol=1e-9)


def test_mnistiter_shuffled_part_matches_mxnet():
    gold = MNIST["part_shuffle"]
    it = mx.io.MNISTIter(image=IMG, label=LAB, batch_size=100, shuffle=True, seed=1, flat=True,
                         num_parts=3, part_index=2)
    assert it.num_batches == gold["num_batches"]
    assert _labels(it) == gold["labels"]


def test_mnistiter_epoch_indices_and_errors():
    it = mx.io.MNISTIter(image=IMG, label=LAB, batch_size=3000, shuffle=False)
    idx, pads = it.epoch_indices()
    assert idx.shape == (3, 3000) and pads.tolist() == [0, 0, 0]
    assert idx[1, 0] == 3000
    with pytest.raises(StopIteration):
        it.next()
    with pytest.raises(ParamError):
        mx.io.MNISTIter(image=IMG, label=LAB, batch_size=0)
    with pytest.raises(ParamError):
        mx.io.MNISTIter(image=IMG, label=LAB, num_parts=2, part_index=2)
    with pytest.raises(FileNotFoundError):
        mx.io.MNISTIter(image=IMG + ".missing", label=LAB)


with open(os.path.join(FIX, "csviter.json")) as _fh:
    CSV_CASES = json.load(_fh)["cases"]


@pytest.mark.parametrize("case", CSV_CASES, ids=[
    f"n{c['n']}_b{c['batch_size']}_{'round' if c['round_batch'] else 'plain'}"
    f"_{'nolabel' if c['label_shape'] is None else 'label'}" for c in CSV_CASES])
def test_csviter_matches_mxnet(case, tmp_path):
    """Batches, pads and the cursor across 3 epochs (round_batch's wrap) equal MXNet's."""
    n, dshape, lshape = case["n"], tuple(case["data_shape"]), case["label_shape"]
    size = int(np.prod(dshape))
    dpath, lpath = tmp_path / "d.csv", tmp_path / "l.csv"
    np.savetxt(dpath, 10 * np.arange(n)[:, None] + np.arange(size), delimiter=",")
    kw = {}
    if lshape is not None:
        np.savetxt(lpath, np.arange(n)[:, None] + np.zeros((1, int(np.prod(lshape)))),
                   delimiter=",")
        kw = {"label_csv": str(lpath), "label_shape": tuple(lshape)}
    it = mx.io.CSVIter(data_csv=str(dpath), data_shape=dshape, batch_size=case["batch_size"],
                       round_batch=case["round_batch"], **kw)
    assert _descs(it.provide_data) == case["provide_data"]
    assert _descs(it.provide_label) == case["provide_label"]
    assert _run(it, 3) == case["epochs"]


def test_csviter_trains_and_rejects_bad_rows(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.rand(40, 4).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.float32)
    np.savetxt(tmp_path / "x.csv", x, delimiter=",")
    np.savetxt(tmp_path / "y.csv", y, delimiter=",")
    it = mx.io.CSVIter(data_csv=str(tmp_path / "x.csv"), data_shape=(4,),
                       label_csv=str(tmp_path / "y.csv"), batch_size=8)
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.Variable("data"), num_hidden=2),
                               name="softmax")
    mod = mx.mod.Module(net)
    mod.fit(it, num_epoch=2, optimizer_params={"learning_rate": 0.1})
    assert 0.0 <= mod.score(it, "acc")[0][1] <= 1.0
    with pytest.raises(mx.base.ShapeError, match="has 4 values per row, but shape"):
        mx.io.CSVIter(data_csv=str(tmp_path / "x.csv"), data_shape=(3,), batch_size=2)
