"""Deterministic parameters for the zoo / graph goldens (pure numpy; shared by test and generator).

Both tools/gen_zoo_fixtures.py (under MXNet) and the symnet tests call `make_params` with the
names and shapes the graph lists, so neither side has to store big parameter files.

Recipe, for each name (order does not matter: every array has its own seed):
    rng = np.random.RandomState(crc32(name.encode()))
    *_gamma        1 + 0.1 * U(-1, 1)
    *_beta, *_bias 0.1 * U(-1, 1)
    *_moving_mean  0.1 * U(-1, 1)
    *_moving_var   U(0.5, 1.5)
    anything else  U(-1, 1) * sqrt(6 / fan_in),  fan_in = prod(shape[1:]) (shape[0] for 1-D)
All float32.
"""
from __future__ import annotations

import zlib

import numpy as np


def param_array(name: str, shape) -> np.ndarray:
    """One parameter/aux array from the recipe above.

    Args:
        name: argument or auxiliary-state name, e.g. "conv1_weight", "bn1_moving_var".
        shape: its shape.

    Returns:
        float32 array of `shape`.
    """
    shape = tuple(int(s) for s in shape)
    rng = np.random.RandomState(zlib.crc32(name.encode("utf-8")) & 0xFFFFFFFF)
    u = rng.uniform(-1.0, 1.0, size=shape)
    if name.endswith("_gamma"):
        val = 1.0 + 0.1 * u
    elif name.endswith(("_beta", "_bias", "_moving_mean")):
        val = 0.1 * u
    elif name.endswith("_moving_var"):
        val = 1.0 + 0.5 * u
    else:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else max(shape[0], 1)
        val = u * np.sqrt(6.0 / max(fan_in, 1))
    return val.astype(np.float32)


def make_params(names, shapes, skip=()) -> dict:
    """{name: array} for every (name, shape) pair whose name is not in `skip`."""
    return {n: param_array(n, s) for n, s in zip(names, shapes) if n not in skip}


def make_input(shape, seed: int = 0) -> np.ndarray:
    """The fixed input batch: N(0, 1) float32 from RandomState(seed)."""
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)
