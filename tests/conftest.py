"""Test configuration: JAX's persistent compilation cache and a fresh naming scope per test."""
from __future__ import annotations

import os

import jax
import pytest

_CACHE = os.environ.get("SYMNET_TEST_JAX_CACHE",
                        os.path.join(os.path.dirname(__file__), "..", ".jax_cache"))
jax.config.update("jax_compilation_cache_dir", os.path.abspath(_CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test starts with MXNet's auto-name counters at zero, as in a fresh process."""
    import symnet as mx
    with mx.name.NameManager():
        yield
