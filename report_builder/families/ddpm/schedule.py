"""The forward process of denoising diffusion, as the papers write it.

Forward (Ho et al. 2020, eq. 4):  q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I),  ᾱ_t = Π_{s≤t} (1 − β_s)

- linear: β_t from 1e-4 to 0.02 over T steps (Ho et al.).
- cosine: ᾱ_t = f(t) / f(0), f(t) = cos²((t/T + s) / (1 + s) · π/2), s = 0.008, each β_t
  clipped to 0.999 (Nichol & Dhariwal 2021, eq. 17).

The samplers that run the process backwards are sampling.py's: they never train.

Time is 1-based as in the papers: t = 1 … T; t = 0 is the data. Pixels live in [−1, 1].
"""

import math
from dataclasses import dataclass
from functools import cache
from typing import Literal

import torch

Schedule = Literal["linear", "cosine"]
COSINE_OFFSET = 0.008  # s of Nichol & Dhariwal: keeps β_1 from being vanishingly small
MAX_BETA = 0.999


def betas(schedule: Schedule, steps: int) -> torch.Tensor:
    """β_1 … β_T, float64."""
    if schedule == "linear":
        # Ho et al.'s range is for T = 1000; scaled so that other T destroy the image alike.
        scale = 1000 / steps
        return torch.linspace(scale * 1e-4, scale * 0.02, steps, dtype=torch.float64)
    t = torch.arange(steps + 1, dtype=torch.float64) / steps
    f = torch.cos((t + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    alpha_bar = f / f[0]
    return (1 - alpha_bar[1:] / alpha_bar[:-1]).clamp(max=MAX_BETA)


@dataclass(frozen=True)
class Process:
    """β_t, α_t = 1 − β_t and ᾱ_t, indexed by t = 0 … T (index 0: the data, ᾱ_0 = 1)."""

    beta: torch.Tensor
    alpha: torch.Tensor
    alpha_bar: torch.Tensor

    @classmethod
    def make(cls, schedule: Schedule, steps: int) -> "Process":
        beta = torch.cat([torch.zeros(1, dtype=torch.float64), betas(schedule, steps)])
        alpha = 1 - beta
        return cls(beta, alpha, torch.cumprod(alpha, 0))

    @property
    def steps(self) -> int:
        return len(self.beta) - 1

    def signal_to_noise(self) -> torch.Tensor:
        """ᾱ_t / (1 − ᾱ_t) for t = 1 … T."""
        return self.alpha_bar[1:] / (1 - self.alpha_bar[1:])

    def noised(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """A draw of x_t ~ q(x_t | x_0) for each image's t, given its noise ε."""
        a = self.alpha_bar.to(x0.device)[t].float().view(-1, 1, 1, 1)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [−1, 1], the range the forward process ends in N(0, I) from."""
    return images * 2 - 1


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[−1, 1] -> [0, 1], clipped: what the judge and the figures read."""
    return ((x + 1) / 2).clamp(0, 1)


@cache
def process(schedule: Schedule, steps: int) -> Process:
    """The schedule's process, made once."""
    return Process.make(schedule, steps)
