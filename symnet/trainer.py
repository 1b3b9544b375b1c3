"""The jitted train/eval/predict steps that FeedForward and Module share.

One training step is one jitted call: forward, backward (MXNet's head-gradient semantics through
the compiled graph), optimizer update and metric accumulation, with parameters, optimizer state,
auxiliary state and metric state donated. Nothing is read back to the host per batch; the host
reads the metric only when a callback asks for it.

The step functions take a ``mesh`` placement hook: parameters replicated, batch sharded along
its first axis, so the same code runs data-parallel under a ``jax.sharding.Mesh``.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from .base import GraphError, ParamError, ShapeError, SymnetError, shape_str
from .compiler import Graph, compile_symbol
from .ndarray import NDArray
from .symbol.symbol import Symbol
from .xla_options import conv_nodes as _conv_nodes

__all__ = ["Trainer", "NonFiniteError", "batch_arrays"]

Arrays = Dict[str, jax.Array]


class NonFiniteError(SymnetError, FloatingPointError):
    """The training outputs became NaN or infinite."""


def _data_of(x: Any) -> Any:
    return x._data if isinstance(x, NDArray) else x


def batch_arrays(names: Sequence[str], arrays: Sequence[Any], batch_size: int,
                 what: str) -> Tuple[Arrays, int]:
    """Device arrays for one batch, wrap-padded to ``batch_size`` (returns the extra pad)."""
    out: Arrays = {}
    extra = 0
    if len(arrays) != len(names):
        raise GraphError(f"{what}: {len(arrays)} arrays for names {list(names)}")
    for name, arr in zip(names, arrays):
        a = jnp.asarray(_data_of(arr))
        n = a.shape[0] if a.ndim else 0
        if n == 0:
            raise ShapeError(f"{what}: {name!r} is an empty batch (shape {shape_str(a.shape)})")
        if n < batch_size:
            # A short final batch is padded by repeating its rows (as MXNet's 'pad' does), so
            # the compiled step keeps its shape; the padded rows are masked out of metrics.
            idx = np.arange(batch_size) % n
            a = a[idx]
            extra = batch_size - n
        elif n > batch_size:
            raise ShapeError(f"{what}: {name!r} has batch {n}, larger than the bound batch "
                             f"size {batch_size}")
        out[name] = a
    return out, extra


@dataclass
class TrainState:
    """Everything a step reads and writes (a pytree of device arrays)."""

    params: Arrays
    fixed: Arrays
    aux: Arrays
    opt: Any = None
    metric: Any = None
    bad_batch: Any = field(default_factory=lambda: np.int32(-1))
    #: The next batch of the epoch's plan (resident data): kept on the device so that the
    #: inner loop passes no host values at all.
    cursor: Any = field(default_factory=lambda: np.int32(0))


#: How a scanned step past an epoch's last batch leaves the state unchanged: None picks per
#: backend and graph (``Trainer.skip_by_select``), True forces the select, False the
#: ``lax.cond``.
SKIP_BY_SELECT: Optional[bool] = None


def _all_finite(outs) -> jax.Array:
    """Whether every output value is finite (traced).

    ``sum(o * 0)`` is 0 unless some value is NaN or infinite (then NaN), and it compiles faster
    than a boolean ``all`` reduction (MLP step: about 25 ms of ~270 ms). (A ``max`` reduction
    would be cheaper still, but XLA:CPU's does not always propagate NaN.)
    """
    total = sum(jnp.sum(o * 0, dtype=jnp.float32) for o in outs)
    return jnp.isfinite(total)


class Trainer:
    """Compiled steps for one symbol with given data/label names."""

    def __init__(self, symbol: Symbol, data_names: Sequence[str], label_names: Sequence[str],
                 fixed_param_names: Sequence[str] = (), compute_dtype: Any = None,
                 backend: Optional[str] = None) -> None:
        """Args:
            compute_dtype: e.g. ``'bfloat16'``: forward and backward run in that type while the
                parameters, optimizer state, auxiliary state and labels stay float32 (mixed
                precision for accelerators; slower on the CPUs measured, so off by default).
            backend: the platform of the devices the steps run on (``parallel.platform_of``;
                default ``jax.default_backend()``): it picks the lowering.
        """
        self.symbol = symbol
        self.compute_dtype = None if compute_dtype is None else jnp.dtype(compute_dtype)
        self.backend = backend or jax.default_backend()
        self.graph: Graph = compile_symbol(symbol, backend=self.backend)
        self.scan_graph: Graph = compile_symbol(symbol, scan=True, backend=self.backend)
        #: XLA options every program of this trainer compiles with (``symnet.xla_options``).
        self.compiler_options = self.graph.compiler_options
        #: Whether the plain lowering runs well inside a loop: XLA:CPU runs convolutions in a
        #: while body 6-15x slower (docs: the CPU convolution notes), so not for those.
        self.loops_well = self.backend != "cpu" or not _conv_nodes(symbol)
        #: How a scanned step past the epoch's last batch leaves the state unchanged. A
        #: ``lax.cond`` skips its work, but the runtime waits on its predicate every step: XLA:GPU
        #: reads it back to the host, and on the CPU the wait cost the tutorial MLP's ~0.23 ms
        #: step 8% (benchmarks/RESULTS.md). A select runs the step and keeps the old state:
        #: work is wasted only in an epoch's last dispatch, when the batch count is not a
        #: multiple of the steps per dispatch. The CPU keeps the cond for convolution graphs,
        #: whose steps take milliseconds (the graphs that do not loop well).
        self.skip_by_select = self.loops_well if SKIP_BY_SELECT is None else SKIP_BY_SELECT
        args = self.graph.arg_names
        self.data_names = [n for n in data_names]
        self.label_names = [n for n in label_names if n in args]
        missing = [n for n in self.data_names if n not in args]
        if missing:
            raise GraphError(f"data names {missing} are not inputs of the graph; its arguments "
                             f"are {args}")
        inputs = set(self.data_names) | set(self.label_names)
        self.param_names = [n for n in args if n not in inputs]
        fixed = set(fixed_param_names)
        self.trainable = [n for n in self.param_names if n not in fixed]
        self.fixed = [n for n in self.param_names if n in fixed]
        self._cache: Dict[Any, Callable] = {}
        #: Set by a data-parallel Session: batches gathered on the device are split along it.
        self.batch_sharding: Any = None
        self.compile_count = 0
        self.pinned: Dict[str, float] = {}
        for node in symbol._topo():
            if node.op is None:
                continue
            for slot, value in node.op.pinned_inputs(node.params).items():
                src = node.inputs[list(node.slot_names).index(slot)][0]
                if src.op is None and src.name in self.trainable:
                    self.pinned[src.name] = value

    def pin(self, params: Arrays) -> Arrays:
        """Reset pinned parameters (BatchNorm's fixed gamma) after an update."""
        if not self.pinned:
            return params
        return {n: (jnp.full_like(v, self.pinned[n]) if n in self.pinned else v)
                for n, v in params.items()}

    def _jit(self, fn: Callable, **kw: Any) -> Callable:
        return jax.jit(fn, compiler_options=self.compiler_options, **kw)

    # ---- step builders ------------------------------------------------------------------------
    def train_step(self, optimizer: Any, metric: Any) -> Callable:
        """``jit(state, inputs, mask, key, nbatch) -> (state, outputs)`` (state donated).

        ``outputs`` is empty unless the metric must be updated on the host.
        """
        key = ("train", id(optimizer), id(metric))
        fn = self._cache.get(key)
        if fn is not None:
            return fn
        use_metric = metric is not None and getattr(metric, "device_capable", False)

        def step(state: TrainState, inputs: Arrays, mask, key, nbatch):
            self.compile_count += 1  # runs at trace time only: counts compilations
            return self._train_core(optimizer, metric, use_metric, state, inputs, mask, key,
                                    nbatch)

        fn = self._cache[key] = self._jit(step, donate_argnums=(0,))
        return fn

    def _train_core(self, optimizer, metric, use_metric, state: TrainState, inputs: Arrays,
                    mask, key, nbatch, graph: Optional[Graph] = None):
        """Forward, backward, update and metric for one batch (traced inside a jit)."""
        graph = graph or self.graph
        rng = jax.random.fold_in(key, nbatch) if graph.needs_rng else None

        def forward(p, inputs):
            feed = {**p, **state.fixed, **inputs}
            if self.compute_dtype is None:
                return graph.apply(feed, state.aux, rng, True)
            low = {n: (v.astype(self.compute_dtype)
                       if n not in self.label_names and jnp.issubdtype(v.dtype, jnp.floating)
                       else v) for n, v in feed.items()}
            outs, new_aux = graph.apply(low, state.aux, rng, True)
            outs = tuple(o.astype(jnp.float32) if jnp.issubdtype(o.dtype, jnp.floating) else o
                         for o in outs)
            new_aux = {n: v.astype(state.aux[n].dtype) for n, v in new_aux.items()}
            return outs, new_aux

        def forward_backward(part):
            outs, vjp, new_aux = jax.vjp(lambda p: forward(p, part), state.params, has_aux=True)
            # MXNet compat: backward() without out_grads uses ones; loss heads ignore them.
            (grads,) = vjp(tuple(jnp.ones_like(o) for o in outs))
            return outs, grads, new_aux

        m = 1
        if (graph is self.scan_graph and graph.mode == "nhwc+im2col"
                and self.batch_sharding is None):
            m = micro_batches(self.symbol, {n: v.shape for n, v in inputs.items()})
        if m == 1:
            outs, grads, new_aux = forward_backward(inputs)
        else:  # rows are independent and there is no aux state (see micro_batches)
            rows = next(iter(inputs.values())).shape[0] // m
            parts = [forward_backward({n: v[i * rows:(i + 1) * rows] for n, v in inputs.items()})
                     for i in range(m)]
            outs = tuple(jnp.concatenate(o, axis=0) for o in zip(*(q[0] for q in parts)))
            grads = jax.tree.map(lambda *g: functools.reduce(jnp.add, g), *(q[1] for q in parts))
            new_aux = state.aux
        params, opt = optimizer.step(state.params, grads, state.opt)
        params = self.pin(params)
        mstate = state.metric
        if use_metric:
            mstate = metric.device_update(mstate, [inputs[n] for n in self.label_names],
                                          list(outs), mask)
        finite = _all_finite(outs)
        bad = jnp.where((state.bad_batch < 0) & ~finite, nbatch, state.bad_batch)
        new = dataclasses.replace(state, params=params, aux=new_aux, opt=opt, metric=mstate,
                                  bad_batch=bad)
        return new, (outs if not use_metric and metric is not None else ())

    def _split_rows(self, tree: Any) -> Any:
        """Lay a gathered batch out along the data-parallel mesh, if any (traced)."""
        if self.batch_sharding is None:
            return tree
        return jax.lax.with_sharding_constraint(tree, self.batch_sharding)

    def _resident_step(self, optimizer, metric, state: TrainState, arrays: Arrays, indices,
                       pads, key, count=None, graph: Optional[Graph] = None) -> TrainState:
        """One step on plan row ``state.cursor`` (a no-op past ``count``); advances the cursor."""
        b = state.cursor
        idx = indices[b]
        inputs = self._split_rows({n: jnp.take(a, idx, axis=0) for n, a in arrays.items()})
        mask = self._split_rows(
            (jnp.arange(idx.shape[0]) < idx.shape[0] - pads[b]).astype(jnp.float32))

        def run(st):
            new, _ = self._train_core(optimizer, metric, metric is not None, st, inputs, mask,
                                      key, st.cursor, graph)
            return new

        if count is None:
            new = run(state)
        elif self.skip_by_select:
            live = b < count
            new = jax.tree_util.tree_map(lambda n, o: jnp.where(live, n, o), run(state), state)
        else:
            new = jax.lax.cond(b < count, run, lambda st: st, state)
        return dataclasses.replace(new, cursor=b + 1)

    def train_step_resident(self, optimizer: Any, metric: Any) -> Callable:
        """Like ``train_step`` but the batch is gathered on the device from resident arrays.

        ``jit(state, arrays, indices, pads, key) -> state``: ``arrays`` holds the whole data
        set per input name (sent to the device once), ``indices`` (rows, batch_size) and
        ``pads`` (rows,) the epoch's batch plan, ``state.cursor`` the row to train on. Nothing
        changes between calls but the donated state. Needs a device-capable metric (or none).
        """
        key = ("resident", id(optimizer), id(metric))
        fn = self._cache.get(key)
        if fn is None:
            def step(state, arrays, indices, pads, key):
                self.compile_count += 1
                return self._resident_step(optimizer, metric, state, arrays, indices, pads, key)

            fn = self._cache[key] = self._jit(step, donate_argnums=(0,))
        return fn

    def train_steps_scan(self, optimizer: Any, metric: Any, steps: int,
                         snapshots: bool, skip: bool = True) -> Callable:
        """``steps`` resident training steps in one ``lax.scan`` (one dispatch).

        ``jit(state, arrays, indices, pads, count, key) -> (state, snaps)``: runs plan rows
        from ``state.cursor`` on; rows at or past ``count`` leave the state unchanged (unless
        ``skip`` is False: for epochs whose dispatches are all full, every row runs).
        ``snaps`` stacks the metric state after each step when ``snapshots``.
        """
        key = ("scan", id(optimizer), id(metric), steps, snapshots, skip)
        fn = self._cache.get(key)
        if fn is None:
            def run(state, arrays, indices, pads, count, key):
                self.compile_count += 1

                def body(st, _):
                    new = self._resident_step(optimizer, metric, st, arrays, indices, pads, key,
                                              count if skip else None, self.scan_graph)
                    return new, (new.metric if snapshots else None)

                return jax.lax.scan(body, state, None, length=steps)

            fn = self._cache[key] = self._jit(run, donate_argnums=(0,))
        return fn

    def eval_step(self, metric: Any) -> Callable:
        """``jit(params, fixed, aux, mstate, inputs, mask) -> (mstate, outputs)``."""
        key = ("eval", id(metric))
        fn = self._cache.get(key)
        if fn is not None:
            return fn
        graph, label_names = self.graph, self.label_names
        use_metric = metric is not None and getattr(metric, "device_capable", False)

        def step(params, fixed, aux, mstate, inputs, mask):
            self.compile_count += 1
            outs, _ = graph.apply({**params, **fixed, **inputs}, aux, None, False)
            if use_metric:
                mstate = metric.device_update(mstate, [inputs[n] for n in label_names],
                                              list(outs), mask)
            return mstate, outs

        fn = self._cache[key] = self._jit(step)
        return fn

    def predict_step(self) -> Callable:
        """``jit(params, fixed, aux, inputs) -> outputs`` (labels not needed)."""
        fn = self._cache.get("predict")
        if fn is None:
            graph = self.graph

            def step(params, fixed, aux, inputs):
                self.compile_count += 1
                feed = {**params, **fixed, **inputs}
                # Inference never needs labels: loss heads ignore them in forward.
                for name in self.label_names:
                    if name not in feed:
                        feed[name] = jnp.zeros((), jnp.float32)
                outs, _ = graph.apply(feed, aux, None, False)
                return outs

            fn = self._cache["predict"] = self._jit(step)
        return fn

    def _gather_forward(self, metric, params, fixed, aux, mstate, arrays, indices, pads, b):
        """Inference on plan row ``b`` gathered from resident arrays (traced); the metric (if
        any) excludes padded rows."""
        idx = indices[b]
        feed = {**params, **fixed}
        feed.update(self._split_rows({n: jnp.take(a, idx, axis=0) for n, a in arrays.items()}))
        for name in self.label_names:
            feed.setdefault(name, jnp.zeros((), jnp.float32))
        outs, _ = self.graph.apply(feed, aux, None, False)
        if metric is not None:
            mask = (jnp.arange(idx.shape[0]) < idx.shape[0] - pads[b])
            mstate = metric.device_update(mstate, [feed[n] for n in self.label_names],
                                          list(outs), mask.astype(jnp.float32))
        return mstate, outs

    def gather_step(self, metric: Any) -> Callable:
        """Inference on a batch gathered on the device from resident arrays.

        ``jit(params, fixed, aux, mstate, arrays, indices, pads, b) -> (mstate, outputs)``;
        the metric (if any) excludes padded rows.
        """
        key = ("gather", id(metric))
        fn = self._cache.get(key)
        if fn is None:
            def step(params, fixed, aux, mstate, arrays, indices, pads, b):
                self.compile_count += 1
                return self._gather_forward(metric, params, fixed, aux, mstate, arrays, indices,
                                            pads, b)

            fn = self._cache[key] = self._jit(step)
        return fn

    def gather_all(self, metric: Any, count: int, collect: bool) -> Callable:
        """Plan rows ``0..count-1`` in one dispatch (a ``lax.scan`` of ``gather_step``'s body).

        ``jit(params, fixed, aux, mstate, arrays, indices, pads) -> (mstate, outputs)`` with
        outputs stacked as (count, batch, ...), or ``()`` unless ``collect``.
        """
        key = ("gather_all", id(metric), count, collect)
        fn = self._cache.get(key)
        if fn is None:
            def run(params, fixed, aux, mstate, arrays, indices, pads):
                self.compile_count += 1

                def body(ms, b):
                    ms, outs = self._gather_forward(metric, params, fixed, aux, ms, arrays,
                                                    indices, pads, b)
                    return ms, (tuple(outs) if collect else ())

                return jax.lax.scan(body, mstate, jnp.arange(count))

            fn = self._cache[key] = self._jit(run)
        return fn


@dataclass
class _Ahead:
    """An epoch's inputs sent ahead (``Session.prefetch_epoch``) and what they were made from."""

    plan: Tuple[np.ndarray, np.ndarray]
    bits: np.ndarray
    metric: Any
    arrays: Any

    def matches(self, plan: Tuple[np.ndarray, np.ndarray], bits: np.ndarray, metric: Any) -> bool:
        device_metric = metric is not None and getattr(metric, "device_capable", False)
        return (np.array_equal(self.bits, bits) and (self.metric is metric or not device_metric)
                and all(a.shape == b.shape and np.array_equal(a, b)
                        for a, b in zip(self.plan, plan)))


class Session:
    """Device-resident training state for one bound graph, driven batch by batch."""

    def __init__(self, trainer: Trainer, arg_params: Dict[str, NDArray],
                 aux_params: Dict[str, NDArray], batch_size: int,
                 input_shapes: Optional[Dict[str, Tuple[int, ...]]] = None,
                 placement: Any = None) -> None:
        from .parallel import SingleDevice
        self.trainer = trainer
        # Where the step's arrays live (symnet.parallel): one device, or a data-parallel mesh
        # (batch split along axis 0, state replicated or sharded; XLA reduces the gradients).
        self.placement = placement if placement is not None else SingleDevice()
        self.batch_size = int(batch_size)
        self.input_names = trainer.data_names + trainer.label_names
        # Copies through the host (the state is donated; the user's arrays must survive), which
        # also avoids one small compilation per parameter shape.
        take = lambda names, src: {n: np.array(_data_of(src[n])) for n in names}  # noqa: E731
        self.state = TrainState(params=take(trainer.trainable, arg_params),
                                fixed=take(trainer.fixed, arg_params),
                                aux=take(trainer.graph.aux_names, aux_params))
        # Committed device arrays throughout: jit keys its cache on placement, so fresh
        # (uncommitted) inputs after the first step would compile the step again.
        self.device = getattr(self.placement, "device", None) or jax.local_devices()[0]
        self.state = self.placement.state(self.state)
        if self.placement.mesh is not None:
            trainer.batch_sharding = self.placement.rows
        self._stashed: Any = None
        self.steps = 1
        self._warm: set = set()  # multi-step programs dispatched (compiled) already
        self._ahead: Optional[_Ahead] = None  # the next epoch's transfers (prefetch_epoch)
        self._whole: Optional[bool] = None  # scanned epochs run without skipping (see below)
        self.optimizer = None
        self._masks: Dict[int, jax.Array] = {}
        self._shapes: Dict[str, Any] = {
            n: (tuple(s), None) for n, s in (input_shapes or {}).items()}
        from . import random as _random
        self._key = self.placement.replicate(_random.next_key())

    def new_epoch(self) -> None:
        """A fresh random key, so that dropout masks differ from epoch to epoch."""
        from . import random as _random
        self._key = self.placement.replicate(_random.next_key())

    def set_optimizer(self, optimizer: Any) -> None:
        """Use ``optimizer`` (symnet Optimizer) from the next step on; state starts fresh."""
        self.optimizer = optimizer
        self.state.opt = optimizer.init(self.state.params)
        self.state = self.placement.state(self.state)

    def _mask(self, pad: int) -> jax.Array:
        mask = self._masks.get(pad)
        if mask is None:
            real = np.arange(self.batch_size) < self.batch_size - pad
            mask = self._masks[pad] = self.placement.batch(np.asarray(real, np.float32))
        return mask

    def _metric_state(self, metric: Any) -> Any:
        """The metric's device state, committed to the device (fresh states are not).

        A fresh state (zeros after the host read the metric) is made here on purpose: that is
        the only host-to-device transfer between reads."""
        with jax.transfer_guard("allow"):
            state = metric.device_state()
            if state is not self._stashed:
                state = self.placement.replicate(state)
        return state

    def _stash(self, metric: Any, state: Any) -> None:
        self._stashed = state
        metric.device_stash(state)

    def inputs(self, batch: Any, with_label: bool = True) -> Tuple[Arrays, int]:
        """Device arrays of ``batch`` (a DataBatch) and its total pad."""
        names = self.trainer.data_names + (self.trainer.label_names if with_label else [])
        arrays = list(batch.data) + (list(batch.label or []) if with_label else [])
        inputs, extra = batch_arrays(names, arrays[:len(names)], self.batch_size, "batch")
        for name, arr in inputs.items():
            want = self._shapes.setdefault(name, (tuple(arr.shape), arr.dtype))
            if tuple(arr.shape) != want[0]:
                raise ShapeError(
                    f"graph input {name!r} received a batch of shape {shape_str(arr.shape)}, but "
                    f"the graph was bound with {shape_str(want[0])}; every batch must have the "
                    "same per-sample shape")
        return self.placement.batch(inputs), int(batch.pad or 0) + extra

    def train_batch(self, batch: Any, nbatch: int, metric: Any) -> None:
        """One optimizer step on ``batch``; the metric accumulates on the device."""
        inputs, pad = self.inputs(batch)
        device_metric = metric is not None and getattr(metric, "device_capable", False)
        self.state.metric = self._metric_state(metric) if device_metric else None
        step = self.trainer.train_step(self.optimizer, metric)
        self.state, outs = step(self.state, inputs, self._mask(pad), self._key, nbatch)
        if device_metric:
            self._stash(metric, self.state.metric)
        elif metric is not None:
            real = self.batch_size - pad
            metric.update([NDArray(inputs[n][:real]) for n in self.trainer.label_names],
                          [NDArray(o[:real]) for o in outs])

    def resident_arrays(self, data: Any, labels: bool = True) -> Optional[Arrays]:
        """The iterator's whole data on the device, if it offers the fast path (else None)."""
        if not (hasattr(data, "epoch_indices") and hasattr(data, "data_arrays")):
            return None
        if self.placement.mesh is not None:
            if self.placement.multiprocess:
                return None  # each process holds its own part: batches are fed per step
            # Replicated on every device; each step gathers its batch and splits it along the
            # mesh. The same check as the per-batch path: the batch must split evenly.
            self.placement.batch(np.zeros((self.batch_size,), np.float32))
        arrays = dict(data.data_arrays)
        arrays.update(dict(getattr(data, "label_arrays", None) or []))
        names = self.trainer.data_names + (self.trainer.label_names if labels else [])
        if any(n not in arrays for n in names):
            return None
        out = {}
        for n in names:
            a = arrays[n]
            if np.dtype(a.dtype) == np.float64:
                a = np.asarray(a, np.float32)
            out[n] = self.placement.replicate(a)
            if tuple(out[n].shape[1:]) != tuple(self._shapes.get(n, ((0,) + out[n].shape[1:],
                                                                       None))[0][1:]):
                return None
        return out

    def train_epoch_resident(self, data: Any, arrays: Arrays, metric: Any, nbatch0: int,
                             on_batch: Callable[[int, int, int], None],
                             want_metric: bool = True) -> int:
        """Train on every remaining batch of ``data``, gathering batches on the device.

        With ``self.steps > 1`` each dispatch runs that many steps in one ``lax.scan``.
        ``on_batch(nbatch, pad, ahead)`` runs after each step, in order, with the metric showing
        exactly the batches up to it (MXNet's numbering); ``ahead`` counts the later batches of
        the same dispatch, whose work is done once this batch's is (0 for one step per
        dispatch; ``Speedometer`` uses it). ``want_metric=False`` says no callback reads the
        metric, so the host never reads it mid-epoch. Returns the count.
        """
        count, pads, plan = self._plan(data, arrays, None, multiple=self.steps, place=False)
        if count == 0:
            return 0
        device_metric = metric is not None and getattr(metric, "device_capable", False)
        from . import random as _random
        bits = _random.next_key_bits()
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead.matches(plan, bits, metric):
            placed = ahead.arrays  # sent while the device finished the last epoch
        else:
            placed = self._send_epoch(plan, bits, count, None)
        (idx, pad_arr), self._key, self.state.cursor, count_dev, fresh = placed
        if fresh is not None and metric.device_pending() is None:
            self._stashed = fresh
            metric.device_stash(fresh)
        dev_metric = metric if device_metric else None

        def plain_steps(n: int) -> None:
            """Batches 0..n-1 of the plan, one plain step per dispatch."""
            step = self.trainer.train_step_resident(self.optimizer, dev_metric)
            for b in range(n):
                if device_metric:
                    self.state.metric = self._metric_state(metric)
                self.state = step(self.state, arrays, idx, pad_arr, self._key)
                if device_metric:
                    self._stash(metric, self.state.metric)
                on_batch(nbatch0 + b, int(pads[b]), 0)

        if self.steps <= 1:
            plain_steps(count)
            self._read_ahead(metric)
            return count
        k = self.steps
        snapshots = device_metric and want_metric
        if self._whole is None:
            # Epochs of whole dispatches (a batch count that is a multiple of k, and the same
            # every epoch: not roll_over) need no skipping of steps past the end, which costs a
            # select over the whole state every step (GPUs, CPU graphs without convolutions;
            # ~2% of LeNet's step on an H100). Decided once, so the step compiles once per fit.
            self._whole = (self.trainer.skip_by_select
                           and self.trainer.scan_graph is self.trainer.graph
                           and count % k == 0
                           and getattr(data, "last_batch_handle", None) != "roll_over")
        multi = self.trainer.train_steps_scan(self.optimizer, dev_metric, k, snapshots,
                                              skip=not (self._whole and count % k == 0))
        start = 0
        if multi not in self._warm and self.trainer.scan_graph is not self.trainer.graph:
            # Warm start: the fit's first dispatch is one plain step, which compiles in about
            # half the time of the scanned im2col program (LeNet: 0.7 s vs 1.3 s), so the first
            # callback comes sooner; the scan compiles at the next dispatch. (Compiling it on a
            # thread alongside the plain step slowed both on two cores, and tracing off the
            # calling thread would miss the caller's JAX config contexts.)
            self._warm.add(multi)
            plain_steps(1)
            start = 1
        for b0 in range(start, count, k):
            if device_metric:
                self.state.metric = self._metric_state(metric)
            self.state, snaps = multi(self.state, arrays, idx, pad_arr, count_dev, self._key)
            last = min(count, b0 + k)
            if not snapshots:
                if device_metric:
                    self._stash(metric, self.state.metric)
                for b in range(b0, last):
                    on_batch(nbatch0 + b, int(pads[b]), last - b - 1)
                continue
            # Each callback sees the metric as of its own batch: a lazy view of the scan's
            # per-step snapshots, read from the device only if a callback reads the metric.
            rows = _SnapshotRows(snaps)
            base = None
            for j, b in enumerate(range(b0, last)):
                view = rows.view(j, base, metric)
                metric.device_stash(view)
                on_batch(nbatch0 + b, int(pads[b]), last - b - 1)
                if _was_read(metric, view):
                    base = j
            if base is None:
                self._stash(metric, self.state.metric)
            else:
                with jax.transfer_guard("allow"):
                    final = jax.tree_util.tree_map(
                        lambda x, y: x - y, rows.row(last - b0 - 1), rows.row(base))
                    self._stash(metric, self.placement.replicate(final))
        self._read_ahead(metric)
        return count

    def _read_ahead(self, metric: Any) -> None:
        """Start copying what the host reads at an epoch's end (the finite check, the metric)
        as soon as the device has it, while the host goes on (on a GPU each read is a round
        trip of ~0.5 ms otherwise, after the device has finished)."""
        pending = metric.device_pending() if getattr(metric, "device_capable", False) else None
        for leaf in jax.tree_util.tree_leaves((self.state.bad_batch, pending)):
            if isinstance(leaf, jax.Array) and not leaf.is_deleted():
                leaf.copy_to_host_async()

    def prefetch_epoch(self, data: Any, arrays: Arrays, metric: Any = None) -> None:
        """Send the next epoch's batch plan, key and fresh metric state to the device now.

        Called right after ``data.reset()`` while the device still runs the epoch just
        dispatched, so that the next ``train_epoch_resident`` starts without a transfer (the
        device idled ~2.5 ms per epoch boundary on a GPU). Nothing is consumed: the plan comes
        from a copy of the iterator and the key is peeked, and both are used only if they are
        still exactly what that epoch draws (a callback that resets the iterator or draws a
        key in between just costs the transfer again).
        """
        from . import random as _random
        if not hasattr(data, "epoch_indices"):
            return
        count, _, plan = self._plan(copy.copy(data), arrays, None, multiple=self.steps,
                                    place=False)
        if count == 0:
            return
        bits = _random.peek_key_bits()
        device_metric = metric is not None and getattr(metric, "device_capable", False)
        with jax.transfer_guard("allow"):
            fresh = metric.device_init() if device_metric else None
        placed = self._send_epoch(plan, bits, count, fresh)
        self._ahead = _Ahead(plan, bits, metric if device_metric else None, placed)

    def _send_epoch(self, plan, bits, count: int, fresh: Any) -> Any:
        """One transfer for everything an epoch needs: the batch plan, its key, the cursor, the
        batch count and (when sent ahead) a fresh metric state."""
        with jax.transfer_guard("allow"):
            return self.placement.replicate((plan, bits, np.int32(0), np.int32(count), fresh))

    def _plan(self, data: Any, arrays: Arrays, num_batch: Optional[int], multiple: int = 1,
              place: bool = True):
        """The epoch's batches as arrays of a fixed length (one compilation): ``(count, pads,
        (plan, plan_pads))``, the last two on the device unless ``place`` is False."""
        indices, pads = data.epoch_indices()
        if num_batch is not None:
            indices, pads = indices[:num_batch], pads[:num_batch]
        n = next(iter(arrays.values())).shape[0]
        rows = max(-(-n // self.batch_size) + 1, len(indices))
        if multiple > 1:
            # Whole k-step dispatches from row 0 or from row 1 (after the warm-start step).
            rows = -(-rows // multiple) * multiple + 1
        plan = np.zeros((rows, self.batch_size), np.int32)
        plan[:len(indices)] = indices
        plan_pads = np.zeros((rows,), np.int32)
        plan_pads[:len(pads)] = pads
        if place:
            return len(indices), np.asarray(pads), self.placement.replicate((plan, plan_pads))
        return len(indices), np.asarray(pads), (plan, plan_pads)

    def infer_resident(self, data: Any, arrays: Arrays, metric: Any = None,
                       num_batch: Optional[int] = None,
                       on_batch: Optional[Callable[[int], None]] = None,
                       collect: bool = True, batch_metric: bool = True) -> List[jax.Array]:
        """Inference over the rest of ``data`` with batches gathered on the device.

        Returns the outputs concatenated over batches, padded rows removed (one transfer at the
        end, none per batch); ``metric`` (device-capable) accumulates on the device.
        ``batch_metric=False`` says ``on_batch`` does not read the metric: then every batch
        runs in one dispatch (``Trainer.loops_well``: not for convolutions on the CPU) and
        ``on_batch`` is called afterwards, once per batch.
        """
        count, pads, (idx, pad_arr) = self._plan(data, arrays, num_batch)
        if count == 0:
            return []
        if (on_batch is None or not batch_metric) and self.trainer.loops_well:
            mstate = self._metric_state(metric) if metric is not None else None
            mstate, stacked = self.trainer.gather_all(metric, count, collect)(
                self.state.params, self.state.fixed, self.state.aux, mstate, arrays, idx,
                pad_arr)
            if metric is not None:
                self._stash(metric, mstate)
            for b in range(count if on_batch is not None else 0):
                on_batch(b)
            if not collect:
                return []
            flat = [o.reshape((-1,) + o.shape[2:]) for o in stacked]
            return flat if not pads.any() else [o[self._keep_rows(pads)] for o in flat]
        step = self.trainer.gather_step(metric)
        outs = []
        for b in range(count):
            mstate = self._metric_state(metric) if metric is not None else None
            mstate, o = step(self.state.params, self.state.fixed, self.state.aux, mstate,
                             arrays, idx, pad_arr, b)
            if metric is not None:
                self._stash(metric, mstate)
            if collect:
                outs.append(o)
            if on_batch is not None:
                on_batch(b)
        if not outs:
            return []
        merged = [jnp.concatenate(col) for col in zip(*outs)]
        return merged if not pads.any() else [o[self._keep_rows(pads)] for o in merged]

    def _keep_rows(self, pads: np.ndarray) -> np.ndarray:
        """Row numbers of the real (not padded) rows of stacked batches."""
        return np.concatenate([np.arange(self.batch_size - p) + i * self.batch_size
                               for i, p in enumerate(pads)])

    def eval_batch(self, batch: Any, metric: Any) -> List[jax.Array]:
        """Forward in inference mode; updates ``metric`` (padded rows excluded)."""
        inputs, pad = self.inputs(batch)
        device_metric = getattr(metric, "device_capable", False)
        mstate = self._metric_state(metric) if device_metric else None
        step = self.trainer.eval_step(metric if device_metric else None)
        mstate, outs = step(self.state.params, self.state.fixed, self.state.aux, mstate,
                            inputs, self._mask(pad))
        real = self.batch_size - pad
        if device_metric:
            self._stash(metric, mstate)
        elif metric is not None:
            metric.update([NDArray(inputs[n][:real]) for n in self.trainer.label_names],
                          [NDArray(o[:real]) for o in outs])
        return [o[:real] for o in outs]

    def predict_batch(self, batch: Any) -> List[jax.Array]:
        """Outputs of ``batch`` without padded rows (no labels needed)."""
        inputs, pad = self.inputs(batch, with_label=False)
        outs = self.trainer.predict_step()(self.state.params, self.state.fixed,
                                           self.state.aux, inputs)
        return [o[:self.batch_size - pad] for o in outs]

    def export(self, arg_params: Dict[str, NDArray], aux_params: Dict[str, NDArray]) -> None:
        """Copy the device state into the given NDArrays (new buffers: the state is donated)."""
        local = self.placement.local  # single-device copies (a collective when sharded)
        # device_put, not jnp.asarray: the latter compiles a copy program per shape.
        for src in (self.state.params, self.state.fixed):
            for n, v in jax.device_get(local(src)).items():
                arg_params[n]._data = jax.device_put(v)
        for n, v in jax.device_get(local(self.state.aux)).items():
            aux_params[n]._data = jax.device_put(v)

    def load(self, arg_params: Dict[str, Any], aux_params: Dict[str, Any]) -> None:
        """Replace device parameters with the given values (same names and shapes)."""
        for group in (self.state.params, self.state.fixed):
            for n in group:
                if n in arg_params:
                    group[n] = jax.device_put(jnp.array(_data_of(arg_params[n])), self.device)
        for n in self.state.aux:
            if n in aux_params:
                self.state.aux[n] = jax.device_put(jnp.array(_data_of(aux_params[n])),
                                                   self.device)
        self.state = self.placement.state(self.state)


class _SnapshotRows:
    """Per-step metric snapshots of one scanned dispatch, copied to the host on first use."""

    def __init__(self, snaps: Any) -> None:
        self._snaps = snaps
        self._host = None

    def row(self, j: int) -> Any:
        if self._host is None:
            self._host = jax.device_get(self._snaps)
        return jax.tree_util.tree_map(lambda x: x[j], self._host)

    def view(self, j: int, base: Optional[int], metric: Any) -> Any:
        """Row ``j`` minus row ``base`` (what was merged already), shaped like the metric's
        stash (one view per child of a composite metric)."""
        if isinstance(self._snaps, tuple) and isinstance(metric.device_pending(), tuple):
            return tuple(_LazyState(self, j, base, i) for i in range(len(self._snaps)))
        return _LazyState(self, j, base, None)


class _LazyState:
    """A metric state that materialises (one device read per dispatch) when first flattened."""

    def __init__(self, rows: _SnapshotRows, j: int, base: Optional[int],
                 part: Optional[int]) -> None:
        self.rows, self.j, self.base, self.part = rows, j, base, part

    def value(self) -> Any:
        pick = (lambda t: t) if self.part is None else (lambda t: t[self.part])
        row = pick(self.rows.row(self.j))
        if self.base is None:
            return row
        return jax.tree_util.tree_map(lambda x, y: x - y, row, pick(self.rows.row(self.base)))


def _lazy_flatten(state: _LazyState):
    leaves, treedef = jax.tree_util.tree_flatten(state.value())
    return leaves, treedef


jax.tree_util.register_pytree_node(
    _LazyState, _lazy_flatten, lambda treedef, leaves: jax.tree_util.tree_unflatten(treedef,
                                                                                    leaves))


def _was_read(metric: Any, view: Any) -> bool:
    """Whether a callback merged the stashed ``view`` into the metric's host counters."""
    pending = metric.device_pending()
    if isinstance(view, tuple):
        return any(p is not v for p, v in zip(pending, view))
    return pending is not view


def check_steps(value: Any, where: str) -> Optional[int]:
    """Validate a ``steps_per_execution`` argument (None: choose per graph)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ParamError(f"{where}: steps_per_execution must be a positive integer (training "
                         f"steps per dispatch) or None to choose per graph; received {value!r}")
    return int(value)


#: Largest im2col patch matrix (values per sample) of a convolution for which the scanned
#: im2col step is the CPU default. Scanned vs plain NHWC step, 2-core CPU, XLA's own
#: convolution kernels (``benchmarks/run_extras.py steps``): torch_cnn (20k) 1.75x,
#: torch_lenet5 (20k) 1.52x, LeNet (32k) 1.10x, puzzlelib_lenet5 (26k) 0.90x; ResNet-20 (113k)
#: 0.76x.
IM2COL_SCAN_MAX_PATCH = 65536

#: Largest im2col patch matrix (bytes, one micro-batch) the scanned im2col step builds at once.
#: Bigger batches are split into micro-batches whose gradients are added; the micro-batches'
#: smaller patch matrices are written, read and scattered back in cache. On the 2-core CPU:
#: LeNet at batch 100 (12.8 MB of conv2 patches, 2 micro-batches) 1.14-1.20x in an isolated
#: scanned step, 1.14x (1.04-1.30) in ``FeedForward.fit`` (benchmarks/RESULTS.md);
#: puzzlelib_lenet5 (10.2 MB) 1.11x; 8 MB nets split in 2 measured 1.00x, in 4 0.93x.
IM2COL_MICRO_BYTES = 8 << 20

#: Most micro-batches per step (each is a copy of the graph in the compiled step).
MAX_MICRO_BATCHES = 8


def _shapes_or_none(symbol: Symbol, input_shapes: Optional[Dict[str, Tuple[int, ...]]]):
    """Every node output shape (``passes.node_shapes``), or None if they cannot be inferred."""
    if input_shapes is None:
        return None
    from .passes import node_shapes
    try:
        return node_shapes(symbol, dict(input_shapes))
    except SymnetError:
        return None


def _im2col_patches(symbol: Symbol, shapes: Optional[Dict[Tuple[int, int], Any]]
                    ) -> Optional[list]:
    """Values per sample of each convolution's im2col patch matrix, or None where the graph
    has no convolution, one that is not 2-D, or ``shapes`` (``_shapes_or_none``) is None."""
    convs = _conv_nodes(symbol)
    if not convs or shapes is None:
        return None
    if any(n.op.name != "Convolution" or len(n.params.kernel) != 2 for n in convs):
        return None
    out = []
    for n in convs:
        src, idx = n.inputs[0]
        dshape, oshape = shapes.get((id(src), idx)), shapes.get((id(n), 0))
        if not dshape or not oshape:
            return None
        kh, kw = n.params.kernel
        out.append(oshape[2] * oshape[3] * dshape[1] // max(1, n.params.num_group) * kh * kw)
    return out


def auto_steps(symbol: Symbol, input_shapes: Optional[Dict[str, Tuple[int, ...]]] = None,
               backend: Optional[str] = None) -> int:
    """Steps per dispatch (one ``lax.scan``) when the user does not say.

    Several steps per dispatch save the per-step dispatch overhead: 10 for graphs without 2-D
    convolutions, and for every graph on GPUs (H100, batch 100: LeNet 0.74x -> 0.96x and
    ResNet-20 0.89x -> 0.96x the hand-written loop's speed; benchmarks/RESULTS.md). On the CPU
    a scan lowers convolutions as im2col (``symnet.optimize``), which pays for small
    convolutions (the MNIST nets: 10 steps) and not for large ones (ResNet-20: 1 step), see
    ``IM2COL_SCAN_MAX_PATCH``. Numbers: the scanned im2col step rounds differently from the plain
    step (about 1e-3 relative on LeNet's conv1 bias after 10 momentum steps);
    ``steps_per_execution=1`` gives the plain step, which reproduces MXNet to about 1e-5.
    """
    if not _conv_nodes(symbol):
        return 10
    backend = backend or jax.default_backend()
    if backend != "cpu":
        return 10
    patches = _im2col_patches(symbol, _shapes_or_none(symbol, input_shapes))
    if not patches or compile_symbol(symbol, scan=True, backend=backend).mode != "nhwc+im2col":
        return 1  # passes off (SYMNET_OPTIMIZE=none): convolutions in a loop body are 6-15x slower
    return 10 if max(patches) <= IM2COL_SCAN_MAX_PATCH else 1


def micro_batches(symbol: Symbol, input_shapes: Dict[str, Tuple[int, ...]]) -> int:
    """Micro-batches per step of the scanned im2col step (1: the batch in one piece).

    The smallest divisor ``m`` of the batch (at most ``MAX_MICRO_BATCHES``) that keeps every
    convolution's patch matrix of one micro-batch within ``IM2COL_MICRO_BYTES``. Only graphs
    whose every operator computes batch rows independently (``Op.rows_independent``), with
    no auxiliary state and no random numbers: there the micro-batches' gradients add up to the
    batch's (up to rounding order) and the outputs are the same rows.
    """
    shapes = _shapes_or_none(symbol, input_shapes)
    patches = _im2col_patches(symbol, shapes)
    if not patches:
        return 1
    for node in symbol._topo():
        if node.op is None:
            continue
        ins = [shapes.get((id(src), idx)) for src, idx in node.inputs]
        if (node.op.needs_rng or node.op.aux_states(node.params) or any(s is None for s in ins)
                or not node.op.rows_independent(node.params, ins)):
            return 1
    batches = {tuple(s)[0] if len(s) else None for s in input_shapes.values()}
    if len(batches) != 1 or None in batches:
        return 1
    batch = batches.pop()
    need = batch * max(patches) * 4  # float32
    for m in range(1, MAX_MICRO_BATCHES + 1):
        if batch % m == 0 and need <= m * IM2COL_MICRO_BYTES:
            return m
    return max(m for m in range(1, MAX_MICRO_BATCHES + 1) if batch % m == 0)


def check_labels(symbol: Symbol, data: Any, input_shapes: Dict[str, Tuple[int, ...]]) -> None:
    """Refuse class labels outside ``[0, num_classes)`` before training starts.

    Checked once per fit on iterators that hold their labels in memory (``label_arrays``), for
    every SoftmaxOutput head whose label is fed by the iterator. ``ignore_label`` is allowed
    when ``use_ignore`` is set.
    """
    labels = dict(getattr(data, "label_arrays", None) or [])
    if not labels:
        return
    from .passes import node_shapes
    shapes = node_shapes(symbol, input_shapes)
    for node in symbol._topo():
        if node.op is None or node.op.name != "SoftmaxOutput":
            continue
        (src, idx), (lab, _) = node.inputs[0], node.inputs[1]
        if lab.op is not None or lab.name not in labels:
            continue
        dshape = shapes.get((id(src), idx))
        if not dshape:
            continue
        p = node.params
        classes = dshape[-1] if p.preserve_shape else (
            dshape[1] if p.multi_output else int(np.prod(dshape[1:])))
        values = np.asarray(jax.device_get(labels[lab.name]))
        if values.shape[1:] == tuple(dshape[1:]):
            continue  # soft labels
        bad = (values < 0) | (values >= classes) | (values != np.floor(values))
        if p.use_ignore:
            bad &= values != p.ignore_label
        if bad.any():
            first = values[bad].reshape(-1)[0]
            raise ValueError(
                f"{node.describe()}: label {lab.name!r} holds {int(bad.sum())} values outside "
                f"the {classes} classes 0..{classes - 1} (e.g. {first!r}); the data's output "
                f"shape is {shape_str(dshape)}")


def check_finite(state: TrainState, epoch: int, logger: Optional[logging.Logger] = None) -> None:
    """Raise NonFiniteError if a step of this epoch produced NaN/inf outputs."""
    bad = int(jax.device_get(state.bad_batch))
    if bad >= 0:
        raise NonFiniteError(
            f"training outputs became NaN or infinite at epoch {epoch}, batch {bad}; lower the "
            "learning rate, add clip_gradient, or check the data for NaN/inf values")


jax.tree_util.register_dataclass(
    TrainState, data_fields=["params", "fixed", "aux", "opt", "metric", "bad_batch", "cursor"],
    meta_fields=[])
