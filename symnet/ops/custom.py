"""``Custom``: MXNet's Python custom operator (``symnet.operator``), run on the host.

The forward and the backward each run as one ``jax.pure_callback``; the backward is the
operator's VJP (``jax.custom_vjp``). Auxiliary states the forward assigns come back as the
node's updated aux states, as BatchNorm's do.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, Dict, List, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from ..base import ParamError, ShapeError, shape_str
from .registry import LowerCtx, Op, attr_str, register


@dataclasses.dataclass(frozen=True)
class CustomParams:
    op_type: str
    #: the other keyword arguments, as the strings the prop's constructor receives
    kwargs: Tuple[Tuple[str, str], ...] = ()


@functools.lru_cache(maxsize=None)
def _prop(p: CustomParams) -> Any:
    from ..operator import get_prop
    cls = get_prop(p.op_type)
    try:
        return cls(**dict(p.kwargs))
    except TypeError as err:
        raise ParamError(f"Custom op_type {p.op_type!r}: {cls.__name__}({dict(p.kwargs)}) "
                         f"failed: {err}") from None


def _shapes(values: Any, n: int, what: str, p: CustomParams) -> List[Tuple[int, ...]]:
    values = list(values)
    if len(values) != n:
        raise ShapeError(f"Custom op_type {p.op_type!r}: infer_shape returned {len(values)} "
                         f"{what} shapes, expected {n}")
    return [tuple(int(d) for d in s) for s in values]


#: The CustomOp instance of each node, per input shapes and types (MXNet creates one per bind).
_OPERATORS: Dict[Tuple[Any, ...], Any] = {}


@register("Custom")
class Custom(Op):
    """A Python custom operator: ``mx.sym.Custom(*inputs, op_type='name', **kwargs)``.

    The operator is the ``CustomOpProp`` registered as ``op_type`` with
    ``mx.operator.register``; see ``symnet.operator``.
    """

    Params = CustomParams
    #: every non-dunder attribute is a parameter (passed to the prop as a string)
    open_params = True

    def parse(self, raw: Dict[str, Any]) -> CustomParams:
        op_type = raw.get("op_type")
        if not op_type:
            raise ParamError("Custom: required parameter 'op_type' is missing.")
        kwargs = tuple(sorted((k, attr_str(v)) for k, v in raw.items() if k != "op_type"))
        p = CustomParams(str(op_type), kwargs)
        _prop(p)  # the op must be registered: fail where the graph is built or loaded
        return p

    def arguments(self, p):
        return tuple(_prop(p).list_arguments())

    def aux_states(self, p):
        return tuple(_prop(p).list_auxiliary_states())

    def outputs(self, p):
        return tuple(_prop(p).list_outputs())

    def infer_shape(self, p, in_shapes):
        prop = _prop(p)
        n_out, n_aux = len(self.outputs(p)), len(self.aux_states(p))
        complete = all(s is not None for s in in_shapes)
        try:
            res = prop.infer_shape([list(s) if s is not None else [] for s in in_shapes])
            args, outs, aux = res if len(res) == 3 else (*res, [])  # MXNet takes 2 or 3 lists
        except Exception as err:  # noqa: BLE001 -- the user's code
            if not complete:  # MXNet defers the call until it has the shapes
                return list(in_shapes), [None] * n_out, [None] * n_aux
            raise ShapeError(f"Custom op_type {p.op_type!r}: infer_shape("
                             f"{[shape_str(s) for s in in_shapes]}) raised "
                             f"{type(err).__name__}: {err}") from None
        args = _shapes(args, len(in_shapes), "argument", p)
        if not complete:
            args = [s if s else None for s in args]
            if any(s is None for s in args):
                return args, [None] * n_out, [None] * n_aux
        return args, _shapes(outs, n_out, "output", p), _shapes(aux, n_aux, "aux", p)

    def infer_type(self, p, in_types):
        known = next((t for t in in_types if t is not None), None)
        n_out, n_aux = len(self.outputs(p)), len(self.aux_states(p))
        if known is None:
            return list(in_types), [None] * n_out, [None] * n_aux
        res = _prop(p).infer_type([known if t is None else t for t in in_types])
        args, outs, aux = res if len(res) == 3 else (*res, [known] * n_aux)
        as_type = lambda ts: [np.dtype(t).type for t in ts]  # noqa: E731
        return as_type(args), as_type(outs), as_type(aux)

    def lower(self, p, ctx: LowerCtx, *inputs):
        from ..compiler import _zero_cotangent
        from ..context import current_context
        prop = _prop(p)
        n_args = len(self.arguments(p))
        xs, auxs = inputs[:n_args], inputs[n_args:]
        _, out_shapes, _ = self.infer_shape(p, [tuple(x.shape) for x in xs])
        _, out_types, _ = self.infer_type(p, [np.dtype(x.dtype).type for x in xs])
        outs_spec = [jax.ShapeDtypeStruct(s, t) for s, t in zip(out_shapes, out_types)]
        aux_spec = [jax.ShapeDtypeStruct(a.shape, a.dtype) for a in auxs]
        key = (p, ctx.name, tuple(x.shape for x in xs), tuple(str(x.dtype) for x in xs))
        operator = _OPERATORS.get(key)
        if operator is None:
            operator = _OPERATORS[key] = prop.create_operator(
                current_context(), [list(x.shape) for x in xs], [x.dtype for x in xs])
        n_out = len(outs_spec)
        where = f"Custom op_type {p.op_type!r} node {ctx.name!r}"

        def host_forward(*arrays):
            from ..ndarray import NDArray
            with jax.transfer_guard("allow"):
                in_data = [NDArray(np.asarray(a)) for a in arrays[:n_args]]
                aux = [NDArray(np.asarray(a)) for a in arrays[n_args:]]
                out_data = [NDArray(np.zeros(s.shape, s.dtype)) for s in outs_spec]
                try:
                    operator.forward(is_train=ctx.is_train, req=["write"] * n_out,
                                     in_data=in_data, out_data=out_data, aux=aux)
                except Exception as err:
                    raise RuntimeError(f"{where}: forward raised {type(err).__name__}: "
                                       f"{err}") from err
                return tuple(_host(o, s, where, "output") for o, s in zip(out_data, outs_spec)) \
                    + tuple(_host(a, s, where, "aux state") for a, s in zip(aux, aux_spec))

        def host_backward(*arrays):
            from ..ndarray import NDArray
            with jax.transfer_guard("allow"):
                nd = [NDArray(np.asarray(a)) for a in arrays]
                out_grad, rest = nd[:n_out], nd[n_out:]
                in_data, out_data, aux = rest[:n_args], rest[n_args:n_args + n_out], \
                    rest[n_args + n_out:]
                in_grad = [NDArray(np.zeros(x.shape, _grad_dtype(x.dtype))) for x in xs]
                try:
                    operator.backward(req=["write"] * n_args, out_grad=out_grad,
                                      in_data=in_data, out_data=out_data, in_grad=in_grad,
                                      aux=aux)
                except Exception as err:
                    raise RuntimeError(f"{where}: backward raised {type(err).__name__}: "
                                       f"{err}") from err
                return tuple(_host(g, jax.ShapeDtypeStruct(x.shape, _grad_dtype(x.dtype)),
                                   where, "input gradient") for g, x in zip(in_grad, xs))

        def call_forward(*ins):
            return jax.pure_callback(host_forward, tuple(outs_spec + aux_spec), *ins)

        run = jax.custom_vjp(call_forward)

        def fwd(*ins):
            res = call_forward(*ins)
            return res, (ins, res)

        def bwd(saved, cts):
            ins, res = saved
            grads_spec = tuple(jax.ShapeDtypeStruct(x.shape, _grad_dtype(x.dtype)) for x in xs)
            grads = jax.pure_callback(host_backward, grads_spec, *cts[:n_out],
                                      *ins[:n_args], *res[:n_out], *ins[n_args:])
            return tuple(g.astype(x.dtype) if jnp.issubdtype(x.dtype, jnp.inexact)
                         else _zero_cotangent(x) for g, x in zip(grads, xs)) \
                + tuple(_zero_cotangent(a) for a in auxs)

        run.defvjp(fwd, bwd)
        res = run(*inputs)
        outs = tuple(res[:n_out])
        outs = outs[0] if n_out == 1 else outs
        return (outs, tuple(res[n_out:])) if auxs else outs


def _grad_dtype(dtype: Any) -> Any:
    return dtype if jnp.issubdtype(dtype, jnp.inexact) else np.float32


def _host(value: Any, spec: Any, where: str, what: str) -> np.ndarray:
    """A callback result as the declared numpy array (clear error on a wrong shape)."""
    arr = np.asarray(value.asnumpy() if hasattr(value, "asnumpy") else value)
    if arr.shape != tuple(spec.shape):
        raise RuntimeError(f"{where}: an {what} has shape {shape_str(arr.shape)}, but "
                           f"infer_shape declared {shape_str(spec.shape)}")
    return arr.astype(spec.dtype, copy=False)
