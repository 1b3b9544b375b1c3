"""Graph optimisation passes chosen per backend: Symbol -> Symbol rewrites for fast lowering.

Every pass keeps ``list_arguments``, ``list_auxiliary_states`` and ``list_outputs`` (names,
shapes, meaning) of the graph; only the way the graph is lowered to JAX changes, using internal
``_sn_*`` operators (``symnet.ops.fused``). Measured on a 2-core AVX2 CPU with LeNet
(``benchmarks/conv_passes.py``, docs in the CPU convolution notes):

* ``"nhwc"``: Conv -> [Act] -> max Pool chains fused (pool before activation and bias add,
  exact), conv/pool/activation channels-last, non-overlapping pools as reshape + max. Best for
  one jitted train step per call on CPU.
* ``"nhwc+im2col"``: the same with convolutions as kh*kw static slices + one dot. Inside a
  multi-step ``lax.scan`` XLA:CPU's convolutions lose their fast layouts; this avoids them.
* ``"none"``: the graph as written (GPU/TPU: cuDNN/XLA already pick layouts well).

Example:
    >>> fast = optimize(net, "cpu", choose(net, "cpu", scan=False))
    >>> fast.list_arguments() == net.list_arguments()
    True
"""
from __future__ import annotations

import warnings
from typing import Tuple

from ..base import ParamError
from ..symbol.symbol import Symbol
from .fuse import fuse_conv_pool_act
from .layout import to_nhwc

__all__ = ["MODES", "choose", "optimize", "fuse_conv_pool_act", "to_nhwc"]

MODES: Tuple[str, ...] = ("none", "nhwc", "nhwc+im2col")
_BACKENDS = ("cpu", "gpu", "cuda", "rocm", "tpu", "metal")


def _has_conv2d(sym: Symbol) -> bool:
    return any(n.op is not None and n.op.name == "Convolution" and len(n.params.kernel) == 2
               for n in sym._topo())


def choose(sym: Symbol, backend: str, scan: bool = False) -> str:
    """The optimisation mode for ``sym`` on ``backend`` (from measurements, see module doc).

    Args:
        sym: the graph.
        backend: ``jax.default_backend()``-style name: "cpu", "gpu", "cuda", "tpu", ...
        scan: whether the train step runs several steps inside one ``lax.scan``.

    Returns:
        one of ``MODES``.
    """
    if backend.lower() != "cpu" or not _has_conv2d(sym):
        return "none"
    return "nhwc+im2col" if scan else "nhwc"


def _signature(sym: Symbol):
    return sym.list_arguments(), sym.list_auxiliary_states(), sym.list_outputs()


def optimize(sym: Symbol, backend: str = "cpu", mode: str = "nhwc") -> Symbol:
    """``sym`` rewritten for ``mode`` (cached on the symbol).

    Args:
        sym: the graph to lower.
        backend: the JAX backend name (kept for per-backend rewrites; all modes are exact on
            every backend).
        mode: one of ``MODES`` (see ``choose``).

    Returns:
        a Symbol with the same arguments, auxiliary states and outputs as ``sym``.

    Raises:
        ParamError: unknown mode or backend.
    """
    if mode not in MODES:
        raise ParamError(f"optimize: unknown mode {mode!r}; expected one of {', '.join(MODES)} "
                         "(or use optimize.choose(sym, backend, scan) to pick one)")
    if backend.lower() not in _BACKENDS:
        raise ParamError(f"optimize: unknown backend {backend!r}; expected one of "
                         f"{', '.join(_BACKENDS)} (jax.default_backend())")
    if mode == "none":
        return sym
    key = ("optimize", mode)
    out = sym._cache.get(key)
    if out is None:
        out = to_nhwc(fuse_conv_pool_act(sym), im2col=(mode == "nhwc+im2col"))
        if _signature(out) != _signature(sym):
            # A pass bug must never change the user's interface: lower the graph as written.
            warnings.warn(f"symnet.optimize: mode {mode!r} changed the graph's inputs/outputs; "
                          "using the unoptimised graph. Please report this.", RuntimeWarning)
            out = sym
        sym._cache[key] = out
    return out
