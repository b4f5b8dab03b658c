"""Diagonal Gaussians: the VAE's prior N(0, I) and posterior N(mu, sigma^2).

Log densities are summed over the latent dimensions (the last axis); they are what the
single-sample KL estimate and the importance-sampled log-likelihood are made of.
"""

import math

import torch

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)), summed over latent dimensions, averaged over the batch.

    Kingma & Welling (2014), Appendix B: -KL = 1/2 sum(1 + log sigma^2 - mu^2 - sigma^2).
    """
    return gaussian_kl_each(mu, log_sigma).mean()


def gaussian_kl_each(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """The same KL for each row: [batch]."""
    per_dim = 0.5 * (mu.pow(2) + torch.exp(2 * log_sigma) - 1 - 2 * log_sigma)
    return per_dim.sum(dim=-1)


def log_normal(z: torch.Tensor, mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, sigma^2), summed over the last axis."""
    return (-0.5 * LOG_2PI - log_sigma - 0.5 * ((z - mu) * torch.exp(-log_sigma)).pow(2)).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last axis."""
    return (-0.5 * LOG_2PI - 0.5 * z.pow(2)).sum(-1)
