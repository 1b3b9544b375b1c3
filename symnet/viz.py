"""See the network: ``plot_network`` (Graphviz dot), ``print_summary``, filter and history plots.

``plot_network`` and ``print_summary`` reproduce MXNet 1.9.1's ``mx.viz`` output (same nodes,
labels, colours, edge labels and summary table). Unlike MXNet, ``plot_network`` works without
Graphviz: the dot text is built here, and a ``graphviz.Digraph`` is returned only when both the
``graphviz`` Python package and the ``dot`` program are available; otherwise a :class:`DotGraph`
holding the same text is returned, whose ``render()`` says exactly what is missing.

``plot_filters`` and ``plot_history`` need matplotlib (``pip install symnet[viz]``).
"""
from __future__ import annotations

import html
import importlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from .base import FormatError, GraphError, ParamError, ShapeError, SymnetError
from .symbol.symbol import Node, Symbol

__all__ = ["plot_network", "print_summary", "plot_filters", "plot_history", "DotGraph",
           "MissingDependencyError", "cli_plot", "cli_summary", "add_plot_arguments",
           "add_summary_arguments"]

SymbolLike = Union[Symbol, str, os.PathLike]

# MXNet's colour map (ColorBrewer Set3), indexed as in mx.viz.plot_network.
_COLORS = ("#8dd3c7", "#fb8072", "#ffffb3", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5")
_WEIGHT_SUFFIXES = ("_weight", "_bias", "_beta", "_gamma", "_moving_var", "_moving_mean",
                    "_running_var", "_running_mean")
_INSTALL_DOT = ("install the Graphviz program: apt-get install graphviz (Debian/Ubuntu), "
                "brew install graphviz (macOS), conda install graphviz, or "
                "https://graphviz.org/download/")


class MissingDependencyError(SymnetError, ImportError):
    """An optional dependency (graphviz's ``dot``, the graphviz or matplotlib package) is absent.

    Derives from ``ImportError`` because MXNet raised ``ImportError`` when graphviz was missing.
    """


# ---- inputs -------------------------------------------------------------------------------------

def _as_symbol(symbol: SymbolLike, what: str) -> Symbol:
    """Accept a Symbol, a ``-symbol.json`` path, or MXNet JSON text."""
    from .symbol.json_io import load, load_json
    if isinstance(symbol, Symbol):
        return symbol
    if isinstance(symbol, os.PathLike):
        symbol = os.fspath(symbol)
    if isinstance(symbol, bytes):
        symbol = symbol.decode("utf-8")
    if isinstance(symbol, str):
        if symbol.lstrip().startswith("{"):
            return load_json(symbol, source="<json text>")
        if os.path.isfile(symbol):
            return load(symbol)
        raise GraphError(f"{what}: {symbol!r} is neither an existing -symbol.json file nor "
                         "MXNet JSON text. Pass a Symbol, a path such as 'lenet-symbol.json', "
                         "or the text of sym.tojson().")
    raise TypeError(f"{what}: symbol must be a Symbol, a -symbol.json path or JSON text, "
                    f"received {type(symbol).__name__}")


def _shape_table(sym: Symbol, shape: Mapping[str, Sequence[int]], what: str
                 ) -> Dict[str, Tuple[int, ...]]:
    """``{internal output name: shape}`` as MXNet builds it from ``get_internals()``."""
    if not isinstance(shape, Mapping):
        raise ShapeError(f"{what}: shape must be a dict of input shapes such as "
                         f"{{'data': (1, 1, 28, 28)}}, received {shape!r}")
    internals = sym.get_internals()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        arg_shapes, out_shapes, _ = internals.infer_shape(**{k: tuple(v) if isinstance(
            v, list) else v for k, v in shape.items()})
    if out_shapes is None:
        _, partial, _ = internals.infer_shape_partial(**{k: tuple(v) if isinstance(
            v, list) else v for k, v in shape.items()})
        unknown = [n for n, s in zip(internals.list_outputs(), partial) if not s]
        raise ShapeError(f"{what}: input shape is incomplete; cannot infer the shapes of "
                         f"{unknown} from shape={dict(shape)}. Give the shapes of every data "
                         f"input (arguments: {sym.list_arguments()}).")
    return dict(zip(internals.list_outputs(), (tuple(s) for s in out_shapes)))


def _type_table(sym: Symbol, dtype: Mapping[str, Any], what: str) -> Dict[str, type]:
    internals = sym.get_internals()
    _, out_types, _ = internals.infer_type(**dict(dtype))
    if out_types is None:
        raise ValueError(f"{what}: input type is incomplete; cannot infer every type from "
                         f"dtype={dict(dtype)}. Give the dtypes of the data inputs.")
    return dict(zip(internals.list_outputs(), out_types))


def _looks_like_weight(name: str) -> bool:
    return name.endswith(_WEIGHT_SUFFIXES)


def _digits(text: str) -> List[str]:
    """MXNet's ``_str2tuple``: the integers in a tuple attribute such as ``'(5, 5)'``."""
    return re.findall(r"\d+", text)


# ---- dot text -----------------------------------------------------------------------------------

_ID = re.compile(r"^[a-zA-Z_\u0080-\uffff][a-zA-Z0-9_\u0080-\uffff]*$")
_NUMERAL = re.compile(r"^-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)$")
_KEYWORDS = {"node", "edge", "graph", "digraph", "subgraph", "strict"}


def _quote(text: str) -> str:
    """Quote a dot ID as the graphviz package does (bare identifiers and numerals stay bare)."""
    text = str(text)
    if (_ID.match(text) or _NUMERAL.match(text)) and text.lower() not in _KEYWORDS:
        return text
    return '"' + re.sub(r'(?<!\\)"', r'\\"', text) + '"'


def _attr_list(attrs: Mapping[str, str]) -> str:
    if not attrs:
        return ""
    return " [" + " ".join(f"{_quote(k)}={_quote(v)}" for k, v in attrs.items()) + "]"


class _Graph:
    """Nodes, edges and graph attributes in drawing order; writes dot text with no dependency."""

    def __init__(self, name: str, fmt: str) -> None:
        self.name = name
        self.format = fmt
        self.nodes: List[Tuple[str, Dict[str, str]]] = []
        self.edges: List[Tuple[str, str, Dict[str, str]]] = []
        self.graph_attrs: Dict[str, str] = {}

    def source(self) -> str:
        lines = [f"digraph {_quote(self.name)} {{"]
        lines += [f"\t{_quote(n)}{_attr_list(a)}" for n, a in self.nodes]
        lines += [f"\t{_quote(t)} -> {_quote(h)}{_attr_list(a)}" for t, h, a in self.edges]
        if self.graph_attrs:
            lines.append(f"\tgraph{_attr_list(self.graph_attrs)}")
        return "\n".join(lines) + "\n}\n"

    def to_digraph(self):
        from graphviz import Digraph
        dot = Digraph(name=self.name, format=self.format)
        for name, attrs in self.nodes:
            attrs = dict(attrs)
            dot.node(name=name, label=attrs.pop("label"), **attrs)
        for tail, head, attrs in self.edges:
            attrs = dict(attrs)
            dot.edge(tail_name=tail, head_name=head, label=attrs.pop("label"), **attrs)
        if self.graph_attrs:
            dot.attr("graph", **self.graph_attrs)
        return dot


def _graphviz_status() -> Tuple[bool, Optional[str]]:
    """(graphviz package importable, path of ``dot`` or None)."""
    try:
        importlib.import_module("graphviz")
        has_pkg = True
    except ImportError:
        has_pkg = False
    return has_pkg, shutil.which("dot")


def _missing_message(action: str) -> str:
    has_pkg, dot = _graphviz_status()
    parts = []
    if dot is None:
        parts.append(f"the Graphviz 'dot' program is not on PATH ({_INSTALL_DOT})")
    if not has_pkg:
        parts.append("the 'graphviz' Python package is not installed (pip install graphviz, "
                     "or pip install symnet[viz])" + (
                         "; symnet renders with the 'dot' program alone, so installing the "
                         "program is enough" if dot is None else ""))
    status = " and ".join(parts) if parts else "Graphviz is available"
    return (f"cannot {action}: {status}. The dot text is still available as .source; save it "
            "with .save('net.gv') and render it elsewhere (e.g. https://dreampuf.github.io/"
            "GraphvizOnline).")


class DotGraph:
    """The network drawing as dot text, returned by :func:`plot_network` when Graphviz is absent.

    Mirrors the parts of ``graphviz.Digraph`` users call: ``source``, ``save``, ``render``,
    ``pipe``, ``view`` and notebook display. Rendering needs only the ``dot`` program; when it is
    missing they raise :class:`MissingDependencyError` naming what to install, and notebook
    display shows the dot text instead of raising.

    Attributes:
        name: the graph name (``title``).
        format: the default output format of ``render``/``pipe``.
        source: the dot text.
    """

    def __init__(self, source: str, name: str = "plot", format: str = "pdf") -> None:
        self.source = source
        self.name = name
        self.format = format
        self.filename = f"{name}.gv"
        self.directory = ""

    def __str__(self) -> str:
        return self.source

    def __repr__(self) -> str:
        return f"<symnet.viz.DotGraph {self.name!r}: {len(self.source.splitlines())} lines of dot>"

    def save(self, filename: Optional[str] = None, directory: Optional[str] = None) -> str:
        """Write the dot text (no Graphviz needed); returns the path written."""
        path = self._path(filename, directory)
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.source)
        return path

    def _path(self, filename, directory) -> str:
        filename = os.fspath(filename) if filename is not None else self.filename
        directory = os.fspath(directory) if directory is not None else self.directory
        return os.path.join(directory, filename) if directory else filename

    def pipe(self, format: Optional[str] = None, encoding: Optional[str] = None
             ) -> Union[bytes, str]:
        """Render with ``dot -T<format>`` and return the output (bytes, or str with encoding)."""
        fmt = format or self.format
        dot = shutil.which("dot")
        if dot is None:
            raise MissingDependencyError(_missing_message(f"render the graph as {fmt}"))
        proc = subprocess.run([dot, f"-T{fmt}"], input=self.source.encode("utf-8"),
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise SymnetError(f"dot -T{fmt} failed (exit {proc.returncode}): "
                              f"{proc.stderr.decode('utf-8', 'replace').strip()}")
        return proc.stdout.decode(encoding) if encoding else proc.stdout

    def render(self, filename: Optional[str] = None, directory: Optional[str] = None,
               view: bool = False, cleanup: bool = False, format: Optional[str] = None,
               outfile: Optional[str] = None, **_: Any) -> str:
        """Save the dot text and render it next to it as ``<filename>.<format>``.

        Returns:
            The path of the rendered file (``outfile`` if given).

        Raises:
            MissingDependencyError: the ``dot`` program is not on PATH.
        """
        fmt = format or self.format
        if outfile is not None:
            outfile = os.fspath(outfile)
            fmt = format or os.path.splitext(outfile)[1].lstrip(".") or self.format
        if shutil.which("dot") is None:
            raise MissingDependencyError(_missing_message(f"render the graph as {fmt}"))
        if outfile is not None and filename is None:
            filename = os.path.splitext(outfile)[0] + ".gv"
        src = self.save(filename, directory)
        out = outfile if outfile is not None else f"{src}.{fmt}"
        with open(out, "wb") as f:
            f.write(self.pipe(fmt))
        if cleanup:
            os.remove(src)
        if view:
            import webbrowser
            webbrowser.open("file://" + os.path.abspath(out))
        return out

    def view(self, filename: Optional[str] = None, directory: Optional[str] = None,
             cleanup: bool = False) -> str:
        """Render and open the result with the system viewer."""
        return self.render(filename, directory, view=True, cleanup=cleanup)

    def _repr_mimebundle_(self, include=None, exclude=None, **_: Any) -> Dict[str, str]:
        if shutil.which("dot") is not None:
            try:
                return {"image/svg+xml": self.pipe("svg", encoding="utf-8")}
            except SymnetError:
                pass
        return {"text/plain": self.source}

    def _repr_svg_(self) -> str:
        """SVG from ``dot`` when available, else an SVG showing the dot text (never raises)."""
        if shutil.which("dot") is not None:
            try:
                return self.pipe("svg", encoding="utf-8")
            except SymnetError:
                pass
        return _text_svg(self.source)


def _text_svg(text: str) -> str:
    lines = text.splitlines() or [""]
    width = 7 * max(len(line) for line in lines) + 20
    height = 16 * len(lines) + 20
    spans = "".join(f'<tspan x="10" dy="16">{html.escape(line.replace(chr(9), "    "))}</tspan>'
                    for line in lines)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}">'
            f'<text font-family="monospace" font-size="12" xml:space="preserve" y="4">{spans}'
            "</text></svg>")


