"""The immutable graph IR: ``Node``, ``Symbol``, ``Variable``, ``Group`` and operator creation."""
from __future__ import annotations

import numbers
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .. import attribute
from .. import name as _name
from ..base import GraphError, ParamError, SymnetError, user_site
from ..ops.registry import Op, attr_str, get_op, none_is_a_value, parse_params

#: MXNet's dtype flags as stored in ``__dtype__``.
DTYPE_FLAGS = {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5,
               "int64": 6, "bool": 7, "int16": 8, "uint16": 9, "uint32": 10, "uint64": 11,
               "bfloat16": 12}
FLAG_DTYPES = {v: k for k, v in DTYPE_FLAGS.items()}

Entry = Tuple["Node", int]


class Node:
    """One graph node: a variable (``op is None``) or an operator application.

    Nodes are never changed structurally after creation; composition builds new nodes.
    Only ``attrs`` may be updated (``Symbol._set_attr``), as in MXNet.
    """

    __slots__ = ("op", "name", "attrs", "params", "inputs", "site", "__weakref__")

    def __init__(self, op: Optional[Op], name: str, attrs: Dict[str, str], params: Any,
                 inputs: Sequence[Entry], site: Optional[str]) -> None:
        self.op = op
        self.name = name
        self.attrs = attrs
        self.params = params
        self.inputs = tuple(inputs)
        self.site = site

    @property
    def is_variable(self) -> bool:
        return self.op is None

    @property
    def num_outputs(self) -> int:
        """Every output, hidden ones included (as counted in MXNet's ``node_row_ptr``)."""
        return 1 if self.op is None else self.op.num_outputs(self.params)

    @property
    def num_visible(self) -> int:
        return 1 if self.op is None else len(self.op.outputs(self.params))

    def output_name(self, index: int) -> str:
        if self.op is None:
            return self.name
        return f"{self.name}_{self.op.outputs(self.params)[index]}"

    @property
    def slot_names(self) -> Tuple[str, ...]:
        """Names of the input slots: arguments, then auxiliary states."""
        return tuple(self.op.arguments(self.params)) + tuple(self.op.aux_states(self.params))

    @property
    def num_args(self) -> int:
        return len(self.op.arguments(self.params))

    def describe(self) -> str:
        """``FullyConnected 'fc1' (created at net.py:12)`` for error messages."""
        kind = "Variable" if self.op is None else self.op.name
        where = f" (created at {self.site})" if self.site else ""
        return f"{kind} '{self.name}'{where}"

    def __repr__(self) -> str:
        return f"<Node {self.describe()}>"


def topo_order(entries: Sequence[Entry]) -> List[Node]:
    """Nodes reachable from ``entries`` in DFS post-order (inputs in order, each node once)."""
    order: List[Node] = []
    visited = set()
    for head, _ in entries:
        if id(head) in visited:
            continue
        visited.add(id(head))
        stack = [(head, iter(head.inputs))]
        while stack:
            node, it = stack[-1]
            for child, _ in it:
                if id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, iter(child.inputs)))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


