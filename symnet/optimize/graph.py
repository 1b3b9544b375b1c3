"""Small helpers shared by the graph rewrite passes (use counts, node rebuilding)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

from ..ops.registry import Op, attr_str
from ..symbol.symbol import Entry, Node, Symbol

Key = Tuple[int, int]


def use_counts(sym: Symbol) -> Dict[Key, int]:
    """How often each node output ``(id(node), index)`` is read: by node inputs or as an output.

    Args:
        sym: the graph.

    Returns:
        counts keyed by ``(id(node), output_index)``; absent means unused.
    """
    counts: Dict[Key, int] = {}
    for node in sym._topo():
        for src, idx in node.inputs:
            counts[(id(src), idx)] = counts.get((id(src), idx), 0) + 1
    for node, idx in sym._outputs:
        counts[(id(node), idx)] = counts.get((id(node), idx), 0) + 1
    return counts


def rebuild(node: Node, inputs: Sequence[Entry]) -> Node:
    """``node`` itself when ``inputs`` are its own, else a copy reading ``inputs``."""
    if len(inputs) == len(node.inputs) and all(
            a[0] is b[0] and a[1] == b[1] for a, b in zip(inputs, node.inputs)):
        return node
    return Node(node.op, node.name, dict(node.attrs), node.params, inputs, node.site)


def internal_node(op: Op, name: str, params: Any, inputs: Sequence[Entry],
                  site: Optional[str], **attrs: Any) -> Node:
    """A node of an internal ``_sn_*`` operator (its attrs are informative only)."""
    return Node(op, name, {k: attr_str(v) for k, v in attrs.items()}, params, inputs, site)
