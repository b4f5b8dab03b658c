"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

import errno
import hashlib
import json
import os
import tempfile
from pathlib import Path

from .errors import ReportBuilderError

FULL_DISK = (errno.ENOSPC, errno.EDQUOT)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# What open() gives a new file; mkstemp's temp file is 0600, and the rename would keep it,
# so a PDF copied to a shared folder or a course directory would be readable by nobody else.
FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `path` whole or not at all. A full disk, a folder where the file should be or a
    folder nobody may write to is one line naming the path; the file as it was before
    stays."""
    if path.is_dir():
        raise ReportBuilderError(f"cannot write {path}: it is a folder; name the file to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        _raise_if_full(err, path, data)
        raise ReportBuilderError(f"cannot write {path} ({err.strerror}); choose a folder you "
                                 "can write to") from None
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            _raise_if_full(err, path, data)
        raise


def _raise_if_full(err: OSError, path: Path, data: bytes) -> None:
    if err.errno in FULL_DISK:
        raise ReportBuilderError(
            f"no space left on the device holding {path.parent} (writing {path.name}, "
            f"{len(data) / 2**20:.1f} MB): free some space there, or build to another disk "
            "(--out DIR, --cache-dir DIR); the earlier PDF and the trained runs are kept") from None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, value) -> None:
    atomic_write_text(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def pixels_sha256(image) -> str:
    """Hash of a PIL image's decoded RGBA pixels: survives the PNG's re-encoding inside a
    PDF, so `verify` can match an image taken out of the PDF against the manifest."""
    import numpy as np

    pixels = np.asarray(image.convert("RGBA"))
    return hashlib.sha256(f"{pixels.shape}".encode() + pixels.tobytes()).hexdigest()