class Symbol:
    """A list of graph outputs. Immutable; build bigger graphs by applying operators."""

    __slots__ = ("_outputs", "_cache", "__weakref__")

    def __init__(self, outputs: Sequence[Entry]) -> None:
        self._outputs: Tuple[Entry, ...] = tuple(outputs)
        self._cache: Dict[Any, Any] = {}

    # ---- structure ------------------------------------------------------------------------
    @property
    def name(self) -> Optional[str]:
        """The node name for a single-output symbol, else None."""
        if len(self._outputs) != 1:
            return None
        return self._outputs[0][0].name

    def _topo(self) -> List[Node]:
        order = self._cache.get("topo")
        if order is None:
            order = self._cache["topo"] = topo_order(self._outputs)
        return order

    def _input_kinds(self) -> Tuple[List[Node], List[Node]]:
        """(argument variables, auxiliary-state variables) in topological order."""
        kinds = self._cache.get("kinds")
        if kinds is None:
            aux_ids = set()
            for node in self._topo():
                if node.op is not None:
                    for slot, (src, _) in enumerate(node.inputs):
                        if slot >= node.num_args and src.op is None:
                            aux_ids.add(id(src))
            variables = [n for n in self._topo() if n.op is None]
            seen: Dict[str, Node] = {}
            for n in variables:
                other = seen.setdefault(n.name, n)
                if other is not n:
                    raise GraphError(
                        f"duplicate argument name {n.name!r}: two different variables share it "
                        f"(created at {other.site} and at {n.site}). Give one of them (or the "
                        "operator that auto-created it) another name.")
            kinds = ([n for n in variables if id(n) not in aux_ids],
                     [n for n in variables if id(n) in aux_ids])
            self._cache["kinds"] = kinds
        return kinds

    def list_arguments(self) -> List[str]:
        """Argument (non-auxiliary input) names in MXNet's order."""
        return [n.name for n in self._input_kinds()[0]]

    def list_auxiliary_states(self) -> List[str]:
        """Auxiliary state names (e.g. BatchNorm moving statistics)."""
        return [n.name for n in self._input_kinds()[1]]

    def list_inputs(self) -> List[str]:
        """All variable names, arguments and auxiliary states, in topological order."""
        return [n.name for n in self._topo() if n.op is None]

    def list_outputs(self) -> List[str]:
        """Output names: ``<node>_output`` for op outputs, the name for variables."""
        return [node.output_name(i) for node, i in self._outputs]

    def get_internals(self) -> "Symbol":
        """A symbol whose outputs are every node output of the graph, in topological order."""
        return Symbol([(n, i) for n in self._topo() for i in range(n.num_visible)])

    def get_children(self) -> Optional["Symbol"]:
        """The inputs of the head node(s) as one symbol; None for a variable."""
        entries = [e for node, _ in self._outputs for e in node.inputs]
        return Symbol(entries) if entries else None

    def __len__(self) -> int:
        return len(self._outputs)

    def __iter__(self) -> Iterator["Symbol"]:
        return (Symbol([e]) for e in self._outputs)

    def __getitem__(self, index: Union[int, str, slice]) -> "Symbol":
        if isinstance(index, str):
            names = self.list_outputs()
            matches = [i for i, n in enumerate(names) if n == index]
            if not matches:
                raise ValueError(f"no output named {index!r}; outputs are {names}")
            if len(matches) > 1:
                raise ValueError(f"there are multiple outputs named {index!r}")
            index = matches[0]
        if isinstance(index, slice):
            return Symbol(self._outputs[index])
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"symbol index must be an int or output name, received {index!r}")
        if not -len(self._outputs) <= index < len(self._outputs):
            raise IndexError(f"output index {index} out of range for {len(self._outputs)} "
                             "outputs")
        return Symbol([self._outputs[index]])

    def _entry(self, what: str = "input") -> Entry:
        if len(self._outputs) != 1:
            raise GraphError(f"{what}: expected a single-output symbol, received one with "
                             f"{len(self._outputs)} outputs {self.list_outputs()}")
        return self._outputs[0]

    # ---- attributes ---------------------------------------------------------------------------
    def attr(self, key: str) -> Optional[str]:
        """The attribute ``key`` of this (single-node) symbol, or None."""
        node = self._entry("attr")[0]
        value = node.attrs.get(key)
        if value is None and key in attribute.HIDDEN_KEYS:
            value = node.attrs.get(f"__{key}__")
        return value

    def list_attr(self, recursive: bool = False) -> Dict[str, str]:
        """Attributes of the head node (``recursive`` is MXNet's deprecated form of attr_dict)."""
        if recursive:
            raise DeprecationWarning("list_attr(recursive=True) is deprecated; use attr_dict()")
        # MXNet compat: a group answers with the attributes of its first output's node.
        node = self._outputs[0][0]
        return attribute.with_hidden_copies(node.attrs)

    def attr_dict(self) -> Dict[str, Dict[str, str]]:
        """``{node_name: attrs}`` over the whole graph (nodes without attributes omitted)."""
        return {n.name: attribute.with_hidden_copies(n.attrs) for n in self._topo() if n.attrs}

    def _set_attr(self, **kwargs: str) -> None:
        """Set attributes on the head node (the one mutation MXNet allows)."""
        node = self._entry("_set_attr")[0]
        node.attrs.update(attribute.normalize(kwargs))

    # ---- composition --------------------------------------------------------------------------
    def __call__(self, *args: "Symbol", **kwargs: "Symbol") -> "Symbol":
        """Compose: replace variables (by position or name) with other symbols' outputs."""
        kwargs.pop("name", None)
        names = self.list_arguments()
        mapping: Dict[str, Entry] = {}
        if len(args) > len(names):
            raise GraphError(f"compose: {len(args)} positional inputs given but the symbol has "
                             f"only {len(names)} arguments {names}")
        for arg_name, sym in zip(names, args):
            mapping[arg_name] = _as_symbol(sym, arg_name)._entry(arg_name)
        for key, sym in kwargs.items():
            if key not in self.list_inputs():
                raise GraphError(f"compose: the symbol has no input named {key!r}; inputs are "
                                 f"{self.list_inputs()}")
            mapping[key] = _as_symbol(sym, key)._entry(key)
        memo: Dict[int, Entry] = {}

        def rebuild(entry: Entry) -> Entry:
            node, idx = entry
            if node.op is None:
                if node.name in mapping:
                    return mapping[node.name]
                return entry
            new = memo.get(id(node))
            if new is None:
                inputs = [rebuild(e) for e in node.inputs]
                if all(a is b for a, b in zip(inputs, node.inputs)):
                    new = (node, 0)
                else:
                    new = (Node(node.op, node.name, dict(node.attrs), node.params, inputs,
                                node.site), 0)
                memo[id(node)] = new
            return (new[0], idx)

        return Symbol([rebuild(e) for e in self._outputs])

    def __copy__(self) -> "Symbol":
        return Symbol(self._outputs)

    def __deepcopy__(self, memo) -> "Symbol":
        return Symbol(self._outputs)

    def __getstate__(self):
        raise TypeError("symnet symbols are not pickled; use tojson() / mx.sym.load_json")

    def __repr__(self) -> str:
        if len(self._outputs) == 1:
            return f"<Symbol {self.name}>"
        return f"<Symbol group [{', '.join(self.list_outputs())}]>"

    # ---- arithmetic ---------------------------------------------------------------------------
    def _binary(self, other, op_name, hint, scalar_op, scalar_hint):
        if isinstance(other, Symbol):
            return _create(get_op(op_name), hint, (self, other), {})
        if isinstance(other, (numbers.Number, np.generic)):
            return _create(get_op(scalar_op), scalar_hint, (self,), {"scalar": other})
        return NotImplemented

    def __add__(self, other):
        return self._binary(other, "elemwise_add", "_plus", "_plus_scalar", "_plusscalar")

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        return self._binary(other, "elemwise_sub", "_minus", "_minus_scalar", "_minusscalar")

    def __rsub__(self, other):
        return self._binary(other, "elemwise_sub", "_minus", "_rminus_scalar", "_rminusscalar")

    def __mul__(self, other):
        return self._binary(other, "elemwise_mul", "_mul", "_mul_scalar", "_mulscalar")

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        return self._binary(other, "elemwise_div", "_div", "_div_scalar", "_divscalar")

    def __rtruediv__(self, other):
        return self._binary(other, "elemwise_div", "_div", "_rdiv_scalar", "_rdivscalar")

    def __pow__(self, other):
        return self._binary(other, "_power", "_power", "_power_scalar", "_powerscalar")

    def __rpow__(self, other):
        return self._binary(other, "_power", "_power", "_rpower_scalar", "_rpower_scalar")

    def __neg__(self):
        return _create(get_op("_mul_scalar"), "_mulscalar", (self,), {"scalar": -1.0})

    def __gt__(self, other):
        return self._binary(other, "_greater", "_greater", "_greater_scalar", "_greater_scalar")

    def __ge__(self, other):
        return self._binary(other, "_greater_equal", "_greater_equal", "_greater_equal_scalar",
                            "_greater_equal_scalar")

    def __lt__(self, other):
        return self._binary(other, "_lesser", "_lesser", "_lesser_scalar", "_lesser_scalar")

    def __le__(self, other):
        return self._binary(other, "_lesser_equal", "_lesser_equal", "_lesser_equal_scalar",
                            "_lesser_equal_scalar")

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        return True

    # ---- fluent methods -----------------------------------------------------------------------
    def __getattr__(self, item: str):
        if item.startswith("_"):
            raise AttributeError(item)
        from ..ops.registry import has_op
        if item in _FLUENT and has_op(_FLUENT[item]):
            op_name = _FLUENT[item]

            def method(*args, **kwargs):
                return _create(get_op(op_name), op_name.lower(), (self,) + args, kwargs)

            method.__name__ = item
            return method
        raise AttributeError(f"'Symbol' object has no attribute {item!r}")

    # ---- inference, serialisation, binding (implemented in sibling modules) --------------------
    def infer_shape(self, *args, **kwargs):
        """``(arg_shapes, out_shapes, aux_shapes)`` from known input shapes.

        Returns ``(None, None, None)`` (with a warning) if some argument shape stays unknown.

        Example:
            >>> arg, out, aux = net.infer_shape(data=(100, 1, 28, 28))
        """
        from ..passes import infer_shape
        return infer_shape(self, args, kwargs, partial=False)

    def infer_shape_partial(self, *args, **kwargs):
        """Like ``infer_shape`` but unknown shapes are returned as ``()``."""
        from ..passes import infer_shape
        return infer_shape(self, args, kwargs, partial=True)

    def infer_type(self, *args, **kwargs):
        """``(arg_types, out_types, aux_types)`` as numpy type classes (e.g. ``np.float32``)."""
        from ..passes import infer_type
        return infer_type(self, args, kwargs)

    def tojson(self) -> str:
        """MXNet's ``-symbol.json`` text for this graph."""
        from .json_io import to_json
        return to_json(self)

    def save(self, fname: str, remove_amp_cast: bool = True) -> None:
        """Write ``tojson()`` to ``fname`` atomically."""
        from .json_io import save
        save(self, fname)

    def simple_bind(self, ctx=None, grad_req="write", type_dict=None, stype_dict=None,
                    group2ctx=None, shared_arg_names=None, shared_exec=None, shared_buffer=None,
                    **kwargs):
        """Allocate arrays from input shapes and bind (see ``symnet.executor``)."""
        from ..executor import simple_bind
        return simple_bind(self, ctx, grad_req=grad_req, type_dict=type_dict, **kwargs)

    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None,
             group2ctx=None, shared_exec=None):
        """Bind given arrays (dicts or lists in ``list_*`` order) into an Executor."""
        from ..executor import bind
        return bind(self, ctx, args, args_grad=args_grad, grad_req=grad_req,
                    aux_states=aux_states)

    def eval(self, ctx=None, **kwargs):
        """Evaluate with the given input arrays; returns a list of NDArrays."""
        exe = self.bind(ctx, kwargs)
        return exe.forward()


