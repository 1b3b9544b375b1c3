"""Neural-network layers: FullyConnected, Convolution, Pooling, Activation, Flatten, Dropout."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..base import ShapeError
from .registry import (CONV_LAYOUTS, Op, check_ndim, choice, expect_shape, register,
                       spatial_param)



def _prod(xs) -> int:
    return int(np.prod(xs, dtype=np.int64)) if len(xs) else 1






@register("FullyConnected")
class FullyConnected(Op):
    """Y = X W^T + b. data (N, ...) -> (N, num_hidden); with flatten=False over the last axis."""

    @dataclass(frozen=True)
    class Params:
        num_hidden: int
        no_bias: bool = False
        flatten: bool = True

    def arguments(self, p):
        return ("data", "weight") if p.no_bias else ("data", "weight", "bias")

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(data) < 1:
            raise ShapeError(f"data must have at least 1 dimension, received shape {data}")
        if p.flatten:
            in_dim = _prod(data[1:])
            out = (data[0], p.num_hidden)
        else:
            in_dim = data[-1]
            out = tuple(data[:-1]) + (p.num_hidden,)
        shapes = expect_shape(in_shapes, 1, (p.num_hidden, in_dim))
        if not p.no_bias:
            shapes = expect_shape(shapes, 2, (p.num_hidden,))
        return shapes, [out], []

    def lower(self, p, ctx, data, weight, bias=None):
        x = data.reshape(data.shape[0], -1) if p.flatten else data
        y = jnp.matmul(x, weight.T)
        return y if bias is None else y + bias

    def rows_independent(self, p, in_shapes):
        return True


@register("Convolution")
class Convolution(Op):
    """N-D convolution (1-D/2-D/3-D by kernel length). data (N, C, *spatial), NCHW layout."""

    @dataclass(frozen=True)
    class Params:
        kernel: Tuple[int, ...]
        num_filter: int
        stride: Tuple[int, ...] = ()
        dilate: Tuple[int, ...] = ()
        pad: Tuple[int, ...] = ()
        num_group: int = 1
        workspace: int = 1024
        no_bias: bool = False
        cudnn_tune: Optional[str] = None
        cudnn_off: bool = False
        layout: Optional[str] = None

    def arguments(self, p):
        return ("data", "weight") if p.no_bias else ("data", "weight", "bias")

    def geometry(self, p):
        """(kernel, stride, dilate, pad) expanded to the kernel's rank."""
        nd = len(p.kernel)
        if nd not in (1, 2, 3):
            raise ShapeError(f"kernel must have 1, 2 or 3 entries, received {p.kernel}")
        return (tuple(p.kernel), spatial_param(p.stride, nd, 1, "stride"),
                spatial_param(p.dilate, nd, 1, "dilate"), spatial_param(p.pad, nd, 0, "pad"))

    def infer_shape(self, p, in_shapes):
        kernel, stride, dilate, pad = self.geometry(p)
        nd = len(kernel)
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        check_ndim("data", data, (nd + 2,), f"N, C and {nd} spatial axes for a {nd}-D kernel")
        channels = data[1]
        if channels % p.num_group or p.num_filter % p.num_group:
            raise ShapeError(f"num_group={p.num_group} must divide the input channels "
                             f"({channels}) and num_filter ({p.num_filter})")
        out_sp = []
        for ax, (x, k, s, d, pd) in enumerate(zip(data[2:], kernel, stride, dilate, pad)):
            span = d * (k - 1) + 1
            if x + 2 * pd < span:
                raise ShapeError(
                    f"kernel {kernel} (dilated extent {span} on spatial axis {ax}) is larger "
                    f"than the padded input: data {tuple(data)} with pad {pad} gives {x + 2 * pd}")
            out_sp.append((x + 2 * pd - span) // s + 1)
        shapes = expect_shape(in_shapes, 1, (p.num_filter, channels // p.num_group) + kernel)
        if not p.no_bias:
            shapes = expect_shape(shapes, 2, (p.num_filter,))
        return shapes, [(data[0], p.num_filter) + tuple(out_sp)], []

    def lower(self, p, ctx, data, weight, bias=None):
        kernel, stride, dilate, pad = self.geometry(p)
        dn = CONV_LAYOUTS[len(kernel)]
        y = lax.conv_general_dilated(
            data, weight, window_strides=stride, padding=[(q, q) for q in pad],
            rhs_dilation=dilate, dimension_numbers=dn, feature_group_count=p.num_group)
        if bias is not None:
            y = y + bias.reshape((1, -1) + (1,) * len(kernel))
        return y

    def rows_independent(self, p, in_shapes):
        return True


@register("Pooling")
class Pooling(Op):
    """Max/avg/sum/lp pooling over the spatial axes of (N, C, *spatial)."""

    @dataclass(frozen=True)
    class Params:
        kernel: Tuple[int, ...] = ()
        pool_type: str = choice("max", "avg", "sum", "lp", default="max")
        global_pool: bool = False
        cudnn_off: bool = False
        pooling_convention: str = choice("valid", "full", "same", default="valid")
        stride: Tuple[int, ...] = ()
        pad: Tuple[int, ...] = ()
        p_value: Optional[int] = None
        count_include_pad: Optional[bool] = None
        layout: Optional[str] = None

    def num_outputs(self, p) -> int:
        # MXNet compat: oneDNN builds give max pooling a hidden workspace output.
        return 2 if p.pool_type == "max" else 1

    def geometry(self, p, data_shape):
        """(kernel, stride, pad, out_spatial, pad_hi) for ``data_shape``."""
        spatial = tuple(data_shape[2:])
        nd = len(spatial)
        if p.global_pool:
            kernel, stride, pad = spatial, (1,) * nd, (0,) * nd
        else:
            if len(p.kernel) != nd:
                raise ShapeError(
                    f"kernel {tuple(p.kernel)} has {len(p.kernel)} entries but data "
                    f"{tuple(data_shape)} has {nd} spatial axes")
            kernel = tuple(p.kernel)
            stride = spatial_param(p.stride, nd, 1, "stride")
            pad = spatial_param(p.pad, nd, 0, "pad")
        out, pad_hi = [], []
        for ax, (x, k, s, q) in enumerate(zip(spatial, kernel, stride, pad)):
            if p.pooling_convention == "same" and not p.global_pool:
                o = -(-x // s)
                extra = max((o - 1) * s + k - x, 0)
                out.append(o)
                pad_hi.append(extra)
                continue
            if x + 2 * q < k:
                raise ShapeError(
                    f"kernel {kernel} is larger than the padded input on spatial axis {ax}: "
                    f"data {tuple(data_shape)} with pad {pad} gives {x + 2 * q}")
            if p.pooling_convention == "full" and not p.global_pool:
                o = -(-(x + 2 * q - k) // s) + 1
            else:
                o = (x + 2 * q - k) // s + 1
            out.append(o)
            # Right padding so that every output window lies inside the padded array.
            pad_hi.append(max((o - 1) * s + k - x - q, q))
        return kernel, stride, pad, tuple(out), tuple(pad_hi)

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(data) not in (3, 4, 5):
            raise ShapeError(f"data must be 3-D, 4-D or 5-D (N, C, spatial...), received "
                             f"shape {tuple(data)}")
        if not p.global_pool and not p.kernel:
            raise ShapeError("kernel is required unless global_pool=True")
        _, _, _, out, _ = self.geometry(p, data)
        return in_shapes, [tuple(data[:2]) + out] * self.num_outputs(p), []

    def lower(self, p, ctx, data):
        kernel, stride, pad, out, pad_hi = self.geometry(p, data.shape)
        nd = len(kernel)
        if p.pooling_convention == "same" and not p.global_pool:
            lo = tuple(e // 2 for e in pad_hi)
            padding = ((0, 0), (0, 0)) + tuple((a, e - a) for a, e in zip(lo, pad_hi))
            pad = lo
        else:
            padding = ((0, 0), (0, 0)) + tuple(zip(pad, pad_hi))
        dims = (1, 1) + kernel
        strides = (1, 1) + stride
        if p.pool_type == "max":
            init = np.array(-np.inf, data.dtype)
            out = lax.reduce_window(data, init, lax.max, dims, strides, padding)
            return out, out
        if p.pool_type == "lp":
            pv = p.p_value if p.p_value is not None else 2
            powed = data if pv == 1 else data ** pv
            s = lax.reduce_window(powed, np.array(0, data.dtype), lax.add, dims, strides, padding)
            if pv == 1:
                return s
            if pv == 2:
                return jnp.sqrt(s)
            if pv == 3:
                return jnp.cbrt(s)
            return s ** (1.0 / pv)
        total = lax.reduce_window(data, np.array(0, data.dtype), lax.add, dims, strides, padding)
        if p.pool_type == "sum":
            return total
        count_pad = True if p.count_include_pad is None else p.count_include_pad
        counts = []
        for ax in range(nd):
            x = data.shape[2 + ax]
            starts = np.arange(out[ax]) * stride[ax] - pad[ax]
            ends = starts + kernel[ax]
            if count_pad:
                # MXNet compat: windows are clipped to the padded input, not the raw input.
                c = np.minimum(ends, x + pad[ax]) - np.maximum(starts, -pad[ax])
            else:
                c = np.minimum(ends, x) - np.maximum(starts, 0)
            counts.append(np.maximum(c, 1))
        div = counts[0]
        for c in counts[1:]:
            div = np.multiply.outer(div, c)
        return total / jnp.asarray(div, data.dtype)

    def rows_independent(self, p, in_shapes):
        return True


_ACTIVATIONS = {
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "softrelu": jax.nn.softplus,
    "softsign": lambda x: x / (1 + jnp.abs(x)),
}


@register("Activation")
class Activation(Op):
    """Elementwise activation: relu, sigmoid, tanh, softrelu (log(1+e^x)), softsign."""

    @dataclass(frozen=True)
    class Params:
        act_type: str = choice(*_ACTIVATIONS)

    def lower(self, p, ctx, data):
        return _ACTIVATIONS[p.act_type](data)

    def rows_independent(self, p, in_shapes):
        return True


@register("Flatten", "flatten")
class Flatten(Op):
    """(N, d1, d2, ...) -> (N, d1*d2*...)."""

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(data) < 1:
            raise ShapeError(f"data must have at least 1 dimension, received {data}")
        return in_shapes, [(data[0], _prod(data[1:]))], []

    def lower(self, p, ctx, data):
        return data.reshape(data.shape[0], -1)

    def rows_independent(self, p, in_shapes):
        return True


@register("Dropout")
class Dropout(Op):
    """Inverted dropout: in training, zero each unit with probability p and scale by 1/(1-p)."""

    needs_rng = True

    @dataclass(frozen=True)
    class Params:
        p: float = 0.5
        mode: str = choice("training", "always", default="training")
        axes: Tuple[int, ...] = ()
        cudnn_off: Optional[bool] = False

    def num_outputs(self, p) -> int:
        return 2  # MXNet compat: output and a hidden mask

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        return in_shapes, [data, data], []

    def lower(self, p, ctx, data):
        active = ctx.is_train or p.mode == "always"
        if not active or p.p <= 0.0:
            return data, jnp.ones_like(data)
        keep = 1.0 - p.p
        mask_shape = list(data.shape)
        for ax in p.axes:
            mask_shape[ax] = 1
        mask = jax.random.bernoulli(ctx.rng, keep, tuple(mask_shape)).astype(data.dtype) / keep
        mask = jnp.broadcast_to(mask, data.shape)
        return data * mask, mask

