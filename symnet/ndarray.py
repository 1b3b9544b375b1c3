"""NDArray: a thin, mutable holder of a ``jax.Array``, plus MXNet's ``.params`` file format.

An :class:`NDArray` keeps its value in the attribute ``_data`` (a ``jax.Array``). It is mutable the
MXNet way: in-place operations (``a[:] = x``, ``a += 1``, ``copyto``) replace ``_data`` by a new
immutable JAX array, so every holder of the same ``NDArray`` object sees the update. Executors and
trainers may read and swap ``_data`` directly.

64-bit dtypes: while JAX runs with ``jax_enable_x64`` off (the default), float64/int64/uint64 arrays
are kept on the host as a ``numpy.ndarray`` in ``_data`` so that ``.params`` files round-trip
exactly; arithmetic on them runs in numpy.

``save``/``load`` read and write MXNet's binary ``.params`` format byte for byte (see
:func:`save_bytes` for the layout).
"""
from __future__ import annotations

import io as _io
import os
import struct
import tempfile
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import jax
import jax.numpy as jnp
import numpy as np

from .base import DTypeError, FormatError, ShapeError
from .context import Context, cpu, current_context

__all__ = [
    "NDArray", "array", "zeros", "ones", "full", "empty", "arange", "concat", "concatenate",
    "stack", "waitall", "save", "load", "save_bytes", "load_bytes", "load_frombuffer",
    "exp", "log", "sqrt", "square", "abs", "sign", "tanh", "sigmoid", "relu", "negative",
    "dot", "maximum", "minimum", "sum", "mean", "max", "min", "argmax", "argmin", "clip",
    "norm", "transpose", "reshape", "broadcast_to", "expand_dims", "flatten", "one_hot",
    "where", "softmax", "zeros_like", "ones_like", "random", "random_uniform", "random_normal",
]

mx_real_t = np.float32

_X64_TYPES = frozenset(np.dtype(t) for t in (np.float64, np.int64, np.uint64, np.complex128))


def _x64_enabled() -> bool:
    return bool(jax.config.jax_enable_x64)


def _np_dtype(dtype: Any) -> np.dtype:
    """Normalise a dtype given as a string, numpy type or dtype object."""
    try:
        return np.dtype(dtype)
    except TypeError as err:
        raise DTypeError(f"Unknown dtype {dtype!r}; expected a numpy dtype such as "
                         f"'float32', np.float16 or 'int32'.") from err


def _to_backend(arr: np.ndarray, ctx: Context):
    """Move a numpy array to ``ctx`` (64-bit arrays stay host numpy while x64 is off)."""
    if arr.dtype in _X64_TYPES and not _x64_enabled():
        return np.array(arr, copy=True, order="C")
    return jax.device_put(arr, ctx.jax_device())


def _ctx_of(data: Any) -> Context:
    """The MXNet context of a jax array (cpu(0) for numpy)."""
    devices = getattr(data, "devices", None)
    if devices is None:
        return cpu(0)
    try:
        dev = next(iter(devices()))
    except Exception:  # pragma: no cover - tracers and exotic arrays
        return current_context()
    if dev.platform == "cpu":
        return cpu(0)
    return Context("gpu", getattr(dev, "id", 0))


def _is_host(data: Any) -> bool:
    return isinstance(data, np.ndarray)


def _wrap(data: Any, ctx: Optional[Context]) -> "NDArray":
    """Wrap an array without copying or moving it."""
    out = NDArray.__new__(NDArray)
    out._data = data
    out._ctx = ctx if ctx is not None else _ctx_of(data)
    return out


