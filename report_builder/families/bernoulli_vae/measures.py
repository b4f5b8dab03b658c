"""What a trained likelihood VAE measures: the importance-sampled log p(x) (Burda et al.,
2016) as K grows against the ELBO of the same binarized test images, the KL term's two
estimates, and the validation ELBO's course over training."""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...errors import ReportBuilderError
from ...models.distributions import log_normal, log_standard_normal
from ...noise import mean_and_se, paired_values
from .binarized import binarize, elbo_each, split

K = 200  # importance samples per test image
KS = (1, 5, 10, 50, 200)  # the estimate as K grows (nested: the first K of the 200)
ELBO_SAMPLES = 10  # draws of z per test image for the ELBO's reconstruction term
NOISE_SE = 3.0  # the IS estimate may fall below the ELBO by at most 3 standard errors
COURSE_TARGET = -102.0  # validation ELBO the course asks for, in nats, on full MNIST
IS_CHUNK = 50_000  # samples decoded at once: memory stays flat whatever K and the test set


@torch.no_grad()
def importance_log_weights(model: nn.Module, images: torch.Tensor, k: int,
                           seed: int) -> np.ndarray:
    """log w_ik = log p(x_i|z_ik) + log p(z_ik) - log q(z_ik|x_i) for K samples
    z_ik ~ q(z|x_i), as float64 [images, k], for a VAE with a Bernoulli decoder
    (`decode_logits`). Decoded in chunks; the log densities are summed in float64."""
    generator = torch.Generator().manual_seed(seed)
    rows = []
    for chunk in images.split(max(1, IS_CHUNK // k)):
        mu, log_sigma = model.encode(chunk)
        eps = torch.randn((k, *mu.shape), generator=generator).to(mu.device)
        z = mu + eps * torch.exp(log_sigma)  # [k, batch, nz]
        logits = model.decode_logits(z.flatten(0, 1)).view(k, len(chunk), -1).double()
        x = chunk.flatten(1).double().expand_as(logits)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        z, mu, log_sigma = z.double(), mu.double(), log_sigma.double()
        log_w = log_px_z + log_standard_normal(z) - log_normal(z, mu, log_sigma)
        rows.append(log_w.t().cpu())
    return torch.cat(rows).numpy()


def importance_log_likelihood(log_weights: np.ndarray, k: int) -> np.ndarray:
    """Per image, log (1/K) sum_k w_k over the first K weights, by log-sum-exp.

    Burda et al. (2016): a lower bound on log p(x) that tightens as K grows; with K = 1
    its expectation is the ELBO.
    """
    return (torch.logsumexp(torch.from_numpy(log_weights[:, :k]), dim=1).numpy()
            - math.log(k))


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
    log_weights = importance_log_weights(vae, test, K, evaluation.seed)
    estimates = {k: importance_log_likelihood(log_weights, k) for k in KS}
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
