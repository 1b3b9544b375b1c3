"""``mx.kv``: kvstore names mapped onto JAX's runtime (dist_sync = jax.distributed)."""
from __future__ import annotations

from typing import Any, Optional, Sequence

from .base import SymnetError

__all__ = ["KVStore", "create", "check_kvstore"]

_LOCAL = ("local", "device", "local_update_cpu", "local_allreduce_cpu", "local_allreduce_device",
          "nccl")


class KVStore:
    """A kvstore handle; symnet reduces gradients inside the compiled step, not through it."""

    def __init__(self, kv_type: str = "local") -> None:
        check_kvstore(kv_type, None)
        self.type = kv_type
        from . import parallel
        # dist_sync joined jax.distributed in check_kvstore (rank 0 of 1 without a cluster)
        self.rank = parallel.process_index()
        self.num_workers = parallel.process_count()

    def __repr__(self) -> str:
        return f"<KVStore {self.type}>"


def create(name: str = "local") -> KVStore:
    """``mx.kv.create(name)``."""
    return KVStore(name)


def check_kvstore(kvstore: Any, work_load_list: Optional[Sequence[float]]) -> None:
    """Accept what symnet can honour; refuse the rest with an explanation."""
    name = getattr(kvstore, "type", kvstore)
    if name is None or name in _LOCAL:
        pass
    elif name == "dist_async":
        raise SymnetError(
            "kvstore 'dist_async' is not offered: symnet trains on JAX's synchronous runtime "
            "(XLA collectives), which has no asynchronous parameter server. Use "
            "kvstore='dist_sync', which gives the same result as single-process training.")
    elif name in ("dist_sync", "dist_device_sync", "dist_sync_device", "dist"):
        from .parallel import init_distributed
        init_distributed(name)  # idempotent; single process when no cluster is configured
    else:
        raise SymnetError(f"unknown kvstore {name!r}; expected one of {list(_LOCAL)} or "
                          "'dist_sync'")
    if work_load_list is not None and len(set(work_load_list)) > 1:
        raise SymnetError(
            f"work_load_list={list(work_load_list)} asks for uneven batch shares; symnet splits "
            "each batch evenly across devices. Pass None or equal weights.")