class NDArray:
    """A mutable n-dimensional array on a device (MXNet's ``mx.nd.NDArray``).

    Args:
        data: array-like, ``jax.Array`` or ``NDArray``. Arrays are used as they are (their dtype
            is kept); use :func:`array` for MXNet's float32 default.
        ctx: device context; defaults to the array's own device (or the current context).

    Example:
        >>> a = NDArray(np.ones((2, 3), np.float32))
        >>> (a * 2).asnumpy().sum()
        12.0
    """

    __slots__ = ("_data", "_ctx", "__weakref__")
    # Make numpy defer to NDArray's reflected operators (np_array + nd -> NDArray).
    __array_priority__ = 1000.0

    def __init__(self, data: Any, ctx: Optional[Context] = None):
        if isinstance(data, NDArray):
            data = data._data
        if isinstance(data, jax.Array) and not isinstance(data, jax.core.Tracer):
            if ctx is None:
                self._data = data
                self._ctx = _ctx_of(data)
                return
            self._data = jax.device_put(data, ctx.jax_device())
            self._ctx = Context(ctx)
            return
        if isinstance(data, jax.core.Tracer):
            self._data = data
            self._ctx = ctx if ctx is not None else current_context()
            return
        ctx = Context(ctx) if ctx is not None else current_context()
        self._data = _to_backend(np.asarray(data), ctx)
        self._ctx = ctx

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> Tuple[int, ...]:
        """Tuple of dimensions."""
        return tuple(int(d) for d in self._data.shape)

    @property
    def dtype(self) -> type:
        """Numpy scalar type (``np.float32``), as MXNet returns it."""
        return np.dtype(self._data.dtype).type

    @property
    def size(self) -> int:
        """Number of elements."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self._data.shape)

    @property
    def context(self) -> Context:
        """Device context of the array."""
        return self._ctx

    ctx = context

    @property
    def stype(self) -> str:
        """Storage type; always ``'default'`` (dense)."""
        return "default"

    @property
    def T(self) -> "NDArray":
        """Transpose (reversed axes)."""
        return self._new(self._xp().transpose(self._data))

    @property
    def grad(self) -> None:
        """Imperative autograd is not supported; always ``None``."""
        return None

    # ------------------------------------------------------------------ helpers
    def _xp(self):
        return np if _is_host(self._data) else jnp

    def _new(self, data: Any) -> "NDArray":
        return _wrap(data, self._ctx)

    def _operand(self, other: Any):
        """Convert the other operand of a binary op (MXNet casts scalars to our dtype)."""
        if isinstance(other, NDArray):
            return other._data
        if isinstance(other, (bool, int, float, np.number)) or np.ndim(other) == 0:
            # MXNet compat: scalar operands are cast to the array's dtype (int_arr * 1.5 == *1).
            return np.asarray(other).astype(self._data.dtype)
        if isinstance(other, (np.ndarray, list, tuple)):
            return np.asarray(other, dtype=self._data.dtype)
        if isinstance(other, jax.Array):
            return other
        raise TypeError(f"Unsupported operand type {type(other).__name__} for NDArray; expected "
                        f"NDArray, numpy array or scalar.")

    def _binary(self, op: str, other: Any, reverse: bool = False) -> "NDArray":
        rhs = self._operand(other)
        lhs = self._data
        if reverse:
            lhs, rhs = rhs, lhs
        host = _is_host(lhs) and _is_host(rhs)
        xp = np if host else jnp
        try:
            if op == "div" and np.issubdtype(np.dtype(self._data.dtype), np.integer):
                # MXNet compat: integer division truncates towards zero and keeps the int dtype.
                out = xp.trunc(xp.true_divide(lhs, rhs))
            else:
                out = getattr(xp, _BINOPS[op])(lhs, rhs)
        except (TypeError, ValueError) as err:
            raise ShapeError(
                f"NDArray {op}: operands of shapes {self.shape} and {np.shape(other)} cannot be "
                f"broadcast together. Received: {err}") from None
        # MXNet compat: the result keeps the left array's dtype (comparisons give 0/1 values).
        if out.dtype != self._data.dtype:
            out = out.astype(self._data.dtype)
        return self._new(out)

    def _inplace(self, op: str, other: Any) -> "NDArray":
        res = self._binary(op, other)
        if res.shape != self.shape:
            raise ShapeError(f"In-place {op}: result shape {res.shape} differs from the array "
                             f"shape {self.shape}; in-place ops cannot broadcast the left side.")
        self._data = res._data
        return self

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, o): return self._binary("add", o)
    def __radd__(self, o): return self._binary("add", o, True)
    def __sub__(self, o): return self._binary("sub", o)
    def __rsub__(self, o): return self._binary("sub", o, True)
    def __mul__(self, o): return self._binary("mul", o)
    def __rmul__(self, o): return self._binary("mul", o, True)
    def __truediv__(self, o): return self._binary("div", o)
    def __rtruediv__(self, o): return self._binary("div", o, True)
    __div__ = __truediv__
    __rdiv__ = __rtruediv__
    def __floordiv__(self, o): return self._binary("floordiv", o)
    def __rfloordiv__(self, o): return self._binary("floordiv", o, True)
    def __mod__(self, o): return self._binary("mod", o)
    def __rmod__(self, o): return self._binary("mod", o, True)
    def __pow__(self, o): return self._binary("pow", o)
    def __rpow__(self, o): return self._binary("pow", o, True)
    def __iadd__(self, o): return self._inplace("add", o)
    def __isub__(self, o): return self._inplace("sub", o)
    def __imul__(self, o): return self._inplace("mul", o)
    def __itruediv__(self, o): return self._inplace("div", o)
    __idiv__ = __itruediv__
    def __imod__(self, o): return self._inplace("mod", o)
    def __ipow__(self, o): return self._inplace("pow", o)
    def __eq__(self, o): return self._binary("eq", o)  # type: ignore[override]
    def __ne__(self, o): return self._binary("ne", o)  # type: ignore[override]
    def __lt__(self, o): return self._binary("lt", o)
    def __le__(self, o): return self._binary("le", o)
    def __gt__(self, o): return self._binary("gt", o)
    def __ge__(self, o): return self._binary("ge", o)

    def __neg__(self) -> "NDArray":
        return self._new(-self._data)

    def __pos__(self) -> "NDArray":
        return self

    def __abs__(self) -> "NDArray":
        return self._new(self._xp().abs(self._data))

    def __hash__(self) -> int:
        # MXNet compat: NDArrays hash by identity (they are mutable).
        return id(self) // 16

    def __bool__(self) -> bool:
        if self.size == 0:
            return False
        if self.size == 1:
            return bool(self.asnumpy().reshape(-1)[0])
        raise ValueError("The truth value of an NDArray with more than one element is "
                         "ambiguous.")

    __nonzero__ = __bool__

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d NDArray")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.asarray(self._data)
        return out.astype(dtype) if dtype is not None else out

    def __repr__(self) -> str:
        shape_info = "x".join(str(d) for d in self.shape)
        return f"\n{self.asnumpy()}\n<NDArray {shape_info} @{self._ctx}>"

    def __str__(self) -> str:
        return self.__repr__()

    def __copy__(self) -> "NDArray":
        return self._new(self._data)

    def __deepcopy__(self, memo: Any) -> "NDArray":
        return self.copy()

    # ------------------------------------------------------------------ indexing
    def _check_key(self, key: Any) -> Any:
        if isinstance(key, NDArray):
            return key._data.astype(jnp.int32) if not _is_host(key._data) else key._data
        if isinstance(key, (int, np.integer)):
            n = self.shape[0] if self.ndim else 0
            if not -n <= int(key) < n:
                raise IndexError(f"index {int(key)} is out of bounds for axis 0 with size {n}")
        if isinstance(key, tuple):
            for axis, k in enumerate(key):
                if isinstance(k, (int, np.integer)) and axis < self.ndim:
                    n = self.shape[axis]
                    if not -n <= int(k) < n:
                        raise IndexError(f"index {int(k)} is out of bounds for axis {axis} "
                                         f"with size {n}")
            return tuple(k._data if isinstance(k, NDArray) else k for k in key)
        return key

    def __getitem__(self, key: Any) -> "NDArray":
        """Return ``self[key]`` as a new NDArray (a copy, not a view as in MXNet)."""
        out = self._data[self._check_key(key)]
        if out.ndim == 0 and self.ndim > 0:
            # MXNet compat: indexing down to a single element gives shape (1,), not ().
            out = out.reshape((1,))
        return self._new(out)

    def __setitem__(self, key: Any, value: Any) -> None:
        """Assign in place: ``a[:] = x`` (x broadcast to a.shape) or ``a[idx] = x``."""
        if isinstance(value, NDArray):
            value = value._data
        dtype = self._data.dtype
        if isinstance(key, slice) and key == slice(None):
            val_shape = np.shape(value)
            try:
                np.broadcast_shapes(val_shape, self.shape)
                ok = len(val_shape) <= self.ndim or int(np.prod(val_shape)) == self.size
            except ValueError:
                ok = False
            if not ok:
                raise ShapeError(f"Cannot assign an array of shape {tuple(val_shape)} to an "
                                 f"NDArray of shape {self.shape}; shapes must match or broadcast.")
            if _is_host(self._data):
                new = np.empty(self.shape, dtype=dtype)
                new[...] = np.asarray(value).reshape(val_shape if len(val_shape) <= self.ndim
                                                     else self.shape)
                self._data = new
            else:
                val = jnp.asarray(value, dtype=dtype) if not isinstance(value, jax.Array) \
                    else value.astype(dtype)
                if val.ndim > self.ndim:
                    val = val.reshape(self.shape)
                val = jnp.broadcast_to(val, self.shape)
                self._data = jax.device_put(val, self._ctx.jax_device()) \
                    if not isinstance(val, jax.core.Tracer) else val
            return
        key = self._check_key(key)
        if _is_host(self._data):
            new = self._data.copy()
            new[key] = np.asarray(value)
            self._data = new
        else:
            self._data = self._data.at[key].set(jnp.asarray(value, dtype=dtype))

    # ------------------------------------------------------------------ conversion
    def asnumpy(self) -> np.ndarray:
        """Return a numpy copy (blocks until the value is ready)."""
        return np.array(self._data, copy=True)

    def asscalar(self) -> Any:
        """Return the single element as a numpy scalar; the array must have shape (1,)."""
        if self.shape != (1,) and self.shape != ():
            raise ValueError("The current array is not a scalar")
        return self.asnumpy().reshape(-1)[0]

    def astype(self, dtype: Any, copy: bool = True) -> "NDArray":
        """Return a copy cast to ``dtype`` (``self`` when ``copy=False`` and same dtype)."""
        dt = _np_dtype(dtype)
        if not copy and dt == np.dtype(self._data.dtype):
            return self
        if dt in _X64_TYPES and not _x64_enabled():
            return self._new(np.asarray(self._data).astype(dt))
        return self._new(jnp.asarray(self._data).astype(dt))

    def copy(self) -> "NDArray":
        """Return a deep copy on the same context."""
        if _is_host(self._data):
            return self._new(self._data.copy())
        return self._new(jnp.array(self._data, copy=True))

    def copyto(self, other: Union["NDArray", Context]) -> "NDArray":
        """Copy into ``other`` (an NDArray of the same shape, or a new array on a Context)."""
        if isinstance(other, NDArray):
            if other is self:
                return other
            if other.shape != self.shape:
                raise ShapeError(f"copyto: shape mismatch, source {self.shape} vs target "
                                 f"{other.shape}. Reshape one of them first.")
            dt = np.dtype(other._data.dtype)
            if _is_host(other._data):
                other._data = np.asarray(self._data).astype(dt)
            else:
                other._data = jax.device_put(jnp.asarray(self._data).astype(dt),
                                             other._ctx.jax_device())
            return other
        if isinstance(other, Context):
            if _is_host(self._data):
                return _wrap(self._data.copy(), other)
            return _wrap(jax.device_put(self._data, other.jax_device()), other)
        raise TypeError(f"copyto does not support type {type(other).__name__}; expected NDArray "
                        f"or Context.")

    def as_in_context(self, context: Context) -> "NDArray":
        """Return ``self`` when already on ``context``, else a copy there."""
        if self._ctx == context:
            return self
        return self.copyto(context)

    as_in_ctx = as_in_context

    def tojax(self):
        """Return the underlying ``jax.Array`` (converted from numpy for 64-bit host arrays)."""
        return jnp.asarray(self._data)

    def wait_to_read(self) -> None:
        """Block until the value is computed."""
        if not _is_host(self._data):
            self._data.block_until_ready()

    def wait_to_write(self) -> None:
        """Block until pending writes finish (same as :meth:`wait_to_read`)."""
        self.wait_to_read()

    def detach(self) -> "NDArray":
        """Return self (no autograd history in symnet)."""
        return self

    # ------------------------------------------------------------------ shape ops
    def reshape(self, *shape: Any, **kwargs: Any) -> "NDArray":
        """Reshape with MXNet's special values (0 copy, -1 infer, -2, -3, -4)."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        if "shape" in kwargs:
            shape = tuple(kwargs.pop("shape"))
        reverse = bool(kwargs.pop("reverse", False))
        if kwargs:
            raise TypeError(f"reshape got unexpected arguments {sorted(kwargs)}")
        target = _mx_reshape_shape(self.shape, tuple(int(s) for s in shape), reverse)
        return self._new(self._data.reshape(target))

    def reshape_like(self, other: "NDArray") -> "NDArray":
        """Reshape to ``other.shape``."""
        return self.reshape(other.shape)

    def flatten(self) -> "NDArray":
        """Collapse all axes but the first: (N, ...) -> (N, prod(...))."""
        return self._new(self._data.reshape((self.shape[0], -1) if self.ndim else (1, 1)))

    def expand_dims(self, axis: int) -> "NDArray":
        """Insert a new axis of size 1."""
        return self._new(self._xp().expand_dims(self._data, axis))

    def transpose(self, axes: Optional[Sequence[int]] = None) -> "NDArray":
        """Permute axes (reverse them when ``axes`` is None)."""
        return self._new(self._xp().transpose(self._data, axes))

    def broadcast_to(self, shape: Sequence[int]) -> "NDArray":
        """Broadcast to ``shape``."""
        return self._new(self._xp().broadcast_to(self._data, tuple(shape)))

    def squeeze(self, axis: Any = None) -> "NDArray":
        """Remove axes of size 1."""
        return self._new(self._xp().squeeze(self._data, axis))

    # ------------------------------------------------------------------ math methods
    def sum(self, axis=None, keepdims=False): return sum(self, axis, keepdims)
    def mean(self, axis=None, keepdims=False): return mean(self, axis, keepdims)
    def max(self, axis=None, keepdims=False): return max(self, axis, keepdims)
    def min(self, axis=None, keepdims=False): return min(self, axis, keepdims)
    def argmax(self, axis=None, keepdims=False): return argmax(self, axis, keepdims)
    def argmin(self, axis=None, keepdims=False): return argmin(self, axis, keepdims)
    def norm(self): return norm(self)
    def exp(self): return exp(self)
    def log(self): return log(self)
    def sqrt(self): return sqrt(self)
    def square(self): return square(self)
    def abs(self): return abs(self)
    def sign(self): return sign(self)
    def tanh(self): return tanh(self)
    def sigmoid(self): return sigmoid(self)
    def relu(self): return relu(self)
    def softmax(self, axis=-1): return softmax(self, axis)
    def clip(self, a_min, a_max): return clip(self, a_min, a_max)
    def one_hot(self, depth): return one_hot(self, depth)
    def zeros_like(self): return zeros_like(self)
    def ones_like(self): return ones_like(self)


