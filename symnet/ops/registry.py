"""The operator registry: the ``Op`` base class, typed parameters, ``@register`` and lookup.

An operator is one class that declares everything about it: its typed ``Params`` (parsed once from
Python values or MXNet's string attributes), its inputs and auxiliary states, shape and type
inference, its JAX lowering, and a custom gradient only where MXNet's differs from autodiff.
"""
from __future__ import annotations

import ast
import dataclasses
import typing
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..base import ParamError, Shape, ShapeError

__all__ = [
    "Op", "LowerCtx", "register", "get_op", "has_op", "all_ops", "NoParams", "choice",
    "parse_params", "param_names", "none_is_a_value",
]

_REGISTRY: Dict[str, "Op"] = {}
_PRIMARY: Dict[str, "Op"] = {}


def choice(*values: str, default: Any = dataclasses.MISSING) -> Any:
    """A string parameter restricted to ``values`` (``default`` optional)."""
    return dataclasses.field(default=default, metadata={"choices": values})


@dataclasses.dataclass(frozen=True)
class NoParams:
    """Parameters of an operator that takes none."""


@dataclasses.dataclass
class LowerCtx:
    """What a lowering may read besides its inputs.

    Attributes:
        is_train: training mode (Dropout, BatchNorm statistics).
        rng: a ``jax.random`` key private to this node, or None when the graph needs none.
        name: the node's name (for error messages).
    """

    is_train: bool
    rng: Any
    name: str


class Op:
    """Base class of every operator. Subclasses are stateless singletons (see ``register``)."""

    name: ClassVar[str] = ""
    aliases: ClassVar[Tuple[str, ...]] = ()
    Params: ClassVar[type] = NoParams
    #: A parameter holding the count of variadic inputs (``num_args``), or None.
    variadic: ClassVar[Optional[str]] = None
    #: True for ops drawing random numbers (they get ``ctx.rng``).
    needs_rng: ClassVar[bool] = False
    #: True for ops whose parameters are open-ended (``Custom``): ``parse`` reads every
    #: non-dunder attribute instead of the declared ``Params`` fields.
    open_params: ClassVar[bool] = False

    def parse(self, raw: Dict[str, Any]):
        """Parameters from raw values, for ``open_params`` operators."""
        raise NotImplementedError(f"operator {self.name} declares its Params")

    # ---- naming -----------------------------------------------------------------------------
    @property
    def hint(self) -> str:
        """Prefix of auto names (``fullyconnected`` gives ``fullyconnected0``)."""
        return self.name.lower()

    # ---- signature --------------------------------------------------------------------------
    def arguments(self, p) -> Tuple[str, ...]:
        """Input names in MXNet's order (``data``, ``weight``, ``bias``, ... ``label``)."""
        if self.variadic:
            return tuple(f"arg{i}" for i in range(getattr(p, self.variadic)))
        return ("data",)

    def aux_states(self, p) -> Tuple[str, ...]:
        """Auxiliary state names (``moving_mean``, ...); returned updated by ``lower``."""
        return ()

    def outputs(self, p) -> Tuple[str, ...]:
        """Output names; the node's outputs are listed as ``<node>_<output>``."""
        return ("output",)

    def num_outputs(self, p) -> int:
        """All outputs the node has (MXNet counts hidden ones, e.g. Dropout's mask, in its JSON)."""
        return len(self.outputs(p))

    def auto_attrs(self, p, slot: str) -> Dict[str, str]:
        """Extra attributes of the variable auto-created for input ``slot`` (e.g. BatchNorm's
        moving statistics carry ``__init__``)."""
        return {}

    def pinned_inputs(self, p) -> Dict[str, float]:
        """Parameter inputs the training step resets to a constant after every update."""
        return {}

    def rows_independent(self, p, in_shapes: List[Shape]) -> bool:
        """Whether output row ``i`` (axis 0) depends on input row ``i`` only, for these input
        shapes: then a batch may be split into micro-batches whose gradients add up to the whole
        batch's. False unless an operator says so."""
        return False

    def auto_input(self, p, arg: str) -> bool:
        """Whether a missing input ``arg`` is created as the variable ``<node>_<arg>``."""
        return True

    # ---- inference --------------------------------------------------------------------------
    def infer_shape(self, p, in_shapes: List[Optional[Shape]]):
        """Complete input shapes and infer output/aux shapes.

        Args:
            p: parsed params.
            in_shapes: one shape per argument; None where unknown.

        Returns:
            ``(in_shapes, out_shapes, aux_shapes)`` with one out shape per ``num_outputs``;
            unknown entries stay None.

        Raises:
            ShapeError: the known shapes do not fit this operator (message without node name;
                the caller adds it).
        """
        data = in_shapes[0] if in_shapes else None
        if data is None:
            data = next((s for s in in_shapes if s is not None), None)
        n_out = self.num_outputs(p)
        return [data if s is None else s for s in in_shapes], [data] * n_out, []

    def infer_type(self, p, in_types: List[Optional[Any]]):
        """Default type rule: every input, output and aux state has the first known dtype."""
        known = next((t for t in in_types if t is not None), None)
        return ([known if t is None else t for t in in_types], [known] * self.num_outputs(p),
                [known] * len(self.aux_states(p)))

    # ---- lowering ---------------------------------------------------------------------------
    def lower(self, p, ctx: LowerCtx, *inputs):
        """Compute outputs from jax arrays (arguments, then aux states).

        Returns a single array, a tuple of arrays, or for ops with aux states
        ``(outputs_tuple, new_aux_tuple)``.
        """
        raise NotImplementedError(f"operator {self.name} has no lowering")

    #: Set by ops whose gradient differs from autodiff: ``grad(p, inputs, outputs, out_grads)``
    #: returns one gradient (or None for zero) per argument.
    grad: ClassVar[Optional[Callable]] = None

    def __repr__(self) -> str:
        return f"<Op {self.name}>"


