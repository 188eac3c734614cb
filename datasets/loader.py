"""Fixed-shape, seed-deterministic, resumable, process-sharded batches over a random-access source.

The batch order is defined globally, independent of the number of processes::

    epoch e: permutation_e = a permutation of range(len(source)) drawn from (seed, e)
    global batch b of epoch e = source[permutation_e[b G : (b + 1) G]]      (G = global_batch)

and process ``p`` of ``P`` yields rows ``p L : (p + 1) L`` of every global batch
(``L = G / P``), so concatenating the processes' batches in process order gives exactly the
batch one process would yield. The index pipeline (shard, repeat, read, prefetch) is a grain
``MapDataset`` (shuffled with grain's index shuffle for large sources): random access by step,
so the iterator state is one integer and resuming never replays data. Reading runs in one
background thread by default (several: grain's reader threads; in-process: on few cores this
beats worker processes, and the sources are thread-safe).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # grain is imported when a Loader is built: `import sciml.datasets` stays light
    import grain

__all__ = ["Loader"]


def _read_ahead(batches: Any, depth: int) -> Iterator[Any]:
    """Yield ``batches[0], batches[1], ...`` read by one background thread, ``depth`` ahead.

    One plain thread and a bounded queue: the least overhead per batch (grain's thread pool
    costs about a fifth of the read throughput with one reader, measured by
    ``benchmarks/bench_data_pipeline.py``). A reader exception is re-raised in the consumer;
    closing the generator early stops the reader after its current batch.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
            except queue.Full:
                continue
            # h5py holds the GIL while it reads, so without this the consumer, woken by the
            # put, waits for CPython's switch interval (5 ms) before it can take the batch;
            # sleep(0) hands the GIL over at once (loader / plain h5py 0.79-1.08 -> 1.07-1.27
            # in five alternating runs of 200 batches, benchmarks/bench_data_pipeline.py).
            time.sleep(0)
            return True
        return False

    def reader() -> None:
        try:
            for i in range(len(batches)):
                if not put(("ok", batches[i])):
                    return
            put(("ok", done))
        except BaseException as e:  # handed to the consumer, raised there
            put(("error", e))

    thread = threading.Thread(target=reader, name="sciml-loader-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = q.get()
            if kind == "error":
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5.0)


_STATE_VERSION = 1
VALID_KEY = "valid"


def _positive(value: Any, name: str, fix: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"Loader: {name}: expected an integer >= 1, found {value!r}; {fix}")
    return int(value)


