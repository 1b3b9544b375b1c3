"""Evaluation metrics with MXNet 1.9.1's API and numbers, plus a pure-JAX device face.

Host face (MXNet's): ``update(labels, preds)`` takes lists (or single arrays) of symnet NDArrays,
numpy or jax arrays and accumulates ``sum_metric``/``num_inst`` (local, reset by ``reset_local``)
and ``global_sum_metric``/``global_num_inst`` (reset only by ``reset``), exactly as MXNet does.

Device face (used inside the jitted training step, so the host never syncs per batch)::

    state = metric.device_init()                        # pytree of jnp scalars (increments)
    step = jax.jit(lambda s, l, p, m: metric.device_update(s, l, p, m))
    state = step(state, labels, preds, mask)            # mask: (batch,) 0/1, pad rows = 0
    metric.device_merge(state)                          # host: one read, folds into counters
    state = metric.device_init()                        # caller restarts from zeros

or, lazily (the metric itself decides when to read the device)::

    state = metric.device_state()        # pending state, or zeros after the last read
    state = step(state, labels, preds, mask)
    metric.device_stash(state)           # no sync; merged on the next get()/reset_local()/...

One ``device_update`` call equals one host ``update`` call restricted to the rows whose mask is 1
(metrics that MXNet averages per update -- MAE/MSE/RMSE/PearsonCorrelation per (label, pred) pair,
F1/MCC 'macro' per update -- keep per-update sums). An update whose rows are all padding is a
no-op. Local and global counters receive identical increments between two merges, so the device
state holds one set of increments and ``device_merge`` adds it to both. Metrics that cannot run on
device (``CustomMetric``/``np``, ``PearsonCorrelation(average='micro')``) have
``device_capable = False``: the trainer must then call the host ``update`` with pad rows stripped.
The batch axis of labels (and of ``Loss`` preds) is axis 0; outputs reshaped to
``(batch * k, ...)`` are masked by repeating each row's mask ``k`` times.
"""
from __future__ import annotations

import json
import math
import warnings
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy

from .base import ParamError, ShapeError, SymnetError

__all__ = [
    "EvalMetric", "CompositeEvalMetric", "Accuracy", "TopKAccuracy", "F1", "MCC", "Perplexity",
    "MAE", "MSE", "RMSE", "CrossEntropy", "NegativeLogLikelihood", "PearsonCorrelation", "Loss",
    "Torch", "Caffe", "CustomMetric", "create", "register", "alias", "np", "check_label_shapes",
]

_REGISTRY: Dict[str, type] = {}


# ------------------------------------------------------------------------------------------------
# array helpers
# ------------------------------------------------------------------------------------------------
def _jnp():
    import jax.numpy as jnp  # local import: the host face works without touching JAX
    return jnp


def _as_list(x: Any) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


def _to_numpy(x: Any) -> numpy.ndarray:
    """NDArray (``asnumpy``), jax or numpy array, or nested list -> numpy array."""
    if isinstance(x, numpy.ndarray):
        return x
    if hasattr(x, "asnumpy"):
        return x.asnumpy()
    return numpy.asarray(x)


def _to_jax(x: Any):
    """NDArray (``_data``), numpy or jax array (or tracer) -> jax array."""
    data = getattr(x, "_data", None)
    # an NDArray may hold a host numpy array (64-bit dtypes); asarray is free on jax arrays
    return _jnp().asarray(x if data is None else data)


def _shape(x: Any) -> tuple:
    return tuple(getattr(x, "shape", numpy.shape(x)))


def check_label_shapes(labels: Any, preds: Any, wrap: bool = False, shape: bool = False):
    """Check that labels and preds have the same length (or, with ``shape``, the same shape).

    Args:
        labels: list of arrays (or one array).
        preds: list of arrays (or one array).
        wrap: wrap single arrays into one-element lists first.
        shape: compare ``.shape`` instead of ``len``.

    Returns:
        (labels, preds), wrapped into lists when ``wrap``.

    Raises:
        ShapeError: the lengths (or shapes) differ.
    """
    if wrap:
        labels, preds = _as_list(labels), _as_list(preds)
    if shape:
        got_l, got_p = _shape(labels), _shape(preds)
    else:
        got_l, got_p = len(labels), len(preds)
    if got_l != got_p:
        what = "shape" if shape else "number"
        raise ShapeError(
            f"Shape of labels {got_l} does not match shape of predictions {got_p}: the {what} "
            "of labels and predictions must agree. Pass one label array per output (or use "
            "output_names/label_names to select them).")
    return labels, preds