_BINOPS = {
    "add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide",
    "floordiv": "floor_divide", "mod": "mod", "pow": "power", "eq": "equal", "ne": "not_equal",
    "lt": "less", "le": "less_equal", "gt": "greater", "ge": "greater_equal",
}


def _mx_reshape_shape(src: Tuple[int, ...], spec: Tuple[int, ...], reverse: bool = False
                      ) -> Tuple[int, ...]:
    """Resolve MXNet's reshape codes (0, -1, -2, -3, -4) against the source shape."""
    if reverse:
        out = _mx_reshape_shape(src[::-1], _reverse_spec(spec), False)
        return tuple(out[::-1])
    out: List[int] = []
    i = j = 0
    infer_at = -1
    while j < len(spec):
        s = spec[j]
        if s > 0:
            out.append(s)
            i += 1
        elif s == 0:
            out.append(src[i])
            i += 1
        elif s == -1:
            if infer_at >= 0:
                raise ShapeError(f"reshape {spec}: at most one -1 is allowed.")
            infer_at = len(out)
            out.append(1)
            i += 1
        elif s == -2:
            out.extend(src[i:])
            i = len(src)
        elif s == -3:
            out.append(src[i] * src[i + 1])
            i += 2
        elif s == -4:
            a, b = spec[j + 1], spec[j + 2]
            d = src[i]
            if a == -1:
                a = d // b
            if b == -1:
                b = d // a
            out.extend([a, b])
            i += 1
            j += 2
        else:
            raise ShapeError(f"reshape {spec}: invalid code {s}.")
        j += 1
    total = int(np.prod(src, dtype=np.int64))
    if infer_at >= 0:
        rest = int(np.prod([d for k, d in enumerate(out) if k != infer_at], dtype=np.int64))
        if rest == 0 or total % rest:
            raise ShapeError(f"Cannot reshape array of shape {src} to {spec}.")
        out[infer_at] = total // rest
    if int(np.prod(out, dtype=np.int64)) != total:
        raise ShapeError(f"Cannot reshape array of shape {src} (size {total}) to {tuple(out)} "
                         f"(from {spec}); the sizes differ.")
    return tuple(out)


