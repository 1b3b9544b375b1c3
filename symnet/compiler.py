"""Lower a Symbol to one pure JAX function and cache its jit-compiled forms.

``compile_symbol(sym).apply(args, aux, rng, is_train) -> (outputs, new_aux)`` is pure: it can be
traced inside any ``jax.jit``/``jax.grad``. Each node runs under ``jax.named_scope(node.name)``
so profiles and XLA errors carry the user's names.
"""
from __future__ import annotations

import functools
import os
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from .base import GraphError
from .ops.registry import LowerCtx, Op
from .symbol.symbol import Node, Symbol
from .xla_options import compiler_options

__all__ = ["Graph", "compile_symbol"]

Arrays = Dict[str, jax.Array]


def _zero_cotangent(x):
    if jnp.issubdtype(x.dtype, jnp.inexact):
        return jnp.zeros_like(x)
    return np.zeros(x.shape, dtype=jax.dtypes.float0)


@functools.lru_cache(maxsize=None)
def _with_custom_grad(op: Op, params: Any, is_train: bool):
    """``op.lower`` wrapped so that its VJP is ``op.grad`` (MXNet's loss-head gradients)."""
    ctx = LowerCtx(is_train=is_train, rng=None, name=op.name)

    def run(*xs):
        return op.lower(params, ctx, *xs)

    fn = jax.custom_vjp(run)

    def fwd(*xs):
        out = run(*xs)
        return out, (xs, out)

    def bwd(res, g):
        xs, out = res
        multi = isinstance(out, tuple)
        grads = op.grad(params, xs, out if multi else (out,), g if multi else (g,))
        return tuple(_zero_cotangent(x) if gr is None else gr.astype(x.dtype)
                     for x, gr in zip(xs, grads))

    fn.defvjp(fwd, bwd)
    return fn


class Graph:
    """A symbol prepared for execution: node order, input names, cached jitted functions."""

    def __init__(self, sym: Symbol, compiler_options: Optional[Dict[str, str]] = None) -> None:
        self.symbol = sym
        #: XLA options of the jitted forms (``symnet.xla_options``; None: XLA's defaults).
        self.compiler_options = compiler_options or None
        self.order: List[Node] = sym._topo()
        self.arg_names: List[str] = sym.list_arguments()
        self.aux_names: List[str] = sym.list_auxiliary_states()
        self.output_names: List[str] = sym.list_outputs()
        self.needs_rng = any(n.op is not None and n.op.needs_rng for n in self.order)
        self._jit: Dict[Any, Any] = {}

    # ---- the pure function ----------------------------------------------------------------------
    def apply(self, args: Arrays, aux: Arrays, rng: Optional[jax.Array],
              is_train: bool) -> Tuple[Tuple[jax.Array, ...], Arrays]:
        """Run the graph.

        Args:
            args: one array per argument name.
            aux: one array per auxiliary state name.
            rng: a PRNG key (required when the graph has random ops and is_train).
            is_train: training mode (static).

        Returns:
            (outputs in list_outputs order, updated auxiliary states).
        """
        env: Dict[Tuple[int, int], jax.Array] = {}
        new_aux = dict(aux)
        for k, node in enumerate(self.order):
            if node.op is None:
                if node.name in args:
                    env[(id(node), 0)] = args[node.name]
                elif node.name in aux:
                    env[(id(node), 0)] = aux[node.name]
                else:
                    raise GraphError(f"no value given for input {node.name!r} "
                                     f"({node.describe()})")
                continue
            op, p = node.op, node.params
            ins = [env[(id(src), idx)] for src, idx in node.inputs]
            key = None
            if op.needs_rng and rng is not None:
                # Keyed by the node's name, so every lowering (and pass) draws the same mask.
                key = jax.random.fold_in(rng, zlib.crc32(node.name.encode()) & 0x7FFFFFFF)
            with jax.named_scope(node.name):
                if op.grad is not None:
                    res = _with_custom_grad(op, p, bool(is_train))(*ins)
                else:
                    res = op.lower(p, LowerCtx(bool(is_train), key, node.name), *ins)
            n_aux = len(node.inputs) - node.num_args
            if n_aux:
                outs, aux_vals = res
                for (src, _), val in zip(node.inputs[node.num_args:], aux_vals):
                    new_aux[src.name] = val
            else:
                outs = res
            if not isinstance(outs, (tuple, list)):
                outs = (outs,)
            for i, val in enumerate(outs):
                env[(id(node), i)] = val
        outputs = tuple(env[(id(n), i)] for n, i in self.symbol._outputs)
        return outputs, new_aux

    # ---- jitted forms ---------------------------------------------------------------------------
    def forward_fn(self, is_train: bool):
        """``jit(args, aux, rng) -> (outputs, new_aux)``."""
        key = ("fwd", bool(is_train))
        fn = self._jit.get(key)
        if fn is None:
            fn = self._jit[key] = jax.jit(functools.partial(self._fwd, is_train=bool(is_train)),
                                          compiler_options=self.compiler_options)
        return fn

    def _fwd(self, args, aux, rng, is_train):
        return self.apply(args, aux, rng, is_train)

    def forward_backward_fn(self, grad_names: Sequence[str]):
        """``jit(args, aux, rng, head_grads) -> (outputs, new_aux, grads)`` in training mode.

        ``grads`` holds the gradient of ``sum(outputs * head_grads)`` for ``grad_names``.
        """
        key = ("fwdbwd", tuple(grad_names))
        fn = self._jit.get(key)
        if fn is None:
            names = tuple(grad_names)

            def run(args, aux, rng, head_grads):
                diff = {n: args[n] for n in names}
                rest = {n: v for n, v in args.items() if n not in diff}

                def f(d):
                    outs, new_aux = self.apply({**rest, **d}, aux, rng, True)
                    return outs, new_aux

                outs, vjp, new_aux = jax.vjp(f, diff, has_aux=True)
                cots = tuple(jnp.ones_like(o) if g is None else g.astype(o.dtype)
                             for o, g in zip(outs, head_grads))
                (grads,) = vjp(cots)
                return outs, new_aux, grads

            fn = self._jit[key] = jax.jit(run, compiler_options=self.compiler_options)
        return fn


def compile_symbol(sym: Symbol, optimize: str = "auto", scan: bool = False,
                   backend: Optional[str] = None) -> Graph:
    """The (cached) Graph of ``sym``, lowered through the compiler passes.

    Args:
        sym: the graph as the user wrote it.
        optimize: a mode of ``symnet.optimize.MODES``, or ``"auto"`` to pick per backend and
            graph from measurements (NHWC convolutions on the CPU, im2col inside scans).
            ``SYMNET_OPTIMIZE=none`` turns the passes off everywhere.
        scan: whether the graph runs inside a multi-step ``lax.scan``.
        backend: the platform of the devices it runs on (default ``jax.default_backend()``).

    The passes keep every argument, auxiliary state and output name, and their outputs and
    gradients equal the plain lowering.
    """
    from . import optimize as passes
    if os.environ.get("SYMNET_OPTIMIZE", "").lower() in ("none", "0", "off"):
        optimize = "none"
    backend = backend or jax.default_backend()
    if optimize == "auto":
        optimize = passes.choose(sym, backend, scan)
    options = compiler_options(backend, sym)
    key = ("graph", optimize, tuple(sorted(options.items())))
    graph = sym._cache.get(key)
    if graph is None:
        graph = sym._cache[key] = Graph(passes.optimize(sym, backend, optimize), options)
        graph.source = sym
        graph.mode = optimize
    return graph
