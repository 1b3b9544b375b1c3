"""Elementwise math, broadcasting binaries, reductions, dot products and indexing operators.

Unary functions (exp, log, sqrt, relu, ...), same-shape binaries (``elemwise_*``, ``_maximum``,
comparisons), numpy-style broadcasting binaries (``broadcast_*``), scalar max/min/comparisons,
reductions (sum, mean, max, min, prod, nansum, nanprod, norm, argmax, argmin), ``dot`` and
``batch_dot``, ``where``, ``Cast``, ``one_hot``, ``take``, ``broadcast_to/axis/like``, ``add_n``
and ``stack``. Gradients follow MXNet 1.9.1, including its tie rules (see ``# MXNet compat:``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

import jax
import jax.numpy as jnp
import jax.scipy.special as jsp
import numpy as np
from jax import lax

from ..base import ShapeError, shape_str
from .registry import Op, choice, register

_DTYPES = ("bfloat16", "bool", "float16", "float32", "float64", "int32", "int64", "int8", "uint8")


def _np_dtype(name: str) -> np.dtype:
    """numpy dtype of an MXNet dtype name (bfloat16 via jax's ml_dtypes)."""
    return np.dtype(jnp.bfloat16) if name == "bfloat16" else np.dtype(name)


def _prod(xs) -> int:
    return int(np.prod(xs, dtype=np.int64)) if len(xs) else 1


def _norm_axis(axis: int, ndim: int, what: str, shape) -> int:
    """Resolve a possibly negative axis, or raise a ShapeError naming the data shape."""
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{what}={axis} is out of range for data of shape {shape_str(shape)} "
                         f"(valid axes: {-ndim}..{ndim - 1})")
    return axis % ndim


# ---- elementwise unary ---------------------------------------------------------------------

@jax.custom_jvp
def _abs(x):
    return jnp.abs(x)


@_abs.defjvp
def _abs_jvp(primals, tangents):
    # MXNet compat: d|x|/dx = sign(x), so 0 at x == 0 (jax's abs gives 1 there).
    (x,), (t,) = primals, tangents
    return jnp.abs(x), jnp.sign(x) * t


def _round_half_away(x):
    # MXNet compat: ``round`` rounds halves away from zero (C roundf).
    return jnp.sign(x) * jnp.floor(jnp.abs(x) + 0.5)


def _rint_half_down(x):
    # MXNet compat: ``rint`` picks floor(x) when x is exactly halfway (-2.5 -> -3, 2.5 -> 2).
    lo, hi = jnp.floor(x), jnp.ceil(x)
    return jnp.where(x - lo <= hi - x, lo, hi)


class _Unary(Op):
    """``fn(data)`` elementwise; output has data's shape and dtype."""

    fn: Callable = None

    def lower(self, p, ctx, data):
        return self.fn(data)


def _unary(name: str, fn: Callable, doc: str, *aliases: str):
    cls = type(f"Unary_{name}", (_Unary,), {"fn": staticmethod(fn), "__doc__": doc})
    return register(name, *aliases)(cls)


_unary("exp", jnp.exp, "e ** x.")
_unary("log", jnp.log, "Natural logarithm (x > 0).")
_unary("log2", jnp.log2, "Base-2 logarithm.")
_unary("log10", jnp.log10, "Base-10 logarithm.")
_unary("log1p", jnp.log1p, "log(1 + x), accurate near 0.")
_unary("expm1", jnp.expm1, "exp(x) - 1, accurate near 0.")
_unary("sqrt", jnp.sqrt, "Square root.")
_unary("rsqrt", lax.rsqrt, "1 / sqrt(x).")
_unary("cbrt", jnp.cbrt, "Cube root.")
_unary("square", jnp.square, "x * x.")
_unary("abs", _abs, "|x|; gradient sign(x) (0 at 0, as MXNet).")
_unary("sign", jnp.sign, "-1, 0 or 1; zero gradient.")
_unary("relu", jax.nn.relu, "max(x, 0); gradient 1 where x > 0.")
_unary("sigmoid", jax.nn.sigmoid, "1 / (1 + exp(-x)).")
_unary("tanh", jnp.tanh, "Hyperbolic tangent.")
_unary("softsign", lambda x: x / (1 + _abs(x)), "x / (1 + |x|).")
_unary("negative", jnp.negative, "-x.")
_unary("reciprocal", jnp.reciprocal, "1 / x.")
_unary("floor", jnp.floor, "Round down; zero gradient.")
_unary("ceil", jnp.ceil, "Round up; zero gradient.")
_unary("round", _round_half_away, "Round to nearest, halves away from zero; zero gradient.")
_unary("rint", _rint_half_down, "Round to nearest, halves down (as MXNet); zero gradient.")
_unary("fix", jnp.trunc, "Round toward zero; zero gradient.")
_unary("trunc", jnp.trunc, "Round toward zero; zero gradient.")
_unary("sin", jnp.sin, "Sine.")
_unary("cos", jnp.cos, "Cosine.")
_unary("tan", jnp.tan, "Tangent.")
_unary("arctan", jnp.arctan, "Inverse tangent.")
_unary("sinh", jnp.sinh, "Hyperbolic sine.")
_unary("cosh", jnp.cosh, "Hyperbolic cosine.")
_unary("erf", jsp.erf, "Gauss error function.")
_unary("ones_like", jnp.ones_like, "Ones of data's shape and dtype; zero gradient.")
_unary("zeros_like", jnp.zeros_like, "Zeros of data's shape and dtype; zero gradient.")
_unary("BlockGrad", lax.stop_gradient, "Identity forward, zero gradient.", "stop_gradient")


