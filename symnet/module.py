"""``mx.mod.Module``: the intermediate-level API over the same compiled steps as FeedForward."""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp

from . import metric as _metric
from . import ndarray as nd
from .base import GraphError, SymnetError
from .callback import BatchEndParam
from .context import Context, cpu
from .model import _call, check_params, load_checkpoint, save_checkpoint
from .ndarray import NDArray
from .symbol.symbol import Symbol
from .trainer import (Session, Trainer, auto_steps, check_finite, check_labels,
                      check_steps)

__all__ = ["Module", "BaseModule"]


def _descs(shapes) -> List[Tuple[str, Tuple[int, ...]]]:
    if shapes is None:
        return []
    return [(d[0], tuple(d[1])) for d in shapes]


class Module:
    """A symbol with data/label names, bound to shapes, with parameters and an optimizer.

    Example:
        >>> mod = mx.mod.Module(net, context=mx.cpu())
        >>> mod.fit(train_iter, eval_data=val_iter, optimizer_params={'learning_rate': 0.1},
        ...         num_epoch=10)
    """

    def __init__(self, symbol: Symbol, data_names: Sequence[str] = ("data",),
                 label_names: Optional[Sequence[str]] = ("softmax_label",), logger=logging,
                 context: Any = None, work_load_list=None, fixed_param_names=None,
                 state_names=None, group2ctxs=None, compression_params=None,
                 steps_per_execution: Optional[int] = None) -> None:
        """MXNet's arguments, plus ``steps_per_execution`` (symnet): training steps per
        dispatch in ``fit`` (default: ``symnet.trainer.auto_steps``; 1 is the plain step)."""
        self._symbol = symbol
        self.steps_per_execution = check_steps(steps_per_execution, "Module")
        self._data_names = list(data_names or [])
        self._label_names = list(label_names or [])
        args = symbol.list_arguments()
        for name in self._data_names:
            if name not in args:
                raise GraphError(f"Module: data name {name!r} is not an argument of the symbol; "
                                 f"its arguments are {args}")
        self._label_names = [n for n in self._label_names if n in args]
        self.logger = logger
        self._context = [context] if isinstance(context, Context) else list(context or [cpu()])
        self._fixed_param_names = list(fixed_param_names or [])
        self._work_load_list = work_load_list
        inputs = set(self._data_names) | set(self._label_names)
        self._param_names = [n for n in args if n not in inputs]
        self._aux_names = symbol.list_auxiliary_states()
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._arg_params: Optional[Dict[str, NDArray]] = None
        self._aux_params: Optional[Dict[str, NDArray]] = None
        self._data_shapes: List = []
        self._label_shapes: List = []
        self._session: Optional[Session] = None
        self._optimizer = None
        self._outputs: List[jax.Array] = []
        self._grads: Optional[Dict[str, jax.Array]] = None
        self._last = None

    # ---- properties ---------------------------------------------------------------------------
    symbol = property(lambda self: self._symbol)
    data_names = property(lambda self: list(self._data_names))
    label_names = property(lambda self: list(self._label_names))
    output_names = property(lambda self: self._symbol.list_outputs())
    data_shapes = property(lambda self: list(self._data_shapes))
    label_shapes = property(lambda self: list(self._label_shapes))

    @property
    def output_shapes(self):
        shapes = dict(self._data_shapes + self._label_shapes)
        _, outs, _ = self._symbol.infer_shape(**shapes)
        return list(zip(self.output_names, outs))

    # ---- setup --------------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training: bool = True,
             inputs_need_grad: bool = False, force_rebind: bool = False, shared_module=None,
             grad_req: str = "write") -> None:
        """Fix the input shapes (batch size included)."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        self._data_shapes = _descs(data_shapes)
        self._label_shapes = _descs(label_shapes)
        names = [d[0] for d in self._data_shapes]
        if names != self._data_names:
            raise GraphError(f"bind: data_shapes name {names} but the module's data_names are "
                             f"{self._data_names}")
        shapes = dict(self._data_shapes + self._label_shapes)
        arg_s, _, aux_s = self._symbol.infer_shape(**shapes)
        if arg_s is None:
            raise GraphError(f"bind: cannot infer every shape from {shapes}")
        self._arg_shapes = dict(zip(self._symbol.list_arguments(), arg_s))
        self._aux_shapes = dict(zip(self._aux_names, aux_s))
        self.binded = True
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        if shared_module is not None and shared_module.params_initialized:
            arg, aux = shared_module.get_params()
            self.init_params(arg_params=arg, aux_params=aux, allow_missing=True)
        elif self.params_initialized:
            self._make_session()

    def init_params(self, initializer=None, arg_params=None, aux_params=None,
                    allow_missing: bool = False, force_init: bool = False,
                    allow_extra: bool = False) -> None:
        """Initialise parameters (given values first; the initializer sees each variable's
        attributes, so ``Variable(init=...)`` and BatchNorm's aux ``__init__`` win)."""
        from . import initializer as _init
        if self.params_initialized and not force_init:
            return
        if not self.binded:
            raise SymnetError("init_params: call bind() first")
        if arg_params or aux_params:
            check_params(self._symbol, {n: self._arg_shapes[n] for n in self._param_names},
                         self._aux_shapes, arg_params or {}, aux_params or {},
                         allow_missing, allow_extra, "Module.init_params")
        initializer = initializer if initializer is not None else _init.Uniform(0.01)
        attrs = self._symbol.attr_dict()
        fresh = []
        self._arg_params, self._aux_params = {}, {}
        for names, shapes, given, out in ((self._param_names, self._arg_shapes, arg_params,
                                           self._arg_params),
                                          (self._aux_names, self._aux_shapes, aux_params,
                                           self._aux_params)):
            for name in names:
                arr = nd.zeros(shapes[name])
                if given and name in given:
                    arr[:] = given[name]
                else:
                    if given and not allow_missing:
                        raise GraphError(f"init_params: {name!r} is missing from the given "
                                         "parameters (pass allow_missing=True to initialise it)")
                    fresh.append((_init.InitDesc(name, attrs.get(name, {})), arr))
                out[name] = arr
        _init.initialize_all(initializer, fresh)
        self.params_initialized = True
        self._make_session()

    def _make_session(self) -> None:
        from .parallel import is_distributed, placement_for, platform_of
        batch = self._data_shapes[0][1][0] if self._data_shapes else 1
        # joined by mx.kv.create('dist_sync') before any data existed, as in MXNet scripts
        placement = placement_for(self._context, "dist_sync" if is_distributed() else "local",
                                  work_load_list=self._work_load_list)
        trainer = Trainer(self._symbol, self._data_names, self._label_names,
                          self._fixed_param_names, backend=platform_of(placement))
        self._session = Session(trainer, self._arg_params, self._aux_params, batch,
                                dict(self._data_shapes + self._label_shapes),
                                placement=placement)
        if self._optimizer is not None:
            self._session.set_optimizer(self._optimizer)

    def set_params(self, arg_params, aux_params, allow_missing: bool = False,
                   force_init: bool = True, allow_extra: bool = False) -> None:
        """Set parameter values (shapes must match the bound graph)."""
        if not self.params_initialized or force_init:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                             allow_missing=allow_missing, force_init=True,
                             allow_extra=allow_extra)
            return

    def get_params(self) -> Tuple[Dict[str, NDArray], Dict[str, NDArray]]:
        """Copies of ``(arg_params, aux_params)`` as NDArrays."""
        if not self.params_initialized:
            raise SymnetError("get_params: parameters are not initialised")
        self._session.export(self._arg_params, self._aux_params)
        return ({k: v.copy() for k, v in self._arg_params.items()},
                {k: v.copy() for k, v in self._aux_params.items()})

    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init: bool = False):
        """Create the optimizer (``rescale_grad`` = 1/batch size, wd on weights only)."""
        from . import optimizer as opt
        from .kvstore import check_kvstore
        from .parallel import process_count
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        check_kvstore(kvstore, None)
        # MXNet compat: dist_sync rescales gradients by the global batch (batch * workers).
        batch = self._data_shapes[0][1][0] * process_count()
        if isinstance(optimizer, str):
            params = dict(optimizer_params)
            params.setdefault("rescale_grad", 1.0 / batch)
            idx2name = {i: n for i, n in enumerate(self._param_names)}
            optimizer = opt.create(optimizer, sym=self._symbol, param_idx2name=idx2name,
                                   **params)
        self._optimizer = optimizer
        self._session.set_optimizer(optimizer)
        self.optimizer_initialized = True

    # ---- imperative steps ---------------------------------------------------------------------
    def forward(self, data_batch, is_train: Optional[bool] = None) -> None:
        """Run the graph on ``data_batch``; outputs via ``get_outputs``."""
        is_train = self.for_training if is_train is None else is_train
        session = self._session
        with_label = bool(data_batch.label) and bool(self._label_names)
        inputs, pad = session.inputs(data_batch, with_label=with_label)
        for name in self._label_names:
            if name not in inputs:
                inputs[name] = jnp.zeros(self._arg_shapes[name], jnp.float32)
        st = session.state
        feed = {**st.params, **st.fixed, **inputs}
        from . import random as _random
        rng = _random.next_key() if session.trainer.graph.needs_rng else None
        outs, new_aux = session.trainer.graph.forward_fn(is_train)(feed, st.aux, rng)
        if is_train:
            self._last = (feed, dict(st.aux), rng, pad)
            st.aux = new_aux
        self._outputs = list(outs)
        self._pad = pad

    def backward(self, out_grads=None) -> None:
        """Gradients of the last training forward."""
        if self._last is None:
            raise SymnetError("backward: call forward(is_train=True) first")
        feed, aux, rng, _ = self._last
        names = list(self._session.trainer.trainable)
        heads = (None,) * len(self._outputs) if out_grads is None else tuple(
            g._data if isinstance(g, NDArray) else g for g in out_grads)
        _, _, grads = self._session.trainer.graph.forward_backward_fn(names)(feed, aux, rng,
                                                                             heads)
        self._grads = grads

    def update(self) -> None:
        """Apply the optimizer to the last gradients."""
        if self._grads is None:
            raise SymnetError("update: call backward() first")
        st = self._session.state
        st.params, st.opt = _jit_step(self._optimizer)(st.params, self._grads, st.opt)
        st.params = self._session.trainer.pin(st.params)
        self._grads = None

    def forward_backward(self, data_batch) -> None:
        self.forward(data_batch, is_train=True)
        self.backward()

    def get_outputs(self, merge_multi_context: bool = True) -> List[NDArray]:
        return [NDArray(o) for o in self._outputs]

    def get_input_grads(self, merge_multi_context: bool = True):
        raise SymnetError("get_input_grads: bind with inputs_need_grad=True is not supported yet")

    def update_metric(self, eval_metric, labels, pre_sliced: bool = False) -> None:
        """Update ``eval_metric`` with the last outputs (padded rows excluded)."""
        real = self._outputs[0].shape[0] - getattr(self, "_pad", 0)
        eval_metric.update([NDArray(jnp.asarray(l._data if isinstance(l, NDArray) else l)[:real])
                            for l in labels], [NDArray(o[:real]) for o in self._outputs])

    # ---- high level ---------------------------------------------------------------------------
    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None,
            batch_end_callback=None, kvstore="local", optimizer="sgd",
            optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=None, arg_params=None, aux_params=None,
            allow_missing=False, force_rebind=False, force_init=False, begin_epoch=0,
            num_epoch=None, validation_metric=None, monitor=None, sparse_row_id_fn=None):
        """Train (MXNet's Module.fit loop and logs; batch callbacks count from 0)."""
        if num_epoch is None:
            raise ValueError("Module.fit: num_epoch is required")
        self.bind(train_data.provide_data, train_data.provide_label, for_training=True,
                  force_rebind=force_rebind)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        check_labels(self._symbol, train_data, dict(self._data_shapes + self._label_shapes))
        validation_metric = validation_metric or eval_metric
        eval_metric = _metric.create(eval_metric)
        session = self._session
        resident = None
        if monitor is None and getattr(eval_metric, "device_capable", False):
            resident = session.resident_arrays(train_data)
            session.steps = self.steps_per_execution or auto_steps(
                self._symbol, dict(self._data_shapes + self._label_shapes),
                session.trainer.backend)
        self.history = []
        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            if resident is not None:
                def on_batch(nb: int, pad: int, batches_ahead: int) -> None:
                    # batches_ahead reaches callbacks through locals() (Speedometer).
                    if batch_end_callback is not None:
                        _call(batch_end_callback, BatchEndParam(
                            epoch=epoch, nbatch=nb, eval_metric=eval_metric, locals=locals()))

                nbatch = session.train_epoch_resident(train_data, resident, eval_metric, 0,
                                                      on_batch, batch_end_callback is not None)
            else:
                session.new_epoch()
                for data_batch in train_data:
                    session.train_batch(data_batch, nbatch, eval_metric)
                    if batch_end_callback is not None:
                        _call(batch_end_callback, BatchEndParam(epoch=epoch, nbatch=nbatch,
                                                                eval_metric=eval_metric,
                                                                locals=locals()))
                    nbatch += 1
            if nbatch == 0:
                raise ValueError("Module.fit: the training iterator yielded no batch")
            check_finite(session.state, epoch)
            train_values = eval_metric.get_global_name_value()
            for name, val in train_values:
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            toc = time.time()
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, toc - tic)
            arg_params, aux_params = self.get_params()
            _call(epoch_end_callback, epoch, self._symbol, arg_params, aux_params)
            record = {"epoch": epoch, "train": dict(train_values), "time": toc - tic}
            if eval_data is not None:
                res = self.score(eval_data, validation_metric,
                                 score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
                record["eval"] = dict(res)
            self.history.append(record)
            train_data.reset()

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None,
              score_end_callback=None, reset: bool = True, epoch: int = 0,
              sparse_row_id_fn=None) -> List[Tuple[str, float]]:
        """``[(name, value)]`` of ``eval_metric`` over ``eval_data`` (padding excluded)."""
        if reset:
            eval_data.reset()
        eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        session = self._session
        actual = 0
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            session.eval_batch(batch, eval_metric)
            if batch_end_callback is not None:
                _call(batch_end_callback, BatchEndParam(epoch=epoch, nbatch=nbatch,
                                                        eval_metric=eval_metric,
                                                        locals=locals()))
            actual += 1
        if score_end_callback is not None:
            _call(score_end_callback, BatchEndParam(epoch=epoch, nbatch=actual,
                                                    eval_metric=eval_metric, locals=locals()))
        return eval_metric.get_name_value()

    def predict(self, eval_data, num_batch=None, merge_batches: bool = True, reset: bool = True,
                always_output_list: bool = False, sparse_row_id_fn=None):
        """Outputs over ``eval_data`` (padding dropped) as NDArrays."""
        if reset:
            eval_data.reset()
        outs = []
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            outs.append(self._session.predict_batch(batch))
        if not merge_batches:
            return [[NDArray(o) for o in b] for b in outs]
        merged = [NDArray(jnp.concatenate(col)) for col in zip(*outs)]
        if len(merged) == 1 and not always_output_list:
            return merged[0]
        return merged

    def save_checkpoint(self, prefix: str, epoch: int, save_optimizer_states: bool = False,
                        remove_amp_cast: bool = True) -> None:
        """``prefix-symbol.json``, ``prefix-%04d.params`` (and ``.states``), atomically."""
        arg, aux = self.get_params()
        save_checkpoint(prefix, epoch, self._symbol, arg, aux)
        if save_optimizer_states:
            self.save_optimizer_states(f"{prefix}-{int(epoch):04d}.states")

    def save_optimizer_states(self, fname: str) -> None:
        from .optimizer import state_to_bytes
        from .parallel import is_primary
        from .symbol.json_io import write_atomic
        opt = self._session.placement.local(self._session.state.opt)  # collective if sharded
        if is_primary():
            write_atomic(fname, state_to_bytes(jax.device_get(opt)))

    def load_optimizer_states(self, fname: str) -> None:
        from .optimizer import state_from_bytes
        with open(fname, "rb") as f:
            self._session.state.opt = jax.tree_util.tree_map(jnp.asarray,
                                                             state_from_bytes(f.read()))

    @staticmethod
    def load(prefix: str, epoch: int, load_optimizer_states: bool = False, **kwargs) -> "Module":
        """A Module from a checkpoint; parameters are set when it is bound."""
        sym, arg, aux = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._preload = (arg, aux)
        orig_bind = mod.bind

        def bind(*a, **k):
            orig_bind(*a, **k)
            mod.init_params(arg_params=arg, aux_params=aux, force_init=True)

        mod.bind = bind
        return mod


BaseModule = Module

_STEP_CACHE: Dict[int, Any] = {}


def _jit_step(optimizer):
    fn = _STEP_CACHE.get(id(optimizer))
    if fn is None:
        fn = _STEP_CACHE[id(optimizer)] = jax.jit(optimizer.step)
    return fn