def _reverse_spec(spec: Tuple[int, ...]) -> Tuple[int, ...]:
    """Reverse a reshape spec, keeping the -4 groups' argument order valid."""
    groups: List[Tuple[int, ...]] = []
    j = 0
    while j < len(spec):
        if spec[j] == -4:
            groups.append((-4, spec[j + 2], spec[j + 1]))
            j += 3
        else:
            groups.append((spec[j],))
            j += 1
    return tuple(x for g in groups[::-1] for x in g)


# ---------------------------------------------------------------------- creation
def _ctx_or_default(ctx: Optional[Context]) -> Context:
    return Context(ctx) if ctx is not None else current_context()


def array(source_array: Any, ctx: Optional[Context] = None, dtype: Any = None) -> NDArray:
    """Create an NDArray from array-like data.

    MXNet compat: the dtype defaults to float32 for anything that is not an NDArray (also for
    float64 or int numpy arrays); an NDArray source keeps its dtype.

    Args:
        source_array: NDArray, numpy array, jax array or nested sequence.
        ctx: device (default: current context).
        dtype: element type (default float32, or the source NDArray's dtype).

    Returns:
        A new NDArray with the same shape as ``source_array``.
    """
    if isinstance(source_array, NDArray):
        dt = np.dtype(source_array._data.dtype) if dtype is None else _np_dtype(dtype)
        src = source_array._data
    else:
        dt = np.dtype(mx_real_t) if dtype is None else _np_dtype(dtype)
        src = source_array
    ctx = _ctx_or_default(ctx)
    if isinstance(src, jax.Array) and not (dt in _X64_TYPES and not _x64_enabled()):
        return _wrap(jax.device_put(jnp.asarray(src, dtype=dt), ctx.jax_device()), ctx)
    try:
        host = np.asarray(src, dtype=dt)
    except (TypeError, ValueError) as err:
        raise TypeError(f"source_array must be array like object; got "
                        f"{type(source_array).__name__}: {err}") from None
    return _wrap(_to_backend(host, ctx), ctx)


