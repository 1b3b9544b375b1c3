"""Device contexts: ``mx.cpu()``, ``mx.gpu()``, ``mx.current_context()``.

A :class:`Context` names a device the way MXNet does (``cpu(0)``, ``gpu(1)``) and maps it to a
JAX device with :meth:`Context.jax_device`.
"""
from __future__ import annotations

import threading
from typing import Any, List, Optional

from .base import SymnetError

__all__ = ["Context", "cpu", "gpu", "cpu_pinned", "current_context", "num_gpus"]


class Context:
    """A device: type (``'cpu'``, ``'gpu'``, ``'cpu_pinned'``) and id.

    Usable as a ``with`` block to set the default context, as in MXNet.

    Example:
        >>> Context('gpu', 1)
        gpu(1)
    """

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {"cpu": 1, "gpu": 2, "cpu_pinned": 3, "cpu_shared": 5}
    _default_ctx = threading.local()

    def __init__(self, device_type: Any, device_id: int = 0):
        if isinstance(device_type, Context):
            self.device_typeid = device_type.device_typeid
            self.device_id = device_type.device_id
        else:
            if device_type not in self.devstr2type:
                raise SymnetError(
                    f"Unknown device type {device_type!r}; expected one of "
                    f"{sorted(self.devstr2type)} (e.g. mx.cpu() or mx.gpu(0)).")
            self.device_typeid = self.devstr2type[device_type]
            self.device_id = int(device_id)
        self._old_ctx: Optional[Context] = None

    @property
    def device_type(self) -> str:
        """``'cpu'``, ``'gpu'``, ``'cpu_pinned'`` or ``'cpu_shared'``."""
        return self.devtype2str[self.device_typeid]

    def __hash__(self) -> int:
        return hash((self.device_typeid, self.device_id))

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Context) and self.device_typeid == other.device_typeid
                and self.device_id == other.device_id)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __repr__(self) -> str:
        return f"{self.device_type}({self.device_id})"

    __str__ = __repr__

    def __enter__(self) -> "Context":
        if not hasattr(Context._default_ctx, "value"):
            Context._default_ctx.value = Context("cpu", 0)
        self._old_ctx = Context._default_ctx.value
        Context._default_ctx.value = self
        return self

    def __exit__(self, *exc: Any) -> None:
        Context._default_ctx.value = self._old_ctx

    def jax_device(self):
        """Return the ``jax.Device`` this context stands for.

        ``cpu``/``cpu_pinned``/``cpu_shared`` map to ``jax.devices('cpu')[device_id]`` (device 0
        when there are fewer CPU devices); ``gpu(i)`` maps to ``jax.devices('gpu')[i]``.

        Raises:
            SymnetError: a GPU context was asked for and JAX sees no such GPU.
        """
        import jax

        if self.device_type == "gpu":
            gpus = _jax_gpus()
            if self.device_id >= len(gpus):
                raise SymnetError(
                    f"Context {self!r} asks for GPU {self.device_id}, but JAX sees {len(gpus)} "
                    f"GPU(s). Use mx.cpu() or install a CUDA-enabled jaxlib "
                    f"(pip install 'jax[cuda12]').")
            return gpus[self.device_id]
        # local devices: under jax.distributed, jax.devices() also lists other processes'
        cpus = jax.local_devices(backend="cpu")
        return cpus[self.device_id] if self.device_id < len(cpus) else cpus[0]

    def empty_cache(self) -> None:
        """No-op (MXNet frees cached GPU memory here; XLA manages its own pool)."""


def _jax_gpus() -> List[Any]:
    import jax

    try:
        return list(jax.local_devices(backend="gpu"))
    except RuntimeError:
        return []


def cpu(device_id: int = 0) -> Context:
    """Return a CPU context, ``cpu(device_id)``."""
    return Context("cpu", device_id)


def cpu_pinned(device_id: int = 0) -> Context:
    """Return a pinned-CPU context (same device as :func:`cpu` under JAX)."""
    return Context("cpu_pinned", device_id)


def gpu(device_id: int = 0) -> Context:
    """Return a GPU context, ``gpu(device_id)`` (checked only when used)."""
    return Context("gpu", device_id)


def num_gpus() -> int:
    """Return the number of GPUs JAX can see."""
    return len(_jax_gpus())


def current_context() -> Context:
    """Return the default context (``cpu(0)`` unless inside ``with mx.gpu(0):``)."""
    if not hasattr(Context._default_ctx, "value"):
        Context._default_ctx.value = Context("cpu", 0)
    return Context._default_ctx.value
