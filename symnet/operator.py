"""``mx.operator``: MXNet's Python custom operators (``CustomOp``, ``CustomOpProp``, ``register``).

Code written for MXNet runs unchanged: a ``CustomOpProp`` subclass registered under a name
describes the operator (inputs, outputs, auxiliary states, shapes, types) and creates a
``CustomOp`` whose ``forward``/``backward`` compute on NDArrays (typically through numpy).
``mx.sym.Custom(data, op_type='name', **kwargs)`` puts it in a graph; the kwargs reach the
prop's constructor as strings, as in MXNet.

Inside the compiled program the operator runs on the host through ``jax.pure_callback`` (its
backward too, as the op's gradient), so it works within ``jit``, ``grad`` and multi-step scans
on every backend, at the cost of a device-host round trip per call; and a program holding a
host callback is compiled afresh in each process (JAX's persistent cache keys it on the
callback's address). For speed, write the operator in JAX instead: ``symnet.ops.register``
(see ``symnet/ops/nn.py``).
"""
from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from .base import ParamError

__all__ = ["CustomOp", "CustomOpProp", "register", "get_prop", "registered"]

_PROPS: Dict[str, type] = {}


class CustomOp:
    """The computation of a custom operator: override ``forward`` and ``backward``."""

    def forward(self, is_train: bool, req: Sequence[str], in_data: List[Any],
                out_data: List[Any], aux: List[Any]) -> None:
        """Compute ``out_data`` from ``in_data`` (use ``self.assign``)."""
        raise NotImplementedError(f"{type(self).__name__}.forward")

    def backward(self, req: Sequence[str], out_grad: List[Any], in_data: List[Any],
                 out_data: List[Any], in_grad: List[Any], aux: List[Any]) -> None:
        """Compute ``in_grad`` (use ``self.assign``)."""
        raise NotImplementedError(f"{type(self).__name__}.backward")

    def assign(self, dst: Any, req: str, src: Any) -> None:
        """Store ``src`` into ``dst`` as ``req`` says: 'write'/'inplace', 'add' or 'null'."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] = dst + src
        else:
            raise ValueError(f"CustomOp.assign: unknown req {req!r}")


class CustomOpProp:
    """The description of a custom operator; register subclasses with ``register(name)``.

    Args:
        need_top_grad: whether ``backward`` uses the output gradients (False for loss heads).
    """

    def __init__(self, need_top_grad: bool = True) -> None:
        self.need_top_grad_ = need_top_grad

    def list_arguments(self) -> List[str]:
        return ["data"]

    def list_outputs(self) -> List[str]:
        return ["output"]

    def list_auxiliary_states(self) -> List[str]:
        return []

    def infer_shape(self, in_shape: List[Any]) -> Tuple[List[Any], List[Any], List[Any]]:
        """``(arg_shapes, out_shapes, aux_shapes)``; by default every output has the first
        input's shape."""
        return (in_shape, [in_shape[0]] * len(self.list_outputs()),
                [in_shape[0]] * len(self.list_auxiliary_states()))

    def infer_type(self, in_type: List[Any]) -> Tuple[List[Any], List[Any], List[Any]]:
        """``(arg_types, out_types, aux_types)``; by default the first input's type."""
        return (in_type, [in_type[0]] * len(self.list_outputs()),
                [in_type[0]] * len(self.list_auxiliary_states()))

    def declare_backward_dependency(self, out_grad, in_data, out_data) -> List[Any]:
        deps: List[Any] = list(out_grad) if self.need_top_grad_ else []
        return deps + list(in_data) + list(out_data)

    def create_operator(self, ctx: Any, in_shapes: List[Any], in_dtypes: List[Any]) -> CustomOp:
        """The ``CustomOp`` that computes this operator."""
        raise NotImplementedError(f"{type(self).__name__}.create_operator")


def register(reg_name: str):
    """Class decorator: register a ``CustomOpProp`` subclass as ``op_type=reg_name``."""

    def do_register(prop_cls: type) -> type:
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise TypeError(f"mx.operator.register({reg_name!r}) decorates a CustomOpProp "
                            f"subclass, received {prop_cls!r}")
        _PROPS[reg_name] = prop_cls
        return prop_cls

    return do_register


def get_prop(op_type: str) -> type:
    """The ``CustomOpProp`` class registered as ``op_type``."""
    try:
        return _PROPS[op_type]
    except KeyError:
        known = ", ".join(sorted(_PROPS)) or "none"
        raise ParamError(f"Custom: op_type {op_type!r} is not registered (registered: {known}); "
                         "decorate its CustomOpProp with @mx.operator.register("
                         f"{op_type!r}) before building or loading the graph") from None


def registered() -> List[str]:
    """Names of the registered custom operators."""
    return sorted(_PROPS)
