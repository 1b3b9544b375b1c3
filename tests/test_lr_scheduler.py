"""lr schedulers vs MXNet 1.9.1 sequences (tests/fixtures/optim/optim.json)."""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from symnet import lr_scheduler as L
from symnet.base import ParamError

_DOC = json.load(open(os.path.join(os.path.dirname(__file__), "fixtures", "optim",
                                   "optim.json")))
CASES = _DOC["schedulers"]


def _make(spec):
    return getattr(L, spec["type"])(**spec["kwargs"])


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_stateful_sequence_matches_mxnet(case):
    sch = _make(case["spec"])
    got = [sch(n) for n in case["num_update"]]
    np.testing.assert_allclose(got, case["lr"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", [c for c in CASES if not c.get("stateful_only")],
                         ids=[c["id"] for c in CASES if not c.get("stateful_only")])
def test_jax_fn_matches_mxnet_inside_jit(case):
    fn = jax.jit(_make(case["spec"]).jax_fn())
    got = np.asarray(fn(jnp.asarray(case["num_update"], jnp.int32)))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, case["lr"], rtol=2e-6, atol=1e-8)
    # scalar calls give the same values
    for n, ref in zip(case["num_update"][:6], case["lr"][:6]):
        np.testing.assert_allclose(float(fn(jnp.int32(n))), ref, rtol=2e-6, atol=1e-8)


def test_jax_fn_continues_from_current_state():
    sch = L.FactorScheduler(step=3, factor=0.5, base_lr=0.1)
    for n in range(1, 8):
        sch(n)
    fn = sch.jax_fn()
    ref = L.FactorScheduler(step=3, factor=0.5, base_lr=0.1)
    for n in range(1, 20):
        expect = ref(n)
        if n >= 7:
            np.testing.assert_allclose(float(fn(jnp.int32(n))), expect, rtol=1e-6)


def test_factor_stop_lr_below_base_jumps_up():
    sch = L.FactorScheduler(step=1, factor=0.5, base_lr=1e-9, stop_factor_lr=1e-8)
    fn = sch.jax_fn()
    got = [sch(n) for n in range(1, 5)]
    np.testing.assert_allclose(np.asarray(fn(jnp.arange(1, 5))), got, rtol=1e-6)


def test_bad_arguments_raise_param_error():
    with pytest.raises(ParamError, match="step must be >= 1"):
        L.FactorScheduler(step=0)
    with pytest.raises(ParamError, match="factor must be <= 1"):
        L.MultiFactorScheduler(step=[2, 3], factor=2.0)
    with pytest.raises(ParamError, match="must increase"):
        L.MultiFactorScheduler(step=[3, 2])
    with pytest.raises(ParamError, match="warmup_mode"):
        L.PolyScheduler(max_update=10, warmup_mode="cosine")
    with pytest.raises(ParamError, match="warmup_begin_lr"):
        L.CosineScheduler(max_update=10, base_lr=0.1, warmup_begin_lr=0.5)
    with pytest.raises(ParamError, match="max_update"):
        L.CosineScheduler(max_update=0)
