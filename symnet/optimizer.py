"""MXNet 1.9.1 optimizers (``mx.optimizer``) with MXNet's exact update rules, on JAX/optax.

Every optimizer has two faces that share one pure per-parameter kernel:

* **imperative** (MXNet's API): ``create_state(index, weight)``, ``update(index, weight, grad,
  state)`` on NDArrays, ``get_updater(opt)`` -> ``updater(index, grad, weight)``; counters,
  learning-rate schedulers and multipliers behave exactly as in MXNet (stateful, host side).
* **functional** (the jitted training step): ``state = opt.init(params)`` and
  ``new_params, new_state = opt.step(params, grads, state)`` on ``dict[str, jax.Array]``, pure and
  jittable. The update counter lives in the state, the lr schedule is evaluated in-graph
  (``LRScheduler.jax_fn``), ``lr_mult``/``wd_mult`` are looked up from the dict keys. ``step`` is
  ``opt.to_optax()`` (an ``optax.GradientTransformation``) followed by ``optax.apply_updates``.

Notation: ``r = clip(rescale_grad * grad, +-clip_gradient)``; MXNet's kernels compute in the
weight dtype (float32) with scalar hyper-parameters cast to float32.

Example:
    >>> opt = create('sgd', learning_rate=0.1, momentum=0.9)
    >>> params = {'fc1_weight': jnp.ones((2, 2))}
    >>> state = opt.init(params)
    >>> params, state = opt.step(params, {'fc1_weight': jnp.ones((2, 2))}, state)
    >>> round(float(params['fc1_weight'][0, 0]), 4)
    0.9
"""
from __future__ import annotations

import json
import warnings
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from .base import ParamError
from .lr_scheduler import LRScheduler

__all__ = ["Optimizer", "SGD", "ccSGD", "NAG", "Adam", "AdaGrad", "RMSProp", "AdaDelta", "Ftrl",
           "Signum", "Adamax", "Nadam", "LAMB", "FTML", "DCASGD", "Updater", "create",
           "get_updater", "register"]

Slots = Tuple[jax.Array, ...]
Scalars = Dict[str, Any]


def _f32(x) -> jax.Array:
    return jnp.asarray(x, jnp.float32)


def _clip(x, bound):
    # mshadow_op::clip: x > b -> b, x < -b -> -b
    return jnp.clip(x, -bound, bound)


def _data(x) -> jax.Array:
    """The jax array behind an NDArray (or array-like)."""
    d = getattr(x, "_data", x)
    return jnp.asarray(d)


def _new_nd(data: jax.Array, like=None):
    from . import ndarray as nd
    ctx = getattr(like, "context", None) if like is not None else None
    try:
        return nd.NDArray(data, ctx=ctx) if ctx is not None else nd.NDArray(data)
    except Exception:  # pragma: no cover - context placement not supported
        return nd.NDArray(data)