def _shape_tuple(shape: Any) -> Tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def full(shape: Any, val: Any, ctx: Optional[Context] = None, dtype: Any = mx_real_t,
         out: Optional[NDArray] = None) -> NDArray:
    """Return an array of ``shape`` filled with ``val``."""
    dt = _np_dtype(dtype if dtype is not None else mx_real_t)
    ctx = _ctx_or_default(ctx)
    res = _wrap(_to_backend(np.full(_shape_tuple(shape), val, dtype=dt), ctx), ctx)
    if out is not None:
        out[:] = res
        return out
    return res


def zeros(shape: Any, ctx: Optional[Context] = None, dtype: Any = mx_real_t,
          **kwargs: Any) -> NDArray:
    """Return an array of zeros (float32 by default)."""
    return full(shape, 0, ctx, dtype, **kwargs)


def ones(shape: Any, ctx: Optional[Context] = None, dtype: Any = mx_real_t,
         **kwargs: Any) -> NDArray:
    """Return an array of ones (float32 by default)."""
    return full(shape, 1, ctx, dtype, **kwargs)


def empty(shape: Any, ctx: Optional[Context] = None, dtype: Any = mx_real_t) -> NDArray:
    """Return an uninitialised array (zeros in symnet)."""
    return full(shape, 0, ctx, dtype)


def zeros_like(a: NDArray) -> NDArray:
    """Zeros with the shape, dtype and context of ``a``."""
    return zeros(a.shape, a.context, a.dtype)


def ones_like(a: NDArray) -> NDArray:
    """Ones with the shape, dtype and context of ``a``."""
    return ones(a.shape, a.context, a.dtype)


def arange(start: float, stop: Optional[float] = None, step: float = 1.0, repeat: int = 1,
           infer_range: bool = False, ctx: Optional[Context] = None,
           dtype: Any = mx_real_t) -> NDArray:
    """Return evenly spaced values in [start, stop), each repeated ``repeat`` times."""
    if stop is None:
        start, stop = 0, start
    vals = np.arange(start, stop, step, dtype=np.float64).astype(_np_dtype(dtype))
    if repeat > 1:
        vals = np.repeat(vals, int(repeat))
    ctx = _ctx_or_default(ctx)
    return _wrap(_to_backend(vals, ctx), ctx)


def _data_of(x: Any):
    return x._data if isinstance(x, NDArray) else jnp.asarray(x)


def _ctx_from(*xs: Any) -> Context:
    for x in xs:
        if isinstance(x, NDArray):
            return x.context
    return current_context()


def concat(*data: NDArray, dim: int = 1, **kwargs: Any) -> NDArray:
    """Concatenate along ``dim`` (MXNet default: axis 1)."""
    if "num_args" in kwargs:
        kwargs.pop("num_args")
    if kwargs:
        raise TypeError(f"concat got unexpected arguments {sorted(kwargs)}")
    if len(data) == 1 and isinstance(data[0], (list, tuple)):
        data = tuple(data[0])
    if not data:
        raise ShapeError("concat needs at least one array.")
    try:
        out = jnp.concatenate([_data_of(d) for d in data], axis=dim)
    except (TypeError, ValueError) as err:
        raise ShapeError(f"concat along dim={dim}: incompatible shapes "
                         f"{[tuple(d.shape) for d in data]}. {err}") from None
    return _wrap(out, _ctx_from(*data))


def concatenate(arrays: Sequence[NDArray], axis: int = 0, always_copy: bool = True) -> NDArray:
    """Concatenate a list of arrays along ``axis`` (default 0)."""
    return concat(*arrays, dim=axis)


def stack(*data: NDArray, axis: int = 0, **kwargs: Any) -> NDArray:
    """Stack arrays along a new axis."""
    kwargs.pop("num_args", None)
    if len(data) == 1 and isinstance(data[0], (list, tuple)):
        data = tuple(data[0])
    return _wrap(jnp.stack([_data_of(d) for d in data], axis=axis), _ctx_from(*data))


def waitall() -> None:
    """Block until all pending computations are done."""
    try:
        jax.effects_barrier()
    except Exception:  # pragma: no cover
        pass


# ---------------------------------------------------------------------- math
def _unary(fn_name: str, x: Any, **kw: Any) -> NDArray:
    if isinstance(x, NDArray):
        xp = x._xp()
        return x._new(getattr(xp, fn_name)(x._data, **kw))
    return _wrap(getattr(jnp, fn_name)(jnp.asarray(x), **kw), None)


def exp(x: NDArray) -> NDArray:
    """Elementwise e**x."""
    return _unary("exp", x)


def log(x: NDArray) -> NDArray:
    """Elementwise natural log."""
    return _unary("log", x)


def sqrt(x: NDArray) -> NDArray:
    """Elementwise square root."""
    return _unary("sqrt", x)


def square(x: NDArray) -> NDArray:
    """Elementwise x**2."""
    return _unary("square", x)


def abs(x: NDArray) -> NDArray:  # noqa: A001 - MXNet name
    """Elementwise absolute value."""
    return _unary("abs", x)


def sign(x: NDArray) -> NDArray:
    """Elementwise sign."""
    return _unary("sign", x)


def tanh(x: NDArray) -> NDArray:
    """Elementwise tanh."""
    return _unary("tanh", x)


def negative(x: NDArray) -> NDArray:
    """Elementwise -x."""
    return _unary("negative", x)


def sigmoid(x: NDArray) -> NDArray:
    """Elementwise 1 / (1 + exp(-x))."""
    return _wrap(jax.nn.sigmoid(_data_of(x)), _ctx_from(x))


def relu(x: NDArray) -> NDArray:
    """Elementwise max(x, 0)."""
    return _wrap(jax.nn.relu(_data_of(x)), _ctx_from(x))


