"""Sorting along an axis: ``topk``, ``sort``, ``argsort`` (indices are returned as floats by
default, as MXNet does). Values pass their gradient back to where they came from."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax.numpy as jnp
import numpy as np
from jax import lax

from ..base import ShapeError, shape_str
from .registry import Op, choice, register


def _axis(axis: Optional[int], shape) -> Optional[int]:
    if axis is None:
        return None
    if not -len(shape) <= axis < len(shape):
        raise ShapeError(f"axis={axis} is out of range for data of shape {shape_str(shape)}")
    return axis % len(shape)


def _sorted(data, axis: Optional[int], ascend: bool):
    """(values, int32 indices) along ``axis`` (the flattened data when None), stable."""
    x = data.reshape(-1) if axis is None else data
    ax = 0 if axis is None else axis
    idx = jnp.argsort(x if ascend else -x, axis=ax, stable=True)
    return jnp.take_along_axis(x, idx, axis=ax), idx


@register("topk")
class TopK(Op):
    """The ``k`` largest (``is_ascend``: smallest) entries along ``axis`` (None: flattened):
    their indices, values, both, or a 0/1 mask of data's shape."""

    @dataclass(frozen=True)
    class Params:
        axis: Optional[int] = -1
        k: int = 1
        ret_typ: str = choice("value", "indices", "mask", "both", default="indices")
        is_ascend: bool = False
        dtype: str = "float32"

    def outputs(self, p):
        if p.ret_typ == "both":
            return ("output0", "output1")
        return ("output0",) if p.ret_typ == "value" else ("output",)

    def num_outputs(self, p):
        return 2 if p.ret_typ in ("value", "both") else 1  # MXNet compat: value hides indices

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * self.num_outputs(p), []
        ax = _axis(p.axis, data)
        length = int(np.prod(data)) if ax is None else data[ax]
        if not 1 <= p.k <= length:
            raise ShapeError(f"k={p.k} must be in [1, {length}] for data of shape "
                             f"{shape_str(data)}")
        if p.ret_typ == "mask":
            return in_shapes, [tuple(data)], []
        out = (p.k,) if ax is None else tuple(data[:ax]) + (p.k,) + tuple(data[ax + 1:])
        return in_shapes, [out] * self.num_outputs(p), []

    def lower(self, p, ctx, data):
        ax = _axis(p.axis, data.shape)
        values, idx = _sorted(data, ax, p.is_ascend)
        sl = 0 if ax is None else ax
        values = lax.slice_in_dim(values, 0, p.k, axis=sl)
        idx = lax.slice_in_dim(idx, 0, p.k, axis=sl)
        indices = lax.stop_gradient(idx).astype(jnp.dtype(p.dtype))
        if p.ret_typ in ("value", "both"):
            return values, indices
        if p.ret_typ == "indices":
            return indices
        flat = data.reshape(-1) if ax is None else data
        mask = jnp.zeros(flat.shape, data.dtype)
        mask = jnp.put_along_axis(mask, idx, 1.0, axis=sl, inplace=False)
        return lax.stop_gradient(mask.reshape(data.shape))


@register("sort")
class Sort(Op):
    """Values sorted along ``axis`` (None: flattened), ascending unless ``is_ascend=False``."""

    @dataclass(frozen=True)
    class Params:
        axis: Optional[int] = -1
        is_ascend: bool = True

    def outputs(self, p):
        return ("output0",)

    def num_outputs(self, p):
        return 2  # MXNet compat: a hidden indices output

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None, None], []
        ax = _axis(p.axis, data)
        out = (int(np.prod(data)),) if ax is None else tuple(data)
        return in_shapes, [out, out], []

    def lower(self, p, ctx, data):
        values, idx = _sorted(data, _axis(p.axis, data.shape), p.is_ascend)
        return values, lax.stop_gradient(idx).astype(data.dtype)


@register("argsort")
class ArgSort(Op):
    """Indices that sort ``axis`` (None: flattened), as ``dtype``; no gradient."""

    @dataclass(frozen=True)
    class Params:
        axis: Optional[int] = -1
        is_ascend: bool = True
        dtype: str = "float32"

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        ax = _axis(p.axis, data)
        return in_shapes, [(int(np.prod(data)),) if ax is None else tuple(data)], []

    def lower(self, p, ctx, data):
        _, idx = _sorted(lax.stop_gradient(data), _axis(p.axis, data.shape), p.is_ascend)
        return idx.astype(jnp.dtype(p.dtype))
