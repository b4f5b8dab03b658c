"""The interpolation analysis: a path along the course's formula, and how even it is."""

import numpy as np
import pytest
import torch

from report_builder.families.autoencoding.interpolation import interpolate, path_statistics


def test_an_even_morph_has_jump_ratio_one_and_a_jump_does_not():
    start, end = np.zeros((1, 4, 4)), np.ones((1, 4, 4))
    even = np.stack([start + t * (end - start) for t in np.linspace(0, 1, 7)])
    jumpy = np.stack([start] * 4 + [end] * 3)
    confidence = np.ones(7)
    assert path_statistics(even, confidence)["jump_ratio"] == pytest.approx(1.0)
    assert path_statistics(jumpy, confidence)["jump_ratio"] == pytest.approx(6.0)


def test_interpolation_follows_the_course_formula():
    class Linear(torch.nn.Module):
        nz = 2

        def encode(self, x):
            return x.flatten(1)[:, :2]

        def decode(self, z):
            return z

    start, end = torch.tensor([[0.0, 0.0]]), torch.tensor([[5.0, 10.0]])
    path = interpolate(Linear(), start, end, steps=5)
    assert torch.allclose(path, torch.tensor([[0, 0], [1, 2], [2, 4], [3, 6], [4, 8.0]]))