def softmax(x: NDArray, axis: int = -1) -> NDArray:
    """Softmax along ``axis``."""
    return _wrap(jax.nn.softmax(_data_of(x), axis=axis), _ctx_from(x))


def _binary_fn(fn: str, lhs: Any, rhs: Any) -> NDArray:
    a = lhs._data if isinstance(lhs, NDArray) else lhs
    b = rhs._data if isinstance(rhs, NDArray) else rhs
    return _wrap(getattr(jnp, fn)(a, b), _ctx_from(lhs, rhs))


def maximum(lhs: Any, rhs: Any) -> NDArray:
    """Elementwise maximum with broadcasting."""
    return _binary_fn("maximum", lhs, rhs)


def minimum(lhs: Any, rhs: Any) -> NDArray:
    """Elementwise minimum with broadcasting."""
    return _binary_fn("minimum", lhs, rhs)


def where(condition: NDArray, x: NDArray, y: NDArray) -> NDArray:
    """Pick ``x`` where ``condition`` is nonzero, else ``y``."""
    return _wrap(jnp.where(_data_of(condition) != 0, _data_of(x), _data_of(y)),
                 _ctx_from(condition, x, y))


def dot(lhs: NDArray, rhs: NDArray, transpose_a: bool = False,
        transpose_b: bool = False) -> NDArray:
    """Matrix product (lhs (.., k) . rhs (k, ..)), optional transposes as in MXNet."""
    a, b = _data_of(lhs), _data_of(rhs)
    if transpose_a:
        a = jnp.transpose(a)
    if transpose_b:
        b = jnp.transpose(b)
    try:
        out = jnp.tensordot(a, b, axes=1) if a.ndim and b.ndim else a * b
    except (TypeError, ValueError) as err:
        raise ShapeError(f"dot: shapes {tuple(a.shape)} and {tuple(b.shape)} do not match "
                         f"(last axis of lhs must equal first axis of rhs). {err}") from None
    return _wrap(out, _ctx_from(lhs, rhs))


def _reduce(fn: str, x: NDArray, axis: Any, keepdims: bool, exclude: bool = False) -> NDArray:
    data = _data_of(x)
    if isinstance(axis, list):
        axis = tuple(axis)
    if exclude and axis is not None:
        ax = (axis,) if isinstance(axis, int) else axis
        ax = {a % data.ndim for a in ax}
        axis = tuple(a for a in range(data.ndim) if a not in ax)
    xp = np if _is_host(data) else jnp
    out = getattr(xp, fn)(data, axis=axis, keepdims=keepdims)
    if out.ndim == 0:
        # MXNet compat: reducing every axis gives shape (1,), not ().
        out = out.reshape((1,))
    return _wrap(out, _ctx_from(x))


def sum(x: NDArray, axis: Any = None, keepdims: bool = False,  # noqa: A001
        exclude: bool = False) -> NDArray:
    """Sum over ``axis`` (all axes -> shape (1,))."""
    return _reduce("sum", x, axis, keepdims, exclude)


def mean(x: NDArray, axis: Any = None, keepdims: bool = False, exclude: bool = False) -> NDArray:
    """Mean over ``axis`` (all axes -> shape (1,))."""
    return _reduce("mean", x, axis, keepdims, exclude)


def max(x: NDArray, axis: Any = None, keepdims: bool = False,  # noqa: A001
        exclude: bool = False) -> NDArray:
    """Max over ``axis`` (all axes -> shape (1,))."""
    return _reduce("max", x, axis, keepdims, exclude)


def min(x: NDArray, axis: Any = None, keepdims: bool = False,  # noqa: A001
        exclude: bool = False) -> NDArray:
    """Min over ``axis`` (all axes -> shape (1,))."""
    return _reduce("min", x, axis, keepdims, exclude)


def _arg_reduce(fn: str, x: NDArray, axis: Any, keepdims: bool) -> NDArray:
    data = _data_of(x)
    xp = np if _is_host(data) else jnp
    out = getattr(xp, fn)(data, axis=axis, keepdims=keepdims if axis is not None else False)
    # MXNet compat: argmax/argmin return float32 indices.
    out = out.astype(np.float32)
    if out.ndim == 0:
        out = out.reshape((1,))
    return _wrap(out, _ctx_from(x))


def argmax(x: NDArray, axis: Any = None, keepdims: bool = False) -> NDArray:
    """Indices of maxima along ``axis`` as float32 (MXNet's dtype)."""
    return _arg_reduce("argmax", x, axis, keepdims)


def argmin(x: NDArray, axis: Any = None, keepdims: bool = False) -> NDArray:
    """Indices of minima along ``axis`` as float32 (MXNet's dtype)."""
    return _arg_reduce("argmin", x, axis, keepdims)


def clip(x: NDArray, a_min: float, a_max: float) -> NDArray:
    """Clip values to [a_min, a_max]."""
    data = _data_of(x)
    xp = np if _is_host(data) else jnp
    return _wrap(xp.clip(data, a_min, a_max).astype(data.dtype), _ctx_from(x))


def norm(x: NDArray, ord: int = 2, axis: Any = None,  # noqa: A002
         keepdims: bool = False) -> NDArray:
    """L2 (or L1) norm; over all elements gives shape (1,) as in MXNet."""
    data = jnp.asarray(_data_of(x))
    if ord == 1:
        out = jnp.sum(jnp.abs(data), axis=axis, keepdims=keepdims)
    elif ord == 2:
        out = jnp.sqrt(jnp.sum(jnp.square(data), axis=axis, keepdims=keepdims))
    else:
        raise ValueError(f"norm: ord must be 1 or 2, got {ord}")
    if out.ndim == 0:
        out = out.reshape((1,))
    return _wrap(out, _ctx_from(x))


def transpose(x: NDArray, axes: Optional[Sequence[int]] = None) -> NDArray:
    """Permute axes."""
    return x.transpose(axes)


