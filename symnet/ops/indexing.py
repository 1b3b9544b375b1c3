"""Picking entries by index arrays: ``pick``, ``batch_take``, ``gather_nd``. Index inputs are
floats in MXNet graphs; they get no gradient, and the gradient of data is scattered back."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax.numpy as jnp
from jax import lax

from ..base import ShapeError, shape_str
from .registry import Op, choice, expect_shape, register


def _index(x):
    return lax.stop_gradient(x).astype(jnp.int32)


@register("pick")
class Pick(Op):
    """``data[..., index, ...]`` along ``axis``: one entry per position of the other axes.
    ``mode='clip'`` clamps out-of-range indices, ``'wrap'`` wraps them."""

    @dataclass(frozen=True)
    class Params:
        axis: Optional[int] = -1
        keepdims: bool = False
        mode: str = choice("clip", "wrap", default="clip")

    def arguments(self, p):
        return ("data", "index")

    def _ax(self, p, data):
        if p.axis is None:
            raise ShapeError("axis=None (pick from the flattened data) is not supported")
        if not -len(data) <= p.axis < len(data):
            raise ShapeError(f"axis={p.axis} is out of range for data of shape "
                             f"{shape_str(data)}")
        return p.axis % len(data)

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        ax = self._ax(p, data)
        rest = tuple(d for i, d in enumerate(data) if i != ax)
        out = tuple(1 if i == ax else d for i, d in enumerate(data)) if p.keepdims else rest
        return expect_shape(in_shapes, 1, rest), [out], []

    def lower(self, p, ctx, data, index):
        ax = self._ax(p, data.shape)
        n = data.shape[ax]
        idx = _index(index)
        idx = jnp.clip(idx, 0, n - 1) if p.mode == "clip" else jnp.mod(idx, n)
        out = jnp.take_along_axis(data, jnp.expand_dims(idx, ax), axis=ax)
        return out if p.keepdims else jnp.squeeze(out, ax)


@register("batch_take")
class BatchTake(Op):
    """``a[i, indices[i]]`` for each row ``i`` of a 2-D ``a`` (indices clipped)."""

    def arguments(self, p):
        return ("a", "indices")

    def infer_shape(self, p, in_shapes):
        a = in_shapes[0]
        if a is None:
            return in_shapes, [None], []
        if len(a) != 2:
            raise ShapeError(f"a must be 2-D, received {shape_str(a)}")
        return expect_shape(in_shapes, 1, (a[0],)), [(a[0],)], []

    def lower(self, p, ctx, a, indices):
        idx = jnp.clip(_index(indices), 0, a.shape[1] - 1)
        return jnp.take_along_axis(a, idx[:, None], axis=1)[:, 0]


@register("gather_nd")
class GatherND(Op):
    """``out[y...] = data[indices[0, y...], ..., indices[M-1, y...], ...]``: the first axis of
    ``indices`` (M entries) indexes the first M axes of data."""

    def arguments(self, p):
        return ("data", "indices")

    def infer_shape(self, p, in_shapes):
        data, indices = in_shapes
        if data is None or indices is None:
            return in_shapes, [None], []
        m = indices[0]
        if not 1 <= m <= len(data):
            raise ShapeError(f"indices {shape_str(indices)} index {m} axes of data "
                             f"{shape_str(data)}")
        return in_shapes, [tuple(indices[1:]) + tuple(data[m:])], []

    def lower(self, p, ctx, data, indices):
        idx = _index(indices)
        return data[tuple(idx[i] for i in range(idx.shape[0]))]