_FLUENT = {name: name for name in (
    "reshape", "flatten", "transpose", "expand_dims", "sum", "mean", "max", "min", "prod",
    "exp", "log", "sqrt", "square", "abs", "sign", "relu", "sigmoid", "tanh", "softmax",
    "log_softmax", "clip", "slice_axis", "slice", "split", "argmax", "argmin", "norm", "tile",
    "repeat", "swapaxes", "one_hot", "take", "broadcast_to", "zeros_like", "ones_like",
    "round", "floor", "ceil", "reciprocal", "log1p", "expm1", "rsqrt", "dot")}
_FLUENT["astype"] = "Cast"


def _as_symbol(value: Any, what: str) -> Symbol:
    if not isinstance(value, Symbol):
        raise TypeError(f"{what}: expected a Symbol, received {type(value).__name__}")
    return value


# ---- creation ----------------------------------------------------------------------------------

def Variable(name: str, attr: Optional[Dict[str, str]] = None, shape=None, lr_mult=None,
             wd_mult=None, dtype=None, init=None, stype=None, **kwargs) -> Symbol:
    """A graph input (argument or auxiliary state).

    Args:
        name: the variable's name (not prefixed by NameManager, as in MXNet).
        attr: extra attributes, kept verbatim (``ctx_group``/``lr_mult``/... stored as ``__k__``).
        shape: known shape, used by infer_shape.
        lr_mult, wd_mult: per-parameter multipliers the optimizer applies.
        dtype: numpy dtype or name.
        init: an Initializer (or its ``dumps()`` string) used for this variable.

    Example:
        >>> data = mx.sym.Variable('data')
    """
    if not isinstance(name, str):
        raise TypeError(f"Variable name must be a string, received {name!r}")
    attrs = attribute.normalize(attribute.current().get(attr))
    if shape is not None:
        attrs["__shape__"] = str(shape)
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        attrs["__dtype__"] = str(DTYPE_FLAGS[np.dtype(dtype).name])
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        attrs["__storage_type__"] = str({"default": 0, "row_sparse": 1, "csr": 2}[stype])
    for key, value in kwargs.items():
        if not (key.startswith("__") and key.endswith("__")):
            raise ParamError(f"Variable {name!r}: attribute name {key!r} is not supported; extra "
                             "attributes must start and end with double underscores, e.g. "
                             "__yourattr__")
        attrs[key] = str(value)
    return Symbol([(Node(None, name, attrs, None, (), user_site()), 0)])