@register("clip")
class Clip(Op):
    """Clamp data to [a_min, a_max]; gradient 1 inside (bounds included), 0 outside."""

    @dataclass(frozen=True)
    class Params:
        a_min: float
        a_max: float

    def lower(self, p, ctx, data):
        lo = jnp.asarray(p.a_min, data.dtype)
        hi = jnp.asarray(p.a_max, data.dtype)
        # MXNet compat: values equal to a bound keep gradient 1 (lax.clamp would give 0).
        inside = (data >= lo) & (data <= hi)
        return jnp.where(inside, data, lax.stop_gradient(jnp.clip(data, lo, hi)))


# ---- binary: same shape, broadcasting, scalar -----------------------------------------------

def _max_ge(a, b):
    # MXNet compat: on ties the gradient goes to lhs only (lhs: a >= b, rhs: a < b).
    return jnp.where(a >= b, a, b)


def _min_le(a, b):
    # MXNet compat: on ties the gradient goes to lhs only (lhs: a <= b, rhs: a > b).
    return jnp.where(a <= b, a, b)


def _compare(fn):
    def lower(a, b):
        # MXNet compat: comparisons return 0/1 in the input dtype, not booleans.
        return fn(a, b).astype(jnp.result_type(a))
    return lower


_BINARY = {
    "add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "div": jnp.divide,
    "maximum": _max_ge, "minimum": _min_le, "power": jnp.power, "hypot": jnp.hypot,
    "mod": jnp.mod,
    "equal": _compare(jnp.equal), "not_equal": _compare(jnp.not_equal),
    "greater": _compare(jnp.greater), "greater_equal": _compare(jnp.greater_equal),
    "lesser": _compare(jnp.less), "lesser_equal": _compare(jnp.less_equal),
    "logical_and": _compare(lambda a, b: (a != 0) & (b != 0)),
    "logical_or": _compare(lambda a, b: (a != 0) | (b != 0)),
    "logical_xor": _compare(lambda a, b: (a != 0) ^ (b != 0)),
}


class _SameShape(Op):
    """``fn(lhs, rhs)`` elementwise on two arrays of the same shape."""

    fn: Callable = None
    broadcast_name: str = ""

    def arguments(self, p):
        return ("lhs", "rhs")

    def infer_shape(self, p, in_shapes):
        lhs, rhs = in_shapes
        if lhs is not None and rhs is not None and tuple(lhs) != tuple(rhs):
            raise ShapeError(f"lhs {shape_str(lhs)} and rhs {shape_str(rhs)} must have the same "
                             f"shape (use {self.broadcast_name} to broadcast)")
        known = lhs if lhs is not None else rhs
        return [known, known], [known], []

    def lower(self, p, ctx, lhs, rhs):
        return self.fn(lhs, rhs)


def _broadcast_shape(lhs, rhs) -> Tuple[int, ...]:
    """numpy broadcasting of two shapes, or a ShapeError naming the clashing axis."""
    nd = max(len(lhs), len(rhs))
    a = (1,) * (nd - len(lhs)) + tuple(lhs)
    b = (1,) * (nd - len(rhs)) + tuple(rhs)
    out = []
    for ax, (x, y) in enumerate(zip(a, b)):
        if x != y and x != 1 and y != 1:
            raise ShapeError(
                f"lhs {shape_str(lhs)} and rhs {shape_str(rhs)} cannot be broadcast: axis "
                f"{ax - nd} has sizes {x} and {y} (sizes must be equal or one of them 1)")
        out.append(max(x, y) if min(x, y) != 0 else 0)
    return tuple(out)


