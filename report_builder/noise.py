"""How far apart two measured numbers must be before a report says they differ.

Measurements keep their per-image values on the test set under `per_image`. A mean over
test images has the standard error of those values; two runs measured on the same images
are compared by the mean of their per-image differences and its standard error (paired),
which is much smaller than the unpaired one when both runs find the same images hard.
A difference of more than NOISE_SE standard errors is beyond the noise; anything less is
"within noise".
"""

import math
from dataclasses import dataclass

import numpy as np

from .errors import ReportBuilderError

NOISE_SE = 2


@dataclass(frozen=True)
class Difference:
    """a − b, and its standard error; `above`: a exceeds b beyond the noise."""

    difference: float
    se: float

    @property
    def above(self) -> bool:
        return self.difference > NOISE_SE * self.se

    @property
    def below(self) -> bool:
        return self.difference < -NOISE_SE * self.se

    @property
    def within_noise(self) -> bool:
        return not (self.above or self.below)


def mean_and_se(values) -> tuple[float, float]:
    """The mean of `values` (a list or an array) and its standard error."""
    values = np.asarray(values, dtype=np.float64)
    se = values.std(ddof=1) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(values.mean()), float(se)


def paired(a: dict, b: dict, key: str) -> Difference:
    """Run a's per-image `key` minus run b's, on the same test images: the mean difference
    and its paired standard error."""
    first, second = a["per_image"][key], b["per_image"][key]
    if len(first) != len(second):
        raise ReportBuilderError(f"{key}: runs measured on {len(first)} and {len(second)} "
                                 "images cannot be paired; measure both on the same test set")
    return paired_values(first, second)


def paired_values(first: list[float], second: list[float]) -> Difference:
    """The mean of first - second, item by item (the same pairs, images, ...), and its
    standard error."""
    if len(first) != len(second):
        raise ReportBuilderError(f"{len(first)} and {len(second)} values cannot be paired")
    return Difference(*mean_and_se(np.subtract(first, second, dtype=np.float64)))


def standard_error(run: dict, key: str) -> float:
    """Of the mean over test images of one run's `key`."""
    return mean_and_se(run["per_image"][key])[1]


def binomial_se(share: float, n: int) -> float:
    """Of a share of n independent yes/no outcomes (an accuracy over n test images)."""
    return math.sqrt(share * (1 - share) / n)


def independent(a: float, a_se: float, b: float, b_se: float) -> Difference:
    """a − b for numbers measured apart (two runs' FIDs on their own samples): the standard
    error of the difference is sqrt(a_se² + b_se²)."""
    return Difference(a - b, math.hypot(a_se, b_se))
