import numpy as np
import pytest
import torch

from report_builder import evaluate as ev


def test_frechet_distance_of_a_gaussian_to_itself_is_zero():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6))
    cov = np.cov(a, rowvar=False)
    assert ev.frechet_distance(a.mean(0), cov, a.mean(0), cov) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_matches_the_diagonal_closed_form():
    mean_a, mean_b = np.array([0.0, 1.0]), np.array([2.0, 1.0])
    var_a, var_b = np.array([1.0, 4.0]), np.array([9.0, 1.0])
    expected = 4.0 + ((np.sqrt(var_a) - np.sqrt(var_b)) ** 2).sum()
    got = ev.frechet_distance(mean_a, np.diag(var_a), mean_b, np.diag(var_b))
    assert got == pytest.approx(expected)


def test_an_even_morph_has_jump_ratio_one_and_a_jump_does_not():
    start, end = np.zeros((1, 4, 4)), np.ones((1, 4, 4))
    even = np.stack([start + t * (end - start) for t in np.linspace(0, 1, 7)])
    jumpy = np.stack([start] * 4 + [end] * 3)
    confidence = np.ones(7)
    assert ev.path_statistics(even, confidence)["jump_ratio"] == pytest.approx(1.0)
    assert ev.path_statistics(jumpy, confidence)["jump_ratio"] == pytest.approx(6.0)


def test_interpolation_follows_the_course_formula():
    class Linear(torch.nn.Module):
        nz = 2

        def encode(self, x):
            return x.flatten(1)[:, :2]

        def decode(self, z):
            return z

    start, end = torch.tensor([[0.0, 0.0]]), torch.tensor([[5.0, 10.0]])
    path = ev.interpolate(Linear(), start, end, steps=5)
    assert torch.allclose(path, torch.tensor([[0, 0], [1, 2], [2, 4], [3, 6], [4, 8.0]]))


def test_spread_is_zero_for_identical_images():
    assert ev.spread(torch.ones(5, 1, 28, 28)) == 0.0
    assert ev.spread(torch.rand(50, 1, 28, 28)) > 0.2