# ---- statistics (show_stats) --------------------------------------------------------------------

_ZERO_FLOP_OPS = {"null", "Flatten", "flatten", "Reshape", "reshape", "Concat", "concat",
                  "SliceChannel", "split", "Dropout", "transpose", "expand_dims", "SwapAxis",
                  "slice_axis", "slice", "Crop", "Pad", "_copy", "Cast", "BlockGrad",
                  "stop_gradient", "identity", "tile", "repeat", "reverse", "broadcast_to",
                  "broadcast_axis", "broadcast_like", "stack", "take", "Embedding", "one_hot",
                  "UpSampling", "zeros_like", "ones_like", "squeeze"}


def _size(shape: Optional[Sequence[int]]) -> int:
    return int(np.prod(shape, dtype=np.int64)) if shape else 0


def _node_stats(node: Node, ins: List[Optional[tuple]], outs: List[Optional[tuple]],
                aux_ids: set) -> Tuple[int, int]:
    """(trainable parameter count, FLOPs) of one op node for the given shapes.

    FLOPs count a multiply-add as 2; elementwise ops as one per output element; shape-only ops
    (Reshape, Concat, ...) as 0.
    """
    params = 0
    for slot, (src, _) in enumerate(node.inputs):
        if (src.op is None and slot < node.num_args and id(src) not in aux_ids
                and _looks_like_weight(src.name)):
            params += _size(ins[slot])
    op = node.op.name
    p = node.params
    out = outs[0] if outs else None
    n_out = _size(out)
    has_bias = not getattr(p, "no_bias", True)
    if op == "FullyConnected":
        data = ins[0] or ()
        k = _size(data[1:]) if getattr(p, "flatten", True) else (data[-1] if data else 0)
        flops = 2 * n_out * k + (n_out if has_bias else 0)
    elif op == "Convolution":
        c_in = (ins[0] or (0, 0))[1] // max(getattr(p, "num_group", 1), 1)
        flops = 2 * n_out * c_in * _size(p.kernel) + (n_out if has_bias else 0)
    elif op == "Deconvolution":
        f_out = p.num_filter // max(getattr(p, "num_group", 1), 1)
        flops = 2 * _size(ins[0]) * f_out * _size(p.kernel) + (n_out if has_bias else 0)
    elif op == "Pooling":
        flops = _size(ins[0]) if getattr(p, "global_pool", False) else n_out * _size(p.kernel)
    elif op in ("BatchNorm", "InstanceNorm", "LayerNorm", "L2Normalization", "LRN"):
        flops = 2 * n_out
    elif op in ("dot", "batch_dot"):
        lhs = ins[0] or (0,)
        k = lhs[-2] if getattr(p, "transpose_a", False) else lhs[-1]
        flops = 2 * n_out * k
    elif op in _ZERO_FLOP_OPS:
        flops = 0
    else:
        flops = n_out
    return params, flops


