"""Arrays made from parameters alone: ``_zeros``, ``_ones``, ``_full``, ``_arange``
(``mx.sym.zeros/ones/full/arange``). They take no inputs and have no gradient."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import jax.numpy as jnp
import numpy as np

from ..base import ShapeError
from .registry import Op, register


class _Filled(Op):
    """A constant array of ``shape`` and ``dtype``."""

    value: float = 0.0

    @dataclass(frozen=True)
    class Params:
        shape: Tuple[int, ...] = ()
        dtype: str = "float32"
        ctx: str = ""

    def arguments(self, p):
        return ()

    def _fill(self, p) -> float:
        return self.value

    def infer_shape(self, p, in_shapes):
        if any(d <= 0 for d in p.shape):
            raise ShapeError(f"shape {tuple(p.shape)} has an unknown (0) or negative dimension; "
                             "symnet needs every dimension of a created array")
        return [], [tuple(p.shape)], []

    def infer_type(self, p, in_types):
        return [], [np.dtype(p.dtype).type], []

    def lower(self, p, ctx):
        return jnp.full(tuple(p.shape), self._fill(p), jnp.dtype(p.dtype))


@register("_zeros")
class Zeros(_Filled):
    """Zeros of ``shape``."""


@register("_ones")
class Ones(_Filled):
    """Ones of ``shape``."""

    value = 1.0


@register("_full")
class Full(_Filled):
    """``value`` everywhere in ``shape``."""

    @dataclass(frozen=True)
    class Params:
        shape: Tuple[int, ...] = ()
        value: float = 0.0
        dtype: str = "float32"
        ctx: str = ""

    def _fill(self, p) -> float:
        return p.value


@register("_arange")
class Arange(Op):
    """``start, start + step, ...`` below ``stop`` (``[0, start)`` without stop), each value
    repeated ``repeat`` times."""

    @dataclass(frozen=True)
    class Params:
        start: float = 0.0
        stop: Optional[float] = None
        step: float = 1.0
        repeat: int = 1
        infer_range: bool = False
        dtype: str = "float32"
        ctx: str = ""

    def arguments(self, p):
        return ()

    def _bounds(self, p):
        start, stop = (0.0, p.start) if p.stop is None else (p.start, p.stop)
        if p.step == 0:
            raise ShapeError("step must not be 0")
        n = max(0, math.ceil((stop - start) / p.step))
        if n == 0 or p.repeat < 1:
            raise ShapeError(f"arange(start={start}, stop={stop}, step={p.step}, "
                             f"repeat={p.repeat}) is empty")
        return start, n

    def infer_shape(self, p, in_shapes):
        if p.infer_range:
            raise ShapeError("infer_range=True is not supported; give stop")
        _, n = self._bounds(p)
        return [], [(n * p.repeat,)], []

    def infer_type(self, p, in_types):
        return [], [np.dtype(p.dtype).type], []

    def lower(self, p, ctx):
        start, n = self._bounds(p)
        values = start + p.step * np.arange(n, dtype=np.float64)
        return jnp.asarray(np.repeat(values, p.repeat), jnp.dtype(p.dtype))
