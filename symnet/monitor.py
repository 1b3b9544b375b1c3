"""``mx.mon.Monitor``: statistics of a graph's intermediate outputs, every ``interval`` batches.

An executor (``Executor``, or a bound Module's view) takes the monitor's collector through
``set_monitor_callback``. When the monitor is active for a batch, the executor runs the graph's
internals once more (one extra jitted call, the plain lowering, outputs named as in
``get_internals()``: ``fc1_output``) and hands each array to the collector; ``toc`` then adds the
arguments and auxiliary states (after the update, as in MXNet). Inactive batches cost nothing.

Differences from MXNet 1.9, both documented in ``Monitor``: the gradients of the backward pass
(``fc1_backward_output0``...) and the hidden outputs (BatchNorm's saved mean and variance) are
not reported.
"""
from __future__ import annotations

import logging
import math
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import jax

from .ndarray import NDArray
from .symbol.symbol import Symbol

__all__ = ["Monitor", "observe"]


def _default_stat(x: NDArray) -> NDArray:
    """``norm(x) / sqrt(x.size)``: MXNet's default statistic (shape (1,))."""
    from . import ndarray as nd
    return nd.norm(x) / math.sqrt(max(x.size, 1))


class _Collector:
    """The callback a Monitor installs: ``(name, NDArray)`` while the monitor is active."""

    def __init__(self, monitor: "Monitor") -> None:
        self._monitor = monitor

    @property
    def active(self) -> bool:
        return self._monitor.activated

    def __call__(self, name: str, array: NDArray) -> None:
        mon = self._monitor
        if mon.activated and mon.re_prog.match(name):
            mon.queue.append((mon.step, name, mon.stat_func(array)))