def reshape(x: NDArray, shape: Sequence[int], reverse: bool = False) -> NDArray:
    """Reshape with MXNet's special codes."""
    return x.reshape(tuple(shape), reverse=reverse)


def broadcast_to(x: NDArray, shape: Sequence[int]) -> NDArray:
    """Broadcast to ``shape``."""
    return x.broadcast_to(shape)


def expand_dims(x: NDArray, axis: int) -> NDArray:
    """Insert an axis of size 1."""
    return x.expand_dims(axis)


def flatten(x: NDArray) -> NDArray:
    """(N, ...) -> (N, prod(...))."""
    return x.flatten()


def one_hot(indices: NDArray, depth: int, on_value: float = 1.0, off_value: float = 0.0,
            dtype: Any = mx_real_t) -> NDArray:
    """One-hot encode integer-valued ``indices`` (any shape) -> shape + (depth,)."""
    idx = jnp.asarray(_data_of(indices)).astype(jnp.int32)
    hot = jax.nn.one_hot(idx, int(depth), dtype=jnp.float32)
    out = (hot * (on_value - off_value) + off_value).astype(_np_dtype(dtype))
    return _wrap(out, _ctx_from(indices))


# ---------------------------------------------------------------------- .params format
_LIST_MAGIC = 0x112
_ND_MAGIC_V2 = 0xF993FAC9
_ND_MAGIC_V1 = 0xF993FAC8
_TYPE_FLAGS = {
    0: np.dtype("<f4"), 1: np.dtype("<f8"), 2: np.dtype("<f2"), 3: np.dtype("u1"),
    4: np.dtype("<i4"), 5: np.dtype("i1"), 6: np.dtype("<i8"), 7: np.dtype("?"),
}
_FLAG_OF = {np.dtype(v).newbyteorder("="): k for k, v in _TYPE_FLAGS.items()}
_FLAG_OF.update({np.dtype(v): k for k, v in _TYPE_FLAGS.items()})


def _as_numpy_for_save(name: str, value: Any) -> np.ndarray:
    if isinstance(value, NDArray):
        arr = value.asnumpy()
    elif isinstance(value, (np.ndarray, jax.Array)):
        arr = np.asarray(value)
    else:
        raise TypeError(f"save: {name} is a {type(value).__name__}; expected an NDArray (or a "
                        f"numpy array). Wrap it with mx.nd.array(...).")
    flag = _FLAG_OF.get(arr.dtype)
    if flag is None:
        raise DTypeError(f"save: {name} has dtype {arr.dtype}, which the .params format cannot "
                         f"store. Supported: float32, float64, float16, uint8, int32, int8, "
                         f"int64, bool. Cast it with .astype('float32').")
    return arr


def save_bytes(data: Union[NDArray, Sequence[NDArray], Dict[str, NDArray]]) -> bytes:
    """Serialise NDArrays in MXNet's ``.params`` format and return the bytes.

    Layout (little-endian)::

        u64 0x112 | u64 0 | u64 n
        n x [u32 0xF993FAC9 | i32 stype=0 | u32 ndim | i64 dims[ndim] | i32 dev_type=1
             | i32 dev_id=0 | i32 type_flag | raw C-order data]
        u64 n_names | n_names x [u64 len | utf-8 name]

    Args:
        data: one NDArray, a list of NDArrays, or a dict name -> NDArray (insertion order kept).

    Returns:
        The file content, identical to what MXNet 1.9.1 writes.
    """
    if isinstance(data, (NDArray, np.ndarray)):
        data = [data]
    if isinstance(data, dict):
        names = [str(k) for k in data.keys()]
        for k in data.keys():
            if not isinstance(k, str):
                raise TypeError(f"save: dict keys must be str, got {type(k).__name__} {k!r}.")
        values = list(data.values())
    elif isinstance(data, (list, tuple)):
        names = []
        values = list(data)
    else:
        raise TypeError(f"save: data must be an NDArray, a list of NDArrays or a dict "
                        f"str -> NDArray; got {type(data).__name__}.")
    buf = _io.BytesIO()
    buf.write(struct.pack("<QQQ", _LIST_MAGIC, 0, len(values)))
    for i, val in enumerate(values):
        label = repr(names[i]) if names else f"element {i}"
        arr = _as_numpy_for_save(label, val)
        flag = _FLAG_OF[arr.dtype]
        buf.write(struct.pack("<IiI", _ND_MAGIC_V2, 0, arr.ndim))
        if arr.ndim:
            buf.write(struct.pack(f"<{arr.ndim}q", *arr.shape))
        buf.write(struct.pack("<iii", 1, 0, flag))
        buf.write(np.ascontiguousarray(arr, dtype=_TYPE_FLAGS[flag]).tobytes(order="C"))
    buf.write(struct.pack("<Q", len(names)))
    for name in names:
        raw = name.encode("utf-8")
        buf.write(struct.pack("<Q", len(raw)))
        buf.write(raw)
    return buf.getvalue()


class _Reader:
    """Bounds-checked little-endian reader that names the file and offset in errors."""

    def __init__(self, buf: bytes, source: str):
        self.buf = memoryview(buf)
        self.pos = 0
        self.source = source

    def fail(self, what: str, at: Optional[int] = None) -> FormatError:
        off = self.pos if at is None else at
        return FormatError(f"{self.source}: not a valid MXNet .params file: at byte offset {off} "
                           f"expected {what}. The file may be truncated or corrupted; re-save it "
                           f"with mx.nd.save or model.save_checkpoint.")

    def take(self, n: int, what: str) -> memoryview:
        if n < 0 or self.pos + n > len(self.buf):
            raise self.fail(f"{what} ({n} bytes), but only {len(self.buf) - self.pos} bytes "
                            f"remain")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str, what: str) -> Tuple[Any, ...]:
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size, what))


