"""Helpers from MXNet's ``mx.test_utils``: MNIST loaders and array comparisons.

``get_mnist()`` works offline: it uses the embedded 10k MNIST training subset and the canonical
test set when :func:`symnet.datasets.mnist.test_set` finds it.
"""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .context import Context, current_context
from .datasets import mnist as _mnist

__all__ = ["get_mnist", "get_mnist_iterator", "default_context", "set_default_context",
           "assert_almost_equal", "almost_equal", "same"]

_N_FALLBACK_TEST = 2000


_STATE: Dict[str, Optional[Context]] = {"ctx": None}


def default_context() -> Context:
    """The context tests run on (``set_default_context`` or the current context)."""
    return _STATE["ctx"] or current_context()


def set_default_context(ctx: Context) -> None:
    """Set the context returned by :func:`default_context`."""
    _STATE["ctx"] = ctx


def _split() -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    data = _mnist.load_mnist()
    train_x, train_y = data["train_images"], data["train_labels"]
    if data["test_images"] is None:
        warnings.warn(f"MNIST test set not found (set SYMNET_MNIST_DIR to a directory with "
                      f"t10k-*-ubyte[.gz]); using the last {_N_FALLBACK_TEST} embedded "
                      f"training images as the test set.", stacklevel=3)
        return (train_x[:-_N_FALLBACK_TEST], train_y[:-_N_FALLBACK_TEST],
                train_x[-_N_FALLBACK_TEST:], train_y[-_N_FALLBACK_TEST:])
    return train_x, train_y, data["test_images"], data["test_labels"]


def get_mnist() -> Dict[str, np.ndarray]:
    """Load MNIST as MXNet's ``mx.test_utils.get_mnist`` does, without network.

    Returns:
        dict with ``train_data`` (N, 1, 28, 28) float32 in [0, 1] (pixels / 255),
        ``train_label`` (N,) int8, ``test_data`` (M, 1, 28, 28), ``test_label`` (M,).
        N = 10000 (embedded subset) and M = 10000 (canonical test set) when the test set is
        found; otherwise the last 2000 embedded images are the test set (with a warning).
    """
    train_x, train_y, test_x, test_y = _split()

    def images(x: np.ndarray) -> np.ndarray:
        return x.reshape(x.shape[0], 1, 28, 28).astype(np.float32) / 255

    # MXNet compat: labels are read as int8.
    return {"train_data": images(train_x), "train_label": train_y.astype(np.int8),
            "test_data": images(test_x), "test_label": test_y.astype(np.int8)}


def get_mnist_iterator(batch_size: int, input_shape: Sequence[int], num_parts: int = 1,
                       part_index: int = 0):
    """Return (train, val) MNISTIters over the embedded train subset and the test set.

    Args:
        batch_size: samples per batch.
        input_shape: (1, 28, 28) for image data, (784,) for flat data.

    Raises:
        FileNotFoundError: the canonical test set is not available (see ``get_mnist``).
    """
    from .io import MNISTIter

    flat = len(input_shape) != 3
    emb = _mnist.embedded_dir()
    train = MNISTIter(image=os.path.join(emb, "train10k-images-idx3-ubyte.gz"),
                      label=os.path.join(emb, "train10k-labels-idx1-ubyte.gz"),
                      batch_size=batch_size, shuffle=True, flat=flat, num_parts=num_parts,
                      part_index=part_index)
    test_dir = next((d for d in _mnist._default_test_dirs()
                     if os.path.isdir(d) and _mnist.find_file(d, "test_images")), None)
    if test_dir is None:
        raise FileNotFoundError("get_mnist_iterator: the MNIST test set was not found; set "
                                "SYMNET_MNIST_DIR to a directory with t10k-*-ubyte[.gz].")
    val = MNISTIter(image=_mnist.find_file(test_dir, "test_images"),
                    label=_mnist.find_file(test_dir, "test_labels"), batch_size=batch_size,
                    shuffle=False, flat=flat, num_parts=num_parts, part_index=part_index)
    return train, val


def _np(x: Any) -> np.ndarray:
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


def same(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` are exactly equal arrays."""
    return bool(np.array_equal(_np(a), _np(b)))


def almost_equal(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-20,
                 equal_nan: bool = False) -> bool:
    """True when ``a`` and ``b`` agree within tolerances."""
    return bool(np.allclose(_np(a), _np(b), rtol=rtol, atol=atol, equal_nan=equal_nan))


def assert_almost_equal(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-20,
                        names: Tuple[str, str] = ("a", "b"), equal_nan: bool = False) -> None:
    """Assert ``a`` and ``b`` agree within tolerances (NDArrays or numpy)."""
    np.testing.assert_allclose(_np(a), _np(b), rtol=rtol, atol=atol, equal_nan=equal_nan,
                               err_msg=f"{names[0]} vs {names[1]}")