class _Broadcast(Op):
    """``fn(lhs, rhs)`` with numpy broadcasting; gradients are summed over broadcast axes."""

    fn: Callable = None

    def arguments(self, p):
        return ("lhs", "rhs")

    def infer_shape(self, p, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return list(in_shapes), [None], []
        return list(in_shapes), [_broadcast_shape(lhs, rhs)], []

    def lower(self, p, ctx, lhs, rhs):
        return self.fn(lhs, rhs)


class _Scalar(Op):
    """``fn(data, scalar)`` elementwise; output has data's shape and dtype."""

    fn: Callable = None

    @dataclass(frozen=True)
    class Params:
        scalar: float = 1.0
        is_int: bool = True

    def lower(self, p, ctx, data):
        return self.fn(data, jnp.asarray(p.scalar, data.dtype))


def _binary_family(key: str, same_aliases=(), scalar_aliases=(), broadcast_aliases=()):
    fn = _BINARY[key]
    bname = f"broadcast_{key}"
    register(bname, *broadcast_aliases)(type(
        f"Broadcast_{key}", (_Broadcast,),
        {"fn": staticmethod(fn), "__doc__": f"{key}(lhs, rhs) with numpy broadcasting."}))
    if same_aliases is not None:
        register(f"_{key}", *same_aliases)(type(
            f"Same_{key}", (_SameShape,),
            {"fn": staticmethod(fn), "broadcast_name": bname,
             "__doc__": f"{key}(lhs, rhs) on arrays of the same shape."}))
    if scalar_aliases is not None:
        attrs = {"fn": staticmethod(fn), "__doc__": f"{key}(data, scalar) elementwise."}
        register(f"_{key}_scalar", *scalar_aliases)(type(f"Scalar_{key}", (_Scalar,), attrs))


# ``_plus``/``_minus``/... live in tensor.py; here only the broadcast forms of + - * /.
_binary_family("add", None, None, ("broadcast_plus",))
_binary_family("sub", None, None, ("broadcast_minus",))
_binary_family("mul", None, None)
_binary_family("div", None, None)
_binary_family("power", None, None)
_binary_family("mod", None, None)
# MXNet compat: mx.sym.maximum(x, 2) calls ``_MaximumScalar``, so auto names read
# ``_maximumscalar0`` (a creator's auto name is the lower-cased name it was called by).
_binary_family("maximum", ("_Maximum",), ("_MaximumScalar",))
_binary_family("minimum", ("_Minimum",), ("_MinimumScalar",))
_binary_family("hypot", ("_Hypot",), ("_HypotScalar",))
_binary_family("equal", ("_Equal",), ("_EqualScalar",))
_binary_family("not_equal", ("_Not_Equal",), ("_NotEqualScalar",))
_binary_family("greater", ("_Greater",), ("_GreaterScalar",))
_binary_family("greater_equal", ("_Greater_Equal",), ("_GreaterEqualScalar",))
_binary_family("lesser", ("_Lesser",), ("_LesserScalar",))
_binary_family("lesser_equal", ("_Lesser_Equal",), ("_LesserEqualScalar",))
_binary_family("logical_and", None, None)
_binary_family("logical_or", None, None)
_binary_family("logical_xor", None, None)


def _elemwise(name: str, fn: Callable, doc: str):
    bname = "broadcast_" + name.split("_")[1]
    cls = type(f"Elemwise_{name}", (_SameShape,),
               {"fn": staticmethod(fn), "broadcast_name": bname, "__doc__": doc})
    return register(name)(cls)


_elemwise("elemwise_add", jnp.add, "lhs + rhs (same shape).")
_elemwise("elemwise_sub", jnp.subtract, "lhs - rhs (same shape).")
_elemwise("elemwise_mul", jnp.multiply, "lhs * rhs (same shape).")
_elemwise("elemwise_div", jnp.divide, "lhs / rhs (same shape).")


# ---- reductions ------------------------------------------------------------------------------

def _reduce_axes(p, shape) -> Tuple[int, ...]:
    """The axes MXNet reduces for ``axis``/``exclude`` on data of ``shape``."""
    nd = len(shape)
    if p.axis is None or len(p.axis) == 0:
        # MXNet compat: axis=None and axis=() both reduce every axis, even with exclude=True.
        return tuple(range(nd))
    axes = [_norm_axis(a, nd, "axis", shape) for a in p.axis]
    if len(set(axes)) != len(axes):
        raise ShapeError(f"axis {tuple(p.axis)} names an axis twice for data of shape "
                         f"{shape_str(shape)}")
    if p.exclude:
        return tuple(a for a in range(nd) if a not in axes)
    return tuple(sorted(axes))


def _reduced_shape(shape, axes, keepdims: bool) -> Tuple[int, ...]:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    out = tuple(d for i, d in enumerate(shape) if i not in axes)
    # MXNet compat: reducing every axis gives shape (1,), not ().
    return out if out else (1,)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 2))
