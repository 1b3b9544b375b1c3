"""MNIST: IDX reader, the embedded 10k training subset, the canonical test set, checked download.

MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges (CC BY-SA 3.0). symnet ships
the first 10,000 training images (see ``symnet/datasets/data/README.md``); the full set can be
read from any directory holding the four IDX files, or fetched with :func:`download`.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import urllib.request
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..base import FormatError, SymnetError

__all__ = ["read_idx", "load_mnist", "download", "test_set", "embedded_dir", "find_file",
           "EMBEDDED_MD5"]

_DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
_REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

#: md5 of the *decompressed* embedded files.
EMBEDDED_MD5 = {
    "train10k-images-idx3-ubyte": "63a563d3843dba5073e604e3a7990e87",
    "train10k-labels-idx1-ubyte": "e6ef65212ddc6f9010e22d95b5269050",
}

#: md5 of the canonical gzipped files (as published by LeCun et al. and their mirrors).
CANONICAL_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)

# IDX type codes -> big-endian numpy dtypes.
_IDX_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def embedded_dir() -> str:
    """Directory of the embedded MNIST subset."""
    return _DATA_DIR


def _read_bytes(path: str) -> bytes:
    """Read a file, transparently gunzipping it when it starts with the gzip magic."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"IDX file not found: {path}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, ValueError) as err:
            raise FormatError(f"{path}: corrupted gzip stream ({err}). Delete the file and "
                              f"download it again.") from None
    return raw