def _human(value: float) -> str:
    """``431080 -> '431.1K'``, ``2293000 -> '2.29M'``, small values unchanged."""
    value = float(value)
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= div:
            scaled = value / div
            return f"{scaled:.3g}{unit}" if scaled < 100 else f"{scaled:.1f}{unit}"
    return f"{value:.3g}" if value != int(value) else str(int(value))


# ---- plot_network -------------------------------------------------------------------------------

def plot_network(symbol: SymbolLike, title: str = "plot", save_format: str = "pdf",
                 shape: Optional[Mapping[str, Sequence[int]]] = None,
                 dtype: Optional[Mapping[str, Any]] = None,
                 node_attrs: Optional[Mapping[str, str]] = None, hide_weights: bool = True,
                 show_stats: bool = False):
    """Draw the graph of ``symbol`` as MXNet 1.9.1's ``mx.viz.plot_network`` does.

    One node per operator and data input (weights, biases, BatchNorm gamma/beta/moving stats are
    hidden by default), edges from each operator back to its inputs, labelled with the input's
    shape without the batch axis when ``shape`` is given and its dtype when ``dtype`` is given.

    Args:
        symbol: a Symbol, a ``-symbol.json`` path, or MXNet JSON text.
        title: graph name (and default file name of ``render``).
        save_format: default format of ``render`` (``pdf``, ``svg``, ``png``...).
        shape: input shapes, e.g. ``{'data': (1, 1, 28, 28)}``; labels edges with output shapes.
        dtype: input dtypes, e.g. ``{'data': np.float32}``; appends ``(float32)`` to edge labels.
        node_attrs: Graphviz node attributes overriding the defaults (``shape=box``,
            ``fixedsize=true``, ``width=1.3``, ``height=0.8034``, ``style=filled``).
        hide_weights: hide ``*_weight``/``*_bias``/... inputs and their edges. With False the
            edges are drawn to undeclared (plain oval) nodes, as in MXNet.
        show_stats: (symnet extension, needs ``shape``) add each operator's trainable parameter
            count (when non-zero) and FLOPs per sample (a multiply-add counts 2) to its label,
            totals in the graph label, and label edges out of multi-output nodes with the shape
            of the output actually used (MXNet labels them all with the last output's shape).

    Returns:
        A ``graphviz.Digraph`` when the graphviz package and the ``dot`` program are both
        available, else a :class:`DotGraph`; both have ``.source``, ``.render()`` and display
        in notebooks.

    Raises:
        ShapeError: ``shape`` does not determine every shape.

    Example:
        >>> dot = mx.viz.plot_network(lenet, shape={'data': (1, 1, 28, 28)})
        >>> dot.render('lenet', format='svg')   # needs Graphviz's dot program
    """
    sym = _as_symbol(symbol, "plot_network")
    if show_stats and shape is None:
        raise ShapeError("plot_network(show_stats=True) needs input shapes to count parameters "
                         "and FLOPs; pass shape={'data': (1, ...)}")
    shape_dict = _shape_table(sym, shape, "plot_network") if shape is not None else None
    type_dict = _type_table(sym, dtype, "plot_network") if dtype is not None else None
    conf = json.loads(sym.tojson())
    nodes = conf["nodes"]
    names = [n["name"] for n in nodes]
    if len(names) != len(set(names)):
        seen: set = set()
        repeated = {n for n in names if n in seen or seen.add(n)}
        warnings.warn("There are multiple variables with the same name in your graph, this may "
                      "result in cyclic graph. Repeated names: " + ",".join(sorted(repeated)),
                      RuntimeWarning, stacklevel=2)
    node_attr = {"shape": "box", "fixedsize": "true", "width": "1.3", "height": "0.8034",
                 "style": "filled"}
    if show_stats:
        node_attr["fixedsize"] = "false"  # stats lines do not fit MXNet's fixed box
    node_attr.update(node_attrs or {})
    graph = _Graph(title, save_format)
    stats = _stats(sym, shape) if show_stats else None

    hidden = set()
    for i, node in enumerate(nodes):
        op, name = node["op"], node["name"]
        attrs = node.get("attrs") or {}
        attr = dict(node_attr)
        label = name
        if op == "null":
            if _looks_like_weight(name):
                if hide_weights:
                    hidden.add(name)
                # MXNet compat: with hide_weights=False the node is not declared, only its edges
                # are drawn, so Graphviz shows it as a plain oval.
                continue
            attr["shape"] = "oval"
            attr["fillcolor"] = _COLORS[0]
        else:
            label, attr["fillcolor"] = _op_label(op, name, attrs)
            if stats is not None:
                n_params, flops = stats["nodes"][i]
                if n_params:
                    label += f"\n{n_params:,} params"
                label += f"\n{_human(flops)} FLOPs"
        graph.nodes.append((name, {"label": label, **attr}))

    for node in nodes:
        op = node["op"]
        if op == "null":
            continue
        inputs = node["inputs"]
        if op == "_contrib_BilinearResize2D":
            inputs = inputs[:1]
        for item in inputs:
            src = nodes[item[0]]
            if src["name"] in hidden:
                continue
            key = _entry_key(src, item, stats is not None)
            label = ""
            if shape_dict is not None:
                label = "x".join(str(d) for d in _lookup(shape_dict, key, src, item)[1:])
            if type_dict is not None:
                label += "(" + _lookup(type_dict, key, src, item).__name__ + ")"
            graph.edges.append((node["name"], src["name"],
                                {"label": label, "arrowtail": "open", "dir": "back"}))

    if stats is not None:
        graph.graph_attrs = {"label": f"{title}: {stats['params']:,} trainable parameters, "
                                      f"{_human(stats['flops'])} FLOPs per sample",
                             "labelloc": "t"}
    has_pkg, dot = _graphviz_status()
    if has_pkg and dot is not None:
        return graph.to_digraph()
    return DotGraph(graph.source(), name=title, format=save_format)


