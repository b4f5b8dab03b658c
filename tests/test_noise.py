"""Differences against their noise: paired standard errors between runs on the same images."""

import math

import numpy as np
import pytest

from report_builder.errors import ReportBuilderError
from report_builder.noise import (
    Difference,
    independent,
    mean_and_se,
    paired,
    paired_values,
    standard_error,
)


def run(values) -> dict:
    return {"per_image": {"loss": list(values)}}


def test_a_paired_difference_sees_through_what_the_images_share():
    rng = np.random.default_rng(0)
    hardness = rng.normal(0, 10, 2000)  # both runs find the same images hard
    a = run(hardness + 100.3 + rng.normal(0, 0.5, 2000))
    b = run(hardness + 100.0 + rng.normal(0, 0.5, 2000))
    difference = paired(a, b, "loss")
    assert difference.difference == pytest.approx(0.3, abs=0.05)
    assert difference.se == pytest.approx(0.5 * math.sqrt(2 / 2000), rel=0.1)
    assert difference.above and not difference.within_noise
    # Unpaired, the same 0.3 is hidden by the images' spread of 10.
    unpaired = math.hypot(standard_error(a, "loss"), standard_error(b, "loss"))
    assert unpaired == pytest.approx(10 * math.sqrt(2 / 2000), rel=0.1)
    assert 2 * unpaired > 0.3


def test_within_noise_means_fewer_than_two_standard_errors_either_way():
    assert Difference(0.19, 0.1).within_noise and Difference(-0.19, 0.1).within_noise
    assert Difference(0.21, 0.1).above and Difference(-0.21, 0.1).below


def test_runs_measured_on_different_test_sets_cannot_be_paired():
    with pytest.raises(ReportBuilderError, match="measured on 3 and 2 images cannot be paired"):
        paired(run([1, 2, 3]), run([1, 2]), "loss")


def test_numbers_measured_apart_add_their_noise_in_quadrature():


    difference = independent(30.0, 3.0, 20.0, 4.0)
    assert difference.difference == 10.0 and difference.se == pytest.approx(5.0)
    assert difference.within_noise  # 10 < 2 x 5
    assert independent(31.0, 3.0, 20.0, 4.0).above


def test_values_paired_item_by_item():


    difference = paired_values([0.9, 0.8, 0.95, 0.85], [0.7, 0.6, 0.75, 0.65])
    assert difference.difference == pytest.approx(0.2) and difference.se == pytest.approx(0)
    assert difference.above
    with pytest.raises(ReportBuilderError, match="4 and 3 values cannot be paired"):
        paired_values([1, 2, 3, 4], [1, 2, 3])


def test_a_paired_difference_has_the_standard_error_of_the_per_image_differences():
    """Two readings of the same 8 test images (1: classed right), as simsiam pairs them."""
    a = np.array([1, 1, 1, 0, 1, 0, 1, 1], dtype=float)
    b = np.array([1, 0, 1, 0, 1, 0, 0, 1], dtype=float)
    difference = paired_values(a, b)
    assert difference.difference == pytest.approx(0.25)
    per_image = np.array([0., 1, 0, 0, 0, 0, 1, 0])
    assert difference.se == pytest.approx(per_image.std(ddof=1) / 8 ** 0.5)
    assert paired_values(a, a) == Difference(0.0, 0.0)  # the same answers: no noise at all
    assert mean_and_se(a)[1] == pytest.approx(a.std(ddof=1) / 8 ** 0.5)
