"""Atomic file writes: a crash leaves the old file or none, never half a file.

Every writer in sciml writes to a temporary name in the destination's directory and renames it
into place (``os.replace`` is atomic on POSIX and Windows within one file system). Imports nothing
heavy: the NumPy-only stepper loader depends on this module.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PendingFile:
    """A temporary file next to ``path`` that becomes ``path`` on :meth:`commit`.

    For writers that keep a file open across calls (streaming trajectory writers); one-shot
    writes use :func:`atomic_path`. :meth:`discard` removes the temporary file (nothing appears
    at ``path``). ``suffix`` lets libraries that look at file extensions see the right one.
    """

    def __init__(self, path: str | os.PathLike, *, suffix: str = ".tmp"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=suffix, dir=self.path.parent
        )
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


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns the path."""
    return write_bytes(path, text.encode("utf-8"))
