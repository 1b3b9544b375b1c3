"""Shape manipulation: Concat, Reshape, transpose, expand_dims, slice_axis, slice, SliceChannel,
Pad, Crop, _copy, SwapAxis, tile, repeat, reverse."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Tuple

import jax.numpy as jnp
import numpy as np

from ..base import ShapeError
from .registry import Op, choice, register


def _prod(xs) -> int:
    return int(np.prod(xs, dtype=np.int64)) if len(xs) else 1


def _axis(axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{what}={axis} is out of range for data with {ndim} dimensions "
                         f"(valid: {-ndim}..{ndim - 1})")
    return axis % ndim


# ---- Concat ----------------------------------------------------------------------------------

@register("Concat", "concat")
class Concat(Op):
    """Join num_args arrays along ``dim`` (default 1); other axes must agree."""

    variadic = "num_args"

    @dataclass(frozen=True)
    class Params:
        num_args: int
        dim: int = 1

    def infer_shape(self, p, in_shapes):
        known = [s for s in in_shapes if s is not None]
        if not known:
            return in_shapes, [None], []
        ndim = len(known[0])
        ax = _axis(p.dim, ndim, "dim")
        ref = known[0]
        for i, s in enumerate(in_shapes):
            if s is None:
                continue
            if len(s) != ndim or any(a != b for j, (a, b) in enumerate(zip(s, ref)) if j != ax):
                raise ShapeError(f"arg{i} has shape {tuple(s)}, incompatible with "
                                 f"{tuple(ref)}: all inputs must agree except on dim {ax}")
        missing = [i for i, s in enumerate(in_shapes) if s is None]
        if missing:
            return in_shapes, [None], []
        out = list(ref)
        out[ax] = sum(s[ax] for s in in_shapes)
        return in_shapes, [tuple(out)], []

    def lower(self, p, ctx, *inputs):
        return jnp.concatenate(inputs, axis=p.dim % inputs[0].ndim)

    def rows_independent(self, p, in_shapes):
        return p.dim % len(in_shapes[0]) != 0


# ---- Reshape ---------------------------------------------------------------------------------

def _reshape_codes(src: Tuple[int, ...], codes: Tuple[int, ...]) -> Tuple[int, ...]:
    """Apply MXNet's special reshape codes (0, -1, -2, -3, -4) left to right."""
    out: List[int] = []
    infer = -1
    i = 0  # position in src
    j = 0
    codes = list(codes)
    while j < len(codes):
        c = codes[j]
        if c > 0:
            out.append(c)
            i += 1
        elif c == 0:
            if i >= len(src):
                raise ShapeError(f"code 0 at position {j} copies input axis {i}, but the "
                                 f"input {src} has only {len(src)} axes")
            out.append(src[i])
            i += 1
        elif c == -1:
            if infer >= 0:
                raise ShapeError("shape may contain at most one -1")
            infer = len(out)
            out.append(1)
            i += 1
        elif c == -2:
            out.extend(src[i:])
            i = len(src)
        elif c == -3:
            if i + 1 >= len(src):
                raise ShapeError(f"code -3 at position {j} needs two input axes from {i}, "
                                 f"input {src}")
            out.append(src[i] * src[i + 1])
            i += 2
        elif c == -4:
            if j + 2 >= len(codes) or i >= len(src):
                raise ShapeError("code -4 must be followed by two sizes and split an input axis")
            d0, d1 = codes[j + 1], codes[j + 2]
            whole = src[i]
            if d0 == -1 and d1 == -1:
                raise ShapeError("code -4 split sizes cannot both be -1")
            if d0 == -1:
                d0 = whole // d1
            if d1 == -1:
                d1 = whole // d0
            if d0 * d1 != whole:
                raise ShapeError(f"code -4 splits axis {i} of size {whole} into {d0} x {d1}")
            out.extend([d0, d1])
            i += 1
            j += 2
        else:
            raise ShapeError(f"invalid reshape code {c}")
        j += 1
    if infer >= 0:
        rest = _prod([d for k, d in enumerate(out) if k != infer])
        total = _prod(src)
        if rest == 0 or total % rest:
            raise ShapeError(f"cannot infer -1: {total} elements of {src} do not divide by {rest}")
        out[infer] = total // rest
    return tuple(out)


