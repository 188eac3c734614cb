"""Output of the reproduction runs: the run directory, ``summary.json`` and figures (atomic writes)."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from sciml.atomic import atomic_path, write_text

MARKER = "reproduce.json"


def prepare_out_dir(out_dir: str | os.PathLike, *, name: str, overwrite: bool) -> Path:
    """Create ``out_dir`` for a reproduction run.

    An existing non-empty directory is an error unless ``overwrite`` is set AND it holds the
    marker file of an earlier reproduction (so ``--overwrite`` never deletes unrelated data).
    """
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out: {out} exists and is not a directory; choose another --out")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"--out: {out} already exists and is not empty; pass --overwrite to replace an "
                "earlier reproduction run or choose another --out"
            )
        if not (out / MARKER).is_file():
            raise FileExistsError(
                f"--out: {out} is not empty and holds no {MARKER} of an earlier reproduction run; "
                "refusing to delete it, choose another --out"
            )
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "data").mkdir(exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"--out: cannot create {out} ({err.strerror or err}); choose a writable --out"
        ) from None
    write_json(
        out / MARKER,
        {"reproduce": name, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
    )
    return out


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON atomically; non-finite floats become ``null``."""
    return write_text(path, json.dumps(_plain(obj), indent=2, allow_nan=False) + "\n")


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Save a ``matplotlib.figure.Figure`` atomically (PNG; no pyplot, no display needed)."""
    path = Path(path)
    with atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path


def stage(message: str) -> None:
    """One progress line on stderr (the long stages show their own tqdm bars)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