class _ReadRows:
    """grain map: a batch of ``(record index, valid)`` rows -> stacked sample arrays."""

    def __init__(self, source: Any, with_valid: bool, collate: Callable | None = None):
        self.source = source
        self.with_valid = with_valid
        self.collate = collate

    def __call__(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        if self.collate is not None:  # a custom collate gets the valid samples only
            return self.collate([self.source[int(i)] for i, ok in rows if ok])
        read_batch = getattr(self.source, "read_batch", None)
        if read_batch is not None:  # sciml.datasets.Source: one preallocated array per key
            batch = read_batch(rows[:, 0].tolist())
        else:
            items = [self.source[int(i)] for i in rows[:, 0]]
            batch = {k: np.stack([item[k] for item in items]) for k in items[0]}
        if self.with_valid:
            batch[VALID_KEY] = rows[:, 1].astype(bool)
        return batch


class _Order:
    """Record index at position ``index`` of the concatenated per-epoch orders (thread-safe).

    Epoch ``e`` is a permutation of ``range(n)`` seeded by ``(seed, e)``. Large sources use
    grain's stateless index shuffle (``MapDataset.shuffle``: O(1) memory, a few microseconds per
    index); below ``SMALL`` records that shuffle gets slow (milliseconds per index for a few
    hundred records), so the epoch's permutation is drawn whole with NumPy and cached, costing
    4 bytes per record.
    """

    SMALL = 2**20

    def __init__(self, n: int, seed: int, shuffle: bool):
        self.n, self.seed, self.shuffle = n, seed, shuffle
        if n >= self.SMALL:
            import grain

            self._grain = grain.MapDataset.range(n).shuffle(seed=seed)
        else:
            self._grain = None
        self._cache: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def take(self, epoch: int, positions: np.ndarray) -> np.ndarray:
        """Record indices at ``positions`` (in ``[0, n)``) of epoch ``epoch``'s order."""
        if not self.shuffle:
            return positions.astype(np.int64)
        if self._grain is not None:  # grain's shuffle uses seed + epoch for epoch e
            return np.array([self._grain[epoch * self.n + int(j)] for j in positions]) % self.n
        with self._lock:
            perm = self._cache.get(epoch)
            if perm is None:
                rng = np.random.default_rng([self.seed, epoch])
                perm = rng.permutation(self.n).astype(np.int32)
                self._cache = {e: p for e, p in self._cache.items() if e == epoch - 1}
                self._cache[epoch] = perm
        return perm[positions].astype(np.int64)


class _Chunk:
    """grain map_with_index: chunk number -> its ``L`` rows of ``(record index, valid)``.

    An epoch is ``steps_per_epoch * G`` rows cut into chunks of ``L = G / P`` rows; chunk
    ``c * P + q`` is process ``q``'s part of global batch ``c``. Rows past the end of the data
    (drop_remainder=False padding) repeat the epoch's first records and are marked invalid.
    """

    def __init__(self, order: _Order, chunk_rows: int, chunks_per_epoch: int):
        self.order = order
        self.chunk_rows = chunk_rows
        self.chunks_per_epoch = chunks_per_epoch

    def __call__(self, index: int, _: Any) -> np.ndarray:
        epoch, chunk = divmod(index, self.chunks_per_epoch)
        rows = chunk * self.chunk_rows + np.arange(self.chunk_rows)
        records = self.order.take(epoch, rows % self.order.n)
        return np.stack([records, rows < self.order.n], axis=1).astype(np.int64)


class Loader:
    """Batches of a random-access source, deterministic from ``seed`` and resumable.

    Args:
        source: any object with ``__len__``, ``__getitem__(i) -> dict[str, np.ndarray]`` (fixed
            shapes) and ``element_spec`` (``ArraySource``, ``H5Source``, ``XarraySource``,
            ``TrajectoryWindows``, ...).
        global_batch: samples per step over all processes; must divide by ``process_count``.
        seed: shuffling seed (an int in ``[0, 2**32)``); every epoch gets its own permutation.
        shuffle: shuffle (``False``: source order, every epoch).
        num_epochs: passes over the data; ``None`` repeats forever.
        process_index, process_count: this process and the number of processes (default
            ``jax.process_index()`` / ``jax.process_count()``).
        drop_remainder: drop each epoch's last incomplete global batch. With ``False`` the last
            batch is padded to full size with the epoch's first samples and every batch carries a
            boolean ``"valid"`` array of shape ``(local_batch,)`` marking the real rows (use it
            to weight evaluation metrics); shapes stay fixed either way.
        num_threads: reader threads (``0`` reads in the calling thread; ``1``, the default, one
            plain background thread with a bounded queue; more: grain's thread pool). One thread
            overlaps reading with the training step; more rarely help, as h5py holds the GIL and
            ``H5Source`` serialises its reads (``benchmarks/bench_data_pipeline.py``: 2 threads
            used about 1.5x the CPU time per sample of 1 thread).
        prefetch: batches read ahead by the reader threads.
        collate: ``collate(samples: list[dict]) -> batch`` replaces the default stacking
            (``np.stack`` per key), e.g. ``sciml.datasets.graphs.GraphCollate`` for graphs of
            varying size. It receives only the valid samples (with ``drop_remainder=False`` the
            last batch has fewer, and no ``"valid"`` key is added); order, resumption and
            per-process sharding are unchanged.

    Each yielded batch is ``{key: (global_batch // process_count, *shape)}`` for every
    ``key: (shape, dtype)`` of ``source.element_spec``.
    """

    def __init__(
        self,
        source: Any,
        *,
        global_batch: int,
        seed: int,
        shuffle: bool = True,
        num_epochs: int | None = None,
        process_index: int | None = None,
        process_count: int | None = None,
        drop_remainder: bool = True,
        num_threads: int = 1,
        prefetch: int = 2,
        collate: Callable[[list[dict[str, np.ndarray]]], Any] | None = None,
    ):
        for attr in ("__len__", "__getitem__", "element_spec"):
            if not hasattr(source, attr):
                raise ValueError(
                    f"Loader: source: expected an object with __len__, __getitem__ and "
                    f"element_spec, found {type(source).__name__} without {attr}; wrap arrays "
                    "in ArraySource"
                )
        if process_index is None or process_count is None:
            import jax

            process_index = jax.process_index() if process_index is None else process_index
            process_count = jax.process_count() if process_count is None else process_count
        self.process_count = _positive(process_count, "process_count", "pass the process count")
        if not 0 <= int(process_index) < self.process_count:
            raise ValueError(
                f"Loader: process_index: expected 0 <= process_index < {self.process_count}, "
                f"found {process_index}; pass this process's index"
            )
        self.process_index = int(process_index)
        self.global_batch = _positive(global_batch, "global_batch", "pass e.g. global_batch=32")
        if self.global_batch % self.process_count:
            lower = self.global_batch // self.process_count * self.process_count
            raise ValueError(
                f"Loader: global_batch: expected a multiple of the process count "
                f"{self.process_count}, found {self.global_batch}; use global_batch="
                f"{max(lower, self.process_count)} or {lower + self.process_count}"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise ValueError(f"Loader: seed: expected an integer, found {seed!r}; pass seed=0")
        if not 0 <= seed < 2**32:
            raise ValueError(f"Loader: seed: expected 0 <= seed < 2**32, found {seed}; pass seed=0")
        self.seed = int(seed)
        if num_epochs is not None:
            num_epochs = _positive(num_epochs, "num_epochs", "pass num_epochs=None to repeat")
        self.num_epochs = num_epochs
        self.shuffle = bool(shuffle)
        self.drop_remainder = bool(drop_remainder)
        self.source = source
        self.num_records = len(source)
        spec = dict(source.element_spec)
        if not self.drop_remainder and VALID_KEY in spec:
            raise ValueError(
                f"Loader: source: its key '{VALID_KEY}' clashes with the padding mask of "
                "drop_remainder=False; rename the source key or pass drop_remainder=True"
            )
        self.local_batch = self.global_batch // self.process_count
        if self.drop_remainder:
            self._steps_per_epoch = self.num_records // self.global_batch
        else:
            self._steps_per_epoch = math.ceil(self.num_records / self.global_batch)
        if self.num_records == 0:
            raise ValueError(
                f"Loader: source: expected at least one sample, found 0 in {source!r}; check "
                "the file or the split it was built from"
            )
        if self._steps_per_epoch == 0:
            raise ValueError(
                f"Loader: global_batch: expected at most the {self.num_records} samples of the "
                f"source, found {self.global_batch}; lower global_batch or pass "
                "drop_remainder=False"
            )
        if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 0:
            raise ValueError(
                f"Loader: num_threads: expected an integer >= 0, found {num_threads!r}; pass "
                "num_threads=0 to read in the consuming thread"
            )
        self.num_threads = num_threads
        self.prefetch = _positive(prefetch, "prefetch", "pass prefetch=2")
        if collate is not None and not callable(collate):
            raise ValueError(
                f"Loader: collate: expected a callable list-of-samples -> batch, found "
                f"{type(collate).__name__}; pass e.g. GraphCollate(n_node, n_edge, n_graph)"
            )
        self.collate = collate
        self._dataset = self._build()
        self._step = 0

    def _build(self) -> grain.MapDataset:
        import grain

        n, p = self.num_records, self.process_count
        order = _Order(n, self.seed, self.shuffle)
        n_chunks = self._steps_per_epoch * p
        chunk = _Chunk(order, self.local_batch, n_chunks)
        chunks = grain.MapDataset.range(n_chunks).map_with_index(chunk)
        local = chunks[self.process_index :: p]  # this process's part of every global batch
        local = local.repeat(self.num_epochs)
        read = _ReadRows(self.source, with_valid=not self.drop_remainder, collate=self.collate)
        return local.map(read)

    @property
    def steps_per_epoch(self) -> int:
        """Global batches per pass over the data."""
        return self._steps_per_epoch

    @property
    def element_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``{key: ((local_batch, *shape), dtype)}`` of every yielded batch."""
        spec = {
            k: ((self.local_batch, *shape), np.dtype(dtype))
            for k, (shape, dtype) in self.source.element_spec.items()
        }
        if not self.drop_remainder:
            spec[VALID_KEY] = ((self.local_batch,), np.dtype(bool))
        return spec

    def __len__(self) -> int:
        """Batches left to yield; a loader that repeats forever has no length (TypeError)."""
        if self.num_epochs is None:
            raise TypeError("Loader: num_epochs=None repeats forever, so it has no length")
        return len(self._dataset) - self._step

    def __iter__(self) -> Iterator[dict[str, np.ndarray]]:
        """Yield batches from the current position on; :meth:`get_state` follows consumption."""
        remaining = self._dataset[self._step :]
        if self.num_threads == 1:
            iterator = _read_ahead(remaining, max(self.prefetch, 1))
        elif self.num_threads > 1:
            import grain

            options = grain.ReadOptions(
                num_threads=self.num_threads, prefetch_buffer_size=max(self.prefetch, 1)
            )
            iterator = iter(remaining.to_iter_dataset(options))
        else:
            iterator = (remaining[i] for i in range(len(remaining)))
        for batch in iterator:
            self._step += 1
            yield batch

    def get_state(self) -> dict:
        """JSON-serialisable position: the next step, its epoch and the settings it depends on."""
        return {
            "version": _STATE_VERSION,
            "step": self._step,
            "epoch": self._step // self._steps_per_epoch,
            "seed": self.seed,
            "global_batch": self.global_batch,
            "num_records": self.num_records,
            "shuffle": self.shuffle,
            "drop_remainder": self.drop_remainder,
        }

    def set_state(self, state: dict) -> None:
        """Resume at the position recorded by :meth:`get_state` (any process count)."""
        if not isinstance(state, dict) or "step" not in state:
            raise ValueError(
                f"Loader.set_state: expected a dict from Loader.get_state() with a 'step', found "
                f"{type(state).__name__} {sorted(state) if isinstance(state, dict) else ''}; "
                "pass the saved loader state"
            )
        for name in ("seed", "global_batch", "num_records", "shuffle", "drop_remainder"):
            if name in state and state[name] != getattr(self, name):
                raise ValueError(
                    f"Loader.set_state: {name}: the state was saved with {state[name]!r}, found "
                    f"{getattr(self, name)!r} in this loader; build the loader with the same "
                    f"{name} (and the same data) to resume"
                )
        step = state["step"]
        if (
            isinstance(step, bool)
            or not isinstance(step, int)
            or not 0 <= step <= len(self._dataset)
        ):
            raise ValueError(
                f"Loader.set_state: step: expected an integer in [0, {len(self._dataset)}], found "
                f"{step!r}; pass the state saved by this run"
            )
        self._step = step
