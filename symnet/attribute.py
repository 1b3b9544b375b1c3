"""``mx.AttrScope``: attributes attached to every symbol created inside the scope."""
from __future__ import annotations

import threading
from typing import Dict, Optional

#: Attribute names MXNet stores as ``__name__`` and lists under both spellings.
HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage",
               "profiler_scope")

_local = threading.local()


def normalize(attrs: Optional[Dict[str, str]]) -> Dict[str, str]:
    """Store hidden keys in their ``__key__`` form and every value as a string."""
    out: Dict[str, str] = {}
    for key, value in (attrs or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"attribute names must be strings, received {key!r}")
        if key in HIDDEN_KEYS:
            key = f"__{key}__"
        out[key] = value if isinstance(value, str) else str(value)
    return out


def with_hidden_copies(attrs: Dict[str, str]) -> Dict[str, str]:
    """MXNet's ``list_attr`` view: ``__lr_mult__`` is also listed as ``lr_mult``."""
    out = dict(attrs)
    for key in HIDDEN_KEYS:
        dunder = f"__{key}__"
        if dunder in attrs:
            out[key] = attrs[dunder]
    return out


class AttrScope:
    """Context manager adding ``attrs`` to every symbol created inside it.

    Example:
        >>> with mx.AttrScope(ctx_group='dev1'):
        ...     fc = mx.sym.FullyConnected(data, num_hidden=10)
    """

    def __init__(self, **attrs: str) -> None:
        for value in attrs.values():
            if not isinstance(value, str):
                raise ValueError("AttrScope values must be strings")
        self._attrs = attrs
        self._old: Optional[AttrScope] = None

    def get(self, attr: Optional[Dict[str, str]]) -> Dict[str, str]:
        """The scope's attributes updated with ``attr`` (``attr`` wins)."""
        merged = dict(self._attrs)
        merged.update(attr or {})
        return merged

    def __enter__(self) -> "AttrScope":
        self._old = current()
        outer = dict(self._old._attrs)
        outer.update(self._attrs)
        self._attrs = outer
        _local.current = self
        return self

    def __exit__(self, *exc) -> None:
        _local.current = self._old


def current() -> AttrScope:
    """The active AttrScope."""
    scope = getattr(_local, "current", None)
    if scope is None:
        scope = _local.current = AttrScope()
    return scope
