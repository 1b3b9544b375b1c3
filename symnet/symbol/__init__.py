"""``mx.sym`` / ``mx.symbol``: Variable, Group, load/load_json and one function per operator.

Operator functions (``mx.sym.FullyConnected``...) are made on first access from the registry,
so an op registered later (``@symnet.ops.register``) is available here too.
"""
from __future__ import annotations

import types

from ..ops.registry import all_ops, get_op, has_op
from .json_io import load, load_json
from .symbol import Group, Symbol, Variable, make_creator, var

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json", "zeros", "ones", "full",
           "arange", "maximum", "minimum", "pow", "power"]

_creators: dict = {}


def _creator(name: str):
    fn = _creators.get(name)
    if fn is None:
        fn = _creators[name] = make_creator(get_op(name), name.lower())
    return fn


def _binary_fn(same: str, scalar: str, doc: str):
    def fn(left, right, name=None, attr=None):
        kw = {"name": name, "attr": attr}
        if isinstance(left, Symbol) and isinstance(right, Symbol):
            return _creator(same)(left, right, **kw)
        if isinstance(left, Symbol):
            return _creator(scalar)(left, scalar=right, **kw)
        if isinstance(right, Symbol):
            return _creator(scalar)(right, scalar=left, **kw)
        raise TypeError(f"{doc}: at least one argument must be a Symbol")

    fn.__doc__ = doc
    return fn


maximum = _binary_fn("_Maximum", "_MaximumScalar", "Elementwise maximum of symbols/scalars.")
minimum = _binary_fn("_Minimum", "_MinimumScalar", "Elementwise minimum of symbols/scalars.")


def pow(base, exp, name=None, attr=None):  # noqa: A001 - MXNet's name
    """``base ** exp`` for symbols and scalars."""
    if isinstance(base, Symbol):
        return base.__pow__(exp)
    return exp.__rpow__(base)


power = pow


def _dtype_name(dtype) -> str:
    import numpy as np
    return "float32" if dtype is None else np.dtype(dtype).name


def zeros(shape, dtype=None, **kwargs) -> Symbol:
    """Zeros of ``shape`` (operator ``_zeros``)."""
    return _creator("_zeros")(shape=shape, dtype=_dtype_name(dtype), **kwargs)


def ones(shape, dtype=None, **kwargs) -> Symbol:
    """Ones of ``shape`` (operator ``_ones``)."""
    return _creator("_ones")(shape=shape, dtype=_dtype_name(dtype), **kwargs)


def full(shape, val, dtype=None, **kwargs) -> Symbol:
    """``val`` everywhere in ``shape`` (operator ``_full``)."""
    return _creator("_full")(shape=shape, value=float(val), dtype=_dtype_name(dtype), **kwargs)


def arange(start, stop=None, step=1.0, repeat=1, infer_range=False, name=None,
           dtype=None) -> Symbol:
    """``start, start + step, ...`` below ``stop`` (operator ``_arange``; MXNet's attrs)."""
    return _creator("_arange")(start=start, stop="None" if stop is None else stop, step=step,
                               repeat=repeat, infer_range=infer_range, name=name,
                               dtype=_dtype_name(dtype))


def __getattr__(name: str):
    if not name.startswith("__") and not name.startswith("_sn_") and has_op(name):
        return _creator(name)
    raise AttributeError(f"module 'symnet.symbol' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {n for n in all_ops() if not n.startswith("_")})


class _Internal(types.ModuleType):
    """``mx.sym._internal``: every operator, including the underscore-named ones."""

    def __getattr__(self, name: str):
        if has_op(name):
            return _creator(name)
        raise AttributeError(f"no operator {name!r}")


_internal = _Internal("symnet.symbol._internal")