@register("Reshape", "reshape")
class Reshape(Op):
    """Reshape with MXNet's codes: 0 copy, -1 infer, -2 copy rest, -3 merge two, -4 split one.

    ``reverse=True`` applies the codes right to left. The legacy ``target_shape`` (0 = infer)
    and ``keep_highest`` are honoured when ``shape`` is empty.
    """

    @dataclass(frozen=True)
    class Params:
        shape: Tuple[int, ...] = ()
        reverse: bool = False
        target_shape: Tuple[int, ...] = ()
        keep_highest: bool = False

    def out_shape(self, p, src: Tuple[int, ...]) -> Tuple[int, ...]:
        src = tuple(src)
        if p.shape:
            if p.reverse:
                # MXNet compat: the code list is reversed as a whole (like the input shape).
                out = _reshape_codes(src[::-1], tuple(p.shape)[::-1])[::-1]
            else:
                out = _reshape_codes(src, tuple(p.shape))
        elif p.target_shape:
            # MXNet compat (legacy target_shape): keep_highest overwrites the first entry with
            # the input's first size; a single 0 is inferred.
            tgt = list(p.target_shape)
            if p.keep_highest:
                tgt[0] = src[0]
            if tgt.count(0) == 1:
                rest = _prod([d for d in tgt if d != 0])
                tgt[tgt.index(0)] = _prod(src) // rest if rest else 0
            out = tuple(tgt)
        else:
            raise ShapeError("Reshape needs shape=(...) (or the legacy target_shape)")
        if _prod(out) != _prod(src):
            raise ShapeError(f"cannot reshape {src} ({_prod(src)} elements) to {out} "
                             f"({_prod(out)} elements)")
        return out

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [self.out_shape(p, data)], []

    def lower(self, p, ctx, data):
        return data.reshape(self.out_shape(p, data.shape))


# ---- axes ------------------------------------------------------------------------------------

@register("transpose")
class Transpose(Op):
    """Permute axes (``axes`` empty: reverse them)."""

    @dataclass(frozen=True)
    class Params:
        axes: Tuple[int, ...] = ()

    def perm(self, p, ndim):
        if not p.axes:
            return tuple(reversed(range(ndim)))
        perm = tuple(_axis(a, ndim, "axes entry") for a in p.axes)
        if sorted(perm) != list(range(ndim)):
            raise ShapeError(f"axes {tuple(p.axes)} is not a permutation of {ndim} axes")
        return perm

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [tuple(data[a] for a in self.perm(p, len(data)))], []

    def lower(self, p, ctx, data):
        return jnp.transpose(data, self.perm(p, data.ndim))


@register("expand_dims")
class ExpandDims(Op):
    """Insert a size-1 axis at ``axis`` (negative counts from the end of the result)."""

    @dataclass(frozen=True)
    class Params:
        axis: int

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        ax = _axis(p.axis, len(data) + 1)
        return in_shapes, [tuple(data[:ax]) + (1,) + tuple(data[ax:])], []

    def lower(self, p, ctx, data):
        return jnp.expand_dims(data, p.axis % (data.ndim + 1))


@register("SwapAxis", "swapaxes")
class SwapAxis(Op):
    """Exchange axes ``dim1`` and ``dim2``."""

    @dataclass(frozen=True)
    class Params:
        dim1: int = 0
        dim2: int = 0

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        a, b = _axis(p.dim1, len(data), "dim1"), _axis(p.dim2, len(data), "dim2")
        out = list(data)
        out[a], out[b] = out[b], out[a]
        return in_shapes, [tuple(out)], []

    def lower(self, p, ctx, data):
        return jnp.swapaxes(data, p.dim1, p.dim2)


# ---- slicing ---------------------------------------------------------------------------------