def _row_mask(mask: Any, shape: tuple, where: str):
    """Broadcast a (batch,) 0/1 mask to ``shape`` (batch first) as a bool array; None -> all."""
    jnp = _jnp()
    if mask is None:
        return jnp.ones(shape, dtype=bool)
    m = jnp.asarray(mask) > 0
    if m.ndim != 1:
        raise ShapeError(f"{where}: mask must have shape (batch,), received {m.shape}.")
    if len(shape) == 0:
        raise ShapeError(f"{where}: cannot mask a 0-d array with a (batch,) mask; give arrays a "
                         "leading batch axis.")
    batch, lead = m.shape[0], shape[0]
    if lead != batch:
        if lead % batch:
            raise ShapeError(
                f"{where}: leading axis {lead} of an array with shape {shape} is not a multiple "
                f"of the mask's batch size {batch}; labels/outputs must be batch-major.")
        m = jnp.repeat(m, lead // batch)
    m = m.reshape((lead,) + (1,) * (len(shape) - 1))
    return jnp.broadcast_to(m, shape)


def _device_pairs(labels: Any, preds: Any, where: str) -> Tuple[list, list]:
    labels = [_to_jax(x) for x in _as_list(labels)]
    preds = [_to_jax(x) for x in _as_list(preds)]
    if len(labels) != len(preds):
        raise ShapeError(f"{where}: got {len(labels)} labels and {len(preds)} predictions; "
                         "they must pair up one to one.")
    return labels, preds


def _zeros_sum_num(sum_dtype: str = "float32") -> Dict[str, Any]:
    # numpy zeros: the trainer places them on the device (jnp.zeros would compile a tiny
    # program per dtype before the first step)
    return {"sum": numpy.zeros((), dtype=sum_dtype), "num": numpy.zeros((), dtype="int32")}


def _host_scalar(x: Any):
    """A device/numpy scalar as a Python int or float."""
    return numpy.asarray(x).item()


# ------------------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------------------
def register(klass: type, name: Optional[str] = None) -> type:
    """Register an :class:`EvalMetric` subclass for :func:`create` (name lower-cased)."""
    if not (isinstance(klass, type) and issubclass(klass, EvalMetric)):
        raise ParamError(f"metric.register expects a subclass of EvalMetric, received {klass!r}.")
    key = (name or klass.__name__).lower()
    if key in _REGISTRY and _REGISTRY[key] is not klass:
        warnings.warn(f"New metric {klass.__module__}.{klass.__name__} registered with name "
                      f"{key} is overriding existing metric {_REGISTRY[key].__name__}",
                      UserWarning, stacklevel=2)
    _REGISTRY[key] = klass
    return klass


def alias(*aliases: str) -> Callable[[type], type]:
    """Class decorator registering extra names for a metric: ``@alias('acc')``."""
    def _reg(klass: type) -> type:
        for name in aliases:
            register(klass, name)
        return klass
    return _reg


def _create_registered(name: Any, /, *args: Any, **kwargs: Any) -> "EvalMetric":
    if isinstance(name, EvalMetric):
        if args or kwargs:
            raise ParamError(f"metric {name.name!r} is already an instance; extra arguments "
                             f"{args} {kwargs} are invalid. Construct a new metric instead.")
        return name
    if isinstance(name, dict):
        config = dict(name)
        config.update(kwargs)
        if "metric" not in config:
            raise ParamError(f"metric config dict needs a 'metric' key, received {name!r}.")
        return _create_registered(config.pop("metric"), *args, **config)
    if not isinstance(name, str):
        raise ParamError(f"metric must be a name, EvalMetric, callable or list; received "
                         f"{name!r} ({type(name).__name__}).")
    if name.startswith("["):
        cls_name, cfg = json.loads(name)
        return _create_registered(cls_name, **cfg)
    if name.startswith("{"):
        return _create_registered(json.loads(name))
    key = name.lower()
    if key not in _REGISTRY:
        raise ParamError(f"Unknown metric {name!r}. Known metrics: {', '.join(sorted(_REGISTRY))}. "
                         "Register new ones with symnet.metric.register.")
    return _REGISTRY[key](*args, **kwargs)


def create(metric: Any, *args: Any, **kwargs: Any) -> "EvalMetric":
    """Create a metric from a name, an instance, a list of those, or a ``feval(label, pred)``.

    Args:
        metric: registered name (``'acc'``, ``'top_k_accuracy'``, ``'f1'``, ``'mse'``, ``'ce'``,
            ...), an :class:`EvalMetric` (returned as is), a list (-> :class:`CompositeEvalMetric`)
            or a callable (-> :class:`CustomMetric`).
        *args, **kwargs: constructor arguments.

    Returns:
        The metric.

    Raises:
        ParamError: unknown name (the message lists the known names).

    Example:
        >>> create('acc').get()
        ('accuracy', nan)
    """
    # MXNet compat: callables are tested first, so create(SomeMetricClass) wraps the class.
    if callable(metric):
        return CustomMetric(metric, *args, **kwargs)
    if isinstance(metric, list):
        composite = CompositeEvalMetric()
        for child in metric:
            composite.add(create(child, *args, **kwargs))
        return composite
    return _create_registered(metric, *args, **kwargs)


# ------------------------------------------------------------------------------------------------
# base class
# ------------------------------------------------------------------------------------------------
class EvalMetric:
    """Base class of all metrics: local and global running (sum, count) pairs.

    Args:
        name: display name.
        output_names: predictions used by :meth:`update_dict` (None: all).
        label_names: labels used by :meth:`update_dict` (None: all).

    Attributes:
        sum_metric, num_inst: local accumulators (reset by :meth:`reset_local`).
        global_sum_metric, global_num_inst: global accumulators (reset by :meth:`reset`).
        device_capable: whether ``device_init/device_update/device_merge`` are available.
    """

    device_capable = True

    def __init__(self, name: str, output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None, **kwargs: Any) -> None:
        self.name = str(name)
        self.output_names = output_names
        self.label_names = label_names
        self._has_global_stats = kwargs.pop("has_global_stats", False)
        self._kwargs = kwargs
        self._pending = None
        self.reset()

    # ---- accumulators: reading one first folds a stashed device state in -----------------------
    def _get_acc(attr):  # noqa: N805 -- property factory used in the class body only
        def getter(self):
            self._sync()
            return self.__dict__.get(attr, 0)

        def setter(self, value):
            self.__dict__[attr] = value
        return property(getter, setter)

    sum_metric = _get_acc("_sum_metric")
    num_inst = _get_acc("_num_inst")
    global_sum_metric = _get_acc("_global_sum_metric")
    global_num_inst = _get_acc("_global_num_inst")
    del _get_acc

    def __str__(self) -> str:
        return "EvalMetric: {}".format(dict(self.get_name_value()))

    def get_config(self) -> Dict[str, Any]:
        """Configuration from which :func:`create` rebuilds the metric."""
        config = self._kwargs.copy()
        config.update({"metric": self.__class__.__name__, "name": self.name,
                       "output_names": self.output_names, "label_names": self.label_names})
        return config

    def update_dict(self, label: Dict[str, Any], pred: Dict[str, Any]) -> None:
        """Update with name->array dicts, selecting ``label_names``/``output_names``."""
        if self.output_names is not None:
            pred = [pred[name] for name in self.output_names]
        else:
            pred = list(pred.values())
        if self.label_names is not None:
            label = [label[name] for name in self.label_names]
        else:
            label = list(label.values())
        self.update(label, pred)

    def update(self, labels: Any, preds: Any) -> None:
        """Accumulate one batch. labels/preds: lists (or single) NDArray/numpy/jax arrays."""
        raise NotImplementedError("EvalMetric subclasses must implement update(labels, preds)")

    def reset(self) -> None:
        """Reset local and global accumulators (a stashed device state is discarded)."""
        self._pending = None
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.num_inst = 0
        self.sum_metric = 0.0
        self.global_num_inst = 0
        self.global_sum_metric = 0.0

    def reset_local(self) -> None:
        """Reset the local accumulators only (pending device increments go to global first)."""
        self._sync()
        self.num_inst = 0
        self.sum_metric = 0.0

    def get(self) -> Tuple[Any, Any]:
        """Return ``(name, value)`` of the local accumulators (nan when empty)."""
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, self.sum_metric / self.num_inst)

    def get_global(self) -> Tuple[Any, Any]:
        """Return ``(name, value)`` of the global accumulators (nan when empty)."""
        if self._has_global_stats:
            if self.global_num_inst == 0:
                return (self.name, float("nan"))
            return (self.name, self.global_sum_metric / self.global_num_inst)
        return self.get()

    def get_name_value(self) -> List[Tuple[str, float]]:
        """Return ``[(name, value), ...]`` of :meth:`get`."""
        name, value = self.get()
        if not isinstance(name, list):
            name = [name]
        if not isinstance(value, list):
            value = [value]
        return list(zip(name, value))

    def get_global_name_value(self) -> List[Tuple[str, float]]:
        """Return ``[(name, value), ...]`` of :meth:`get_global`."""
        if self._has_global_stats:
            name, value = self.get_global()
            if not isinstance(name, list):
                name = [name]
            if not isinstance(value, list):
                value = [value]
            return list(zip(name, value))
        return self.get_name_value()

    # ---- device face --------------------------------------------------------------------------
    def _not_on_device(self) -> SymnetError:
        return SymnetError(
            f"metric {self.name!r} ({type(self).__name__}) cannot run on the device "
            "(device_capable is False); call its host update(labels, preds) with padding rows "
            "removed instead.")

    def device_init(self) -> Any:
        """Zero device state: a pytree of jnp scalars (increments since the last merge)."""
        if not self.device_capable:
            raise self._not_on_device()
        return _zeros_sum_num()

    def device_update(self, state: Any, labels: Any, preds: Any, mask: Any = None) -> Any:
        """Pure, jittable update: one host ``update`` restricted to rows with ``mask == 1``.

        Args:
            state: pytree from :meth:`device_init` / a previous call.
            labels: list of jax arrays, batch-major, e.g. (batch,) class ids.
            preds: list of jax arrays, e.g. (batch, classes).
            mask: (batch,) 0/1 floats (padding rows 0), or None for all rows.

        Returns:
            The new state (same structure and dtypes, so the step compiles once).
        """
        raise self._not_on_device()

    def _fold(self, values: Dict[str, Any]) -> None:
        """Add host-side increments (numpy scalars) into local and global accumulators."""
        s, n = _host_scalar(values["sum"]), _host_scalar(values["num"])
        self.sum_metric += s
        self.global_sum_metric += s
        self.num_inst += n
        self.global_num_inst += n

    def device_merge(self, state: Any) -> None:
        """Host side: read ``state`` once and fold it into the counters; reset it afterwards."""
        import jax
        self._sync()
        self._fold(jax.device_get(state))

    def device_state(self) -> Any:
        """The stashed (not yet merged) device state, or a fresh zero state after a read."""
        if self._pending is not None:
            return self._pending
        return self.device_init()

    def device_pending(self) -> Any:
        """The stashed, not yet merged device state (None once the host has read it)."""
        return self.__dict__.get("_pending")

    def device_stash(self, state: Any) -> None:
        """Keep ``state`` (no sync); it is merged lazily on the next read of the metric."""
        self._pending = state

    def block_until_ready(self) -> None:
        """Wait until the stashed device state (hence the step that produced it) is computed."""
        if self._pending is not None:
            import jax
            jax.block_until_ready(self._pending)

    def _sync(self) -> None:
        pending = self.__dict__.get("_pending")
        if pending is not None:
            import jax
            self._pending = None
            self._fold(jax.device_get(pending))