def _op_label(op: str, name: str, attrs: Mapping[str, str]) -> Tuple[str, str]:
    """(label, fill colour) of an operator node, as in MXNet 1.9.1."""
    if op == "Convolution":
        stride = "x".join(_digits(attrs["stride"])) if "stride" in attrs else "1"
        return (f"Convolution\n{'x'.join(_digits(attrs['kernel']))}/{stride}, "
                f"{attrs['num_filter']}", _COLORS[1])
    if op == "FullyConnected":
        return f"FullyConnected\n{attrs['num_hidden']}", _COLORS[1]
    if op == "BatchNorm":
        return name, _COLORS[3]
    if op == "Activation":
        return f"Activation\n{attrs['act_type']}", _COLORS[2]
    if op == "LeakyReLU":
        return f"LeakyReLU\n{attrs.get('act_type', 'Leaky')}", _COLORS[2]
    if op == "Pooling":
        kernel = "x".join(_digits(attrs["kernel"])) if "kernel" in attrs else "[]"
        stride = "x".join(_digits(attrs["stride"])) if "stride" in attrs else "1"
        # MXNet compat: MXNet reads pool_type from the attributes (KeyError when left default).
        pool_type = attrs.get("pool_type", "max")
        return f"Pooling\n{pool_type}, {kernel}/{stride}", _COLORS[4]
    if op in ("Concat", "Flatten", "Reshape"):
        return name, _COLORS[5]
    if op == "Softmax":
        return name, _COLORS[6]
    if op == "Custom" and "op_type" in attrs:
        return attrs["op_type"], _COLORS[7]
    return name, _COLORS[7]


def _entry_key(src: Mapping[str, Any], item: Sequence[int], exact: bool) -> str:
    """The ``get_internals().list_outputs()`` name MXNet looks up for an edge's label."""
    if src["op"] == "null":
        return src["name"]
    key = src["name"] + "_output"
    attrs = src.get("attrs") or {}
    if "num_outputs" in attrs:
        # MXNet compat: every edge out of a multi-output node shows the last output's shape.
        key += str(item[1] if exact else int(attrs["num_outputs"]) - 1)
    return key


