"""sciml's own error types and the one-line account of an operating-system fault.

Every reader raises :class:`DataFileError` (a ``ValueError``) when a file is damaged or is not
what it claims to be, naming the file, what was wrong and the fix; checkpoints raise its
subclass :class:`CheckpointError`. A second process writing into a locked run directory gets a
:class:`RunDirLockedError`. :func:`describe_fault` turns an ``OSError`` (and the HDF5 errors
that carry an errno in their text) into one line in the user's terms: which file or directory,
what happened, and what to do. Imports nothing heavy: the NumPy-only stepper loader uses it.
"""

from __future__ import annotations

import errno
import re

__all__ = [
    "CheckpointError",
    "DataFileError",
    "InsufficientSpaceError",
    "RunDirLockedError",
    "SciMLError",
    "describe_fault",
]


class SciMLError(Exception):
    """Base of the errors sciml raises for a fault it understands (the message is one line)."""


class DataFileError(SciMLError, ValueError):
    """A data file, stepper artifact or checkpoint is corrupt, truncated or unreadable."""


class CheckpointError(DataFileError):
    """A checkpoint (or every checkpoint) of a run directory cannot be read."""


class RunDirLockedError(SciMLError, FileExistsError):
    """Another live process holds the run directory's lock."""


class InsufficientSpaceError(SciMLError, OSError):
    """A write was refused before it started: the output would not fit the free disk space.

    Raised with a message only (``errno`` is None); ``errno_code`` is ``ENOSPC``.
    """

    errno_code = errno.ENOSPC


# errno -> (what happened, what to do); {path} is filled in.
_ERRNO_TEXT: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("no space left on the device", "free space there or write to another place"),
    errno.EDQUOT: ("disk quota exceeded", "free space in your quota or write to another place"),
    errno.EROFS: ("read-only file system", "write to a writable place (e.g. --out/--run-dir)"),
    errno.EACCES: ("permission denied", "fix its permissions or write to another place"),
    errno.EPERM: ("operation not permitted", "fix its permissions or write to another place"),
    errno.ENOTDIR: (
        "a part of the path is a file, not a directory",
        "rename that file or choose another path",
    ),
    errno.EISDIR: ("is a directory, expected a file", "pass a file path"),
    errno.ENOENT: ("no such file or directory", "check the path"),
    errno.EEXIST: ("already exists", "choose another path"),
    errno.EIO: ("input/output error (failing disk or network file system)", "check the device"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
    errno.EMFILE: ("too many open files", "raise the limit (ulimit -n) or close other programs"),
}

_HDF5_ERRNO = re.compile(r"errno = (\d+)|os_error_code='(\d+)'")
_HDF5_NAME = re.compile(r"(?:file)?name = '([^']*)'|local file \"([^\"]*)\"")


def _errno_and_path(err: BaseException) -> tuple[int | None, str | None]:
    code = getattr(err, "errno", None)
    path = getattr(err, "filename", None)
    text = str(err)
    if not isinstance(code, int) or code not in _ERRNO_TEXT:
        match = _HDF5_ERRNO.search(text)
        code = int(match.group(1) or match.group(2)) if match else code
    if path is None:
        match = _HDF5_NAME.search(text)
        path = (match.group(1) or match.group(2)) if match else None
    return code, path


def _chain(err: BaseException):
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        if err.__cause__ is not None:
            err = err.__cause__
        elif err.__suppress_context__:
            err = None
        else:
            err = err.__context__


def describe_fault(
    err: BaseException, where: str | None = None, *, causes: bool = True
) -> str | None:
    """One line for an operating-system fault in ``err`` or its causes; None if there is none.

    ``where`` names the file or directory when the error itself does not (e.g. the ``--out``);
    ``causes`` also searches the errors it was raised from.
    Recognises ``OSError`` by ``errno`` and HDF5 errors (h5py ``OSError``/``RuntimeError``)
    by the ``errno = N`` and ``name = '...'`` parts of their text.
    """
    for e in _chain(err) if causes else (err,):
        if not isinstance(e, OSError | RuntimeError | ValueError):
            continue
        code, path = _errno_and_path(e)
        if code in _ERRNO_TEXT:
            what, fix = _ERRNO_TEXT[code]
            path = path or where or "(unnamed file)"
            return f"{path}: {what}; {fix}"
    return None
