"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

import hashlib
import json
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# What open() gives a new file; mkstemp's temp file is 0600, and the rename would keep it,
# so a PDF copied to a shared folder or a course directory would be readable by nobody else.
FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