def _range(begin: Optional[int], end: Optional[int], step: int, dim: int, ax: int):
    """Normalized python-style (start, stop, step) on an axis of size ``dim``; length > 0."""
    if step == 0:
        raise ShapeError(f"slice step on axis {ax} must not be 0")
    start, stop, step = slice(begin, end, step).indices(dim)
    n = len(range(start, stop, step))
    if n <= 0:
        raise ShapeError(f"slice begin={begin}, end={end}, step={step} on axis {ax} of size "
                         f"{dim} selects nothing")
    if begin is not None and not -dim <= begin <= (dim if step > 0 else dim - 1):
        raise ShapeError(f"slice begin={begin} on axis {ax} is out of range for size {dim}")
    return start, stop, step, n


@register("slice_axis")
class SliceAxis(Op):
    """data[..., begin:end, ...] on ``axis`` (end None: to the end; negatives count back)."""

    @dataclass(frozen=True)
    class Params:
        axis: int
        begin: int
        # MXNet requires `end` but accepts end=None (to the end); symbol calls drop None kwargs.
        end: Optional[int] = None

    def _spec(self, p, shape):
        ax = _axis(p.axis, len(shape))
        start, stop, _, n = _range(p.begin, p.end, 1, shape[ax], ax)
        return ax, start, n

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        ax, _, n = self._spec(p, data)
        out = list(data)
        out[ax] = n
        return in_shapes, [tuple(out)], []

    def lower(self, p, ctx, data):
        ax, start, n = self._spec(p, data.shape)
        idx = [slice(None)] * data.ndim
        idx[ax] = slice(start, start + n)
        return data[tuple(idx)]


@register("slice", "crop")
class Slice(Op):
    """data[begin:end:step] per leading axis; None entries mean the default bound."""

    @dataclass(frozen=True)
    class Params:
        begin: Tuple[Optional[int], ...]
        end: Tuple[Optional[int], ...]
        step: Tuple[Optional[int], ...] = ()

    def _spec(self, p, shape):
        if len(p.begin) != len(p.end) or len(p.begin) > len(shape):
            raise ShapeError(f"begin {tuple(p.begin)} and end {tuple(p.end)} must have the same "
                             f"length, at most the rank of data {tuple(shape)}")
        if p.step and len(p.step) != len(p.begin):
            raise ShapeError(f"step {tuple(p.step)} must have as many entries as begin")
        idx, out = [], list(shape)
        for ax, (b, e) in enumerate(zip(p.begin, p.end)):
            s = p.step[ax] if p.step and p.step[ax] is not None else 1
            start, stop, step, n = _range(b, e, s, shape[ax], ax)
            idx.append(slice(start, stop if stop >= 0 else None, step))
            out[ax] = n
        return tuple(idx), tuple(out)

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        return in_shapes, [self._spec(p, data)[1]], []

    def lower(self, p, ctx, data):
        return data[self._spec(p, data.shape)[0]]


@register("SliceChannel", "split")
class SliceChannel(Op):
    """Split ``axis`` into num_outputs equal parts (outputs output0..; squeeze_axis drops it)."""

    @dataclass(frozen=True)
    class Params:
        num_outputs: int
        axis: int = 1
        squeeze_axis: bool = False

    def outputs(self, p):
        return tuple(f"output{i}" for i in range(p.num_outputs))

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None] * p.num_outputs, []
        ax = _axis(p.axis, len(data))
        if data[ax] % p.num_outputs:
            raise ShapeError(f"axis {ax} of data {tuple(data)} (size {data[ax]}) does not split "
                             f"into num_outputs={p.num_outputs} equal parts")
        part = data[ax] // p.num_outputs
        if p.squeeze_axis and part != 1:
            raise ShapeError(f"squeeze_axis=True needs parts of size 1, but data {tuple(data)} "
                             f"axis {ax} splits into parts of {part}")
        out = list(data)
        if p.squeeze_axis:
            del out[ax]
        else:
            out[ax] = part
        return in_shapes, [tuple(out)] * p.num_outputs, []

    def lower(self, p, ctx, data):
        ax = p.axis % data.ndim
        parts = jnp.split(data, p.num_outputs, axis=ax)
        if p.squeeze_axis:
            parts = [jnp.squeeze(x, axis=ax) for x in parts]
        return tuple(parts)


# ---- Pad / Crop ------------------------------------------------------------------------------

