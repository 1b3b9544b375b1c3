"""Helpers from MXNet's ``mx.test_utils``: MNIST loaders, array comparisons, and the checks of
a symbol's forward, backward and numerical gradient (for custom operators and graphs).

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
           "assert_almost_equal", "almost_equal", "same", "check_symbolic_forward",
           "check_symbolic_backward", "check_numeric_gradient"]

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


def _by_name(names: Sequence[str], values: Any, what: str) -> Dict[str, np.ndarray]:
    """``{name: array}`` from a dict or a list in ``names`` order."""
    if values is None:
        return {}
    if isinstance(values, dict):
        unknown = [k for k in values if k not in names]
        if unknown:
            raise ValueError(f"{what}: unknown names {unknown}; the symbol has {list(names)}")
        return {k: _np(v) for k, v in values.items()}
    values = list(values)
    if len(values) != len(names):
        raise ValueError(f"{what}: {len(values)} arrays for {len(names)} names {list(names)}")
    return {n: _np(v) for n, v in zip(names, values)}


def _bind(sym: Any, location: Any, aux_states: Any, grad_req: Any, ctx: Optional[Context],
          dtype: Any):
    from .ndarray import NDArray
    args = {k: v.astype(dtype) for k, v in
            _by_name(sym.list_arguments(), location, "location").items()}
    aux = {k: v.astype(dtype) for k, v in
           _by_name(sym.list_auxiliary_states(), aux_states, "aux_states").items()}
    missing = [n for n in sym.list_arguments() if n not in args]
    if missing:
        raise ValueError(f"location: no value for the arguments {missing}")
    ctx = ctx or default_context()
    grads = {n: NDArray(np.zeros_like(v), ctx) for n, v in args.items()}
    return sym.bind(ctx, {n: NDArray(v, ctx) for n, v in args.items()}, args_grad=grads,
                    grad_req=grad_req, aux_states={n: NDArray(v, ctx) for n, v in aux.items()}
                    or None)


def check_symbolic_forward(sym: Any, location: Any, expected: Any, rtol: float = 1e-4,
                           atol: Optional[float] = None, aux_states: Any = None,
                           ctx: Optional[Context] = None, equal_nan: bool = False,
                           dtype: Any = np.float32) -> list:
    """Assert ``sym``'s inference outputs on ``location`` (arguments, list or dict) equal
    ``expected`` (list, or dict by output name). Returns the outputs as numpy arrays."""
    exe = _bind(sym, location, aux_states, "null", ctx, dtype)
    outs = [o.asnumpy() for o in exe.forward(is_train=False)]
    want = _by_name(sym.list_outputs(), expected, "expected")
    for name, out in zip(sym.list_outputs(), outs):
        if name in want:
            np.testing.assert_allclose(out, want[name], rtol=rtol,
                                       atol=1e-20 if atol is None else atol,
                                       equal_nan=equal_nan, err_msg=f"output {name!r}")
    return outs


def check_symbolic_backward(sym: Any, location: Any, out_grads: Any, expected: Any,
                            rtol: float = 1e-5, atol: Optional[float] = None,
                            aux_states: Any = None, grad_req: Any = "write",
                            ctx: Optional[Context] = None, grad_stypes: Any = None,
                            equal_nan: bool = False, dtype: Any = np.float32) -> Dict[str, Any]:
    """Assert the gradients of a training forward and ``backward(out_grads)`` equal
    ``expected`` (list, or dict by argument name). Returns ``{name: gradient}``."""
    from .ndarray import NDArray
    exe = _bind(sym, location, aux_states, grad_req, ctx, dtype)
    exe.forward(is_train=True)
    heads = out_grads if isinstance(out_grads, (list, tuple)) or out_grads is None \
        else [out_grads]
    exe.backward(None if heads is None else [NDArray(_np(g).astype(dtype)) for g in heads])
    grads = {n: g.asnumpy() for n, g in exe.grad_dict.items() if g is not None}
    for name, want in _by_name(sym.list_arguments(), expected, "expected").items():
        np.testing.assert_allclose(grads[name], want, rtol=rtol,
                                   atol=1e-20 if atol is None else atol,
                                   equal_nan=equal_nan, err_msg=f"gradient of {name!r}")
    return grads


def check_numeric_gradient(sym: Any, location: Any, aux_states: Any = None,
                           numeric_eps: float = 1e-3, rtol: float = 1e-2,
                           atol: Optional[float] = None, grad_nodes: Any = None,
                           use_forward_train: bool = True, ctx: Optional[Context] = None,
                           grad_stype_dict: Any = None, dtype: Any = np.float32) -> None:
    """Assert ``sym``'s symbolic gradients equal central finite differences.

    As MXNet's: the outputs are projected onto fixed random arrays and summed, and that
    scalar is differentiated with respect to ``grad_nodes`` (default: every argument).
    """
    import jax
    from .compiler import compile_symbol
    args = {k: v.astype(dtype) for k, v in
            _by_name(sym.list_arguments(), location, "location").items()}
    aux = {k: v.astype(dtype) for k, v in
           _by_name(sym.list_auxiliary_states(), aux_states, "aux_states").items()}
    nodes = list(grad_nodes) if grad_nodes is not None else list(args)
    if isinstance(grad_nodes, dict):
        nodes = [n for n, req in grad_nodes.items() if req != "null"]
    graph = compile_symbol(sym, optimize="none", backend="cpu")
    cpu = jax.devices("cpu")[0]
    with jax.default_device(cpu):
        shapes = [o.shape for o in graph.forward_fn(use_forward_train)(args, aux, None)[0]]
        rng = np.random.RandomState(1234)
        projs = [rng.normal(0, 1, s).astype(dtype) for s in shapes]
        fwd = graph.forward_fn(use_forward_train)

        def value(values: Dict[str, np.ndarray]) -> float:
            outs, _ = fwd(values, aux, None)
            return float(sum(np.sum(np.asarray(o, np.float64) * p)
                             for o, p in zip(outs, projs)))

        _, _, grads = graph.forward_backward_fn(nodes)(args, aux, None, tuple(projs))
        for name in nodes:
            base = args[name]
            numeric = np.zeros(base.shape, np.float64)
            flat = numeric.reshape(-1)
            for i in range(base.size):
                plus, minus = base.copy(), base.copy()
                plus.reshape(-1)[i] += numeric_eps / 2
                minus.reshape(-1)[i] -= numeric_eps / 2
                flat[i] = (value({**args, name: plus}) - value({**args, name: minus})) \
                    / numeric_eps
            np.testing.assert_allclose(np.asarray(grads[name]), numeric, rtol=rtol,
                                       atol=1e-20 if atol is None else atol,
                                       err_msg=f"numeric vs symbolic gradient of {name!r}")