var = Variable


def Group(symbols: Sequence[Symbol]) -> Symbol:
    """One symbol whose outputs are the outputs of ``symbols``, in order."""
    if not symbols or not all(isinstance(s, Symbol) for s in symbols):
        raise TypeError("Group expects a non-empty list of Symbols")
    return Symbol([e for s in symbols for e in s._outputs])


def _create(op: Op, hint: str, args: Sequence[Any], kwargs: Dict[str, Any]) -> Symbol:
    """Apply ``op`` to input symbols; auto-create missing inputs as ``<name>_<slot>``."""
    kwargs = dict(kwargs)
    name = kwargs.pop("name", None)
    attr = kwargs.pop("attr", None)
    site = user_site()
    flat_args: List[Any] = []
    for a in args:
        if isinstance(a, (list, tuple)) and a and all(isinstance(s, Symbol) for s in a):
            flat_args.extend(a)  # MXNet accepts Concat([a, b]) as well as Concat(a, b)
        else:
            flat_args.append(a)
    for a in flat_args:
        if not isinstance(a, Symbol):
            raise TypeError(f"{op.name}: positional inputs must be Symbols, received "
                            f"{type(a).__name__} {a!r}; pass parameters by keyword")
    sym_kwargs = {k: v for k, v in kwargs.items() if isinstance(v, Symbol)}
    raw = {k: v for k, v in kwargs.items() if not isinstance(v, Symbol)
           and (v is not None or none_is_a_value(op, k))}
    if op.variadic and op.variadic not in raw:
        raw[op.variadic] = len(flat_args)
    label = f"{op.name} '{name}'" if name else op.name
    try:
        params = parse_params(op, raw)
    except SymnetError as err:
        raise type(err)(f"{err} (in {label}, created at {site})") from None
    node_name = _name.current().get(name, hint)
    attrs = {k: attr_str(v) for k, v in raw.items()}
    attrs.update(attribute.normalize(attribute.current().get(attr)))
    arg_names = tuple(op.arguments(params))
    slots = arg_names + tuple(op.aux_states(params))
    if len(flat_args) > len(arg_names):
        raise GraphError(f"{op.name} '{node_name}' (created at {site}): received "
                         f"{len(flat_args)} positional inputs but takes {len(arg_names)} "
                         f"{list(arg_names)}")
    entries: List[Optional[Entry]] = [None] * len(slots)
    for i, sym in enumerate(flat_args):
        entries[i] = sym._entry(f"{op.name} '{node_name}' input {slots[i]!r}")
    for key, sym in sym_kwargs.items():
        if key not in slots:
            raise ParamError(f"{op.name} '{node_name}' (created at {site}): unknown input "
                             f"{key!r}; its inputs are {list(slots)}")
        i = slots.index(key)
        if entries[i] is not None:
            raise GraphError(f"{op.name} '{node_name}': input {key!r} given twice")
        entries[i] = sym._entry(f"{op.name} '{node_name}' input {key!r}")
    for i, slot in enumerate(slots):
        if entries[i] is None:
            if not op.auto_input(params, slot):
                raise GraphError(f"{op.name} '{node_name}' (created at {site}): input {slot!r} "
                                 "is required")
            # MXNet compat: auto-created variables copy the operator's attributes.
            var_attrs = dict(attrs)
            var_attrs.update(op.auto_attrs(params, slot))
            var_node = Node(None, f"{node_name}_{slot}", var_attrs, None, (), site)
            entries[i] = (var_node, 0)
    node = Node(op, node_name, attrs, params, entries, site)
    return Symbol([(node, i) for i in range(node.num_visible)])


def make_creator(op: Op, hint: Optional[str] = None):
    """The ``mx.sym.<OpName>`` function for ``op`` (auto names use ``hint``)."""
    hint = hint or op.hint

    def creator(*args, **kwargs) -> Symbol:
        return _create(op, hint, args, kwargs)

    creator.__name__ = op.name
    creator.__qualname__ = op.name
    creator.__doc__ = op.__doc__
    return creator
