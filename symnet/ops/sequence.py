"""Variable-length sequence operators: SequenceMask, SequenceLast, SequenceReverse.

data is time-major (T, N, ...) with ``axis=0`` or batch-major (N, T, ...) with ``axis=1``;
``sequence_length`` (N,) holds each sequence's length when ``use_sequence_length`` (otherwise
every sequence has length T and the input is not an argument). Lengths get no gradient.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
from jax import lax

from ..base import ShapeError, shape_str
from .registry import Op, expect_shape, register


class _Sequence(Op):
    @dataclass(frozen=True)
    class Params:
        use_sequence_length: bool = False
        axis: int = 0

    def arguments(self, p):
        return ("data", "sequence_length") if p.use_sequence_length else ("data",)

    def _check(self, p, data):
        if p.axis not in (0, 1):
            raise ShapeError(f"axis must be 0 (time-major) or 1 (batch-major), received "
                             f"{p.axis}")
        if len(data) < 2:
            raise ShapeError(f"data must be (T, N, ...) or (N, T, ...), received "
                             f"{shape_str(data)}")

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None], []
        self._check(p, data)
        shapes = list(in_shapes)
        if p.use_sequence_length:
            shapes = expect_shape(shapes, 1, (data[1 - p.axis],))
        return shapes, [self.out_shape(p, tuple(data))], []

    def out_shape(self, p, data):
        return data

    @staticmethod
    def _lengths(p, data, lengths):
        """Per-batch lengths as int32 (N,), T when not given."""
        t, n = (data.shape[0], data.shape[1]) if p.axis == 0 else (data.shape[1], data.shape[0])
        if lengths is None:
            return jnp.full((n,), t, jnp.int32)
        return lax.stop_gradient(lengths).astype(jnp.int32)

    @staticmethod
    def _time_index(p, data):
        """Time step of every element, broadcast against data; and the batch index likewise."""
        shape = [1] * data.ndim
        shape[p.axis] = data.shape[p.axis]
        t = jnp.arange(data.shape[p.axis]).reshape(shape)
        bshape = [1] * data.ndim
        bshape[1 - p.axis] = data.shape[1 - p.axis]
        return t, bshape


@register("SequenceMask")
class SequenceMask(_Sequence):
    """Set the steps at or past each sequence's length to ``value``."""

    @dataclass(frozen=True)
    class Params:
        use_sequence_length: bool = False
        value: float = 0.0
        axis: int = 0

    def lower(self, p, ctx, data, lengths=None):
        if not p.use_sequence_length:
            return data
        t, bshape = self._time_index(p, data)
        keep = t < self._lengths(p, data, lengths).reshape(bshape)
        return jnp.where(keep, data, jnp.asarray(p.value, data.dtype))


@register("SequenceLast")
class SequenceLast(_Sequence):
    """The last valid step of each sequence: (N, ...)."""

    def out_shape(self, p, data):
        return tuple(d for i, d in enumerate(data) if i != p.axis)

    def lower(self, p, ctx, data, lengths=None):
        last = self._lengths(p, data, lengths) - 1
        batch = jnp.arange(data.shape[1 - p.axis])
        return data[last, batch] if p.axis == 0 else data[batch, last]


@register("SequenceReverse")
class SequenceReverse(_Sequence):
    """Reverse the first ``length`` steps of each sequence; later steps stay (time-major only)."""

    def _check(self, p, data):
        super()._check(p, data)
        if p.axis != 0:
            raise ShapeError(f"SequenceReverse supports axis=0 only (as MXNet), received "
                             f"{p.axis}")

    def lower(self, p, ctx, data, lengths=None):
        steps = data.shape[0]
        n = self._lengths(p, data, lengths)                    # (N,)
        t = jnp.arange(steps)[:, None]                         # (T, 1)
        src = jnp.where(t < n[None, :], n[None, :] - 1 - t, t)  # (T, N)
        return data[src, jnp.arange(data.shape[1])[None, :]]
