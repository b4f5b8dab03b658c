import numpy as np
import pytest
import torch

from report_builder import evaluate as ev
from report_builder.train import as_float


def small_judge(images: torch.Tensor) -> ev.Judge:
    """An untrained classifier is enough: FID compares feature statistics, whatever they are."""
    from report_builder.models.classifier import DigitClassifier

    torch.manual_seed(0)
    return ev.make_judge(DigitClassifier().eval(), images, torch.zeros(len(images), dtype=int))


def test_fid_of_a_set_against_itself_is_zero_and_against_noise_large(tiny):
    from report_builder.train import as_float

    test = as_float(tiny.test_images)
    judge = small_judge(test)
    assert ev.judge_images(judge, test)["frechet"] == pytest.approx(0, abs=1e-3)
    other_digits = ev.judge_images(judge, as_float(tiny.train_images[:128]))["frechet"]
    noise = ev.judge_images(judge, torch.rand_like(test))["frechet"]
    assert noise > 20 * other_digits > 0


def test_fid_matches_the_closed_form_of_two_diagonal_gaussians():
    """torchmetrics' Fréchet distance of the features themselves (the judge's features pass
    through unchanged): ||m_a - m_b||² + Σ (σ_a - σ_b)² for diagonal covariances."""
    from torchmetrics.image.fid import FrechetInceptionDistance

    torch.manual_seed(0)
    a = torch.randn(20000, 2) * torch.tensor([1.0, 2.0])
    b = torch.randn(20000, 2) * torch.tensor([3.0, 1.0]) + torch.tensor([2.0, 1.0])
    fid = FrechetInceptionDistance(ev.Features(2))
    fid.update(a, real=True)
    fid.update(b, real=False)
    expected = 4.0 + 1.0 + (1 - 3) ** 2 + (2 - 1) ** 2
    assert fid.compute().item() == pytest.approx(expected, rel=0.03)


def test_spread_is_zero_for_identical_images():
    assert ev.spread(torch.ones(5, 1, 28, 28)) == 0.0
    assert ev.spread(torch.rand(50, 1, 28, 28)) > 0.2


def test_a_frechet_distance_carries_its_sampling_noise(tiny):
    judge = small_judge(as_float(tiny.test_images[:256]))
    many = ev.judge_images(judge, as_float(tiny.train_images[:512]))
    few = ev.judge_images(judge, as_float(tiny.train_images[:64]))
    assert 0 < many["frechet_se"] < few["frechet_se"]  # fewer samples, more noise
    again = ev.judge_images(judge, as_float(tiny.train_images[:512]))
    assert again["frechet_se"] == many["frechet_se"]  # the same resamples every time


def test_the_class_entropy_carries_its_sampling_noise():
    even = torch.arange(1000) % 10
    one = torch.zeros(1000, dtype=torch.long)
    counts = torch.bincount(even, minlength=10).double()
    assert ev.class_entropy(counts) == pytest.approx(np.log2(10))
    assert ev.class_entropy_se(one, 10) == 0.0  # every resample is one class
    few, many = ev.class_entropy_se(even[:50], 10), ev.class_entropy_se(even, 10)
    assert 0 < many < few  # fewer samples, a noisier entropy
    assert ev.class_entropy_se(even, 10) == many  # seeded
