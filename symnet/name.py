"""Naming scopes: ``NameManager`` hands out MXNet's auto names (``fullyconnected0``).

The current manager is process-global, as in MXNet; ``with mx.name.NameManager():`` opens a fresh
one (counters restart) and ``with mx.name.Prefix('net_'):`` prefixes every op name made inside.
"""
from __future__ import annotations

import threading
from typing import Dict, Optional

_local = threading.local()


class NameManager:
    """Auto-names operators per op type: ``<hint><counter>``, e.g. ``convolution0``."""

    def __init__(self) -> None:
        self._counter: Dict[str, int] = {}
        self._old: Optional[NameManager] = None

    def get(self, name: Optional[str], hint: str) -> str:
        """Return ``name`` if given, else the next auto name for ``hint``."""
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return f"{hint}{count}"

    def __enter__(self) -> "NameManager":
        self._old = current()
        _local.current = self
        return self

    def __exit__(self, *exc) -> None:
        _local.current = self._old
        self._old = None


class Prefix(NameManager):
    """A NameManager that prepends ``prefix`` to every name it returns."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self._prefix = prefix

    def get(self, name: Optional[str], hint: str) -> str:
        return self._prefix + super().get(name, hint)


def current() -> NameManager:
    """The active NameManager (one global default per thread)."""
    mgr = getattr(_local, "current", None)
    if mgr is None:
        mgr = _local.current = _DEFAULT
    return mgr


_DEFAULT = NameManager()
