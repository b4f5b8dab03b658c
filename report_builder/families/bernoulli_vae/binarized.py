"""Binarized images and their ELBO: what training, the per-epoch validation ELBO and the
measurements of the likelihood family share. Part of its training code."""

import torch
from torch.nn import functional as F

from ...models.distributions import gaussian_kl_each
from ...train import as_float
from ..autoencoding.mlp import MLPVAE

SPLIT_SEED = 0  # which training images are held out for validation: the same for every run
BINARIZATION_SEED = 0  # the one binarization of the validation and test images
EVAL_BATCH = 500


def binarize(images: torch.Tensor, seed: int = BINARIZATION_SEED) -> torch.Tensor:
    """One draw of x ~ Bernoulli(pixel intensity), fixed by the seed: the same draw for the
    same images every time."""
    generator = torch.Generator().manual_seed(seed)
    return torch.bernoulli(images.cpu(), generator=generator).to(images.device)


def split(n_images: int, validation_share: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the training and the validation images, by a fixed permutation."""
    order = torch.randperm(n_images, generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_validation = max(1, round(validation_share * n_images))
    return order[n_validation:], order[:n_validation]


def validation_images(data, params, device) -> torch.Tensor:
    _, validation = split(len(data.train_images), params.validation_share)
    return binarize(as_float(data.train_images[validation], device))


@torch.no_grad()
def elbo_each(vae: MLPVAE, x: torch.Tensor, generator: torch.Generator,
              samples: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image, E_q[-log p(x|z)] (over `samples` draws of z from `generator`) and the
    closed-form KL, in float64: the ELBO is minus their sum. The same terms as the training
    loss, computed apart from the importance-sampling code that is checked against them."""
    recons, kls = [], []
    for chunk in x.split(EVAL_BATCH):
        mu, log_sigma = vae.encode(chunk)
        recon = torch.zeros(len(chunk), dtype=torch.float64, device=chunk.device)
        for _ in range(samples):
            eps = torch.randn(mu.shape, generator=generator).to(mu.device)
            logits = vae.decode_logits(mu + eps * torch.exp(log_sigma))
            recon += F.binary_cross_entropy_with_logits(
                logits, chunk, reduction="none").flatten(1).sum(1).double()
        recons.append(recon.cpu() / samples)
        kls.append(gaussian_kl_each(mu.double(), log_sigma.double()).cpu())
    return torch.cat(recons), torch.cat(kls)
