"""Host batches onto the device mesh: global arrays with the batch sharding, prefetched ahead.

Every process holds its local rows of a global batch (see :class:`~sciml.datasets.Loader`);
:func:`to_global_array` assembles them into ``jax.Array`` s sharded over the mesh with
``jax.make_array_from_process_local_data`` (the same call works with one process or many), and
:class:`MeshPrefetcher` keeps a few batches in flight so host-to-device copies overlap the step.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # JAX is imported on first use: `import sciml.datasets` stays light
    import jax
    from jax.sharding import Mesh, NamedSharding, Sharding

__all__ = [
    "MeshPrefetcher",
    "batch_sharding",
    "host_to_global",
    "prefetch_to_mesh",
    "to_global_array",
]


def batch_sharding(mesh: Mesh, axes: str | Sequence[str] = "data") -> NamedSharding:
    """Sharding that splits axis 0 (the batch) over the mesh ``axes`` and replicates the rest."""
    from jax.sharding import NamedSharding, PartitionSpec

    names = (axes,) if isinstance(axes, str) else tuple(axes)
    missing = [a for a in names if a not in mesh.axis_names]
    if missing:
        raise ValueError(
            f"batch_sharding: axes: expected names of the mesh axes {mesh.axis_names}, found "
            f"{missing}; pass axes={mesh.axis_names[0]!r}"
        )
    return NamedSharding(mesh, PartitionSpec(names if len(names) > 1 else names[0]))


def host_to_global(value: np.ndarray, sharding: Sharding) -> jax.Array:
    """One host array -> a global ``jax.Array`` on ``sharding`` (the one host-to-mesh primitive).

    If ``sharding`` splits axis 0 over devices of several processes, ``value`` is this process's
    rows and the global array stacks the processes' rows (global axis 0 = local axis 0 x process
    count); otherwise (replicated parameters, optimiser state) every process passes the same
    full ``value``. Used by :func:`to_global_array` for batches and by ``sciml.train`` for the
    replicated training state.
    """
    import jax

    value = np.asarray(value)
    split = value.ndim > 0 and _axis0_names(sharding)
    global_shape = value.shape
    if split and jax.process_count() > 1:
        global_shape = (value.shape[0] * jax.process_count(), *value.shape[1:])
    return jax.make_array_from_process_local_data(sharding, value, global_shape)


def to_global_array(
    local_batch: Mapping[str, np.ndarray], sharding_tree: Sharding | Mapping[str, Sharding]
) -> dict[str, jax.Array]:
    """Put this process's rows of a batch onto the mesh as global ``jax.Array`` s.

    Args:
        local_batch: ``{key: (local_batch, ...)}`` from :class:`Loader` (this process's rows).
        sharding_tree: one ``Sharding`` for every key, or ``{key: Sharding}``.

    Returns:
        ``{key: jax.Array}`` of global shape ``(local_batch * process_count, ...)``.
    """

    out = {}
    for key, value in local_batch.items():
        if isinstance(sharding_tree, Mapping):
            if key not in sharding_tree:
                raise ValueError(
                    f"to_global_array: sharding_tree: expected a sharding for every batch key "
                    f"{sorted(local_batch)}, found none for '{key}' (keys {sorted(sharding_tree)}); "
                    "add it or pass one Sharding for all"
                )
            sharding = sharding_tree[key]
        else:
            sharding = sharding_tree
        value = np.asarray(value)
        shards = _batch_shards(sharding)
        if value.ndim == 0 or value.shape[0] % shards:
            raise ValueError(
                f"to_global_array: '{key}': expected a local batch divisible by the "
                f"{shards} batch shards of this process, found shape {value.shape}; choose "
                "global_batch as a multiple of the number of devices"
            )
        out[key] = host_to_global(value, sharding)
    return out


def _axis0_names(sharding: Sharding) -> tuple[str, ...]:
    """Mesh axes that split axis 0 (none for replicated or non-named shardings)."""
    from jax.sharding import NamedSharding

    if not isinstance(sharding, NamedSharding) or not sharding.spec:
        return ()
    first = sharding.spec[0]
    if first is None:
        return ()
    return (first,) if isinstance(first, str) else tuple(first)


def _batch_shards(sharding: Sharding) -> int:
    """How many distinct pieces axis 0 is cut into on this process's devices."""
    import jax

    names = _axis0_names(sharding)
    if not names:
        return 1
    total = int(np.prod([sharding.mesh.shape[n] for n in names]))
    return max(total // jax.process_count(), 1)


class MeshPrefetcher:
    """Iterate global device batches, keeping ``size`` batches in flight ahead of the consumer.

    ``get_state()`` (when the host iterable has one, e.g. a :class:`Loader`) returns the state
    of the next batch the *consumer* will receive, not of the batches already prefetched, so a
    checkpoint taken between steps resumes without skipping data.
    """

    def __init__(
        self,
        batches: Iterable[dict[str, np.ndarray]],
        sharding_tree: Sharding | Mapping[str, Sharding],
        *,
        size: int = 2,
    ):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"prefetch_to_mesh: size: expected an integer >= 1, found {size!r}")
        self._source = batches
        self._sharding = sharding_tree
        self._size = size
        self._queue: collections.deque[tuple[Any, dict[str, jax.Array]]] = collections.deque()
        self._iterator: Iterator[dict[str, np.ndarray]] | None = None
        self._has_state = hasattr(batches, "get_state")
        self._next_state = batches.get_state() if self._has_state else None

    def _fill(self) -> None:
        if self._iterator is None:
            self._iterator = iter(self._source)
        while len(self._queue) < self._size:
            state = self._source.get_state() if self._has_state else None
            try:
                host = next(self._iterator)
            except StopIteration:
                return
            self._queue.append((state, to_global_array(host, self._sharding)))

    def __iter__(self) -> MeshPrefetcher:
        return self

    def __next__(self) -> dict[str, jax.Array]:
        self._fill()
        if not self._queue:
            raise StopIteration
        _, batch = self._queue.popleft()
        self._next_state = self._queue[0][0] if self._queue else None
        if self._next_state is None and self._has_state:
            self._next_state = self._source.get_state()
        return batch

    def get_state(self) -> dict:
        """State of the host iterable positioned at the next batch this iterator will return."""
        if not self._has_state:
            raise ValueError(
                f"MeshPrefetcher.get_state: expected a host iterable with get_state (a Loader), "
                f"found {type(self._source).__name__}; wrap a Loader to checkpoint the position"
            )
        return dict(self._next_state)


def prefetch_to_mesh(
    batches: Iterable[dict[str, np.ndarray]],
    sharding_tree: Sharding | Mapping[str, Sharding],
    *,
    size: int = 2,
) -> MeshPrefetcher:
    """Wrap host batches (e.g. a :class:`Loader`) into a :class:`MeshPrefetcher`."""
    return MeshPrefetcher(batches, sharding_tree, size=size)
