"""CTCLoss: connectionist temporal classification loss (MXNet's ``CTCLoss`` / ``ctc_loss``)."""
from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp
from jax import lax

from ..base import ShapeError, shape_str
from .registry import Op, choice, expect_shape, register


@register("CTCLoss", "ctc_loss", "_contrib_CTCLoss", "_contrib_ctc_loss")
class CTCLoss(Op):
    """The negative log-likelihood of each label sequence under the activations.

    data: (T, N, C) unnormalized activations (softmax is applied inside); label: (N, L) class
    indices. With ``blank_label='first'`` channel 0 is the blank and labels are padded with 0;
    with ``'last'`` channel C-1 is the blank and labels are padded with -1. Lengths come from
    ``data_lengths``/``label_lengths`` (N,) when ``use_data_lengths``/``use_label_lengths``,
    else T and the position of the first padding value. Output: (N,) losses; the gradient is
    the head gradient times the loss's (as in MXNet). Labels and lengths get no gradient.
    """

    @dataclass(frozen=True)
    class Params:
        use_data_lengths: bool = False
        use_label_lengths: bool = False
        blank_label: str = choice("first", "last", default="first")

    def arguments(self, p):
        return (("data", "label") + (("data_lengths",) if p.use_data_lengths else ())
                + (("label_lengths",) if p.use_label_lengths else ()))

    def outputs(self, p):
        return ("output0",)

    def num_outputs(self, p):
        return 2  # MXNet compat: a hidden gradient output

    def infer_shape(self, p, in_shapes):
        data, label = in_shapes[0], in_shapes[1]
        if data is None:
            return list(in_shapes), [None, None], []
        if len(data) != 3:
            raise ShapeError(f"data must be (sequence_length, batch_size, alphabet_size), "
                             f"received {shape_str(data)}")
        if label is None:
            raise ShapeError("label has an unknown shape; it must be (batch_size, "
                             "label_sequence_length)")
        if len(label) != 2 or label[0] != data[1]:
            raise ShapeError(f"label has shape {shape_str(label)}, expected ({data[1]}, L) for "
                             f"data {shape_str(data)}")
        shapes = list(in_shapes)
        for i in range(2, len(shapes)):
            shapes = expect_shape(shapes, i, (data[1],))
        return shapes, [(data[1],), tuple(data)], []

    def lower(self, p, ctx, data, label, *lengths):
        import optax
        steps, n, c = data.shape
        label = lax.stop_gradient(label).astype(jnp.int32)
        lengths = list(lengths)
        t_len = (lax.stop_gradient(lengths.pop(0)).astype(jnp.int32) if p.use_data_lengths
                 else jnp.full((n,), steps, jnp.int32))
        pad = 0 if p.blank_label == "first" else -1
        if p.use_label_lengths:
            l_len = lax.stop_gradient(lengths.pop(0)).astype(jnp.int32)
        else:  # up to the first padding value
            is_pad = label == pad
            l_len = jnp.where(is_pad.any(axis=1), jnp.argmax(is_pad, axis=1), label.shape[1])
        logit_pad = (jnp.arange(steps)[None, :] >= t_len[:, None]).astype(data.dtype)
        label_pad = (jnp.arange(label.shape[1])[None, :] >= l_len[:, None]).astype(data.dtype)
        blank = 0 if p.blank_label == "first" else c - 1
        labels = jnp.where(label_pad > 0, 0, label)
        loss = optax.ctc_loss(jnp.transpose(data, (1, 0, 2)), logit_pad, labels, label_pad,
                              blank_id=blank)
        return loss, lax.stop_gradient(jnp.zeros_like(data))
