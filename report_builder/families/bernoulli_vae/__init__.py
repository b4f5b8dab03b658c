"""A VAE for likelihoods (the course's `vae-likelihood` problem): binarized digits, a
Bernoulli decoder whose reconstruction term is log p(x|z) in nats, and measurements of how
far the ELBO is below log p(x).

- Training sees each image binarized afresh at every visit (dynamic binarization); the
  validation and test images are binarized once, by a fixed seed, so every number is
  reproducible.
- A fixed share of the training images is held out (by a fixed permutation) to measure the
  validation ELBO after every epoch.
- Every step records the KL term both in closed form (the one minimised) and as the
  single-sample Monte Carlo estimate log q(z|x) - log p(z) at the z it drew.
- A trained run is measured by importance sampling (Burda et al., 2016) with K samples
  from q(z|x); an estimate below the ELBO of the same images is a bug, and fails the build.

binarized.py holds the binarization and the ELBO that training and measuring share;
measures.py the importance sampling and what a run reports; figures.py its figures.
"""

from functools import partial

import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from ...models.distributions import gaussian_kl, log_normal, log_standard_normal
from ...train import Fit, as_float
from .. import base
from ..autoencoding import figures as encoder_decoder
from ..autoencoding.mlp import MLPVAE
from . import figures
from .binarized import SPLIT_SEED, binarize, elbo_each, split, validation_images
from .measures import measure


class Params(base.Params):
    nz: int = Field(default=100, gt=0, description="latent size L")
    hidden: tuple[int, ...] = Field(default=(512, 256), description="hidden layer sizes")
    validation_share: float = Field(default=1 / 6, gt=0, lt=1,
                                    description="training images held out (10k of 60k)")


def build(params: Params) -> dict[str, nn.Module]:
    return {"model": MLPVAE(params.nz, params.hidden, beta=1.0)}




def tensors(data, params: Params) -> list[torch.Tensor]:
    train, _ = split(len(data.train_images), params.validation_share)
    return [as_float(data.train_images[train])]


def step(models, optimizers, batch, params: Params, fit: Fit) -> dict[str, torch.Tensor]:
    vae = models["model"]
    x = torch.bernoulli(batch[0])  # dynamic binarization: a new draw at every visit
    with fit.autocast:
        mu, log_sigma = vae.encode(x)
        z = vae.reparameterize(mu, log_sigma)
        logits = vae.decode_logits(z)
    # -ELBO = E_q[-log p(x|z)] + KL(q(z|x) || p(z)), one z per image, KL in closed form.
    recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
    kl = gaussian_kl(mu, log_sigma)
    with torch.no_grad():  # the same KL, estimated from the one z drawn: log q - log p
        kl_mc = (log_normal(z, mu, log_sigma) - log_standard_normal(z)).mean()
    fit.minimize(recon + kl, optimizers["model"])
    return {"loss": recon + kl, "recon": recon, "kl": kl, "kl_mc": kl_mc}


def epoch_end(models, params: Params, data, fit: Fit) -> dict:
    """The validation ELBO, with its own generator so that training's draws are untouched;
    and each image's, to 0.001 nats, so that a change between epochs carries its paired
    standard error (the same images and draws every epoch)."""
    vae = models["model"].eval()
    x = validation_images(data, params, next(vae.parameters()).device)
    recon, kl = elbo_each(vae, x, torch.Generator().manual_seed(SPLIT_SEED))
    elbo = -(recon + kl)
    return {"val_elbo": elbo.mean().item(),
            "val_elbo_each": [round(value, 3) for value in elbo.tolist()]}


def label(config) -> str:
    return f"VAE, L = {config.params.nz}, Bernoulli decoder"


FAMILY = base.Family(
    Params, build, label, measure, tensors=tensors, step=step, epoch_end=epoch_end,
    figures={
        "validation_elbo": figures.validation_elbo,
        "kl_estimates": figures.kl_estimates,
        "log_likelihood_vs_k": figures.log_likelihood_vs_k,
        "samples": encoder_decoder.samples,
        "reconstructions": partial(encoder_decoder.reconstructions, inputs=binarize),
    },
    summary=(base.Column("test ELBO", ("test_elbo",), ".1f"),
             base.Column("log p(x)", ("test_log_likelihood",), ".1f")))