# ------------------------------------------------------------------------------------------------
# composite
# ------------------------------------------------------------------------------------------------
@alias("composite")
class CompositeEvalMetric(EvalMetric):
    """Several metrics updated together; ``get()`` returns ``(names, values)``.

    Args:
        metrics: child metrics (anything :func:`create` accepts).
        name: display name.

    Example:
        >>> m = CompositeEvalMetric(['acc', 'mse']); m.get()
        (['accuracy', 'mse'], [nan, nan])
    """

    def __init__(self, metrics: Optional[list] = None, name: str = "composite",
                 output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None) -> None:
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.metrics = [create(m) for m in (metrics or [])]

    @property
    def device_capable(self) -> bool:  # type: ignore[override]
        return all(m.device_capable for m in self.metrics)

    def add(self, metric: Any) -> None:
        """Append a child metric."""
        self.metrics.append(create(metric))

    def get_metric(self, index: int) -> EvalMetric:
        """Return child ``index``."""
        try:
            return self.metrics[index]
        except IndexError:
            # MXNet compat: the error is returned, not raised.
            return ValueError("Metric index {} is out of range 0 and {}".format(
                index, len(self.metrics)))

    def update_dict(self, labels: Dict[str, Any], preds: Dict[str, Any]) -> None:
        if self.label_names is not None:
            labels = OrderedDict([i for i in labels.items() if i[0] in self.label_names])
        if self.output_names is not None:
            preds = OrderedDict([i for i in preds.items() if i[0] in self.output_names])
        for metric in self.metrics:
            metric.update_dict(labels, preds)

    def update(self, labels: Any, preds: Any) -> None:
        for metric in self.metrics:
            metric.update(labels, preds)

    def reset(self) -> None:
        super().reset()
        for metric in getattr(self, "metrics", []):
            metric.reset()

    def reset_local(self) -> None:
        super().reset_local()
        for metric in getattr(self, "metrics", []):
            metric.reset_local()

    def _collect(self, getter: str) -> Tuple[list, list]:
        names, values = [], []
        for metric in self.metrics:
            name, value = getattr(metric, getter)()
            names.extend(name if isinstance(name, list) else [name])
            values.extend(value if isinstance(value, list) else [value])
        return (names, values)

    def get(self) -> Tuple[list, list]:
        return self._collect("get")

    def get_global(self) -> Tuple[list, list]:
        return self._collect("get_global")

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"metrics": [m.get_config() for m in self.metrics]})
        return config

    # device face: a tuple of the children's states
    def device_init(self) -> tuple:
        return tuple(m.device_init() for m in self.metrics)

    def device_update(self, state: tuple, labels: Any, preds: Any, mask: Any = None) -> tuple:
        return tuple(m.device_update(s, labels, preds, mask) for m, s in zip(self.metrics, state))

    def _fold(self, values: tuple) -> None:
        for metric, value in zip(self.metrics, values):
            metric._sync()
            metric._fold(value)

    def device_state(self) -> tuple:
        return tuple(m.device_state() for m in self.metrics)

    def device_stash(self, state: tuple) -> None:
        for metric, s in zip(self.metrics, state):
            metric.device_stash(s)

    def device_pending(self) -> tuple:
        return tuple(m.device_pending() for m in self.metrics)

    def block_until_ready(self) -> None:
        for metric in self.metrics:
            metric.block_until_ready()


