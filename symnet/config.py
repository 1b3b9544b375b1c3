"""Process-wide settings: JAX's persistent compilation cache (on by default).

Compiled steps are cached on disk, so a second ``symnet train lenet`` skips XLA compilation.
``SYMNET_COMPILATION_CACHE=0`` turns this off; ``SYMNET_CACHE_DIR`` moves it (default
``~/.cache/symnet/jax``). A cache directory the user configured in JAX is left alone.
"""
from __future__ import annotations

import os
from typing import Optional

import jax

__all__ = ["enable_compilation_cache", "compilation_cache_dir"]


def compilation_cache_dir() -> Optional[str]:
    """The directory JAX caches compiled programs in, or None."""
    return jax.config.jax_compilation_cache_dir or None


def enable_compilation_cache(path: Optional[str] = None, min_compile_secs: float = 0.5) -> str:
    """Cache compiled programs taking at least ``min_compile_secs`` to compile under ``path``."""
    path = path or os.environ.get("SYMNET_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "symnet", "jax")
    os.makedirs(path, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(min_compile_secs))
    return path


def _default() -> None:
    if os.environ.get("SYMNET_COMPILATION_CACHE", "1").lower() in ("0", "false", "no", "off"):
        return
    if compilation_cache_dir():
        return  # the user (or a test configuration) chose one
    try:
        enable_compilation_cache()
    except OSError:
        pass  # a read-only home: run without the cache


_default()
