"""MNIST: embedded subset, IDX reader errors, directory loading, test-set lookup, download."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct

import numpy as np
import pytest

import symnet as mx
from symnet.base import FormatError, SymnetError
from symnet.datasets import mnist

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "io")


@pytest.fixture(scope="module")
def embedded():
    return mnist.load_mnist()


def test_embedded_mnist_loads_10000_images(embedded):
    x, y = embedded["train_images"], embedded["train_labels"]
    assert x.shape == (10000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (10000,) and y.dtype == np.uint8
    # the first training labels of MNIST, and the md5 of the label payload
    assert y[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert hashlib.md5(y.tobytes()).hexdigest() == "4e5ed25342142b5a6e575a1678cbdca3"
    assert np.bincount(y, minlength=10).min() > 800
    assert x.max() == 255 and x.min() == 0


def test_embedded_labels_agree_with_mxnet_mnistiter(embedded):
    with open(os.path.join(FIX, "mnistiter.json")) as fh:
        gold = json.load(fh)["seq"]
    y = embedded["train_labels"]
    assert y[:128].tolist() == gold["first_labels"]
    # MXNet's MNISTIter scales by 1/256
    row = embedded["train_images"][0, 14].astype(np.float32) / 256
    assert row.tolist() == gold["first_pixels_row14"]


def _idx_bytes(arr: np.ndarray, code: int = 0x08) -> bytes:
    return struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape) \
        + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def _write_set(d, n_train=7, n_test=5, gz=True, seed=0):
    rng = np.random.RandomState(seed)
    sets = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        x = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        y = rng.randint(0, 10, size=(n,)).astype(np.uint8)
        for kind, arr in (("images-idx3", x), ("labels-idx1", y)):
            raw = _idx_bytes(arr)
            name = f"{prefix}-{kind}-ubyte" + (".gz" if gz else "")
            with open(os.path.join(d, name), "wb") as fh:
                fh.write(gzip.compress(raw) if gz else raw)
        sets[prefix] = (x, y)
    return sets


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_from_directory(tmp_path, gz):
    sets = _write_set(str(tmp_path), gz=gz)
    got = mnist.load_mnist(str(tmp_path))
    np.testing.assert_array_equal(got["train_images"], sets["train"][0])
    np.testing.assert_array_equal(got["train_labels"], sets["train"][1])
    np.testing.assert_array_equal(got["test_images"], sets["t10k"][0])
    np.testing.assert_array_equal(got["test_labels"], sets["t10k"][1])


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        mnist.load_mnist(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="not a directory"):
        mnist.load_mnist(str(tmp_path / "nope"))


def test_read_idx_other_dtypes(tmp_path):
    arr = np.arange(6, dtype=np.int32).reshape(2, 3) - 3
    p = tmp_path / "a.idx"
    p.write_bytes(_idx_bytes(arr, 0x0C))
    np.testing.assert_array_equal(mnist.read_idx(str(p)), arr)


@pytest.mark.parametrize("mutate,match", [
    (lambda raw: b"\x01\x02" + raw[2:], "IDX magic"),
    (lambda raw: raw[:2] + b"\x07" + raw[3:], "IDX magic"),
    (lambda raw: raw[:-1], "truncated"),
    (lambda raw: raw + b"\x00", "longer than declared"),
    (lambda raw: raw[:3], "4-byte IDX magic"),
    (lambda raw: raw[:6], "dims"),
])
def test_idx_errors(tmp_path, mutate, match):
    raw = _idx_bytes(np.zeros((2, 28, 28), np.uint8))
    p = tmp_path / "bad-images-idx3-ubyte"
    p.write_bytes(mutate(raw))
    with pytest.raises(FormatError, match=match) as info:
        mnist.read_idx(str(p), ndim=3)
    assert str(p) in str(info.value)


def test_idx_wrong_ndim_and_bad_gzip(tmp_path):
    p = tmp_path / "labels"
    p.write_bytes(_idx_bytes(np.zeros((4,), np.uint8)))
    with pytest.raises(FormatError, match="swapped"):
        mnist.read_idx(str(p), ndim=3)
    g = tmp_path / "x.gz"
    g.write_bytes(gzip.compress(_idx_bytes(np.zeros((4,), np.uint8)))[:-6])
    with pytest.raises(FormatError, match="gzip"):
        mnist.read_idx(str(g))


def test_mismatched_counts(tmp_path):
    _write_set(str(tmp_path))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(_idx_bytes(np.zeros((3,), np.uint8))))
    with pytest.raises(FormatError, match="7 images but 3 labels"):
        mnist.load_mnist(str(tmp_path))


def test_test_set_lookup(tmp_path, monkeypatch):
    sets = _write_set(str(tmp_path), gz=False)
    x, y = mnist.test_set(str(tmp_path))
    np.testing.assert_array_equal(y, sets["t10k"][1])
    assert mnist.test_set(str(tmp_path / "empty")) is None
    monkeypatch.setenv("SYMNET_MNIST_DIR", str(tmp_path))
    x2, _ = mnist.test_set()
    np.testing.assert_array_equal(x2, sets["t10k"][0])


def test_get_mnist_matches_mxnet_layout(monkeypatch):
    d = mx.test_utils.get_mnist()
    assert d["train_data"].shape == (10000, 1, 28, 28) and d["train_data"].dtype == np.float32
    assert d["train_label"].dtype == np.int8
    emb = mnist.load_mnist()
    np.testing.assert_array_equal(d["train_data"][:3, 0],
                                  emb["train_images"][:3].astype(np.float32) / 255)
    if emb["test_images"] is not None:
        assert d["test_data"].shape == (emb["test_images"].shape[0], 1, 28, 28)
    monkeypatch.setattr(mnist, "test_set", lambda path=None: None)
    with pytest.warns(UserWarning, match="last 2000"):
        d2 = mx.test_utils.get_mnist()
    assert d2["train_data"].shape[0] == 8000 and d2["test_data"].shape[0] == 2000
    np.testing.assert_array_equal(d2["test_label"], emb["train_labels"][-2000:])


def test_download_verifies_checksums(tmp_path):
    src = tmp_path / "mirror"
    src.mkdir()
    payloads = {name: gzip.compress(name.encode()) for name in mnist.CANONICAL_MD5}
    for name, raw in payloads.items():
        (src / name).write_bytes(raw)
    url = src.as_uri() + "/"
    # real checksums: the fake payloads must be rejected and nothing left behind
    out = tmp_path / "out"
    with pytest.raises(SymnetError, match="md5"):
        mnist.download(str(out), mirrors=(url,))
    assert [p for p in os.listdir(out) if not p.startswith(".")] == []
    assert os.listdir(out) == []
    # unreachable mirror: a clear error, not a traceback from urllib
    with pytest.raises(SymnetError, match="Could not download"):
        mnist.download(str(out), mirrors=("file:///nonexistent/dir/",))


def test_download_success_with_matching_checksums(tmp_path, monkeypatch):
    src = tmp_path / "mirror"
    src.mkdir()
    md5s = {}
    for name in mnist.CANONICAL_MD5:
        raw = gzip.compress(name.encode())
        (src / name).write_bytes(raw)
        md5s[name] = hashlib.md5(raw).hexdigest()
    monkeypatch.setattr(mnist, "CANONICAL_MD5", md5s)
    out = tmp_path / "out"
    assert mnist.download(str(out), mirrors=(src.as_uri() + "/",)) == str(out)
    assert sorted(os.listdir(out)) == sorted(md5s)
    # second call keeps the verified files (no mirror needed)
    mnist.download(str(out), mirrors=("file:///nonexistent/",))