def _extreme(fn, x, axes):
    return fn(x, axis=axes, keepdims=True)


def _extreme_fwd(fn, x, axes):
    y = fn(x, axis=axes, keepdims=True)
    return y, (x, y)


def _extreme_bwd(fn, axes, res, g):
    # MXNet compat: every element equal to the max/min receives the full head gradient
    # (jax splits it among ties).
    x, y = res
    return (g * (x == y).astype(g.dtype),)


_extreme.defvjp(_extreme_fwd, _extreme_bwd)


def _max_keep(x, axes):
    return _extreme(jnp.max, x, axes)


def _min_keep(x, axes):
    return _extreme(jnp.min, x, axes)


class _Reduce(Op):
    """Reduce data over ``axis`` (all axes by default; the complement with exclude=True).

    data: any shape -> the reduced shape; (1,) when every axis is reduced without keepdims.
    """

    fn: Callable = None

    @dataclass(frozen=True)
    class Params:
        axis: Optional[Tuple[int, ...]] = None
        keepdims: bool = False
        exclude: bool = False

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        axes = _reduce_axes(p, data)
        return in_shapes, [_reduced_shape(data, axes, p.keepdims)], []

    def lower(self, p, ctx, data):
        axes = _reduce_axes(p, data.shape)
        y = self.fn(data, axes)
        return y.reshape(_reduced_shape(data.shape, axes, p.keepdims))


def _reduction(name: str, fn: Callable, doc: str, *aliases: str):
    cls = type(f"Reduce_{name}", (_Reduce,), {"fn": staticmethod(fn), "__doc__": doc})
    return register(name, *aliases)(cls)


_reduction("sum", lambda x, a: jnp.sum(x, axis=a, keepdims=True), "Sum.", "sum_axis")
_reduction("mean", lambda x, a: jnp.mean(x, axis=a, keepdims=True), "Mean.")
_reduction("max", _max_keep, "Maximum; ties all get the gradient.", "max_axis")
_reduction("min", _min_keep, "Minimum; ties all get the gradient.", "min_axis")
_reduction("prod", lambda x, a: jnp.prod(x, axis=a, keepdims=True), "Product.")
_reduction("nansum", lambda x, a: jnp.nansum(x, axis=a, keepdims=True), "Sum, NaN as 0.")
_reduction("nanprod", lambda x, a: jnp.nanprod(x, axis=a, keepdims=True), "Product, NaN as 1.")


@register("norm")
class Norm(Op):
    """L1 (ord=1) or L2 (ord=2) norm of the entries over ``axis`` (all entries by default).

    data: any shape -> reduced shape ((1,) when every axis is reduced without keepdims).
    A 2-tuple axis gives the entrywise (Frobenius for ord=2) norm of those matrices.
    """

    @dataclass(frozen=True)
    class Params:
        ord: int = 2
        axis: Optional[Tuple[int, ...]] = None
        out_dtype: Optional[str] = choice("float16", "float32", "float64", "int32", "int64",
                                          "int8", default=None)
        keepdims: bool = False

    def _axes(self, p, shape):
        if p.ord not in (1, 2):
            raise ShapeError(f"norm supports ord=1 or ord=2, received ord={p.ord}")
        if p.axis is not None and len(p.axis) > 2:
            raise ShapeError(f"norm axis takes 1 or 2 axes, received axis={tuple(p.axis)}")
        if p.axis is None or len(p.axis) == 0:
            return tuple(range(len(shape)))
        axes = [_norm_axis(a, len(shape), "axis", shape) for a in p.axis]
        if len(set(axes)) != len(axes):
            raise ShapeError(f"norm axis {tuple(p.axis)} names an axis twice for data of "
                             f"shape {shape_str(shape)}")
        return tuple(sorted(axes))

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [_reduced_shape(data, self._axes(p, data), p.keepdims)], []

    def infer_type(self, p, in_types):
        ins, outs, aux = super().infer_type(p, in_types)
        if p.out_dtype is not None:
            outs = [_np_dtype(p.out_dtype)]
        return ins, outs, aux

    def lower(self, p, ctx, data):
        axes = self._axes(p, data.shape)
        if p.ord == 1:
            y = jnp.sum(_abs(data), axis=axes, keepdims=True)
        else:
            y = jnp.sqrt(jnp.sum(jnp.square(data), axis=axes, keepdims=True))
        y = y.reshape(_reduced_shape(data.shape, axes, p.keepdims))
        return y if p.out_dtype is None else y.astype(_np_dtype(p.out_dtype))


