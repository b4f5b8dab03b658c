"""What the encoder/decoder families measure of a trained run: reconstructions, the KL
term and the latent code, the test ELBO of a Bernoulli decoder, and how digit-like the prior
samples are by the problem's judge (`evaluate`). Plain floats and lists; nothing trains."""

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ... import evaluate as ev
from ...models.distributions import gaussian_kl, gaussian_kl_each
from ...noise import mean_and_se
from ..base import Column

GRID_SAMPLES = 100  # a 10x10 grid of prior samples


def reconstruct_all(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return ev.batched(model.reconstruct, images)


@torch.no_grad()
def mean_kl(model: nn.Module, images: torch.Tensor) -> float:
    """Average KL(q(z|x) || N(0, I)) in nats per image; 0 for a plain auto-encoder."""
    if not hasattr(model, "reparameterize"):
        return 0.0
    return gaussian_kl(*posterior(model, images)).item()


@torch.no_grad()
def posterior(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A VAE's q(z|x) for each image: its mean and log standard deviation, batch by batch."""
    chunks = images.split(ev.EVAL_BATCH)
    mu, log_sigma = zip(*(model.encode(chunk) for chunk in chunks), strict=True)
    return torch.cat(mu), torch.cat(log_sigma)


@torch.no_grad()
def prior_samples(model: nn.Module, n: int, seed: int) -> torch.Tensor:
    """Decode n draws of z ~ N(0, I); the same seed gives the same z for every model."""
    z = torch.randn(n, model.nz, generator=torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    return ev.batched(model.decode, z.to(device))


@torch.no_grad()
def encode_mean(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    code = model.encode(images)
    return code[0] if isinstance(code, tuple) else code


@torch.no_grad()
def posterior_means(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([encode_mean(model, chunk) for chunk in images.split(ev.EVAL_BATCH)])


def code_norm(means: torch.Tensor) -> float:
    """Mean Euclidean norm of the test embeddings (a VAE's posterior means).

    Draws from N(0, I) in R^nz have norm close to sqrt(nz); codes far from that norm
    live where prior samples rarely land.
    """
    return means.norm(dim=1).mean().item()


def latent_spread(means: torch.Tensor) -> float:
    """Standard deviation of the test posterior means, averaged over latent dimensions."""
    return means.std(dim=0).mean().item()


def sharpness(images: torch.Tensor) -> float:
    """Mean |2x - 1| over pixels: 1 for pure black and white, 0 for uniform grey."""
    return (2 * images - 1).abs().mean().item()


@torch.no_grad()
def test_elbo(model: nn.Module, images: torch.Tensor, seed: int) -> dict:
    """Test-set ELBO in nats per image for a Bernoulli VAE (one z sample per image), and its
    terms per image under `per_image` (what standard errors, and paired ones between runs
    on the same images, are computed from).

    The terms are E_q[-log p(x|z)] and KL(q(z|x) || p(z)); a model whose reconstruction
    term is not a log-likelihood (MSE) has no ELBO and returns {}.
    """
    if not hasattr(model, "decode_logits"):
        return {}
    torch.manual_seed(seed)
    recons, kls = [], []
    for chunk in images.split(ev.EVAL_BATCH):
        mu, log_sigma = model.encode(chunk)
        logits = model.decode_logits(model.reparameterize(mu, log_sigma))
        recons.append(F.binary_cross_entropy_with_logits(
            logits, chunk, reduction="none").flatten(1).sum(1).double())
        kls.append(gaussian_kl_each(mu.double(), log_sigma.double()))
    recon, kl = torch.cat(recons).cpu(), torch.cat(kls).cpu()
    return {"test_recon_nats": recon.mean().item(), "test_kl_nats": kl.mean().item(),
            "test_elbo": -(recon + kl).mean().item(),
            "per_image": {"test_recon_nats": recon.tolist(), "test_kl_nats": kl.tolist(),
                          "test_elbo": (-(recon + kl)).tolist()}}


@torch.no_grad()
def latent_manifold(model: nn.Module, size: int, limit: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a size x size grid of z over [-limit, limit]^2.

    Row r, column c holds z = (grid[c], grid[size - 1 - r]): z1 grows to the right and
    z2 grows upwards, as on a plot. Returns z [size, size, 2] and images in row order.
    """
    grid = torch.linspace(-limit, limit, size)
    z1 = grid.repeat(size, 1)  # [row, column] -> grid[column]
    z2 = grid.flip(0)[:, None].expand(size, size)  # [row, column] -> grid[size-1-row]
    z = torch.stack([z1, z2], dim=-1)
    device = next(model.parameters()).device
    return z, model.decode(z.reshape(-1, 2).to(device))


def autoencoder_metrics(run, evaluation) -> dict:
    """What problem1 and hw4 report of an auto-encoder or VAE: reconstructions, KL, and how
    digit-like its prior samples are by the judge."""
    model, judge, test_images = run.model, evaluation.judge, evaluation.test_images
    samples = prior_samples(model, evaluation.n_samples, evaluation.seed)
    recons = reconstruct_all(model, test_images)
    means = posterior_means(model, test_images)  # an AE's codes
    mse = (recons - test_images).pow(2).flatten(1).mean(1).double().cpu()
    kept_class = (ev.predicted_digits(judge, recons) == evaluation.test_labels.cpu()).double()
    final = {name: float(np.mean(values[-20:])) for name, values in run.history.items()}
    elbo = test_elbo(model, test_images, evaluation.seed)
    return {
        "prior_norm": float(np.sqrt(model.nz)),
        "test_mse": mse.mean().item(),
        "recon_accuracy": kept_class.mean().item(),
        "recon_accuracy_se": mean_and_se(kept_class.numpy())[1],
        "test_kl": mean_kl(model, test_images),
        "final_recon": final.get("recon", float("nan")),
        "final_kl": final.get("kl", 0.0),
        "first_kl": float(np.mean(run.history["kl"][:20])) if "kl" in run.history else 0.0,
        "samples": ev.judge_images(judge, samples),
        "code_norm": code_norm(means),
        "latent_spread": latent_spread(means),
        "sharpness": sharpness(samples),
        "grid_confident": int((ev.digit_confidence(
            judge, prior_samples(model, GRID_SAMPLES, evaluation.seed)) > ev.CONFIDENT).sum()),
        **elbo,
        "recon_spread": ev.spread(recons),
        "sample_spread": ev.spread(samples),
        "per_image": {"test_mse": mse.tolist(), **elbo.get("per_image", {})},
    }


ACTIVE = 0.01  # a latent dimension is active when Cov_x(E_q[z_d]) exceeds this (Burda et al.)
PRIOR_KL = 0.01  # nats: a latent dimension whose mean KL is below this sits at the prior


def active_units(model: nn.Module, images: torch.Tensor) -> int:
    """Latent dimensions whose posterior mean varies across images: the ones the decoder
    can use. The others have collapsed onto the prior (Burda et al., 2016, section 5.2)."""
    return int((posterior_means(model, images).var(dim=0) > ACTIVE).sum())


@torch.no_grad()
def bernoulli_recon_each(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """-log p(x | z = the code of x), summed over pixels, per image (float64): a
    deterministic auto-encoder's reconstruction term (a VAE's decodes the posterior mean)."""
    return torch.cat([F.binary_cross_entropy_with_logits(
        model.decode_logits(encode_mean(model, chunk)), chunk, reduction="none"
    ).flatten(1).sum(1).double().cpu() for chunk in images.split(ev.EVAL_BATCH)])


@torch.no_grad()
def kl_per_dimension(model: nn.Module, images: torch.Tensor) -> list[float]:
    """KL(q(z_d|x) || N(0, 1)) of each latent dimension d, averaged over images: which
    dimensions carry information about the image (the rest sit at the prior)."""
    mu, log_sigma = (values.double() for values in posterior(model, images))
    # gaussian_kl_each sums over the last axis: over one dimension at a time, given [N, d, 1].
    per_dim = gaussian_kl_each(mu.unsqueeze(-1), log_sigma.unsqueeze(-1))
    return per_dim.mean(0).cpu().tolist()


def bernoulli_metrics(run, evaluation) -> dict:
    """What the beta-vae problem reports of an MLP AE or VAE with a Bernoulli decoder:
    training losses over the last epoch and test losses, per image summed. The images are
    grey levels, not binary, so these are binary cross-entropies, not log-likelihoods."""
    model, test_images = run.model, evaluation.test_images
    at_mean = bernoulli_recon_each(model, test_images)
    measured = {
        "final_recon": run.epoch_means("recon")[-1],
        "final_kl": run.epoch_means("kl")[-1] if "kl" in run.history else 0.0,
        "test_recon_at_mean": at_mean.mean().item(),
        "sharpness": sharpness(prior_samples(model, evaluation.n_samples, evaluation.seed)),
        "per_image": {"test_recon_at_mean": at_mean.tolist()},
    }
    if hasattr(model, "reparameterize"):
        elbo = test_elbo(model, test_images, evaluation.seed)
        # BCE + KL, unweighted whatever the run's β (the images are grey: not a -ELBO).
        loss = [-value for value in elbo["per_image"]["test_elbo"]]
        measured |= {**elbo, "test_loss": -elbo["test_elbo"],
                     "per_image": measured["per_image"] | elbo["per_image"] | {"test_loss": loss}}
        measured["active_units"] = active_units(model, test_images)
        kl = np.asarray(kl_per_dimension(model, test_images))
        measured["kl_per_dimension"] = kl.tolist()
        # The dimensions that sit at the prior, and the KL they carry together.
        measured["prior_kl"] = PRIOR_KL
        measured["dims_at_prior"] = int((kl <= PRIOR_KL).sum())
        measured["kl_at_prior"] = float(kl[kl <= PRIOR_KL].sum())
    else:
        measured["test_recon_nats"] = measured["test_recon_at_mean"]
        measured["per_image"]["test_recon_nats"] = measured["per_image"]["test_recon_at_mean"]
    return measured


# The build's summary columns of these families' runs.
AUTOENCODER_COLUMNS = (Column("test MSE", ("test_mse",), ".4f"),
                       Column("test KL", ("test_kl",), ".3g"),
                       Column("sample FD", ("samples", "frechet"), ".1f"),
                       Column("test ELBO", ("test_elbo",), ".1f"))
# Grey-level images under a Bernoulli decoder: cross-entropies, not likelihoods.
BERNOULLI_COLUMNS = (Column("test recon", ("test_recon_nats",), ".1f"),
                     Column("test BCE+KL", ("test_loss",), ".1f"))
