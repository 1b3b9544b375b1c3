"""SoftmaxOutput: softmax forward with MXNet's cross-entropy gradient (head gradient ignored)."""
from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..base import ShapeError
from .registry import Op, choice, register


def _prod(xs) -> int:
    out = 1
    for x in xs:
        out *= int(x)
    return out


@register("SoftmaxOutput", "Softmax")
class SoftmaxOutput(Op):
    """Softmax over axis 1 (or the last axis with preserve_shape) whose backward is
    ``grad_scale * (softmax - onehot(label))``, normalised as ``normalization`` says.

    data: (N, C) or (N, C, d1, ...) with multi_output; label: (N,), (N, d1, ...), or data's shape
    for soft labels.
    """

    @dataclass(frozen=True)
    class Params:
        grad_scale: float = 1.0
        ignore_label: float = -1.0
        multi_output: bool = False
        use_ignore: bool = False
        preserve_shape: bool = False
        normalization: str = choice("null", "batch", "valid", default="null")
        out_grad: bool = False
        smooth_alpha: float = 0.0

    def arguments(self, p):
        return ("data", "label")

    def label_shape(self, p, data):
        """The hard-label shape MXNet expects for ``data``."""
        if p.multi_output:
            return (data[0], _prod(data[2:]))
        # MXNet compat: otherwise the label shape is data's shape without its last axis, even
        # though a flattened (N, -1) softmax reads only the first N label values.
        return tuple(data[:-1])

    def infer_shape(self, p, in_shapes):
        data, label = in_shapes
        if data is None:
            return in_shapes, [None], []
        if p.multi_output and len(data) < 2:
            raise ShapeError(f"multi_output needs data of at least 2-D, received {tuple(data)}")
        want = self.label_shape(p, data)
        if label is None:
            label = want
        elif tuple(label) != tuple(want) and tuple(label) != tuple(data) and not (
                p.multi_output and tuple(label) == (data[0],) + tuple(data[2:])):
            raise ShapeError(f"label has shape {tuple(label)}, expected {want} (class indices) "
                             f"or {tuple(data)} (soft labels) for data {tuple(data)}")
        return [data, label], [data], []

    def rows_independent(self, p, in_shapes):
        # 'batch'/'valid' normalise by whole-batch counts; a flattened N-D softmax with hard
        # labels reads the first N label values, which belong to other rows.
        data, label = in_shapes
        return p.normalization == "null" and (
            p.multi_output or p.preserve_shape or len(data) == 2 or tuple(label) == tuple(data))

    def _axis(self, p, ndim):
        return ndim - 1 if p.preserve_shape else 1

    def lower(self, p, ctx, data, label):
        if p.multi_output or p.preserve_shape:
            return jax.nn.softmax(data, axis=self._axis(p, data.ndim))
        flat = data.reshape(data.shape[0], -1)
        return jax.nn.softmax(flat, axis=1).reshape(data.shape)

    def grad(self, p, inputs, outputs, out_grads):
        data, label = inputs
        prob = outputs[0]
        axis = self._axis(p, data.ndim)
        if not (p.multi_output or p.preserve_shape):
            prob = prob.reshape(prob.shape[0], -1)
        num_class = prob.shape[axis]
        if label.shape == data.shape:  # soft labels: a distribution per row
            target = label.reshape(prob.shape).astype(prob.dtype)
            valid = jnp.ones(prob.shape[:axis] + prob.shape[axis + 1:], prob.dtype)
        else:
            rows = prob.shape[:axis] + prob.shape[axis + 1:]
            lab = label.reshape(-1)[:int(np.prod(rows))].reshape(rows)
            idx = lab.astype(jnp.int32)
            target = jax.nn.one_hot(idx, num_class, dtype=prob.dtype, axis=axis)
            if p.smooth_alpha and not p.multi_output:
                # MXNet compat: 1.9.1 applies label smoothing only without multi_output.
                a = p.smooth_alpha
                target = target * (1.0 - a) + (1.0 - target) * (a / (num_class - 1))
            valid = (lab != p.ignore_label).astype(prob.dtype)
        g = prob - target
        if p.use_ignore:
            g = g * jnp.expand_dims(valid, axis)
        scale = jnp.asarray(p.grad_scale, prob.dtype)
        extra = _prod(prob.shape[2:]) if p.multi_output else 1
        if p.normalization == "batch":
            rows = _prod(prob.shape[:-1]) if p.preserve_shape else prob.shape[0] * extra
            scale = scale / rows
        elif p.normalization == "valid":
            scale = scale / jnp.maximum(jnp.sum(valid), 1.0)
        elif p.multi_output:
            scale = scale / extra
        g = g * scale
        if p.out_grad:
            # MXNet compat: 1.9.1's executor hands this op its own output as the "output
            # gradient" (in-place buffer), so out_grad=True scales by the softmax itself.
            g = g * outputs[0].reshape(g.shape)
        return g.reshape(data.shape), None