def _lookup(table: Mapping[str, Any], key: str, src: Mapping[str, Any], item: Sequence[int]):
    if key in table:
        return table[key]
    # Outputs not named <node>_output (e.g. BatchNorm with output_mean_var): use the entry itself.
    outs = [k for k in table if k.startswith(src["name"] + "_")]
    if item[1] < len(outs):
        return table[outs[item[1]]]
    raise GraphError(f"plot_network: no inferred value for output {key!r} of node "
                     f"{src['name']!r} (op {src['op']})")


def _stats(sym: Symbol, shape: Mapping[str, Sequence[int]]) -> Dict[str, Any]:
    from .passes import node_shapes
    known = {k: tuple(int(d) for d in v) for k, v in shape.items()}
    table = node_shapes(sym, known)
    batch = max(int(next(iter(known.values()))[0]) if known else 1, 1)
    aux_ids = {id(n) for n in sym._input_kinds()[1]}
    per_node: Dict[int, Tuple[int, int]] = {}
    total_params = 0
    total_flops = 0
    for i, node in enumerate(sym._topo()):
        if node.op is None:
            continue
        ins = [table.get((id(src), idx)) for src, idx in node.inputs]
        outs = [table.get((id(node), k)) for k in range(node.num_visible)]
        n_params, flops = _node_stats(node, ins, outs, aux_ids)
        flops = int(round(flops / batch))
        per_node[i] = (n_params, flops)
        total_params += n_params
        total_flops += flops
    return {"nodes": per_node, "params": total_params, "flops": total_flops}


# ---- print_summary ------------------------------------------------------------------------------

def print_summary(symbol: SymbolLike, shape: Optional[Mapping[str, Sequence[int]]] = None,
                  line_length: int = 120,
                  positions: Sequence[float] = (.44, .64, .74, 1.)) -> None:
    """Print MXNet 1.9.1's layer table: name(op), output shape, parameter count, inputs.

    Args:
        symbol: a Symbol, a ``-symbol.json`` path, or MXNet JSON text.
        shape: input shapes, e.g. ``{'data': (1, 1, 28, 28)}``. Without it shapes are blank and
            only parameters MXNet can count without shapes are counted (as in MXNet).
        line_length: width of the table.
        positions: column ends, relative (all <= 1) or absolute.

    Example:
        >>> mx.viz.print_summary(lenet, shape={'data': (1, 1, 28, 28)})  # Total params: 431080
    """
    sym = _as_symbol(symbol, "print_summary")
    for line in _summary_lines(sym, shape, line_length, positions):
        print(line)


def _summary_lines(sym: Symbol, shape, line_length: int, positions: Sequence[float]) -> List[str]:
    show_shape = shape is not None
    shape_dict = _shape_table(sym, shape, "print_summary") if show_shape else {}
    conf = json.loads(sym.tojson())
    nodes = conf["nodes"]
    # MXNet compat: MXNet tests membership in the first head entry [node, index, version], so
    # node 0 (and the variable whose id equals the head's node/index) count as "heads".
    heads = set(conf["heads"][0])
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    out: List[str] = []

    def row(fields):
        line = ""
        for i, field in enumerate(fields):
            line += str(field)
            line = line[:positions[i]]
            line += " " * (positions[i] - len(line))
        out.append(line)

    def layer(node, out_shape) -> int:
        op = node["op"]
        attrs = node.get("attrs") or {}
        pre_node: List[str] = []
        pre_filter = 0
        if op != "null":
            for item in node["inputs"]:
                src = nodes[item[0]]
                if src["op"] != "null" or item[0] in heads:
                    pre_node.append(src["name"])
                    if show_shape:
                        key = src["name"] + "_output" if src["op"] != "null" else src["name"]
                        if key in shape_dict:
                            pre_filter += int(shape_dict[key][1:][0])
        params = 0
        if op == "Convolution":
            params = pre_filter * int(attrs["num_filter"]) // int(attrs.get("num_group", "1"))
            for k in _digits(attrs["kernel"]):
                params *= int(k)
            if attrs.get("no_bias") != "True":
                params += int(attrs["num_filter"])
        elif op == "FullyConnected":
            if attrs.get("no_bias") == "True":
                params = pre_filter * int(attrs["num_hidden"])
            else:
                params = (pre_filter + 1) * int(attrs["num_hidden"])
        elif op == "BatchNorm":
            if show_shape:
                params = int(shape_dict[node["name"] + "_output"][1]) * 2
        elif op == "Embedding":
            params = int(attrs["input_dim"]) * int(attrs["output_dim"])
        row([f"{node['name']}({op})", "x".join(str(x) for x in out_shape), params,
             pre_node[0] if pre_node else ""])
        for extra in pre_node[1:]:
            row(["", "", "", extra])
        return params

    out.append("_" * line_length)
    row(["Layer (type)", "Output Shape", "Param #", "Previous Layer"])
    out.append("=" * line_length)
    total = 0
    for i, node in enumerate(nodes):
        op = node["op"]
        if op == "null" and i > 0:
            continue
        out_shape: Sequence[int] = []
        if show_shape and (op != "null" or i in heads):
            key = node["name"] + "_output" if op != "null" else node["name"]
            if key in shape_dict:
                out_shape = shape_dict[key][1:]
        total += layer(node, out_shape)
        out.append(("=" if i == len(nodes) - 1 else "_") * line_length)
    out.append(f"Total params: {total}")
    out.append("_" * line_length)
    return out


# ---- matplotlib plots ---------------------------------------------------------------------------