@register("Pad", "pad")
class Pad(Op):
    """Pad a 4-D/5-D array; pad_width = (before, after) per axis, zero on N and C."""

    @dataclass(frozen=True)
    class Params:
        mode: str = choice("constant", "edge", "reflect")
        pad_width: Tuple[int, ...] = ()
        constant_value: float = 0.0

    def _pairs(self, p, shape):
        nd = len(shape)
        if nd not in (4, 5):
            raise ShapeError(f"data must be 4-D or 5-D, received shape {tuple(shape)}")
        if len(p.pad_width) != 2 * nd:
            raise ShapeError(f"pad_width {tuple(p.pad_width)} must have {2 * nd} entries "
                             f"(before, after per axis of data {tuple(shape)})")
        pairs = [(p.pad_width[2 * i], p.pad_width[2 * i + 1]) for i in range(nd)]
        if any(pairs[0]) or any(pairs[1]):
            raise ShapeError(f"pad_width {tuple(p.pad_width)} must not pad the N and C axes "
                             "(first four entries 0)")
        if p.mode == "reflect":
            for ax, (a, b) in enumerate(pairs):
                if a >= shape[ax] or b >= shape[ax]:
                    raise ShapeError(f"reflect padding {a, b} must be smaller than axis {ax} "
                                     f"of data {tuple(shape)}")
        return pairs

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        pairs = self._pairs(p, data)
        return in_shapes, [tuple(d + a + b for d, (a, b) in zip(data, pairs))], []

    def lower(self, p, ctx, data):
        pairs = self._pairs(p, data.shape)
        if p.mode == "constant":
            return jnp.pad(data, pairs, mode="constant", constant_values=p.constant_value)
        return jnp.pad(data, pairs, mode=p.mode)


@register("Crop")
class Crop(Op):
    """Crop (N, C, H, W) to h_w, or to the (H, W) of a second input (crop_like).

    offset = (y, x) of the window; center_crop centres it instead.
    """

    variadic = "num_args"

    @dataclass(frozen=True)
    class Params:
        num_args: int
        offset: Tuple[int, ...] = (0, 0)
        h_w: Tuple[int, ...] = (0, 0)
        center_crop: bool = False

    def _window(self, p, data, like):
        if len(data) != 4:
            raise ShapeError(f"data must be 4-D (N, C, H, W), received shape {tuple(data)}")
        if p.num_args == 2:
            if like is None:
                return None
            if len(like) < 2:
                raise ShapeError(f"crop_like must have (H, W) as its last axes, received {like}")
            h, w = like[-2], like[-1]
        else:
            h, w = p.h_w
        if h <= 0 or w <= 0:
            raise ShapeError(f"crop size (h, w) = {(h, w)} must be positive; set h_w or pass "
                             "a second input to crop like")
        if p.center_crop:
            y, x = (data[2] - h) // 2, (data[3] - w) // 2
        else:
            y, x = p.offset
        if y < 0 or x < 0 or y + h > data[2] or x + w > data[3]:
            raise ShapeError(f"crop window offset {(y, x)} size {(h, w)} does not fit data "
                             f"{tuple(data)}")
        return y, x, h, w

    def infer_shape(self, p, in_shapes):
        if p.num_args not in (1, 2):
            raise ShapeError(f"num_args must be 1 or 2, received {p.num_args}")
        data = in_shapes[0]
        like = in_shapes[1] if p.num_args == 2 else None
        if data is None:
            return in_shapes, [None], []
        win = self._window(p, data, like)
        if win is None:
            return in_shapes, [None], []
        _, _, h, w = win
        return in_shapes, [(data[0], data[1], h, w)], []

    def lower(self, p, ctx, data, like=None):
        y, x, h, w = self._window(p, data.shape, None if like is None else like.shape)
        return data[:, :, y:y + h, x:x + w]


# ---- copies and repeats ----------------------------------------------------------------------

@register("_copy", "identity")
class Copy(Op):
    """Identity."""

    def lower(self, p, ctx, data):
        return data


@register("tile")
class Tile(Op):
    """Repeat the whole array ``reps`` times per axis (numpy.tile semantics)."""

    @dataclass(frozen=True)
    class Params:
        reps: Tuple[int, ...]

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        n = max(len(data), len(p.reps))
        d = (1,) * (n - len(data)) + tuple(data)
        r = (1,) * (n - len(p.reps)) + tuple(p.reps)
        return in_shapes, [tuple(a * b for a, b in zip(d, r))], []

    def lower(self, p, ctx, data):
        return jnp.tile(data, p.reps)


