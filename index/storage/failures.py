"""Failures of the storage layer (sqlite, Chroma's Rust core, a Chroma server, the OS) worded as
clear errors, so that a full disk or a server that is down never reaches a user as a traceback."""
from __future__ import annotations

import errno
import functools
import os
import sqlite3
from pathlib import Path

from newsbot.index.errors import NewsbotError, StorageError, StoreUnavailableError
from newsbot.index.settings import Settings
from newsbot.index.storage.lexical import LexicalReset
from newsbot.index.storage.sqlite_files import damaged_store_file

_FULL = ("disk is full", "no space left", "file too large", "quota exceeded")
_READ_ONLY = ("readonly database", "read-only file system", "read only file system", "permission denied",
              "unable to open database file")
LOW_DISK_BYTES = 4 << 20


def free_bytes(path: Path) -> int:
    """Bytes free for this user on the disk holding `path` (very many where that cannot be told)."""
    try:
        st = os.statvfs(path)
    except OSError:
        return 1 << 62
    return st.f_bavail * st.f_frsize


def storage_failure(exc: BaseException, data_dir: Path) -> StorageError | None:
    """A clear error when `exc` (from sqlite, Chroma's Rust core or the OS) means the data
    directory is full or cannot be written; None for anything else."""
    errno_ = getattr(exc, "errno", None)
    text = str(exc).lower()
    storage_layer = isinstance(exc, (OSError, sqlite3.Error)) or (type(exc).__module__ or "").startswith("chromadb")
    if errno_ in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) or any(s in text for s in _FULL):
        why = "the disk is full"
    elif errno_ in (errno.EROFS, errno.EACCES, errno.EPERM) or any(s in text for s in _READ_ONLY):
        why = "it is read-only or not writable"
    elif storage_layer and free_bytes(data_dir) < LOW_DISK_BYTES:
        why = "the disk is full"  # Chroma's Rust core words it as e.g. "Failed to apply logs to the metadata segment"
    elif storage_layer and data_dir.is_dir() and not os.access(data_dir, os.W_OK):
        why = "it is read-only or not writable"
    else:
        return None
    return StorageError(f"cannot write to the data directory {data_dir}: {why}. Nothing indexed before was lost; "
                        f"free some space or fix the permissions, then run the command again ({str(exc)[:120]})")


def is_panic(exc: BaseException) -> bool:
    """A panic of Chroma's Rust core (`pyo3_runtime.PanicException`): a BaseException, not an
    Exception, so `except Exception` lets it through as a 30-line traceback. A store damaged in
    mid-file raises one ("Expect it to be fetched: ... database disk image is malformed")."""
    return type(exc).__name__ == "PanicException" and (type(exc).__module__ or "").startswith("pyo3")


def is_store_failure(exc: BaseException) -> bool:
    """A failure of the Chroma server or of the connection to it, or of its Rust core (not a bug of ours)."""
    module = type(exc).__module__ or ""
    return (isinstance(exc, (ConnectionError, TimeoutError)) or is_panic(exc)
            or module.split(".")[0] in {"chromadb", "httpx", "httpcore"})


def panic_error(exc: BaseException, settings: Settings) -> StorageError:
    """A panic worded: the damaged file when SQLite's check finds one, else what the core said."""
    said = str(exc).splitlines()[0][:200] if str(exc) else "a panic"
    return damaged_store(exc, settings) or StorageError(
        f"the vector store failed inside Chroma's storage core ({said}). "
        f"Run `newsbot health` to check the files of {settings.data_dir}; restore it from a backup if one is damaged.")


def damaged_store(exc: BaseException, settings: Settings) -> StorageError | None:
    """When `exc` came from the embedded Chroma store and its file fails SQLite's check, a clear
    error naming the file (it is the system of record: never discarded, unlike the derived
    lexical index and embedding cache)."""
    if settings.server_mode or not is_store_failure(exc):
        return None
    path = Path(settings.data_dir) / "chroma" / "chroma.sqlite3"
    why = damaged_store_file(path)
    if why is None:
        return None
    return StorageError(
        f"the vector store file {path} is damaged ({why}). It holds your articles, so newsbot does not "
        f"repair it by discarding data: stop newsbot, restore the data directory {settings.data_dir} "
        f"from a backup, or move it away and add the articles again (newsbot add ...)."
    )


def unavailable(exc: BaseException, settings: Settings) -> StoreUnavailableError | None:
    """In server mode, a Chroma server that is down or unreachable (the next call tries again)."""
    if not (settings.server_mode and is_store_failure(exc)):
        return None
    return StoreUnavailableError(
        f"the vector store (Chroma server at {settings.chroma_host}:{settings.chroma_port}) "
        f"is unavailable; try again shortly ({exc.__class__.__name__})")


def store_guard(method):
    """Storage failures as clear errors, for the methods of an object with `settings` and
    `forget_sync()`. A server that is down is a StoreUnavailableError and the next call tries again,
    so the bot recovers without a restart once the server is back. A damaged lexical index is
    started anew, rebuilt from Chroma, and the call retried once (every guarded method reaches the
    lexical index for writing only after Chroma's)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            try:
                return method(self, *args, **kwargs)
            except LexicalReset:
                self.forget_sync()
                return method(self, *args, **kwargs)
        except NewsbotError:
            raise
        except BaseException as exc:
            if is_panic(exc):
                raise panic_error(exc, self.settings) from None
            if not isinstance(exc, Exception):
                raise
            error = storage_failure(exc, Path(self.settings.data_dir)) or unavailable(exc, self.settings)
            if isinstance(error, StoreUnavailableError):
                self.forget_sync()
            error = error or damaged_store(exc, self.settings)
            if error is not None:
                raise error from None
            raise

    return wrapper
