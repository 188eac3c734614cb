"""Orbax checkpoints of a run: keep the latest N and the best by a metric, restore anywhere.

Layout: ``RUN_DIR/checkpoints/<step>/state`` (an Orbax PyTree: ``params`` and ``rest`` are the
model's variables as plain nested dicts, ``opt_state`` the Optax state) and
``RUN_DIR/checkpoints/<step>/meta`` (JSON: step, data-loader position, PRNG key, best metric so
far, versions). Orbax writes each step to a temporary directory and renames it when complete, so
a run killed mid-save leaves the previous checkpoints intact. Arrays are restored with the
shardings of the CURRENT mesh, so a checkpoint written on 8 devices restores on 1 (or on 2 hosts).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint._src.checkpoint_managers import preservation_policy as pp

from sciml.errors import CheckpointError, InsufficientSpaceError


class _QuietUntrackedSaves(logging.Filter):
    """Orbax warns on every save without metrics when best-tracking is on; most saves have none.
    It also logs, with a traceback, every exception of its background threads, which it then
    raises again in the main thread (where the CLI reports it in one line): those are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "did not provide metrics" in message:
            return False
        if "_SignalingThread.run() raised an exception" in message:
            return False
        # Failures of the background save threads are raised again by wait_until_finished.
        background = record.levelno >= logging.ERROR and "orbax" in record.pathname
        return not (background and record.exc_info)


logging.getLogger("absl").addFilter(_QuietUntrackedSaves())
_log = logging.getLogger("sciml")


def _quiet_closed_loop(unraisable, previous=sys.unraisablehook) -> None:
    """After a failed restore, tensorstore callbacks reach orbax's closed event loop and report
    "Event loop is closed" once per array; the failure itself is raised in the main thread."""
    if isinstance(unraisable.exc_value, RuntimeError) and "Event loop is closed" in str(
        unraisable.exc_value
    ):
        return
    previous(unraisable)


sys.unraisablehook = _quiet_closed_loop

# Text of the errors by which orbax/tensorstore report a damaged or incomplete checkpoint.
_DAMAGE_MARKERS = (
    "DATA_LOSS",
    "Error decoding",
    "Error reading",
    "NOT_FOUND",
    "OUT_OF_RANGE",
    "Expecting value",
    "Unterminated string",
    "Extra data",
    "No such file",
    "truncated",
    "Failed to decode",
    "checksum",
)


def finished_steps(directory: str | os.PathLike) -> list[int]:
    """Steps of the finished checkpoints in ``RUN_DIR/checkpoints`` (sorted, oldest first).

    The one listing of a checkpoint directory: a step is a directory named by its number (orbax
    writes ``<step>.orbax-checkpoint-tmp*`` while saving and renames it when complete).
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        return []
    return sorted(
        int(name)
        for name in os.listdir(directory)
        if name.isdigit() and os.path.isdir(os.path.join(directory, name))
    )


def is_damage(err: BaseException) -> bool:
    """True if ``err`` (from orbax/tensorstore/json) says a checkpoint's files are damaged."""
    text = f"{type(err).__name__}: {err}"
    return isinstance(err, json.JSONDecodeError | UnicodeError | CheckpointError) or any(
        marker in text for marker in _DAMAGE_MARKERS
    )


def _short(err: BaseException, limit: int = 160) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def path_str(path: Sequence[Any]) -> str:
    """``("convs", 0, "conv", "kernel")`` -> ``"convs.0.conv.kernel"`` (pytree key paths too)."""
    parts = []
    for k in path:
        for attr in ("key", "idx", "name"):
            if hasattr(k, attr):
                k = getattr(k, attr)
                break
        parts.append(str(k))
    return ".".join(parts)


def flatten(tree: Any) -> dict[str, Any]:
    """Leaves of a pytree keyed by dotted path (``nnx.Variable`` wrappers and ``value`` removed)."""
    leaves = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_array_meta)[0]
    out = {}
    for path, leaf in leaves:
        name = path_str(path)
        if name.endswith(".value"):
            name = name[: -len(".value")]
        out[name] = leaf
    return out


def _is_array_meta(x: Any) -> bool:
    return hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray | jax.Array)


class _BestOne:
    """Preservation policy: keep the one checkpoint whose saved metric is best."""

    def __init__(self, metric: str, mode: str):
        self.metric, self.mode = metric, mode

    def should_preserve(self, checkpoints, *, context) -> list[bool]:
        del context
        best, best_i = None, None
        for i, info in enumerate(checkpoints):
            value = (info.metrics or {}).get(self.metric)
            if value is None or not math.isfinite(float(value)):
                continue
            value = float(value)
            if best is None or (value < best if self.mode == "min" else value > best):
                best, best_i = value, i
        return [i == best_i for i in range(len(checkpoints))]


