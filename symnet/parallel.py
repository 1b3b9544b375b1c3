"""Data-parallel training on JAX's own runtime: device meshes, placement, jax.distributed.

One compiled train step serves every layout. A :class:`Placement` decides where the step's
arrays live; XLA's SPMD partitioner inserts the gradient all-reduce (and, in the opt-in sharded
mode, the parameter all-gathers):

- :class:`SingleDevice`: nothing moves (one device, one process; the default).
- :class:`DataParallel`: a 1-D mesh with axis ``'data'`` over the devices of a ``ctx`` list (one
  process) or over every device of every process (``jax.distributed``). Batches are split along
  axis 0; parameters, auxiliary and optimizer state are replicated, or, with
  ``shard_min_bytes``, leaves of at least that size whose first axis divides evenly are sharded
  along axis 0 (ZeRO-3 / FSDP style: memory per device falls, XLA gathers them per step).

Many hosts: ``init_distributed`` joins a ``jax.distributed`` cluster described by environment
variables, JAX's own names first, MXNet's ``DMLC_*`` launcher names as fall-backs:

====================== ========================== ==========================================
JAX name               MXNet name                 meaning
====================== ========================== ==========================================
JAX_COORDINATOR_ADDRESS DMLC_PS_ROOT_URI +         ``host:port`` of process 0, which hosts the
                       ``:`` + DMLC_PS_ROOT_PORT  coordinator (MXNet's scheduler address)
JAX_NUM_PROCESSES      DMLC_NUM_WORKER            number of training processes
JAX_PROCESS_ID         DMLC_WORKER_ID             this process's rank, 0-based
====================== ========================== ==========================================

``DMLC_NUM_SERVER`` and ``DMLC_ROLE=server|scheduler`` have no counterpart: there is no parameter
server; every process is a worker and gradients are all-reduced inside the step. Failure
detection: ``SYMNET_DIST_HEARTBEAT_S`` (default 10) seconds without a heartbeat marks a process
dead and stops the others; ``SYMNET_DIST_INIT_TIMEOUT_S`` (default 120) bounds the wait for all
processes to join. A collective that fails because a peer died raises :class:`PeerLostError`.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, List, Optional, Protocol, Sequence, Tuple

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from .base import SymnetError

__all__ = ["Placement", "SingleDevice", "DataParallel", "PeerLostError", "make_mesh",
           "placement_for", "init_distributed", "is_distributed", "is_primary",
           "process_index", "process_count", "part", "check_work_load", "peer_failure",
           "DIST_KVSTORES", "ENV_MAP", "platform_of"]

#: kvstore names that mean "synchronous multi-process training".
DIST_KVSTORES = ("dist_sync", "dist_device_sync", "dist_sync_device", "dist")

#: JAX variable -> the MXNet (DMLC) variable read when the JAX one is unset.
ENV_MAP = {"JAX_COORDINATOR_ADDRESS": "DMLC_PS_ROOT_URI:DMLC_PS_ROOT_PORT",
           "JAX_NUM_PROCESSES": "DMLC_NUM_WORKER",
           "JAX_PROCESS_ID": "DMLC_WORKER_ID"}

AXIS = "data"


class PeerLostError(SymnetError, RuntimeError):
    """Another training process died or became unreachable; this one stops too."""


# ---- processes -----------------------------------------------------------------------------------

def is_distributed() -> bool:
    """Whether this process has joined a ``jax.distributed`` cluster."""
    from jax._src import distributed
    return distributed.global_state.client is not None


def process_index() -> int:
    """This process's rank (0 without jax.distributed)."""
    return jax.process_index() if is_distributed() else 0


def process_count() -> int:
    """Number of training processes (1 without jax.distributed)."""
    return jax.process_count() if is_distributed() else 1


def is_primary() -> bool:
    """True on the process that writes checkpoints and logs (rank 0)."""
    return process_index() == 0


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SymnetError(f"environment variable {name}={raw!r} is not an integer") from None