register(CompositeEvalMetric)


# ------------------------------------------------------------------------------------------------
# classification
# ------------------------------------------------------------------------------------------------
@alias("acc")
class Accuracy(EvalMetric):
    """Fraction of samples whose predicted class (argmax over ``axis``) equals the label.

    Args:
        axis: class axis of preds; preds with the label's shape are used as class ids directly.

    Shapes: label (batch, ...) class ids; pred (batch, classes, ...) or label-shaped.

    Example:
        >>> m = Accuracy(); m.update([numpy.array([0, 1, 1])],
        ...     [numpy.array([[0.3, 0.7], [0, 1.], [0.4, 0.6]])]); m.get()
        ('accuracy', 0.6666666666666666)
    """

    def __init__(self, axis: int = 1, name: str = "accuracy",
                 output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None) -> None:
        super().__init__(name, axis=axis, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.axis = axis

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _to_numpy(label), _to_numpy(pred)
            if pred.shape != label.shape:
                pred = numpy.argmax(pred, axis=self.axis)
            pred = pred.astype("int32").ravel()
            label = label.astype("int32").ravel()
            check_label_shapes(label, pred)
            correct = int((pred == label).sum())
            self.sum_metric += correct
            self.global_sum_metric += correct
            self.num_inst += len(pred)
            self.global_num_inst += len(pred)

    def device_init(self) -> Dict[str, Any]:
        return _zeros_sum_num("int32")

    def device_update(self, state, labels, preds, mask=None):
        jnp = _jnp()
        labels, preds = _device_pairs(labels, preds, self.name)
        correct, num = state["sum"], state["num"]
        for label, pred in zip(labels, preds):
            valid = _row_mask(mask, label.shape, self.name).ravel()
            if pred.shape != label.shape:
                pred = jnp.argmax(pred, axis=self.axis)
            pred = pred.astype("int32").ravel()
            if pred.shape != valid.shape:
                raise ShapeError(f"{self.name}: predicted classes have {pred.size} entries but "
                                 f"the label {label.shape} has {valid.size}.")
            hit = (pred == label.astype("int32").ravel()) & valid
            correct = correct + jnp.sum(hit, dtype="int32")
            num = num + jnp.sum(valid, dtype="int32")
        return {"sum": correct, "num": num}


register(Accuracy)


@alias("top_k_accuracy", "top_k_acc")
class TopKAccuracy(EvalMetric):
    """Fraction of samples whose label is among the ``top_k`` highest-scoring classes.

    Args:
        top_k: number of classes considered (> 1). The name becomes ``top_k_accuracy_<k>``.

    Shapes: label (batch,); pred (batch, classes).
    """

    def __init__(self, top_k: int = 1, name: str = "top_k_accuracy",
                 output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None) -> None:
        super().__init__(name, top_k=top_k, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.top_k = top_k
        if not self.top_k > 1:
            raise ParamError(f"TopKAccuracy needs top_k > 1, received top_k={top_k}; "
                             "use Accuracy for top-1.")
        self.name += "_%d" % self.top_k

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            pred = _to_numpy(pred)
            if pred.ndim > 2:
                raise ShapeError(f"{self.name}: predictions should be no more than 2 dims, "
                                 f"received shape {pred.shape}.")
            order = numpy.argpartition(pred.astype("float32"), -self.top_k)
            label = _to_numpy(label).astype("int32")
            check_label_shapes(label, order)
            num_samples = order.shape[0]
            if order.ndim == 1:
                # MXNet compat: the 1-D case only updates the local sum.
                self.sum_metric += int((order.flat == label.flat).sum())
            else:
                num_classes = order.shape[1]
                for j in range(min(num_classes, self.top_k)):
                    hit = int((order[:, num_classes - 1 - j].flat == label.flat).sum())
                    self.sum_metric += hit
                    self.global_sum_metric += hit
            self.num_inst += num_samples
            self.global_num_inst += num_samples

    def device_init(self) -> Dict[str, Any]:
        return _zeros_sum_num("int32")

    def device_update(self, state, labels, preds, mask=None):
        import jax
        jnp = _jnp()
        labels, preds = _device_pairs(labels, preds, self.name)
        hits, num = state["sum"], state["num"]
        for label, pred in zip(labels, preds):
            if pred.ndim != 2:
                raise ShapeError(f"{self.name}: the device path needs preds (batch, classes), "
                                 f"received shape {pred.shape}.")
            label = label.astype("int32").ravel()
            if label.shape[0] != pred.shape[0]:
                raise ShapeError(f"{self.name}: {label.shape[0]} labels for {pred.shape[0]} "
                                 "prediction rows.")
            valid = _row_mask(mask, label.shape, self.name)
            k = min(pred.shape[1], self.top_k)
            # exact ties may pick a different set than numpy.argpartition (MXNet's host path)
            _, top = jax.lax.top_k(pred.astype("float32"), k)
            hit = jnp.any(top == label[:, None], axis=1) & valid
            hits = hits + jnp.sum(hit, dtype="int32")
            num = num + jnp.sum(valid, dtype="int32")
        return {"sum": hits, "num": num}


register(TopKAccuracy)


class _BinaryStats:
    """True/false positive/negative counts, local and global (binary classification)."""

    KEYS = ("tp", "fp", "fn", "tn")

    def __init__(self) -> None:
        self.local = dict.fromkeys(self.KEYS, 0)
        self.glob = dict.fromkeys(self.KEYS, 0)

    def add(self, counts: Dict[str, int]) -> None:
        for key in self.KEYS:
            self.local[key] += int(counts[key])
            self.glob[key] += int(counts[key])

    def update(self, label: Any, pred: Any, owner: str) -> None:
        pred = _to_numpy(pred)
        label = _to_numpy(label).astype("int32").ravel()
        pred_label = numpy.argmax(pred, axis=1)
        check_label_shapes(label, pred)
        classes = numpy.unique(label)
        if len(classes) > 2:
            raise ParamError(f"{owner} currently only supports binary classification; labels "
                             f"hold {len(classes)} classes {classes.tolist()}.")
        self.add(_binary_counts(pred_label == 1, label == 1, numpy))

    def local_reset(self) -> None:
        self.local = dict.fromkeys(self.KEYS, 0)

    def reset(self) -> None:
        self.local_reset()
        self.glob = dict.fromkeys(self.KEYS, 0)

    @staticmethod
    def total(c: Dict[str, int]) -> int:
        return c["tp"] + c["fp"] + c["fn"] + c["tn"]

    @staticmethod
    def fscore(c: Dict[str, Any]) -> float:
        precision = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] > 0 else 0.0
        recall = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] > 0 else 0.0
        if precision + recall > 0:
            return 2 * precision * recall / (precision + recall)
        return 0.0

    @staticmethod
    def mcc(c: Dict[str, Any]) -> float:
        if not _BinaryStats.total(c):
            return 0.0
        tp, fp, fn, tn = (float(c[k]) for k in _BinaryStats.KEYS)
        denom = 1.0
        # MXNet compat: zero factors of the denominator are replaced by 1.
        for t in (tp + fp, tp + fn, tn + fp, tn + fn):
            if t != 0.0:
                denom *= t
        return (tp * tn - fp * fn) / math.sqrt(denom)


