"""Atomic file writes: a crash leaves the old file or none, never half a file.

Every writer in sciml writes to a temporary name in the destination's directory and renames it
into place (``os.replace`` is atomic on POSIX and Windows within one file system). Imports nothing
heavy: the NumPy-only stepper loader depends on this module.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it (Linux: /proc; elsewhere set and restore)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class PendingFile:
    """A temporary file next to ``path`` that becomes ``path`` on :meth:`commit`.

    For writers that keep a file open across calls (streaming trajectory writers); one-shot
    writes use :func:`atomic_path`. :meth:`discard` removes the temporary file (nothing appears
    at ``path``). ``suffix`` lets libraries that look at file extensions see the right one.
    """

    def __init__(self, path: str | os.PathLike, *, suffix: str = ".tmp"):
        self.path = path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise IsADirectoryError(
                errno.EISDIR, "is a directory; give a file path inside it", os.fspath(path)
            )
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
        except OSError as err:  # name the user's path, not the temporary one
            raise type(err)(err.errno, err.strerror, os.fspath(path)) from None
        try:
            # mkstemp makes the file private (0600); the result is meant for colleagues and other
            # tools, so give it the mode any other writer would (0666 less the umask).
            os.fchmod(fd, 0o666 & ~current_umask())
        finally:
            os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> Path:
        """Move the temporary file to ``path`` (atomic within one file system)."""
        os.replace(self.tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file if it is still there."""
        if os.path.exists(self.tmp):
            os.remove(self.tmp)


@contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    ``suffix`` lets libraries that look at file extensions (matplotlib) see the right one.
    """
    pending = PendingFile(path, suffix=suffix)
    try:
        yield pending.tmp
        pending.commit()
    except BaseException:
        pending.discard()
        raise


def ensure_free_space(
    path: str | os.PathLike, nbytes: int, *, headroom: int = 2**20, what: str | None = None
) -> None:
    """Refuse a write of about ``nbytes`` into ``path``'s directory that would not fit.

    Libraries such as HDF5 are left in a state that crashes the interpreter when they hit a full
    disk, so their writers check first (``headroom`` covers metadata and caches). ``what``
    names the request in the message (default: the path).

    Raises:
      InsufficientSpaceError: names the path, the bytes needed and the bytes free.
    """
    from sciml.errors import InsufficientSpaceError

    directory = Path(path).parent
    if not directory.is_dir() or not os.access(directory, os.W_OK):
        return  # the write itself reports the missing or read-only directory
    free = shutil.disk_usage(directory).free
    if free < nbytes + headroom:
        raise InsufficientSpaceError(
            f"{what or os.fspath(path)}: no space left on the device (about "
            f"{(nbytes + headroom) / 2**20:.2f} MiB needed, {free / 2**20:.2f} MiB free); free "
            "space there or write to another place"
        )


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))
