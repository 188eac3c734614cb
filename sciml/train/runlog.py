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

from tqdm.auto import tqdm

from sciml.atomic import write_text

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
        self.bar = tqdm(
            total=total_steps,
            initial=start_step,
            unit="step",
            dynamic_ncols=True,
            disable=not (enabled and sys.stderr.isatty()),
        )

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
        if self.bar.disable:
            return
        self.bar.update(step - self.bar.n)
        if loss is not None:
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

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
            self._tb.close()
            self._tb = None


def prepare_run_dir(run_dir: str) -> str:
    """Create the run directory (absolute path returned) and check that it is writable."""
    run_dir = os.path.abspath(os.path.expanduser(run_dir))
    try:
        os.makedirs(run_dir, exist_ok=True)
        probe = os.path.join(run_dir, f".write-test-{os.getpid()}")
        with open(probe, "w") as fh:
            fh.write("ok")
        os.remove(probe)
    except OSError as err:
        raise ValueError(
            f"run_dir: cannot create or write {run_dir!r} ({err.strerror or err}); pass --run-dir "
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