def _binary_counts(pred_true, label_true, xp, valid=None) -> Dict[str, Any]:
    if valid is None:
        valid = True
    kw = {"dtype": "int32"} if xp is not numpy else {}
    return {"tp": xp.sum(pred_true & label_true & valid, **kw),
            "fp": xp.sum(pred_true & ~label_true & valid, **kw),
            "fn": xp.sum(~pred_true & label_true & valid, **kw),
            "tn": xp.sum(~pred_true & ~label_true & valid, **kw)}


def _device_fscore(c: Dict[str, Any]):
    jnp = _jnp()
    tp, fp, fn = (c[k].astype("float32") for k in ("tp", "fp", "fn"))
    precision = jnp.where(tp + fp > 0, tp / jnp.maximum(tp + fp, 1.0), 0.0)
    recall = jnp.where(tp + fn > 0, tp / jnp.maximum(tp + fn, 1.0), 0.0)
    denom = precision + recall
    return jnp.where(denom > 0, 2 * precision * recall / jnp.where(denom > 0, denom, 1.0), 0.0)


def _device_mcc(c: Dict[str, Any]):
    jnp = _jnp()
    tp, fp, fn, tn = (c[k].astype("float32") for k in _BinaryStats.KEYS)
    denom = jnp.ones((), "float32")
    for t in (tp + fp, tp + fn, tn + fp, tn + fn):
        denom = denom * jnp.where(t != 0, t, 1.0)
    total = tp + fp + fn + tn
    return jnp.where(total > 0, (tp * tn - fp * fn) / jnp.sqrt(denom), 0.0)


class _BinaryMetric(EvalMetric):
    """Shared F1/MCC machinery: 'macro' averages per update, 'micro' pools the counts."""

    def __init__(self, name: str, output_names, label_names, average: str) -> None:
        if average not in ("macro", "micro"):
            raise ParamError(f"{type(self).__name__}: average must be 'macro' or 'micro', "
                             f"received {average!r}.")
        self.average = average
        self._stats = _BinaryStats()
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    @staticmethod
    def _score(counts: Dict[str, Any]) -> float:
        raise NotImplementedError("binary metrics must implement _score(counts)")

    def _after_counts(self) -> None:
        """Turn the accumulated counts into sum/num, as MXNet does at the end of an update."""
        st = self._stats
        if self.average == "macro":
            self.sum_metric += self._score(st.local)
            self.global_sum_metric += self._score(st.glob)
            self.num_inst += 1
            self.global_num_inst += 1
            st.reset()
        else:
            self.sum_metric = self._score(st.local) * st.total(st.local)
            self.global_sum_metric = self._score(st.glob) * st.total(st.glob)
            self.num_inst = st.total(st.local)
            self.global_num_inst = st.total(st.glob)

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            self._stats.update(label, pred, type(self).__name__)
        self._after_counts()

    def reset(self) -> None:
        self._pending = None
        self._reset_counters()
        self._stats.reset()

    def reset_local(self) -> None:
        self._sync()
        self.sum_metric = 0.0
        self.num_inst = 0
        self._stats.local_reset()

    def device_init(self) -> Dict[str, Any]:
        if self.average == "macro":
            return _zeros_sum_num()
        return {k: numpy.zeros((), "int32") for k in _BinaryStats.KEYS}

    def _device_score(self, counts):
        raise NotImplementedError("binary metrics must implement _device_score(counts)")

    def device_update(self, state, labels, preds, mask=None):
        jnp = _jnp()
        labels, preds = _device_pairs(labels, preds, self.name)
        counts = {k: jnp.zeros((), "int32") for k in _BinaryStats.KEYS}
        n_valid = jnp.zeros((), "int32")
        for label, pred in zip(labels, preds):
            label = label.astype("int32").ravel()
            if pred.ndim != 2 or pred.shape[0] != label.shape[0]:
                raise ShapeError(f"{self.name}: needs preds (batch, 2) and labels (batch,), "
                                 f"received preds {pred.shape} and labels {label.shape}.")
            valid = _row_mask(mask, label.shape, self.name)
            pair = _binary_counts(jnp.argmax(pred, axis=1) == 1, label == 1, jnp, valid)
            counts = {k: counts[k] + pair[k] for k in counts}
            n_valid = n_valid + jnp.sum(valid, dtype="int32")
        if self.average == "micro":
            return {k: state[k] + counts[k] for k in counts}
        used = n_valid > 0
        return {"sum": state["sum"] + jnp.where(used, self._device_score(counts), 0.0),
                "num": state["num"] + used.astype("int32")}

    def _fold(self, values: Dict[str, Any]) -> None:
        if self.average == "macro":
            super()._fold(values)
            return
        self._stats.add(values)
        self._after_counts()


