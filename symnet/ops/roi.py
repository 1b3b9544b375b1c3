"""ROIPooling: max pooling of regions of interest to a fixed size (Fast R-CNN)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import jax.numpy as jnp
from jax import lax

from ..base import ShapeError, shape_str
from .registry import Op, register


def _round_half_away(x):
    return jnp.sign(x) * jnp.floor(jnp.abs(x) + 0.5)


@register("ROIPooling")
class ROIPooling(Op):
    """data (N, C, H, W), rois (R, 5) rows ``[batch_index, x1, y1, x2, y2]`` in image
    coordinates -> (R, C, ph, pw): each region (scaled by ``spatial_scale`` and rounded, ends
    included) is cut into ph x pw bins (floor/ceil bounds, as MXNet's) and each bin max-pooled;
    an empty bin gives 0. The gradient goes to each bin's maximum; rois get none.
    """

    @dataclass(frozen=True)
    class Params:
        pooled_size: Tuple[int, ...]
        spatial_scale: float

    def arguments(self, p):
        return ("data", "rois")

    def infer_shape(self, p, in_shapes):
        data, rois = in_shapes
        if data is None or rois is None:
            return in_shapes, [None], []
        if len(data) != 4:
            raise ShapeError(f"data must be 4-D (N, C, H, W), received {shape_str(data)}")
        if len(rois) != 2 or rois[1] != 5:
            raise ShapeError(f"rois must be (R, 5) rows [batch_index, x1, y1, x2, y2], "
                             f"received {shape_str(rois)}")
        if len(p.pooled_size) != 2 or min(p.pooled_size) < 1:
            raise ShapeError(f"pooled_size must be (h, w) with positive entries, received "
                             f"{tuple(p.pooled_size)}")
        return in_shapes, [(rois[0], data[1]) + tuple(p.pooled_size)], []

    def lower(self, p, ctx, data, rois):
        _, _, height, width = data.shape
        ph, pw = p.pooled_size
        rois = lax.stop_gradient(rois)

        def bins(start, end, pooled, size):
            """(pooled, size) mask of each bin's cells along one axis."""
            extent = jnp.maximum(end - start + 1, 1).astype(jnp.float32)
            step = extent / pooled
            k = jnp.arange(pooled, dtype=jnp.float32)
            lo = jnp.clip(jnp.floor(k * step) + start, 0, size)
            hi = jnp.clip(jnp.ceil((k + 1) * step) + start, 0, size)
            cells = jnp.arange(size, dtype=jnp.float32)
            return (cells[None, :] >= lo[:, None]) & (cells[None, :] < hi[:, None])

        def pool_one(roi):
            coords = _round_half_away(roi[1:] * p.spatial_scale)
            x1, y1, x2, y2 = coords[0], coords[1], coords[2], coords[3]
            mask_h = bins(y1, y2, ph, height)  # (ph, H)
            mask_w = bins(x1, x2, pw, width)   # (pw, W)
            img = data[roi[0].astype(jnp.int32)]                       # (C, H, W)
            neg = jnp.asarray(-jnp.inf, data.dtype)
            cols = jnp.where(mask_w[None, None], img[:, :, None, :], neg).max(-1)  # (C, H, pw)
            out = jnp.where(mask_h[None, :, :, None], cols[:, None], neg).max(2)   # (C, ph, pw)
            empty = ~(mask_h.any(1)[:, None] & mask_w.any(1)[None, :])
            return jnp.where(empty[None], jnp.zeros((), data.dtype), out)

        return lax.map(pool_one, rois)