@register("repeat")
class Repeat(Op):
    """Repeat each element ``repeats`` times along ``axis`` (None: of the flattened array)."""

    @dataclass(frozen=True)
    class Params:
        repeats: int
        axis: Optional[int] = None

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if p.repeats < 0:
            raise ShapeError(f"repeats must be >= 0, received {p.repeats}")
        if p.axis is None:
            return in_shapes, [(_prod(data) * p.repeats,)], []
        ax = _axis(p.axis, len(data))
        out = list(data)
        out[ax] *= p.repeats
        return in_shapes, [tuple(out)], []

    def lower(self, p, ctx, data):
        if p.axis is None:
            return jnp.repeat(data.reshape(-1), p.repeats)
        return jnp.repeat(data, p.repeats, axis=p.axis % data.ndim)


@register("reverse", "flip")
class Reverse(Op):
    """Reverse the order of elements along each axis in ``axis``."""

    @dataclass(frozen=True)
    class Params:
        axis: Tuple[int, ...]

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is not None:
            for a in p.axis:
                _axis(a, len(data))
        return in_shapes, [data], []

    def lower(self, p, ctx, data):
        return jnp.flip(data, axis=tuple(a % data.ndim for a in p.axis))


@register("squeeze")
class Squeeze(Op):
    """Drop the size-1 axes named in ``axis`` (all of them by default; (1,) stays (1,))."""

    @dataclass(frozen=True)
    class Params:
        axis: Optional[Tuple[int, ...]] = None

    def _axes(self, p, data):
        if p.axis is None:
            return tuple(i for i, d in enumerate(data) if d == 1)
        axes = []
        for a in p.axis:
            if not -len(data) <= a < len(data):
                raise ShapeError(f"axis={a} is out of range for data of shape {tuple(data)}")
            if data[a % len(data)] != 1:
                raise ShapeError(f"axis {a} of data {tuple(data)} has size "
                                 f"{data[a % len(data)]}, not 1")
            axes.append(a % len(data))
        return tuple(axes)

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        axes = self._axes(p, data)
        out = tuple(d for i, d in enumerate(data) if i not in axes)
        return in_shapes, [out if out else (1,)], []

    def lower(self, p, ctx, data):
        axes = self._axes(p, data.shape)
        out = jnp.squeeze(data, axes)
        return out.reshape((1,)) if out.ndim == 0 else out


@register("slice_like")
class SliceLike(Op):
    """``data`` cut (from index 0) to ``shape_like``'s size along ``axes`` (all by default)."""

    @dataclass(frozen=True)
    class Params:
        axes: Tuple[int, ...] = ()

    def arguments(self, p):
        return ("data", "shape_like")

    def _out(self, p, data, like):
        if len(like) != len(data) and not p.axes:
            raise ShapeError(f"shape_like {tuple(like)} and data {tuple(data)} must have the "
                             "same number of axes when axes is empty")
        axes = [a % len(data) for a in p.axes] if p.axes else list(range(len(data)))
        out = list(data)
        for a in axes:
            if like[a] > data[a]:
                raise ShapeError(f"shape_like {tuple(like)} is larger than data {tuple(data)} "
                                 f"along axis {a}")
            out[a] = like[a]
        return tuple(out)

    def infer_shape(self, p, in_shapes):
        data, like = in_shapes
        if data is None or like is None:
            return in_shapes, [None], []
        return in_shapes, [self._out(p, data, like)], []

    def lower(self, p, ctx, data, shape_like):
        out = self._out(p, data.shape, shape_like.shape)
        return data[tuple(slice(0, d) for d in out)]


