"""Writing output files so that an earlier file is never lost.

:func:`atomic_write` writes to a temporary file in the target's folder, flushes
it to disk and renames it over the target in one step (``os.replace``). A
kill, a Ctrl-C, a full disk or a second writer at any moment leaves either the
earlier file or the complete new one, never a truncated file under the
target's name. :func:`ensure_writable` checks an output path before any long
computation, so that a bad path fails in seconds rather than after sampling.

This module imports only the standard library, so the command line can check
its outputs before loading the heavy libraries.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

#: Extra free space required on top of the estimated file size (HDF5 headers, chunk padding).
SPACE_MARGIN_BYTES = 1 << 20
#: Longest wait for the writing child process, in seconds, before it is killed; raised to one second per
#: megabyte of the expected file (a slow disk) when that is longer. A child forked from a process with
#: threads can deadlock on a lock another thread held at the fork (HDF5, BLAS, logging): the save then
#: fails with a clear error instead of hanging.
WRITER_TIMEOUT_S = 300.0


class OutputError(ValueError):
    """An output path that cannot be written; the message names the path and why."""


def temporary_name(path: Path) -> Path:
    """The temporary file ``path`` is written to before the rename (hidden, same folder, per process)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def ensure_writable(path: str | Path, *, suffix: str | None = None, folder: bool = False) -> Path:
    """Check, without leaving anything behind, that ``path`` can be written; return it.

    Parameters
    ----------
    path
        The file (or, with ``folder=True``, the folder) to be written.
    suffix
        Required file suffix (e.g. ``".nc"``).
    folder
        ``path`` is a folder that files will be written into.

    Raises
    ------
    OutputError
        If the path is an existing folder (file expected) or file (folder expected),
        its parent is not a folder, or the folder does not accept new files.
    """
    path = Path(path)
    if suffix is not None and path.suffix != suffix:
        raise OutputError(f"the output must name a {suffix} file, got {str(path)!r}")
    if folder:
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path} exists and is a file, not a folder; choose another output folder")
        target_dir = path
    else:
        if path.is_dir():
            raise OutputError(f"{path} is a folder; give a file name such as {path / ('fit' + (suffix or ''))}")
        target_dir = path.parent
    existing = target_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {path}: {existing} is a file, not a folder")
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target_dir, prefix=".bayeslaw-write-check-"):
            pass
    except OSError as err:
        raise OutputError(f"cannot write to {target_dir}: {err.strerror or err}") from None
    return path


def free_bytes(folder: Path) -> int:
    """Free space in ``folder`` (the check before writing)."""
    return shutil.disk_usage(folder).free


def atomic_write(path: str | Path, write: Callable[[Path], None], *, size_hint: int = 0) -> Path:
    """Call ``write(tmp)`` on a temporary file, then move it over ``path`` in one step.

    Parameters
    ----------
    path
        Final location.
    write
        Writes the complete file at the path it is given.
    size_hint
        Expected size in bytes; when the folder has less free space than that
        (plus :data:`SPACE_MARGIN_BYTES`), nothing is written.

    Raises
    ------
    OutputError
        On a full disk (before or while writing) or an unwritable folder; ``path``
        is left as it was and the temporary file is removed.
    """
    path = Path(path)
    ensure_writable(path)
    folder = path.parent
    free = free_bytes(folder)
    if size_hint and free < size_hint + SPACE_MARGIN_BYTES:
        raise OutputError(
            f"not enough disk space to write {path}: about {(size_hint + SPACE_MARGIN_BYTES) / 1e6:.1f} MB needed, "
            f"{free / 1e6:.1f} MB free; nothing was written{' and the earlier file is untouched' if path.exists() else ''}"
        )
    _remove_stale_temporaries(path)
    tmp = temporary_name(path)
    kept = " and the earlier file is untouched" if path.exists() else ""
    try:
        if hasattr(os, "fork"):
            _write_isolated(write, tmp, max(WRITER_TIMEOUT_S, size_hint / 1e6))
        else:
            write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except _WriterFailed as err:
        tmp.unlink(missing_ok=True)
        if err.disk_full:
            raise OutputError(f"disk full while writing {path}: nothing was written{kept}") from None
        raise OutputError(f"could not write {path} ({err}); nothing was written{kept}") from None
    except BaseException as err:
        disk_full = _disk_full(err, folder)
        tmp.unlink(missing_ok=True)
        if disk_full:
            raise OutputError(f"disk full while writing {path}: nothing was written{kept}") from None
        raise
    _fsync_folder(folder)
    return path


class _WriterFailed(Exception):
    """The writing child process failed; ``disk_full`` when it ran out of space."""

    def __init__(self, message: str, disk_full: bool) -> None:
        super().__init__(message)
        self.disk_full = disk_full


_EXIT_DISK_FULL = 28


def _write_isolated(write: Callable[[Path], None], tmp: Path, timeout: float) -> None:
    """Run ``write(tmp)`` in a forked child process; kill it if it has not finished after ``timeout`` seconds.

    HDF5 can crash the process (segfault) when a write fails, e.g. on a full disk;
    in a child, such a crash becomes an error here instead of killing the caller.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_end)
        code = 0
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)  # HDF5's noise about a failed file; the error itself goes through the pipe
            write(tmp)
        except BaseException as err:  # report everything to the parent, including KeyboardInterrupt
            code = _EXIT_DISK_FULL if _disk_full(err, tmp.parent) else 1
            os.write(write_end, f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}".encode()[:2000])
        finally:
            os._exit(code)  # skip interpreter teardown (HDF5 may crash while flushing a failed file)
    os.close(write_end)
    try:
        status = _wait(pid, timeout)
    except BaseException:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        raise
    finally:
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read().decode(errors="replace")
    if os.WIFSIGNALED(status):
        raise _WriterFailed(f"the writer crashed with signal {os.WTERMSIG(status)}", _disk_full(OSError(), tmp.parent))
    code = os.WEXITSTATUS(status)
    if code:
        raise _WriterFailed(message or f"the writer exited with status {code}", code == _EXIT_DISK_FULL)


def _wait(pid: int, timeout: float) -> int:
    """The exit status of child ``pid``; :class:`_WriterFailed` after ``timeout`` seconds (the caller kills it)."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            raise _WriterFailed(f"the writer process did not finish within {timeout:.0f} s and was stopped", disk_full=False)
        time.sleep(pause)
        pause = min(2 * pause, 0.1)


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files of ``path`` left by writers that were killed (their process is gone)."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        pid = stale.name[len(path.name) + 2 : -len(".tmp")]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            stale.unlink(missing_ok=True)
        except OSError:  # the process exists but belongs to someone else
            continue


def _disk_full(err: BaseException, folder: Path) -> bool:
    """Whether ``err`` came from a full disk (HDF5 reports it under several exception types)."""
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if "No space left on device" in str(err) or "errno = 28" in str(err):  # HDF5 wraps ENOSPC in RuntimeError
        return True
    if not isinstance(err, Exception):
        return False
    try:
        return shutil.disk_usage(folder).free < SPACE_MARGIN_BYTES
    except OSError:
        return False


def _fsync_folder(folder: Path) -> None:
    """Flush the folder entry of the rename (not possible on every platform; then skipped)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
