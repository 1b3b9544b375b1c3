"""Operators: one class per MXNet operator, registered by name (see ``registry``)."""
from __future__ import annotations

import importlib
import pkgutil

from .registry import LowerCtx, Op, all_ops, get_op, has_op, register

__all__ = ["LowerCtx", "Op", "all_ops", "get_op", "has_op", "register"]

_loaded = False


def _load_all() -> None:
    """Import every module of this package once, so that each registers its operators."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
