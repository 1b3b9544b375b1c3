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
        self._state_names = list(state_names or [])
        for name in self._state_names:
            if name not in args or name in self._data_names or name in self._label_names:
                raise GraphError(f"Module: state name {name!r} must be an argument of the symbol "
                                 f"that is neither data nor label; its arguments are {args}")
        self.logger = logger
        self._context = [context] if isinstance(context, Context) else list(context or [cpu()])
        self._fixed_param_names = list(fixed_param_names or [])
        self._work_load_list = work_load_list
        inputs = set(self._data_names) | set(self._label_names) | set(self._state_names)
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
        self._input_grads: Optional[List[jax.Array]] = None
        self._last = None
        self._pad = 0
        self._states: Dict[str, NDArray] = {}
        self._monitor = None  # a monitor.SessionView once install_monitor is called
        # From Module.load: parameters set at bind, optimizer states at init_optimizer.
        self._preload: Optional[Tuple[Dict[str, NDArray], Dict[str, NDArray]]] = None
        self._preload_opt_states: Optional[str] = None

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
        self._states = {n: nd.zeros(self._arg_shapes[n]) for n in self._state_names}
        if self._preload is not None:
            arg, aux = self._preload
            self._preload = None
            self.init_params(arg_params=arg, aux_params=aux, force_init=True)
        elif shared_module is not None and shared_module.params_initialized:
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
        # States (state_names) ride along as parameters the optimizer does not touch.
        trainer = Trainer(self._symbol, self._data_names, self._label_names,
                          self._fixed_param_names + self._state_names,
                          backend=platform_of(placement))
        self._session = Session(trainer, {**self._arg_params, **self._states}, self._aux_params,
                                batch, dict(self._data_shapes + self._label_shapes),
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
        self._session.export({**self._arg_params, **self._states}, self._aux_params)
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
        if self._preload_opt_states is not None:
            fname, self._preload_opt_states = self._preload_opt_states, None
            self.load_optimizer_states(fname)

    def borrow_optimizer(self, shared_module: "Module") -> None:
        """Use ``shared_module``'s optimizer (its settings and update count; the state for
        this module's parameters starts fresh)."""
        if not shared_module.optimizer_initialized:
            raise SymnetError("borrow_optimizer: the shared module has no optimizer yet")
        self._optimizer = shared_module._optimizer
        self._session.set_optimizer(self._optimizer)
        self.optimizer_initialized = True

    def reshape(self, data_shapes, label_shapes=None) -> None:
        """Bind to new input shapes (e.g. another batch size), keeping the parameters, the
        auxiliary states and the optimizer state."""
        if not self.binded:
            raise SymnetError("reshape: call bind() first")
        kept = None
        if self.params_initialized:
            self.get_params()  # the device state into self._arg_params / _aux_params
            kept = self._session.state.opt
        self.bind(data_shapes, label_shapes, for_training=self.for_training,
                  inputs_need_grad=self.inputs_need_grad, force_rebind=True)
        if kept is not None:
            self._session.state.opt = kept
            self._session.state = self._session.placement.state(self._session.state)

    # ---- imperative steps ---------------------------------------------------------------------
    def forward(self, data_batch, is_train: Optional[bool] = None) -> None:
        """Run the graph on ``data_batch``; outputs via ``get_outputs``."""
        if not (self.binded and self.params_initialized):
            raise SymnetError("forward: call bind() and init_params() first")
        is_train = self.for_training if is_train is None else is_train
        session = self._session
        with_label = bool(data_batch.label) and bool(self._label_names)
        inputs = self._batch_inputs(data_batch, with_label)
        st = session.state
        feed = {**st.params, **st.fixed, **inputs}
        from . import random as _random
        rng = _random.next_key() if session.trainer.graph.needs_rng else None
        outs, new_aux = session.trainer.graph.forward_fn(is_train)(feed, st.aux, rng)
        if self._monitor is not None:
            self._monitor.observe(inputs, rng, is_train)
        if is_train:
            self._last = (feed, dict(st.aux), rng)
            st.aux = new_aux
        self._outputs = list(outs)
        self._pad = int(data_batch.pad or 0)

    def _batch_inputs(self, data_batch, with_label: bool) -> Dict[str, jax.Array]:
        """The batch's arrays on the session's device. Any batch size runs (as MXNet reshapes
        on the fly); the per-sample shapes must match the bound ones."""
        from .base import ShapeError, shape_str
        names = self._data_names + (self._label_names if with_label else [])
        arrays = list(data_batch.data) + (list(data_batch.label or []) if with_label else [])
        if len(arrays) < len(names):
            raise GraphError(f"forward: the batch has {len(arrays)} arrays for the inputs "
                             f"{names}")
        bound = dict(self._data_shapes + self._label_shapes)
        inputs = {}
        for name, arr in zip(names, arrays):
            a = jnp.asarray(arr._data if isinstance(arr, NDArray) else arr)
            want = bound.get(name, self._arg_shapes[name])
            if a.ndim != len(want) or tuple(a.shape[1:]) != tuple(want[1:]):
                raise ShapeError(f"forward: input {name!r} has shape {shape_str(a.shape)}, but "
                                 f"the module was bound with {shape_str(want)}; only the batch "
                                 "size may differ (or call reshape())")
            inputs[name] = a
        rows = inputs[self._data_names[0]].shape[0] if self._data_names else 0
        for name in self._label_names:
            if name not in inputs:  # MXNet feeds the bound label array: zeros here
                inputs[name] = jnp.zeros((rows,) + tuple(self._arg_shapes[name][1:]),
                                         jnp.float32)
        placement = self._session.placement
        if rows == self._session.batch_size or placement.mesh is not None:
            return placement.batch(inputs)
        return jax.device_put(inputs, self._session.device)

    def backward(self, out_grads=None) -> None:
        """Gradients of the last training forward."""
        if self._last is None:
            raise SymnetError("backward: call forward(is_train=True) first")
        feed, aux, rng = self._last
        names = list(self._session.trainer.trainable)
        wrt = names + (self._data_names if self.inputs_need_grad else [])
        if isinstance(out_grads, (NDArray, jax.Array)):
            out_grads = [out_grads]
        heads = (None,) * len(self._outputs) if out_grads is None else tuple(
            None if g is None else jnp.asarray(g._data if isinstance(g, NDArray) else g)
            for g in out_grads)
        _, _, grads = self._session.trainer.graph.forward_backward_fn(wrt)(feed, aux, rng,
                                                                           heads)
        self._grads = {n: grads[n] for n in names}
        self._input_grads = ([grads[n] for n in self._data_names] if self.inputs_need_grad
                             else None)

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

    def get_input_grads(self, merge_multi_context: bool = True) -> List[NDArray]:
        """Gradients of the last ``backward`` for the data inputs (``data_names`` order);
        needs ``bind(..., inputs_need_grad=True)``."""
        if not self.inputs_need_grad:
            raise SymnetError("get_input_grads: bind the module with inputs_need_grad=True")
        if self._input_grads is None:
            raise SymnetError("get_input_grads: call forward(is_train=True) and backward() first")
        return [NDArray(g) for g in self._input_grads]

    def get_states(self, merge_multi_context: bool = True) -> List[Any]:
        """The state arrays (``state_names`` order); ``[[state]]`` without merging."""
        if not (self.binded and self.params_initialized):
            raise SymnetError("get_states: call bind() and init_params() first")
        fixed = self._session.state.fixed
        states = [NDArray(fixed[n]).copy() for n in self._state_names]
        return states if merge_multi_context else [[s] for s in states]

    def set_states(self, states=None, value=None) -> None:
        """Set the states from arrays (``[s1, s2]`` or ``[[s1], [s2]]``) or one scalar."""
        if not (self.binded and self.params_initialized):
            raise SymnetError("set_states: call bind() and init_params() first")
        if (states is None) == (value is None):
            raise ValueError("set_states: pass exactly one of states and value")
        new = {}
        for i, name in enumerate(self._state_names):
            shape = self._arg_shapes[name]
            if value is not None:
                new[name] = jnp.full(shape, value, jnp.float32)
                continue
            s = states[i][0] if isinstance(states[i], (list, tuple)) else states[i]
            arr = jnp.asarray(s._data if isinstance(s, NDArray) else s, jnp.float32)
            if tuple(arr.shape) != tuple(shape):
                from .base import ShapeError, shape_str
                raise ShapeError(f"set_states: state {name!r} has shape {shape_str(arr.shape)}, "
                                 f"expected {shape_str(shape)}")
            new[name] = arr
        self._session.load(new, {})

    def prepare(self, data_batch, sparse_row_id_fn=None) -> None:
        """Nothing to prepare: no row-sparse parameters, no buckets (MXNet API)."""

    def install_monitor(self, mon) -> None:
        """Report the graph's internals to ``mon`` (``mx.mon.Monitor``) in ``forward`` and
        ``fit``; ``mon.toc`` adds the current parameters."""
        if not self.binded:
            raise SymnetError("install_monitor: call bind() first")
        from .monitor import SessionView
        if self._monitor is None:
            self._monitor = SessionView(lambda: self._session, self._symbol)
        mon.install(self._monitor)

    def update_metric(self, eval_metric, labels, pre_sliced: bool = False) -> None:
        """Update ``eval_metric`` with the last outputs (padded rows excluded)."""
        real = self._outputs[0].shape[0] - self._pad
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
        if monitor is not None:
            self.install_monitor(monitor)
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
                    if monitor is not None:
                        monitor.tic()
                        self._monitor.observe_batch(data_batch)
                    session.train_batch(data_batch, nbatch, eval_metric)
                    if monitor is not None:
                        monitor.toc_print()
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

    def iter_predict(self, eval_data, num_batch=None, reset: bool = True,
                     sparse_row_id_fn=None):
        """Yield ``(outputs, nbatch, batch)`` per batch; outputs without the padded rows."""
        if not (self.binded and self.params_initialized):
            raise SymnetError("iter_predict: call bind() and init_params() first")
        if reset:
            eval_data.reset()
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(batch, is_train=False)
            real = self._outputs[0].shape[0] - int(batch.pad or 0)
            yield [NDArray(o[:real]) for o in self._outputs], nbatch, batch

    def save_params(self, fname: str) -> None:
        """Write the parameters as MXNet's ``.params`` (``arg:``/``aux:`` keys), atomically."""
        arg, aux = self.get_params()
        save = {f"arg:{k}": v for k, v in arg.items()}
        save.update({f"aux:{k}": v for k, v in aux.items()})
        nd.save(fname, save)

    def load_params(self, fname: str) -> None:
        """Set the parameters from a ``.params`` file (``save_params``, MXNet's, or a
        checkpoint's)."""
        arg, aux = {}, {}
        loaded = nd.load(fname)
        if not isinstance(loaded, dict):
            raise GraphError(f"load_params: {fname!r} holds unnamed arrays; a parameter file "
                             "maps 'arg:<name>' and 'aux:<name>' to arrays")
        for key, value in loaded.items():
            kind, _, name = key.partition(":")
            if kind not in ("arg", "aux") or not name:
                raise GraphError(f"load_params: {fname!r} has the key {key!r}; a parameter "
                                 "file's keys start with 'arg:' or 'aux:'")
            (arg if kind == "arg" else aux)[name] = value
        self.set_params(arg, aux)

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
        """A Module from a checkpoint: the parameters are set when it is bound, and with
        ``load_optimizer_states`` the ``prefix-%04d.states`` file at ``init_optimizer``."""
        sym, arg, aux = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._preload = (arg, aux)
        if load_optimizer_states:
            mod._preload_opt_states = f"{prefix}-{int(epoch):04d}.states"
        return mod


BaseModule = Module

_STEP_CACHE: Dict[int, Any] = {}


def _jit_step(optimizer):
    fn = _STEP_CACHE.get(id(optimizer))
    if fn is None:
        fn = _STEP_CACHE[id(optimizer)] = jax.jit(optimizer.step)
    return fn
