"""Errors and small shared types.

Every graph error symnet raises is a :class:`SymnetError`; the subclasses also derive from the
matching builtin (``ValueError``/``TypeError``) so ``except ValueError`` keeps working.
"""
from __future__ import annotations

import os
import sys
from typing import Optional, Tuple

Shape = Tuple[int, ...]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


class SymnetError(Exception):
    """Base class of every error symnet raises on bad input."""


class ShapeError(SymnetError, ValueError):
    """Shapes that do not fit an operator (or are missing)."""


class DTypeError(SymnetError, TypeError):
    """Data types that do not fit an operator."""


class ParamError(SymnetError, ValueError):
    """An unknown, missing or malformed operator parameter."""


class GraphError(SymnetError, ValueError):
    """A malformed graph: duplicate names, unknown inputs, bad JSON."""


class FormatError(SymnetError, ValueError):
    """A malformed or truncated file (``.params``, ``-symbol.json``, IDX)."""


class MXNetError(SymnetError, RuntimeError):
    """Raised where MXNet raised its own ``MXNetError`` (kept for ``except mx.base.MXNetError``)."""


def user_site() -> Optional[str]:
    """Return ``file:line`` of the first stack frame outside the symnet package."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not os.path.abspath(filename).startswith(_PKG_DIR):
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None


def shape_str(shape) -> str:
    """Format a shape as MXNet prints it: ``(2, 3)``; unknown as ``?``."""
    if shape is None:
        return "?"
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"