def _cluster_from_env() -> Optional[Tuple[str, int, int]]:
    """``(coordinator, num_processes, process_id)`` from the environment, or None if unset."""
    env = os.environ
    role = env.get("DMLC_ROLE", "worker")
    if role != "worker":
        raise SymnetError(
            f"DMLC_ROLE={role!r}: symnet has no parameter servers or scheduler; start only "
            "worker processes (process 0 hosts the coordinator). Unset DMLC_ROLE or set it to "
            "'worker'.")
    addr = env.get("JAX_COORDINATOR_ADDRESS")
    if not addr and env.get("DMLC_PS_ROOT_URI"):
        port = env.get("DMLC_PS_ROOT_PORT")
        if not port:
            raise SymnetError("DMLC_PS_ROOT_URI is set but DMLC_PS_ROOT_PORT is not; set both "
                              "(or JAX_COORDINATOR_ADDRESS=host:port)")
        addr = f"{env['DMLC_PS_ROOT_URI']}:{port}"
    num = env.get("JAX_NUM_PROCESSES") or env.get("DMLC_NUM_WORKER")
    pid = env.get("JAX_PROCESS_ID") or env.get("DMLC_WORKER_ID")
    given = {"coordinator address": addr, "number of processes": num, "process id": pid}
    if not any(given.values()):
        return None
    missing = [k for k, v in given.items() if not v]
    if missing:
        raise SymnetError(
            f"incomplete jax.distributed setup: {missing} not set (have "
            f"{ {k: v for k, v in given.items() if v} }); set JAX_COORDINATOR_ADDRESS=host:port, "
            "JAX_NUM_PROCESSES and JAX_PROCESS_ID on every process (or start them with "
            "`symnet launch -n N -- <command>`)")
    try:
        num_i, pid_i = int(num), int(pid)
    except ValueError:
        raise SymnetError(f"JAX_NUM_PROCESSES={num!r} and JAX_PROCESS_ID={pid!r} must be "
                          "integers") from None
    if not 0 <= pid_i < num_i:
        raise SymnetError(f"process id {pid_i} is outside 0..{num_i - 1} "
                          f"(JAX_NUM_PROCESSES={num_i})")
    return str(addr), num_i, pid_i


def init_distributed(kvstore_name: str = "dist_sync") -> Tuple[int, int]:
    """Join the jax.distributed cluster the environment describes; ``(rank, num_workers)``.

    Idempotent. Without any cluster variables this is a single-process run (rank 0 of 1), as
    MXNet's dist_sync is without a launcher. Must run before JAX starts its devices, i.e.
    before the first array exists: create the kvstore first, as MXNet scripts do
    (``kv = mx.kv.create('dist_sync')``), then the data iterators with
    ``num_parts=kv.num_workers, part_index=kv.rank``.

    Raises:
        SymnetError: ``dist_async`` was asked for, the variables are incomplete, or JAX's
            devices were already in use.
    """
    if kvstore_name == "dist_async" or "async" in str(kvstore_name):
        raise SymnetError(
            f"kvstore {kvstore_name!r} is not offered: symnet trains on JAX's synchronous runtime "
            "(XLA all-reduce inside the compiled step), which has no asynchronous parameter "
            "server whose workers push stale gradients. Use kvstore='dist_sync': every step "
            "then equals a single-process step on the combined batch.")
    if is_distributed():
        return jax.process_index(), jax.process_count()
    cluster = _cluster_from_env()
    if cluster is None or cluster[1] == 1:
        return 0, 1
    from jax._src import xla_bridge
    if xla_bridge.backends_are_initialized():
        raise SymnetError(
            f"kvstore {kvstore_name!r}: JAX's devices are already in use, so this process can no "
            "longer join the jax.distributed cluster. Call mx.kv.create('dist_sync') (or "
            "symnet.parallel.init_distributed()) at the start of the script, before creating "
            "any array or data iterator.")
    addr, num, pid = cluster
    jax.distributed.initialize(
        coordinator_address=addr, num_processes=num, process_id=pid,
        initialization_timeout=_env_int("SYMNET_DIST_INIT_TIMEOUT_S", 120),
        heartbeat_timeout_seconds=_env_int("SYMNET_DIST_HEARTBEAT_S", 10),
        shutdown_timeout_seconds=_env_int("SYMNET_DIST_SHUTDOWN_TIMEOUT_S", 30))
    _install_failure_hook()
    if pid != 0:
        # Only the first process logs; warnings and errors still show everywhere.
        logging.disable(logging.INFO)
    return pid, num


