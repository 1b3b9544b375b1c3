"""More layers: LeakyReLU, Deconvolution, Embedding, SoftmaxActivation, UpSampling,
SpatialTransformer, GridGenerator, BilinearSampler."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.scipy.special import erf

from ..base import ShapeError
from .registry import (CONV_LAYOUTS, Op, check_ndim, choice, expect_shape, register,
                       spatial_param)

_SELU_LAMBDA = 1.0507009873554805
_SELU_ALPHA = 1.6732632423543772






# ---- LeakyReLU -------------------------------------------------------------------------------

def _selu_fwd_value(x):
    neg = _SELU_ALPHA * jnp.expm1(jnp.minimum(x, 0))
    return _SELU_LAMBDA * jnp.where(x > 0, x, neg)


@jax.custom_vjp
def _selu(x):
    return _selu_fwd_value(x)


def _selu_fwd(x):
    y = _selu_fwd_value(x)
    return y, (x, y)


def _selu_bwd(res, g):
    x, y = res
    # MXNet compat: MXNet 1.9.1 differentiates selu on the negative side as lambda * (y + alpha)
    # (y the output), not lambda * alpha * exp(x); training with MXNet uses this gradient.
    d = jnp.where(x > 0, _SELU_LAMBDA, _SELU_LAMBDA * (y + _SELU_ALPHA))
    return (g * d.astype(g.dtype),)


_selu.defvjp(_selu_fwd, _selu_bwd)


@register("LeakyReLU")
class LeakyReLU(Op):
    """Leaky rectifiers: leaky, prelu (learnable gamma (C,)), elu, selu, gelu (erf), rrelu.

    data (N, C, ...) -> same shape. rrelu draws a slope in [lower_bound, upper_bound) per element
    in training and uses their mean otherwise.
    """

    needs_rng = True

    @dataclass(frozen=True)
    class Params:
        act_type: str = choice("elu", "gelu", "leaky", "prelu", "rrelu", "selu",
                               default="leaky")
        slope: float = 0.25
        lower_bound: float = 0.125
        upper_bound: float = 0.334

    def arguments(self, p):
        return ("data", "gamma") if p.act_type == "prelu" else ("data",)

    def outputs(self, p):
        return ("output", "mask") if p.act_type == "rrelu" else ("output",)

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        n_out = self.num_outputs(p)
        if data is None:
            return in_shapes, [None] * n_out, []
        if p.act_type == "prelu":
            c = data[1] if len(data) > 1 else 1
            gamma = in_shapes[1]
            if gamma is not None and tuple(gamma) not in ((c,), (1,)):
                raise ShapeError(f"gamma has shape {tuple(gamma)}, expected ({c},) (channels "
                                 f"of data {tuple(data)}) or (1,)")
            in_shapes = expect_shape(in_shapes, 1, (c,))
        return in_shapes, [tuple(data)] * n_out, []

    def lower(self, p, ctx, data, gamma=None):
        t = p.act_type
        if t == "leaky":
            return jnp.where(data > 0, data, data * p.slope)
        if t == "prelu":
            shape = [1] * data.ndim
            if data.ndim > 1 and gamma.shape[0] != 1:
                shape[1] = -1
            g = gamma.reshape(shape) if data.ndim > 1 else gamma
            return jnp.where(data > 0, data, data * g)
        if t == "elu":
            return jnp.where(data > 0, data, p.slope * jnp.expm1(jnp.minimum(data, 0)))
        if t == "selu":
            return _selu(data)
        if t == "gelu":
            return data * 0.5 * (1 + erf(data / math.sqrt(2.0)))
        # rrelu
        if ctx.is_train:
            slope = jax.random.uniform(ctx.rng, data.shape, data.dtype, p.lower_bound,
                                       p.upper_bound)
        else:
            slope = jnp.full(data.shape, (p.lower_bound + p.upper_bound) / 2, data.dtype)
        out = jnp.where(data > 0, data, data * slope)
        return out, lax.stop_gradient(slope)


# ---- Deconvolution ---------------------------------------------------------------------------

@register("Deconvolution")
class Deconvolution(Op):
    """Transposed convolution (the gradient of Convolution w.r.t. its input).

    data (N, C_in, *spatial); weight (C_in, num_filter / num_group, *kernel); bias (num_filter,)
    unless no_bias (default True). Output spatial: ``s(x-1) + d(k-1) + 1 - 2p + adj``, or
    ``target_shape`` when given (pad and adj are then derived from it).
    """

    @dataclass(frozen=True)
    class Params:
        kernel: Tuple[int, ...]
        num_filter: int
        stride: Tuple[int, ...] = ()
        dilate: Tuple[int, ...] = ()
        pad: Tuple[int, ...] = ()
        adj: Tuple[int, ...] = ()
        target_shape: Tuple[int, ...] = ()
        num_group: int = 1
        workspace: int = 512
        no_bias: bool = True
        cudnn_tune: Optional[str] = choice("fastest", "limited_workspace", "off", default=None)
        cudnn_off: bool = False
        layout: Optional[str] = choice("NCDHW", "NCHW", "NCW", "NDHWC", "NHWC", default=None)

    def arguments(self, p):
        return ("data", "weight") if p.no_bias else ("data", "weight", "bias")

    def geometry(self, p, data_shape):
        """(kernel, stride, dilate, pad, adj, out_spatial) for ``data_shape``."""
        nd = len(p.kernel)
        if nd not in (1, 2, 3):
            raise ShapeError(f"kernel must have 1, 2 or 3 entries, received {p.kernel}")
        if p.layout is not None and p.layout not in ("NCW", "NCHW", "NCDHW"):
            raise ShapeError(f"layout {p.layout!r} is not supported; use channels-first layout")
        kernel = tuple(p.kernel)
        stride = spatial_param(p.stride, nd, 1, "stride")
        dilate = spatial_param(p.dilate, nd, 1, "dilate")
        pad = spatial_param(p.pad, nd, 0, "pad")
        adj = spatial_param(p.adj, nd, 0, "adj")
        spatial = tuple(data_shape[2:])
        use_target = bool(p.target_shape) and any(t > 0 for t in p.target_shape)
        if use_target:
            target = spatial_param(p.target_shape, nd, 0, "target_shape")
            pad, adj = [], []
            for x, k, s, d, t in zip(spatial, kernel, stride, dilate, target):
                total = s * (x - 1) + d * (k - 1) + 1
                if total < t:
                    raise ShapeError(f"target_shape {tuple(target)} is too big for data "
                                     f"{tuple(data_shape)} (at most {total} per axis)")
                extra = total - t
                adj.append(extra % 2)
                pad.append((extra + 1) // 2)
            pad, adj = tuple(pad), tuple(adj)
        for a, s, d in zip(adj, stride, dilate):
            if a >= max(s, d):
                raise ShapeError(f"adj {adj} must be smaller than stride {stride} or dilate")
        out = tuple(s * (x - 1) + d * (k - 1) + 1 - 2 * q + a
                    for x, k, s, d, q, a in zip(spatial, kernel, stride, dilate, pad, adj))
        return kernel, stride, dilate, pad, adj, out

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        nd = len(p.kernel)
        check_ndim("data", data, (nd + 2,), f"N, C and {nd} spatial axes for a {nd}-D kernel")
        c_in = data[1]
        if c_in % p.num_group or p.num_filter % p.num_group:
            raise ShapeError(f"num_group={p.num_group} must divide the input channels ({c_in}) "
                             f"and num_filter ({p.num_filter})")
        kernel, _, _, _, _, out = self.geometry(p, data)
        if any(o <= 0 for o in out):
            raise ShapeError(f"output spatial shape {out} is not positive for data "
                             f"{tuple(data)}; reduce pad")
        wshape = (c_in, p.num_filter // p.num_group) + kernel
        if in_shapes[1] is not None and tuple(in_shapes[1]) != wshape:
            raise ShapeError(f"weight has shape {tuple(in_shapes[1])}, expected {wshape} from "
                             f"data {tuple(data)}")
        shapes = expect_shape(in_shapes, 1, wshape)
        if not p.no_bias:
            shapes = expect_shape(shapes, 2, (p.num_filter,))
        return shapes, [(data[0], p.num_filter) + out], []

    def lower(self, p, ctx, data, weight, bias=None):
        kernel, stride, dilate, pad, adj, _ = self.geometry(p, data.shape)
        nd = len(kernel)
        g = p.num_group
        c_in = weight.shape[0]
        fg = weight.shape[1]
        # (C_in, F/g, k) -> (g, C_in/g, F/g, k) -> (g, F/g, C_in/g, k) -> (F, C_in/g, k), flipped.
        w = weight.reshape((g, c_in // g, fg) + kernel)
        w = jnp.swapaxes(w, 1, 2).reshape((g * fg, c_in // g) + kernel)
        w = jnp.flip(w, axis=tuple(range(2, 2 + nd)))
        padding = [(d * (k - 1) - q, d * (k - 1) - q + a)
                   for k, d, q, a in zip(kernel, dilate, pad, adj)]
        y = lax.conv_general_dilated(
            data, w, window_strides=(1,) * nd, padding=padding, lhs_dilation=stride,
            rhs_dilation=dilate, dimension_numbers=CONV_LAYOUTS[nd], feature_group_count=g)
        if bias is not None:
            y = y + bias.reshape((1, -1) + (1,) * nd)
        return y


# ---- Embedding -------------------------------------------------------------------------------

@register("Embedding")
class Embedding(Op):
    """Row lookup: data (...) of float indices -> (..., output_dim) from weight (input_dim,
    output_dim). Indices are clipped to [0, input_dim - 1]; data gets no gradient."""

    @dataclass(frozen=True)
    class Params:
        input_dim: int
        output_dim: int
        dtype: str = choice("bfloat16", "float16", "float32", "float64", "int32", "int64",
                            "int8", "uint8", default="float32")
        sparse_grad: bool = False

    def arguments(self, p):
        return ("data", "weight")

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        wshape = (p.input_dim, p.output_dim)
        if in_shapes[1] is not None and tuple(in_shapes[1]) != wshape:
            raise ShapeError(f"weight has shape {tuple(in_shapes[1])}, expected {wshape} "
                             f"(input_dim, output_dim)")
        shapes = expect_shape(in_shapes, 1, wshape)
        if data is None:
            return shapes, [None], []
        return shapes, [tuple(data) + (p.output_dim,)], []

    def infer_type(self, p, in_types):
        dt = np.dtype(p.dtype) if p.dtype != "bfloat16" else jnp.bfloat16
        data = in_types[0] if in_types[0] is not None else dt
        return [data, dt], [dt], []

    def lower(self, p, ctx, data, weight):
        idx = jnp.clip(lax.stop_gradient(data).astype(jnp.int32), 0, p.input_dim - 1)
        return jnp.take(weight, idx, axis=0)


# ---- SoftmaxActivation -----------------------------------------------------------------------

@register("SoftmaxActivation")
class SoftmaxActivation(Op):
    """Softmax over the last axis (mode='instance') or over axis 1 (mode='channel')."""

    @dataclass(frozen=True)
    class Params:
        mode: str = choice("channel", "instance", default="instance")

    def lower(self, p, ctx, data):
        if p.mode == "channel":
            return jax.nn.softmax(data, axis=1)
        if data.ndim <= 2:
            return jax.nn.softmax(data, axis=-1)
        return _instance_softmax(data)


@jax.custom_vjp
def _instance_softmax(x):
    return jax.nn.softmax(x, axis=-1)


def _instance_softmax_fwd(x):
    y = jax.nn.softmax(x, axis=-1)
    return y, y


def _instance_softmax_bwd(y, g):
    # MXNet compat: for inputs with more than 2 axes MXNet 1.9.1's instance-mode backward
    # reduces over axis 1 (the channel formula) although the forward normalised the last axis.
    return (y * (g - jnp.sum(g * y, axis=1, keepdims=True)),)


_instance_softmax.defvjp(_instance_softmax_fwd, _instance_softmax_bwd)


# ---- UpSampling ------------------------------------------------------------------------------

@register("UpSampling")
class UpSampling(Op):
    """Upsample (N, C, H, W) inputs by ``scale``.

    nearest: every input is repeated up to (H0*scale, W0*scale) of the first input and the
    results are concatenated on channels (or summed, multi_input_mode='sum'). bilinear: a
    depthwise Deconvolution with weight (num_filter, 1, k, k), ``k = 2*scale - scale % 2``.
    """

    variadic = "num_args"

    @dataclass(frozen=True)
    class Params:
        scale: int
        sample_type: str = choice("bilinear", "nearest")
        num_args: int = 1
        num_filter: int = 0
        multi_input_mode: str = choice("concat", "sum", default="concat")
        workspace: int = 512

    def arguments(self, p):
        if p.sample_type == "bilinear":
            return ("data", "weight")
        return tuple(f"arg{i}" for i in range(p.num_args))

    def _deconv(self, p):
        k = 2 * p.scale - p.scale % 2
        pad = int(math.ceil((p.scale - 1) / 2.0))
        return k, pad

    def infer_shape(self, p, in_shapes):
        if p.sample_type == "bilinear":
            data = in_shapes[0]
            if data is None:
                return in_shapes, [None], []
            check_ndim("data", data, (4,), "N, C, H, W")
            k, pad = self._deconv(p)
            wshape = (data[1], 1, k, k)
            shapes = expect_shape(in_shapes, 1, wshape)
            out = tuple(p.scale * (x - 1) + k - 2 * pad for x in data[2:])
            return shapes, [(data[0], data[1]) + out], []
        first = in_shapes[0]
        if first is None or any(s is None for s in in_shapes):
            return in_shapes, [None], []
        oh, ow = first[2] * p.scale, first[3] * p.scale
        channels = 0
        for i, s in enumerate(in_shapes):
            check_ndim(f"arg{i}", s, (4,), "N, C, H, W")
            if oh % s[2] or ow % s[3] or oh // s[2] != ow // s[3]:
                raise ShapeError(f"arg{i} has shape {tuple(s)}; its spatial size must divide "
                                 f"the output size ({oh}, {ow}) by one integer factor")
            if p.multi_input_mode == "sum" and s[1] != first[1]:
                raise ShapeError(f"arg{i} has {s[1]} channels, expected {first[1]} for "
                                 "multi_input_mode='sum'")
            channels += s[1]
        if p.multi_input_mode == "sum":
            channels = first[1]
        return in_shapes, [(first[0], channels, oh, ow)], []

    def lower(self, p, ctx, *inputs):
        if p.sample_type == "bilinear":
            data, weight = inputs
            k, pad = self._deconv(p)
            c = data.shape[1]
            dec = Deconvolution.Params(kernel=(k, k), num_filter=c, stride=(p.scale, p.scale),
                                       pad=(pad, pad), num_group=c, no_bias=True)
            return _DECONV.lower(dec, ctx, data, weight)
        oh = inputs[0].shape[2] * p.scale
        ups = []
        for x in inputs:
            f = oh // x.shape[2]
            ups.append(jnp.repeat(jnp.repeat(x, f, axis=2), f, axis=3))
        if p.multi_input_mode == "sum":
            out = ups[0]
            for u in ups[1:]:
                out = out + u
            return out
        return jnp.concatenate(ups, axis=1) if len(ups) > 1 else ups[0]


_DECONV = Deconvolution()


# ---- Spatial transformer family --------------------------------------------------------------

def _affine_grid(theta, height: int, width: int):
    """Source coordinates (N, 2, H, W) (x then y, in [-1, 1] units) of an affine theta (N, 6)."""
    xs = jnp.linspace(-1.0, 1.0, width, dtype=theta.dtype) if width > 1 else \
        jnp.full((1,), -1.0, theta.dtype)
    ys = jnp.linspace(-1.0, 1.0, height, dtype=theta.dtype) if height > 1 else \
        jnp.full((1,), -1.0, theta.dtype)
    gx = jnp.broadcast_to(xs[None, :], (height, width)).reshape(-1)
    gy = jnp.broadcast_to(ys[:, None], (height, width)).reshape(-1)
    dst = jnp.stack([gx, gy, jnp.ones_like(gx)])  # (3, H*W)
    src = jnp.einsum("nij,jk->nik", theta.reshape(-1, 2, 3), dst)
    return src.reshape(theta.shape[0], 2, height, width), dst


def _bilinear_sample(data, grid):
    """Sample data (N, C, H, W) at grid (N, 2, Ho, Wo) (normalized x, y); zeros outside."""
    n, c, h, w = data.shape
    x = (grid[:, 0] + 1) * (w - 1) / 2  # (N, Ho, Wo)
    y = (grid[:, 1] + 1) * (h - 1) / 2
    x0 = jnp.floor(x)
    y0 = jnp.floor(y)
    wx1 = x - x0
    wy1 = y - y0
    flat = data.reshape(n, c, h * w)
    out = 0.0
    for dy, wy in ((0, 1 - wy1), (1, wy1)):
        for dx, wx in ((0, 1 - wx1), (1, wx1)):
            xi = lax.stop_gradient(x0 + dx).astype(jnp.int32)
            yi = lax.stop_gradient(y0 + dy).astype(jnp.int32)
            valid = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
            idx = jnp.clip(yi, 0, h - 1) * w + jnp.clip(xi, 0, w - 1)  # (N, Ho, Wo)
            vals = jnp.take_along_axis(flat, idx.reshape(n, 1, -1), axis=2)
            vals = vals.reshape((n, c) + idx.shape[1:])
            weight = jnp.where(valid, wx * wy, 0.0)
            out = out + vals * weight[:, None]
    return out.astype(data.dtype)


def _target(p, what="target_shape"):
    t = tuple(p.target_shape)
    if len(t) != 2 or t[0] <= 0 or t[1] <= 0:
        raise ShapeError(f"{what} must be two positive sizes (H, W), received {t}")
    return t


@register("GridGenerator")
class GridGenerator(Op):
    """Sampling grid (N, 2, H, W) from affine params (N, 6) or a flow field (N, 2, H, W)."""

    @dataclass(frozen=True)
    class Params:
        transform_type: str = choice("affine", "warp")
        target_shape: Tuple[int, ...] = (0, 0)

    def num_outputs(self, p):
        return 2  # MXNet compat: hidden grid_dst output

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None, None], []
        if p.transform_type == "affine":
            if len(data) != 2 or data[1] != 6:
                raise ShapeError(f"data must be (N, 6) affine parameters, received shape "
                                 f"{tuple(data)}")
            h, w = _target(p)
            return in_shapes, [(data[0], 2, h, w), (3, h * w)], []
        if len(data) != 4 or data[1] != 2:
            raise ShapeError(f"data must be a (N, 2, H, W) flow field, received {tuple(data)}")
        return in_shapes, [tuple(data), (2, data[2], data[3])], []

    def lower(self, p, ctx, data):
        if p.transform_type == "affine":
            h, w = p.target_shape
            grid, dst = _affine_grid(data, h, w)
            return grid, lax.stop_gradient(dst)
        h, w = data.shape[2], data.shape[3]
        xs = jnp.arange(w, dtype=data.dtype)
        ys = jnp.arange(h, dtype=data.dtype)
        base = jnp.stack([jnp.broadcast_to(xs[None, :], (h, w)),
                          jnp.broadcast_to(ys[:, None], (h, w))])
        scale = jnp.array([(w - 1) / 2.0, (h - 1) / 2.0], data.dtype).reshape(1, 2, 1, 1)
        grid = (data + base[None]) / scale - 1
        return grid, lax.stop_gradient(base)


@register("BilinearSampler")
class BilinearSampler(Op):
    """Sample data (N, C, H, W) at grid (N, 2, Ho, Wo) of normalized (x, y) in [-1, 1];
    positions outside the input read zeros. -> (N, C, Ho, Wo)."""

    @dataclass(frozen=True)
    class Params:
        cudnn_off: Optional[bool] = None

    def arguments(self, p):
        return ("data", "grid")

    def num_outputs(self, p):
        return 2  # MXNet compat: hidden tmp output

    def infer_shape(self, p, in_shapes):
        data, grid = in_shapes
        if data is None or grid is None:
            return in_shapes, [None, None], []
        check_ndim("data", data, (4,), "N, C, H, W")
        if len(grid) != 4 or grid[1] != 2 or grid[0] != data[0]:
            raise ShapeError(f"grid must be (N, 2, Ho, Wo) with N={data[0]} from data "
                             f"{tuple(data)}, received {tuple(grid)}")
        out = (data[0], data[1], grid[2], grid[3])
        return in_shapes, [out, tuple(grid)], []

    def lower(self, p, ctx, data, grid):
        return _bilinear_sample(data, grid), lax.stop_gradient(grid)


@register("SpatialTransformer")
class SpatialTransformer(Op):
    """Affine spatial transformer: data (N, C, H, W), loc (N, 6) -> (N, C, *target_shape).

    The affine grid over target_shape (normalized to [-1, 1]) is mapped by loc and the input is
    sampled bilinearly, with zeros outside.
    """

    @dataclass(frozen=True)
    class Params:
        transform_type: str = choice("affine")
        sampler_type: str = choice("bilinear")
        target_shape: Tuple[int, ...] = (0, 0)
        cudnn_off: Optional[bool] = None

    def arguments(self, p):
        return ("data", "loc")

    def num_outputs(self, p):
        return 3  # MXNet compat: hidden grid_dst and grid_src outputs

    def infer_shape(self, p, in_shapes):
        data, loc = in_shapes
        if data is None:
            return in_shapes, [None] * 3, []
        check_ndim("data", data, (4,), "N, C, H, W")
        h, w = _target(p)
        if loc is not None and (len(loc) != 2 or loc[1] != 6 or loc[0] != data[0]):
            raise ShapeError(f"loc must be ({data[0]}, 6) affine parameters for data "
                             f"{tuple(data)}, received {tuple(loc)}")
        shapes = expect_shape(in_shapes, 1, (data[0], 6))
        return shapes, [(data[0], data[1], h, w), (3, h * w), (data[0], 2, h, w)], []

    def lower(self, p, ctx, data, loc):
        h, w = p.target_shape
        grid, dst = _affine_grid(loc, h, w)
        out = _bilinear_sample(data, grid)
        return out, lax.stop_gradient(dst), lax.stop_gradient(grid)
