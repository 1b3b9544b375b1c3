"""``bind`` / ``simple_bind`` and the Executor: forward and backward as single jitted calls."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import jax
import jax.numpy as jnp
import numpy as np

from .base import GraphError, ShapeError, shape_str
from .compiler import compile_symbol
from .context import Context, current_context
from .ndarray import NDArray
from .symbol.symbol import Symbol

__all__ = ["Executor", "bind", "simple_bind"]

_REQS = ("write", "add", "null")


def _grad_reqs(names: Sequence[str], grad_req: Union[str, Sequence[str], Mapping[str, str]]):
    if isinstance(grad_req, str):
        reqs = {n: grad_req for n in names}
    elif isinstance(grad_req, Mapping):
        unknown = [k for k in grad_req if k not in names]
        if unknown:
            raise GraphError(f"grad_req names unknown arguments {unknown}; arguments are {names}")
        reqs = {n: grad_req.get(n, "null") for n in names}
    else:
        grad_req = list(grad_req)
        if len(grad_req) != len(names):
            raise GraphError(f"grad_req has {len(grad_req)} entries for {len(names)} arguments")
        reqs = dict(zip(names, grad_req))
    for n, r in reqs.items():
        if r not in _REQS:
            raise GraphError(f"grad_req for {n!r} is {r!r}; expected one of {_REQS}")
    return reqs


def _as_nd(value: Any, what: str, ctx: Optional[Context]) -> NDArray:
    if isinstance(value, NDArray):
        return value
    if isinstance(value, (np.ndarray, jax.Array)):
        return NDArray(value, ctx)
    raise TypeError(f"{what}: expected an NDArray, received {type(value).__name__}")


def _collect(names: Sequence[str], values, what: str, ctx, required: bool = True):
    """Arrays for ``names`` from a dict or a list in ``names`` order."""
    if values is None:
        values = {}
    if isinstance(values, Mapping):
        missing = [n for n in names if n not in values]
        if missing and required:
            raise GraphError(f"bind: {what} missing for {missing}; the graph needs {list(names)}")
        return {n: _as_nd(values[n], f"{what} {n!r}", ctx) for n in names if n in values}
    values = list(values)
    if len(values) != len(names):
        raise GraphError(f"bind: {len(values)} {what} given as a list for {len(names)} names "
                         f"{list(names)}")
    return {n: _as_nd(v, f"{what} {n!r}", ctx) for n, v in zip(names, values) if v is not None}


class Executor:
    """A symbol bound to arrays. ``forward``/``backward`` are single jitted calls."""

    def __init__(self, symbol: Symbol, ctx: Optional[Context], args: Dict[str, NDArray],
                 grads: Dict[str, Optional[NDArray]], reqs: Dict[str, str],
                 aux: Dict[str, NDArray]) -> None:
        self._symbol = symbol
        self._ctx = ctx if ctx is not None else current_context()
        # The lowering follows the context's device (mx.cpu() on a GPU host runs on the CPU).
        self._graph = compile_symbol(symbol, backend=self._ctx.jax_device().platform)
        names = self._graph.arg_names
        self.arg_dict: Dict[str, NDArray] = {n: args[n] for n in names}
        self.grad_dict: Dict[str, Optional[NDArray]] = {n: grads.get(n) for n in names}
        self.aux_dict: Dict[str, NDArray] = {n: aux[n] for n in self._graph.aux_names}
        self._reqs = {n: (reqs[n] if self.grad_dict[n] is not None else "null") for n in names}
        self.outputs: List[NDArray] = []
        self._saved = None
        self._monitor: Optional[tuple] = None
        self._check_shapes()

    def _check_shapes(self) -> None:
        shapes = {n: tuple(a.shape) for n, a in self.arg_dict.items()}
        arg_s, _, aux_s = self._symbol.infer_shape(**shapes)
        if arg_s is None:
            return
        for n, s in zip(self._graph.aux_names, aux_s):
            if tuple(self.aux_dict[n].shape) != tuple(s):
                raise ShapeError(f"bind: auxiliary state {n!r} has shape "
                                 f"{shape_str(self.aux_dict[n].shape)}, expected {shape_str(s)}")
        for n, s in zip(self._graph.arg_names, arg_s):
            g = self.grad_dict[n]
            if g is not None and tuple(g.shape) != tuple(s):
                raise ShapeError(f"bind: gradient array for {n!r} has shape "
                                 f"{shape_str(g.shape)}, expected {shape_str(s)}")

    # ---- views ------------------------------------------------------------------------------
    @property
    def arg_arrays(self) -> List[NDArray]:
        return list(self.arg_dict.values())

    @property
    def grad_arrays(self) -> List[Optional[NDArray]]:
        return list(self.grad_dict.values())

    @property
    def aux_arrays(self) -> List[NDArray]:
        return list(self.aux_dict.values())

    @property
    def output_dict(self) -> Dict[str, NDArray]:
        return dict(zip(self._graph.output_names, self.outputs))

    # ---- running ----------------------------------------------------------------------------
    def _assign_inputs(self, kwargs: Dict[str, Any]) -> None:
        for name, value in kwargs.items():
            if name not in self.arg_dict:
                raise GraphError(f"forward: unknown argument {name!r}; arguments are "
                                 f"{list(self.arg_dict)}")
            target = self.arg_dict[name]
            data = value._data if isinstance(value, NDArray) else value
            if tuple(np.shape(data)) != tuple(target.shape):
                raise ShapeError(f"forward: {name!r} has shape {shape_str(np.shape(data))}, "
                                 f"but the executor was bound with {shape_str(target.shape)}")
            target._data = jnp.asarray(data, dtype=target.dtype)

    def forward(self, is_train: bool = False, **kwargs) -> List[NDArray]:
        """Run the graph; ``kwargs`` are copied into ``arg_dict`` first. Returns ``outputs``."""
        from . import random as _random
        self._assign_inputs(kwargs)
        args = {n: a._data for n, a in self.arg_dict.items()}
        aux = {n: a._data for n, a in self.aux_dict.items()}
        rng = _random.next_key() if self._graph.needs_rng else None
        outs, new_aux = self._graph.forward_fn(is_train)(args, aux, rng)
        if self._monitor is not None:
            from .monitor import observe
            observe(self._monitor[0], self._monitor[1], self._symbol, args, aux, rng, is_train,
                    self._ctx.jax_device().platform)
        if is_train:
            self._saved = (args, aux, rng)
            for n, arr in self.aux_dict.items():
                arr._data = new_aux[n]
        self.outputs = [NDArray(o, self._ctx) for o in outs]
        return self.outputs

    def backward(self, out_grads=None, is_train: bool = True) -> None:
        """Gradients of the last ``forward(is_train=True)`` into ``grad_dict``.

        Args:
            out_grads: head gradients (NDArray or list, one per output); loss heads ignore them.
        """
        if self._saved is None:
            raise GraphError("backward: call forward(is_train=True) first")
        n_out = len(self._graph.output_names)
        if out_grads is None:
            heads = (None,) * n_out
        else:
            if isinstance(out_grads, (NDArray, np.ndarray, jax.Array)):
                out_grads = [out_grads]
            out_grads = list(out_grads)
            if len(out_grads) != n_out:
                raise GraphError(f"backward: {len(out_grads)} out_grads for {n_out} outputs")
            heads = tuple(None if g is None else jnp.asarray(
                g._data if isinstance(g, NDArray) else g) for g in out_grads)
        args, aux, rng = self._saved
        names = [n for n in self._graph.arg_names if self._reqs[n] != "null"]
        _, _, grads = self._graph.forward_backward_fn(names)(args, aux, rng, heads)
        for n in names:
            target = self.grad_dict[n]
            g = grads[n].astype(target.dtype)
            target._data = target._data + g if self._reqs[n] == "add" else g

    def set_monitor_callback(self, callback: Callable[[str, NDArray], None],
                             monitor_all: bool = False) -> None:
        """Call ``callback(name, NDArray)`` with every op output in each ``forward`` (and each
        op's inputs with ``monitor_all``); see ``symnet.monitor``."""
        self._monitor = (callback, monitor_all)

    def reshape(self, partial_shaping: bool = False, allow_up_sizing: bool = False,
                **shapes: Any) -> "Executor":
        """A new executor for new input shapes, sharing the arrays whose shapes stay.

        Arrays whose shape changes are fresh zeros: with ``partial_shaping=False`` only the
        inputs named in ``shapes`` may change shape (MXNet's rule). ``allow_up_sizing`` is
        accepted for compatibility (XLA allocates every shape anew)."""
        known = {n: tuple(a.shape) for n, a in self.arg_dict.items() if n not in shapes}
        arg_s, _, aux_s = self._symbol.infer_shape_partial(
            **{n: tuple(s) for n, s in shapes.items()})
        names, aux_names = self._graph.arg_names, self._graph.aux_names
        args, grads, aux = {}, {}, {}
        for n, s in zip(names, arg_s):
            s = tuple(s) if s else known.get(n, ())
            old = self.arg_dict[n]
            if s == tuple(old.shape):
                args[n], grads[n] = old, self.grad_dict[n]
                continue
            if n not in shapes and not partial_shaping:
                raise ShapeError(f"reshape: argument {n!r} would change shape from "
                                 f"{shape_str(old.shape)} to {shape_str(s)}; pass its shape "
                                 "or partial_shaping=True")
            args[n] = NDArray(jnp.zeros(s, old.dtype), self._ctx)
            g = self.grad_dict[n]
            grads[n] = None if g is None else NDArray(jnp.zeros(s, g.dtype), self._ctx)
        for n, s in zip(aux_names, aux_s):
            old = self.aux_dict[n]
            if tuple(s) != tuple(old.shape) and not partial_shaping:
                raise ShapeError(f"reshape: auxiliary state {n!r} would change shape from "
                                 f"{shape_str(old.shape)} to {shape_str(s)}; pass "
                                 "partial_shaping=True")
            aux[n] = old if tuple(s) == tuple(old.shape) else NDArray(
                jnp.zeros(s, old.dtype), self._ctx)
        exe = Executor(self._symbol, self._ctx, args, grads, dict(self._reqs), aux)
        exe._monitor = self._monitor
        return exe

    def copy_params_from(self, arg_params: Mapping[str, Any],
                         aux_params: Optional[Mapping[str, Any]] = None,
                         allow_extra_params: bool = False) -> None:
        """Copy parameter values into ``arg_dict``/``aux_dict`` (shapes must match)."""
        for params, target, kind in ((arg_params, self.arg_dict, "argument"),
                                     (aux_params or {}, self.aux_dict, "auxiliary state")):
            for name, value in params.items():
                if name not in target:
                    if allow_extra_params:
                        continue
                    raise GraphError(f"copy_params_from: {name!r} is not an {kind} of the "
                                     f"graph; pass allow_extra_params=True to ignore it")
                data = value._data if isinstance(value, NDArray) else value
                if tuple(np.shape(data)) != tuple(target[name].shape):
                    raise ShapeError(f"copy_params_from: {name!r} has shape "
                                     f"{shape_str(np.shape(data))}, expected "
                                     f"{shape_str(target[name].shape)}")
                target[name]._data = jnp.asarray(data, dtype=target[name].dtype)

    def __repr__(self) -> str:
        return f"<Executor {self._symbol!r}>"


def bind(symbol: Symbol, ctx, args, args_grad=None, grad_req="write",
         aux_states=None) -> Executor:
    """Bind arrays to ``symbol`` (MXNet's ``Symbol.bind``)."""
    names = symbol.list_arguments()
    arg_map = _collect(names, args, "args", ctx)
    grads = _collect(names, args_grad, "args_grad", ctx, required=False) if args_grad is not None \
        else {}
    aux_map = _collect(symbol.list_auxiliary_states(), aux_states, "aux_states", ctx)
    reqs = _grad_reqs(names, grad_req)
    return Executor(symbol, ctx, arg_map, grads, reqs, aux_map)


def simple_bind(symbol: Symbol, ctx, grad_req="write", type_dict=None, **shapes) -> Executor:
    """Allocate zero arrays from input shapes (and gradients where grad_req != 'null')."""
    arg_s, _, aux_s = symbol.infer_shape_partial(**shapes)
    unknown = [n for n, s in zip(symbol.list_arguments() + symbol.list_auxiliary_states(),
                                 arg_s + aux_s) if s == ()]
    if unknown:
        raise ShapeError(f"simple_bind: cannot infer the shapes of {unknown}; pass them as "
                         "keyword arguments, e.g. data=(batch, ...)")
    types = {n: np.float32 for n in symbol.list_inputs()}
    arg_t, _, aux_t = symbol.infer_type(**(type_dict or {}))
    if arg_t is not None:
        types.update(zip(symbol.list_arguments(), arg_t))
        types.update(zip(symbol.list_auxiliary_states(), aux_t))
    elif type_dict:
        types.update({k: np.dtype(v).type for k, v in type_dict.items()})
    names = symbol.list_arguments()
    reqs = _grad_reqs(names, grad_req)
    ctx = ctx if ctx is not None else current_context()

    def zeros(shape, dtype):
        return NDArray(jnp.zeros(shape, dtype), ctx)

    args = {n: zeros(s, types[n]) for n, s in zip(names, arg_s)}
    grads = {n: zeros(s, types[n]) for n, s in zip(names, arg_s) if reqs[n] != "null"}
    aux = {n: zeros(s, types[n]) for n, s in zip(symbol.list_auxiliary_states(), aux_s)}
    return Executor(symbol, ctx, args, grads, reqs, aux)
