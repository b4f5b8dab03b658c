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
"""

from functools import partial

import numpy as np
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from .. import evaluate, run_figures
from ..errors import ReportBuilderError
from ..models.distributions import gaussian_kl, gaussian_kl_each, log_normal, log_standard_normal
from ..models.mlp import MLPVAE
from ..noise import mean_and_se, paired_values
from ..train import Fit, as_float
from . import base

SPLIT_SEED = 0  # which training images are held out for validation: the same for every run
BINARIZATION_SEED = 0  # the one binarization of the validation and test images
K = 200  # importance samples per test image
KS = (1, 5, 10, 50, 200)  # the estimate as K grows (nested: the first K of the 200)
ELBO_SAMPLES = 10  # draws of z per test image for the ELBO's reconstruction term
NOISE_SE = 3.0  # the IS estimate may fall below the ELBO by at most 3 standard errors
EVAL_BATCH = 500
COURSE_TARGET = -102.0  # validation ELBO the course asks for, in nats, on full MNIST


class Params(base.Params):
    nz: int = Field(default=100, gt=0, description="latent size L")
    hidden: tuple[int, ...] = Field(default=(512, 256), description="hidden layer sizes")
    validation_share: float = Field(default=1 / 6, gt=0, lt=1,
                                    description="training images held out (10k of 60k)")


def build(params: Params) -> dict[str, nn.Module]:
    return {"model": MLPVAE(params.nz, params.hidden, beta=1.0)}




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


def tensors(data, params: Params) -> list[torch.Tensor]:
    train, _ = split(len(data.train_images), params.validation_share)
    return [as_float(data.train_images[train])]


def validation_images(data, params: Params, device) -> torch.Tensor:
    _, validation = split(len(data.train_images), params.validation_share)
    return binarize(as_float(data.train_images[validation], device))


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


def check_bound(log_likelihood: np.ndarray, elbo: np.ndarray) -> None:
    """log p(x) >= ELBO for every q: an importance-sampled estimate clearly below the ELBO
    of the same images means the estimator or the model is wrong, never a result."""
    gap, gap_se = mean_and_se(log_likelihood - elbo)
    if gap < -NOISE_SE * gap_se:
        raise ReportBuilderError(
            f"importance-sampled log-likelihood is {-gap:.2f} nats below the ELBO of the same "
            f"images (more than {NOISE_SE:g} standard errors of {gap_se:.2f}): a bug in the "
            "model or the estimator, not a result; the report was not built")


def measure(run, evaluation) -> dict:
    vae = run.model
    test = binarize(evaluation.test_images)
    log_weights = evaluate.importance_log_weights(vae, test, K, evaluation.seed)
    estimates = {k: evaluate.importance_log_likelihood(log_weights, k) for k in KS}
    recon, kl = (terms.numpy() for terms in elbo_each(
        vae, test, torch.Generator().manual_seed(evaluation.seed), samples=ELBO_SAMPLES))
    elbo = -(recon + kl)
    check_bound(estimates[K], elbo)
    log_likelihood, log_likelihood_se = mean_and_se(estimates[K])
    test_elbo, test_elbo_se = mean_and_se(elbo)
    gap, gap_se = mean_and_se(estimates[K] - elbo)
    kl_differences = np.asarray(run.history["kl_mc"]) - np.asarray(run.history["kl"])
    kl_difference, kl_difference_se = mean_and_se(kl_differences)
    val_elbo, each = run.epoch_history["val_elbo"], run.epoch_history["val_elbo_each"]
    best = int(np.argmax(val_elbo))
    final_kl = run.epoch_means("kl")[-1]
    return {
        "k": K,
        "ks": list(KS),
        "estimates": [float(estimates[k].mean()) for k in KS],
        "estimate_ses": [mean_and_se(estimates[k])[1] for k in KS],
        # Of the difference from the ELBO: the same images throughout, so their spread cancels.
        "gap_ses": [mean_and_se(estimates[k] - elbo)[1] for k in KS],
        "test_log_likelihood": log_likelihood,
        "test_log_likelihood_se": log_likelihood_se,
        "test_elbo": test_elbo,
        "test_elbo_se": test_elbo_se,
        "elbo_samples": ELBO_SAMPLES,
        "test_recon_nats": float(recon.mean()),
        "test_kl_nats": float(kl.mean()),
        "gap": gap,
        "gap_se": gap_se,
        "n_test": len(test),
        "val_elbo": val_elbo,
        "final_val_elbo": val_elbo[-1],
        "best_val_elbo": max(val_elbo),
        "best_epoch": best + 1,
        "n_validation": len(split(len(evaluation.data.train_images),
                                  run.config.params.validation_share)[1]),
        "course_target": COURSE_TARGET,
        "kl_closed_mean": float(np.mean(run.history["kl"])),
        "kl_mc_mean": float(np.mean(run.history["kl_mc"])),
        "kl_difference": kl_difference,
        "kl_difference_se": kl_difference_se,
        "kl_difference_sd": float(kl_differences.std(ddof=1)),
        "n_iterations": len(kl_differences),
        "final_kl": final_kl,
        "final_train_elbo": -run.epoch_means("loss")[-1],
        # Differences the answers quote, measured here so that every quoted number is one.
        "target_shortfall": COURSE_TARGET - val_elbo[-1],
        "last_epoch_change": val_elbo[-1] - val_elbo[-2] if len(val_elbo) > 1 else 0.0,
        # Paired over the validation images (the same images and draws every epoch).
        "last_epoch_change_se": paired_values(each[-1], each[-2]).se if len(each) > 1 else 0.0,
        "peak_drop": val_elbo[best] - val_elbo[-1],
        "peak_drop_se": paired_values(each[best], each[-1]).se,
        "kl_noise_share": float(kl_differences.std(ddof=1)) / final_kl,
        "estimate_rise": float(estimates[KS[-1]].mean() - estimates[KS[-2]].mean()),
        "estimate_rise_se": mean_and_se(estimates[KS[-1]] - estimates[KS[-2]])[1],  # paired
    }


FAMILY = base.Family(
    Params, build, label, measure, tensors=tensors, step=step, epoch_end=epoch_end,
    figures={
        "validation_elbo": run_figures.validation_elbo,
        "kl_estimates": run_figures.kl_estimates,
        "log_likelihood_vs_k": run_figures.log_likelihood_vs_k,
        "samples": run_figures.samples,
        "reconstructions": partial(run_figures.reconstructions, inputs=binarize),
    },
    summary=(base.Column("test ELBO", ("test_elbo",), ".1f"),
             base.Column("log p(x)", ("test_log_likelihood",), ".1f")))
