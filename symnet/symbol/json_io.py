"""MXNet's ``-symbol.json`` format: write it exactly as MXNet 1.9.1 does, read any version."""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Dict, List

from .. import attribute
from ..base import GraphError, SymnetError
from ..ops.registry import get_op, has_op, param_names, parse_params
from .symbol import Node, Symbol

MXNET_VERSION = 10901


def _s(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _inline(value: Any) -> str:
    """dmlc::JSONWriter's single-line form: ``[0, 1]``, ``{"k": "v"}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_s(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, str):
        return _s(value)
    return str(value)


def _array(values: List[Any], level: int) -> str:
    """dmlc::JSONWriter writes arrays of more than 10 entries one entry per line."""
    if len(values) > 10:
        return _block([_inline(v) for v in values], level, "[]")
    return _inline(values)


def _block(items: List[str], level: int, brackets: str) -> str:
    """dmlc::JSONWriter's multi-line form (items end with ``", "`` then a newline)."""
    if not items:
        return brackets
    pad = "  " * (level + 1)
    return (brackets[0] + ", ".join(f"\n{pad}{item}" for item in items) + "\n" + "  " * level
            + brackets[1])


def _attrs_text(attrs: Dict[str, str], level: int) -> str:
    items = sorted(attrs.items())
    if len(items) == 1:
        return _inline(dict(items))
    return _block([f"{_s(k)}: {_s(v)}" for k, v in items], level, "{}")


def to_json(sym: Symbol) -> str:
    """Serialise ``sym`` as MXNet 1.9.1's ``tojson()`` text (same layout, byte for byte)."""
    order = sym._topo()
    index = {id(n): i for i, n in enumerate(order)}
    nodes = []
    row_ptr = [0]
    for node in order:
        fields = [f'"op": {_s("null" if node.op is None else node.op.name)}',
                  f'"name": {_s(node.name)}']
        if node.attrs:
            fields.append(f'"attrs": {_attrs_text(node.attrs, 3)}')
        # MXNet compat: an input read as auxiliary state (mutated) is written as version 1.
        inputs = [[index[id(src)], idx, int(slot >= node.num_args and src.op is None)]
                  for slot, (src, idx) in enumerate(node.inputs)]
        fields.append(f'"inputs": {_array(inputs, 3)}')
        nodes.append(_block(fields, 2, "{}"))
        row_ptr.append(row_ptr[-1] + node.num_outputs)
    arg_nodes = [i for i, n in enumerate(order) if n.op is None]
    heads = [[index[id(n)], i, 0] for n, i in sym._outputs]
    top = [f'"nodes": {_block(nodes, 1, "[]")}',
           f'"arg_nodes": {_array(arg_nodes, 1)}',
           f'"node_row_ptr": {_array(row_ptr, 1)}',
           f'"heads": {_array(heads, 1)}',
           f'"attrs": {_inline({"mxnet_version": ["int", MXNET_VERSION]})}']
    return _block(top, 0, "{}")


def save(sym: Symbol, fname: str) -> None:
    """Write ``sym.tojson()`` to ``fname`` atomically (temporary file, then rename)."""
    write_atomic(fname, sym.tojson().encode("utf-8"))


def write_atomic(fname: str, data: bytes) -> None:
    """Write bytes so that ``fname`` is either the old file or the complete new one."""
    directory = os.path.dirname(os.path.abspath(fname))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual file mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, fname)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_json(json_str: str, source: str = "<json>") -> Symbol:
    """Build a Symbol from MXNet JSON (any 1.x layout; legacy ``param``/``attr`` keys too)."""
    try:
        graph = json.loads(json_str)
    except json.JSONDecodeError as err:
        raise GraphError(f"{source}: malformed symbol JSON at line {err.lineno}, column "
                         f"{err.colno}: {err.msg}") from None
    if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list) \
            or "heads" not in graph:
        raise GraphError(f"{source}: not an MXNet symbol JSON (expected an object with 'nodes' "
                         "and 'heads')")
    built: List[Node] = []
    for nid, spec in enumerate(graph["nodes"]):
        built.append(_load_node(spec, nid, built, source))
    outputs = []
    for head in graph["heads"]:
        nid, idx = _ref(head, len(built), source, "heads")
        outputs.append((built[nid], idx))
    return Symbol(outputs)


def _ref(ref: Any, count: int, source: str, where: str):
    if not isinstance(ref, list) or len(ref) < 2 or not all(isinstance(v, int) for v in ref[:2]):
        raise GraphError(f"{source}: {where}: malformed input reference {ref!r}")
    if not 0 <= ref[0] < count:
        raise GraphError(f"{source}: {where}: refers to node {ref[0]}, which is not defined "
                         "before it")
    return ref[0], ref[1]


def _load_node(spec: Dict[str, Any], nid: int, built: List[Node], source: str) -> Node:
    if not isinstance(spec, dict) or "op" not in spec or "name" not in spec:
        raise GraphError(f"{source}: node {nid} is malformed (needs 'op' and 'name')")
    attrs: Dict[str, str] = {}
    for key in ("param", "attr", "attrs"):  # legacy (<0.9) files use param/attr
        attrs.update({k: str(v) for k, v in (spec.get(key) or {}).items()})
    # MXNet compat: old files store lr_mult/wd_mult/ctx_group plainly; MXNet renames them.
    attrs = attribute.normalize(attrs)
    name, op_name = spec["name"], spec["op"]
    site = f"{source} node {nid}"
    if op_name == "null":
        return Node(None, name, attrs, None, (), site)
    if not has_op(op_name):
        raise GraphError(
            f"{source}: node {nid} {name!r} uses operator {op_name!r}, which symnet does not "
            f"implement (attrs {attrs}). Register it with @symnet.ops.register({op_name!r}) on "
            "an Op subclass (see symnet/ops/nn.py for examples).")
    op = get_op(op_name)
    known = set(param_names(op))
    raw = {k: v for k, v in attrs.items()
           if k in known or (op.open_params and not k.startswith("__"))}
    try:
        params = parse_params(op, raw)
    except SymnetError as err:
        raise GraphError(f"{source}: node {nid} {name!r}: {err}") from None
    inputs = [_ref(r, len(built), source, f"node {nid} {name!r}") for r in spec.get("inputs", [])]
    entries = [(built[i], idx) for i, idx in inputs]
    n_args = len(op.arguments(params))
    aux = op.aux_states(params)
    if len(entries) == n_args and aux:
        # MXNet compat: pre-0.9 files omit auxiliary states; MXNet's upgrade pass adds them.
        entries += [(Node(None, f"{name}_{a}", {}, None, (), site), 0) for a in aux]
    want = n_args + len(aux)
    if len(entries) != want:
        slots = list(op.arguments(params)) + list(aux)
        raise GraphError(f"{source}: node {nid} {op_name} {name!r} has {len(entries)} inputs, "
                         f"expected {want} {slots}")
    return Node(op, name, attrs, params, entries, site)


def load(fname: str) -> Symbol:
    """Read a ``-symbol.json`` file written by MXNet or symnet."""
    try:
        with open(fname, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        raise GraphError(f"cannot read symbol file {fname!r}: {err.strerror}") from None
    return load_json(text, source=fname)