class _ArgReduce(Op):
    """Index of the max/min along ``axis`` (of the flattened data when axis=None).

    Returned as a float array in data's dtype, as MXNet does; no gradient.
    """

    fn: Callable = None

    @dataclass(frozen=True)
    class Params:
        axis: Optional[int] = None
        keepdims: bool = False

    def _shape(self, p, shape):
        if p.axis is None:
            return (1,) * len(shape) if p.keepdims else (1,)
        ax = _norm_axis(p.axis, len(shape), "axis", shape)
        return _reduced_shape(shape, (ax,), p.keepdims)

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [self._shape(p, data)], []

    def lower(self, p, ctx, data):
        out_shape = self._shape(p, data.shape)
        if p.axis is None:
            idx = self.fn(data.reshape(-1))
        else:
            idx = self.fn(data, axis=_norm_axis(p.axis, data.ndim, "axis", data.shape))
        return lax.stop_gradient(idx.astype(data.dtype).reshape(out_shape))


register("argmax")(type("ArgMax", (_ArgReduce,), {"fn": staticmethod(jnp.argmax),
                                                  "__doc__": _ArgReduce.__doc__}))
register("argmin")(type("ArgMin", (_ArgReduce,), {"fn": staticmethod(jnp.argmin),
                                                  "__doc__": _ArgReduce.__doc__}))


@register("argmax_channel")
class ArgMaxChannel(Op):
    """Index of the max along axis 1 (float, data's dtype). (N, C, ...) -> (N, ...)."""

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(data) < 2:
            raise ShapeError(f"data must be at least 2-D (N, C, ...), received {shape_str(data)}")
        return in_shapes, [(data[0],) + tuple(data[2:])], []

    def lower(self, p, ctx, data):
        return lax.stop_gradient(jnp.argmax(data, axis=1).astype(data.dtype))


# ---- products ------------------------------------------------------------------------------