class Optimizer:
    """Base class of MXNet optimizers.

    Args:
        rescale_grad: multiplies the gradient first (FeedForward/Module pass 1/batch_size).
        param_idx2name: ``{index: name}``; when given, names not ending in ``_weight``/``_gamma``
            get ``wd_mult = 0`` (MXNet's rule).
        wd: weight decay.
        clip_gradient: clip the rescaled gradient to ``[-c, c]`` (``None``/0: off).
        learning_rate: the lr; ``None`` -> 0.01 unless ``lr_scheduler`` is given; given together
            with a scheduler it overwrites ``lr_scheduler.base_lr`` (MXNet).
        lr_scheduler: an :class:`~symnet.lr_scheduler.LRScheduler`.
        sym: a Symbol; its variables' ``__lr_mult__``/``__wd_mult__`` attrs set the multipliers.
        begin_num_update: initial update count.
        multi_precision: keep a float32 master copy of float16 weights.
        param_dict: accepted for API compatibility (Gluon), unused.
    """

    opt_registry: Dict[str, type] = {}
    #: MXNet compat: most python-level optimizers clip when ``clip_gradient is not None``,
    #: the fused kernels only when it is truthy (> 0 matters for 0.0).
    _clip_if_not_none = False

    def __init__(self, rescale_grad: float = 1., param_idx2name: Optional[dict] = None,
                 wd: float = 0., clip_gradient: Optional[float] = None,
                 learning_rate: Optional[float] = None,
                 lr_scheduler: Optional[LRScheduler] = None, sym=None,
                 begin_num_update: int = 0, multi_precision: bool = False,
                 param_dict: Optional[dict] = None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is not None and not isinstance(lr_scheduler, LRScheduler) \
                and not callable(lr_scheduler):
            raise ParamError(f"lr_scheduler must be an LRScheduler, received "
                             f"{type(lr_scheduler).__name__}.")
        if self.lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if self.lr_scheduler is not None and learning_rate is not None:
            if self.lr_scheduler.base_lr != learning_rate:
                print(UserWarning("learning rate from ``lr_scheduler`` has been "
                                  "overwritten by ``learning_rate`` in optimizer."))
                self.lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult: Dict[Any, float] = {}
        self.wd_mult: Dict[Any, float] = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._all_index_update_counts: Dict[int, Dict[Any, int]] = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise ParamError(f"param_idx2name must be a dict of parameter index to name, "
                             f"received {type(param_idx2name).__name__}.")
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self._param_order: Optional[List[str]] = None
        self._kernels: Dict[Any, Callable] = {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    # ---------------------------------------------------------------- registry
    @staticmethod
    def register(klass: type) -> type:
        """Register an optimizer class under its lower-cased class name."""
        if not isinstance(klass, type):
            raise ParamError(f"register expects a class, received {klass!r}.")
        name = klass.__name__.lower()
        if name in Optimizer.opt_registry:
            old = Optimizer.opt_registry[name]
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is "
                          f"overriding existing optimizer {old.__module__}.{old.__name__}")
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name: str, **kwargs) -> "Optimizer":
        """Instantiate a registered optimizer by (case-insensitive) name.

        Raises:
            ParamError: unknown name (the message lists the known ones).
        """
        if not isinstance(name, str):
            raise ParamError(f"Optimizer name must be a string, received "
                             f"{type(name).__name__} {name!r}.")
        klass = Optimizer.opt_registry.get(name.lower())
        if klass is None:
            known = ", ".join(sorted(Optimizer.opt_registry))
            raise ParamError(f"Cannot find optimizer {name!r}. Known optimizers: {known}.")
        return klass(**kwargs)

    # ---------------------------------------------------------------- learning rate & mults
    @property
    def learning_rate(self) -> float:
        """Current learning rate (queries the scheduler at ``num_update``, like MXNet)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr: float) -> None:
        """Set a new learning rate (only without an lr_scheduler, as in MXNet).

        With the functional face call ``state = opt.sync_state(state)`` afterwards.
        """
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note that "
                              "set_learning_rate can mutate the value of the learning rate of "
                              "the optimizer only when the LRScheduler of the optimizer is "
                              "undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):  # pragma: no cover - deprecated in MXNet too
        """[DEPRECATED] Use set_lr_mult."""
        raise DeprecationWarning

    def set_lr_mult(self, args_lr_mult: Mapping[Any, float]) -> None:
        """Set per-parameter lr multipliers (by name or index); ``sym`` attrs come first."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult: Mapping[Any, float]) -> None:
        """Set per-parameter wd multipliers; with param_idx2name, non ``_weight``/``_gamma``
        names get 0 (MXNet's rule); ``sym`` attrs override that; the argument overrides all."""
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def _set_current_context(self, device_id: int) -> None:
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index) -> None:
        if not isinstance(index, (list, tuple)):
            index = [index]
        for idx in index:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _mult(self, table: Dict[Any, float], index) -> float:
        if index in self.param_dict:
            return float(getattr(self.param_dict[index], "lr_mult" if table is self.lr_mult
                                 else "wd_mult"))
        if index in table:
            return table[index]
        if index in self.idx2name:
            return table.get(self.idx2name[index], 1.0)
        return 1.0

    def _get_lrs(self, indices) -> List[float]:
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return [lr * self._mult(self.lr_mult, i) for i in indices]

    def _get_lr(self, index) -> float:
        return self._get_lrs([index])[0]

    def _get_wds(self, indices) -> List[float]:
        return [self.wd * self._mult(self.wd_mult, i) for i in indices]

    def _get_wd(self, index) -> float:
        return self._get_wds([index])[0]

    def _name_mult(self, table: Dict[Any, float], name: str) -> float:
        """Multiplier of a parameter known by name (functional face)."""
        for idx, n in self.idx2name.items():
            if n == name and idx in table:
                return table[idx]
        return table.get(name, 1.0)

    # ---------------------------------------------------------------- the kernel contract
    def _slot_shapes(self) -> Sequence[str]:
        """Names of the per-parameter state arrays (each shaped like the weight)."""
        return ()

    def _extra_init(self) -> Dict[str, jax.Array]:
        """Optimizer-wide functional state besides the counter (e.g. Nadam's m_schedule)."""
        return {}

    def _scalars(self, xp, t, lr, wd, extra: Dict[str, Any], pos: int) -> Tuple[Scalars, Dict]:
        """Per-update scalars. ``xp`` is numpy (imperative, float64 like MXNet's Python) or
        jax.numpy (functional, float32). ``pos``: position of the parameter in this step."""
        return {"lr": lr, "wd": wd}, extra

    def _kernel(self, w: jax.Array, g: jax.Array, slots: Slots, s: Scalars
                ) -> Tuple[jax.Array, Slots]:
        """Pure update of one parameter: returns (new_weight, new_slots)."""
        raise NotImplementedError("Optimizer subclasses must implement _kernel")

    def _static_key(self) -> tuple:
        """Hyper-parameters the kernel closes over (part of the jit cache key)."""
        return (self.rescale_grad, self.clip_gradient)

    def _clip_on(self) -> bool:
        c = self.clip_gradient
        return (c is not None) if self._clip_if_not_none else bool(c)

    def _rescaled(self, g):
        """``clip(rescale_grad * g)`` (clip only where MXNet clips)."""
        r = g * jnp.float32(self.rescale_grad)
        if self._clip_on():
            r = _clip(r, jnp.float32(self.clip_gradient))
        return r

    def _mp(self, w) -> bool:
        return bool(self.multi_precision) and jnp.dtype(w.dtype) == jnp.float16

    def _compiled(self):
        key = self._static_key()
        fn = self._kernels.get(key)
        if fn is None:
            fn = jax.jit(self._kernel)
            self._kernels[key] = fn
        return fn

    # ---------------------------------------------------------------- imperative face
    def create_state(self, index, weight):
        """Create the MXNet-shaped state of one weight (NDArray, tuple of NDArrays or None)."""
        names = self._slot_shapes()
        if not names:
            return None
        arrs = tuple(_new_nd(jnp.zeros(weight.shape, _data(weight).dtype), weight)
                     for _ in names)
        return arrs[0] if len(arrs) == 1 and not self._state_is_tuple() else arrs

    def _state_is_tuple(self) -> bool:
        return True

    def create_state_multi_precision(self, index, weight):
        """Like create_state, plus a float32 master copy for float16 weights."""
        if self.multi_precision and _data(weight).dtype == jnp.float16:
            master = _new_nd(_data(weight).astype(jnp.float32), weight)
            return (master, self.create_state(index, master))
        if _data(weight).dtype == jnp.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or "
                          "slow convergence. Consider using multi_precision=True option of the "
                          "optimizer")
        return self.create_state(index, weight)

    @staticmethod
    def _flat_state(state) -> List[Any]:
        if state is None:
            return []
        if isinstance(state, (tuple, list)):
            return [s for s in state if s is not None]
        return [state]

    def update(self, index, weight, grad, state) -> None:
        """Update ``weight`` in place from ``grad`` (MXNet's imperative API)."""
        self._check_nd(index, weight, grad)
        self._update_count(index)
        lr = self._get_lr(index)
        wd = self._get_wd(index)
        t = self._index_update_count[index]
        self._apply_imperative(index, weight, grad, state, lr, wd, t)

    def _apply_imperative(self, index, weight, grad, state, lr, wd, t) -> None:
        scal, extra = self._scalars(np, t, lr, wd, self._imperative_extra(), 0)
        self._set_imperative_extra(extra)
        scal = {k: _f32(v) for k, v in scal.items()}
        slots_nd = self._flat_state(state)
        slots = tuple(_data(s) for s in slots_nd)
        w = _data(weight)
        new_w, new_slots = self._compiled()(w, _data(grad), slots, scal)
        for s_nd, new in zip(slots_nd, new_slots):
            s_nd._data = new
        weight._data = new_w.astype(w.dtype)

    def _imperative_extra(self) -> Dict[str, Any]:
        return {}

    def _set_imperative_extra(self, extra: Dict[str, Any]) -> None:
        pass

    def update_multi_precision(self, index, weight, grad, state) -> None:
        """Update with a float32 master copy when ``multi_precision`` and weight is float16."""
        if self.multi_precision and _data(weight).dtype == jnp.float16 \
                and isinstance(state, (tuple, list)) and len(state) == 2 \
                and hasattr(state[0], "_data"):
            master, inner = state
            g32 = _new_nd(_data(grad).astype(jnp.float32), grad)
            self.update(index, master, g32, inner)
            weight._data = _data(master).astype(jnp.float16)
        else:
            self.update(index, weight, grad, state)

    @staticmethod
    def _check_nd(index, weight, grad) -> None:
        for what, x in (("weight", weight), ("grad", grad)):
            if not hasattr(x, "_data"):
                raise ParamError(f"Optimizer.update(index={index!r}): {what} must be an NDArray, "
                                 f"received {type(x).__name__}.")
        if tuple(weight.shape) != tuple(grad.shape):
            raise ParamError(f"Optimizer.update(index={index!r}): grad shape "
                             f"{tuple(grad.shape)} does not match weight shape "
                             f"{tuple(weight.shape)}.")

    # ---------------------------------------------------------------- functional face
    def _order(self, names: Sequence[str]) -> List[str]:
        """Update order of the parameters (matters only for Nadam's shared schedule): the
        param_idx2name index order when given, else the order of the dict given to init."""
        names = list(names)
        if self.idx2name:
            keyed = sorted(self.idx2name.items(),
                           key=lambda kv: (0, kv[0], "") if isinstance(kv[0], int)
                           else (1, 0, str(kv[0])))
            rank: Dict[str, int] = {}
            for _, n in keyed:
                rank.setdefault(n, len(rank))
            return sorted(names, key=lambda n: (0, rank[n]) if n in rank
                          else (1, names.index(n)))
        if self._param_order is not None:
            known = [n for n in self._param_order if n in names]
            return known + [n for n in names if n not in known]
        return names

    def init(self, params: Mapping[str, jax.Array]) -> Dict[str, Any]:
        """Functional state for ``params`` (a dict name -> array); pure.

        Returns:
            ``{'count': int32 (), 'lr': float32 (), 'slots': {name: tuple of arrays},
            'extra': {...}}``; ``count`` starts at ``begin_num_update``.
        """
        if not isinstance(params, Mapping):
            raise ParamError(f"Optimizer.init expects a dict name -> array, received "
                             f"{type(params).__name__}.")
        if self._param_order is None:
            self._param_order = list(params.keys())
        slots = {}
        for name, w in params.items():
            w = jnp.asarray(w)
            base = w.astype(jnp.float32) if self._mp(w) else w
            # numpy zeros and scalars: jnp.zeros would compile a fill program per shape; the
            # caller places the state (and numpy values are constants under a trace)
            inner = tuple(np.zeros(w.shape, base.dtype) for _ in self._slot_shapes())
            slots[name] = ((base,) + inner) if self._mp(w) else inner
        return {"count": np.int32(self.begin_num_update),
                "lr": np.float32(self.lr if self.lr is not None else 0.0),
                "slots": slots, "extra": self._extra_init()}

    def sync_state(self, state: Dict[str, Any]) -> Dict[str, Any]:
        """Copy host-side changes (``set_learning_rate``) into a functional state."""
        new = dict(state)
        new["lr"] = _f32(self.lr if self.lr is not None else 0.0)
        return new

    def _functional(self, params, grads, state):
        count = state["count"] + 1
        if self.lr_scheduler is not None:
            lr = self._lr_fn()(count)
        else:
            lr = state["lr"]
        extra = dict(state["extra"])
        new_params, new_slots = {}, {}
        for pos, name in enumerate(self._order(list(params.keys()))):
            w = jnp.asarray(params[name])
            g = jnp.asarray(grads[name])
            slots = tuple(state["slots"][name])
            lr_n = lr * _f32(self._name_mult(self.lr_mult, name))
            wd_n = _f32(self.wd) * _f32(self._name_mult(self.wd_mult, name))
            scal, extra = self._scalars(jnp, count, lr_n, wd_n, extra, pos)
            scal = {k: _f32(v) for k, v in scal.items()}
            if self._mp(w):
                new_master, inner = self._kernel(slots[0], g.astype(jnp.float32), slots[1:], scal)
                new_w, new_s = new_master.astype(w.dtype), (new_master,) + tuple(inner)
            else:
                new_w, new_s = self._kernel(w, g, slots, scal)
                new_w = new_w.astype(w.dtype)
            new_params[name] = new_w
            new_slots[name] = tuple(new_s)
        return new_params, {"count": count, "lr": state["lr"], "slots": new_slots,
                            "extra": extra}

    def _lr_fn(self):
        return self.lr_scheduler.jax_fn()

    def to_optax(self) -> optax.GradientTransformation:
        """This optimizer as an ``optax.GradientTransformation``.

        ``update(grads, state, params)`` needs ``params`` and returns ``new_w - w`` as updates, so
        ``optax.apply_updates(params, updates)`` gives MXNet's new weights.
        """
        def init_fn(params):
            return self.init(params)

        def update_fn(updates, state, params=None):
            if params is None:
                raise ParamError(f"{type(self).__name__}.to_optax().update needs params: MXNet's "
                                 f"updates depend on the weights (weight decay, NAG, FTRL).")
            new_params, new_state = self._functional(params, updates, state)
            deltas = {k: (new_params[k] - jnp.asarray(params[k])).astype(new_params[k].dtype)
                      for k in new_params}
            return deltas, new_state

        return optax.GradientTransformation(init_fn, update_fn)

    def step(self, params: Mapping[str, jax.Array], grads: Mapping[str, jax.Array],
             state: Dict[str, Any]) -> Tuple[Dict[str, jax.Array], Dict[str, Any]]:
        """One pure update of every parameter (jittable).

        Args:
            params: name -> weight array.
            grads: name -> gradient (same shapes); the raw gradient, ``rescale_grad`` is applied
                here as in MXNet.
            state: from :meth:`init` (or a previous step).

        Returns:
            (new_params, new_state).
        """
        missing = [k for k in params if k not in grads]
        if missing:
            raise ParamError(f"Optimizer.step: no gradient for {missing}; expected one gradient "
                             f"per parameter (pass only trainable params).")
        # The kernels directly (not ``to_optax``'s ``w + (new_w - w)``): MXNet's arithmetic to
        # the last bit, and fewer operations to compile.
        return self._functional(params, {k: grads[k] for k in params}, state)

    # ---------------------------------------------------------------- pickle-free states
    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr}, wd={self.wd})"


