"""The one runner of every reproduction: run directory, ``summary.json``, figures, stage lines.

The out-directory rule (nothing a user put there is ever deleted):

- a missing or empty ``--out`` is created/used and gets the marker file ``reproduce.json``;
- a non-empty ``--out`` without the marker was not created by ``sciml reproduce``: it is refused,
  with or without ``--overwrite`` (nothing is deleted, nothing claims it holds a reproduction);
- a non-empty ``--out`` with the marker is an earlier reproduction: refused without
  ``--overwrite``; with it, only the top-level entries that reproduction wrote are deleted.
  The marker records which entries were already there (``foreign``) when the run started and,
  when it finishes (:func:`finish_out_dir`), which ones it wrote (``written``); entries that
  are not the run's own are kept and listed on stderr.
"""

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


def _entries(out: Path) -> set[str]:
    return {p.name for p in out.iterdir()} - {MARKER}


def _read_marker(out: Path) -> dict[str, Any]:
    try:
        marker = json.loads((out / MARKER).read_text())
    except (OSError, ValueError) as err:
        raise FileExistsError(
            f"--out: {out / MARKER} is unreadable ({err}); the directory's owner is unknown, "
            "refusing to delete anything in it; choose another --out"
        ) from None
    if not isinstance(marker, dict):
        raise FileExistsError(
            f"--out: {out / MARKER} is not a reproduction marker (expected a JSON object); "
            "refusing to delete anything in it; choose another --out"
        )
    return marker


def _written_by_run(out: Path, marker: dict[str, Any]) -> set[str]:
    """Top-level entries of ``out`` that the reproduction recorded in ``marker`` wrote.

    A finished run lists them (``written``); an interrupted one wrote everything that was not
    there when it started (``foreign``).
    """
    present = _entries(out)
    if isinstance(marker.get("written"), list):
        return present & {str(n) for n in marker["written"]}
    return present - {str(n) for n in marker.get("foreign", [])}


def prepare_out_dir(out_dir: str | os.PathLike, *, name: str, overwrite: bool) -> Path:
    """Create (or safely reuse) ``out_dir`` for the reproduction ``name``; returns its path.

    See the module docstring for the rule. Raises ``FileExistsError`` (one line naming the
    directory and the fix) when ``out_dir`` may not be used.
    """
    out = Path(out_dir).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out: {out} exists and is not a directory; choose another --out")
    foreign: set[str] = set()
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).is_file():
            raise FileExistsError(
                f"--out: {out} is not empty and was not created by `sciml reproduce` (no {MARKER}); "
                "refusing to use or delete it, choose another --out"
            )
        marker = _read_marker(out)
        earlier = marker.get("reproduce", "a")
        if not overwrite:
            raise FileExistsError(
                f"--out: {out} holds an earlier {earlier} reproduction run; pass --overwrite to "
                "replace it (files it did not write are kept) or choose another --out"
            )
        ours = _written_by_run(out, marker)
        for entry in sorted(ours):
            path = out / entry
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        foreign = _entries(out)
        if foreign:
            stage(
                f"--overwrite: replaced the earlier {earlier} run in {out}; kept "
                f"{len(foreign)} entr{'y' if len(foreign) == 1 else 'ies'} it did not write: "
                + ", ".join(sorted(foreign))
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"--out: cannot create {out} ({err.strerror or err}); choose a writable --out"
        ) from None
    write_json(
        out / MARKER,
        {
            "reproduce": name,
            "created_by": "sciml reproduce",
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "foreign": sorted(foreign),
            "written": None,
        },
    )
    (out / "data").mkdir(exist_ok=True)
    return out


def finish_out_dir(out_dir: str | os.PathLike) -> list[str]:
    """Record in the marker the top-level entries the run wrote (what ``--overwrite`` may delete).

    Call once at the end of a reproduction; returns the recorded names.
    """
    out = Path(out_dir).expanduser().resolve()
    marker = _read_marker(out)
    marker["written"] = None
    written = sorted(_written_by_run(out, marker))
    marker["written"] = written
    marker["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    write_json(out / MARKER, marker)
    return written


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
