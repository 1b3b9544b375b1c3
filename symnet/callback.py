"""Training callbacks with MXNet 1.9.1's behaviour and exact log lines (root ``logging`` logger).

Batch callbacks receive a :data:`BatchEndParam` ``(epoch, nbatch, eval_metric, locals)``; epoch
callbacks receive ``(epoch, symbol, arg_params, aux_params)``.

Device sync contract (symnet): before reading the clock, :class:`Speedometer` calls
``param.locals['block_until_ready']()`` when the trainer puts such a callable in ``locals``, and
``param.eval_metric.block_until_ready()`` when the metric has it (symnet metrics wait for their
stashed device state, i.e. for the step that produced it). Speeds therefore measure finished
work, not dispatch. Where several steps run per dispatch, that wait also finishes the later
batches of the same dispatch: ``param.locals['batches_ahead']`` counts them, and
:class:`Speedometer` adds the change of that count to the batches it times. Metric values are
read (one device->host copy) only on logging batches.

Metric side effects: as in MXNet, ``Speedometer(auto_reset=True)`` and
``log_train_metric(auto_reset=True)`` call ``eval_metric.reset_local()`` after logging, which
mutates the metric shared with the trainer. Only the *local* window is reset; the global
counters (``get_global_name_value()``), which the end-of-epoch ``Train-`` line reads, are left
alone, so epoch-level values are unaffected.
"""
from __future__ import annotations

import logging
import math
import time
from collections import namedtuple
from typing import Any, Callable

__all__ = ["BatchEndParam", "Speedometer", "ProgressBar", "LogValidationMetricsCallback",
           "do_checkpoint", "module_checkpoint", "log_train_metric"]

# MXNet compat: the namedtuple's type name is 'BatchEndParams' (mxnet.model.BatchEndParam).
BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])

SYNC_HOOK = "block_until_ready"


def _block_until_ready(param: Any) -> None:
    """Wait for the device work behind ``param`` (see the module docstring's contract)."""
    local_vars = getattr(param, "locals", None)
    if isinstance(local_vars, dict):
        hook = local_vars.get(SYNC_HOOK)
        if callable(hook):
            hook()
    hook = getattr(getattr(param, "eval_metric", None), SYNC_HOOK, None)
    if callable(hook):
        hook()


def _batches_ahead(param: Any) -> int:
    """Later batches whose device work finished with ``param``'s (0 unless the trainer says)."""
    local_vars = getattr(param, "locals", None)
    if isinstance(local_vars, dict):
        value = local_vars.get("batches_ahead", 0)
        if isinstance(value, int):
            return value
    return 0


def module_checkpoint(mod: Any, prefix: str, period: int = 1,
                      save_optimizer_states: bool = False) -> Callable:
    """Epoch-end callback: ``mod.save_checkpoint(prefix, epoch + 1, ...)`` every ``period``.

    Args:
        mod: a Module (anything with ``save_checkpoint(prefix, epoch, save_optimizer_states)``).
        prefix: file prefix.
        period: epochs between checkpoints (at least 1).
        save_optimizer_states: also save the optimizer states.
    """
    period = int(max(1, period))

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)
    return _callback


def do_checkpoint(prefix: str, period: int = 1) -> Callable:
    """Epoch-end callback saving ``prefix-symbol.json`` and ``prefix-%04d.params`` (epoch + 1).

    Example:
        >>> model.fit(X, epoch_end_callback=do_checkpoint('mymodel', 1))  # doctest: +SKIP
    """
    period = int(max(1, period))

    def _callback(iter_no, sym, arg, aux):
        if (iter_no + 1) % period == 0:
            from .model import save_checkpoint  # lazy: model imports this module
            save_checkpoint(prefix, iter_no + 1, sym, arg, aux)
    return _callback


def log_train_metric(period: int, auto_reset: bool = False) -> Callable:
    """Batch callback logging ``Iter[e] Batch[n] Train-<name>=<value>`` every ``period`` batches.

    Args:
        period: batches between logs.
        auto_reset: call ``eval_metric.reset_local()`` after logging (global values untouched).
    """
    def _callback(param):
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                logging.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch,
                             name, value)
            if auto_reset:
                param.eval_metric.reset_local()
    return _callback


class Speedometer:
    """Batch callback logging samples/sec and the metric every ``frequent`` batches.

    The first call (and any call whose ``nbatch`` is lower than the previous one, i.e. a new
    epoch) only starts the timer. The speed counts ``frequent`` batches, as MXNet's, corrected
    by the batches that finished ahead of their callbacks in symnet's multi-step dispatches
    (``locals['batches_ahead']``, see the module docstring). Log lines (MXNet 1.9.1)::

        Epoch[0] Batch [10-20]\\tSpeed: 123.45 samples/sec\\taccuracy=0.500000   (auto_reset)
        Epoch[0] Batch [0-20]\\tSpeed: 123.45 samples/sec\\taccuracy=0.500000    (no auto_reset)
        Iter[0] Batch [20]\\tSpeed: 123.45 samples/sec                          (no metric)

    Args:
        batch_size: samples per batch (used for the speed).
        frequent: batches between logs.
        auto_reset: ``reset_local()`` the metric after each log (global counters untouched).
    """

    def __init__(self, batch_size: int, frequent: int = 50, auto_reset: bool = True) -> None:
        self.batch_size = batch_size
        self.frequent = frequent
        self.init = False
        self.tic = 0
        self.last_count = 0
        self.auto_reset = auto_reset
        self.ahead = 0

    def __call__(self, param: Any) -> None:
        count = param.nbatch
        if self.last_count > count:
            self.init = False
        self.last_count = count

        if not self.init:
            _block_until_ready(param)
            self.init = True
            self.tic = time.time()
            self.ahead = _batches_ahead(param)
            return
        if count % self.frequent != 0:
            return
        _block_until_ready(param)
        ahead = _batches_ahead(param)
        try:
            speed = ((self.frequent + ahead - self.ahead) * self.batch_size
                     / (time.time() - self.tic))
        except ZeroDivisionError:
            speed = float("inf")
        self.ahead = ahead
        if param.eval_metric is not None:
            name_value = param.eval_metric.get_name_value()
            values = sum(name_value, ())
            if self.auto_reset:
                # MXNet compat: resets the shared metric's local window (see module docstring).
                param.eval_metric.reset_local()
                msg = "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(
                    name_value)
                logging.info(msg, param.epoch, count - self.frequent, count, speed, *values)
            else:
                msg = "Epoch[%d] Batch [0-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(
                    name_value)
                logging.info(msg, param.epoch, count, speed, *values)
        else:
            logging.info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec", param.epoch, count,
                         speed)
        self.tic = time.time()


class ProgressBar:
    """Batch callback logging ``[====----] 50%\\r`` (share of ``total`` batches done).

    Args:
        total: batches per epoch.
        length: characters in the bar.
    """

    def __init__(self, total: int, length: int = 80) -> None:
        self.bar_len = length
        self.total = total

    def __call__(self, param: Any) -> None:
        count = param.nbatch
        filled_len = int(round(self.bar_len * count / float(self.total)))
        percents = math.ceil(100.0 * count / float(self.total))
        prog_bar = "=" * filled_len + "-" * (self.bar_len - filled_len)
        logging.info("[%s] %s%s\r", prog_bar, percents, "%")


class LogValidationMetricsCallback:
    """Eval-end callback logging ``Epoch[e] Validation-<name>=<value>`` per metric."""

    def __call__(self, param: Any) -> None:
        if not param.eval_metric:
            return
        for name, value in param.eval_metric.get_name_value():
            logging.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)