register = Optimizer.register
create = Optimizer.create_optimizer


# =================================================================================== optimizers
class _MomentumState(Optimizer):
    """Optimizers with one momentum slot (none when ``momentum == 0``), MXNet's plain state."""

    momentum: float = 0.0

    def _slot_shapes(self):
        return ("mom",) if self.momentum != 0.0 else ()

    def _state_is_tuple(self):
        return False

    def _static_key(self):
        return super()._static_key() + (self.momentum,)


@register
class SGD(_MomentumState):
    """SGD with momentum and weight decay.

    no momentum: ``w = (1 - lr*wd)*w - lr*r``;
    momentum: ``m = mu*m - lr*wd*w - lr*r; w = w + m``.
    """

    def __init__(self, momentum: float = 0.0, lazy_update: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        self.aggregate_num = 4

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        if self._clip_on():
            r_term = lr * _clip(jnp.float32(self.rescale_grad) * g,
                                jnp.float32(self.clip_gradient))
        else:
            r_term = (lr * jnp.float32(self.rescale_grad)) * g
        if self.momentum > 0 and slots:
            mom = jnp.float32(self.momentum) * slots[0] - (lr * wd) * w - r_term
            return w + mom, (mom,)
        return (1.0 - lr * wd) * w - r_term, tuple(slots)


@register
class ccSGD(SGD):  # noqa: N801 - MXNet name
    """[DEPRECATED] Same as SGD (kept for MXNet compatibility)."""


@register
class NAG(_MomentumState):
    """Nesterov accelerated gradient (MXNet's ``nag_mom_update``).

    ``s = r + wd*w; w' = w + mu*(mu*m - lr*s) - lr*s; m' = mu*m - lr*(r + wd*w')``.
    """

    def __init__(self, momentum: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        if not (self.momentum > 0 and slots):
            # MXNet compat: NAG without momentum runs sgd_update.
            return SGD._kernel(self, w, g, (), s)
        mu = jnp.float32(self.momentum)
        r = self._rescaled(g)
        m = slots[0]
        step = lr * (r + wd * w)
        new_w = w + mu * (mu * m - step) - step
        # MXNet compat: the kernel writes the weight in place before updating the momentum,
        # so the momentum's weight-decay term reads the *new* weight.
        new_m = mu * m - lr * (r + wd * new_w)
        return new_w, (new_m,)


@register
class Adam(Optimizer):
    """Adam. ``s = clip(rescale*g + wd*w)`` (wd added before clipping, MXNet's kernel);
    ``m, v`` EMAs; ``w -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)``."""

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, lazy_update: bool = True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lazy_update = lazy_update

    def _slot_shapes(self):
        return ("mean", "var")

    def _static_key(self):
        return super()._static_key() + (self.beta1, self.beta2, self.epsilon)

    def _scalars(self, xp, t, lr, wd, extra, pos):
        coef1 = 1.0 - _pow(xp, self.beta1, t)
        coef2 = 1.0 - _pow(xp, self.beta2, t)
        return {"lr": lr * xp.sqrt(coef2) / coef1, "wd": wd}, extra

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        b1, b2 = jnp.float32(self.beta1), jnp.float32(self.beta2)
        # MXNet compat: weight decay joins the gradient *before* clipping.
        gr = g * jnp.float32(self.rescale_grad) + w * wd
        if self._clip_on():
            gr = _clip(gr, jnp.float32(self.clip_gradient))
        mean = b1 * slots[0] + (jnp.float32(1.0 - self.beta1)) * gr
        var = b2 * slots[1] + (jnp.float32(1.0 - self.beta2)) * jnp.square(gr)
        new_w = w - lr * mean / (jnp.sqrt(var) + jnp.float32(self.epsilon))
        return new_w, (mean, var)


def _pow(xp, base: float, t):
    if xp is np:
        return float(base) ** int(t)
    return jnp.power(jnp.float32(base), jnp.asarray(t).astype(jnp.float32))


@register
class AdaGrad(Optimizer):
    """AdaGrad: ``h += r^2; w += (r/sqrt(h + eps) + w*wd) * -lr``."""

    _clip_if_not_none = True

    def __init__(self, eps: float = 1e-7, **kwargs):
        super().__init__(**kwargs)
        self.float_stable_eps = eps

    def _slot_shapes(self):
        return ("history",)

    def _state_is_tuple(self):
        return False

    def _static_key(self):
        return super()._static_key() + (self.float_stable_eps,)

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        r = self._rescaled(g)
        hist = slots[0] + jnp.square(r)
        div = r / jnp.sqrt(hist + jnp.float32(self.float_stable_eps))
        return w + (div + w * wd) * (-lr), (hist,)


@register
class RMSProp(Optimizer):
    """RMSProp (Tieleman & Hinton) or centered (Graves) when ``centered=True``.

    ``s = clip(rescale*g + wd*w)``; ``n = (1-g1)*s^2 + g1*n``; plain: ``w -= lr*s/sqrt(n+eps)``;
    centered: ``gbar = (1-g1)*s + g1*gbar; d = g2*d - lr*s/sqrt(n - gbar^2 + eps); w += d``;
    then ``w = clip(w, +-clip_weights)`` when set.
    """

    def __init__(self, learning_rate: float = 0.001, gamma1: float = 0.9, gamma2: float = 0.9,
                 epsilon: float = 1e-8, centered: bool = False,
                 clip_weights: Optional[float] = None, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.gamma1 = gamma1
        self.gamma2 = gamma2
        self.centered = centered
        self.epsilon = epsilon
        self.clip_weights = clip_weights

    def _slot_shapes(self):
        return ("n", "g", "delta") if self.centered else ("n",)

    def _static_key(self):
        return super()._static_key() + (self.gamma1, self.gamma2, self.centered, self.epsilon,
                                        self.clip_weights)

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        g1 = jnp.float32(self.gamma1)
        one_g1 = jnp.float32(1.0 - self.gamma1)
        eps = jnp.float32(self.epsilon)
        gr = g * jnp.float32(self.rescale_grad) + wd * w
        if self._clip_on():
            gr = _clip(gr, jnp.float32(self.clip_gradient))
        n = one_g1 * jnp.square(gr) + g1 * slots[0]
        if not self.centered:
            new_w = w - lr * (gr / jnp.sqrt(n + eps))
            new_slots = (n,)
        else:
            gbar = one_g1 * gr + g1 * slots[1]
            delta = jnp.float32(self.gamma2) * slots[2] \
                - lr * (gr / jnp.sqrt(n - jnp.square(gbar) + eps))
            new_w = w + delta
            new_slots = (n, gbar, delta)
        if self.clip_weights:
            new_w = _clip(new_w, jnp.float32(self.clip_weights))
        return new_w, new_slots


@register
class AdaDelta(Optimizer):
    """AdaDelta (no learning rate): ``acc_g = rho*acc_g + (1-rho)*r^2;
    d = sqrt(acc_d + eps)/sqrt(acc_g + eps)*r; acc_d = rho*acc_d + (1-rho)*d^2; w -= d + wd*w``.
    """

    _clip_if_not_none = True

    def __init__(self, rho: float = 0.90, epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _slot_shapes(self):
        return ("acc_g", "acc_delta")

    def _static_key(self):
        return super()._static_key() + (self.rho, self.epsilon)

    def update(self, index, weight, grad, state):
        self._check_nd(index, weight, grad)
        wd = self._get_wd(index)
        self._update_count(index)
        self._apply_imperative(index, weight, grad, state, 0.0, wd,
                               self._index_update_count[index])
        # MXNet compat: AdaDelta rescales the caller's gradient array in place.
        grad._data = _data(grad) * jnp.float32(self.rescale_grad)

    def _kernel(self, w, g, slots, s):
        wd = s["wd"]
        rho, one_rho = jnp.float32(self.rho), jnp.float32(1.0 - self.rho)
        eps = jnp.float32(self.epsilon)
        r = self._rescaled(g)
        acc_g = slots[0] * rho + one_rho * r * r
        delta = jnp.sqrt(slots[1] + eps) / jnp.sqrt(acc_g + eps) * r
        acc_d = slots[1] * rho + one_rho * delta * delta
        return w - (delta + wd * w), (acc_g, acc_d)


@register
class Ftrl(Optimizer):
    """FTRL-proximal: ``z += r - (sqrt(n + r^2) - sqrt(n))*w/lr; n += r^2;
    w = (sign(z)*lamda1 - z) / ((beta + sqrt(n))/lr + wd) * (|z| > lamda1)``."""

    def __init__(self, lamda1: float = 0.01, learning_rate: float = 0.1, beta: float = 1,
                 **kwargs):
        super().__init__(**kwargs)
        self.lamda1 = lamda1
        self.beta = beta
        # MXNet compat: set after the base constructor, so a scheduler's base_lr is untouched.
        self.lr = learning_rate

    def _slot_shapes(self):
        return ("z", "n")

    def _static_key(self):
        return super()._static_key() + (self.lamda1, self.beta)

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        lam = jnp.float32(self.lamda1)
        r = self._rescaled(g)
        z0, n0 = slots
        z = z0 + (r - (jnp.sqrt(n0 + r * r) - jnp.sqrt(n0)) * w / lr)
        n = n0 + r * r
        new_w = (jnp.sign(z) * lam - z) / ((jnp.float32(self.beta) + jnp.sqrt(n)) / lr + wd) \
            * (jnp.abs(z) > lam).astype(w.dtype)
        return new_w, (z, n)


@register
class Signum(_MomentumState):
    """Signum: ``m = mu*m - (1-mu)*(wd*w + r); w = (1 - lr*wd_lh)*w + lr*sign(m)``;
    momentum 0 is signSGD: ``w = (1 - lr*wd)*w - lr*sign(r)``."""

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9,
                 wd_lh: float = 0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def _static_key(self):
        return super()._static_key() + (self.wd_lh,)

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        if self.momentum > 0 and slots:
            mu, one_mu = jnp.float32(self.momentum), jnp.float32(1.0 - self.momentum)
            r = self._rescaled(g)
            mom = mu * slots[0] - one_mu * wd * w - one_mu * r
            new_w = (1.0 - lr * jnp.float32(self.wd_lh)) * w + lr * jnp.sign(mom)
            return new_w, (mom,)
        r = self._rescaled(g)
        return (1.0 - lr * wd) * w - lr * jnp.sign(r), tuple(slots)


@register
class Adamax(Optimizer):
    """AdaMax: ``s = clip(rescale*g + wd*w); m = b1*m + (1-b1)*s; u = max(b2*u, |s|);
    w -= lr/(1-b1^t) * m / u``."""

    _clip_if_not_none = True

    def __init__(self, learning_rate: float = 0.002, beta1: float = 0.9, beta2: float = 0.999,
                 **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2

    def _slot_shapes(self):
        return ("mean", "var")

    def _static_key(self):
        return super()._static_key() + (self.beta1, self.beta2)

    def _scalars(self, xp, t, lr, wd, extra, pos):
        return {"lr": lr / (1.0 - _pow(xp, self.beta1, t)), "wd": wd}, extra

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        gr = g * jnp.float32(self.rescale_grad) + wd * w
        if self._clip_on():
            gr = _clip(gr, jnp.float32(self.clip_gradient))
        m = slots[0] * jnp.float32(self.beta1) + jnp.float32(1.0 - self.beta1) * gr
        u = jnp.maximum(jnp.float32(self.beta2) * slots[1], jnp.abs(gr))
        return w - lr * m / u, (m, u)


@register
class Nadam(Optimizer):
    """Nesterov Adam with MXNet's momentum schedule.

    Note:
        MXNet compat: ``m_schedule`` is one scalar for the whole optimizer, multiplied by
        ``momentum_t`` at *every parameter update*; with P parameters it advances P times per
        step. The functional face reproduces this in the parameter order of
        :meth:`Optimizer._order` (param_idx2name order, else the dict order given to ``init``).
    """

    _clip_if_not_none = True

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-8, schedule_decay: float = 0.004, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule_decay = schedule_decay
        self.m_schedule = 1.

    def _slot_shapes(self):
        return ("mean", "var")

    def _static_key(self):
        return super()._static_key() + (self.beta1, self.beta2, self.epsilon)

    def _extra_init(self):
        return {"m_schedule": _f32(self.m_schedule)}

    def _imperative_extra(self):
        return {"m_schedule": self.m_schedule}

    def _set_imperative_extra(self, extra):
        self.m_schedule = extra["m_schedule"]

    def _scalars(self, xp, t, lr, wd, extra, pos):
        if xp is np:
            tf = float(t)
            mom_t = self.beta1 * (1. - 0.5 * (0.96 ** (tf * self.schedule_decay)))
            mom_t1 = self.beta1 * (1. - 0.5 * (0.96 ** ((tf + 1) * self.schedule_decay)))
            b2t = self.beta2 ** int(t)
        else:
            tf = jnp.asarray(t).astype(jnp.float32)
            sd = jnp.float32(self.schedule_decay)
            mom_t = jnp.float32(self.beta1) * (1. - 0.5 * jnp.power(jnp.float32(0.96), tf * sd))
            mom_t1 = jnp.float32(self.beta1) * (
                1. - 0.5 * jnp.power(jnp.float32(0.96), (tf + 1) * sd))
            b2t = _pow(jnp, self.beta2, t)
        m_sched = extra["m_schedule"] * mom_t
        m_next = m_sched * mom_t1
        new_extra = dict(extra)
        new_extra["m_schedule"] = m_sched
        return {"lr": lr, "wd": wd, "mom_t": mom_t, "mom_t1": mom_t1, "m_sched": m_sched,
                "m_next": m_next, "b2t": b2t}, new_extra

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        gr = g * jnp.float32(self.rescale_grad) + wd * w
        if self._clip_on():
            gr = _clip(gr, jnp.float32(self.clip_gradient))
        m = slots[0] * jnp.float32(self.beta1) + jnp.float32(1.0 - self.beta1) * gr
        v = slots[1] * jnp.float32(self.beta2) + jnp.float32(1.0 - self.beta2) * gr * gr
        g_prime = gr / (1. - s["m_sched"])
        m_prime = m / (1. - s["m_next"])
        v_prime = v / (1. - s["b2t"])
        m_bar = (1. - s["mom_t"]) * g_prime + s["mom_t1"] * m_prime
        return w - lr * m_bar / (jnp.sqrt(v_prime) + jnp.float32(self.epsilon)), (m, v)


@register
class LAMB(Optimizer):
    """LAMB (layer-wise adaptive moments), MXNet's ``lamb_update_phase1/2``.

    ``m, v`` EMAs of ``r``; ``g = m_hat/(sqrt(v_hat)+eps) + wd*w`` (bias-corrected unless
    ``bias_correction=False``); ``r1 = clip(||w||, lower_bound, upper_bound)``, ``r2 = ||g||``;
    ``w -= lr * (r1/r2 if r1 and r2 else 1) * g``.
    """

    def __init__(self, learning_rate: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 epsilon: float = 1e-6, lower_bound: Optional[float] = None,
                 upper_bound: Optional[float] = None, bias_correction: bool = True, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.lower_bound = lower_bound
        self.upper_bound = upper_bound
        self.bias_correction = bias_correction
        self.aggregate_num = 45

    def _slot_shapes(self):
        return ("mean", "var")

    def _static_key(self):
        return super()._static_key() + (self.beta1, self.beta2, self.epsilon, self.lower_bound,
                                        self.upper_bound, self.bias_correction)

    def _scalars(self, xp, t, lr, wd, extra, pos):
        return {"lr": lr, "wd": wd, "c1": 1.0 - _pow(xp, self.beta1, t),
                "c2": 1.0 - _pow(xp, self.beta2, t)}, extra

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        r = self._rescaled(g)
        mean = jnp.float32(self.beta1) * slots[0] + jnp.float32(1.0 - self.beta1) * r
        var = jnp.float32(self.beta2) * slots[1] + jnp.float32(1.0 - self.beta2) * jnp.square(r)
        eps = jnp.float32(self.epsilon)
        if self.bias_correction:
            upd = (mean / s["c1"]) / (jnp.sqrt(var / s["c2"]) + eps) + wd * w
        else:
            upd = mean / (jnp.sqrt(var) + eps) + wd * w
        r1 = jnp.sqrt(jnp.sum(jnp.square(w)))
        r2 = jnp.sqrt(jnp.sum(jnp.square(upd)))
        if self.lower_bound:
            r1 = jnp.maximum(r1, jnp.float32(self.lower_bound))
        if self.upper_bound:
            r1 = jnp.minimum(r1, jnp.float32(self.upper_bound))
        ratio = jnp.where((r1 != 0) & (r2 != 0), r1 / r2, jnp.float32(1.0))
        return w - lr * ratio * upd, (mean, var)


@register
class FTML(Optimizer):
    """FTML (Follow the Moving Leader), MXNet's ``ftml_update``."""

    def __init__(self, beta1: float = 0.6, beta2: float = 0.999, epsilon: float = 1e-8,
                 **kwargs):
        super().__init__(**kwargs)
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon

    def _slot_shapes(self):
        return ("d", "v", "z")

    def _static_key(self):
        return super()._static_key() + (self.beta1, self.beta2, self.epsilon)

    def _scalars(self, xp, t, lr, wd, extra, pos):
        return {"lr": lr, "wd": wd, "c1": 1.0 - _pow(xp, self.beta1, t),
                "c2": 1.0 - _pow(xp, self.beta2, t)}, extra

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        b1, b2 = jnp.float32(self.beta1), jnp.float32(self.beta2)
        gr = g * jnp.float32(self.rescale_grad) + wd * w
        if self._clip_on():
            gr = _clip(gr, jnp.float32(self.clip_gradient))
        d0, v0, z0 = slots
        v = b2 * v0 + jnp.float32(1.0 - self.beta2) * jnp.square(gr)
        d = s["c1"] / lr * (jnp.sqrt(v / s["c2"]) + jnp.float32(self.epsilon))
        z = b1 * z0 + jnp.float32(1.0 - self.beta1) * gr - (d - b1 * d0) * w
        return -z / d, (d, v, z)


@register
class DCASGD(Optimizer):
    """Delay-compensated async SGD (momentum 0 only, like MXNet 1.9.1, whose momentum path
    fails): ``m = -lr*(r + wd*w + lamda*r*r*(w - w_prev)); w_prev = w; w += m``."""

    _clip_if_not_none = True

    def __init__(self, momentum: float = 0.0, lamda: float = 0.04, **kwargs):
        super().__init__(**kwargs)
        if momentum != 0.0:
            raise ParamError(f"DCASGD momentum={momentum} is not supported (MXNet 1.9.1 fails "
                             f"on it too); use momentum=0.0.")
        self.momentum = momentum
        self.lamda = lamda

    def _slot_shapes(self):
        return ("prev",)

    def create_state(self, index, weight):
        return (None, _new_nd(_data(weight), weight))

    def init(self, params):
        state = super().init(params)
        state["slots"] = {k: (jnp.asarray(params[k]),) for k in params}
        return state

    def _static_key(self):
        return super()._static_key() + (self.lamda,)

    def _kernel(self, w, g, slots, s):
        lr, wd = s["lr"], s["wd"]
        r = self._rescaled(g)
        mom = (-lr) * (r + wd * w + jnp.float32(self.lamda) * r * r * (w - slots[0]))
        return w + mom, (w,)


# =================================================================================== updater
class Updater:
    """MXNet's updater closure: ``updater(index, grad, weight)`` with lazily created states.

    ``index``/``grad``/``weight`` may be lists (FeedForward/Module pass all parameters at once);
    parameters are updated in the given order.
    """

    def __init__(self, optimizer: Optimizer):
        self.optimizer = optimizer
        self.states: Dict[Any, Any] = {}
        self.states_synced: Dict[Any, bool] = {}
        self.aggregate_updates = optimizer.aggregate_num > 0

    def __call__(self, index, grad, weight) -> None:
        if not isinstance(index, (list, tuple)):
            indices, grads, weights = [index], [grad], [weight]
        else:
            indices, grads, weights = list(index), list(grad), list(weight)
        if not (len(indices) == len(grads) == len(weights)):
            raise ParamError(f"updater: got {len(indices)} indices, {len(grads)} grads and "
                             f"{len(weights)} weights; they must have the same length.")
        for i, idx in enumerate(indices):
            if isinstance(idx, bytes):
                idx = idx.decode()
                indices[i] = idx
            if idx not in self.states:
                self.states[idx] = self.optimizer.create_state_multi_precision(idx, weights[i])
                self.states_synced[idx] = True
        for idx, w, g in zip(indices, weights, grads):
            self.optimizer.update_multi_precision(idx, w, g, self.states[idx])

    def sync_state_context(self, state, context):
        """States live where their arrays are; returned unchanged."""
        return state

    def get_states(self, dump_optimizer: bool = False) -> bytes:
        """Serialise the states WITHOUT pickle, as ``mx.nd.save``-format bytes.

        Layout: one ``.params`` blob (MXNet's NDArray-list format, loadable by ``mx.nd.load``)
        holding ``"<k>/<j>"`` -> state array ``j`` of the k-th state, plus ``"__meta__"`` (a
        uint8 array with UTF-8 JSON: the indices with their types, each state's structure, and
        with ``dump_optimizer`` the optimizer's counters and learning rate).
        """
        from . import ndarray as nd
        arrays: Dict[str, Any] = {}
        meta: Dict[str, Any] = {"format": "symnet-updater-states-v1", "entries": []}
        for k, (idx, st) in enumerate(self.states.items()):
            struct, leaves = _state_struct(st)
            for j, leaf in enumerate(leaves):
                arrays[f"{k}/{j}"] = nd.NDArray(np.asarray(_data(leaf)))
            meta["entries"].append({"index": idx, "index_type": type(idx).__name__,
                                    "struct": struct})
        if dump_optimizer:
            opt = self.optimizer
            meta["optimizer"] = {
                "type": type(opt).__name__.lower(), "num_update": opt.num_update,
                "lr": opt.lr, "wd": opt.wd, "rescale_grad": opt.rescale_grad,
                "index_update_count": [[i, type(i).__name__, c]
                                       for i, c in opt._index_update_count.items()],
                "m_schedule": getattr(opt, "m_schedule", None)}
        raw = np.frombuffer(json.dumps(meta).encode("utf-8"), np.uint8)
        arrays["__meta__"] = nd.NDArray(raw.copy())
        return nd.save_bytes(arrays)

    def set_states(self, states: bytes) -> None:
        """Restore states written by :meth:`get_states` (never unpickles)."""
        from . import ndarray as nd
        from .base import FormatError
        if not isinstance(states, (bytes, bytearray)):
            raise FormatError(f"Updater.set_states expects the bytes of get_states(), received "
                              f"{type(states).__name__}.")
        loaded = nd.load_bytes(bytes(states), source="<optimizer states>")
        if not isinstance(loaded, dict) or "__meta__" not in loaded:
            raise FormatError("Updater.set_states: not a symnet optimizer-state blob (no "
                              "__meta__ entry); MXNet's pickled states cannot be read.")
        meta = json.loads(bytes(np.asarray(loaded["__meta__"].asnumpy(), np.uint8)).decode())
        new_states = {}
        for k, ent in enumerate(meta["entries"]):
            idx = _typed_index(ent["index"], ent["index_type"])
            leaves = []
            j = 0
            while f"{k}/{j}" in loaded:
                leaves.append(nd.NDArray(jnp.asarray(loaded[f"{k}/{j}"].asnumpy())))
                j += 1
            new_states[idx] = _state_build(ent["struct"], iter(leaves))
        self.states = new_states
        self.states_synced = dict.fromkeys(self.states.keys(), False)
        opt_meta = meta.get("optimizer")
        if opt_meta:
            opt = self.optimizer
            opt.num_update = opt_meta["num_update"]
            opt.lr = opt_meta["lr"]
            opt.wd = opt_meta["wd"]
            opt.rescale_grad = opt_meta["rescale_grad"]
            opt._index_update_count.clear()
            for i, typ, c in opt_meta["index_update_count"]:
                opt._index_update_count[_typed_index(i, typ)] = c
            if opt_meta.get("m_schedule") is not None:
                opt.m_schedule = opt_meta["m_schedule"]


def _typed_index(value, typ):
    return int(value) if typ in ("int", "int64", "int32") else value


def _state_struct(st):
    """(JSON structure, leaves) of a state: None, an array, or nested tuples/lists."""
    if st is None:
        return None, []
    if isinstance(st, (tuple, list)):
        structs, leaves = [], []
        for s in st:
            sub, lv = _state_struct(s)
            structs.append(sub)
            leaves.extend(lv)
        return {"seq": structs, "list": isinstance(st, list)}, leaves
    return "array", [st]


def _state_build(struct, leaves):
    if struct is None:
        return None
    if struct == "array":
        return next(leaves)
    items = [_state_build(s, leaves) for s in struct["seq"]]
    return items if struct["list"] else tuple(items)


def get_updater(optimizer: Optimizer) -> Updater:
    """Return MXNet's updater closure ``updater(index, grad, weight)`` for ``optimizer``."""
    if not isinstance(optimizer, Optimizer):
        raise ParamError(f"get_updater expects an Optimizer, received "
                         f"{type(optimizer).__name__}.")
    return Updater(optimizer)


def state_to_bytes(state: Dict[str, Any]) -> bytes:
    """Serialise a functional optimizer state (from :meth:`Optimizer.init`) without pickle.

    Same ``.params`` container as :meth:`Updater.get_states`: keys ``count``, ``lr``,
    ``extra/<k>``, ``slot/<name>/<j>``.
    """
    from . import ndarray as nd
    arrays = {"count": nd.NDArray(np.asarray(state["count"], np.int32).reshape(1)),
              "lr": nd.NDArray(np.asarray(state["lr"], np.float32).reshape(1))}
    for k, v in state["extra"].items():
        arrays[f"extra/{k}"] = nd.NDArray(np.asarray(v, np.float32).reshape(1))
    for name, slots in state["slots"].items():
        for j, s in enumerate(slots):
            arrays[f"slot/{name}/{j}"] = nd.NDArray(np.asarray(s))
        if not slots:
            arrays[f"noslot/{name}"] = nd.NDArray(np.zeros((1,), np.float32))
    return nd.save_bytes(arrays)


def state_from_bytes(blob: bytes) -> Dict[str, Any]:
    """Inverse of :func:`state_to_bytes`."""
    from . import ndarray as nd
    loaded = nd.load_bytes(bytes(blob), source="<optimizer state>")
    state: Dict[str, Any] = {"count": jnp.asarray(loaded["count"].asnumpy()[0], jnp.int32),
                             "lr": jnp.asarray(loaded["lr"].asnumpy()[0], jnp.float32),
                             "extra": {}, "slots": {}}
    slot_lists: Dict[str, Dict[int, Any]] = {}
    for key, arr in loaded.items():
        if key.startswith("extra/"):
            state["extra"][key[6:]] = jnp.asarray(arr.asnumpy()[0], jnp.float32)
        elif key.startswith("slot/"):
            name, j = key[5:].rsplit("/", 1)
            slot_lists.setdefault(name, {})[int(j)] = jnp.asarray(arr.asnumpy())
        elif key.startswith("noslot/"):
            slot_lists.setdefault(key[7:], {})
    for name, d in slot_lists.items():
        state["slots"][name] = tuple(d[j] for j in sorted(d))
    return state