def _matplotlib(what: str):
    """``(Figure, FigureCanvasAgg)`` without touching pyplot's global state."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError(f"{what} needs matplotlib, which is not installed: "
                                     "pip install matplotlib (or pip install symnet[viz])"
                                     ) from None
    return Figure, FigureCanvasAgg


def _save_figure(fig, canvas_cls, fname: Optional[str]):
    canvas_cls(fig)
    if fname is None:
        return fig
    fname = os.fspath(fname)
    parent = os.path.dirname(fname)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.savefig(fname, dpi=fig.dpi)
    return fname


def _to_numpy(value: Any, what: str) -> np.ndarray:
    if hasattr(value, "asnumpy"):
        return np.asarray(value.asnumpy())
    try:
        return np.asarray(value)
    except Exception:  # noqa: BLE001 - report any conversion failure the same way
        raise ParamError(f"{what}: cannot convert {type(value).__name__} to an array") from None


def _find_weight(source: Any, layer_name: Optional[str], epoch: Optional[int]
                 ) -> Tuple[np.ndarray, str]:
    """The weight array and a display name from an array, a params dict, or a checkpoint."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not path.endswith(".params"):
            if epoch is None:
                raise ParamError(f"plot_filters: {path!r} is a checkpoint prefix, so epoch= is "
                                 "needed (reads <prefix>-<epoch:04d>.params); or pass the "
                                 ".params path")
            path = f"{path}-{int(epoch):04d}.params"
        from . import ndarray
        loaded = ndarray.load(path)
        if not isinstance(loaded, dict):
            raise FormatError(f"plot_filters: {path!r} holds an unnamed list of arrays; expected "
                              "named parameters such as 'arg:conv1_weight'")
        source = {k.split(":", 1)[1] if ":" in k else k: v for k, v in loaded.items()}
    if isinstance(source, Mapping):
        if layer_name is None:
            convs = sorted(k for k in source if k.endswith("_weight")
                           and np.ndim(_to_numpy(source[k], k)) == 4)
            raise ParamError(f"plot_filters: layer_name is required with a parameter dict; "
                             f"4-D weights here: {convs}")
        for key in (layer_name, f"{layer_name}_weight"):
            if key in source:
                return _to_numpy(source[key], key), key
        weights = sorted(k for k in source if k.endswith("_weight"))
        raise ParamError(f"plot_filters: no parameter {layer_name!r} or {layer_name + '_weight'!r}"
                         f"; weights available: {weights}")
    return _to_numpy(source, "plot_filters"), layer_name or "weight"


