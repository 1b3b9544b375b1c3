"""Internal operators that only the optimisation passes (``symnet.optimize``) create.

Their names start with ``_sn_``; users never write them and they never appear in saved JSON.
The NHWC ops take and return channels-last 4-D tensors ``(N, H, W, C)``; weights stay in MXNet's
OIHW layout, so parameter names, shapes and checkpoints are those of the original graph.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..base import ShapeError
from .nn import _ACTIVATIONS, Convolution, Pooling
from .registry import Op, register

__all__ = ["conv2d_nhwc", "pool_nhwc", "to_nchw_shape", "to_nhwc_shape"]

_CONV = Convolution()  # geometry/infer_shape helpers (stateless; not registered twice)
_POOL = Pooling()
_TO_NHWC = (0, 2, 3, 1)
_TO_NCHW = (0, 3, 1, 2)


def to_nhwc_shape(shape):
    """(N, C, H, W) -> (N, H, W, C); None stays None."""
    return None if shape is None else tuple(shape[i] for i in _TO_NHWC)


def to_nchw_shape(shape):
    """(N, H, W, C) -> (N, C, H, W); None stays None."""
    return None if shape is None else tuple(shape[i] for i in _TO_NCHW)


def _check4(shape, what: str) -> None:
    if shape is not None and len(shape) != 4:
        raise ShapeError(f"{what} must be 4-D, received shape {tuple(shape)}")


# ---- layout changes --------------------------------------------------------------------------

@register("_sn_to_nhwc")
class ToNHWC(Op):
    """(N, C, H, W) -> (N, H, W, C)."""

    def infer_shape(self, p, in_shapes):
        _check4(in_shapes[0], "data")
        return in_shapes, [to_nhwc_shape(in_shapes[0])], []

    def lower(self, p, ctx, data):
        return jnp.transpose(data, _TO_NHWC)


@register("_sn_to_nchw")
class ToNCHW(Op):
    """(N, H, W, C) -> (N, C, H, W). ``out`` names the output (``<node>_<out>``), so a graph
    output converted back keeps the name it had in the original graph."""

    @dataclass(frozen=True)
    class Params:
        out: str = "output"

    def outputs(self, p):
        return (p.out,)

    def infer_shape(self, p, in_shapes):
        _check4(in_shapes[0], "data")
        return in_shapes, [to_nchw_shape(in_shapes[0])], []

    def lower(self, p, ctx, data):
        return jnp.transpose(data, _TO_NCHW)


# ---- convolution -----------------------------------------------------------------------------

def _im2col(x, weight, stride, dilate, pad):
    """2-D convolution of NHWC ``x`` with OIHW ``weight`` as kh*kw static slices + one dot.

    Inside ``lax.scan`` XLA:CPU leaves convolutions in slow non-canonical layouts; slices,
    a concat and a dot do not have that problem (see docs/notes on CPU convolution).
    """
    n, h, w, c = x.shape
    o, i, kh, kw = weight.shape
    (sh, sw), (dh, dw), (ph, pw) = stride, dilate, pad
    if ph or pw:
        x = jnp.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
    hp, wp = h + 2 * ph, w + 2 * pw
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    geom = (kh, kw, sh, sw, dh, dw, oh, ow)
    wmat = jnp.transpose(weight, (2, 3, 1, 0)).reshape(kh * kw * i, o)
    if c == 1:
        # One input channel (a first layer on grey images): patches stacked as (kh*kw, rows),
        # each offset one contiguous copy, and the dot contracts their first axis. Patches
        # interleaved along the last axis copy one value at a time; this made LeNet's scanned
        # step 3-7% faster (6% on one core).
        pt = _offset_major(x, geom).reshape(kh * kw, n * oh * ow)
        y = lax.dot_general(pt, wmat, (((0,), (0,)), ((), ())))
        return y.reshape(n, oh, ow, o)
    patches = _patches(x, geom)
    y = jnp.dot(patches.reshape(n * oh * ow, kh * kw * c), wmat)
    return y.reshape(n, oh, ow, o)


def _patch_cols(x, geom):
    """The ``(n, oh, ow, c)`` slice of NHWC ``x`` under each kernel offset, row-major."""
    kh, kw, sh, sw, dh, dw, oh, ow = geom
    n, _, _, c = x.shape
    return [lax.slice(x, (0, a * dh, b * dw, 0),
                      (n, a * dh + (oh - 1) * sh + 1, b * dw + (ow - 1) * sw + 1, c),
                      (1, sh, sw, 1)) for a in range(kh) for b in range(kw)]


def _row_bands(x, geom, axis: int) -> list:
    """Per kernel row, the ``(n, oh, ow, c)`` patch of each of its kw column shifts, stacked
    along ``axis``: the row's band of input rows is sliced once and the shifts are sliced from
    it. XLA:CPU fuses these stacks into a few copies; kh*kw slices joined by a concatenate each
    ran as their own kernel and wrote the patches twice (LeNet on the 2-core AVX2 host: conv2's
    patches and dot 1.4 vs 2.0 ms; conv1's ~0.87 vs ~1.09 ms per micro-batch of 50, and its
    scanned program, 46 kernels fewer, compiles in ~1.45 vs ~2.0 s; benchmarks/RESULTS.md)."""
    kh, kw, sh, sw, dh, dw, oh, ow = geom
    n, _, w, c = x.shape
    bands = []
    for a in range(kh):
        band = lax.slice(x, (0, a * dh, 0, 0), (n, a * dh + (oh - 1) * sh + 1, w, c),
                         (1, sh, 1, 1))
        bands.append(jnp.stack([lax.slice(band, (0, 0, b * dw, 0),
                                          (n, oh, b * dw + (ow - 1) * sw + 1, c), (1, 1, sw, 1))
                                for b in range(kw)], axis=axis))
    return bands


def _offset_major(x, geom):
    """``(kh, kw, n, oh, ow, 1)`` patches of one-channel NHWC ``x`` (bands stacked in front;
    joining them by a concatenate instead does not fuse)."""
    return jnp.stack(_row_bands(x, geom, 0))


def _patch_slices(x, geom):
    """``(n, oh, ow, kh*kw*c)`` patches in (kernel row, column, channel) order."""
    kh, kw, _, _, _, _, oh, ow = geom
    n, c = x.shape[0], x.shape[3]
    if kh * kw == 1:
        return _patch_cols(x, geom)[0]
    return jnp.stack(_row_bands(x, geom, 3), axis=3).reshape(n, oh, ow, kh * kw * c)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
def _patches(x, geom):
    """The im2col patches of NHWC ``x``: ``(n, oh, ow, kh*kw*c)``, (kernel row, column,
    channel) order. Its VJP adds the patch gradients back row by row (see _patches_bwd)."""
    return _patch_slices(x, geom)


def _patches_fwd(x, geom):
    return _patch_slices(x, geom), x.shape


def _patches_bwd(geom, shape, dp):
    # Autodiff's transpose of the slices and the concat is one fused sum of kh*kw padded
    # terms with a bounds check each; summing each kernel row's kw terms into a band of rows
    # and adding the band in place made LeNet's scanned step 5% faster (benchmarks/RESULTS.md).
    kh, kw, sh, sw, dh, dw, oh, ow = geom
    n, h, w, c = shape
    dp = dp.reshape(n, oh, ow, kh, kw, c)
    dx = jnp.zeros(shape, dp.dtype)
    for a in range(kh):
        # kernel row a: its kw column shifts summed over a band of input rows, then added there
        band = None
        for b in range(kw):
            part = lax.pad(dp[:, :, :, a, b, :], jnp.zeros((), dp.dtype),
                           ((0, 0, 0), (0, 0, 0),
                            (b * dw, w - b * dw - (ow - 1) * sw - 1, sw - 1), (0, 0, 0)))
            band = part if band is None else band + part
        rows = (a * dh, a * dh + (oh - 1) * sh + 1)
        if sh == 1:
            cur = lax.slice(dx, (0, rows[0], 0, 0), (n, rows[1], w, c))
            dx = lax.dynamic_update_slice(dx, cur + band, (0, rows[0], 0, 0))
        else:
            dx = dx + lax.pad(band, jnp.zeros((), dp.dtype),
                              ((0, 0, 0), (rows[0], h - rows[1], sh - 1), (0, 0, 0), (0, 0, 0)))
    return (dx,)


_patches.defvjp(_patches_fwd, _patches_bwd)


def conv2d_nhwc(conv_p, data, weight, im2col: bool):
    """MXNet 2-D Convolution (without bias) on NHWC data with an OIHW weight -> NHWC."""
    _, stride, dilate, pad = _CONV.geometry(conv_p)
    if im2col and conv_p.num_group == 1:
        return _im2col(data, weight, stride, dilate, pad)
    hwio = jnp.transpose(weight, (2, 3, 1, 0))
    return lax.conv_general_dilated(
        data, hwio, window_strides=stride, padding=[(q, q) for q in pad], rhs_dilation=dilate,
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=conv_p.num_group)


def _conv_infer_nhwc(conv_p, in_shapes):
    nchw = [to_nchw_shape(in_shapes[0])] + list(in_shapes[1:])
    shapes, outs, _ = _CONV.infer_shape(conv_p, nchw)
    return [in_shapes[0]] + list(shapes[1:]), [to_nhwc_shape(outs[0])]


@register("_sn_conv_nhwc")
class ConvNHWC(Op):
    """2-D Convolution on (N, H, W, C) data; weight (O, I, kh, kw) as in MXNet; bias (O,)."""

    @dataclass(frozen=True)
    class Params:
        conv: Any  # Convolution.Params of the replaced node
        im2col: bool = False

    def arguments(self, p):
        return _CONV.arguments(p.conv)

    def infer_shape(self, p, in_shapes):
        _check4(in_shapes[0], "data")
        shapes, outs = _conv_infer_nhwc(p.conv, in_shapes)
        return shapes, outs, []

    def lower(self, p, ctx, data, weight, bias=None):
        y = conv2d_nhwc(p.conv, data, weight, p.im2col)
        return y if bias is None else y + bias


# ---- pooling ---------------------------------------------------------------------------------

def _reshape_pool(x, kernel, pool_type):
    """Non-overlapping (kernel == stride) pooling of NHWC ``x`` by reshape + reduce.

    The input is cropped to whole windows first, which is what 'valid' pooling does. The VJP
    of max is elementwise (``reduce_window``'s, select_and_scatter, is slow on CPU).
    """
    n, h, w, c = x.shape
    kh, kw = kernel
    oh, ow = h // kh, w // kw
    if (oh * kh, ow * kw) != (h, w):
        x = x[:, :oh * kh, :ow * kw, :]
    x = x.reshape(n, oh, kh, ow, kw, c)
    if pool_type == "max":
        return _window_max(x)
    total = x.sum(axis=(2, 4))
    return total if pool_type == "sum" else total / np.array(kh * kw, x.dtype)


@jax.custom_vjp
def _window_max(x6):
    """Max of ``(n, oh, kh, ow, kw, c)`` windows over axes 2 and 4 -> ``(n, oh, ow, c)``.

    Its gradient goes to each window's first maximum in row-major order, as MXNet's max
    pooling (and ``reduce_window``'s select-and-scatter) does. ``max``'s own VJP would split it
    among tied elements, and its count and division made LeNet's training step 7% slower.
    """
    return x6.max(axis=(2, 4))


def _window_max_fwd(x6):
    m = x6.max(axis=(2, 4))
    return m, (x6, m)


def _window_max_bwd(res, g):
    x6, m = res
    _, _, kh, _, kw, _ = x6.shape
    shape = (1, 1, kh, 1, kw, 1)
    pos = (lax.broadcasted_iota(jnp.int32, shape, 2) * kw
           + lax.broadcasted_iota(jnp.int32, shape, 4))  # row-major index in the window
    hit = x6 == m[:, :, None, :, None, :]
    first = jnp.min(jnp.where(hit, pos, kh * kw), axis=(2, 4), keepdims=True)
    return (jnp.where(pos == first, g[:, :, None, :, None, :], jnp.zeros((), g.dtype)),)


_window_max.defvjp(_window_max_fwd, _window_max_bwd)


def _reshape_ok(p, shape) -> bool:
    """Whether ``_reshape_pool`` computes exactly MXNet's Pooling ``p`` on NHWC ``shape``."""
    if p.pool_type not in ("max", "avg", "sum") or p.global_pool:
        return False
    kernel, stride, pad, _, _ = _POOL.geometry(p, to_nchw_shape(shape))
    if kernel != stride or any(pad):
        return False
    divisible = all(x % k == 0 for x, k in zip(shape[1:3], kernel))
    # 'full'/'same' add partial windows unless the windows tile the input exactly.
    return divisible or p.pooling_convention == "valid"


def pool_nhwc(p, x):
    """MXNet 2-D Pooling ``p`` on NHWC ``x`` -> NHWC."""
    if p.global_pool and p.pool_type in ("max", "avg", "sum"):
        if p.pool_type == "max":
            n, h, w, c = x.shape
            return _window_max(x.reshape(n, 1, h, 1, w, c))
        total = x.sum(axis=(1, 2), keepdims=True)
        if p.pool_type == "sum":
            return total
        return total / np.array(x.shape[1] * x.shape[2], x.dtype)
    if _reshape_ok(p, x.shape):
        kernel, _, _, _, _ = _POOL.geometry(p, to_nchw_shape(x.shape))
        return _reshape_pool(x, kernel, p.pool_type)
    if p.pool_type == "max":
        kernel, stride, pad, _, pad_hi = _POOL.geometry(p, to_nchw_shape(x.shape))
        if p.pooling_convention == "same":
            lo = tuple(e // 2 for e in pad_hi)
            hi = tuple(e - a for a, e in zip(lo, pad_hi))
        else:
            lo, hi = pad, pad_hi
        padding = ((0, 0),) + tuple(zip(lo, hi)) + ((0, 0),)
        init = np.array(-np.inf, x.dtype)
        return lax.reduce_window(x, init, lax.max, (1,) + kernel + (1,), (1,) + stride + (1,),
                                 padding)
    # avg with padding counts, lp, ...: MXNet's own lowering between two transposes (exact).
    out = _POOL.lower(p, None, jnp.transpose(x, _TO_NCHW))
    out = out[0] if isinstance(out, tuple) else out
    return jnp.transpose(out, _TO_NHWC)


@register("_sn_pool_nhwc")
class PoolNHWC(Op):
    """2-D Pooling on (N, H, W, C) data (reshape + reduce when kernel == stride, no pad)."""

    @dataclass(frozen=True)
    class Params:
        pool: Any  # Pooling.Params of the replaced node

    def num_outputs(self, p) -> int:
        return _POOL.num_outputs(p.pool)

    def infer_shape(self, p, in_shapes):
        _check4(in_shapes[0], "data")
        _, outs, _ = _POOL.infer_shape(p.pool, [to_nchw_shape(in_shapes[0])])
        return in_shapes, [to_nhwc_shape(o) for o in outs], []

    def lower(self, p, ctx, data):
        out = pool_nhwc(p.pool, data)
        return (out, out) if self.num_outputs(p) == 2 else out


# ---- convolution + max pooling + activation ----------------------------------------------------

#: Activations f with fl(f) non-decreasing: max(f(a + b), f(c + b)) == f(max(a, c) + b).
MONOTONE_ACTS = ("relu", "sigmoid", "tanh", "softrelu")


@register("_sn_conv_pool_act")
class ConvPoolAct(Op):
    """Conv(bias) -> [Activation] -> max Pooling (kernel == stride, no pad, 'valid'), computed as
    conv without bias -> pool -> + bias -> activation.

    Exact for non-decreasing activations: rounding is monotone, so
    max(f(fl(a + b)), f(fl(c + b))) == f(fl(max(a, c) + b)); the activation and the bias add
    then run on 1/(kh*kw) of the elements. ``act_type='none'`` covers Conv -> Pooling.
    """

    @dataclass(frozen=True)
    class Params:
        conv: Any  # Convolution.Params
        pool: Any  # Pooling.Params
        act_type: str = "none"
        layout: str = "NHWC"
        im2col: bool = False

    def arguments(self, p):
        return _CONV.arguments(p.conv)

    def num_outputs(self, p) -> int:
        return _POOL.num_outputs(p.pool)

    def infer_shape(self, p, in_shapes):
        _check4(in_shapes[0], "data")
        if p.layout == "NHWC":
            shapes, outs = _conv_infer_nhwc(p.conv, in_shapes)
            conv_out = to_nchw_shape(outs[0])
        else:
            shapes, outs, _ = _CONV.infer_shape(p.conv, list(in_shapes))
            conv_out = outs[0]
        if conv_out is None:
            return shapes, [None] * self.num_outputs(p), []
        _, pouts, _ = _POOL.infer_shape(p.pool, [conv_out])
        if p.layout == "NHWC":
            pouts = [to_nhwc_shape(o) for o in pouts]
        return shapes, pouts, []

    def lower(self, p, ctx, data, weight, bias=None):
        kernel = tuple(p.pool.kernel)
        if p.layout == "NHWC":
            y = _reshape_pool(conv2d_nhwc(p.conv, data, weight, p.im2col), kernel, "max")
            if bias is not None:
                y = y + bias
        else:
            y = _CONV.lower(p.conv, ctx, data, weight)
            n, c, h, w = y.shape
            oh, ow = h // kernel[0], w // kernel[1]
            y = y[:, :, :oh * kernel[0], :ow * kernel[1]]
            y = y.reshape(n, c, oh, kernel[0], ow, kernel[1]).max(axis=(3, 5))
            if bias is not None:
                y = y + bias.reshape(1, -1, 1, 1)
        if p.act_type != "none":
            y = _ACTIVATIONS[p.act_type](y)
        return (y, y) if self.num_outputs(p) == 2 else y


def fusable_pool(p) -> bool:
    """Whether Pooling params ``p`` allow the pool-before-activation rewrite."""
    if p.pool_type != "max" or p.global_pool or p.pooling_convention != "valid":
        return False
    if len(p.kernel) != 2 or p.layout not in (None, "NCHW"):
        return False
    stride = tuple(p.stride) if p.stride else (1, 1)
    pad = tuple(p.pad) if p.pad else (0, 0)
    return tuple(p.kernel) == stride and not any(pad)


def conv2d_nchw_ok(p) -> bool:
    """Whether Convolution params ``p`` describe a 2-D NCHW convolution the passes handle."""
    return len(p.kernel) == 2 and p.layout in (None, "NCHW")