def _read_ndarray(rd: _Reader, index: int) -> np.ndarray:
    start = rd.pos
    (magic,) = rd.unpack("<I", f"the NDArray magic of array {index}")
    if magic == _ND_MAGIC_V2:
        (stype,) = rd.unpack("<i", f"the storage type of array {index}")
        if stype != 0:
            raise FormatError(f"{rd.source}: array {index} at byte offset {start} has storage "
                              f"type {stype} (sparse); symnet reads dense arrays only. Convert "
                              f"it with .tostype('default') in MXNet before saving.")
        (ndim,) = rd.unpack("<I", f"ndim of array {index}")
    elif magic == _ND_MAGIC_V1:
        (ndim,) = rd.unpack("<I", f"ndim of array {index}")
    else:
        raise rd.fail(f"NDArray magic 0xF993FAC9 for array {index}, found 0x{magic:08X}", start)
    if ndim > 32:
        raise rd.fail(f"ndim <= 32 for array {index}, found {ndim}", rd.pos - 4)
    shape = rd.unpack(f"<{ndim}q", f"{ndim} dims of array {index}") if ndim else ()
    if any(d < 0 for d in shape):
        raise rd.fail(f"non-negative dims for array {index}, found {shape}")
    # A 0-d array is stored as ndim 0 followed by context, type flag and one value: that is what
    # MXNet's writer produces for shape () (MXNet's own legacy reader cannot read it back).
    dev_type, _dev_id, flag = rd.unpack("<iii", f"context and type flag of array {index}")
    if dev_type not in (1, 2, 3, 5):
        raise rd.fail(f"a device type in (1, 2, 3, 5) for array {index}, found {dev_type}",
                      rd.pos - 12)
    if flag not in _TYPE_FLAGS:
        raise rd.fail(f"a type flag in {sorted(_TYPE_FLAGS)} for array {index}, found {flag}",
                      rd.pos - 4)
    dt = _TYPE_FLAGS[flag]
    count = int(np.prod(shape, dtype=np.int64))
    raw = rd.take(count * dt.itemsize, f"{count} {dt.name} values of array {index} "
                                       f"(shape {tuple(shape)})")
    return np.frombuffer(raw, dtype=dt).reshape(shape).astype(dt.newbyteorder("="))


def _parse_params(buf: bytes, source: str) -> Tuple[List[np.ndarray], List[str]]:
    rd = _Reader(buf, source)
    magic, _reserved = rd.unpack("<QQ", "the 16-byte header (u64 0x112, u64 0)")
    if magic != _LIST_MAGIC:
        raise rd.fail(f"list magic 0x112, found 0x{magic:X}", 0)
    (count,) = rd.unpack("<Q", "the number of arrays (u64)")
    if count > len(buf):
        raise rd.fail(f"a plausible array count, found {count}", rd.pos - 8)
    arrays = [_read_ndarray(rd, i) for i in range(count)]
    (n_names,) = rd.unpack("<Q", "the number of names (u64)")
    if n_names not in (0, count):
        raise rd.fail(f"0 or {count} names (one per array), found {n_names}", rd.pos - 8)
    names = []
    for i in range(n_names):
        (length,) = rd.unpack("<Q", f"the length of name {i}")
        raw = rd.take(length, f"name {i} ({length} bytes)")
        try:
            names.append(bytes(raw).decode("utf-8"))
        except UnicodeDecodeError:
            raise rd.fail(f"name {i} as UTF-8 text", rd.pos - length) from None
    if rd.pos != len(buf):
        raise rd.fail(f"the end of the file, found {len(buf) - rd.pos} extra bytes")
    return arrays, names


def load_bytes(buf: bytes, ctx: Optional[Context] = None, source: str = "<bytes>"
               ) -> Union[List[NDArray], Dict[str, NDArray]]:
    """Parse ``.params`` bytes into a list (unnamed) or dict (named) of NDArrays.

    Raises:
        FormatError: truncated or corrupted data (message names source, byte offset, expectation).
    """
    arrays, names = _parse_params(bytes(buf), source)
    ctx = _ctx_or_default(ctx)
    nds = [_wrap(_to_backend(a, ctx), ctx) for a in arrays]
    if names:
        return dict(zip(names, nds))
    return nds


def load_frombuffer(buf: bytes) -> Union[List[NDArray], Dict[str, NDArray]]:
    """MXNet's ``mx.nd.load_frombuffer``: parse ``.params`` bytes."""
    return load_bytes(buf)


def save(fname: Union[str, os.PathLike],
         data: Union[NDArray, Sequence[NDArray], Dict[str, NDArray]]) -> None:
    """Save NDArrays to ``fname`` in MXNet's ``.params`` format (atomically).

    The file is written to a temporary file in the same directory, flushed, fsynced and renamed
    over ``fname``, so a crash never leaves a half-written checkpoint.

    Args:
        fname: target path.
        data: an NDArray, a list of NDArrays or a dict ``{name: NDArray}``.
    """
    payload = save_bytes(data)
    fname = os.fspath(fname)
    directory = os.path.dirname(os.path.abspath(fname))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(fname) + "-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, fname)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(fname: Union[str, os.PathLike], ctx: Optional[Context] = None
         ) -> Union[List[NDArray], Dict[str, NDArray]]:
    """Load a ``.params`` file written by MXNet or :func:`save`.

    Returns:
        A list of NDArrays when the file was saved from a list, else a dict name -> NDArray.

    Raises:
        FormatError: the file is truncated or corrupted (names the file, offset and what was
            expected). FileNotFoundError when it does not exist.
    """
    fname = os.fspath(fname)
    with open(fname, "rb") as fh:
        buf = fh.read()
    return load_bytes(buf, ctx, source=fname)


# mx.nd.random.uniform / mx.nd.random_normal, as in MXNet (symnet.random holds the global key).
from . import random  # noqa: E402
from .random import normal as random_normal  # noqa: E402
from .random import uniform as random_uniform  # noqa: E402
