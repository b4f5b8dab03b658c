import pytest
import torch

from report_builder.data import Dataset, load_mnist_5k, subset

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def mnist_5k() -> Dataset:
    return load_mnist_5k()


@pytest.fixture(scope="session")
def tiny(mnist_5k) -> Dataset:
    """256 training and 128 test images of real MNIST: enough to see losses fall."""
    return subset(mnist_5k, 256, 128)