def parse_idx(raw: bytes, source: str = "<bytes>", ndim: Optional[int] = None) -> np.ndarray:
    """Parse IDX bytes (already decompressed) into a numpy array in native byte order.

    Args:
        raw: the file content.
        source: name used in error messages.
        ndim: expected number of dimensions (3 for images, 1 for labels), or None for any.

    Raises:
        FormatError: bad magic, wrong ndim, or a size that does not match the header.
    """
    if len(raw) < 4:
        raise FormatError(f"{source}: at byte offset 0 expected a 4-byte IDX magic number, but "
                          f"the file has only {len(raw)} bytes.")
    zero, code, nd = struct.unpack(">HBB", raw[:4])
    if zero != 0 or code not in _IDX_TYPES:
        raise FormatError(f"{source}: at byte offset 0 expected an IDX magic number "
                          f"(00 00 <type> <ndim>, e.g. 0x00000803 for MNIST images), found "
                          f"0x{raw[:4].hex()}. Is this an MNIST IDX file?")
    if ndim is not None and nd != ndim:
        raise FormatError(f"{source}: IDX header declares {nd} dimensions, expected {ndim} "
                          f"({'images (N, rows, cols)' if ndim == 3 else 'labels (N,)'}). "
                          f"Were the image and label files swapped?")
    header = 4 + 4 * nd
    if len(raw) < header:
        raise FormatError(f"{source}: at byte offset 4 expected {nd} big-endian u32 dims, but "
                          f"the file ends at byte {len(raw)}.")
    dims = struct.unpack(f">{nd}I", raw[4:header])
    dt = _IDX_TYPES[code]
    need = int(np.prod(dims, dtype=np.int64)) * dt.itemsize
    have = len(raw) - header
    if have != need:
        raise FormatError(f"{source}: header declares shape {tuple(dims)} ({need} data bytes "
                          f"from byte offset {header}), but the file has {have}. The file is "
                          f"{'truncated' if have < need else 'longer than declared'}.")
    arr = np.frombuffer(raw, dtype=dt, count=need // dt.itemsize, offset=header)
    return arr.reshape(dims).astype(dt.newbyteorder("="))


def read_idx(path: str, ndim: Optional[int] = None) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into a numpy array.

    Args:
        path: file path.
        ndim: expected number of dimensions (3 for images, 1 for labels), or None.

    Returns:
        uint8 (N, rows, cols) for MNIST images, uint8 (N,) for labels.

    Raises:
        FormatError: the file is not a valid IDX file.
    """
    return parse_idx(_read_bytes(path), source=path, ndim=ndim)


_NAMES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def find_file(dirname: str, kind: str) -> Optional[str]:
    """Path of an MNIST file of ``kind`` ('train_images', ...) in ``dirname``, raw or .gz."""
    for base in _NAMES[kind]:
        for ext in ("", ".gz"):
            path = os.path.join(dirname, base + ext)
            if os.path.isfile(path):
                return path
    return None


def _check_pair(images: np.ndarray, labels: np.ndarray, where: str) -> None:
    if images.shape[0] != labels.shape[0]:
        raise FormatError(f"{where}: {images.shape[0]} images but {labels.shape[0]} labels; "
                          f"the image and label files do not belong together.")


def _load_embedded() -> Tuple[np.ndarray, np.ndarray]:
    out = []
    for name, ndim in (("train10k-images-idx3-ubyte", 3), ("train10k-labels-idx1-ubyte", 1)):
        path = os.path.join(_DATA_DIR, name + ".gz")
        raw = _read_bytes(path)
        digest = hashlib.md5(raw).hexdigest()
        if digest != EMBEDDED_MD5[name]:
            raise FormatError(f"{path}: md5 {digest} does not match the shipped "
                              f"{EMBEDDED_MD5[name]}; the package data is corrupted. "
                              f"Reinstall symnet.")
        out.append(parse_idx(raw, path, ndim))
    _check_pair(out[0], out[1], _DATA_DIR)
    return out[0], out[1]


def load_mnist(path: Optional[str] = None) -> Dict[str, Optional[np.ndarray]]:
    """Load MNIST as uint8 arrays.

    Args:
        path: None for the embedded 10k training subset (plus the canonical test set when
            :func:`test_set` finds it), or a directory with the four IDX files
            (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``,
            ``t10k-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``).

    Returns:
        dict with ``train_images`` (N, 28, 28) uint8, ``train_labels`` (N,) uint8,
        ``test_images`` (M, 28, 28) uint8 or None, ``test_labels`` (M,) uint8 or None.

    Raises:
        FileNotFoundError: ``path`` lacks the training files. FormatError: a corrupt file.
    """
    if path is None:
        train_x, train_y = _load_embedded()
        test = test_set()
    else:
        if not os.path.isdir(path):
            raise FileNotFoundError(f"load_mnist: {path!r} is not a directory; expected a "
                                    f"directory with the MNIST IDX files (or path=None for the "
                                    f"embedded subset).")
        files = {k: find_file(path, k) for k in _NAMES}
        missing = [_NAMES[k][0] for k in ("train_images", "train_labels") if files[k] is None]
        if missing:
            raise FileNotFoundError(f"load_mnist: {path!r} lacks {missing} (raw or .gz). Use "
                                    f"symnet.datasets.mnist.download({path!r}) to fetch them.")
        train_x = read_idx(files["train_images"], 3)
        train_y = read_idx(files["train_labels"], 1)
        _check_pair(train_x, train_y, path)
        test = test_set(path) if files["test_images"] and files["test_labels"] else None
    return {"train_images": train_x, "train_labels": train_y,
            "test_images": test[0] if test else None, "test_labels": test[1] if test else None}


def _default_test_dirs() -> List[str]:
    dirs = []
    env = os.environ.get("SYMNET_MNIST_DIR")
    if env:
        dirs.append(env)
    dirs.append(os.path.join(os.path.dirname(_REPO_ROOT), "shared", "data", "mnist"))
    return dirs


def test_set(path: Optional[str] = None) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """Return the MNIST test set ``(images (M, 28, 28) uint8, labels (M,) uint8)`` or None.

    Looks in ``path`` when given, else in ``$SYMNET_MNIST_DIR``, else in ``../shared/data/mnist``
    next to the repository root. Returns None when none of them holds ``t10k-*`` files.
    """
    dirs = [path] if path is not None else _default_test_dirs()
    for d in dirs:
        if not d or not os.path.isdir(d):
            continue
        img, lab = find_file(d, "test_images"), find_file(d, "test_labels")
        if img and lab:
            x, y = read_idx(img, 3), read_idx(lab, 1)
            _check_pair(x, y, d)
            return x, y
    return None


test_set.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def _md5_file(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def download(dirname: str, mirrors: Tuple[str, ...] = MIRRORS, timeout: float = 30.0) -> str:
    """Download the four canonical MNIST files into ``dirname`` and verify their md5.

    Files already present with the right checksum are kept. Each file is written to a temporary
    name and renamed only after its checksum matched.

    Returns:
        ``dirname`` (pass it to :func:`load_mnist`).

    Raises:
        SymnetError: no mirror could be reached (e.g. no network) or a checksum mismatched.
    """
    os.makedirs(dirname, exist_ok=True)
    for fname, md5 in CANONICAL_MD5.items():
        target = os.path.join(dirname, fname)
        if os.path.isfile(target) and _md5_file(target) == md5:
            continue
        errors = []
        for base in mirrors:
            url = base + fname
            fd, tmp = tempfile.mkstemp(prefix=".tmp-" + fname, dir=dirname)
            try:
                with os.fdopen(fd, "wb") as out, \
                        urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        out.write(chunk)
                got = _md5_file(tmp)
                if got != md5:
                    errors.append(f"{url}: md5 {got} != expected {md5}")
                    os.unlink(tmp)
                    continue
                os.replace(tmp, target)
                break
            except OSError as err:
                errors.append(f"{url}: {err}")
                if os.path.exists(tmp):
                    os.unlink(tmp)
        else:
            raise SymnetError(f"Could not download {fname} into {dirname!r}: "
                              + "; ".join(errors) + ". Without network access, copy the four "
                              "MNIST IDX files there by hand, or use load_mnist() for the "
                              "embedded 10k subset.")
    return dirname