class F1(_BinaryMetric):
    """F1 score of a binary classifier (class 1 positive; preds (batch, 2) argmaxed).

    Args:
        average: ``'macro'`` = mean of per-update F1; ``'micro'`` = F1 of pooled counts.
    """

    def __init__(self, name: str = "f1", output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None, average: str = "macro") -> None:
        super().__init__(name, output_names, label_names, average)

    _score = staticmethod(_BinaryStats.fscore)
    _device_score = staticmethod(_device_fscore)


register(F1)


class MCC(_BinaryMetric):
    """Matthews correlation coefficient of a binary classifier (zero denominator factors -> 1).

    Args:
        average: ``'macro'`` = mean of per-update MCC; ``'micro'`` = MCC of pooled counts.
    """

    def __init__(self, name: str = "mcc", output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None, average: str = "macro") -> None:
        super().__init__(name, output_names, label_names, average)

    _score = staticmethod(_BinaryStats.mcc)
    _device_score = staticmethod(_device_mcc)


register(MCC)


class Perplexity(EvalMetric):
    """exp(mean negative log-probability of the label), skipping ``ignore_label``.

    Args:
        ignore_label: label value not counted (or None).
        axis: class axis of preds.

    Shapes: label (batch, ...) with label.size == pred.size / pred.shape[axis].
    """

    def __init__(self, ignore_label: Optional[int], axis: int = -1, name: str = "perplexity",
                 output_names: Optional[Sequence[str]] = None,
                 label_names: Optional[Sequence[str]] = None) -> None:
        super().__init__(name, ignore_label=ignore_label, output_names=output_names,
                         label_names=label_names, has_global_stats=True)
        self.ignore_label = ignore_label
        self.axis = axis

    def _check(self, label_shape, pred_shape) -> None:
        size = int(numpy.prod(pred_shape)) // pred_shape[self.axis] if pred_shape else 0
        if int(numpy.prod(label_shape)) != size:
            raise ShapeError(f"{self.name}: shape mismatch: label {label_shape} vs. pred "
                             f"{pred_shape}; expected label.size == pred.size / pred.shape[axis].")

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        loss, num = 0.0, 0
        for label, pred in zip(labels, preds):
            label, pred = _to_numpy(label), _to_numpy(pred)
            self._check(label.shape, pred.shape)
            label = label.reshape((label.size,))
            classes = numpy.moveaxis(pred, self.axis, -1).reshape(-1, pred.shape[self.axis])
            # MXNet compat: pick() clips out-of-range class ids (e.g. an ignore_label of -1).
            index = numpy.clip(label.astype("int32"), 0, classes.shape[1] - 1)
            picked = classes[numpy.arange(label.size), index]
            if self.ignore_label is not None:
                ignore = (label == self.ignore_label).astype(picked.dtype)
                num -= float(numpy.sum(ignore))
                picked = picked * (1 - ignore) + ignore
            loss -= float(numpy.sum(numpy.log(numpy.maximum(1e-10, picked))))
            num += picked.size
        self.sum_metric += loss
        self.global_sum_metric += loss
        self.num_inst += num
        self.global_num_inst += num

    def device_update(self, state, labels, preds, mask=None):
        jnp = _jnp()
        labels, preds = _device_pairs(labels, preds, self.name)
        loss, num = state["sum"], state["num"]
        for label, pred in zip(labels, preds):
            self._check(label.shape, pred.shape)
            valid = _row_mask(mask, label.shape, self.name).ravel()
            label = label.ravel()
            classes = jnp.moveaxis(pred, self.axis, -1).reshape(-1, pred.shape[self.axis])
            index = jnp.clip(label.astype("int32"), 0, classes.shape[1] - 1)
            picked = jnp.take_along_axis(classes, index[:, None], axis=1)[:, 0]
            if self.ignore_label is not None:
                valid = valid & (label != self.ignore_label)
            nll = -jnp.log(jnp.maximum(1e-10, picked))
            loss = loss + jnp.sum(jnp.where(valid, nll, 0.0))
            num = num + jnp.sum(valid, dtype="int32")
        return {"sum": loss, "num": num}

    def get(self) -> Tuple[str, float]:
        if self.num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.sum_metric / self.num_inst))

    def get_global(self) -> Tuple[str, float]:
        if self.global_num_inst == 0:
            return (self.name, float("nan"))
        return (self.name, math.exp(self.global_sum_metric / self.global_num_inst))


register(Perplexity)


# ------------------------------------------------------------------------------------------------
# regression: MXNet averages per (label, pred) pair, then over pairs
# ------------------------------------------------------------------------------------------------
class _PairMeanMetric(EvalMetric):
    """Base of MAE/MSE/RMSE: per pair ``_finish(mean(_elem(label - pred)))``; 1-D -> (N, 1)."""

    def __init__(self, name: str, output_names=None, label_names=None) -> None:
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    @staticmethod
    def _elem(diff, xp):
        raise NotImplementedError("pair metrics must implement _elem(diff, xp)")

    @staticmethod
    def _finish(value, xp):
        return value

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _to_numpy(label), _to_numpy(pred)
            if label.ndim == 1:
                label = label.reshape(label.shape[0], 1)
            if pred.ndim == 1:
                pred = pred.reshape(pred.shape[0], 1)
            value = float(self._finish(self._elem(label - pred, numpy).mean(), numpy))
            self.sum_metric += value
            self.global_sum_metric += value
            self.num_inst += 1
            self.global_num_inst += 1

    def device_update(self, state, labels, preds, mask=None):
        jnp = _jnp()
        labels, preds = _device_pairs(labels, preds, self.name)
        total, num = state["sum"], state["num"]
        for label, pred in zip(labels, preds):
            if label.ndim == 1:
                label = label.reshape(label.shape[0], 1)
            if pred.ndim == 1:
                pred = pred.reshape(pred.shape[0], 1)
            diff = label - pred
            valid = _row_mask(mask, diff.shape, self.name)
            count = jnp.sum(valid, dtype="int32")
            mean = jnp.sum(jnp.where(valid, self._elem(diff, jnp), 0.0)) / jnp.maximum(count, 1)
            used = count > 0
            total = total + jnp.where(used, self._finish(mean, jnp), 0.0).astype("float32")
            num = num + used.astype("int32")
        return {"sum": total, "num": num}


