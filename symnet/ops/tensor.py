"""Symbol arithmetic with scalars, ``_power``, and the softmax family (softmax, log_softmax)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax
import jax.numpy as jnp

from ..base import ShapeError
from . import math  # noqa: F401  (registers elemwise_*, which are aliased below)
from .registry import Op, alias, register


class _ScalarOp(Op):
    """``data (op) scalar``, elementwise; output has data's shape and dtype."""

    @dataclass(frozen=True)
    class Params:
        scalar: float = 1.0

    def lower(self, p, ctx, data):
        s = jnp.asarray(p.scalar, data.dtype)
        return self.fn(data, s)


def _scalar_op(name: str, formula: str, fn):
    cls = type(name, (_ScalarOp,), {"fn": staticmethod(fn),
                                    "__doc__": f"{formula}, elementwise (data's shape)."})
    return register(name)(cls)


# Symbol arithmetic names these nodes the MXNet way (``_plusscalar0``; see Symbol._binary).
_scalar_op("_plus_scalar", "data + scalar", lambda x, s: x + s)
_scalar_op("_minus_scalar", "data - scalar", lambda x, s: x - s)
_scalar_op("_rminus_scalar", "scalar - data", lambda x, s: s - x)
_scalar_op("_mul_scalar", "data * scalar", lambda x, s: x * s)
_scalar_op("_div_scalar", "data / scalar", lambda x, s: x / s)
_scalar_op("_rdiv_scalar", "scalar / data", lambda x, s: s / x)
_scalar_op("_power_scalar", "data ** scalar", lambda x, s: x ** s)
_scalar_op("_rpower_scalar", "scalar ** data", lambda x, s: s ** x)


@register("_power", "_Power")
class Power(Op):
    """lhs ** rhs elementwise (same shapes; use broadcast_power to broadcast)."""

    def arguments(self, p):
        return ("lhs", "rhs")

    def infer_shape(self, p, in_shapes):
        lhs, rhs = in_shapes
        if lhs is not None and rhs is not None and tuple(lhs) != tuple(rhs):
            raise ShapeError(f"lhs {tuple(lhs)} and rhs {tuple(rhs)} must have the same shape "
                             "(use broadcast_power to broadcast)")
        known = lhs if lhs is not None else rhs
        return [known, known], [known], []

    def lower(self, p, ctx, lhs, rhs):
        return lhs ** rhs


class _SoftmaxBase(Op):
    @dataclass(frozen=True)
    class Params:
        axis: int = -1
        temperature: Optional[float] = None
        dtype: Optional[str] = None
        use_length: Optional[bool] = False

    def _scaled(self, p, data):
        return data if p.temperature in (None, 1.0) else data / p.temperature


@register("softmax")
class Softmax(_SoftmaxBase):
    """softmax(data / temperature) along ``axis``."""

    def lower(self, p, ctx, data):
        return jax.nn.softmax(self._scaled(p, data), axis=p.axis)


@register("log_softmax")
class LogSoftmax(_SoftmaxBase):
    """log(softmax(data / temperature)) along ``axis``."""

    def lower(self, p, ctx, data):
        return jax.nn.log_softmax(self._scaled(p, data), axis=p.axis)


# The names MXNet's Python layer calls for symbol arithmetic (auto names follow the name used:
# ``_Plus`` gives ``_plus0``).
alias("elemwise_add", "_Plus", "_plus", "_add")
alias("elemwise_sub", "_Minus", "_minus", "_sub")
alias("elemwise_mul", "_Mul", "_mul")
alias("elemwise_div", "_Div", "_div")
for _name, _camel in (("_plus_scalar", "_PlusScalar"), ("_minus_scalar", "_MinusScalar"),
                      ("_rminus_scalar", "_RMinusScalar"), ("_mul_scalar", "_MulScalar"),
                      ("_div_scalar", "_DivScalar"), ("_rdiv_scalar", "_RDivScalar"),
                      ("_power_scalar", "_PowerScalar"), ("_rpower_scalar", "_RPowerScalar")):
    alias(_name, _camel)


@register("softmax_cross_entropy")
class SoftmaxCrossEntropy(Op):
    """``-sum_i log softmax(data_i)[label_i]`` over the batch: data (N, C), label (N,) ->
    (1,). Label gets no gradient."""

    def arguments(self, p):
        return ("data", "label")

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(data) != 2:
            raise ShapeError(f"data must be (N, C), received {tuple(data)}")
        shapes = list(in_shapes)
        if shapes[1] is not None and tuple(shapes[1]) != (data[0],):
            raise ShapeError(f"label has shape {tuple(shapes[1])}, expected ({data[0]},)")
        return [tuple(data), (data[0],)], [(1,)], []

    def lower(self, p, ctx, data, label):
        logp = jax.nn.log_softmax(data, axis=-1)
        idx = jax.lax.stop_gradient(label).astype(jnp.int32)
        return -jnp.take_along_axis(logp, idx[:, None], axis=1).sum().reshape((1,))
