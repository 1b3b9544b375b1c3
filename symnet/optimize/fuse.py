"""Fusion pass: Conv(bias) -> [non-decreasing Activation] -> max Pooling => ``_sn_conv_pool_act``.

The fused node computes conv without bias -> pool -> + bias -> activation, which is exact (see
``symnet.ops.fused.ConvPoolAct``) and does the bias add and the activation on 1/(kh*kw) of the
elements. It is applied only where the conv (and activation) outputs have no other reader, the
pooling is max with kernel == stride, no padding and the 'valid' convention, and the activation
is one of relu, sigmoid, tanh, softrelu (never avg pooling, never softsign or others).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

from ..ops.fused import MONOTONE_ACTS, conv2d_nchw_ok, fusable_pool
from ..ops.registry import get_op
from ..symbol.symbol import Entry, Node, Symbol
from .graph import internal_node, rebuild, use_counts

__all__ = ["fuse_conv_pool_act", "match_conv_pool_act"]


def match_conv_pool_act(pool: Node, uses: Dict[Tuple[int, int], int]
                        ) -> Optional[Tuple[Node, Optional[Node]]]:
    """``(conv, act_or_None)`` when ``pool`` ends a fusable chain, else None.

    Args:
        pool: a node of the graph.
        uses: ``use_counts`` of the graph.
    """
    if pool.op is None or pool.op.name != "Pooling" or not fusable_pool(pool.params):
        return None
    src, idx = pool.inputs[0]
    if idx != 0 or uses.get((id(src), 0), 0) != 1 or src.op is None:
        return None
    act = None
    if src.op.name == "Activation":
        if src.params.act_type not in MONOTONE_ACTS:
            return None
        act = src
        src, idx = act.inputs[0]
        if idx != 0 or uses.get((id(src), 0), 0) != 1 or src.op is None:
            return None
    if src.op.name != "Convolution" or not conv2d_nchw_ok(src.params):
        return None
    return src, act


def fuse_conv_pool_act(sym: Symbol) -> Symbol:
    """Rewrite every fusable Conv -> [Activation] -> Pooling chain of ``sym`` (NCHW fused op).

    Args:
        sym: the graph; names, arguments, auxiliary states and outputs are kept.

    Returns:
        the rewritten graph (``sym`` itself when nothing matched).
    """
    uses = use_counts(sym)
    op = get_op("_sn_conv_pool_act")
    fused_params = op.Params
    new: Dict[int, Node] = {}
    changed = False

    def entry(e: Entry) -> Entry:
        return (new[id(e[0])], e[1])

    for node in sym._topo():
        if node.op is None:
            new[id(node)] = node
            continue
        match = match_conv_pool_act(node, uses)
        if match is None:
            new[id(node)] = rebuild(node, [entry(e) for e in node.inputs])
            continue
        conv, act = match
        act_type = "none" if act is None else act.params.act_type
        params = fused_params(conv=conv.params, pool=node.params, act_type=act_type,
                              layout="NCHW", im2col=False)
        inputs: List[Entry] = [entry(e) for e in conv.inputs]
        # The fused node takes the pool's name: the chain's output keeps its name.
        new[id(node)] = internal_node(op, node.name, params, inputs, node.site,
                                      act_type=act_type, conv=conv.name)
        changed = True
    if not changed:
        return sym
    return Symbol([entry(e) for e in sym._outputs])