@register("dot")
class Dot(Op):
    """Tensor dot: contracts the last axis of lhs (first with transpose_a) with the first axis
    of rhs (last with transpose_b).

    lhs (a..., K) / (K, a...) with transpose_a; rhs (K, b...) / (b..., K) with transpose_b
    -> (a..., b...); (1,) when both are 1-D.
    """

    @dataclass(frozen=True)
    class Params:
        transpose_a: bool = False
        transpose_b: bool = False
        forward_stype: Optional[str] = choice("csr", "default", "row_sparse", default=None)

    def arguments(self, p):
        return ("lhs", "rhs")

    def _split(self, p, lhs, rhs):
        """((lhs kept dims, K), (rhs kept dims, K)) under MXNet's transpose flags."""
        if p.transpose_a:
            lkeep, lk = tuple(lhs[1:]), lhs[0]
        else:
            lkeep, lk = tuple(lhs[:-1]), lhs[-1]
        if p.transpose_b:
            rkeep, rk = tuple(rhs[:-1]), rhs[-1]
        else:
            rkeep, rk = tuple(rhs[1:]), rhs[0]
        if lk != rk:
            raise ShapeError(
                f"lhs {shape_str(lhs)} and rhs {shape_str(rhs)} do not fit: the contracted axis "
                f"has size {lk} in lhs and {rk} in rhs (transpose_a={p.transpose_a}, "
                f"transpose_b={p.transpose_b})")
        return (lkeep, lk), (rkeep, rk)

    def infer_shape(self, p, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return list(in_shapes), [None], []
        for what, s in (("lhs", lhs), ("rhs", rhs)):
            if len(s) < 1:
                raise ShapeError(f"{what} must have at least 1 dimension, received {shape_str(s)}")
        (lkeep, _), (rkeep, _) = self._split(p, lhs, rhs)
        return list(in_shapes), [(lkeep + rkeep) or (1,)], []

    def lower(self, p, ctx, lhs, rhs):
        (lkeep, k), (rkeep, _) = self._split(p, lhs.shape, rhs.shape)
        a = lhs.reshape(k, -1).T if p.transpose_a else lhs.reshape(-1, k)
        b = rhs.reshape(-1, k).T if p.transpose_b else rhs.reshape(k, -1)
        return jnp.matmul(a, b).reshape((lkeep + rkeep) or (1,))


@register("batch_dot")
class BatchDot(Op):
    """Batched matrix product over the leading axes.

    lhs (B..., M, K) (or (B..., K, M) with transpose_a), rhs (B..., K, N) (or (B..., N, K) with
    transpose_b) -> (B..., M, N).
    """

    Params = Dot.Params

    def arguments(self, p):
        return ("lhs", "rhs")

    def _mats(self, p, lhs, rhs):
        if len(lhs) < 3 or len(lhs) != len(rhs):
            raise ShapeError(f"lhs {shape_str(lhs)} and rhs {shape_str(rhs)} must both be "
                             "N-D arrays (N >= 3) of the same rank: (batch..., rows, cols)")
        if tuple(lhs[:-2]) != tuple(rhs[:-2]):
            raise ShapeError(f"lhs {shape_str(lhs)} and rhs {shape_str(rhs)} have different "
                             f"batch dimensions {tuple(lhs[:-2])} and {tuple(rhs[:-2])}")
        m, k = (lhs[-1], lhs[-2]) if p.transpose_a else (lhs[-2], lhs[-1])
        k2, n = (rhs[-1], rhs[-2]) if p.transpose_b else (rhs[-2], rhs[-1])
        if k != k2:
            raise ShapeError(
                f"lhs {shape_str(lhs)} and rhs {shape_str(rhs)} do not fit: the contracted axis "
                f"has size {k} in lhs and {k2} in rhs (transpose_a={p.transpose_a}, "
                f"transpose_b={p.transpose_b})")
        return tuple(lhs[:-2]) + (m, n)

    def infer_shape(self, p, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return list(in_shapes), [None], []
        return list(in_shapes), [self._mats(p, lhs, rhs)], []

    def lower(self, p, ctx, lhs, rhs):
        self._mats(p, lhs.shape, rhs.shape)
        a = jnp.swapaxes(lhs, -1, -2) if p.transpose_a else lhs
        b = jnp.swapaxes(rhs, -1, -2) if p.transpose_b else rhs
        return jnp.matmul(a, b)



# ---- selection, casting, indexing -----------------------------------------------------------

@register("where")
class Where(Op):
    """x where condition != 0, else y. condition: x's shape, or (N,) selecting rows of x.

    No gradient flows to condition.
    """

    def arguments(self, p):
        return ("condition", "x", "y")

    def infer_shape(self, p, in_shapes):
        cond, x, y = in_shapes
        if x is not None and y is not None and tuple(x) != tuple(y):
            raise ShapeError(f"x {shape_str(x)} and y {shape_str(y)} must have the same shape")
        known = x if x is not None else y
        if known is None:
            return list(in_shapes), [None], []
        if cond is None:
            cond = known
        elif tuple(cond) != tuple(known) and tuple(cond) != (known[0],):
            raise ShapeError(f"condition has shape {shape_str(cond)}, expected x's shape "
                             f"{shape_str(known)} or ({known[0]},) to select whole rows")
        return [cond, known, known], [known], []

    def lower(self, p, ctx, condition, x, y):
        cond = condition != 0
        if cond.shape != x.shape:
            cond = cond.reshape((-1,) + (1,) * (x.ndim - 1))
        return jnp.where(cond, x, y)


@register("Cast", "cast")
class Cast(Op):
    """Convert data to ``dtype`` (shape unchanged); the gradient is cast back."""

    @dataclass(frozen=True)
    class Params:
        dtype: str = choice(*_DTYPES)

    def infer_type(self, p, in_types):
        return list(in_types), [_np_dtype(p.dtype)], []

    def lower(self, p, ctx, data):
        return data.astype(_np_dtype(p.dtype))


@register("one_hot")
class OneHot(Op):
    """indices (float or int, any shape) -> indices.shape + (depth,) with on_value at each index.

    Out-of-range indices give a row of off_value; no gradient.
    """

    @dataclass(frozen=True)
    class Params:
        depth: int
        on_value: float = 1.0
        off_value: float = 0.0
        dtype: str = choice(*[d for d in _DTYPES if d != "bool"], default="float32")

    def arguments(self, p):
        return ("indices",)

    def infer_shape(self, p, in_shapes):
        ind = in_shapes[0]
        if p.depth < 0:
            raise ShapeError(f"depth must be >= 0, received depth={p.depth}")
        return in_shapes, [None if ind is None else tuple(ind) + (p.depth,)], []

    def infer_type(self, p, in_types):
        return list(in_types), [_np_dtype(p.dtype)], []

    def lower(self, p, ctx, indices):
        idx = lax.stop_gradient(indices).astype(jnp.int32)
        hot = idx[..., None] == jnp.arange(p.depth, dtype=jnp.int32)
        dt = _np_dtype(p.dtype)
        return jnp.where(hot, jnp.asarray(p.on_value, dt), jnp.asarray(p.off_value, dt))


@register("take")
class Take(Op):
    """Gather slices of ``a`` along ``axis`` at ``indices`` (float indices are truncated).

    a (d0, ..., d_axis, ...), indices (i...) -> a.shape[:axis] + indices.shape + a.shape[axis+1:].
    mode 'clip' clamps out-of-range indices, 'wrap' wraps them. No gradient to indices.
    """

    @dataclass(frozen=True)
    class Params:
        axis: int = 0
        mode: str = choice("clip", "raise", "wrap", default="clip")

    def arguments(self, p):
        return ("a", "indices")

    def infer_shape(self, p, in_shapes):
        a, ind = in_shapes
        if a is None or ind is None:
            return list(in_shapes), [None], []
        ax = _norm_axis(p.axis, len(a), "axis", a)
        if a[ax] == 0:
            raise ShapeError(f"a {shape_str(a)} has no entries along axis {p.axis} to take from")
        return list(in_shapes), [tuple(a[:ax]) + tuple(ind) + tuple(a[ax + 1:])], []

    def lower(self, p, ctx, a, indices):
        ax = _norm_axis(p.axis, a.ndim, "axis", a.shape)
        idx = lax.stop_gradient(indices).astype(jnp.int32)
        # MXNet compat: 'raise' checks bounds on the host; a jitted graph cannot, so it clips.
        mode = "wrap" if p.mode == "wrap" else "clip"
        return jnp.take(a, idx, axis=ax, mode=mode)


# ---- broadcasting to shapes -----------------------------------------------------------------

def _check_broadcastable(data, target, what: str) -> None:
    for ax, (d, t) in enumerate(zip(data, target)):
        if d != t and d != 1:
            raise ShapeError(f"cannot broadcast data {shape_str(data)} to {shape_str(target)} "
                             f"({what}): axis {ax} has size {d}, which must be 1 or {t}")


class _BroadcastToTarget(Op):
    """Broadcast data to the shape ``_target(p, data_shape)`` that a subclass computes."""

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [self._target(p, data)], []

    def lower(self, p, ctx, data):
        return jnp.broadcast_to(data, self._target(p, data.shape))


@register("broadcast_to")
class BroadcastTo(_BroadcastToTarget):
    """Broadcast size-1 axes of data to ``shape`` (0 in ``shape`` keeps data's size)."""

    @dataclass(frozen=True)
    class Params:
        shape: Tuple[int, ...] = ()

    def _target(self, p, data):
        if len(p.shape) != len(data):
            raise ShapeError(f"shape {tuple(p.shape)} must have as many axes as data "
                             f"{shape_str(data)}")
        target = tuple(d if t == 0 else t for d, t in zip(data, p.shape))
        _check_broadcastable(data, target, f"shape={tuple(p.shape)}")
        return target


@register("broadcast_axis", "broadcast_axes")
class BroadcastAxis(_BroadcastToTarget):
    """Broadcast the size-1 axes ``axis`` of data to sizes ``size``."""

    @dataclass(frozen=True)
    class Params:
        axis: Tuple[int, ...] = ()
        size: Tuple[int, ...] = ()

    def _target(self, p, data):
        if len(p.axis) != len(p.size):
            raise ShapeError(f"axis {tuple(p.axis)} and size {tuple(p.size)} must have the same "
                             "length")
        target = list(data)
        for a, s in zip(p.axis, p.size):
            ax = _norm_axis(a, len(data), "axis", data)
            if data[ax] != 1:
                raise ShapeError(f"data {shape_str(data)} has size {data[ax]} on axis {a}; "
                                 "broadcast_axis can only expand axes of size 1")
            target[ax] = s
        return tuple(target)



@register("broadcast_like")
class BroadcastLike(Op):
    """Broadcast lhs to rhs's shape (or only lhs_axes to the sizes of rhs_axes of rhs).

    No gradient flows to rhs.
    """

    @dataclass(frozen=True)
    class Params:
        lhs_axes: Optional[Tuple[int, ...]] = None
        rhs_axes: Optional[Tuple[int, ...]] = None

    def arguments(self, p):
        return ("lhs", "rhs")

    def _target(self, p, lhs, rhs):
        if p.lhs_axes is None and p.rhs_axes is None:
            if len(lhs) != len(rhs):
                raise ShapeError(f"lhs {shape_str(lhs)} and rhs {shape_str(rhs)} must have the "
                                 "same number of axes")
            target = tuple(rhs)
        else:
            la, ra = tuple(p.lhs_axes or ()), tuple(p.rhs_axes or ())
            if len(la) != len(ra):
                raise ShapeError(f"lhs_axes {la} and rhs_axes {ra} must have the same length")
            target = list(lhs)
            for a, b in zip(la, ra):
                target[_norm_axis(a, len(lhs), "lhs_axes", lhs)] = \
                    rhs[_norm_axis(b, len(rhs), "rhs_axes", rhs)]
            target = tuple(target)
        _check_broadcastable(lhs, target, "broadcast_like")
        return target

    def infer_shape(self, p, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return list(in_shapes), [None], []
        return list(in_shapes), [self._target(p, lhs, rhs)], []

    def lower(self, p, ctx, lhs, rhs):
        return jnp.broadcast_to(lhs, self._target(p, lhs.shape, rhs.shape))


# ---- variadic --------------------------------------------------------------------------------

def _same_shapes(in_shapes: List, what: str = "arg"):
    """All inputs must share one shape; fill unknown ones from the known."""
    known = next((s for s in in_shapes if s is not None), None)
    for i, s in enumerate(in_shapes):
        if s is not None and tuple(s) != tuple(known):
            raise ShapeError(f"all inputs must have the same shape: {what}0 has "
                             f"{shape_str(known)} but {what}{i} has {shape_str(s)}")
    return known


@register("add_n", "ElementWiseSum")
class AddN(Op):
    """Sum of ``num_args`` arrays of the same shape (inputs arg0, arg1, ...)."""

    variadic = "num_args"

    @dataclass(frozen=True)
    class Params:
        num_args: int

    def infer_shape(self, p, in_shapes):
        known = _same_shapes(in_shapes)
        return [known] * len(in_shapes), [known], []

    def lower(self, p, ctx, *args):
        return functools.reduce(jnp.add, args)


@register("stack")
class Stack(Op):
    """Join ``num_args`` same-shape arrays along a new axis ``axis`` (in [-ndim-1, ndim])."""

    variadic = "num_args"

    @dataclass(frozen=True)
    class Params:
        num_args: int
        axis: int = 0

    def _axis(self, p, shape):
        nd = len(shape) + 1
        return _norm_axis(p.axis, nd, "axis", tuple(shape) + (p.num_args,))

    def infer_shape(self, p, in_shapes):
        known = _same_shapes(in_shapes)
        if known is None:
            return list(in_shapes), [None], []
        ax = self._axis(p, known)
        out = tuple(known[:ax]) + (p.num_args,) + tuple(known[ax:])
        return [known] * len(in_shapes), [out], []

    def lower(self, p, ctx, *args):
        return jnp.stack(args, axis=self._axis(p, args[0].shape))


@register("smooth_l1")
class SmoothL1(Op):
    """``0.5 (s x)^2`` where ``|x| < 1 / s^2``, else ``|x| - 0.5 / s^2`` (s = ``scalar``)."""

    @dataclass(frozen=True)
    class Params:
        scalar: float = 1.0

    def lower(self, p, ctx, data):
        s2 = p.scalar * p.scalar
        return jnp.where(jnp.abs(data) < 1.0 / s2, 0.5 * s2 * jnp.square(data),
                         jnp.abs(data) - 0.5 / s2)


@register("hard_sigmoid")
class HardSigmoid(Op):
    """``clip(alpha x + beta, 0, 1)``."""

    @dataclass(frozen=True)
    class Params:
        alpha: float = 0.2
        beta: float = 0.5

    def lower(self, p, ctx, data):
        return jnp.clip(p.alpha * data + p.beta, 0.0, 1.0)


@register("moments")
class Moments(Op):
    """Mean and variance over ``axes`` (which must be given)."""

    @dataclass(frozen=True)
    class Params:
        axes: Optional[Tuple[int, ...]] = None
        keepdims: bool = False

    def outputs(self, p):
        return ("output0", "output1")

    def _axes(self, p, shape):
        if not p.axes:
            raise ShapeError("axes is empty; pass every axis for global moments (as MXNet)")
        return tuple(sorted(_norm_axis(a, len(shape), "axes", shape) for a in p.axes))

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None, None], []
        out = _reduced_shape(data, self._axes(p, data), p.keepdims)
        return in_shapes, [out, out], []

    def lower(self, p, ctx, data):
        axes = self._axes(p, data.shape)
        mean = jnp.mean(data, axis=axes, keepdims=True)
        var = jnp.mean(jnp.square(data - mean), axis=axes, keepdims=True)
        out = _reduced_shape(data.shape, axes, p.keepdims)
        return mean.reshape(out), var.reshape(out)
