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
def quick_build_of(tmp_path_factory):
    """quick_build_of(problem): one real quick-profile build of the problem on mnist-5k, made
    once per test session: (out folder, cache folder, CLI output)."""
    from typer.testing import CliRunner

    from report_builder.cli import app

    built = {}

    def build(problem: str):
        if problem not in built:
            root = tmp_path_factory.mktemp(problem)
            out, cache = root / "out", root / "runs"
            result = CliRunner().invoke(app, [problem, "--profile", "quick", "--out", str(out),
                                              "--cache-dir", str(cache), "--dataset", "mnist-5k"])
            assert result.exit_code == 0, result.output
            built[problem] = out, cache, result.output
        return built[problem]

    return build


@pytest.fixture(scope="session")
def quick_build(quick_build_of):
    """One real quick-profile build of problem1, shared by the slow tests."""
    return quick_build_of("problem1")


@pytest.fixture(scope="session")
def students():
    """Three students' course notebooks (tests/submissions.py): alice, bob, carol."""
    from submissions import student

    return {name: student(name, seed) for seed, name in enumerate(("alice", "bob", "carol"), 1)}


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray of two CPUs for the session (the tests skip where Ray is not installed:
    it is the optional extra report-builder[ray])."""
    ray = pytest.importorskip("ray", reason="Ray is the optional extra: "
                                            "pip install 'report-builder[ray]'")
    import logging

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    from report_builder.cluster import connect

    yield connect()
    ray.shutdown()