def register(name: str, *aliases: str):
    """Class decorator: instantiate the op and register it under ``name`` and ``aliases``."""

    def deco(cls):
        cls.name = name
        cls.aliases = tuple(aliases)
        op = cls()
        for key in (name,) + tuple(aliases):
            if key in _REGISTRY:
                raise RuntimeError(f"operator {key!r} registered twice")
            _REGISTRY[key] = op
        _PRIMARY[name] = op
        return cls

    return deco


def alias(name: str, *aliases: str) -> None:
    """Register more names for the already registered operator ``name``."""
    op = _REGISTRY[name]
    for key in aliases:
        if key in _REGISTRY and _REGISTRY[key] is not op:
            raise RuntimeError(f"operator alias {key!r} already names {_REGISTRY[key]!r}")
        _REGISTRY[key] = op
    op.aliases = tuple(op.aliases) + tuple(a for a in aliases if a not in op.aliases)


def has_op(name: str) -> bool:
    """Whether ``name`` (or alias) is a registered operator."""
    _ensure_loaded()
    return name in _REGISTRY


def get_op(name: str) -> Op:
    """Look an operator up by MXNet name or alias."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ParamError(
            f"unknown operator {name!r}.{hint} symnet implements {len(_PRIMARY)} operators; "
            "see symnet.ops.all_ops().") from None


def all_ops() -> Dict[str, Op]:
    """Every registered operator by its primary name."""
    _ensure_loaded()
    return dict(_PRIMARY)


def _ensure_loaded() -> None:
    from . import _load_all  # the package imports every op module once

    _load_all()


# ---- parameters ------------------------------------------------------------------------------

_HINTS_CACHE: Dict[type, Dict[str, Any]] = {}


def _hints(cls) -> Dict[str, Any]:
    hints = _HINTS_CACHE.get(cls)
    if hints is None:
        hints = _HINTS_CACHE[cls] = typing.get_type_hints(cls)
    return hints


def param_names(op: Op) -> Tuple[str, ...]:
    """Names of the operator's declared parameters."""
    return tuple(f.name for f in dataclasses.fields(op.Params))


