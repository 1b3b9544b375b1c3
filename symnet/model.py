"""``mx.model``: FeedForward (fit / predict / score / save / load) and checkpoints.

Checkpoints are MXNet's two files, ``prefix-symbol.json`` and ``prefix-%04d.params`` (keys
``arg:<name>`` / ``aux:<name>``), written atomically so that a crash never leaves half a file.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import jax
import jax.numpy as jnp
import numpy as np

from . import metric as _metric
from . import ndarray as nd
from .base import FormatError, GraphError, ShapeError, SymnetError, shape_str
from .callback import BatchEndParam, LogValidationMetricsCallback
from .context import Context, cpu
from .ndarray import NDArray
from .symbol import load as _load_symbol
from .symbol.symbol import Symbol
from .trainer import (Session, Trainer, auto_steps, check_finite, check_labels,
                      check_steps)

__all__ = ["FeedForward", "save_checkpoint", "load_checkpoint", "load_params", "BatchEndParam"]


# ---- checkpoints ---------------------------------------------------------------------------------

def save_checkpoint(prefix: str, epoch: int, symbol: Optional[Symbol],
                    arg_params: Dict[str, Any], aux_params: Dict[str, Any],
                    remove_amp_cast: bool = True) -> None:
    """Write ``prefix-symbol.json`` and ``prefix-%04d.params`` (each atomically).

    Under jax.distributed only the first process writes (the others hold the same values).
    """
    from .parallel import is_primary
    if not is_primary():
        return
    if symbol is not None:
        symbol.save(f"{prefix}-symbol.json")
    save_dict = {f"arg:{k}": v for k, v in arg_params.items()}
    save_dict.update({f"aux:{k}": v for k, v in aux_params.items()})
    param_name = f"{prefix}-{int(epoch):04d}.params"
    nd.save(param_name, save_dict)
    logging.info('Saved checkpoint to "%s"', param_name)


def load_params(prefix: str, epoch: int) -> Tuple[Dict[str, NDArray], Dict[str, NDArray]]:
    """``(arg_params, aux_params)`` from ``prefix-%04d.params``."""
    fname = f"{prefix}-{int(epoch):04d}.params"
    loaded = nd.load(fname)
    if not isinstance(loaded, dict):
        raise FormatError(f"{fname}: holds an unnamed list of arrays, not a checkpoint")
    arg, aux = {}, {}
    for key, value in loaded.items():
        kind, _, name = key.partition(":")
        if kind == "arg":
            arg[name] = value
        elif kind == "aux":
            aux[name] = value
        else:
            raise FormatError(f"{fname}: key {key!r} is neither 'arg:<name>' nor 'aux:<name>'")
    return arg, aux


def load_checkpoint(prefix: str, epoch: int):
    """``(symbol, arg_params, aux_params)`` from a checkpoint MXNet or symnet wrote."""
    symbol = _load_symbol(f"{prefix}-symbol.json")
    arg, aux = load_params(prefix, epoch)
    return symbol, arg, aux


def check_params(symbol: Symbol, arg_shapes: Dict[str, Tuple[int, ...]],
                 aux_shapes: Dict[str, Tuple[int, ...]], arg_params: Dict[str, Any],
                 aux_params: Dict[str, Any], allow_missing: bool, allow_extra: bool,
                 where: str) -> None:
    """Raise one clear error listing missing, extra and mis-shaped parameters."""
    problems = []
    for kind, shapes, given in (("argument", arg_shapes, arg_params),
                                ("auxiliary state", aux_shapes, aux_params)):
        missing = [n for n in shapes if n not in given]
        extra = [n for n in given if n not in shapes]
        bad = [f"{n}: {shape_str(np.shape(_raw(given[n])))} (graph needs {shape_str(shapes[n])})"
               for n in shapes if n in given and tuple(np.shape(_raw(given[n]))) != shapes[n]]
        if missing and not allow_missing:
            problems.append(f"missing {kind}s {missing}")
        if extra and not allow_extra:
            problems.append(f"extra {kind}s not in the graph {extra}")
        if bad:
            problems.append(f"mis-shaped {kind}s: " + "; ".join(bad))
    if problems:
        raise GraphError(f"{where}: the parameters do not match the graph: "
                         + ". ".join(problems))


def _raw(x):
    return x._data if isinstance(x, NDArray) else x


# ---- data iterators ------------------------------------------------------------------------------

def _as_numpy_like(x):
    return isinstance(x, (np.ndarray, NDArray))


class FeedForward:
    """MXNet's classic model: ``fit``, ``predict``, ``score``, ``save``, ``load``.

    Args:
        symbol: the network (its loss head gives the label name, e.g. ``softmax_label``).
        ctx: a Context or list of them (several devices train data-parallel).
        num_epoch: epochs to train.
        epoch_size: batches per epoch (default: one pass over the iterator).
        optimizer: optimizer name or Optimizer; extra ``**kwargs`` go to it
            (``learning_rate``, ``momentum``, ``wd``...).
        initializer: default ``mx.init.Uniform(0.01)`` (MXNet's FeedForward default).
        numpy_batch_size: batch size used when ``fit`` gets numpy arrays.
        arg_params, aux_params: initial parameters (the rest are initialised).
        begin_epoch: epoch number to start from (set by ``load``).

    Example:
        >>> model = mx.model.FeedForward(symbol=lenet, num_epoch=10, learning_rate=0.1)
        >>> model.fit(X=train_iter, eval_data=val_iter)
    """

    def __init__(self, symbol: Symbol, ctx=None, num_epoch: Optional[int] = None,
                 epoch_size: Optional[int] = None, optimizer: Any = "sgd",
                 initializer: Any = None, numpy_batch_size: int = 128,
                 arg_params: Optional[Dict[str, Any]] = None,
                 aux_params: Optional[Dict[str, Any]] = None, allow_extra_params: bool = False,
                 begin_epoch: int = 0, **kwargs) -> None:
        from . import initializer as _init
        if not isinstance(symbol, Symbol):
            raise TypeError(f"FeedForward: symbol must be a Symbol, received "
                            f"{type(symbol).__name__}")
        self.symbol = symbol
        if ctx is None:
            ctx = [cpu()]
        elif isinstance(ctx, Context):
            ctx = [ctx]
        self.ctx = list(ctx)
        self.num_epoch = num_epoch
        self.epoch_size = epoch_size
        self.optimizer = optimizer
        # MXNet compat: FeedForward's default is Uniform(0.01), not mx.init.Uniform()'s 0.07.
        if initializer is None:
            initializer = _init.Uniform(0.01)
        elif isinstance(initializer, str):
            initializer = _init.create(initializer)  # lists the known names if unknown
        self.initializer = initializer
        self.numpy_batch_size = numpy_batch_size
        self.arg_params = dict(arg_params) if arg_params else None
        self.aux_params = dict(aux_params) if aux_params else None
        self.allow_extra_params = allow_extra_params
        self.begin_epoch = begin_epoch
        # symnet: training steps per dispatch (lax.scan); None picks per graph and backend.
        self.steps_per_execution = check_steps(kwargs.pop("steps_per_execution", None),
                                               "FeedForward")
        # symnet: opt-in mixed precision ('bfloat16' compute, float32 master weights).
        self.compute_dtype = kwargs.pop("compute_dtype", None)
        self.kwargs = dict(kwargs)
        self.history: List[Dict[str, Any]] = []
        self._trainer: Optional[Trainer] = None
        self._session: Optional[Session] = None
        self._pred_key = None

    # ---- parameters ---------------------------------------------------------------------------
    def _input_shapes(self, descs) -> Dict[str, Tuple[int, ...]]:
        return {d[0]: tuple(d[1]) for d in descs}

    def _init_params(self, input_shapes: Dict[str, Tuple[int, ...]], overwrite: bool = False):
        """Create parameters from shapes; keep given ones, initialise the rest."""
        arg_names = self.symbol.list_arguments()
        unknown = [k for k in input_shapes if k not in self.symbol.list_inputs()]
        if unknown:
            raise GraphError(f"the data iterator provides {unknown}, which the graph does not "
                             f"take; the graph's inputs are {self.symbol.list_inputs()}")
        arg_shapes, _, aux_shapes = self.symbol.infer_shape(**input_shapes)
        if arg_shapes is None:
            _, _, _ = self.symbol.infer_shape_partial(**input_shapes)
            raise ShapeError(f"cannot infer all parameter shapes from the inputs "
                             f"{input_shapes}; the graph's arguments are {arg_names}")
        arg_types, _, aux_types = self.symbol.infer_type(
            **{k: np.float32 for k in input_shapes})
        arg_types = arg_types or [np.float32] * len(arg_names)
        aux_names = self.symbol.list_auxiliary_states()
        aux_types = aux_types or [np.float32] * len(aux_names)
        param_names = [n for n in arg_names if n not in input_shapes]
        shapes = dict(zip(arg_names, arg_shapes))
        types = dict(zip(arg_names, arg_types))
        aux_shape_map = dict(zip(aux_names, aux_shapes))
        if self.arg_params and not overwrite:
            given = {k: v for k, v in self.arg_params.items() if k in shapes}
            check_params(self.symbol, {n: shapes[n] for n in param_names if n in given},
                         {n: aux_shape_map[n] for n in aux_names
                          if self.aux_params and n in self.aux_params},
                         given, {k: v for k, v in (self.aux_params or {}).items()
                                 if k in aux_shape_map},
                         True, True, "FeedForward")
            extra = [k for k in self.arg_params if k not in shapes]
            if extra and not self.allow_extra_params:
                raise GraphError(f"FeedForward: arg_params has {extra}, which the graph does not "
                                 "take; pass allow_extra_params=True to ignore them")
        from .initializer import initialize_all
        fresh = []
        arg_params: Dict[str, NDArray] = {}
        for name in param_names:
            arr = nd.zeros(shapes[name], dtype=types[name])
            if self.arg_params and name in self.arg_params and not overwrite:
                arr[:] = self.arg_params[name]
            else:
                fresh.append((name, arr))
            arg_params[name] = arr
        aux_params: Dict[str, NDArray] = {}
        for name, shape, typ in zip(aux_names, aux_shapes, aux_types):
            arr = nd.zeros(shape, dtype=typ)
            if self.aux_params and name in self.aux_params and not overwrite:
                arr[:] = self.aux_params[name]
            else:
                fresh.append((name, arr))
            aux_params[name] = arr
        # MXNet compat: FeedForward initialises by name (the legacy rules), not by InitDesc.
        initialize_all(self.initializer, fresh)
        self.arg_params, self.aux_params = arg_params, aux_params
        return arg_names, param_names, aux_names

    def _init_iter(self, X, y, is_train: bool):
        from . import io
        if isinstance(X, io.DataIter):
            return X
        if not _as_numpy_like(X):
            raise TypeError(f"X must be a DataIter, numpy.ndarray or NDArray, received "
                            f"{type(X).__name__}")
        if y is None:
            if is_train:
                raise ValueError("y must be specified when X is a numpy array")
            y = np.zeros(X.shape[0], np.float32)
        if not _as_numpy_like(y):
            raise TypeError(f"y must be a numpy.ndarray or NDArray, received {type(y).__name__}")
        if X.shape[0] != y.shape[0]:
            raise ShapeError(f"X has {X.shape[0]} samples but y has {y.shape[0]} labels")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.reshape(-1)
        if y.ndim != 1:
            raise ShapeError(f"labels must be 1-D (or (N, 1)), received shape {tuple(y.shape)}")
        batch = min(X.shape[0], self.numpy_batch_size)
        if is_train:
            return io.NDArrayIter(X, y, batch, shuffle=True, last_batch_handle="roll_over")
        return io.NDArrayIter(X, y, batch, shuffle=False)

    def _init_eval_iter(self, eval_data):
        from . import io
        if eval_data is None or isinstance(eval_data, io.DataIter):
            return eval_data
        if isinstance(eval_data, (tuple, list)) and len(eval_data) == 2:
            X, y = eval_data
            if y is None and isinstance(X, io.DataIter):
                return X
            X = np.array(X) if isinstance(X, list) else X
            y = np.array(y) if isinstance(y, list) else y
            return self._init_iter(X, y, is_train=True)
        raise TypeError("eval_data must be a DataIter or a (data, label) pair")

    # ---- training -----------------------------------------------------------------------------
    def _label_names(self, data) -> List[str]:
        return [d[0] for d in (data.provide_label or [])]

    def _make_optimizer(self, batch_size: int, param_names: Sequence[str]):
        from . import optimizer as opt
        if isinstance(self.optimizer, str):
            idx2name = {i: n for i, n in enumerate(param_names)}
            return opt.create(self.optimizer, rescale_grad=1.0 / batch_size, sym=self.symbol,
                              param_idx2name=idx2name, **self.kwargs)
        return self.optimizer

    def fit(self, X, y=None, eval_data=None, eval_metric="acc", epoch_end_callback=None,
            batch_end_callback=None, kvstore="local", logger=None, work_load_list=None,
            monitor=None, eval_end_callback=LogValidationMetricsCallback(),
            eval_batch_end_callback=None) -> "FeedForward":
        """Train for ``num_epoch`` epochs (MXNet's loop, logs and callback order).

        Args:
            X: a DataIter, or a numpy array (then ``y`` holds the labels).
            eval_data: a DataIter or ``(X, y)`` evaluated after every epoch.
            eval_metric: metric name, callable, list or EvalMetric.
            epoch_end_callback: ``f(epoch, symbol, arg_params, aux_params)`` (or a list).
            batch_end_callback: ``f(BatchEndParam)`` (nbatch counts from 1, as in MXNet).
        """
        from .kvstore import check_kvstore
        from .parallel import placement_for, platform_of, process_count
        logger = logger or logging
        check_kvstore(kvstore, work_load_list)
        placement = placement_for(self.ctx, kvstore, work_load_list=work_load_list)
        data = self._init_iter(X, y, is_train=True)
        eval_data = self._init_eval_iter(eval_data)
        if self.num_epoch is None:
            raise ValueError("FeedForward.fit: num_epoch is not set")
        descs = list(data.provide_data) + list(data.provide_label or [])
        _, param_names, _ = self._init_params(self._input_shapes(descs))
        check_labels(self.symbol, data, self._input_shapes(descs))
        batch_size = data.batch_size
        # MXNet compat: dist_sync rescales gradients by the global batch (batch * workers).
        optimizer = self._make_optimizer(batch_size * process_count(), param_names)
        eval_metric = _metric.create(eval_metric)
        backend = platform_of(placement)
        trainer = Trainer(self.symbol, [d[0] for d in data.provide_data],
                          self._label_names(data), compute_dtype=self.compute_dtype,
                          backend=backend)
        session = Session(trainer, self.arg_params, self.aux_params, batch_size,
                          self._input_shapes(descs), placement=placement)
        session.set_optimizer(optimizer)
        session.steps = self.steps_per_execution or auto_steps(
            self.symbol, self._input_shapes(descs), backend)
        self._trainer, self._session = trainer, session
        view = None
        if monitor is not None:  # MXNet installs it on the executor
            from .monitor import SessionView
            view = SessionView(lambda: session, self.symbol)
            monitor.install(view)
        # In-memory iterators: the data goes to the device once and batches are gathered there.
        resident = None
        if self.epoch_size is None and monitor is None and getattr(eval_metric,
                                                                   "device_capable", False):
            resident = session.resident_arrays(data)
        eval_resident = None
        if eval_data is not None and getattr(eval_metric, "device_capable", False):
            eval_resident = session.resident_arrays(eval_data)
        logger.info("Start training with %s", str(self.ctx))
        end_epoch = self.num_epoch
        for epoch in range(self.begin_epoch, end_epoch):
            tic = time.time()
            eval_metric.reset()
            nbatch = 0
            seen = 0
            if resident is not None:
                def on_batch(nb: int, pad: int, batches_ahead: int) -> None:
                    # batches_ahead reaches callbacks through locals() (Speedometer).
                    if batch_end_callback is not None:
                        _call(batch_end_callback, BatchEndParam(
                            epoch=epoch, nbatch=nb + 1, eval_metric=eval_metric,
                            locals=locals()))

                nbatch = session.train_epoch_resident(data, resident, eval_metric, 0, on_batch,
                                                      batch_end_callback is not None)
                if nbatch == 0:
                    raise ValueError("FeedForward.fit: the training iterator yielded no batch")
                seen = nbatch * batch_size
                logger.info("Epoch[%d] Resetting Data Iterator", epoch)
                data.reset()
                if epoch + 1 < end_epoch:
                    # While the device finishes this epoch, not after the reads below.
                    session.prefetch_epoch(data, resident, eval_metric)
            if resident is None:
                session.new_epoch()
            while resident is None:
                do_reset = True
                for batch in data:
                    if monitor is not None:
                        monitor.tic()
                        view.observe_batch(batch)
                    session.train_batch(batch, nbatch, eval_metric)
                    nbatch += 1
                    seen += batch_size - int(batch.pad or 0)
                    if monitor is not None:
                        monitor.toc_print()
                    if batch_end_callback is not None:
                        params = BatchEndParam(epoch=epoch, nbatch=nbatch,
                                               eval_metric=eval_metric, locals=locals())
                        _call(batch_end_callback, params)
                    if self.epoch_size is not None and nbatch >= self.epoch_size:
                        do_reset = False
                        break
                if nbatch == 0:
                    raise ValueError("FeedForward.fit: the training iterator yielded no batch")
                if do_reset:
                    logger.info("Epoch[%d] Resetting Data Iterator", epoch)
                    data.reset()
                if self.epoch_size is None or nbatch >= self.epoch_size:
                    break
            check_finite(session.state, epoch)
            # The epoch's value: Speedometer's auto_reset clears only the local window.
            train_values = dict(eval_metric.get_global_name_value())
            toc = time.time()
            logger.info("Epoch[%d] Time cost=%.3f", epoch, toc - tic)
            if epoch_end_callback is not None or epoch + 1 == end_epoch:
                # MXNet compat: parameters are copied back only when someone looks at them.
                session.export(self.arg_params, self.aux_params)
            _call(epoch_end_callback, epoch, self.symbol, self.arg_params, self.aux_params)
            record = {"epoch": epoch, "train": train_values, "time": toc - tic,
                      "samples_per_sec": seen / max(toc - tic, 1e-9)}
            if eval_data is not None:
                eval_metric.reset()
                eval_data.reset()
                total = 0

                def on_eval(i: int) -> None:
                    nonlocal total
                    total += 1
                    if eval_batch_end_callback is not None:
                        _call(eval_batch_end_callback, BatchEndParam(
                            epoch=epoch, nbatch=i, eval_metric=eval_metric, locals=locals()))

                if eval_resident is not None:
                    session.infer_resident(eval_data, eval_resident, eval_metric, None, on_eval,
                                           collect=False,
                                           batch_metric=eval_batch_end_callback is not None)
                else:
                    for i, batch in enumerate(eval_data):
                        session.eval_batch(batch, eval_metric)
                        on_eval(i)
                record["eval"] = dict(eval_metric.get_name_value())
                if eval_end_callback is not None:
                    _call(eval_end_callback, BatchEndParam(epoch=epoch, nbatch=total,
                                                           eval_metric=eval_metric,
                                                           locals=locals()))
                eval_data.reset()
            self.history.append(record)
        self.begin_epoch = end_epoch
        return self

    # ---- inference ----------------------------------------------------------------------------
    def _inference_session(self, data) -> Session:
        from .parallel import SingleDevice, platform_of
        descs = list(data.provide_data)
        shapes = self._input_shapes(descs)
        if self.arg_params is None:
            raise SymnetError("the model has no parameters: call fit() or load() first")
        key = (tuple(sorted(shapes.items())), data.batch_size)
        if self._session is None or self._pred_key != key or \
                self._session.batch_size != data.batch_size:
            label_names = [n for n in self.symbol.list_arguments()
                           if n not in shapes and n not in self.arg_params]
            arg_s, _, _ = self.symbol.infer_shape_partial(**shapes)
            for name, s in zip(self.symbol.list_arguments(), arg_s):
                if name in self.arg_params and s and tuple(s) != tuple(self.arg_params[name].shape):
                    raise ShapeError(
                        f"the data shapes {shapes} give parameter {name!r} the shape "
                        f"{shape_str(s)}, but the model's is "
                        f"{shape_str(self.arg_params[name].shape)}")
            # MXNet predicts on the model's first context.
            placement = SingleDevice(self.ctx[0].jax_device())
            trainer = Trainer(self.symbol, list(shapes), label_names,
                              backend=platform_of(placement))
            self._session = Session(trainer, self.arg_params, self.aux_params or {},
                                    data.batch_size, placement=placement)
            self._trainer = trainer
            self._pred_key = key
        else:
            self._session.load(self.arg_params, self.aux_params or {})
        return self._session

    def predict(self, X, num_batch: Optional[int] = None, return_data: bool = False,
                reset: bool = True):
        """Outputs for ``X`` as numpy (padding rows dropped); one compile per input signature."""
        data = self._init_iter(X, None, is_train=False)
        if reset:
            data.reset()
        session = self._inference_session(data)
        outs: List[List[jax.Array]] = []
        datas, labels = [], []
        resident = None if return_data else session.resident_arrays(data, labels=False)
        if resident is not None:
            merged = session.infer_resident(data, resident, num_batch=num_batch)
            if not merged:
                raise ValueError("predict: the iterator yielded no batch")
            result = [np.asarray(o) for o in merged]
            return result[0] if len(result) == 1 else result
        for i, batch in enumerate(data):
            if num_batch is not None and i == num_batch:
                break
            outs.append(session.predict_batch(batch))
            if return_data:
                real = data.batch_size - int(batch.pad or 0)
                datas.append([_raw(d)[:real] for d in batch.data])
                labels.append([_raw(d)[:real] for d in (batch.label or [])])
        if not outs:
            raise ValueError("predict: the iterator yielded no batch")
        result = [np.asarray(jnp.concatenate(col)) for col in zip(*outs)]
        result = result[0] if len(result) == 1 else result
        if return_data:
            d = [np.asarray(jnp.concatenate(col)) for col in zip(*datas)]
            lab = [np.asarray(jnp.concatenate(col)) for col in zip(*labels)]
            return result, (d[0] if len(d) == 1 else d), (lab[0] if len(lab) == 1 else lab)
        return result

    def score(self, X, eval_metric="acc", num_batch: Optional[int] = None,
              batch_end_callback=None, reset: bool = True) -> float:
        """The metric over ``X`` (padding rows excluded)."""
        data = self._init_iter(X, None, is_train=False)
        if reset:
            data.reset()
        eval_metric = _metric.create(eval_metric)
        eval_metric.reset()
        session = self._inference_session(data)
        session.trainer.label_names = [d[0] for d in (data.provide_label or [])
                                       if d[0] in self.symbol.list_arguments()]
        resident = None
        if getattr(eval_metric, "device_capable", False):
            resident = session.resident_arrays(data)
        if resident is not None:
            def on_batch(i: int) -> None:
                if batch_end_callback is not None:
                    _call(batch_end_callback, BatchEndParam(epoch=0, nbatch=i,
                                                            eval_metric=eval_metric,
                                                            locals=locals()))

            session.infer_resident(data, resident, eval_metric, num_batch, on_batch,
                                   collect=False, batch_metric=batch_end_callback is not None)
            return eval_metric.get()[1]
        for i, batch in enumerate(data):
            if num_batch is not None and i == num_batch:
                break
            session.eval_batch(batch, eval_metric)
            if batch_end_callback is not None:
                _call(batch_end_callback, BatchEndParam(epoch=0, nbatch=i,
                                                        eval_metric=eval_metric,
                                                        locals=locals()))
        return eval_metric.get()[1]

    # ---- persistence --------------------------------------------------------------------------
    def save(self, prefix: str, epoch: Optional[int] = None, remove_amp_cast: bool = True) -> None:
        """Checkpoint to ``prefix-symbol.json`` and ``prefix-%04d.params``."""
        if epoch is None:
            epoch = self.num_epoch
        if self.arg_params is None:
            raise SymnetError("save: the model has no parameters yet")
        save_checkpoint(prefix, epoch, self.symbol, self.arg_params, self.aux_params or {})

    @staticmethod
    def load(prefix: str, epoch: int, ctx=None, **kwargs) -> "FeedForward":
        """A model from a checkpoint; ``fit`` continues from ``epoch``."""
        symbol, arg_params, aux_params = load_checkpoint(prefix, epoch)
        return FeedForward(symbol, ctx=ctx, arg_params=arg_params, aux_params=aux_params,
                           begin_epoch=epoch, **kwargs)

    @staticmethod
    def create(symbol: Symbol, X, y=None, ctx=None, num_epoch=None, epoch_size=None,
               optimizer="sgd", initializer=None, eval_data=None, eval_metric="acc",
               epoch_end_callback=None, batch_end_callback=None, kvstore="local", logger=None,
               work_load_list=None, eval_end_callback=LogValidationMetricsCallback(),
               eval_batch_end_callback=None, **kwargs) -> "FeedForward":
        """Construct and fit in one call."""
        model = FeedForward(symbol, ctx=ctx, num_epoch=num_epoch, epoch_size=epoch_size,
                            optimizer=optimizer, initializer=initializer, **kwargs)
        model.fit(X, y, eval_data=eval_data, eval_metric=eval_metric,
                  epoch_end_callback=epoch_end_callback, batch_end_callback=batch_end_callback,
                  kvstore=kvstore, logger=logger, work_load_list=work_load_list,
                  eval_end_callback=eval_end_callback,
                  eval_batch_end_callback=eval_batch_end_callback)
        return model


def _call(callbacks, *args) -> None:
    if callbacks is None:
        return
    if isinstance(callbacks, (list, tuple)):
        for cb in callbacks:
            cb(*args)
    else:
        callbacks(*args)