def _unit(tile: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (a constant tile becomes 0.5)."""
    tile = tile.astype(np.float64)
    lo, hi = np.nanmin(tile), np.nanmax(tile)
    if not np.isfinite(lo) or not np.isfinite(hi) or hi - lo < 1e-12:
        return np.full(tile.shape, 0.5)
    return (tile - lo) / (hi - lo)


def _mosaic(tiles: np.ndarray, rows: int, cols: int, pad: int = 1) -> np.ndarray:
    """Arrange ``tiles`` (n, h, w[, 3]) row-major into one image with white padding."""
    n, h, w = tiles.shape[:3]
    extra = tiles.shape[3:]
    image = np.ones((rows * (h + pad) + pad, cols * (w + pad) + pad) + extra)
    for k in range(n):
        r, c = divmod(k, cols)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        image[y:y + h, x:x + w] = tiles[k]
    return image


def plot_filters(weight_or_arg_params: Any, layer_name: Optional[str] = None,
                 fname: Optional[str] = None, *, epoch: Optional[int] = None,
                 max_filters: int = 64, max_channels: int = 32, cmap: str = "gray"):
    """Draw a convolution layer's weights as a grid of tiles and save it as a PNG.

    A first layer (1 or 3 input channels) gets one tile per filter (colour for 3 channels);
    deeper layers get one tile per (input channel, filter) pair: ``in_channels`` rows by
    ``num_filter`` columns. A FullyConnected weight (hidden, k*k) is drawn as k x k tiles.
    Each tile is scaled to its own min..max (first layer: per filter).

    Args:
        weight_or_arg_params: the weight, shape (num_filter, in_channels, kh, kw) (NDArray or
            array); or a dict of parameters (``arg_params``); or a checkpoint prefix (with
            ``epoch``) or a ``.params`` path.
        layer_name: the layer (``conv1`` or ``conv1_weight``); required for dicts/checkpoints.
        fname: the PNG to write; None returns the matplotlib Figure instead.
        epoch: checkpoint epoch when the first argument is a prefix.
        max_filters: draw at most this many filters (columns).
        max_channels: draw at most this many input channels (rows) of deeper layers.
        cmap: matplotlib colour map of single-channel tiles.

    Returns:
        ``fname``, or the Figure when ``fname`` is None.

    Example:
        >>> symnet.viz.plot_filters('mnist-lenet', 'conv1', 'conv1.png', epoch=10)
    """
    weight, title = _find_weight(weight_or_arg_params, layer_name, epoch)
    Figure, canvas_cls = _matplotlib("plot_filters")
    if weight.ndim == 2:
        side = int(round(math.sqrt(weight.shape[1])))
        if side * side != weight.shape[1]:
            raise ShapeError(f"plot_filters: {title} has shape {weight.shape}; a 2-D weight is "
                             "drawn only when its input size is a square (e.g. 784 = 28x28)")
        weight = weight.reshape(weight.shape[0], 1, side, side)
    if weight.ndim != 4:
        raise ShapeError(f"plot_filters: {title} has shape {weight.shape}; expected a 2-D "
                         "convolution weight (num_filter, in_channels, kh, kw)")
    weight = weight[:max_filters]
    n_f, n_c = weight.shape[:2]
    if n_c in (1, 3):
        tiles = np.stack([_unit(f) for f in weight])  # one tile per filter
        tiles = tiles[:, 0] if n_c == 1 else tiles.transpose(0, 2, 3, 1)
        cols = int(math.ceil(math.sqrt(n_f)))
        rows = int(math.ceil(n_f / cols))
        heading = f"{title}: {n_f} filters {weight.shape[2]}x{weight.shape[3]}"
    else:
        weight = weight[:, :max_channels]
        n_c = weight.shape[1]
        tiles = np.stack([_unit(weight[f, c]) for c in range(n_c) for f in range(n_f)])
        rows, cols = n_c, n_f
        heading = (f"{title}: rows = {n_c} input channels, columns = {n_f} filters, "
                   f"{weight.shape[2]}x{weight.shape[3]}")
    image = _mosaic(tiles, rows, cols)
    h, w = image.shape[:2]
    scale = min(max(10.0 / max(w, h), 0.02), 0.5)  # inches per mosaic pixel: ~10in at most
    fig = Figure(figsize=(max(w * scale, 3.0), max(h * scale, 2.0) + 0.5), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(image, cmap=None if image.ndim == 3 else cmap, vmin=0.0, vmax=1.0,
              interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(heading, fontsize=9)
    fig.tight_layout()
    return _save_figure(fig, canvas_cls, fname)


def _history_entries(history: Any) -> List[Mapping[str, Any]]:
    if hasattr(history, "history") and not isinstance(history, (list, tuple)):
        history = history.history
    if not isinstance(history, (list, tuple)) or not history:
        raise ParamError("plot_history: expected a non-empty list of per-epoch dicts such as "
                         "{'epoch': 0, 'train': {'accuracy': 0.9}, 'eval': {'accuracy': 0.91}} "
                         f"(or a model with .history), received {type(history).__name__}"
                         f"{' (empty)' if isinstance(history, (list, tuple)) else ''}")
    for i, entry in enumerate(history):
        if not isinstance(entry, Mapping):
            raise ParamError(f"plot_history: entry {i} is {type(entry).__name__}, expected a dict "
                             "with 'epoch', 'train' and optionally 'eval'")
        for part in ("train", "eval"):
            if entry.get(part) is not None and not isinstance(entry[part], Mapping):
                raise ParamError(f"plot_history: entry {i} has {part}={entry[part]!r}, expected "
                                 "a dict of metric name -> value")
    return list(history)


def _number(value: Any) -> Optional[float]:
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def plot_history(history: Any, fname: Optional[str] = None,
                 metrics: Optional[Sequence[str]] = None, title: str = "training history"):
    """Plot training curves (train and eval per metric, plus throughput) and save a PNG.

    Args:
        history: ``model.history`` (or the model): a list of per-epoch dicts
            ``{"epoch": 0, "train": {"accuracy": 0.9}, "eval": {"accuracy": 0.91},
            "time": 1.2, "samples_per_sec": 5000.0}`` (``eval``, ``time`` and
            ``samples_per_sec`` optional).
        fname: the PNG to write; None returns the matplotlib Figure instead.
        metrics: metric names to draw (default: all seen, in first-seen order).
        title: figure title.

    Returns:
        ``fname``, or the Figure when ``fname`` is None.
    """
    entries = _history_entries(history)
    Figure, canvas_cls = _matplotlib("plot_history")
    epochs = [e.get("epoch", i) for i, e in enumerate(entries)]
    seen: List[str] = []
    for e in entries:
        for part in ("train", "eval"):
            for name in (e.get(part) or {}):
                if name not in seen:
                    seen.append(name)
    if metrics is not None:
        unknown = [m for m in metrics if m not in seen]
        if unknown:
            raise ParamError(f"plot_history: metrics {unknown} not in the history; recorded "
                             f"metrics are {seen}")
        seen = list(metrics)
    speed = [_number(e.get("samples_per_sec")) for e in entries]
    panels = list(seen) + (["samples/sec"] if any(s is not None for s in speed) else [])
    if not panels:
        raise ParamError("plot_history: the history records no metric values and no "
                         "samples_per_sec")
    fig = Figure(figsize=(4.2 * len(panels), 3.4), dpi=100)
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        if panel == "samples/sec":
            xs = [x for x, s in zip(epochs, speed) if s is not None]
            ax.plot(xs, [s for s in speed if s is not None], marker="o", color="tab:green")
        else:
            for part, color in (("train", "tab:blue"), ("eval", "tab:orange")):
                pts = [(x, _number((e.get(part) or {}).get(panel))) for x, e in
                       zip(epochs, entries)]
                pts = [(x, y) for x, y in pts if y is not None]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o",
                            color=color, label=part)
            ax.legend(fontsize=8)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save_figure(fig, canvas_cls, fname)


# ---- command line -------------------------------------------------------------------------------

def add_plot_arguments(parser) -> None:
    """Add ``symnet plot``'s arguments to an ``argparse`` (sub)parser."""
    parser.add_argument("graph", help="a graph module name in graphs/ (e.g. lenet) or a "
                                      "-symbol.json path")
    parser.add_argument("-o", "--output", required=True,
                        help="output file: .svg, .png, .pdf (need Graphviz's dot) or .dot/.gv")
    _add_common_arguments(parser)
    parser.add_argument("--title", default=None, help="graph title (default: the graph name)")
    parser.add_argument("--show-weights", action="store_true",
                        help="draw weight/bias/BatchNorm inputs too (hide_weights=False)")
    parser.add_argument("--stats", action="store_true",
                        help="add parameter counts and FLOPs to the nodes (needs --shape)")


def add_summary_arguments(parser) -> None:
    """Add ``symnet summary``'s arguments to an ``argparse`` (sub)parser."""
    parser.add_argument("graph", help="a graph module name in graphs/ or a -symbol.json path")
    _add_common_arguments(parser)
    parser.add_argument("--line-length", type=int, default=120, help="table width")


def _add_common_arguments(parser) -> None:
    parser.add_argument("--shape", action="append", default=None,
                        help="input shape without the batch axis, e.g. 1,28,28 (for 'data'), or "
                             "name=1,28,28; repeatable")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="num_classes for a graphs/ network (default 10, or the named "
                             "configuration's own)")


