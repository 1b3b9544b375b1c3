"""Normalization layers: BatchNorm, InstanceNorm, LayerNorm, GroupNorm, L2Normalization, LRN."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import jax.numpy as jnp
from jax import lax

from ..base import ShapeError
from .registry import Op, check_ndim, choice, expect_shape, register




def _check_vector(shapes, names, size, what):
    """Raise ShapeError unless every given parameter vector has shape ``(size,)``."""
    for shape, name in zip(shapes, names):
        if shape is not None and tuple(shape) != (size,):
            raise ShapeError(f"{name} has shape {tuple(shape)}, expected ({size},) from {what}")


def _norm_axis(axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{what}={axis} is out of range for data with {ndim} dimensions")
    return axis % ndim


def _bcast(vec, ndim: int, axis: int):
    """Reshape a (C,) vector to broadcast along ``axis`` of an ``ndim``-D array."""
    shape = [1] * ndim
    shape[axis] = -1
    return vec.reshape(shape)


@register("BatchNorm")
class BatchNorm(Op):
    """Batch normalization over every axis but ``axis`` (default 1, channels).

    data (N, C, ...) -> output (N, C, ...); gamma, beta, moving_mean, moving_var: (C,).
    In training the batch statistics are used and the moving statistics are returned updated
    (``m * moving + (1 - m) * batch``, biased variance); otherwise the moving statistics are used.
    """

    @dataclass(frozen=True)
    class Params:
        eps: float = 1e-3
        momentum: float = 0.9
        fix_gamma: bool = True
        use_global_stats: bool = False
        output_mean_var: bool = False
        axis: int = 1
        cudnn_off: bool = False
        min_calib_range: Optional[float] = None
        max_calib_range: Optional[float] = None

    def arguments(self, p):
        return ("data", "gamma", "beta")

    def aux_states(self, p):
        return ("moving_mean", "moving_var")

    def outputs(self, p):
        return ("output", "mean", "var") if p.output_mean_var else ("output",)

    def num_outputs(self, p):
        return 3  # MXNet compat: mean and var are hidden outputs unless output_mean_var

    def auto_attrs(self, p, slot):
        # MXNet compat: the auto-created moving statistics carry their initializer.
        return {"moving_mean": {"__init__": '["zero", {}]'},
                "moving_var": {"__init__": '["one", {}]'}}.get(slot, {})

    def pinned_inputs(self, p):
        # MXNet compat: with fix_gamma the forward pass rewrites the stored gamma to 1, so the
        # optimizer's weight decay never moves it and checkpoints hold 1.
        return {"gamma": 1.0} if p.fix_gamma else {}

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * 3, [None, None]
        if len(data) < 1:
            raise ShapeError(f"data must have at least 1 dimension, received shape {data}")
        ax = _norm_axis(p.axis, len(data))
        c = data[ax]
        _check_vector(in_shapes[1:3], ("gamma", "beta"), c, f"data {tuple(data)} axis {ax}")
        shapes = expect_shape(expect_shape(in_shapes, 1, (c,)), 2, (c,))
        return shapes, [tuple(data), (c,), (c,)], [(c,), (c,)]

    def infer_type(self, p, in_types):
        known = in_types[0] if in_types[0] is not None else next(
            (t for t in in_types if t is not None), None)
        return [known if t is None else t for t in in_types], [known] * 3, [known] * 2

    def lower(self, p, ctx, data, gamma, beta, moving_mean, moving_var):
        ax = p.axis % data.ndim
        red = tuple(i for i in range(data.ndim) if i != ax)
        if p.fix_gamma:
            # MXNet compat: fix_gamma uses 1 instead of gamma, so gamma's gradient is 0.
            gamma = jnp.ones_like(gamma)
        if ctx.is_train and not p.use_global_stats:
            mean = jnp.mean(data, axis=red)
            var = jnp.mean(jnp.square(data - _bcast(mean, data.ndim, ax)), axis=red)
            m = jnp.asarray(p.momentum, moving_mean.dtype)
            new_mean = m * moving_mean + (1 - m) * lax.stop_gradient(mean).astype(m.dtype)
            new_var = m * moving_var + (1 - m) * lax.stop_gradient(var).astype(m.dtype)
        else:
            mean, var = moving_mean, moving_var
            new_mean, new_var = moving_mean, moving_var
        invstd = lax.rsqrt(var + jnp.asarray(p.eps, var.dtype))
        scale = gamma * invstd
        out = (data - _bcast(mean, data.ndim, ax)) * _bcast(scale, data.ndim, ax) \
            + _bcast(beta, data.ndim, ax)
        # MXNet compat: the `var` output holds 1/sqrt(var + eps); neither mean nor var
        # outputs propagate head gradients.
        outs = (out, lax.stop_gradient(mean), lax.stop_gradient(invstd))
        return outs, (new_mean, new_var)


@register("InstanceNorm")
class InstanceNorm(Op):
    """Per-sample, per-channel normalization over the spatial axes.

    data (N, C, *spatial) -> (N, C, *spatial); gamma, beta: (C,).
    """

    @dataclass(frozen=True)
    class Params:
        eps: float = 1e-3

    def arguments(self, p):
        return ("data", "gamma", "beta")

    def num_outputs(self, p):
        return 3  # MXNet compat: hidden mean and var outputs

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * 3, []
        if len(data) < 3:
            raise ShapeError(f"data must be at least 3-D (N, C, spatial...), received shape "
                             f"{tuple(data)}")
        c = data[1]
        _check_vector(in_shapes[1:3], ("gamma", "beta"), c, f"data {tuple(data)} channels")
        shapes = expect_shape(expect_shape(in_shapes, 1, (c,)), 2, (c,))
        return shapes, [tuple(data), tuple(data[:2]), tuple(data[:2])], []

    def lower(self, p, ctx, data, gamma, beta):
        red = tuple(range(2, data.ndim))
        mean = jnp.mean(data, axis=red, keepdims=True)
        var = jnp.mean(jnp.square(data - mean), axis=red, keepdims=True)
        out = (data - mean) * lax.rsqrt(var + p.eps)
        out = out * _bcast(gamma, data.ndim, 1) + _bcast(beta, data.ndim, 1)
        return (out, lax.stop_gradient(mean.reshape(data.shape[:2])),
                lax.stop_gradient(var.reshape(data.shape[:2])))


class _NormWithStats(Op):
    """data, gamma, beta in; the output, and the mean and std when ``output_mean_var``."""

    def arguments(self, p):
        return ("data", "gamma", "beta")

    def outputs(self, p):
        return ("output", "mean", "std") if p.output_mean_var else ("output",)

    def num_outputs(self, p):
        return 3


@register("LayerNorm")
class LayerNorm(_NormWithStats):
    """Normalization over ``axis`` (default -1): ``(x - mean) / sqrt(var + eps) * gamma + beta``.

    data (..., C, ...) -> same shape; gamma, beta: (C,) with C = data.shape[axis]. With
    output_mean_var the mean and std (= sqrt(var + eps)) are output with ``axis`` kept as 1.
    """

    @dataclass(frozen=True)
    class Params:
        axis: int = -1
        eps: float = 1e-5
        output_mean_var: bool = False

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * 3, []
        ax = _norm_axis(p.axis, len(data))
        c = data[ax]
        _check_vector(in_shapes[1:3], ("gamma", "beta"), c, f"data {tuple(data)} axis {ax}")
        shapes = expect_shape(expect_shape(in_shapes, 1, (c,)), 2, (c,))
        red = tuple(data[:ax]) + (1,) + tuple(data[ax + 1:])
        return shapes, [tuple(data), red, red], []

    def lower(self, p, ctx, data, gamma, beta):
        ax = p.axis % data.ndim
        mean = jnp.mean(data, axis=ax, keepdims=True)
        var = jnp.mean(jnp.square(data - mean), axis=ax, keepdims=True)
        std = jnp.sqrt(var + p.eps)
        out = (data - mean) / std
        out = out * _bcast(gamma, data.ndim, ax) + _bcast(beta, data.ndim, ax)
        # MXNet compat: head gradients of the mean/std outputs are ignored.
        return out, lax.stop_gradient(mean), lax.stop_gradient(std)


@register("GroupNorm")
class GroupNorm(_NormWithStats):
    """Normalization over groups of channels: data (N, C, ...) is split into ``num_groups``
    groups along axis 1, each normalized over its channels and spatial axes.

    MXNet compat: gamma and beta are per group, shape (num_groups,), not per channel. With
    output_mean_var the mean and std (= sqrt(var + eps)) are output as (N, num_groups).
    """

    @dataclass(frozen=True)
    class Params:
        num_groups: int = 1
        eps: float = 1e-5
        output_mean_var: bool = False

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * 3, []
        if len(data) < 2:
            raise ShapeError(f"data must be (N, C, ...), received {tuple(data)}")
        if p.num_groups < 1 or data[1] % p.num_groups:
            raise ShapeError(f"num_groups={p.num_groups} must divide the {data[1]} channels of "
                             f"data {tuple(data)}")
        g = p.num_groups
        _check_vector(in_shapes[1:3], ("gamma", "beta"), g, f"num_groups={g}")
        shapes = expect_shape(expect_shape(in_shapes, 1, (g,)), 2, (g,))
        return shapes, [tuple(data), (data[0], g), (data[0], g)], []

    def lower(self, p, ctx, data, gamma, beta):
        n, g = data.shape[0], p.num_groups
        x = data.reshape((n, g, -1))
        mean = jnp.mean(x, axis=2, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=2, keepdims=True)
        std = jnp.sqrt(var + p.eps)
        out = (x - mean) / std * gamma.reshape(1, g, 1) + beta.reshape(1, g, 1)
        # MXNet compat: head gradients of the mean/std outputs are ignored.
        return (out.reshape(data.shape), lax.stop_gradient(mean.reshape(n, g)),
                lax.stop_gradient(std.reshape(n, g)))


@register("L2Normalization")
class L2Normalization(Op):
    """``x / sqrt(sum(x**2) + eps)`` per instance (axes 1..), channel (axis 1) or spatial (2..)."""

    @dataclass(frozen=True)
    class Params:
        eps: float = 1e-10
        mode: str = choice("channel", "instance", "spatial", default="instance")

    def num_outputs(self, p):
        return 2  # MXNet compat: hidden norm output

    def _axes(self, p, ndim):
        if p.mode == "instance":
            return tuple(range(1, ndim))
        if p.mode == "channel":
            return (1,)
        return tuple(range(2, ndim))

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None, None], []
        least = 2 if p.mode == "instance" else 3 if p.mode == "spatial" else 2
        if len(data) < least:
            raise ShapeError(f"data must be at least {least}-D for mode={p.mode!r}, received "
                             f"shape {tuple(data)}")
        axes = self._axes(p, len(data))
        norm = tuple(d for i, d in enumerate(data) if i not in axes)
        return in_shapes, [tuple(data), norm], []

    def lower(self, p, ctx, data):
        axes = self._axes(p, data.ndim)
        norm = jnp.sqrt(jnp.sum(jnp.square(data), axis=axes, keepdims=True) + p.eps)
        return data / norm, lax.stop_gradient(jnp.squeeze(norm, axis=axes))


@register("LRN")
class LRN(Op):
    """Local response normalization across channels.

    ``out = x / (knorm + alpha / nsize * sum_{|j - c| <= nsize // 2} x_j**2) ** beta``;
    data (N, C, ...) -> same shape.
    """

    @dataclass(frozen=True)
    class Params:
        nsize: int
        alpha: float = 1e-4
        beta: float = 0.75
        knorm: float = 2.0

    def num_outputs(self, p):
        return 2  # MXNet compat: hidden tmp_norm output

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None, None], []
        check_ndim("data", data, (3, 4, 5), "N, C, spatial...")
        return in_shapes, [tuple(data), tuple(data)], []

    def lower(self, p, ctx, data):
        half = p.nsize // 2
        sq = jnp.square(data)
        pads = ((0, 0), (half, p.nsize - 1 - half)) + ((0, 0),) * (data.ndim - 2)
        padded = jnp.pad(sq, pads)
        c = data.shape[1]
        # A sum of shifted slices: differentiable under jit for any nsize (small in practice).
        window = padded[:, 0:c]
        for k in range(1, p.nsize):
            window = window + padded[:, k:k + c]
        norm = p.knorm + (p.alpha / p.nsize) * window
        return data * norm ** (-p.beta), lax.stop_gradient(norm)
