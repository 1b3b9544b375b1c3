"""Regression heads and loss helpers with MXNet's gradient semantics.

LinearRegressionOutput, LogisticRegressionOutput and MAERegressionOutput ignore the head gradient
and return ``grad_scale / num_output * (out - label)`` (MAE: the sign of it); SVMOutput returns the
hinge loss gradient; MakeLoss and make_loss turn any symbol into a loss; BlockGrad/stop_gradient
live in ``math``.
"""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from ..base import ShapeError, shape_str
from .registry import Op, choice, register


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


class _Regression(Op):
    """A regression head: forward ``transform(data)``; backward ignores the head gradient.

    data: (N, ...); label: data's shape, or any shape with N rows and as many entries
    ((N,) for data (N, 1)). Label gets no gradient.
    """

    @dataclass(frozen=True)
    class Params:
        grad_scale: float = 1.0

    def arguments(self, p):
        return ("data", "label")

    def infer_shape(self, p, in_shapes):
        data, label = in_shapes
        if data is None:
            return list(in_shapes), [None], []
        if len(data) < 1:
            raise ShapeError(f"data must have at least 1 dimension, received {shape_str(data)}")
        if label is None:
            # MXNet compat: data (N, 1) gets a 1-D label (N,) by default.
            label = (data[0],) if len(data) == 2 and data[1] == 1 else tuple(data)
        elif len(label) < 1 or label[0] != data[0] or _size(label) != _size(data):
            raise ShapeError(f"label has shape {shape_str(label)}, expected {shape_str(data)} "
                             f"(or any shape with {data[0]} rows and {_size(data)} entries) "
                             f"for data {shape_str(data)}")
        return [tuple(data), tuple(label)], [tuple(data)], []

    @staticmethod
    def transform(x):
        return x

    @staticmethod
    def residual(diff):
        return diff

    def lower(self, p, ctx, data, label):
        return self.transform(data)

    def grad(self, p, inputs, outputs, out_grads):
        data, label = inputs
        out = outputs[0]
        num_output = label.size // label.shape[0]
        diff = out - label.reshape(out.shape).astype(out.dtype)
        scale = jnp.asarray(p.grad_scale / num_output, out.dtype)
        return self.residual(diff) * scale, None


@register("LinearRegressionOutput")
class LinearRegressionOutput(_Regression):
    """Identity forward; gradient ``grad_scale / num_output * (data - label)`` (L2 loss)."""


@register("LogisticRegressionOutput")
class LogisticRegressionOutput(_Regression):
    """Sigmoid forward; gradient ``grad_scale / num_output * (sigmoid(data) - label)``."""

    transform = staticmethod(jax.nn.sigmoid)


@register("MAERegressionOutput")
class MAERegressionOutput(_Regression):
    """Identity forward; gradient ``grad_scale / num_output * sign(data - label)`` (L1 loss)."""

    residual = staticmethod(jnp.sign)


@register("SVMOutput")
class SVMOutput(Op):
    """Support vector machine head: the forward is the identity; the backward ignores the head
    gradient and returns the one-vs-rest hinge loss gradient times ``regularization_coefficient``:
    squared hinge (L2-SVM) by default, plain hinge (L1-SVM) with ``use_linear``.

    data: (N, C) scores; label: (N,) class indices. Label gets no gradient.
    """

    @dataclass(frozen=True)
    class Params:
        margin: float = 1.0
        regularization_coefficient: float = 1.0
        use_linear: bool = False

    def arguments(self, p):
        return ("data", "label")

    def infer_shape(self, p, in_shapes):
        data, label = in_shapes
        if data is None:
            return list(in_shapes), [None], []
        if len(data) != 2:
            raise ShapeError(f"data must be (N, C) scores, received {shape_str(data)}")
        if label is not None and tuple(label) != (data[0],):
            raise ShapeError(f"label has shape {shape_str(label)}, expected ({data[0]},) for "
                             f"data {shape_str(data)}")
        return [tuple(data), (data[0],)], [tuple(data)], []

    def lower(self, p, ctx, data, label):
        return data

    def grad(self, p, inputs, outputs, out_grads):
        data, label = inputs
        margin = jnp.asarray(p.margin, data.dtype)
        is_label = jax.nn.one_hot(label.astype(jnp.int32), data.shape[1], dtype=jnp.bool_)
        # the label's score should be >= margin, every other score <= -margin
        signed = jnp.where(is_label, data, -data)
        active = margin > signed
        if p.use_linear:
            mag = active.astype(data.dtype)
        else:
            mag = jnp.where(active, 2 * (margin - signed), 0).astype(data.dtype)
        coef = jnp.asarray(p.regularization_coefficient, data.dtype)
        return jnp.where(is_label, -mag, mag) * coef, None


@register("MakeLoss")
class MakeLoss(Op):
    """Identity forward; gradient ``grad_scale`` everywhere (head gradient ignored).

    normalization 'batch' divides by N = data.shape[0], 'valid' by the number of entries
    greater than valid_thresh (at least 1).
    """

    @dataclass(frozen=True)
    class Params:
        grad_scale: float = 1.0
        valid_thresh: float = 0.0
        normalization: str = choice("null", "batch", "valid", default="null")

    def lower(self, p, ctx, data):
        return data

    def grad(self, p, inputs, outputs, out_grads):
        (data,) = inputs
        scale = jnp.asarray(p.grad_scale, data.dtype)
        if p.normalization == "batch":
            scale = scale / data.shape[0]
        elif p.normalization == "valid":
            count = jnp.sum((data > p.valid_thresh).astype(data.dtype))
            scale = scale / jnp.maximum(count, 1)
        return (jnp.full(data.shape, scale, data.dtype),)


@register("make_loss")
class MakeLossSimple(Op):
    """Identity forward; gradient of ones (head gradient ignored). No parameters."""

    def outputs(self, p):
        return ("loss",)  # MXNet compat: listed as ``<name>_loss``

    def lower(self, p, ctx, data):
        return data

    def grad(self, p, inputs, outputs, out_grads):
        return (jnp.ones_like(inputs[0]),)
