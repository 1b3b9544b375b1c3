"""RNN: MXNet's fused recurrent layer (``rnn_relu``, ``rnn_tanh``, ``lstm``, ``gru``).

data (T, N, I) time-major; ``parameters`` one flat vector in MXNet's (cuDNN's) packing: first
every weight, layer by layer and direction by direction (``i2h`` (G*H, in) then ``h2h``
(G*H, H)), then every bias in the same order (``i2h`` (G*H,), ``h2h`` (G*H,)). Gates: LSTM
``i, f, g, o``; GRU ``r, z, n`` with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
``state`` (and LSTM's ``state_cell``): (L*D, N, H), layer-major. Layer ``l > 0`` reads the
concatenated directions of layer ``l - 1``; dropout ``p`` applies between layers in training.
The input projections of all steps are one matmul; the recurrence is a ``lax.scan``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Optional, Tuple

import jax
import jax.numpy as jnp
from jax import lax

from ..base import ParamError, ShapeError, shape_str
from .registry import Op, choice, expect_shape, register

GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


def param_layout(mode: str, num_layers: int, bidirectional: bool, input_size: int,
                 state_size: int) -> List[Tuple[str, Tuple[int, ...]]]:
    """``[(name, shape)]`` of the pieces of ``parameters`` in packing order, named as MXNet's
    ``FusedRNNCell.unpack_weights`` does (``l0_i2h_weight``, ``r0_h2h_bias``...)."""
    g, h = GATES[mode], state_size
    dirs = ("l", "r") if bidirectional else ("l",)
    weights, biases = [], []
    for layer in range(num_layers):
        size_in = input_size if layer == 0 else h * len(dirs)
        for d in dirs:
            weights += [(f"{d}{layer}_i2h_weight", (g * h, size_in)),
                        (f"{d}{layer}_h2h_weight", (g * h, h))]
            biases += [(f"{d}{layer}_i2h_bias", (g * h,)), (f"{d}{layer}_h2h_bias", (g * h,))]
    return weights + biases


def _cell(mode: str, clip: Optional[Tuple[float, float, bool]]):
    """``step((h, c), (x_proj, w_h, b_h)) -> (h, c)`` for one time step."""

    def step(carry, xp, w_h, b_h):
        h, c = carry
        hp = h @ w_h.T + b_h
        if mode == "lstm":
            i, f, g, o = jnp.split(xp + hp, 4, axis=-1)
            c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
            if clip is not None:
                lo, hi, nan = clip
                c = jnp.clip(c, lo, hi)
                if nan:
                    c = jnp.where(jnp.isnan(c), hi, c)
            return jax.nn.sigmoid(o) * jnp.tanh(c), c
        if mode == "gru":
            xr, xz, xn = jnp.split(xp, 3, axis=-1)
            hr, hz, hn = jnp.split(hp, 3, axis=-1)
            r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
            n = jnp.tanh(xn + r * hn)
            return (1 - z) * n + z * h, c
        act = jnp.tanh if mode == "rnn_tanh" else jax.nn.relu
        return act(xp + hp), c

    return step


@register("RNN")
class RNN(Op):
    """Fused multi-layer (bi)directional RNN, LSTM or GRU over time-major data (see module)."""

    needs_rng = True  # dropout between layers

    @dataclass(frozen=True)
    class Params:
        state_size: int
        num_layers: int
        mode: str = choice("rnn_relu", "rnn_tanh", "lstm", "gru")
        bidirectional: bool = False
        p: float = 0.0
        state_outputs: bool = False
        projection_size: Optional[int] = None
        lstm_state_clip_min: Optional[float] = None
        lstm_state_clip_max: Optional[float] = None
        lstm_state_clip_nan: bool = False
        use_sequence_length: bool = False

    def _supported(self, p) -> None:
        if p.projection_size is not None:
            raise ParamError("RNN: projection_size (LSTMP) is not supported yet")
        if p.use_sequence_length:
            raise ParamError("RNN: use_sequence_length is not supported yet; mask the outputs "
                             "with SequenceMask instead")
        if (p.lstm_state_clip_min is None) != (p.lstm_state_clip_max is None):
            raise ParamError("RNN: lstm_state_clip_min and lstm_state_clip_max go together")

    def arguments(self, p):
        return ("data", "parameters", "state") + (("state_cell",) if p.mode == "lstm" else ())

    def outputs(self, p):
        if not p.state_outputs:
            return ("output",)
        return ("output", "state_output") + (("statecell_output",) if p.mode == "lstm" else ())

    def infer_shape(self, p, in_shapes):
        self._supported(p)  # here, where the inference pass names the node
        data = in_shapes[0]
        if data is None:
            return list(in_shapes), [None] * len(self.outputs(p)), []
        if len(data) != 3:
            raise ShapeError(f"data must be (sequence_length, batch_size, input_size), received "
                             f"{shape_str(data)}")
        steps, n, size_in = data
        dirs = 2 if p.bidirectional else 1
        h = p.state_size
        total = sum(math.prod(s) for _, s in
                    param_layout(p.mode, p.num_layers, p.bidirectional, size_in, h))
        state = (p.num_layers * dirs, n, h)
        shapes = expect_shape(in_shapes, 1, (total,))
        for i in range(2, len(shapes)):
            shapes = expect_shape(shapes, i, state)
        outs = [(steps, n, dirs * h)] + [state] * (len(self.outputs(p)) - 1)
        return shapes, outs, []

    def lower(self, p, ctx, data, params, state, state_cell=None):
        self._supported(p)
        steps, n, size_in = data.shape
        h, dirs = p.state_size, (2 if p.bidirectional else 1)
        layout = param_layout(p.mode, p.num_layers, p.bidirectional, size_in, h)
        pieces, off = {}, 0
        for name, shape in layout:
            pieces[name] = params[off:off + math.prod(shape)].reshape(shape)
            off += math.prod(shape)
        clip = None if p.lstm_state_clip_min is None else (
            p.lstm_state_clip_min, p.lstm_state_clip_max, p.lstm_state_clip_nan)
        step = _cell(p.mode, clip)
        cell0 = state_cell if state_cell is not None else jnp.zeros_like(state)
        x = data
        h_out, c_out = [], []
        for layer in range(p.num_layers):
            outs = []
            for k, d in enumerate(("l", "r")[:dirs]):
                w_x, w_h = pieces[f"{d}{layer}_i2h_weight"], pieces[f"{d}{layer}_h2h_weight"]
                b_x, b_h = pieces[f"{d}{layer}_i2h_bias"], pieces[f"{d}{layer}_h2h_bias"]
                proj = x @ w_x.T + b_x  # (T, N, G*H): every step's input projection at once
                idx = layer * dirs + k

                def body(carry, xp, w_h=w_h, b_h=b_h):
                    carry = step(carry, xp, w_h, b_h)
                    return carry, carry[0]

                (h_last, c_last), ys = lax.scan(body, (state[idx], cell0[idx]), proj,
                                                reverse=(d == "r"))
                outs.append(ys)
                h_out.append(h_last)
                c_out.append(c_last)
            x = outs[0] if dirs == 1 else jnp.concatenate(outs, axis=-1)
            if p.p > 0 and ctx.is_train and layer < p.num_layers - 1 and ctx.rng is not None:
                keep = 1.0 - p.p
                mask = jax.random.bernoulli(jax.random.fold_in(ctx.rng, layer), keep, x.shape)
                x = x * mask.astype(x.dtype) / keep
        if not p.state_outputs:
            return x
        res = (x, jnp.stack(h_out))
        return res + ((jnp.stack(c_out),) if p.mode == "lstm" else ())
