"""Generate MXNet 1.9.1 golden fixtures for symnet's .params format and data iterators.

Run with the MXNet oracle venv (never imported by tests):

    MXNET_ENGINE_TYPE=NaiveEngine MXNET_SUBGRAPH_BACKEND=NONE \
        /work/mxvenv/bin/python tools/gen_io_fixtures.py

Writes
    tests/fixtures/params/*.params      files written by mx.nd.save / mx.model.save_checkpoint
    tests/fixtures/params/expected.npz  their values, keys "<file>/<index or name>"
    tests/fixtures/params/manifest.json per file: list or dict, names, dtypes, shapes
    tests/fixtures/io/ndarrayiter.json  NDArrayIter batch sequences over a grid of cases
    tests/fixtures/io/mnistiter.json    MNISTIter facts on the embedded MNIST subset
    tests/fixtures/io/csviter.json      CSVIter batch sequences (``--csv`` writes only this)
"""
from __future__ import annotations

import json
import os
import sys

import numpy as np

import mxnet as mx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARAMS_DIR = os.path.join(ROOT, "tests", "fixtures", "params")
IO_DIR = os.path.join(ROOT, "tests", "fixtures", "io")
MNIST_DIR = os.path.join(ROOT, "symnet", "datasets", "data")


def _params_fixtures() -> None:
    os.makedirs(PARAMS_DIR, exist_ok=True)
    rng = np.random.RandomState(0)
    files = {}
    files["list_f32.params"] = [
        mx.nd.array(rng.randn(2, 3).astype(np.float32)),
        mx.nd.array(rng.randn(4).astype(np.float32)),
        mx.nd.array(rng.randn(1, 2, 2, 1).astype(np.float32)),
    ]
    files["dict_dtypes.params"] = {
        "f32": mx.nd.array(rng.randn(3, 2), dtype="float32"),
        "f64": mx.nd.array(rng.randn(2, 2), dtype="float64"),
        "f16": mx.nd.array(rng.randn(5), dtype="float16"),
        "u8": mx.nd.array(rng.randint(0, 256, size=(2, 3)), dtype="uint8"),
        "i32": mx.nd.array(rng.randint(-1000, 1000, size=(4,)), dtype="int32"),
        "i8": mx.nd.array(rng.randint(-128, 128, size=(3,)), dtype="int8"),
        "i64": mx.nd.array(rng.randint(-10 ** 6, 10 ** 6, size=(2, 1)), dtype="int64"),
        "empty": mx.nd.array(np.zeros((0, 3))),
        "unicode_\u00e9": mx.nd.array([1.5, -2.5]),
    }
    files["single.params"] = mx.nd.array([[7.0]])
    files["empty_list.params"] = []
    # a tiny checkpoint: FC -> BN -> softmax, 1 epoch
    data = mx.sym.Variable("data")
    net = mx.sym.FullyConnected(data, num_hidden=3, name="fc1")
    net = mx.sym.BatchNorm(net, name="bn1")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    arg_shapes, _, aux_shapes = net.infer_shape(data=(2, 4))
    args = {n: mx.nd.array(rng.randn(*s)) for n, s in zip(net.list_arguments(), arg_shapes)
            if n not in ("data", "softmax_label")}
    aux = {n: mx.nd.array(rng.rand(*s)) for n, s in zip(net.list_auxiliary_states(), aux_shapes)}
    mx.model.save_checkpoint(os.path.join(PARAMS_DIR, "tiny"), 1, net, args, aux)

    expected = {}
    manifest = {}
    for fname, value in files.items():
        path = os.path.join(PARAMS_DIR, fname)
        mx.nd.save(path, value)
    for fname in sorted(os.listdir(PARAMS_DIR)):
        if not fname.endswith(".params"):
            continue
        loaded = mx.nd.load(os.path.join(PARAMS_DIR, fname))
        if isinstance(loaded, dict):
            items = list(loaded.items())
            manifest[fname] = {"kind": "dict", "names": [k for k, _ in items]}
        else:
            items = [(str(i), v) for i, v in enumerate(loaded)]
            manifest[fname] = {"kind": "list", "names": [k for k, _ in items]}
        manifest[fname]["dtypes"] = [np.dtype(v.dtype).name for _, v in items]
        manifest[fname]["shapes"] = [list(v.shape) for _, v in items]
        for k, v in items:
            expected[f"{fname}/{k}"] = v.asnumpy()
    np.savez_compressed(os.path.join(PARAMS_DIR, "expected.npz"), **expected)
    with open(os.path.join(PARAMS_DIR, "manifest.json"), "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)


def _run_iter(it, epochs):
    out = []
    for _ in range(epochs):
        batches = []
        for batch in it:
            batches.append({
                "data": [d.asnumpy().reshape(d.shape[0], -1)[:, 0].astype(int).tolist()
                         for d in batch.data],
                "label": [lab.asnumpy().reshape(lab.shape[0], -1)[:, 0].astype(int).tolist()
                          for lab in (batch.label or [])],
                "pad": int(batch.pad) if batch.pad is not None else None,
            })
        out.append(batches)
        it.reset()
    return out


def _descs(descs):
    return [[d.name, list(d.shape), np.dtype(d.dtype).name, d.layout] for d in descs]


def _iter_fixtures() -> list:
    cases = []
    grid_n = [1, 3, 7, 10, 12]
    grid_b = [1, 3, 4, 5, 10, 13]
    for n in grid_n:
        for b in grid_b:
            for mode in ("pad", "discard", "roll_over"):
                for shuffle in (False, True):
                    if shuffle and (n, b) not in ((10, 4), (7, 3), (12, 5), (3, 4)):
                        continue
                    np.random.seed(1234)
                    data = np.arange(n, dtype=np.float32).reshape(n, 1) * np.ones((1, 2))
                    label = np.arange(n, dtype=np.float32) + 100
                    it = mx.io.NDArrayIter(data, label, batch_size=b, shuffle=shuffle,
                                           last_batch_handle=mode)
                    case = {"id": f"n{n}_b{b}_{mode}_{'shuf' if shuffle else 'seq'}",
                            "n": n, "batch_size": b, "mode": mode, "shuffle": shuffle,
                            "np_seed": 1234, "kind": "array",
                            "provide_data": _descs(it.provide_data),
                            "provide_label": _descs(it.provide_label)}
                    try:
                        case["epochs"] = _run_iter(it, 3)
                    except mx.base.MXNetError as err:
                        # MXNet 1.9.1 itself fails on some roll_over cases (n < batch_size).
                        case["mxnet_error"] = str(err).strip().splitlines()[-1][:200]
                    cases.append(case)
    # multiple inputs: list (names _0_data, ...), dict (sorted), no label, NDArray int input
    n, b = 7, 3
    base = np.arange(n, dtype=np.float32)
    variants = {
        "list": (lambda: [base.reshape(n, 1), base.reshape(n, 1, 1) + 1000],
                 lambda: [base + 100, base + 200]),
        "dict": (lambda: {"zeta": base.reshape(n, 1), "alpha": base.reshape(n, 1, 1) + 1000},
                 lambda: {"lab": base + 100}),
        "nolabel": (lambda: base.reshape(n, 1), lambda: None),
        "ndarray_int": (lambda: mx.nd.array(base.reshape(n, 1), dtype="int32"),
                        lambda: mx.nd.array(base + 100, dtype="int32")),
        "list12": (lambda: [base.reshape(n, 1) + 1000 * i for i in range(12)],
                   lambda: None),
    }
    for name, (mk_data, mk_label) in variants.items():
        for mode in ("pad", "roll_over"):
            np.random.seed(7)
            it = mx.io.NDArrayIter(mk_data(), mk_label(), batch_size=b, shuffle=False,
                                   last_batch_handle=mode, data_name="data",
                                   label_name="softmax_label")
            cases.append({"id": f"{name}_{mode}", "n": n, "batch_size": b, "mode": mode,
                          "shuffle": False, "np_seed": 7, "kind": name,
                          "provide_data": _descs(it.provide_data),
                          "provide_label": _descs(it.provide_label),
                          "epochs": _run_iter(it, 2)})
    # custom names
    it = mx.io.NDArrayIter(base.reshape(n, 1), base, batch_size=4, data_name="x",
                           label_name="y")
    cases.append({"id": "names_pad", "n": n, "batch_size": 4, "mode": "pad", "shuffle": False,
                  "np_seed": 0, "kind": "names", "provide_data": _descs(it.provide_data),
                  "provide_label": _descs(it.provide_label), "epochs": _run_iter(it, 1)})
    return cases


def _mnist_fixtures() -> dict:
    img = os.path.join(MNIST_DIR, "train10k-images-idx3-ubyte.gz")
    lab = os.path.join(MNIST_DIR, "train10k-labels-idx1-ubyte.gz")
    if not os.path.exists(img):
        return {}
    import gzip
    import tempfile
    tmp = tempfile.mkdtemp()
    raw_img = os.path.join(tmp, "img")
    raw_lab = os.path.join(tmp, "lab")
    # MXNet's MNISTIter cannot read gzip: decompress first.
    with gzip.open(img) as src, open(raw_img, "wb") as dst:
        dst.write(src.read())
    with gzip.open(lab) as src, open(raw_lab, "wb") as dst:
        dst.write(src.read())
    out = {}

    def collect(it):
        # MXDataIter batches alias the iterator's buffer: copy each one before the next.
        return [(b.data[0].asnumpy().copy(), b.label[0].asnumpy().copy(), int(b.pad))
                for b in it]

    it = mx.io.MNISTIter(image=raw_img, label=raw_lab, batch_size=128, shuffle=False, flat=False)
    batches = collect(it)
    first = batches[0]
    out["seq"] = {
        "num_batches": len(batches),
        "data_shape": list(first[0].shape),
        "label_shape": list(first[1].shape),
        "provide_data": _descs(it.provide_data),
        "provide_label": _descs(it.provide_label),
        "first_labels": first[1].astype(int).tolist(),
        "last_labels": batches[-1][1].astype(int).tolist(),
        "pads": sorted({b[2] for b in batches}),
        "first_image_sum": float(first[0][0].sum(dtype=np.float64)),
        "first_image_max": float(first[0][0].max()),
        "first_pixels_row14": first[0][0, 0, 14].tolist(),
    }
    it = mx.io.MNISTIter(image=raw_img, label=raw_lab, batch_size=100, shuffle=False, flat=True,
                         num_parts=3, part_index=1)
    batches = collect(it)
    out["part"] = {
        "num_batches": len(batches),
        "data_shape": list(batches[0][0].shape),
        "first_labels": batches[0][1].astype(int).tolist(),
        "last_labels": batches[-1][1].astype(int).tolist(),
    }
    for seed in (0, 3):
        it = mx.io.MNISTIter(image=raw_img, label=raw_lab, batch_size=1000, shuffle=True,
                             seed=seed, flat=True)
        e1 = collect(it)
        it.reset()
        e2 = collect(it)
        labels1 = np.concatenate([b[1] for b in e1]).astype(int)
        labels2 = np.concatenate([b[1] for b in e2]).astype(int)
        out[f"shuffle_seed{seed}"] = {
            "same_order_each_epoch": bool((labels1 == labels2).all()),
            "labels": "".join(str(v) for v in labels1),
            "first_image_sum": float(e1[0][0][0].sum(dtype=np.float64)),
        }
    it = mx.io.MNISTIter(image=raw_img, label=raw_lab, batch_size=100, shuffle=True, seed=1,
                         flat=True, num_parts=3, part_index=2)
    batches = collect(it)
    out["part_shuffle"] = {
        "num_batches": len(batches),
        "labels": "".join(str(v) for v in np.concatenate([b[1] for b in batches]).astype(int)),
    }
    return out


def _csv_fixtures() -> list:
    """CSVIter over files of n rows (data row i: 10*i + column; label row i: i), 3 epochs."""
    import tempfile
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, b, rb, dshape, lshape in [(10, 4, True, (2,), (1,)), (10, 4, False, (2,), (1,)),
                                         (7, 3, True, (1, 3), (2,)), (7, 7, True, (3,), (1,)),
                                         (5, 2, False, (2,), None), (3, 4, True, (2,), (1,))]:
            size = int(np.prod(dshape))
            dpath, lpath = os.path.join(tmp, "d.csv"), os.path.join(tmp, "l.csv")
            np.savetxt(dpath, 10 * np.arange(n)[:, None] + np.arange(size), delimiter=",")
            if lshape is not None:
                lsize = int(np.prod(lshape))
                np.savetxt(lpath, np.arange(n)[:, None] + np.zeros((1, lsize)), delimiter=",")
            kw = {} if lshape is None else {"label_csv": lpath, "label_shape": lshape}
            it = mx.io.CSVIter(data_csv=dpath, data_shape=dshape, batch_size=b, round_batch=rb,
                               **kw)
            cases.append({"n": n, "batch_size": b, "round_batch": rb, "data_shape": dshape,
                          "label_shape": lshape, "provide_data": _descs(it.provide_data),
                          "provide_label": _descs(it.provide_label),
                          "epochs": _run_iter(it, 3)})
    return cases


def main() -> None:
    if "--csv" in sys.argv:  # only the CSVIter fixture
        with open(os.path.join(IO_DIR, "csviter.json"), "w") as fh:
            json.dump({"cases": _csv_fixtures()}, fh, indent=1)
        return
    _params_fixtures()
    os.makedirs(IO_DIR, exist_ok=True)
    with open(os.path.join(IO_DIR, "ndarrayiter.json"), "w") as fh:
        json.dump({"cases": _iter_fixtures()}, fh, separators=(",", ":"))
    with open(os.path.join(IO_DIR, "csviter.json"), "w") as fh:
        json.dump({"cases": _csv_fixtures()}, fh, indent=1)
    mnist = _mnist_fixtures()
    if mnist:
        with open(os.path.join(IO_DIR, "mnistiter.json"), "w") as fh:
            json.dump(mnist, fh, indent=1)


if __name__ == "__main__":
    main()