_LOG_HEADROOM = 2**20


def _tree_bytes(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


class Checkpoints:
    """Save/restore the training state of one run directory.

    Args:
      directory: ``RUN_DIR/checkpoints``.
      keep: number of latest checkpoints kept.
      best_metric, best_mode: the checkpoint with the best value of this evaluation metric is kept
        in addition (``min`` or ``max``).
      read_only: open an existing directory without creating or deleting anything.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        keep: int = 3,
        best_metric: str = "loss",
        best_mode: str = "min",
        read_only: bool = False,
    ):
        self.directory = os.path.abspath(os.fspath(directory))
        self.best_metric, self.best_mode = best_metric, best_mode
        if read_only:
            policy = pp.PreserveAll()
        else:
            policy = pp.AnyPreservationPolicy(
                [pp.LatestN(n=keep), _BestOne(best_metric, best_mode)]
            )
        options = ocp.CheckpointManagerOptions(
            best_fn=lambda m: float(m[best_metric]),
            best_mode=best_mode,
            preservation_policy=policy,
            create=not read_only,
            cleanup_tmp_directories=not read_only,
            enable_async_checkpointing=not read_only,
        )
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=options,
            item_handlers={
                "state": ocp.StandardCheckpointHandler(),
                "meta": ocp.JsonCheckpointHandler(),
            },
        )

    # -- queries -------------------------------------------------------------------------------
    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        """Step of the best evaluated checkpoint (the latest if none was evaluated)."""
        best = None
        for step in self.manager.all_steps():
            value = (self.manager.metrics(step) or {}).get(self.best_metric)
            if value is None or not math.isfinite(float(value)):
                continue
            if best is None or (value < best[1] if self.best_mode == "min" else value > best[1]):
                best = (step, float(value))
        return best[0] if best is not None else self.latest_step()

    def all_steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def step_path(self, step: int) -> str:
        return os.path.join(self.directory, str(step))

    def verify(self, step: int) -> None:
        """Check the small files of checkpoint ``step`` (metadata JSON) before orbax reads it.

        Raises:
          CheckpointError: a metadata file is missing, empty or not JSON (names the file).
        """
        for name in ("meta/metadata", "state/_METADATA"):
            path = os.path.join(self.step_path(step), name)
            if not os.path.isfile(path):
                raise CheckpointError(f"{path}: missing; the checkpoint is incomplete")
            size = os.path.getsize(path)
            if size == 0:
                raise CheckpointError(
                    f"{path}: empty checkpoint metadata file (0 bytes); the checkpoint is damaged"
                )
            try:
                with open(path, encoding="utf-8") as fh:
                    json.load(fh)
            except (ValueError, UnicodeDecodeError) as err:
                raise CheckpointError(
                    f"{path}: checkpoint metadata is not valid JSON ({size} bytes; "
                    f"{_short(err, 80)}); the checkpoint is damaged"
                ) from None

    def first_intact(
        self, steps: Sequence[int], load: Callable[[int], Any], *, set_aside: str | None = None
    ) -> tuple[int, Any]:
        """``(step, load(step))`` for the first step of ``steps`` whose checkpoint reads.

        A damaged checkpoint (:meth:`verify`, or an orbax/tensorstore error that
        :func:`is_damage` recognises) is skipped with a one-line warning naming it; with
        ``set_aside`` (a directory) it is moved there so that training can write that step
        again. Other errors (e.g. a checkpoint of another model) propagate.

        Raises:
          CheckpointError: no step reads (names the damaged ones) or ``steps`` is empty.
        """
        damaged = []
        for step in steps:
            try:
                self.verify(step)
                return step, load(step)
            except Exception as err:
                if not is_damage(err):
                    raise
                damaged.append(step)
                path = self.step_path(step)
                text = (
                    str(err)
                    if isinstance(err, CheckpointError)
                    else (f"checkpoint {path}: unreadable ({_short(err)})")
                )
                if set_aside is not None:
                    os.makedirs(set_aside, exist_ok=True)
                    target = os.path.join(set_aside, f"{step}-{int(time.time())}")
                    os.replace(path, target)
                    self.manager.reload()
                    text += f"; moved to {target}"
                _log.warning("%s; falling back to the previous checkpoint", text)
        which = f"damaged: steps {damaged}" if damaged else "none finished"
        raise CheckpointError(
            f"{self.directory}: no intact checkpoint ({which}); start a new --run-dir or "
            "restore the checkpoints from a backup"
        )

    # -- save ----------------------------------------------------------------------------------
    def check_space(self, step: int, state: Mapping[str, Any]) -> None:
        """Refuse a save that would not fit the free disk space (before any byte is written).

        The estimate is the size of the newest finished checkpoint (or the bytes of ``state``
        plus 64 KiB for the first one), plus 1 MiB kept free for the run's logs. Writing until
        the disk is full would leave a half-written checkpoint and tracebacks from the writer
        threads; stopping here keeps the last checkpoint for ``--resume``.
        """
        need = sum(int(getattr(x, "nbytes", 0)) for x in jax.tree.leaves(state)) + 2**16
        latest = self.latest_step()
        if latest is not None:
            need = max(need, _tree_bytes(os.path.join(self.directory, str(latest))))
        free = shutil.disk_usage(self.directory).free
        if free < need + _LOG_HEADROOM:
            kept = (
                f"the last checkpoint (step {latest}) is kept"
                if latest is not None
                else ("no checkpoint was written yet")
            )
            raise InsufficientSpaceError(
                f"{self.directory}: no space for the checkpoint of step {step} (about "
                f"{(need + _LOG_HEADROOM) / 2**20:.2f} MiB needed, {free / 2**20:.2f} MiB free); "
                f"{kept}: free space there and continue with --resume"
            )

    def save(
        self,
        step: int,
        state: Mapping[str, Any],
        meta: Mapping[str, Any],
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Start an (asynchronous) save; :meth:`wait` blocks until it is on disk."""
        self.manager.save(
            int(step),
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(dict(state)), meta=ocp.args.JsonSave(dict(meta))
            ),
            metrics=dict(metrics) if metrics else None,
            force=True,
        )

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()

    # -- restore -------------------------------------------------------------------------------
    def saved_shapes(self, step: int) -> dict[str, tuple[tuple[int, ...], Any]]:
        """``{dotted path: (shape, dtype)}`` of every array in the saved state."""
        try:
            md = self.manager.item_metadata(step)["state"]
        except Exception as err:
            raise CheckpointError(
                f"checkpoint {self.step_path(step)}: unreadable metadata ({_short(err)})"
            ) from None
        tree = getattr(md, "tree", md)
        if tree is None:
            raise CheckpointError(f"checkpoint {self.step_path(step)}: no state metadata")
        return {k: (tuple(v.shape), v.dtype) for k, v in flatten(tree).items()}

    def check_compatible(self, step: int, template: Mapping[str, Any], *, section: str) -> None:
        """Raise a one-line error naming the first parameter whose saved shape differs."""
        saved = {
            k[len(section) + 1 :]: v
            for k, v in self.saved_shapes(step).items()
            if k.startswith(section + ".")
        }
        ours = {k: tuple(np.shape(v)) for k, v in flatten(template).items()}
        where = f"checkpoint {os.path.join(self.directory, str(step))}"
        for name, shape in ours.items():
            if name not in saved:
                raise ValueError(
                    f"{where}: the model has {section} {name!r} {shape} but the checkpoint does "
                    f"not (saved {section}: {', '.join(sorted(saved)[:8])}...); the checkpoint is "
                    "from a different model: use its config or a new --run-dir"
                )
            if saved[name][0] != shape:
                raise ValueError(
                    f"{where}: {section} {name!r} has shape {saved[name][0]} in the checkpoint but "
                    f"{shape} in the model; build the model with the run's config.yaml or start a "
                    "new --run-dir"
                )
        extra = sorted(set(saved) - set(ours))
        if extra:
            raise ValueError(
                f"{where}: the checkpoint has {section} {extra[0]!r} {saved[extra[0]][0]} that the "
                "model lacks; build the model with the run's config.yaml or start a new --run-dir"
            )

    def restore(
        self, step: int, abstract_state: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Restore ``(state, meta)`` of ``step`` onto the shardings given in ``abstract_state``
        (a pytree of ``jax.ShapeDtypeStruct``); None restores every array onto the local default
        device, from the saved metadata."""
        if abstract_state is None:
            try:
                md = self.manager.item_metadata(step)["state"]
            except Exception as err:
                raise CheckpointError(
                    f"checkpoint {self.step_path(step)}: unreadable metadata ({_short(err)})"
                ) from None
            tree = getattr(md, "tree", md)
            device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
            abstract_state = jax.tree_util.tree_map(
                lambda m: jax.ShapeDtypeStruct(tuple(m.shape), m.dtype, sharding=device),
                tree,
                is_leaf=_is_array_meta,
            )
        try:
            out = self.manager.restore(
                int(step),
                args=ocp.args.Composite(
                    state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()
                ),
            )
        except Exception as err:
            if is_damage(err):
                raise CheckpointError(
                    f"checkpoint {self.step_path(step)}: unreadable ({_short(err)})"
                ) from None
            raise
        return out["state"], dict(out["meta"])
