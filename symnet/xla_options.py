"""XLA compile options for symnet's programs, chosen per backend and graph from measurement.

XLA:CPU (jaxlib 0.10) hands convolutions to YNNPACK by default. On the CPUs measured (2-core
VMs, benchmarks/RESULTS.md) XLA's own convolution kernels train ResNet-20 1.23x (AVX-512) and
1.77x (AVX2) faster, and LeNet's plain NHWC step 1.5x (AVX-512), so symnet compiles graphs
with convolutions on the CPU with YNNPACK kept for what it does by default besides: dots and
reductions. Graphs without convolutions and other backends compile with XLA's defaults.

``SYMNET_CPU_CONV=ynn`` keeps XLA's default (YNNPACK convolutions). A jaxlib that does not
know the option compiles with its defaults.
"""
from __future__ import annotations

import functools
import os
from typing import Dict

import jax
import numpy as np

from .symbol.symbol import Symbol

__all__ = ["compiler_options", "conv_graph_options", "conv_nodes"]

#: YNNPACK fusions without convolutions (XLA's default list is INDIVIDUAL_DOT,
#: INDIVIDUAL_CONVOLUTION, REDUCE in jaxlib 0.10).
_CPU_CONV_BY_XLA = {"xla_cpu_experimental_ynn_fusion_type":
                    "LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT,LIBRARY_FUSION_TYPE_REDUCE"}


def conv_nodes(symbol: Symbol) -> list:
    """The graph's Convolution and Deconvolution nodes."""
    return [n for n in symbol._topo()
            if n.op is not None and n.op.name in ("Convolution", "Deconvolution")]


@functools.lru_cache(maxsize=None)
def _accepted(items: tuple) -> bool:
    """Whether this jaxlib's CPU compiler takes the options (one tiny compile per process)."""
    try:
        cpu = jax.devices("cpu")[0]
        jax.jit(lambda x: x + 1, compiler_options=dict(items)).lower(
            jax.device_put(np.float32(0), cpu)).compile()
    except Exception:  # noqa: BLE001 -- an unknown option or value: keep XLA's defaults
        return False
    return True


def conv_graph_options(backend: str) -> Dict[str, str]:
    """The ``compiler_options`` for programs with convolutions on ``backend`` ({}: defaults)."""
    if backend != "cpu" or os.environ.get("SYMNET_CPU_CONV", "").lower() == "ynn":
        return {}
    items = tuple(sorted(_CPU_CONV_BY_XLA.items()))
    return dict(items) if _accepted(items) else {}


def compiler_options(backend: str, symbol: Symbol) -> Dict[str, str]:
    """The ``compiler_options`` for jitting ``symbol``'s programs on ``backend`` ({}: defaults)."""
    return conv_graph_options(backend) if conv_nodes(symbol) else {}