def _literal(text: str) -> Any:
    text = text.strip()
    if text in ("None", "none", ""):
        return None
    if text in ("True", "true"):
        return True
    if text in ("False", "false"):
        return False
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _convert(value: Any, typ: Any, what: str) -> Any:
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin is typing.Union:  # Optional[X]
        if value is None or (isinstance(value, str) and value.strip() in ("None", "none", "")):
            return None
        inner = [a for a in args if a is not type(None)][0]
        return _convert(value, inner, what)
    if origin in (tuple, Tuple):
        if isinstance(value, str):
            value = _literal(value)
        if value is None:
            return ()
        if isinstance(value, (int, float, np.integer, np.floating)):
            value = (value,)
        if not isinstance(value, (tuple, list)):
            raise ParamError(f"{what}: expected a tuple, received {value!r}")
        elem = args[0] if args else int
        return tuple(_convert(v, elem, what) for v in value)
    if typ is bool:
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("true", "1"):
                return True
            if low in ("false", "0"):
                return False
            raise ParamError(f"{what}: expected a boolean, received {value!r}")
        return bool(value)
    if typ is int:
        if isinstance(value, str):
            value = _literal(value)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ParamError(f"{what}: expected an integer, received {value!r}")
        if int(value) != value:
            raise ParamError(f"{what}: expected an integer, received {value!r}")
        return int(value)
    if typ is float:
        if isinstance(value, str):
            value = _literal(value)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ParamError(f"{what}: expected a number, received {value!r}")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            # MXNet accepts e.g. dtype=np.float32 for string params.
            value = getattr(value, "__name__", str(value))
        return value
    return value


def none_is_a_value(op: Op, name: str) -> bool:
    """Whether ``name=None`` means something other than "not given" for ``op``: a parameter
    whose default is not None (``topk(axis=None)`` flattens; its default axis is -1)."""
    if op.open_params:
        return False
    for f in dataclasses.fields(op.Params):
        if f.name == name:
            return f.default is not dataclasses.MISSING and f.default is not None
    return False


def parse_params(op: Op, raw: Dict[str, Any]):
    """Parse user kwargs or JSON attrs into ``op.Params``.

    Raises:
        ParamError: unknown name (listing the known ones), missing required one, or bad value.
    """
    if op.open_params:
        return op.parse(raw)
    cls = op.Params
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    unknown = [k for k in raw if k not in fields]
    if unknown:
        import difflib
        bad = unknown[0]
        close = difflib.get_close_matches(bad, list(fields), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        known = ", ".join(fields) or "none"
        raise ParamError(f"{op.name}: unknown parameter {bad!r}.{hint} Known parameters: {known}.")
    values = {}
    for name, f in fields.items():
        what = f"{op.name} parameter {name!r}"
        if name in raw:
            val = _convert(raw[name], hints[name], what)
            choices = f.metadata.get("choices")
            if choices and val is not None and val not in choices:
                raise ParamError(f"{what}: {val!r} is not one of {', '.join(map(repr, choices))}")
            values[name] = val
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ParamError(f"{op.name}: required parameter {name!r} is missing.")
    return cls(**values)


def attr_str(value: Any) -> str:
    """Format a Python value as MXNet stores it in a node's attrs (``str(value)``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (np.dtype, type)):
        return np.dtype(value).name
    return str(value)


#: lax.conv_general_dilated dimension numbers for MXNet's NC(D)(H)W layouts, by spatial rank.
CONV_LAYOUTS = {1: ("NCH", "OIH", "NCH"), 2: ("NCHW", "OIHW", "NCHW"),
                3: ("NCDHW", "OIDHW", "NCDHW")}


def expect_shape(shapes, i: int, shape) -> list:
    """``shapes`` with entry ``i`` set to the shape the op expects there; the inference pass
    compares it with any shape already known and reports a mismatch naming the input."""
    shapes = list(shapes)
    shapes[i] = tuple(shape)
    return shapes


def spatial_param(values: Tuple[int, ...], nd: int, default: int, what: str) -> Tuple[int, ...]:
    """Expand an MXNet tuple parameter (empty means ``default``) to ``nd`` spatial entries."""
    if not values:
        return (default,) * nd
    if len(values) != nd:
        raise ShapeError(f"{what} has {len(values)} entries {tuple(values)}, expected {nd} "
                         f"(one per spatial axis of the {nd}-D kernel)")
    return tuple(values)


def check_ndim(what: str, shape: Shape, ndims: Sequence[int], layout: str = "") -> None:
    """Raise ShapeError unless ``len(shape)`` is one of ``ndims``."""
    if len(shape) not in ndims:
        want = " or ".join(f"{n}-D" for n in ndims)
        extra = f" ({layout})" if layout else ""
        raise ShapeError(f"{what} must be {want}{extra}, received shape {tuple(shape)}")