_PEER_SIGNS = ("gloo", "connection closed", "connection reset", "heartbeat",
               "unhealthy", "coordination service", "broken pipe", "nccl", "barrier")


def peer_failure(err: BaseException) -> Optional[PeerLostError]:
    """A clear :class:`PeerLostError` if ``err`` is a collective failing on a dead peer."""
    if isinstance(err, PeerLostError):
        return err
    if not is_distributed() or type(err).__name__ not in ("JaxRuntimeError", "XlaRuntimeError"):
        return None
    text = str(err).lower()
    if not any(s in text for s in _PEER_SIGNS):
        return None
    first = str(err).split("Error dispatching computation")[-1].strip(": ")[:300]
    return PeerLostError(
        f"process {process_index()} of {process_count()}: another training process stopped "
        f"or became unreachable, so the collective step failed ({first}). Stopping this "
        "process. The last checkpoint written by process 0 is intact; restart every process "
        "and resume with FeedForward.load(prefix, epoch) / Module.load(prefix, epoch).")


def _install_failure_hook() -> None:
    """An uncaught error ends a distributed process at once.

    Peer failures print one clear line (exit code 3); other errors their traceback (exit code
    1). Both skip the normal interpreter exit, whose jax.distributed shutdown barrier would
    otherwise keep this process (and so the others) waiting until the shutdown timeout.
    """
    previous = sys.excepthook

    def hook(kind, value, tb):
        lost = peer_failure(value) if value is not None else None
        sys.stdout.flush()
        if lost is None:
            previous(kind, value, tb)
        else:
            print(f"symnet: error: {lost}", file=sys.stderr)
        sys.stderr.flush()
        os._exit(1 if lost is None else 3)

    sys.excepthook = hook


# ---- data split across processes ----------------------------------------------------------

def part(arrays: Sequence[Any], num_parts: int, part_index: int) -> List[Any]:
    """Part ``part_index`` of ``num_parts`` contiguous slices of each array (axis 0).

    The split MXNet's iterators use for ``num_parts/part_index`` (the last part takes the
    remainder), for in-memory data fed to ``NDArrayIter``.
    """
    if not 0 <= part_index < num_parts:
        raise SymnetError(f"need 0 <= part_index < num_parts, got part_index={part_index}, "
                          f"num_parts={num_parts}")
    out = []
    for a in arrays:
        n = int(np.shape(a)[0])
        step = n // num_parts
        start = step * part_index
        stop = n if part_index == num_parts - 1 else start + step
        out.append(a[start:stop])
    return out


# ---- placements --------------------------------------------------------------------------------

class Placement(Protocol):
    """Where the compiled step's arrays live."""

    mesh: Optional[Mesh]
    num_devices: int

    def state(self, state: Any) -> Any:
        """Put a TrainState (any pytree) where the step expects it."""

    def batch(self, tree: Any) -> Any:
        """Put process-local batch arrays (axis 0 = rows) where the step expects them."""

    def replicate(self, tree: Any) -> Any:
        """Put small values (keys, counters, metric state) on every device of the step."""

    def local(self, tree: Any) -> Any:
        """Single-device, host-readable copies of (possibly sharded or global) arrays."""


class SingleDevice:
    """One device: every array committed to it (jit keys its cache on placement)."""

    mesh = None
    num_devices = 1

    def __init__(self, device: Any = None) -> None:
        self.device = device if device is not None else jax.local_devices()[0]

    def state(self, state: Any) -> Any:
        return jax.device_put(state, self.device)

    def batch(self, tree: Any) -> Any:
        return jax.device_put(tree, self.device)

    def replicate(self, tree: Any) -> Any:
        return jax.device_put(tree, self.device)

    def local(self, tree: Any) -> Any:
        return tree

    def __repr__(self) -> str:
        return f"SingleDevice({self.device})"


