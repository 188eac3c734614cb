"""One writer per run directory: an advisory lock held for the life of a run, and the marker
that tells sciml's own run directories from a user's folder.

``RUN_DIR/.sciml-lock`` is locked with ``fcntl.flock`` (exclusive, non-blocking) by the process
that trains into the directory, and holds that process's pid, host and start time. The operating
system drops the lock when the process ends in any way (SIGKILL and power loss included), so a
stale lock never blocks a resume; the file itself stays (removing it would race with the next
writer). A second writer gets :class:`~sciml.errors.RunDirLockedError` naming the holder.

``RUN_DIR/.sciml-run`` marks a directory sciml created as a run directory. A directory without
it (and without the ``run_info.json`` of runs made before the marker existed) that already holds a
file a run writes (``config.yaml``, ``metrics.jsonl``, ...) is a user's folder: training into it
is refused rather than overwriting those files.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sciml.errors import RunDirLockedError

__all__ = ["LOCK_FILE", "MARKER_FILE", "RUN_FILES", "check_run_dir_owner", "hold_run_dir"]

LOCK_FILE = ".sciml-lock"
MARKER_FILE = ".sciml-run"
# What a run writes at the top of its directory.
RUN_FILES = ("config.yaml", "metrics.jsonl", "run_info.json", "checkpoints", "stats", "tensorboard")

_HELD: dict[str, list] = {}  # run_dir -> [fd, depth]: re-entrant within one process
_HELD_LOCK = threading.Lock()


def check_run_dir_owner(run_dir: str) -> None:
    """Refuse a directory that holds files a run would write but that sciml did not create."""
    if not os.path.isdir(run_dir):
        return
    names = set(os.listdir(run_dir))
    if MARKER_FILE in names or "run_info.json" in names:
        return
    clash = sorted(names & set(RUN_FILES))
    if clash:
        raise FileExistsError(
            f"run_dir {run_dir}: holds {', '.join(clash)} that sciml did not write (no "
            f"{MARKER_FILE} marker); training would overwrite them: move them or choose another "
            "--run-dir"
        )


def _holder(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            fields = fh.read().split()
    except OSError:
        fields = []
    if len(fields) >= 2:
        since = f", since {fields[2]}" if len(fields) > 2 else ""
        return f"process {fields[0]} on host {fields[1]}{since}"
    return "another process (no pid recorded)"


@contextmanager
def hold_run_dir(run_dir: str) -> Iterator[None]:
    """Lock ``run_dir`` (created if missing) for this process while the block runs.

    Raises:
      RunDirLockedError: another live process holds the lock (the message names its pid and host).
    """
    import fcntl

    run_dir = os.path.abspath(run_dir)
    with _HELD_LOCK:
        held = _HELD.get(run_dir)
        if held is not None:
            held[1] += 1
    if held is None:
        check_run_dir_owner(run_dir)
        os.makedirs(run_dir, exist_ok=True)
        path = os.path.join(run_dir, LOCK_FILE)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunDirLockedError(
                f"run_dir {run_dir}: in use by {_holder(path)}; wait for that run to end (or stop "
                "it), or choose another --run-dir"
            ) from None
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {stamp}\n".encode())
        marker = os.path.join(run_dir, MARKER_FILE)
        if not os.path.exists(marker):
            with open(marker, "w", encoding="utf-8") as fh:
                fh.write("a sciml run directory (written by sciml train)\n")
        with _HELD_LOCK:
            _HELD[run_dir] = [fd, 1]
    try:
        yield
    finally:
        with _HELD_LOCK:
            entry = _HELD[run_dir]
            entry[1] -= 1
            if entry[1] == 0:
                del _HELD[run_dir]
                os.close(entry[0])  # releases the flock
