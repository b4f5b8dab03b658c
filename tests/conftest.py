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


@pytest.fixture(scope="session")
def quick_build(tmp_path_factory):
    """One real quick-profile build, shared by the slow tests: (out folder, CLI output)."""
    from typer.testing import CliRunner

    from report_builder.cli import app

    root = tmp_path_factory.mktemp("build")
    out, cache = root / "out", root / "runs"
    result = CliRunner().invoke(app, ["problem1", "--profile", "quick", "--out", str(out),
                                      "--cache-dir", str(cache), "--dataset", "mnist-5k"])
    assert result.exit_code == 0, result.output
    return out, cache, result.output


@pytest.fixture(scope="session")
def students():
    """Three students' course notebooks (tests/submissions.py): alice, bob, carol."""
    from submissions import student

    return {name: student(name, seed) for seed, name in enumerate(("alice", "bob", "carol"), 1)}
