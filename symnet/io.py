"""Data iterators with MXNet 1.9.1's semantics: DataDesc, DataBatch, DataIter, NDArrayIter,
MNISTIter, ResizeIter, PrefetchingIter.

Fast path for training loops: :class:`NDArrayIter` and :class:`MNISTIter` keep their whole data
set on the device (``data_arrays`` / ``label_arrays``, original sample order) and
:meth:`NDArrayIter.epoch_indices` returns the sample indices of every remaining batch of the
epoch, so a jitted step can gather each batch on the device (``jnp.take(x, idx, axis=0)``)
instead of receiving host copies. The batches are exactly those ``next()`` would produce,
pad rows and ``roll_over`` carry-over included.
"""
from __future__ import annotations

import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .base import FormatError, ParamError, ShapeError, SymnetError
from .ndarray import NDArray, array

__all__ = ["DataDesc", "DataBatch", "DataIter", "NDArrayIter", "MNISTIter", "CSVIter",
           "ResizeIter", "PrefetchingIter"]

_LAST_BATCH_MODES = ("pad", "discard", "roll_over")


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one input; compares equal to ``(name, shape)``.

    Example:
        >>> DataDesc('data', (2, 3)) == ('data', (2, 3))
        True
    """

    def __new__(cls, name: str, shape: Sequence[int], dtype: Any = np.float32,
                layout: str = "NCHW") -> "DataDesc":
        ret = super().__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self) -> str:
        return f"DataDesc[{self.name},{self.shape},{self.dtype},{self.layout}]"

    @staticmethod
    def get_batch_axis(layout: Optional[str]) -> int:
        """Index of ``'N'`` in ``layout`` (0 when layout is None, -1 when absent)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes: Sequence[Tuple[str, Sequence[int]]],
                 types: Optional[Sequence[Tuple[str, Any]]]) -> List["DataDesc"]:
        """Build DataDescs from ``[(name, shape)]`` and optional ``[(name, dtype)]``."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(x[0], x[1], type_dict[x[0]]) for x in shapes]
        return [DataDesc(x[0], x[1]) for x in shapes]


class DataBatch:
    """One batch: lists of data and label NDArrays, plus pad/index/bucket information.

    Args:
        data: list of NDArrays, each (batch_size, ...).
        label: list of NDArrays or None.
        pad: number of padding examples at the end of the batch.
        index: sample indices of the batch (numpy) or None.
    """

    def __init__(self, data: Optional[List[NDArray]], label: Optional[List[NDArray]] = None,
                 pad: Optional[int] = None, index: Any = None, bucket_key: Any = None,
                 provide_data: Optional[List[DataDesc]] = None,
                 provide_label: Optional[List[DataDesc]] = None):
        if data is not None and not isinstance(data, (list, tuple)):
            raise TypeError(f"DataBatch: data must be a list of NDArrays, got "
                            f"{type(data).__name__}. Wrap it: DataBatch([x]).")
        if label is not None and not isinstance(label, (list, tuple)):
            raise TypeError(f"DataBatch: label must be a list of NDArrays, got "
                            f"{type(label).__name__}. Wrap it: DataBatch([x], [y]).")
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self) -> str:
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lab.shape for lab in self.label] if self.label else None
        return f"{type(self).__name__}: data shapes: {data_shapes} label shapes: {label_shapes}"


class DataIter:
    """Base class of data iterators (Python iterator protocol plus MXNet's methods)."""

    def __init__(self, batch_size: int = 0):
        self.batch_size = batch_size

    def __iter__(self) -> "DataIter":
        return self

    def reset(self) -> None:
        """Go back to the beginning of the data."""

    def next(self) -> DataBatch:
        """Return the next batch or raise StopIteration."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(), pad=self.getpad(),
                             index=self.getindex())
        raise StopIteration

    def __next__(self) -> DataBatch:
        return self.next()

    def iter_next(self) -> bool:
        """Move to the next batch; return whether there is one."""
        return False

    def getdata(self) -> Optional[List[NDArray]]:
        """Data of the current batch."""
        return None

    def getlabel(self) -> Optional[List[NDArray]]:
        """Label of the current batch."""
        return None

    def getindex(self) -> Any:
        """Sample indices of the current batch (None when unknown)."""
        return None

    def getpad(self) -> Optional[int]:
        """Number of padding examples in the current batch."""
        return None


def _init_data(data: Any, allow_empty: bool, default_name: str, what: str
               ) -> List[Tuple[str, NDArray]]:
    """Canonicalise data/label into a name-sorted list of (name, NDArray)."""
    if data is None:
        if not allow_empty:
            raise ParamError(f"NDArrayIter: {what} is None; expected an array, a list of arrays "
                             f"or a dict name -> array.")
        data = []
    if isinstance(data, (np.ndarray, NDArray)) or hasattr(data, "__array__") and \
            not isinstance(data, (list, tuple, dict)):
        data = [data]
    if isinstance(data, tuple):
        data = list(data)
    if isinstance(data, list):
        if not data and not allow_empty:
            raise ParamError(f"NDArrayIter: {what} is an empty list; give at least one array.")
        if len(data) == 1:
            data = {default_name: data[0]}
        else:
            # MXNet compat: several unnamed inputs are called _0_data, _1_data, ...
            data = {f"_{i}_{default_name}": d for i, d in enumerate(data)}
    if not isinstance(data, dict):
        raise TypeError(f"NDArrayIter: {what} must be an NDArray, numpy array, a list of them or "
                        f"a dict with them as values; got {type(data).__name__}.")
    if not data and not allow_empty:
        raise ParamError(f"NDArrayIter: {what} is an empty dict; give at least one array.")
    out = {}
    for key, val in data.items():
        if isinstance(val, NDArray):
            out[key] = val
            continue
        try:
            # MXNet compat: numpy inputs (also float64/int labels) become float32 NDArrays.
            out[key] = array(val)
        except (TypeError, ValueError) as err:
            raise TypeError(f"NDArrayIter: invalid type {type(val).__name__} for {what} "
                            f"{key!r}; should be NDArray or numpy.ndarray ({err}).") from None
    # MXNet compat: sources are ordered by name, whatever the dict/list order.
    return sorted(out.items())


class NDArrayIter(DataIter):
    """Iterate over in-memory arrays in batches (MXNet's ``mx.io.NDArrayIter``).

    Args:
        data: array, NDArray, list of them (named ``_0_data``, ``_1_data``, ...) or dict
            name -> array. Each (num_data, ...) with the batch axis given by ``layout``.
        label: same forms as data, or None.
        batch_size: samples per batch (> 0).
        shuffle: shuffle with the global numpy RNG (``np.random.shuffle``) on every reset, as
            MXNet does (seed it with ``np.random.seed``).
        last_batch_handle: ``'pad'`` (fill the last batch from the start, report ``pad``),
            ``'discard'`` (drop it) or ``'roll_over'`` (carry the rest into the next epoch).
        data_name / label_name: names used for a single unnamed input.
        layout: layout string; the batch axis is the position of ``'N'``.

    Example:
        >>> it = NDArrayIter(np.arange(10).reshape(10, 1), np.arange(10), batch_size=4)
        >>> [b.pad for b in it]
        [0, 0, 2]
    """

    def __init__(self, data: Any, label: Any = None, batch_size: int = 1, shuffle: bool = False,
                 last_batch_handle: str = "pad", data_name: str = "data",
                 label_name: str = "softmax_label", layout: str = "NCHW"):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size <= 0:
            raise ParamError(f"NDArrayIter: batch_size must be a positive integer, got "
                             f"{batch_size!r}.")
        if last_batch_handle not in _LAST_BATCH_MODES:
            raise ParamError(f"NDArrayIter: last_batch_handle must be one of "
                             f"{_LAST_BATCH_MODES}, got {last_batch_handle!r}.")
        if not isinstance(layout, str) or "N" not in layout:
            raise ParamError(f"NDArrayIter: layout {layout!r} has no batch axis 'N' "
                             f"(e.g. 'NCHW' or 'NTC').")
        super().__init__(int(batch_size))
        self.data = _init_data(data, False, data_name, "data")
        self.label = _init_data(label, True, label_name, "label")
        self.layout = layout
        self._axis = layout.find("N")
        lengths = {}
        for name, arr in self.data + self.label:
            if arr.ndim <= self._axis:
                raise ShapeError(f"NDArrayIter: {name!r} has shape {arr.shape}, which has no "
                                 f"batch axis {self._axis} for layout {layout!r}.")
            lengths[name] = arr.shape[self._axis]
        if len(set(lengths.values())) != 1:
            raise ShapeError(f"NDArrayIter: data and label must have the same number of samples "
                             f"along the batch axis; got {lengths}.")
        self.num_data = int(next(iter(lengths.values())))
        if self.num_data == 0:
            raise ShapeError(f"NDArrayIter: the data is empty (0 samples, shapes "
                             f"{[a.shape for _, a in self.data]}); give at least one sample.")
        self.shuffle = bool(shuffle)
        self.last_batch_handle = last_batch_handle
        # MXNet compat: idx is shuffled in place every reset and the (already shuffled) data is
        # re-indexed by it, so the sample order is the running composition of permutations.
        self.idx = np.arange(self.num_data)
        self._order = np.arange(self.num_data)
        self.cursor = -self.batch_size
        self._cache_data: Optional[np.ndarray] = None
        self._cache_label: Optional[np.ndarray] = None
        self.reset()
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)

    # ------------------------------------------------------------------ description
    def _descs(self, sources: List[Tuple[str, NDArray]]) -> List[DataDesc]:
        out = []
        for name, arr in sources:
            shape = list(arr.shape)
            shape[self._axis] = self.batch_size
            out.append(DataDesc(name, tuple(shape), arr.dtype, layout=self.layout))
        return out

    @property
    def provide_data(self) -> List[DataDesc]:
        """[DataDesc(name, (batch_size,) + sample shape)] for each data input."""
        return self._descs(self.data)

    @property
    def provide_label(self) -> List[DataDesc]:
        """Same for labels ([] without labels)."""
        return self._descs(self.label)

    @property
    def data_arrays(self) -> List[Tuple[str, Any]]:
        """[(name, jax.Array)] of the full data in the original sample order (fast path)."""
        return [(k, v._data) for k, v in self.data]

    @property
    def label_arrays(self) -> List[Tuple[str, Any]]:
        """[(name, jax.Array)] of the full labels in the original sample order (fast path)."""
        return [(k, v._data) for k, v in self.label]

    # ------------------------------------------------------------------ state machine
    def _shuffle_data(self) -> None:
        np.random.shuffle(self.idx)
        self._order = self._order[self.idx]

    def hard_reset(self) -> None:
        """Reset and drop any roll_over carry-over."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._cache_data = None
        self._cache_label = None

    def reset(self) -> None:
        """Start a new epoch (reshuffles when ``shuffle``; keeps roll_over carry-over)."""
        if self.shuffle:
            self._shuffle_data()
        if self.last_batch_handle == "roll_over" and \
                self.num_data - self.batch_size < self.cursor < self.num_data:
            # MXNet compat: the carried-over samples start the next epoch's first batch.
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size

    def iter_next(self) -> bool:
        """Advance the cursor by batch_size; return whether a batch starts there."""
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def _take(self, start: int, stop: int) -> np.ndarray:
        """Order positions [start, stop), wrapping around when stop exceeds the data."""
        if stop <= self.num_data:
            return self._order[start:stop]
        # MXNet 1.9.1 fails here (roll_over with num_data < batch_size); symnet wraps around.
        return self._order[np.arange(start, stop) % self.num_data]

    def _batch_indices(self) -> np.ndarray:
        """Original-sample indices of the current batch (MXNet's ``_batchify``)."""
        n, bs, cur = self.num_data, self.batch_size, self.cursor
        if cur >= n:
            raise SymnetError("NDArrayIter: the iterator is exhausted; call reset() first.")
        if self.last_batch_handle == "roll_over" and -bs < cur < 0:
            cache = self._cache_data if self._cache_data is not None else self._cache_label
            if cache is None:
                raise SymnetError("NDArrayIter(roll_over): the next epoch has no cached "
                                  "samples; call hard_reset() to restart from the beginning.")
            second = self._take(0, cur + bs)
            if self._cache_data is not None:
                self._cache_data = None
            else:
                self._cache_label = None
            return np.concatenate([cache, second])
        if self.last_batch_handle == "pad" and cur + bs > n:
            pad = bs - n + cur
            first = self._order[cur:]
            if pad > n:
                parts = [first] + [self._order] * (pad // n) + [self._order[:pad % n]]
                return np.concatenate(parts)
            return np.concatenate([first, self._order[:pad]])
        return self._order[cur:min(cur + bs, n)]

    def getpad(self) -> int:
        """Pad count of the current batch (MXNet's rules for pad and roll_over)."""
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _next_indices(self) -> Tuple[np.ndarray, int]:
        """Advance one batch; return (indices, pad) or raise StopIteration (as ``next``)."""
        if not self.iter_next():
            raise StopIteration
        data_idx = self._batch_indices()
        label_idx = self._batch_indices()
        if len(data_idx) != self.batch_size:
            # incomplete last batch: remembered for roll_over, dropped otherwise
            self._cache_data = data_idx
            self._cache_label = label_idx
            raise StopIteration
        return data_idx, self.getpad()

    def _gather(self, sources: List[Tuple[str, NDArray]], idx: np.ndarray) -> List[NDArray]:
        import jax.numpy as jnp

        out = []
        contiguous = len(idx) > 0 and idx[-1] - idx[0] == len(idx) - 1 and \
            bool(np.all(np.diff(idx) == 1))
        for _, arr in sources:
            src = arr._data
            if contiguous:
                sl = [slice(None)] * arr.ndim
                sl[self._axis] = slice(int(idx[0]), int(idx[-1]) + 1)
                val = src[tuple(sl)]
            elif isinstance(src, np.ndarray):
                val = np.take(src, idx, axis=self._axis)
            else:
                val = jnp.take(src, jnp.asarray(idx, dtype=jnp.int32), axis=self._axis)
            out.append(NDArray(val) if not isinstance(val, np.ndarray)
                       else array(val, ctx=arr.context, dtype=arr.dtype))
        return out

    def next(self) -> DataBatch:
        """Return the next batch (data/label NDArrays with batch_size samples)."""
        idx, pad = self._next_indices()
        return DataBatch(data=self._gather(self.data, idx), label=self._gather(self.label, idx),
                         pad=pad, index=None)

    def getdata(self) -> List[NDArray]:
        """Data of the current batch (call after ``iter_next``)."""
        return self._gather(self.data, self._batch_indices())

    def getlabel(self) -> List[NDArray]:
        """Label of the current batch (call after ``iter_next``)."""
        return self._gather(self.label, self._batch_indices())

    def epoch_indices(self) -> Tuple[np.ndarray, np.ndarray]:
        """Consume the rest of the epoch and return its batches as sample indices (fast path).

        Equivalent to calling ``next()`` until StopIteration (the iterator ends in the same
        state, roll_over carry-over included), without materialising any batch. Batch ``b``
        equals ``[jnp.take(x, indices[b], axis=batch_axis) for _, x in data_arrays]``.

        Returns:
            indices: int32 (num_batches, batch_size), indices into ``data_arrays`` rows.
            pads: int32 (num_batches,), the ``pad`` each batch reports. For ``'pad'`` the last
                ``pad`` rows repeat earlier samples; for ``'roll_over'`` MXNet reports the
                number of carried-over rows (at the *start* of the batch).
        """
        rows: List[np.ndarray] = []
        pads: List[int] = []
        bs, n = self.batch_size, self.num_data
        while True:
            start = self.cursor + bs
            whole = (n - start) // bs if start >= 0 else 0
            if whole > 0:
                # Batches lying wholly inside the data, at once: what ``_next_indices`` returns
                # for each of them (no pad, no carry-over), without a Python loop per batch.
                rows.append(self._order[start:start + whole * bs].reshape(whole, bs))
                pads.extend([0] * whole)
                self.cursor = start + (whole - 1) * bs
            try:
                idx, pad = self._next_indices()
            except StopIteration:
                break
            rows.append(idx.reshape(1, bs))
            pads.append(pad)
        indices = (np.concatenate(rows).astype(np.int32, copy=False) if rows
                   else np.zeros((0, bs), np.int32))
        return indices, np.asarray(pads, dtype=np.int32)


# ---------------------------------------------------------------------- MNISTIter
class _MT19937:
    """32-bit Mersenne Twister outputs (same stream as C++ ``std::mt19937(seed)``)."""

    def __init__(self, seed: int):
        self._rs = np.random.RandomState(seed & 0xFFFFFFFF)
        self._buf: List[int] = []

    def __call__(self) -> int:
        if not self._buf:
            chunk = self._rs.randint(0, 2 ** 32, size=4096, dtype=np.uint32)
            self._buf = chunk.astype(np.int64).tolist()[::-1]
        return self._buf.pop()


def _mxnet_mnist_permutation(n: int, seed: int) -> np.ndarray:
    """The order MXNet's C++ MNISTIter gives its samples with ``shuffle=True``.

    MXNet calls ``std::shuffle(inst, std::mt19937(seed))``; the libstdc++ it was built with
    draws ``j`` uniform in [0, i] for i = 1..n-1 by rejection-and-divide ("downscaling") and
    swaps a[i], a[j]. Verified against MXNet 1.9.1 (tests/fixtures/io/mnistiter.json).
    """
    gen = _MT19937(seed)
    perm = list(range(n))
    max_u32 = 0xFFFFFFFF
    for i in range(1, n):
        urange = i + 1
        scaling = max_u32 // urange
        past = urange * scaling
        r = gen()
        while r >= past:
            r = gen()
        j = r // scaling
        perm[i], perm[j] = perm[j], perm[i]
    return np.asarray(perm, dtype=np.int64)


class MNISTIter(DataIter):
    """MXNet's MNISTIter over IDX files (gzipped or raw).

    Pixels are scaled by 1/256 (MXNet compat, not 1/255). The shuffle order equals MXNet's for
    the same ``seed``; it is drawn once, so every epoch has the same order. The incomplete last
    batch is dropped.

    Args:
        image: path of the images IDX file (N, 28, 28).
        label: path of the labels IDX file (N,).
        batch_size: samples per batch.
        shuffle: shuffle once at construction (MXNet's default True).
        flat: data (batch, 784) instead of (batch, 1, 28, 28).
        seed: shuffle seed.
        num_parts / part_index: use part ``part_index`` of ``num_parts`` equal slices.
        data_name / label_name: names for provide_data / provide_label.
    """

    def __init__(self, image: str = "./train-images-idx3-ubyte",
                 label: str = "./train-labels-idx1-ubyte", batch_size: int = 128,
                 shuffle: bool = True, flat: bool = False, seed: int = 0, silent: bool = False,
                 num_parts: int = 1, part_index: int = 0, data_name: str = "data",
                 label_name: str = "softmax_label", **kwargs: Any):
        from .datasets.mnist import read_idx

        if isinstance(batch_size, bool) or int(batch_size) <= 0:
            raise ParamError(f"MNISTIter: batch_size must be a positive integer, got "
                             f"{batch_size!r}.")
        if not 0 <= int(part_index) < int(num_parts):
            raise ParamError(f"MNISTIter: need 0 <= part_index < num_parts, got part_index="
                             f"{part_index}, num_parts={num_parts}.")
        super().__init__(int(batch_size))
        images = read_idx(image, ndim=3)
        labels = read_idx(label, ndim=1)
        if images.shape[0] != labels.shape[0]:
            raise FormatError(f"MNISTIter: {image} has {images.shape[0]} images but {label} has "
                              f"{labels.shape[0]} labels.")
        count = images.shape[0]
        nstep = count // int(num_parts)
        start = nstep * int(part_index)
        stop = start + nstep if int(part_index) != int(num_parts) - 1 else count
        images, labels = images[start:stop], labels[start:stop]
        if shuffle:
            perm = _mxnet_mnist_permutation(len(labels), int(seed))
            images, labels = images[perm], labels[perm]
            self._inst = perm + start
        else:
            self._inst = np.arange(start, stop)
        n = images.shape[0]
        if n < self.batch_size:
            raise ShapeError(f"MNISTIter: only {n} images in this part, fewer than batch_size "
                             f"{self.batch_size}; no batch can be formed.")
        rows, cols = images.shape[1:]
        shape = (n, rows * cols) if flat else (n, 1, rows, cols)
        # MXNet compat: MNISTIter normalises by 256, not 255.
        pixels = images.reshape(shape).astype(np.float32) * np.float32(1.0 / 256.0)
        self._data = array(pixels)
        self._label = array(labels.astype(np.float32))
        self.num_data = n
        self.num_batches = n // self.batch_size
        self.provide_data = [DataDesc(data_name, (self.batch_size,) + shape[1:], np.float32)]
        self.provide_label = [DataDesc(label_name, (self.batch_size,), np.float32)]
        self._names = (data_name, label_name)
        self._batch = -1

    @property
    def data_arrays(self) -> List[Tuple[str, Any]]:
        """[(name, jax.Array)] of all images in iteration order (fast path)."""
        return [(self._names[0], self._data._data)]

    @property
    def label_arrays(self) -> List[Tuple[str, Any]]:
        """[(name, jax.Array)] of all labels in iteration order (fast path)."""
        return [(self._names[1], self._label._data)]

    def reset(self) -> None:
        """Start again from the first batch (same order)."""
        self._batch = -1

    def iter_next(self) -> bool:
        """Advance; False once every full batch has been returned."""
        if self._batch + 1 >= self.num_batches:
            return False
        self._batch += 1
        return True

    def _slice(self, arr: NDArray) -> NDArray:
        lo = self._batch * self.batch_size
        return NDArray(arr._data[lo:lo + self.batch_size])

    def getdata(self) -> List[NDArray]:
        """Images of the current batch."""
        return [self._slice(self._data)]

    def getlabel(self) -> List[NDArray]:
        """Labels of the current batch."""
        return [self._slice(self._label)]

    def getpad(self) -> int:
        """Always 0 (incomplete batches are dropped)."""
        return 0

    def getindex(self) -> np.ndarray:
        """File positions (uint64) of the current batch's samples."""
        lo = self._batch * self.batch_size
        return self._inst[lo:lo + self.batch_size].astype(np.uint64)

    def epoch_indices(self) -> Tuple[np.ndarray, np.ndarray]:
        """Consume the rest of the epoch; return (indices (B, batch_size) int32, pads (B,))."""
        first = self._batch + 1
        self._batch = self.num_batches - 1
        count = self.num_batches - first
        idx = np.arange(first * self.batch_size, self.num_batches * self.batch_size,
                        dtype=np.int32).reshape(count, self.batch_size)
        return idx, np.zeros((count,), np.int32)


class CSVIter(DataIter):
    """MXNet's CSVIter: rows of comma-separated numbers, each reshaped to ``data_shape``.

    Labels come from ``label_csv`` (rows of ``label_shape``; (1,) gives (batch,) labels) or
    are zeros. With ``round_batch`` (the default) the last batch of an epoch is completed with
    rows from the beginning, its ``pad`` says how many, and the next epoch starts after them
    (MXNet's cursor). Without it the last batch's missing rows repeat the previous batch's, and
    ``pad`` counts them. Names are MXNet's ``data`` and ``softmax_label``.
    """

    def __init__(self, data_csv: str, data_shape: Sequence[int], label_csv: Optional[str] = None,
                 label_shape: Sequence[int] = (1,), batch_size: int = 1,
                 round_batch: bool = True, dtype: Any = None, **kwargs: Any):
        if isinstance(batch_size, bool) or int(batch_size) <= 0:
            raise ParamError(f"CSVIter: batch_size must be a positive integer, got "
                             f"{batch_size!r}.")
        super().__init__(int(batch_size))
        dtype = np.dtype(dtype or np.float32)
        self._data = self._read(data_csv, tuple(data_shape), dtype, "data_csv")
        n = self._data.shape[0]
        label_shape = tuple(label_shape)
        if label_csv is None:
            self._label = np.zeros((n,) + label_shape, np.float32)
        else:
            self._label = self._read(label_csv, label_shape, np.dtype(np.float32), "label_csv")
            if self._label.shape[0] != n:
                raise ShapeError(f"CSVIter: {label_csv} has {self._label.shape[0]} rows but "
                                 f"{data_csv} has {n}")
        if label_shape == (1,):
            self._label = self._label.reshape(n)
        self.num_data = n
        self.round_batch = bool(round_batch)
        self.provide_data = [DataDesc("data", (self.batch_size,) + tuple(data_shape),
                                      dtype.type)]
        self.provide_label = [DataDesc("softmax_label",
                                       (self.batch_size,) + self._label.shape[1:], np.float32)]
        self._start = 0      # where the next epoch begins (after rows a wrapped batch used)
        self._pos = 0
        self._rows = None    # row indices of the current batch
        self._pad = 0
        self._done = False

    @staticmethod
    def _read(path: str, shape: Tuple[int, ...], dtype: np.dtype, what: str) -> np.ndarray:
        rows = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
        size = int(np.prod(shape))
        if rows.shape[1] != size:
            raise ShapeError(f"CSVIter: {what} {path!r} has {rows.shape[1]} values per row, but "
                             f"shape {shape} needs {size}")
        return rows.reshape((rows.shape[0],) + shape).astype(dtype)

    def reset(self) -> None:
        """Start the next epoch (after the rows a wrapped last batch took, as MXNet)."""
        self._pos, self._rows, self._done = self._start, None, False

    def iter_next(self) -> bool:
        """Advance one batch; False at the end of the epoch."""
        n, b = self.num_data, self.batch_size
        if self._done:
            return False
        if self._pos >= n:  # ended on a full batch: the next epoch starts at row 0
            self._start = 0
            return False
        left = n - self._pos
        rows = np.arange(self._pos, self._pos + min(left, b))
        self._pad = b - len(rows)
        if self._pad:
            if self.round_batch:
                rows = np.concatenate([rows, np.arange(self._pad) % n])
                self._start = self._pad % n
            else:  # MXNet's buffer keeps the previous batch's rows in the missing places
                prev = self._rows if self._rows is not None else np.full(b, -1)
                rows = np.concatenate([rows, prev[len(rows):]])
                self._start = 0
            self._done = True
        self._rows = rows
        self._pos += b
        return True

    def _take(self, arr: np.ndarray) -> NDArray:
        rows = self._rows
        out = arr[np.maximum(rows, 0)]
        if (rows < 0).any():  # no previous batch to repeat: zeros
            out[rows < 0] = 0
        return array(out)

    def getdata(self) -> List[NDArray]:
        return [self._take(self._data)]

    def getlabel(self) -> List[NDArray]:
        return [self._take(self._label)]

    def getpad(self) -> int:
        return self._pad


# ---------------------------------------------------------------------- wrappers
class _BatchOfInner(DataIter):
    """An iterator whose current batch comes from inner iterators (the getters read it)."""

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class ResizeIter(_BatchOfInner):
    """Make an iterator yield exactly ``size`` batches per epoch (wrapping around as needed).

    Args:
        data_iter: the iterator to resize.
        size: batches per epoch.
        reset_internal: reset ``data_iter`` on each ``reset``.
    """

    def __init__(self, data_iter: DataIter, size: int, reset_internal: bool = True):
        super().__init__()
        self.data_iter = data_iter
        self.size = int(size)
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch: Optional[DataBatch] = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def reset(self) -> None:
        """Restart the count (and the inner iterator when ``reset_internal``)."""
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self) -> bool:
        """Fetch the next inner batch, resetting the inner iterator when it runs out."""
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True


class PrefetchingIter(_BatchOfInner):
    """Fetch the next batch of one or more iterators in a background thread.

    Batches of several iterators are joined (data lists and label lists concatenated).

    Args:
        iters: a DataIter or a list of them (same number of batches each).
        rename_data / rename_label: per-iterator dicts {old_name: new_name}.
    """

    def __init__(self, iters: Any, rename_data: Optional[List[Dict[str, str]]] = None,
                 rename_label: Optional[List[Dict[str, str]]] = None):
        super().__init__()
        if not isinstance(iters, list):
            iters = [iters]
        if not iters:
            raise ParamError("PrefetchingIter: needs at least one iterator.")
        self.n_iter = len(iters)
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.current_batch: Optional[DataBatch] = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="symnet-prefetch")
        self._lock = threading.Lock()
        self._future = self._pool.submit(self._fetch)

    def _fetch(self) -> List[Optional[DataBatch]]:
        out: List[Optional[DataBatch]] = []
        for it in self.iters:
            try:
                out.append(it.next())
            except StopIteration:
                out.append(None)
        return out

    @staticmethod
    def _rename(descs: List[Any], renames: Optional[List[Dict[str, str]]], i: int) -> List[Any]:
        if renames is None:
            return list(descs)
        return [DataDesc(renames[i][x.name], x.shape, x.dtype) if isinstance(x, DataDesc)
                else DataDesc(renames[i][x[0]], x[1]) for x in descs]

    @property
    def provide_data(self) -> List[DataDesc]:
        """Concatenated (and renamed) provide_data of the iterators."""
        return sum([self._rename(it.provide_data, self.rename_data, i)
                    for i, it in enumerate(self.iters)], [])

    @property
    def provide_label(self) -> List[DataDesc]:
        """Concatenated (and renamed) provide_label of the iterators."""
        return sum([self._rename(it.provide_label, self.rename_label, i)
                    for i, it in enumerate(self.iters)], [])

    def reset(self) -> None:
        """Wait for the pending fetch, reset every iterator and start prefetching again."""
        with self._lock:
            self._future.result()
            for it in self.iters:
                it.reset()
            self._future = self._pool.submit(self._fetch)

    def iter_next(self) -> bool:
        """Take the prefetched batches and start fetching the next ones."""
        with self._lock:
            batches = self._future.result()
            if batches[0] is None:
                if any(b is not None for b in batches):
                    raise SymnetError("PrefetchingIter: the iterators have different numbers "
                                      "of batches.")
                return False
            if any(b is None or b.pad != batches[0].pad for b in batches):
                raise SymnetError("PrefetchingIter: the iterators have different numbers of "
                                  "batches or pads.")
            self.current_batch = DataBatch(
                sum([list(b.data) for b in batches], []),
                sum([list(b.label or []) for b in batches], []),
                batches[0].pad, batches[0].index,
                provide_data=self.provide_data, provide_label=self.provide_label)
            self._future = self._pool.submit(self._fetch)
            return True

    def next(self) -> DataBatch:
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