class MAE(_PairMeanMetric):
    """Mean absolute error, averaged per update pair. Shapes: label/pred (batch, ...)."""

    def __init__(self, name: str = "mae", output_names=None, label_names=None) -> None:
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _elem(diff, xp):
        return xp.abs(diff)


class MSE(_PairMeanMetric):
    """Mean squared error, averaged per update pair. Shapes: label/pred (batch, ...)."""

    def __init__(self, name: str = "mse", output_names=None, label_names=None) -> None:
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _elem(diff, xp):
        return diff ** 2.0


class RMSE(_PairMeanMetric):
    """Root mean squared error per update pair, averaged over pairs (not sqrt of the mean)."""

    def __init__(self, name: str = "rmse", output_names=None, label_names=None) -> None:
        super().__init__(name, output_names, label_names)

    @staticmethod
    def _elem(diff, xp):
        return diff ** 2.0

    @staticmethod
    def _finish(value, xp):
        return xp.sqrt(value)


for _cls in (MAE, MSE, RMSE):
    register(_cls)


class _ProbMetric(EvalMetric):
    """Base of CrossEntropy/NLL: sum of -log(pred[i, label[i]] + eps) over samples."""

    def __init__(self, eps: float, name: str, output_names=None, label_names=None) -> None:
        super().__init__(name, eps=eps, output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self.eps = eps

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            label, pred = _to_numpy(label).ravel(), _to_numpy(pred)
            if label.shape[0] != pred.shape[0]:
                raise ShapeError(f"{self.name}: {label.shape[0]} labels for {pred.shape[0]} "
                                 "prediction rows.")
            prob = pred[numpy.arange(label.shape[0]), numpy.int64(label)]
            value = float((-numpy.log(prob + self.eps)).sum())
            self.sum_metric += value
            self.global_sum_metric += value
            self.num_inst += label.shape[0]
            self.global_num_inst += label.shape[0]

    def device_update(self, state, labels, preds, mask=None):
        jnp = _jnp()
        labels, preds = _device_pairs(labels, preds, self.name)
        total, num = state["sum"], state["num"]
        for label, pred in zip(labels, preds):
            valid = _row_mask(mask, label.shape, self.name).ravel()
            label = label.ravel()
            if pred.ndim != 2 or label.shape[0] != pred.shape[0]:
                raise ShapeError(f"{self.name}: needs preds (batch, classes) and batch labels, "
                                 f"received preds {pred.shape} and labels {label.shape}.")
            prob = jnp.take_along_axis(pred, label.astype("int32")[:, None], axis=1)[:, 0]
            total = total + jnp.sum(jnp.where(valid, -jnp.log(prob + self.eps), 0.0))
            num = num + jnp.sum(valid, dtype="int32")
        return {"sum": total, "num": num}


@alias("ce")
class CrossEntropy(_ProbMetric):
    """Mean of -log(pred[i, label[i]] + eps). Shapes: label (batch,), pred (batch, classes)."""

    def __init__(self, eps: float = 1e-12, name: str = "cross-entropy",
                 output_names=None, label_names=None) -> None:
        super().__init__(eps, name, output_names, label_names)


register(CrossEntropy)


@alias("nll_loss")
class NegativeLogLikelihood(_ProbMetric):
    """Same numbers as CrossEntropy, named ``nll-loss``."""

    def __init__(self, eps: float = 1e-12, name: str = "nll-loss",
                 output_names=None, label_names=None) -> None:
        super().__init__(eps, name, output_names, label_names)


register(NegativeLogLikelihood)


@alias("pearsonr")
class PearsonCorrelation(EvalMetric):
    """Pearson correlation of label and pred.

    Args:
        average: ``'macro'`` = mean of per-pair coefficients (device capable); ``'micro'`` =
            MXNet's streaming estimate over all samples (host only).
    """

    def __init__(self, name: str = "pearsonr", output_names=None, label_names=None,
                 average: str = "macro") -> None:
        if average not in ("macro", "micro"):
            raise ParamError(f"PearsonCorrelation: average must be 'macro' or 'micro', "
                             f"received {average!r}.")
        self.average = average
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    @property
    def device_capable(self) -> bool:  # type: ignore[override]
        return self.average == "macro"

    def _reset_micro(self) -> None:
        self._sse_p = self._mean_p = self._sse_l = self._mean_l = 0
        self._pred_nums = self._label_nums = 0
        self._conv = 0

    def reset(self) -> None:
        super().reset()
        if self.average == "micro":
            self._reset_micro()

    @staticmethod
    def _update_variance(values, count, mean, m_2):
        count += len(values)
        delta = values - mean
        mean += numpy.sum(delta / count)
        delta_2 = values - mean
        m_2 += numpy.sum(delta * delta_2)
        return count, mean, m_2

    def update(self, labels: Any, preds: Any) -> None:
        labels, preds = check_label_shapes(labels, preds, True)
        for label, pred in zip(labels, preds):
            check_label_shapes(label, pred, False, True)
            label = _to_numpy(label).ravel().astype(numpy.float64)
            pred = _to_numpy(pred).ravel().astype(numpy.float64)
            self.num_inst += 1
            self.global_num_inst += 1
            if self.average == "macro":
                corr = float(numpy.corrcoef(pred, label)[0, 1])
                self.sum_metric += corr
                self.global_sum_metric += corr
            else:
                # MXNet compat: the covariance term mixes the updated label mean with the
                # previous pred mean.
                self._label_nums, self._mean_l, self._sse_l = self._update_variance(
                    label, self._label_nums, self._mean_l, self._sse_l)
                self._conv = self._conv + numpy.sum((label - self._mean_l) *
                                                    (pred - self._mean_p))
                self._pred_nums, self._mean_p, self._sse_p = self._update_variance(
                    pred, self._pred_nums, self._mean_p, self._sse_p)

    def get(self) -> Tuple[str, float]:
        if self.num_inst == 0:
            return (self.name, float("nan"))
        if self.average == "macro":
            return (self.name, self.sum_metric / self.num_inst)
        n = self._label_nums
        value = self._conv / ((n - 1) * numpy.sqrt(self._sse_p / (n - 1)) *
                              numpy.sqrt(self._sse_l / (n - 1)))
        return (self.name, float(value))

    def device_init(self) -> Dict[str, Any]:
        if not self.device_capable:
            raise self._not_on_device()
        return _zeros_sum_num()

    def device_update(self, state, labels, preds, mask=None):
        if not self.device_capable:
            raise self._not_on_device()
        jnp = _jnp()
        labels, preds = _device_pairs(labels, preds, self.name)
        total, num = state["sum"], state["num"]
        for label, pred in zip(labels, preds):
            check_label_shapes(label, pred, False, True)
            valid = _row_mask(mask, label.shape, self.name).ravel()
            x = pred.ravel().astype("float32")
            y = label.ravel().astype("float32")
            count = jnp.maximum(jnp.sum(valid, dtype="int32"), 1)
            dx = jnp.where(valid, x - jnp.sum(jnp.where(valid, x, 0.0)) / count, 0.0)
            dy = jnp.where(valid, y - jnp.sum(jnp.where(valid, y, 0.0)) / count, 0.0)
            corr = jnp.sum(dx * dy) / jnp.sqrt(jnp.sum(dx * dx) * jnp.sum(dy * dy))
            used = jnp.any(valid)
            total = total + jnp.where(used, jnp.clip(corr, -1.0, 1.0), 0.0)
            num = num + used.astype("int32")
        return {"sum": total, "num": num}


register(PearsonCorrelation)


class Loss(EvalMetric):
    """Mean of the output values (for ``MakeLoss`` heads); labels are ignored.

    Outputs whose leading axis is not batch-major (e.g. an already-summed (1,) loss) cannot be
    masked on device and are counted whole.
    """

    def __init__(self, name: str = "loss", output_names=None, label_names=None) -> None:
        super().__init__(name, output_names=output_names, label_names=label_names,
                         has_global_stats=True)

    def update(self, _: Any, preds: Any) -> None:
        for pred in _as_list(preds):
            pred = _to_numpy(pred)
            value = float(numpy.sum(pred))
            self.sum_metric += value
            self.global_sum_metric += value
            self.num_inst += pred.size
            self.global_num_inst += pred.size

    def device_update(self, state, labels, preds, mask=None):
        jnp = _jnp()
        total, num = state["sum"], state["num"]
        for pred in _as_list(preds):
            pred = _to_jax(pred)
            maskable = (mask is not None and pred.ndim > 0
                        and pred.shape[0] % jnp.shape(mask)[0] == 0)
            valid = _row_mask(mask if maskable else None, pred.shape, self.name)
            total = total + jnp.sum(jnp.where(valid, pred, 0.0)).astype("float32")
            num = num + jnp.sum(valid, dtype="int32")
        return {"sum": total, "num": num}


register(Loss)


class Torch(Loss):
    """Legacy alias of :class:`Loss` named ``torch``."""

    def __init__(self, name: str = "torch", output_names=None, label_names=None) -> None:
        super().__init__(name, output_names=output_names, label_names=label_names)


class Caffe(Loss):
    """Legacy alias of :class:`Loss` named ``caffe``."""

    def __init__(self, name: str = "caffe", output_names=None, label_names=None) -> None:
        super().__init__(name, output_names=output_names, label_names=label_names)


register(Torch)
register(Caffe)


class CustomMetric(EvalMetric):
    """A metric from ``feval(label: numpy, pred: numpy) -> value | (sum, count)``; host only.

    ``device_capable`` is False: the trainer must update it on host with pad rows removed.

    Args:
        feval: called once per (label, pred) pair with numpy arrays.
        name: display name (default ``feval.__name__``; lambdas -> ``custom(<lambda>)``).
        allow_extra_outputs: skip the labels/preds length check.
    """

    device_capable = False

    def __init__(self, feval: Callable, name: Optional[str] = None,
                 allow_extra_outputs: bool = False, output_names=None, label_names=None) -> None:
        if name is None:
            name = getattr(feval, "__name__", type(feval).__name__)
            if "<" in name:
                name = "custom(%s)" % name
        super().__init__(name, feval=feval, allow_extra_outputs=allow_extra_outputs,
                         output_names=output_names, label_names=label_names,
                         has_global_stats=True)
        self._feval = feval
        self._allow_extra_outputs = allow_extra_outputs

    def update(self, labels: Any, preds: Any) -> None:
        if self._allow_extra_outputs:
            labels, preds = _as_list(labels), _as_list(preds)
        else:
            labels, preds = check_label_shapes(labels, preds, True)
        for pred, label in zip(preds, labels):
            reval = self._feval(_to_numpy(label), _to_numpy(pred))
            if isinstance(reval, tuple):
                sum_metric, num_inst = reval
            else:
                sum_metric, num_inst = reval, 1
            self.sum_metric += sum_metric
            self.global_sum_metric += sum_metric
            self.num_inst += num_inst
            self.global_num_inst += num_inst

    def get_config(self) -> Dict[str, Any]:
        raise NotImplementedError("CustomMetric cannot be serialized")


register(CustomMetric)


def np(numpy_feval: Callable, name: Optional[str] = None,
       allow_extra_outputs: bool = False) -> CustomMetric:
    """Wrap ``numpy_feval(label, pred)`` into a :class:`CustomMetric` (host only).

    Example:
        >>> m = np(lambda l, p: float(abs(l - p).mean())); m.name
        'custom(<lambda>)'
    """
    def feval(label, pred):
        return numpy_feval(label, pred)
    feval.__name__ = numpy_feval.__name__
    return CustomMetric(feval, name, allow_extra_outputs)
