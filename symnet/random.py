"""Global random state: ``mx.random.seed`` and random NDArray constructors.

symnet keeps one global JAX PRNG key. Initialisers, dropout and anything else that needs device
randomness take a fresh subkey from :func:`next_key`; host-side code (e.g. shuffles) can use the
numpy generator from :func:`np_rng`. Both are reset by :func:`seed`.

Keys are raw ``uint32[2]`` keys (``jax.random.PRNGKey``), so they pass through ``jax.jit``
as ordinary arrays.
"""
from __future__ import annotations

import threading
from typing import Any, Optional, Sequence, Union

import numpy as np

from .base import ParamError
from .context import Context, current_context

__all__ = ["seed", "next_key", "np_rng", "get_seed", "uniform", "normal", "randint", "randn"]

_DEFAULT_SEED = 0
_lock = threading.Lock()
_state: dict = {"seed": _DEFAULT_SEED, "key": None, "np": None}


def seed(seed_state: int, ctx: Union[str, Context] = "all") -> None:
    """Seed the global random state (device key, host generator and numpy's global one).

    Args:
        seed_state: a non-negative integer.
        ctx: ``'all'`` or a Context; symnet has one key for every device, so any value reseeds it.

    Example:
        >>> seed(42); a = next_key(); seed(42); b = next_key()
        >>> bool((a == b).all())
        True
    """
    if isinstance(seed_state, bool) or not isinstance(seed_state, (int, np.integer)):
        raise ParamError(f"mx.random.seed: seed_state must be an integer, got "
                         f"{type(seed_state).__name__} {seed_state!r}.")
    if not (ctx == "all" or isinstance(ctx, Context)):
        raise ParamError(f"mx.random.seed: ctx must be 'all' or a Context, got {ctx!r}.")
    value = int(seed_state)
    if value < 0:
        raise ParamError(f"mx.random.seed: seed_state must be >= 0, got {value}.")
    with _lock:
        _state["seed"] = value
        _state["key"] = None
        _state["np"] = None
    # NDArrayIter shuffles with numpy's global generator, as MXNet's does; seeding it here makes
    # mx.random.seed(n) alone enough to reproduce initialisation, shuffling and dropout.
    np.random.seed(value % (2 ** 32))


def get_seed() -> int:
    """Return the seed last given to :func:`seed` (0 by default)."""
    return _state["seed"]


def _key_stream() -> np.random.Generator:
    if _state["key"] is None:
        _state["key"] = np.random.Generator(np.random.Philox(_state["seed"]))
    return _state["key"]


def next_key():
    """A fresh PRNG key (a raw ``uint32[2]`` jax array) from the seeded key stream.

    Keys come from a host counter-based generator (Philox) seeded by :func:`seed`, so making one
    costs no device computation or compilation; every ``uint32[2]`` is a valid threefry key.
    """
    import jax

    return jax.device_put(next_key_bits())  # an explicit transfer (allowed under guards)


def next_key_bits() -> np.ndarray:
    """The next key of the stream as host ``uint32[2]`` bits (to place it with other values)."""
    with _lock:
        return _key_stream().integers(0, 2 ** 32, size=2, dtype=np.uint32)


def peek_key_bits() -> np.ndarray:
    """The bits :func:`next_key_bits` will return next, without advancing the stream."""
    with _lock:
        gen = _key_stream()
        saved = gen.bit_generator.state
        bits = gen.integers(0, 2 ** 32, size=2, dtype=np.uint32)
        gen.bit_generator.state = saved
        return bits


def np_rng() -> np.random.RandomState:
    """Return the host numpy generator seeded by :func:`seed` (shared, stateful)."""
    with _lock:
        if _state["np"] is None:
            _state["np"] = np.random.RandomState(_state["seed"] % (2 ** 32))
        return _state["np"]


def _shape(shape: Any) -> tuple:
    if shape is None:
        return (1,)
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _finish(value, ctx: Optional[Context], out):
    from .ndarray import NDArray

    ctx = Context(ctx) if ctx is not None else current_context()
    res = NDArray(value, ctx=ctx)
    if out is not None:
        out[:] = res
        return out
    return res


def uniform(low: float = 0.0, high: float = 1.0, shape: Any = None, dtype: Any = "float32",
            ctx: Optional[Context] = None, out: Any = None, **kwargs: Any):
    """Samples from U[low, high) as an NDArray of ``shape`` (default (1,))."""
    import jax

    if out is not None and shape is None:
        shape = out.shape
    val = jax.random.uniform(next_key(), _shape(shape), dtype=np.dtype(dtype),
                             minval=low, maxval=high)
    return _finish(val, ctx, out)


def normal(loc: float = 0.0, scale: float = 1.0, shape: Any = None, dtype: Any = "float32",
           ctx: Optional[Context] = None, out: Any = None, **kwargs: Any):
    """Samples from N(loc, scale**2) as an NDArray of ``shape`` (default (1,))."""
    import jax

    if out is not None and shape is None:
        shape = out.shape
    val = loc + scale * jax.random.normal(next_key(), _shape(shape), dtype=np.dtype(dtype))
    return _finish(val, ctx, out)


def randn(*shape: int, loc: float = 0.0, scale: float = 1.0, dtype: Any = "float32",
          ctx: Optional[Context] = None):
    """Normal samples with the shape given positionally."""
    return normal(loc, scale, shape or None, dtype, ctx)


def randint(low: int, high: int, shape: Any = None, dtype: Any = "int32",
            ctx: Optional[Context] = None, out: Any = None):
    """Integers uniformly drawn from [low, high)."""
    import jax

    val = jax.random.randint(next_key(), _shape(shape), int(low), int(high), dtype=np.dtype(dtype))
    return _finish(val, ctx, out)


def shuffle(data: Any, axis: int = 0, seq: Optional[Sequence] = None):
    """Return a copy of ``data`` shuffled along the first axis."""
    import jax

    from .ndarray import NDArray

    arr = data._data if isinstance(data, NDArray) else data
    perm = jax.random.permutation(next_key(), arr.shape[0])
    return NDArray(arr[perm], ctx=getattr(data, "context", None))
