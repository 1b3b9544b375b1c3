"""Layout pass: run 2-D convolution chains channels-last (NHWC) while the graph stays NCHW.

Data is transposed to NHWC before a 2-D Convolution and stays NHWC through pooling, elementwise
ops, BatchNorm(axis=1) and Concat(dim=1); it is transposed back to NCHW before anything else
(Flatten, FullyConnected, unknown ops, graph outputs), so every op outside the chain sees exactly
MXNet's layout (Flatten keeps MXNet's (C, H, W) order). Weights stay OIHW: parameter names,
shapes and checkpoints do not change.
"""
from __future__ import annotations

import dataclasses
from typing import Dict, Tuple

from ..ops.fused import conv2d_nchw_ok
from ..ops.registry import get_op
from ..symbol.symbol import Entry, Node, Symbol
from .graph import internal_node, rebuild

__all__ = ["to_nhwc", "ELEMENTWISE"]

#: Ops that compute elementwise on same-shaped inputs, so any layout works.
ELEMENTWISE = frozenset({
    "Activation", "elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "add_n",
    "relu", "sigmoid", "tanh", "abs", "exp", "negative", "square",
    "_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar",
    "_rdiv_scalar", "_maximum_scalar", "_minimum_scalar", "_power_scalar",
})

Key = Tuple[int, int]


def _pool_ok(p) -> bool:
    return (p.global_pool or len(p.kernel) == 2) and p.layout in (None, "NCHW")


def to_nhwc(sym: Symbol, im2col: bool = False) -> Symbol:
    """Rewrite ``sym`` so that 2-D conv/pool chains run in NHWC.

    Args:
        sym: the graph (may already contain NCHW ``_sn_conv_pool_act`` nodes from ``fuse``).
        im2col: lower the convolutions as kh*kw static slices + one dot (for ``lax.scan``).

    Returns:
        the rewritten graph, with the same arguments, auxiliary states and outputs (``sym``
        itself when it has no 2-D convolution).
    """
    conv_op, pool_op = get_op("_sn_conv_nhwc"), get_op("_sn_pool_nhwc")
    to_nhwc_op, to_nchw_op = get_op("_sn_to_nhwc"), get_op("_sn_to_nchw")
    nchw: Dict[Key, Entry] = {}  # entries in MXNet's layout (or without a layout)
    nhwc: Dict[Key, Entry] = {}  # 4-D entries in channels-last layout
    changed = False

    def get_nchw(e: Entry) -> Entry:
        key = (id(e[0]), e[1])
        got = nchw.get(key)
        if got is None:
            node, idx = e
            outs = node.op.outputs(node.params)
            # The converted value carries the original name (a graph output keeps its name).
            params = to_nchw_op.Params(out=outs[idx] if idx < len(outs) else "output")
            conv = internal_node(to_nchw_op, node.name, params, [nhwc[key]], node.site)
            got = nchw[key] = (conv, 0)
        return got

    def get_nhwc(e: Entry) -> Entry:
        key = (id(e[0]), e[1])
        got = nhwc.get(key)
        if got is None:
            src = get_nchw(e)
            node = internal_node(to_nhwc_op, f"{e[0].name}_nhwc", None, [src], e[0].site)
            got = nhwc[key] = (node, 0)
        return got

    def in_nhwc(e: Entry) -> bool:
        return (id(e[0]), e[1]) in nhwc

    def emit(node: Node, new: Node, layout: Dict[Key, Entry], n_out: int) -> None:
        for i in range(n_out):
            layout[(id(node), i)] = (new, i)

    for node in sym._topo():
        if node.op is None:
            nchw[(id(node), 0)] = (node, 0)
            continue
        name, p = node.op.name, node.params
        args = list(node.inputs)
        if name == "Convolution" and conv2d_nchw_ok(p):
            ins = [get_nhwc(args[0])] + [get_nchw(e) for e in args[1:]]
            new = internal_node(conv_op, node.name, conv_op.Params(conv=p, im2col=im2col), ins,
                                node.site, im2col=im2col)
            emit(node, new, nhwc, 1)
        elif name == "_sn_conv_pool_act" and p.layout == "NCHW":
            ins = [get_nhwc(args[0])] + [get_nchw(e) for e in args[1:]]
            params = dataclasses.replace(p, layout="NHWC", im2col=im2col)
            new = internal_node(node.op, node.name, params, ins, node.site, **node.attrs)
            emit(node, new, nhwc, node.num_outputs)
        elif name == "Pooling" and in_nhwc(args[0]) and _pool_ok(p):
            new = internal_node(pool_op, node.name, pool_op.Params(pool=p), [get_nhwc(args[0])],
                                node.site, pool_type=p.pool_type)
            emit(node, new, nhwc, node.num_outputs)
        elif name in ELEMENTWISE and args and all(in_nhwc(e) for e in args):
            new = rebuild(node, [get_nhwc(e) for e in args])
            emit(node, new, nhwc, node.num_outputs)
        elif name == "BatchNorm" and in_nhwc(args[0]) and p.axis in (1, -3):
            ins = [get_nhwc(args[0])] + [get_nchw(e) for e in args[1:]]
            new = Node(node.op, node.name, dict(node.attrs), dataclasses.replace(p, axis=3), ins,
                       node.site)
            emit(node, new, nhwc, 1)
            nchw[(id(node), 1)] = (new, 1)  # mean and var: (C,), no layout
            nchw[(id(node), 2)] = (new, 2)
        elif name == "Concat" and p.dim in (1, -3) and all(in_nhwc(e) for e in args):
            new = Node(node.op, node.name, dict(node.attrs), dataclasses.replace(p, dim=3),
                       [get_nhwc(e) for e in args], node.site)
            emit(node, new, nhwc, 1)
        else:
            new = rebuild(node, [get_nchw(e) for e in args])
            emit(node, new, nchw, node.num_outputs)
            continue
        changed = True
    if not changed:
        return sym
    return Symbol([get_nchw(e) for e in sym._outputs])
