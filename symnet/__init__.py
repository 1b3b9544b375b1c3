"""symnet: MXNet's symbolic API on JAX. ``import symnet as mx`` runs classic MXNet symbol code.

Submodules load on first use (``mx.viz`` does not import plotting code until asked).
"""
from __future__ import annotations

import importlib

from . import base, config, name
from . import symbol
from . import symbol as sym
from . import ndarray
from . import ndarray as nd
from .attribute import AttrScope
from .context import Context, cpu, cpu_pinned, current_context, gpu, num_gpus

__version__ = "0.1.0"

_LAZY = {
    "io": "io", "model": "model", "mod": "module", "module": "module", "metric": "metric",
    "callback": "callback", "init": "initializer", "initializer": "initializer",
    "optimizer": "optimizer", "lr_scheduler": "lr_scheduler", "viz": "viz",
    "visualization": "viz", "random": "random", "rnd": "random", "test_utils": "test_utils",
    "context": "context", "executor": "executor", "ops": "ops", "datasets": "datasets",
    "kv": "kvstore", "kvstore": "kvstore", "mon": "monitor", "monitor": "monitor",
    "operator": "operator", "attribute": "attribute", "compiler": "compiler",
}

__all__ = ["sym", "symbol", "nd", "ndarray", "name", "base", "AttrScope", "Context", "cpu",
           "gpu", "cpu_pinned", "current_context", "num_gpus"] + sorted(_LAZY)


def __getattr__(attr: str):
    target = _LAZY.get(attr)
    if target is None:
        raise AttributeError(f"module 'symnet' has no attribute {attr!r}")
    module = importlib.import_module(f"{__name__}.{target}")
    globals()[attr] = module
    return module