def _resolve_graph(graph: str, num_classes: Optional[int] = None
                   ) -> Tuple[Symbol, str, Optional[Tuple[int, ...]]]:
    """(Symbol, display name, default input shape without batch or None) of a ``graphs/``
    network name (module or named configuration such as ``resnet-20-cifar``) or a JSON path."""
    if graph.endswith(".json") or os.path.isfile(graph):
        name = os.path.basename(graph)
        for suffix in ("-symbol.json", ".json"):
            if name.endswith(suffix):
                name = name[:-len(suffix)]
                break
        return _as_symbol(graph, "symnet"), name, None
    graphs = _import_graphs()
    kwargs = {} if num_classes is None else {"num_classes": num_classes}
    if hasattr(graphs, "build") and hasattr(graphs, "get"):
        configs = getattr(graphs, "CONFIGS", {})
        key = graph.strip().lower()
        if key not in configs:
            kwargs.setdefault("num_classes", 10)
        sym = graphs.build(graph, **kwargs)
        module = graphs.get(graph)
        shape = configs[key][1].get("image_shape") if key in configs else None
        if shape:
            default = tuple(int(d) for d in shape.split(","))
        else:
            default = getattr(module, "RECIPE", {}).get("input_shape")
        if not default and module.__name__.split(".")[-1] in getattr(graphs, "ZOO_NETS", ()):
            default = (3, 224, 224)  # the ImageNet nets' input size
        return sym, graph, tuple(default) if default else None
    module_name = graph.replace("-", "_")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", module_name):
        raise GraphError(f"{graph!r} is neither an existing -symbol.json file nor a graph name")
    try:
        module = importlib.import_module(f"graphs.{module_name}")
    except ModuleNotFoundError as err:
        if err.name != f"graphs.{module_name}":
            raise
        raise GraphError(f"no graph named {graph!r}: expected a module graphs/{module_name}.py "
                         f"with get_symbol(num_classes=...) or a -symbol.json path. Available: "
                         f"{_available_graphs(graphs)}") from None
    if not hasattr(module, "get_symbol"):
        raise GraphError(f"graphs.{module_name} has no get_symbol(num_classes=...) function")
    from . import name as _name
    with _name.NameManager():
        sym = module.get_symbol(num_classes=10 if num_classes is None else num_classes)
    default = getattr(module, "RECIPE", {}).get("input_shape")
    return sym, graph, tuple(default) if default else None


def _import_graphs():
    """The ``graphs`` package (from the working directory, or the source tree symnet is in)."""
    try:
        return importlib.import_module("graphs")
    except ModuleNotFoundError as err:
        if err.name != "graphs":
            raise
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.isdir(os.path.join(repo, "graphs")) and repo not in sys.path:
        sys.path.append(repo)
        return importlib.import_module("graphs")
    raise GraphError("cannot import the 'graphs' package (the network zoo); run from the symnet "
                     "source tree or pass a -symbol.json path")


def _available_graphs(graphs) -> List[str]:
    if hasattr(graphs, "names"):
        return list(graphs.names())
    found = set()
    for directory in getattr(graphs, "__path__", []):
        for f in os.listdir(directory):
            if f.endswith(".py") and not f.startswith("_"):
                found.add(f[:-3])
    return sorted(found)


def _parse_shapes(specs: Optional[Iterable[str]], sym: Symbol) -> Optional[Dict[str, tuple]]:
    """``['1,28,28']`` -> ``{'data': (1, 1, 28, 28)}`` (batch 1 prepended)."""
    if not specs:
        return None
    if isinstance(specs, str):
        specs = [specs]
    shapes: Dict[str, tuple] = {}
    for spec in specs:
        name, _, dims = spec.rpartition("=")
        if not name:
            data_like = [a for a in sym.list_arguments()
                         if not _looks_like_weight(a) and not a.endswith("_label")]
            name = "data" if "data" in data_like or not data_like else data_like[0]
        try:
            shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            raise ShapeError(f"--shape {spec!r}: expected comma-separated integers such as "
                             "1,28,28 (without the batch axis) or data=1,28,28") from None
        if not shape or any(d <= 0 for d in shape):
            raise ShapeError(f"--shape {spec!r}: expected positive integers such as 1,28,28")
        shapes[name] = (1,) + shape
    return shapes


def cli_plot(args) -> int:
    """``symnet plot GRAPH -o out.{svg,png,pdf,dot} [--shape 1,28,28]``.

    Without ``--shape`` a ``graphs/`` network uses its recipe's input shape (if it has one).

    Returns:
        0; errors are raised as :class:`SymnetError` (the CLI prints them).
    """
    sym, name, default = _resolve_graph(args.graph, getattr(args, "num_classes", None))
    shape = _shapes_for(args, sym, default)
    output = os.fspath(args.output)
    fmt = os.path.splitext(output)[1].lstrip(".").lower()
    if fmt not in ("svg", "png", "pdf", "dot", "gv"):
        raise ParamError(f"symnet plot: cannot tell the format of {output!r}; use an .svg, "
                         ".png, .pdf, .dot or .gv file name")
    dot = plot_network(sym, title=getattr(args, "title", None) or name,
                       save_format="pdf" if fmt in ("dot", "gv") else fmt, shape=shape,
                       hide_weights=not getattr(args, "show_weights", False),
                       show_stats=bool(getattr(args, "stats", False)) and shape is not None)
    if fmt in ("dot", "gv"):
        _write_text(output, dot.source)
    else:
        try:
            data = _pipe(dot, fmt)
        except MissingDependencyError as err:
            raise MissingDependencyError(f"{err} From the command line: symnet plot "
                                         f"{args.graph} -o {os.path.splitext(output)[0]}.dot"
                                         ) from None
        parent = os.path.dirname(output)
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(output, "wb") as f:
            f.write(data)
    print(f"wrote {output}")
    return 0


def _shapes_for(args, sym: Symbol, default: Optional[Tuple[int, ...]]):
    spec = getattr(args, "shape", None)
    if not spec and default:
        spec = [",".join(str(d) for d in default)]
    return _parse_shapes(spec, sym)


def _pipe(dot, fmt: str) -> bytes:
    if isinstance(dot, DotGraph):
        return dot.pipe(fmt)
    return DotGraph(dot.source, dot.name, fmt).pipe(fmt)


def _write_text(path: str, text: str) -> None:
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def cli_summary(args) -> int:
    """``symnet summary GRAPH [--shape 1,28,28]``: print MXNet's layer table.

    Returns:
        0; errors are raised as :class:`SymnetError` (the CLI prints them).
    """
    sym, _, default = _resolve_graph(args.graph, getattr(args, "num_classes", None))
    print_summary(sym, shape=_shapes_for(args, sym, default),
                  line_length=getattr(args, "line_length", 120) or 120)
    return 0