def platform_of(placement: Any) -> str:
    """The JAX platform ("cpu", "gpu", "tpu", ...) of the devices a placement trains on.

    Lowering choices follow these devices, not ``jax.default_backend()``: ``ctx=mx.cpu()`` on
    a machine with a GPU trains on the CPU and needs the CPU's passes.
    """
    mesh = getattr(placement, "mesh", None)
    device = mesh.devices.flat[0] if mesh is not None else getattr(placement, "device", None)
    return device.platform if device is not None else jax.default_backend()


def make_mesh(devices: Optional[Sequence[Any]] = None) -> Mesh:
    """A 1-D mesh (axis ``'data'``) over ``devices`` (default: every device of every process,
    ordered by process so that process ``p`` owns the ``p``-th block of each global batch)."""
    if devices is None:
        devices = jax.devices()
    devs = sorted(set(devices), key=lambda d: (d.process_index, d.id))
    if not devs:
        raise SymnetError("make_mesh: no devices given")
    return Mesh(np.array(devs, dtype=object), (AXIS,))


class DataParallel:
    """Batch split along ``'data'``; state replicated (or large leaves sharded).

    Args:
        mesh: 1-D mesh with axis ``'data'``.
        shard_min_bytes: None replicates all state. Otherwise every state leaf with at least
            this many bytes whose axis 0 divides by the device count is sharded along axis 0.
    """

    def __init__(self, mesh: Mesh, shard_min_bytes: Optional[int] = None) -> None:
        self.mesh = mesh
        self.num_devices = int(mesh.devices.size)
        self.shard_min_bytes = shard_min_bytes
        self.replicated = NamedSharding(mesh, P())
        self.rows = NamedSharding(mesh, P(AXIS))
        self.multiprocess = any(d.process_index != jax.process_index()
                                for d in mesh.devices.flat)
        self._local_rows = sum(1 for d in mesh.devices.flat
                               if d.process_index == jax.process_index())

    def __repr__(self) -> str:
        mode = "replicated" if self.shard_min_bytes is None else \
            f"sharded>={self.shard_min_bytes}B"
        return f"DataParallel({self.num_devices} devices, state {mode})"

    def _target(self, leaf: Any) -> NamedSharding:
        shape = np.shape(leaf)
        if self.shard_min_bytes is not None and len(shape) >= 1 and shape[0] > 0 \
                and shape[0] % self.num_devices == 0:
            nbytes = int(np.prod(shape)) * np.dtype(leaf.dtype).itemsize
            if nbytes >= self.shard_min_bytes:
                return NamedSharding(self.mesh, P(AXIS, *([None] * (len(shape) - 1))))
        return self.replicated

    def _put(self, leaf: Any, sharding: NamedSharding) -> Any:
        if isinstance(leaf, jax.Array) and leaf.sharding == sharding:
            return leaf
        if not self.multiprocess:
            return jax.device_put(leaf, sharding)
        if isinstance(leaf, jax.Array) and not leaf.is_fully_addressable:
            # already global (e.g. a step's output) but laid out differently
            return jax.jit(lambda x: x, out_shardings=sharding)(leaf)
        host = np.asarray(leaf)  # same value on every process
        return jax.make_array_from_callback(host.shape, sharding, lambda idx: host[idx])

    def state(self, state: Any) -> Any:
        return jax.tree_util.tree_map(lambda x: self._put(x, self._target(x)), state)

    def replicate(self, tree: Any) -> Any:
        """Replicate small values (keys, scalars) over the mesh."""
        return jax.tree_util.tree_map(lambda x: self._put(x, self.replicated), tree)

    def batch(self, tree: Any) -> Any:
        return jax.tree_util.tree_map(self._batch_leaf, tree)

    def _batch_leaf(self, x: Any) -> Any:
        if isinstance(x, jax.Array) and x.sharding == self.rows:
            return x
        n = int(np.shape(x)[0]) if np.ndim(x) else 0
        per = self._local_rows
        if n % per:
            total = n * (self.num_devices // per)
            raise SymnetError(
                f"a batch of {total} rows cannot be split evenly across {self.num_devices} "
                f"devices ({n} rows on this process's {per}); use a batch size that is a "
                f"multiple of {self.num_devices} (MXNet's uneven work_load_list split is not "
                "offered)")
        if not self.multiprocess:
            return jax.device_put(x, self.rows)
        return jax.make_array_from_process_local_data(self.rows, x)

    def local(self, tree: Any) -> Any:
        first = self.mesh.devices.flat[0] if not self.multiprocess else \
            jax.local_devices()[0]

        def one(x: Any) -> Any:
            if not isinstance(x, jax.Array):
                return x
            if x.is_fully_replicated:
                return jax.device_put(x.addressable_data(0), first)
            if x.is_fully_addressable:
                return jax.device_put(x, first)
            from jax.experimental import multihost_utils
            # collective: every process must export together
            full = multihost_utils.process_allgather(x, tiled=True)
            return jax.device_put(np.asarray(full), first)

        return jax.tree_util.tree_map(one, tree)


def _ctx_devices(ctx: Any) -> List[Any]:
    from .context import Context
    ctxs = [ctx] if isinstance(ctx, Context) or ctx is None else list(ctx)
    out: List[Any] = []
    for c in ctxs:
        dev = (c if c is not None else Context("cpu", 0)).jax_device()
        if dev not in out:
            out.append(dev)
    return out


def check_work_load(work_load_list: Optional[Sequence[float]], num_ctx: int) -> None:
    """Equal weights are honoured (the even split); anything else is refused."""
    if work_load_list is None:
        return
    weights = list(work_load_list)
    if len(weights) != num_ctx:
        raise SymnetError(f"work_load_list has {len(weights)} entries but there are {num_ctx} "
                          "contexts; give one weight per context (or None)")
    if len(set(weights)) > 1:
        raise SymnetError(
            f"work_load_list={weights} asks for uneven batch shares; symnet splits each batch "
            "evenly across devices (one SPMD program). Pass None or equal weights.")


def _shard_setting(shard_min_bytes: Optional[int]) -> Optional[int]:
    if shard_min_bytes is not None:
        return int(shard_min_bytes)
    raw = os.environ.get("SYMNET_SHARD_PARAMS")
    if not raw or raw.lower() in ("0", "false", "no", "off"):
        return None
    if raw.lower() in ("1", "true", "yes", "on"):
        return 1 << 20  # 1 MiB: shard the big weight matrices, replicate biases
    return _env_int("SYMNET_SHARD_PARAMS", 1 << 20)


def placement_for(ctx: Any = None, kvstore: Any = "local",
                  shard_min_bytes: Optional[int] = None,
                  work_load_list: Optional[Sequence[float]] = None) -> Placement:
    """The placement for a FeedForward/Module run.

    Args:
        ctx: a Context or list of Contexts (distinct devices train data-parallel). Ignored
            under jax.distributed, where every process uses all of its local devices.
        kvstore: kvstore name or KVStore; ``dist_*`` joins jax.distributed (see
            :func:`init_distributed`).
        shard_min_bytes: opt-in state sharding threshold (default: env ``SYMNET_SHARD_PARAMS``,
            ``1`` meaning 1 MiB; unset replicates everything).
        work_load_list: MXNet's per-context weights; only equal weights are accepted.
    """
    name = getattr(kvstore, "type", kvstore)
    if name in DIST_KVSTORES or (isinstance(name, str) and name.startswith("dist")):
        init_distributed(name)
    shard = _shard_setting(shard_min_bytes)
    if is_distributed() and jax.process_count() > 1:
        return DataParallel(make_mesh(), shard)
    devices = _ctx_devices(ctx)
    check_work_load(work_load_list, len(ctx) if isinstance(ctx, (list, tuple)) else 1)
    if len(devices) == 1:
        return SingleDevice(devices[0])
    return DataParallel(make_mesh(devices), shard)
