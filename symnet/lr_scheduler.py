"""Learning-rate schedulers with MXNet 1.9.1's semantics (``mx.lr_scheduler``).

Each scheduler has two faces:

* the stateful ``scheduler(num_update) -> float`` MXNet's optimizers call with the largest update
  count seen so far (``FactorScheduler`` and ``MultiFactorScheduler`` mutate ``base_lr`` as steps
  pass, ``PolyScheduler``/``CosineScheduler`` keep the last value past ``max_update``);
* ``scheduler.jax_fn()`` -> a pure ``f(num_update: int32 array) -> float32 array`` usable inside
  ``jax.jit``, in closed form. It continues from the scheduler's *current* state, so for any
  non-decreasing sequence of ``num_update`` it returns what the stateful call would return.

Where the two can differ (documented per class): queries that go backwards, and Poly/Cosine
queried only before warmup and then past ``max_update`` without a call in between.

Example:
    >>> sch = FactorScheduler(step=2, factor=0.5, base_lr=0.1)
    >>> [round(sch(n), 4) for n in range(1, 6)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
"""
from __future__ import annotations

import logging
import math
from typing import Callable, List, Sequence

import jax.numpy as jnp

from .base import ParamError

__all__ = ["LRScheduler", "FactorScheduler", "MultiFactorScheduler", "PolyScheduler",
           "CosineScheduler"]

LRFn = Callable[[jnp.ndarray], jnp.ndarray]


class LRScheduler:
    """Base class: returns a learning rate from the number of updates done so far.

    Args:
        base_lr: the initial learning rate.
        warmup_steps: number of updates (``num_update < warmup_steps``) spent warming up.
        warmup_begin_lr: learning rate at ``num_update == 0`` of the warmup.
        warmup_mode: ``'linear'`` (ramp to ``base_lr``) or ``'constant'`` (hold
            ``warmup_begin_lr``).

    Raises:
        ParamError: on a negative warmup, ``warmup_begin_lr > base_lr`` or an unknown mode.
    """

    def __init__(self, base_lr: float = 0.01, warmup_steps: int = 0,
                 warmup_begin_lr: float = 0, warmup_mode: str = "linear"):
        self.base_lr = base_lr
        if not isinstance(warmup_steps, int) or isinstance(warmup_steps, bool):
            raise ParamError(f"warmup_steps must be an int, received {warmup_steps!r} "
                             f"({type(warmup_steps).__name__}).")
        if warmup_steps < 0:
            raise ParamError(f"warmup_steps must be >= 0, received {warmup_steps}.")
        if warmup_begin_lr > base_lr:
            raise ParamError(f"warmup_begin_lr ({warmup_begin_lr}) must not exceed base_lr "
                             f"({base_lr}): the warmup ramps up to base_lr.")
        if warmup_mode not in ("linear", "constant"):
            raise ParamError(f"warmup_mode must be 'linear' or 'constant', received "
                             f"{warmup_mode!r}.")
        self.warmup_steps = warmup_steps
        # MXNet compat: the warmup target is frozen at construction; an optimizer that later
        # overwrites base_lr (Optimizer(learning_rate=..., lr_scheduler=...)) does not move it.
        self.warmup_final_lr = base_lr
        self.warmup_begin_lr = warmup_begin_lr
        self.warmup_mode = warmup_mode

    def get_warmup_lr(self, num_update: int) -> float:
        """Learning rate during warmup (``num_update < warmup_steps``)."""
        if num_update >= self.warmup_steps:
            raise ParamError(f"get_warmup_lr({num_update}) called after the warmup "
                             f"({self.warmup_steps} steps).")
        if self.warmup_mode == "linear":
            increase = (self.warmup_final_lr - self.warmup_begin_lr) \
                * float(num_update) / float(self.warmup_steps)
            return self.warmup_begin_lr + increase
        return self.warmup_begin_lr

    def __call__(self, num_update: int) -> float:
        """Return the learning rate after ``num_update`` updates (stateful, like MXNet)."""
        raise NotImplementedError("LRScheduler subclasses must implement __call__")

    # ---- pure (jittable) face ---------------------------------------------------------------
    def _warmup_jax(self, n: jnp.ndarray) -> jnp.ndarray:
        nf = n.astype(jnp.float32)
        if self.warmup_mode == "linear" and self.warmup_steps > 0:
            return jnp.float32(self.warmup_begin_lr) + jnp.float32(
                self.warmup_final_lr - self.warmup_begin_lr) * nf / jnp.float32(self.warmup_steps)
        return jnp.full_like(nf, self.warmup_begin_lr)

    def _after_warmup_jax(self, n: jnp.ndarray) -> jnp.ndarray:
        raise NotImplementedError("LRScheduler subclasses must implement _after_warmup_jax")

    def jax_fn(self) -> LRFn:
        """Return a pure ``f(num_update) -> lr`` (float32) continuing from the current state.

        The returned function closes over a snapshot of the scheduler's state; call ``jax_fn``
        again after mutating the scheduler. Works on scalars and arrays of update counts.

        Example:
            >>> f = CosineScheduler(max_update=10, base_lr=0.1).jax_fn()
            >>> round(float(f(jnp.int32(5))), 4)
            0.05
        """
        raise NotImplementedError("LRScheduler subclasses must implement jax_fn")

    def _wrap(self, after: LRFn) -> LRFn:
        warm = self.warmup_steps

        def lr_fn(num_update):
            n = jnp.asarray(num_update, jnp.int32)
            out = after(n)
            if warm > 0:
                out = jnp.where(n < warm, self._warmup_jax(n), out)
            return out.astype(jnp.float32)
        return lr_fn


class FactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` every ``step`` updates.

    ``lr = max(base_lr * factor**k, stop_factor_lr)`` with ``k = ceil(num_update / step) - 1``
    (the stateful call applies one factor each time ``num_update > count + step``).

    Args:
        step: updates between two reductions (>= 1).
        factor: multiplier (<= 1).
        stop_factor_lr: floor of the learning rate.
        base_lr, warmup_steps, warmup_begin_lr, warmup_mode: see :class:`LRScheduler`.

    Note:
        Stateful: a query with a smaller ``num_update`` than a previous one does not raise the
        learning rate again (MXNet behaviour); ``jax_fn`` continues from the current state.
    """

    def __init__(self, step: int, factor: float = 1, stop_factor_lr: float = 1e-8,
                 base_lr: float = 0.01, warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if step < 1:
            raise ParamError(f"FactorScheduler step must be >= 1, received {step}.")
        if factor > 1.0:
            raise ParamError(f"FactorScheduler factor must be <= 1 so the lr decreases, "
                             f"received {factor}.")
        self.step = step
        self.factor = factor
        self.stop_factor_lr = stop_factor_lr
        self.count = 0

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while num_update > self.count + self.step:
            self.count += self.step
            self.base_lr *= self.factor
            if self.base_lr < self.stop_factor_lr:
                self.base_lr = self.stop_factor_lr
                logging.info("Update[%d]: now learning rate arrived at %0.5e, will not "
                             "change in the future", num_update, self.base_lr)
            else:
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
        return self.base_lr

    def jax_fn(self) -> LRFn:
        base, count, step = float(self.base_lr), int(self.count), int(self.step)
        factor, stop = float(self.factor), float(self.stop_factor_lr)

        def after(n):
            # number of further reductions: largest k with n > count + k*step
            k = jnp.maximum((n - count + step - 1) // step - 1, 0)
            lr = jnp.float32(base) * jnp.power(jnp.float32(factor), k.astype(jnp.float32))
            # each reduction floors at stop_factor_lr (so a base below it jumps up to it)
            return jnp.where(k == 0, jnp.float32(base), jnp.maximum(lr, jnp.float32(stop)))
        return self._wrap(after)


class MultiFactorScheduler(LRScheduler):
    """Multiply the learning rate by ``factor`` each time ``num_update`` passes a step.

    ``lr = base_lr * factor**#{i : num_update > step[i]}``.

    Args:
        step: increasing list of update counts (each >= 1).
        factor: multiplier (<= 1).
        base_lr, warmup_steps, warmup_begin_lr, warmup_mode: see :class:`LRScheduler`.

    Note:
        Stateful like :class:`FactorScheduler` (never goes back up).
    """

    def __init__(self, step: Sequence[int], factor: float = 1, base_lr: float = 0.01,
                 warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(step, (list, tuple)) or len(step) < 1:
            raise ParamError(f"MultiFactorScheduler step must be a non-empty list of ints, "
                             f"received {step!r}.")
        for i, s in enumerate(step):
            if i and s <= step[i - 1]:
                raise ParamError(f"MultiFactorScheduler steps must increase, received {step}.")
            if s < 1:
                raise ParamError(f"MultiFactorScheduler steps must be >= 1, received {step}.")
        if factor > 1.0:
            raise ParamError(f"MultiFactorScheduler factor must be <= 1, received {factor}.")
        self.step: List[int] = list(step)
        self.cur_step_ind = 0
        self.factor = factor
        self.count = 0

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        while self.cur_step_ind <= len(self.step) - 1:
            if num_update > self.step[self.cur_step_ind]:
                self.count = self.step[self.cur_step_ind]
                self.cur_step_ind += 1
                self.base_lr *= self.factor
                logging.info("Update[%d]: Change learning rate to %0.5e",
                             num_update, self.base_lr)
            else:
                return self.base_lr
        return self.base_lr

    def jax_fn(self) -> LRFn:
        base, factor = float(self.base_lr), float(self.factor)
        remaining = self.step[self.cur_step_ind:]
        # precomputed lr after each further reduction (products in float64 like MXNet)
        levels = [base]
        for _ in remaining:
            levels.append(levels[-1] * factor)
        steps_arr = jnp.asarray(remaining if remaining else [0], jnp.int32)
        levels_arr = jnp.asarray(levels, jnp.float32)

        def after(n):
            if not remaining:
                return jnp.full(n.shape, base, jnp.float32)
            k = jnp.sum((n[..., None] > steps_arr).astype(jnp.int32), axis=-1)
            return levels_arr[k]
        return self._wrap(after)


class PolyScheduler(LRScheduler):
    """Polynomial decay: ``final_lr + (base_lr - final_lr) * (1 - t/T)**pwr``.

    ``t = num_update - warmup_steps``, ``T = max_update - warmup_steps``; past ``max_update`` the
    last value (``final_lr``) is kept.

    Args:
        max_update: update count at which ``final_lr`` is reached (>= 1).
        base_lr: starting learning rate (frozen at construction, as in MXNet).
        pwr: power of the decay.
        final_lr: learning rate at and after ``max_update``.
        warmup_steps, warmup_begin_lr, warmup_mode: see :class:`LRScheduler`.

    Note:
        ``jax_fn`` returns ``final_lr`` past ``max_update``; the stateful call returns the last
        value it computed, which is the same unless it was never called in
        ``[warmup_steps, max_update]``.
    """

    def __init__(self, max_update: int, base_lr: float = 0.01, pwr: float = 2,
                 final_lr: float = 0, warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(max_update, int) or max_update < 1:
            raise ParamError(f"PolyScheduler max_update must be an int >= 1, received "
                             f"{max_update!r}.")
        self.power = pwr
        # MXNet compat: the decay starts from the constructor's base_lr even if an optimizer
        # later overwrites base_lr.
        self.base_lr_orig = self.base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * \
                pow(1 - float(num_update - self.warmup_steps) / float(self.max_steps),
                    self.power)
        return self.base_lr

    def jax_fn(self) -> LRFn:
        orig, final, power = float(self.base_lr_orig), float(self.final_lr), float(self.power)
        warm, max_steps, max_update = self.warmup_steps, self.max_steps, self.max_update

        def after(n):
            frac = (n - warm).astype(jnp.float32) / jnp.float32(max_steps)
            lr = jnp.float32(final) + jnp.float32(orig - final) * jnp.power(
                1.0 - frac, jnp.float32(power))
            return jnp.where(n <= max_update, lr, jnp.float32(final))
        return self._wrap(after)


class CosineScheduler(LRScheduler):
    """Cosine decay: ``final_lr + (base_lr - final_lr) * (1 + cos(pi * t / T)) / 2``.

    ``t = num_update - warmup_steps``, ``T = max_update - warmup_steps``; past ``max_update``
    the last value (``final_lr``) is kept.

    Args:
        max_update: update count at which ``final_lr`` is reached (>= 1).
        base_lr: starting learning rate (frozen at construction, as in MXNet).
        final_lr: learning rate at and after ``max_update``.
        warmup_steps, warmup_begin_lr, warmup_mode: see :class:`LRScheduler`.

    Note:
        Same statefulness caveat as :class:`PolyScheduler`.
    """

    def __init__(self, max_update: int, base_lr: float = 0.01, final_lr: float = 0,
                 warmup_steps: int = 0, warmup_begin_lr: float = 0,
                 warmup_mode: str = "linear"):
        super().__init__(base_lr, warmup_steps, warmup_begin_lr, warmup_mode)
        if not isinstance(max_update, int) or max_update < 1:
            raise ParamError(f"CosineScheduler max_update must be an int >= 1, received "
                             f"{max_update!r}.")
        self.base_lr_orig = base_lr
        self.max_update = max_update
        self.final_lr = final_lr
        self.max_steps = self.max_update - self.warmup_steps

    def __call__(self, num_update: int) -> float:
        if num_update < self.warmup_steps:
            return self.get_warmup_lr(num_update)
        if num_update <= self.max_update:
            self.base_lr = self.final_lr + (self.base_lr_orig - self.final_lr) * \
                (1 + math.cos(math.pi * (num_update - self.warmup_steps) / self.max_steps)) / 2
        return self.base_lr

    def jax_fn(self) -> LRFn:
        orig, final = float(self.base_lr_orig), float(self.final_lr)
        warm, max_steps, max_update = self.warmup_steps, self.max_steps, self.max_update

        def after(n):
            frac = (n - warm).astype(jnp.float32) / jnp.float32(max_steps)
            lr = jnp.float32(final) + jnp.float32(orig - final) * (
                1.0 + jnp.cos(jnp.float32(math.pi) * frac)) / 2.0
            return jnp.where(n <= max_update, lr, jnp.float32(final))
        return self._wrap(after)
