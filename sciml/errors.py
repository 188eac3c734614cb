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
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "CheckpointError",
    "DataFileError",
    "InsufficientSpaceError",
    "RunDirLockedError",
    "SciMLError",
    "describe_fault",
    "reading",
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


# Operating-system faults that are not damage of the file: reported as they are.
_OS_FAULTS = {errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.EIO, errno.EMFILE}


@contextmanager
def reading(path: str | os.PathLike, *, what: str = "file") -> Iterator[None]:
    """Turn any error raised while reading ``path`` into one :class:`DataFileError` line.

    HDF5, h5py, netCDF and JSON raise many types on damaged bytes (OSError without errno,
    RuntimeError, KeyError, TypeError, UnicodeDecodeError, struct errors...). Inside this block
    they all become a ``DataFileError`` naming the file; sciml's own ``ValueError`` messages
    (which name the file) keep their text. Operating-system faults (missing file, permission,
    I/O error) and interrupts pass through unchanged.
    """
    name = os.fspath(path)
    try:
        yield
    except (DataFileError, FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except OSError as err:
        if isinstance(err.errno, int) and err.errno in _OS_FAULTS:
            raise
        raise _damaged(name, what, err) from None
    except MemoryError as err:
        raise _damaged(name, what, err) from None
    except ValueError as err:
        if name in str(err) or os.path.basename(name) in str(err):
            raise DataFileError(" ".join(str(err).split())) from None
        raise _damaged(name, what, err) from None
    except Exception as err:
        raise _damaged(name, what, err) from None


def _damaged(name: str, what: str, err: BaseException) -> DataFileError:
    text = " ".join(str(err).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    return DataFileError(
        f"{name}: unreadable {what} ({type(err).__name__}: {text}); the file is damaged or not "
        f"a {what}: re-download or regenerate it"
    )
