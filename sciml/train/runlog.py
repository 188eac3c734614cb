"""Run-directory records: creation checks, run_info.json, metrics.jsonl, TensorBoard, progress bar.

Only process 0 writes; the other processes of a multi-host job get a logger that keeps the
history in memory and writes nothing.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from sciml.atomic import write_text
from sciml.progress import Progress

METRICS_FILE = "metrics.jsonl"


def _plain(value: Any) -> Any:
    try:
        f = float(value)
    except (TypeError, ValueError):
        return value
    if isinstance(value, int | bool):
        return value
    return f if math.isfinite(f) else str(f)


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of ``RUN_DIR/metrics.jsonl`` (one dict per logged step and split)."""
    path = os.path.join(os.fspath(run_dir), METRICS_FILE)
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class RunLogger:
    """Writes one JSON object per logged step and split, and the same scalars to TensorBoard.

    Args:
      run_dir: the run directory (None: keep the history in memory only).
      start_step: on resume, records with a larger step (written after the last checkpoint by
        the interrupted run) are dropped so that the file reads like one uninterrupted run.
      total_steps: length of the progress bar.
      enabled: False on processes other than 0.
    """

    def __init__(
        self,
        run_dir: str | None,
        *,
        start_step: int = 0,
        total_steps: int,
        enabled: bool = True,
    ):
        self.history: list[dict[str, Any]] = []
        self.run_dir = run_dir if enabled else None
        self._fh = None
        self._tb = None
        if self.run_dir is not None:
            path = os.path.join(self.run_dir, METRICS_FILE)
            kept = [r for r in read_metrics(self.run_dir) if int(r.get("step", 0)) <= start_step]
            write_text(path, "".join(json.dumps(record) + "\n" for record in kept))
            self.history.extend(kept)
            self._fh = open(path, "a", encoding="utf-8")
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(os.path.join(self.run_dir, "tensorboard"))
        self.bar = Progress(total_steps, desc="train", initial=start_step, enabled=enabled)

    def log(self, step: int, split: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
        record = {"step": int(step), "split": split, **{k: _plain(v) for k, v in metrics.items()}}
        self.history.append(record)
        if self._fh is not None:
            self._fh.write(json.dumps(record) + "\n")
            self._fh.flush()
        if self._tb is not None:
            for k, v in metrics.items():
                if isinstance(v, int | float) and math.isfinite(float(v)):
                    self._tb.add_scalar(f"{split}/{k}", float(v), int(step))
        return record

    def progress(self, step: int, loss: float | None = None) -> None:
        """Show ``step`` done (a bar on a terminal, a line every 10% in a log)."""
        if loss is None:
            self.bar.set(step)
        else:
            self.bar.set(step, loss=f"{loss:.4g}")

    def write_json(self, name: str, data: Mapping[str, Any]) -> None:
        """Atomically write ``RUN_DIR/name`` (process 0 only)."""
        if self.run_dir is None:
            return
        write_text(os.path.join(self.run_dir, name), json.dumps(data, indent=2))

    def close(self) -> None:
        self.bar.close()
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tb is not None:
            tb, self._tb = self._tb, None
            try:
                tb.close()
            except OSError:
                # Events are a convenience (metrics.jsonl is the record); a full disk must not
                # add tracebacks here or from tensorboardX's exit handler, which would retry.
                writer = getattr(tb, "file_writer", None)
                events = getattr(writer, "event_writer", None)
                if events is not None:
                    events._closed = True
                    worker = getattr(events, "_worker", None)
                    if worker is not None and worker.is_alive():
                        try:
                            worker.stop()
                        except (OSError, ValueError):
                            pass


def prepare_run_dir(run_dir: str) -> str:
    """Create the run directory (absolute path returned) and check that it is writable."""
    run_dir = os.path.abspath(os.path.expanduser(run_dir))
    if os.path.exists(run_dir) and not os.path.isdir(run_dir):
        raise FileExistsError(
            f"run_dir {run_dir}: is a file, not a directory; pass --run-dir (or run_dir=) with a "
            "directory path"
        )
    try:
        os.makedirs(run_dir, exist_ok=True)
        probe = os.path.join(run_dir, f".write-test-{os.getpid()}")
        with open(probe, "w") as fh:
            fh.write("ok")
        os.remove(probe)
    except OSError as err:
        raise ValueError(
            f"run_dir {run_dir}: cannot create or write it ({err.strerror or err}); pass --run-dir "
            "(or run_dir=) with a writable directory"
        ) from None
    return run_dir


def run_info(mesh: Any) -> dict[str, Any]:
    """Versions, platform, device and process counts and the mesh shape of this run."""
    import flax
    import jax
    import optax
    import orbax.checkpoint

    from sciml._version import __version__

    return {
        "sciml": __version__,
        "jax": jax.__version__,
        "flax": flax.__version__,
        "optax": optax.__version__,
        "orbax_checkpoint": orbax.checkpoint.__version__,
        "python": sys.version.split()[0],
        "platform": jax.default_backend(),
        "device_count": jax.device_count(),
        "local_device_count": jax.local_device_count(),
        "process_count": jax.process_count(),
        "mesh": dict(mesh.shape),
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
