"""The files of a model directory (NEWSBOT_MODEL_DIR): graphs and tokenizers built from the weights
a package ships. Written whole or not at all, readable by every user, and a folder that cannot be
read or written is named in the error, never mistaken for the data directory."""
from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from newsbot.index.errors import StorageError

MODEL_FILE_MODE = 0o644
MODEL_DIR_MODE = 0o755


def write_atomically(path: Path, data: bytes) -> None:
    """Write a model file (a graph, a tokenizer) whole or not at all: a temp file renamed into place.

    Model files are derived from the public weights a package ships, and a model directory is often
    shared: the container image builds them as root and runs as uid 10001. So they are written
    readable by everyone (0644) and the folders made for them 0755, whatever the umask; `mkstemp`
    alone would leave them 0600 and the image unable to read its own model. Private data never goes
    through here (the data directory is 0700, so a model cached inside it stays private)."""
    try:
        make_dirs(path.parent, MODEL_DIR_MODE)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise model_dir_error(path.parent, exc) from None
        raise
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, MODEL_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def make_dirs(folder: Path, mode: int) -> None:
    """`folder` and its missing parents, each made with `mode` exactly (mkdir's mode is masked by the umask)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
        os.chmod(made, mode)


def model_dir_error(folder: Path, exc: OSError) -> StorageError:
    """A model folder this user may not read or write, worded with what to do."""
    return StorageError(
        f"cannot use the model directory {folder} (NEWSBOT_MODEL_DIR): {exc.strerror or exc}. Its files are "
        "built once (`newsbot warm`); make them readable by this user (chmod -R a+rX), or point "
        "NEWSBOT_MODEL_DIR at a folder this user can write, where they will be built again")
