"""Graph passes: shape and type inference over a Symbol's nodes."""
from __future__ import annotations

import ast
import warnings
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .base import DTypeError, ParamError, Shape, ShapeError, SymnetError, shape_str
from .symbol.symbol import FLAG_DTYPES, Node, Symbol

__all__ = ["infer_shape", "infer_type", "node_shapes"]


def _check_shape_arg(name: str, value: Any) -> Shape:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        raise ShapeError(f"infer_shape: {name}={value!r} is an int, expected a tuple. "
                         f"Did you mean {name}=({value},)?")
    if not isinstance(value, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in value):
        raise ShapeError(f"infer_shape: {name}={value!r} is not a shape; expected a tuple of "
                         "ints such as (100, 1, 28, 28)")
    if any(d < 0 for d in value):
        raise ShapeError(f"infer_shape: {name}={tuple(value)} has a negative dimension")
    return tuple(int(d) for d in value)


def _bind_inputs(sym: Symbol, args: Sequence[Any], kwargs: Dict[str, Any], what: str):
    names = sym.list_arguments()
    given: Dict[str, Any] = {}
    if args:
        if len(args) > len(names):
            raise ShapeError(f"{what}: {len(args)} positional values for {len(names)} arguments")
        for name, value in zip(names, args):
            if value is not None:
                given[name] = value
    inputs = set(sym.list_inputs())
    for key, value in kwargs.items():
        if key not in inputs:
            import difflib
            close = difflib.get_close_matches(key, list(inputs), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ShapeError(f"{what}: the graph has no input {key!r}.{hint} Inputs are "
                             f"{sym.list_inputs()}")
        if value is not None:
            given[key] = value
    return given


def _shape_attr(node: Node) -> Optional[Shape]:
    text = node.attrs.get("__shape__")
    if not text:
        return None
    try:
        shape = tuple(int(d) for d in ast.literal_eval(text))
    except (ValueError, SyntaxError, TypeError):
        raise ShapeError(f"{node.describe()}: malformed __shape__ attribute {text!r}") from None
    # MXNet compat: 0 marks an unknown dimension in __shape__.
    return None if any(d == 0 for d in shape) or not shape else shape


def _fmt_inputs(node: Node, shapes) -> str:
    return ", ".join(f"{slot}={shape_str(s)}" for slot, s in zip(node.slot_names, shapes))


def node_shapes(sym: Symbol, known: Dict[str, Shape]) -> Dict[Tuple[int, int], Optional[Shape]]:
    """Infer every node output shape; key ``(id(node), out_index)``.

    Raises:
        ShapeError: naming the operator, node, input, the shapes it got and those expected,
            and where the user created the node.
    """
    order = sym._topo()
    shapes: Dict[Tuple[int, int], Optional[Shape]] = {}
    for node in order:
        if node.op is None:
            shapes[(id(node), 0)] = known.get(node.name) or _shape_attr(node)
    changed = True
    rounds = 0
    while changed and rounds < len(order) + 2:
        changed = False
        rounds += 1
        for node in order:
            if node.op is None:
                continue
            n_args = node.num_args
            ins = [shapes.get((id(src), idx)) for src, idx in node.inputs]
            try:
                new_args, outs, auxs = node.op.infer_shape(node.params, ins[:n_args])
            except (ShapeError, ParamError) as err:
                raise ShapeError(f"{node.describe()}: {err}. Input shapes: "
                                 f"{_fmt_inputs(node, ins)}") from None
            except (ValueError, TypeError, IndexError, ZeroDivisionError) as err:
                raise ShapeError(f"{node.describe()}: shape inference failed: {err}. Input "
                                 f"shapes: {_fmt_inputs(node, ins)}") from None
            new_ins = list(new_args) + list(auxs or [None] * (len(ins) - n_args))
            for slot, ((src, idx), old, new) in enumerate(zip(node.inputs, ins, new_ins)):
                if new is None:
                    continue
                new = tuple(int(d) for d in new)
                if old is None:
                    shapes[(id(src), idx)] = new
                    changed = True
                elif tuple(old) != new:
                    raise ShapeError(
                        f"{node.describe()}: input {node.slot_names[slot]!r} "
                        f"({src.output_name(idx)}) has shape {shape_str(old)}, expected "
                        f"{shape_str(new)} from the other inputs ({_fmt_inputs(node, ins)}). "
                        f"Received: {node.slot_names[slot]}={shape_str(old)}")
            for i, out in enumerate(outs):
                if out is None:
                    continue
                out = tuple(int(d) for d in out)
                old = shapes.get((id(node), i))
                if old is None:
                    shapes[(id(node), i)] = out
                    changed = True
                elif tuple(old) != out:
                    raise ShapeError(f"{node.describe()}: output {i} has shape "
                                     f"{shape_str(out)} but its users need {shape_str(old)}")
    return shapes


def _graph_outputs(sym: Symbol, table, default):
    args, auxs = sym._input_kinds()
    arg_v = [table.get((id(n), 0), default) for n in args]
    out_v = [table.get((id(n), i), default) for n, i in sym._outputs]
    aux_v = [table.get((id(n), 0), default) for n in auxs]
    return arg_v, out_v, aux_v


def infer_shape(sym: Symbol, args, kwargs, partial: bool):
    """Implementation of ``Symbol.infer_shape`` / ``infer_shape_partial``."""
    given = {k: _check_shape_arg(k, v) for k, v in _bind_inputs(sym, args, kwargs,
                                                                 "infer_shape").items()}
    table = node_shapes(sym, given)
    arg_s, out_s, aux_s = _graph_outputs(sym, table, None)
    if partial:
        fix = lambda xs: [() if s is None else tuple(s) for s in xs]  # noqa: E731
        return fix(arg_s), fix(out_s), fix(aux_s)
    missing = [n for n, s in zip(sym.list_arguments(), arg_s) if s is None]
    missing += [n for n, s in zip(sym.list_auxiliary_states(), aux_s) if s is None]
    if missing or any(s is None for s in out_s):
        warnings.warn(f"infer_shape: cannot decide the shapes of {missing}; give their shapes "
                      "(or use infer_shape_partial)", UserWarning, stacklevel=3)
        return None, None, None
    return arg_s, out_s, aux_s


def _dtype(value: Any, what: str) -> np.dtype:
    try:
        return np.dtype(value)
    except TypeError:
        raise DTypeError(f"{what}: {value!r} is not a dtype") from None


def node_types(sym: Symbol, known: Dict[str, np.dtype]) -> Dict[Tuple[int, int], Any]:
    """Infer every node output dtype (numpy dtypes); key ``(id(node), out_index)``."""
    order = sym._topo()
    types: Dict[Tuple[int, int], Any] = {}
    for node in order:
        if node.op is None:
            t = known.get(node.name)
            if t is None and "__dtype__" in node.attrs:
                t = np.dtype(FLAG_DTYPES[int(node.attrs["__dtype__"])])
            types[(id(node), 0)] = t
    for _ in range(3):
        for node in order:
            if node.op is None:
                continue
            ins = [types.get((id(src), idx)) for src, idx in node.inputs]
            try:
                new_ins, outs, auxs = node.op.infer_type(node.params, ins[:node.num_args])
            except SymnetError as err:
                raise DTypeError(f"{node.describe()}: {err}") from None
            new_all = list(new_ins) + list(auxs)
            for (src, idx), old, new in zip(node.inputs, ins, new_all):
                if new is None:
                    continue
                new = np.dtype(new)
                if old is None:
                    types[(id(src), idx)] = new
                elif np.dtype(old) != new:
                    raise DTypeError(f"{node.describe()}: input {src.output_name(idx)!r} has "
                                     f"dtype {np.dtype(old).name}, expected {new.name}")
            for i, out in enumerate(outs):
                if out is not None:
                    types[(id(node), i)] = np.dtype(out)
    return types


def infer_type(sym: Symbol, args, kwargs):
    """Implementation of ``Symbol.infer_type``: numpy type classes, or Nones if undecided."""
    given = {k: _dtype(v, k) for k, v in _bind_inputs(sym, args, kwargs, "infer_type").items()}
    table = node_types(sym, given)
    arg_t, out_t, aux_t = _graph_outputs(sym, table, None)
    if any(t is None for t in arg_t + out_t + aux_t):
        return None, None, None
    cls = lambda xs: [np.dtype(t).type for t in xs]  # noqa: E731
    return cls(arg_t), cls(out_t), cls(aux_t)