class Monitor:
    """Collect ``stat_func`` of the tensors whose names match ``pattern``.

    Args:
        interval: collect on every ``interval``-th batch (``tic`` counts batches).
        stat_func: ``NDArray -> NDArray`` (default ``norm(x)/sqrt(x.size)``).
        pattern: a regular expression matched (``re.match``) against tensor names, e.g.
            ``'.*weight|.*output'``.
        sort: sort the results by name.
        monitor_all: also report each operator's inputs, as ``<node>_<input>``
            (``fc1_data``, ``fc1_weight``).

    Unlike MXNet 1.9, the backward pass's gradients and hidden outputs are not reported.

    Example:
        >>> mon = mx.mon.Monitor(100, pattern='.*output')
        >>> mod.fit(train_iter, num_epoch=1, monitor=mon)
    """

    def __init__(self, interval: int, stat_func: Optional[Callable] = None,
                 pattern: str = ".*", sort: bool = False, monitor_all: bool = False) -> None:
        self.stat_func = stat_func if stat_func is not None else _default_stat
        self.interval = int(interval)
        self.activated = False
        self.queue: List[Tuple[int, str, Any]] = []
        self.step = 0
        self.exes: List[Any] = []
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all
        self.stat_helper = _Collector(self)

    def install(self, exe: Any) -> None:
        """Install on an executor (``Executor``, or what ``Module.install_monitor`` passes).
        Installing on the same one again (``fit`` twice with one monitor) changes nothing."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        if not any(e is exe for e in self.exes):
            self.exes.append(exe)

    def tic(self) -> None:
        """Start collecting for this batch if it is an ``interval``-th one (before forward)."""
        if self.step % self.interval == 0:
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self) -> List[Tuple[int, str, str]]:
        """End collecting: ``[(step, name, 'value\\t')]``, arguments and aux states included."""
        if not self.activated:
            return []
        for exe in self.exes:
            for group in (exe.arg_dict, exe.aux_dict):
                for name, array in group.items():
                    if array is not None and self.re_prog.match(name):
                        self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        if self.sort:
            self.queue.sort(key=lambda item: item[1])
        res = []
        for step, name, values in self.queue:
            text = ""
            for v in values if isinstance(values, list) else [values]:
                if not isinstance(v, NDArray):
                    raise TypeError(f"Monitor: stat_func returned {type(v).__name__} for "
                                    f"{name!r}; it must return an NDArray (or a list of them)")
                text += (str(v.asscalar()) if v.shape == (1,) else str(v.asnumpy())) + "\t"
            res.append((step, name, text))
        self.queue = []
        return res

    def toc_print(self) -> None:
        """End collecting and log the results (``Batch: <step> <name> <value>``)."""
        for step, name, text in self.toc():
            logging.info("Batch: {:7d} {:30s} {:s}".format(step, name, text))


def _monitor_graph(symbol: Symbol, backend: str):
    """(the plain lowering of every op node's outputs, the op nodes in order)."""
    key = ("monitor", backend)
    hit = symbol._cache.get(key)
    if hit is None:
        from .compiler import compile_symbol
        nodes = [n for n in symbol._topo() if n.op is not None]
        group = Symbol([(n, i) for n in nodes for i in range(n.num_visible)])
        hit = symbol._cache[key] = (compile_symbol(group, optimize="none", backend=backend),
                                    nodes)
    return hit


def observe(callback: Any, monitor_all: bool, symbol: Symbol, args: Dict[str, jax.Array],
            aux: Dict[str, jax.Array], rng: Optional[jax.Array], is_train: bool,
            backend: Optional[str] = None) -> None:
    """Hand ``callback`` every op output of ``symbol`` on these inputs (and, with
    ``monitor_all``, each op's inputs first), in execution order. A callback whose ``active``
    is False is skipped without running anything. Auxiliary states are not updated."""
    if callback is None or not getattr(callback, "active", True):
        return
    graph, nodes = _monitor_graph(symbol, backend or jax.default_backend())
    outs, _ = graph.forward_fn(is_train)({n: args[n] for n in graph.arg_names},
                                          {n: aux[n] for n in graph.aux_names}, rng)
    values: Dict[Tuple[int, int], Any] = {}
    k = 0
    for node in nodes:
        for i in range(node.num_visible):
            values[(id(node), i)] = outs[k]
            k += 1
    for node in nodes:
        if monitor_all:
            for slot, (src, idx) in zip(node.slot_names, node.inputs):
                value = (args.get(src.name, aux.get(src.name)) if src.op is None
                         else values.get((id(src), idx)))
                if value is not None:
                    callback(f"{node.name}_{slot}", NDArray(value))
        for i in range(node.num_visible):
            callback(node.output_name(i), NDArray(values[(id(node), i)]))


class SessionView:
    """A training session seen as an executor by a Monitor (``Module``, ``FeedForward``).

    ``arg_dict`` holds the current parameters and the last batch's inputs; ``aux_dict`` the
    auxiliary states. ``session`` is a callable returning the live ``trainer.Session``.
    """

    def __init__(self, session: Callable[[], Any], symbol: Symbol) -> None:
        self._session = session
        self._symbol = symbol
        self._callback: Any = None
        self._monitor_all = False
        self._inputs: Dict[str, jax.Array] = {}

    def set_monitor_callback(self, callback: Callable[[str, NDArray], None],
                             monitor_all: bool = False) -> None:
        self._callback, self._monitor_all = callback, monitor_all

    @property
    def active(self) -> bool:
        return self._callback is not None and getattr(self._callback, "active", True)

    @property
    def arg_dict(self) -> Dict[str, NDArray]:
        st = self._session().state
        values = {**st.params, **st.fixed, **self._inputs}
        return {n: NDArray(values[n]) for n in self._symbol.list_arguments() if n in values}

    @property
    def aux_dict(self) -> Dict[str, NDArray]:
        return {n: NDArray(v) for n, v in self._session().state.aux.items()}

    def observe(self, inputs: Dict[str, jax.Array], rng: Optional[jax.Array],
                is_train: bool) -> None:
        """Report the internals of a forward on ``inputs`` with the current state."""
        if not self.active:
            return
        session = self._session()
        self._inputs = dict(inputs)
        st = session.state
        observe(self._callback, self._monitor_all, self._symbol,
                {**st.params, **st.fixed, **inputs}, st.aux, rng, is_train,
                session.trainer.backend)

    def observe_batch(self, batch: Any) -> None:
        """``observe`` a training forward on a DataBatch (before its step runs)."""
        if self.active:
            from . import random as _random
            inputs, _ = self._session().inputs(batch)
            self.observe(inputs, _random.next_key(), True)