@register("reshape_like")
class ReshapeLike(Op):
    """``lhs`` reshaped so that its axes ``[lhs_begin, lhs_end)`` take the sizes of ``rhs``'s
    ``[rhs_begin, rhs_end)`` (the whole shapes by default)."""

    @dataclass(frozen=True)
    class Params:
        lhs_begin: Optional[int] = None
        lhs_end: Optional[int] = None
        rhs_begin: Optional[int] = None
        rhs_end: Optional[int] = None

    def arguments(self, p):
        return ("lhs", "rhs")

    def _out(self, p, lhs, rhs):
        lb, le = slice(p.lhs_begin, p.lhs_end).indices(len(lhs))[:2]
        rb, re_ = slice(p.rhs_begin, p.rhs_end).indices(len(rhs))[:2]
        out = tuple(lhs[:lb]) + tuple(rhs[rb:re_]) + tuple(lhs[le:])
        if int(np.prod(out)) != int(np.prod(lhs)):
            raise ShapeError(f"cannot reshape lhs {tuple(lhs)} to {out} (from rhs "
                             f"{tuple(rhs)})")
        return out

    def infer_shape(self, p, in_shapes):
        lhs, rhs = in_shapes
        if lhs is None or rhs is None:
            return in_shapes, [None], []
        return in_shapes, [self._out(p, lhs, rhs)], []

    def lower(self, p, ctx, lhs, rhs):
        return lhs.reshape(self._out(p, lhs.shape, rhs.shape))


class _Blocks(Op):
    """Move ``block_size`` x ``block_size`` pixel blocks between depth and space (NCHW)."""

    @dataclass(frozen=True)
    class Params:
        block_size: int

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(data) != 4:
            raise ShapeError(f"data must be 4-D (N, C, H, W), received {tuple(data)}")
        if p.block_size < 1:
            raise ShapeError(f"block_size must be positive, received {p.block_size}")
        return in_shapes, [self.out_shape(tuple(data), p.block_size)], []


@register("depth_to_space")
class DepthToSpace(_Blocks):
    """(N, C, H, W) -> (N, C / b^2, H * b, W * b), depth-column-row order."""

    @staticmethod
    def out_shape(data, b):
        n, c, h, w = data
        if c % (b * b):
            raise ShapeError(f"channels {c} of data {data} do not divide by "
                             f"block_size^2 = {b * b}")
        return (n, c // (b * b), h * b, w * b)

    def lower(self, p, ctx, data):
        n, c, h, w = data.shape
        b = p.block_size
        x = data.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
        return x.reshape(n, c // (b * b), h * b, w * b)


@register("space_to_depth")
class SpaceToDepth(_Blocks):
    """(N, C, H, W) -> (N, C * b^2, H / b, W / b), the inverse of depth_to_space."""

    @staticmethod
    def out_shape(data, b):
        n, c, h, w = data
        if h % b or w % b:
            raise ShapeError(f"height and width of data {data} do not divide by "
                             f"block_size {b}")
        return (n, c * b * b, h // b, w // b)

    def lower(self, p, ctx, data):
        n, c, h, w = data.shape
        b = p.block_size
        x = data.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
        return x.reshape(n, c * b * b, h // b, w // b)


@register("diag")
class Diag(Op):
    """The ``k``-th diagonal of axes (axis1, axis2) as the last axis; a 1-D input becomes a
    2-D matrix with it on its ``k``-th diagonal."""

    @dataclass(frozen=True)
    class Params:
        k: int = 0
        axis1: int = 0
        axis2: int = 1

    def infer_shape(self, p, in_shapes):
        data = in_shapes[0]
        if data is None:
            return in_shapes, [None], []
        if len(data) == 1:
            n = data[0] + abs(p.k)
            return in_shapes, [(n, n)], []
        a1, a2 = p.axis1 % len(data), p.axis2 % len(data)
        if a1 == a2:
            raise ShapeError(f"axis1 and axis2 must differ, both are {a1}")
        size = max(0, min(data[a1] + min(p.k, 0), data[a2] - max(p.k, 0)))
        if size == 0:
            raise ShapeError(f"diagonal k={p.k} is empty for data {tuple(data)}")
        rest = tuple(d for i, d in enumerate(data) if i not in (a1, a2))
        return in_shapes, [rest + (size,)], []

    def lower(self, p, ctx, data):
        if data.ndim == 1:
            return jnp.diag(data, p.k)
        return jnp.diagonal(data, p.k, p.axis1 % data.ndim, p.axis2 % data.ndim)
