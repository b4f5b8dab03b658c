"""Numbers measured on trained models: plain floats and arrays, nothing that trains.

Sample quality is judged by a digit classifier trained on the same training split:
the Fréchet distance between its penultimate-layer features of generated and of test
images (FID, Heusel et al. 2017, computed by torchmetrics with a digit classifier in place
of Inception), and how confidently it reads each sample as some digit.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torchmetrics.image.fid import FrechetInceptionDistance

from .models.distributions import gaussian_kl, gaussian_kl_each
from .noise import mean_and_se

CONFIDENT = 0.9  # a sample "reads as a digit" when the classifier's top class has p > 0.9
FID_RESAMPLES = 20  # bootstrap draws of the generated features: a Fréchet distance's noise
EVAL_BATCH = 500
GRID_SAMPLES = 100  # a 10x10 grid of prior samples


@torch.no_grad()
def _batched(fn, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([fn(chunk) for chunk in images.split(EVAL_BATCH)])


def reconstruct_all(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return _batched(model.reconstruct, images)


@torch.no_grad()
def mean_kl(model: nn.Module, images: torch.Tensor) -> float:
    """Average KL(q(z|x) || N(0, I)) in nats per image; 0 for a plain auto-encoder."""
    if not hasattr(model, "reparameterize"):
        return 0.0
    return gaussian_kl(*posterior(model, images)).item()


@torch.no_grad()
def posterior(model: nn.Module, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A VAE's q(z|x) for each image: its mean and log standard deviation, batch by batch."""
    mu, log_sigma = zip(*(model.encode(chunk) for chunk in images.split(EVAL_BATCH)), strict=True)
    return torch.cat(mu), torch.cat(log_sigma)


@torch.no_grad()
def prior_samples(model: nn.Module, n: int, seed: int) -> torch.Tensor:
    """Decode n draws of z ~ N(0, I); the same seed gives the same z for every model."""
    z = torch.randn(n, model.nz, generator=torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    return _batched(model.decode, z.to(device))


@torch.no_grad()
def encode_mean(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    code = model.encode(images)
    return code[0] if isinstance(code, tuple) else code


@torch.no_grad()
def code_norm(model: nn.Module, images: torch.Tensor) -> float:
    """Mean Euclidean norm of the test embeddings (a VAE's posterior means).

    Draws from N(0, I) in R^nz have norm close to sqrt(nz); codes far from that norm
    live where prior samples rarely land.
    """
    codes = torch.cat([encode_mean(model, chunk) for chunk in images.split(EVAL_BATCH)])
    return codes.norm(dim=1).mean().item()


def spread(images: torch.Tensor) -> float:
    """Mean over pixels of the standard deviation across images: ~0 when all look alike."""
    return images.reshape(len(images), -1).std(dim=0).mean().item()


class Features(nn.Identity):
    """What torchmetrics' FID is given as its feature extractor: the judge's features,
    computed once per image set (they also give the class probabilities)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features


@dataclass(frozen=True)
class Judge:
    """The digit classifier, and a Fréchet distance that holds the test set's features."""

    classifier: nn.Module
    fid: FrechetInceptionDistance
    test_accuracy: float

    def frechet(self, features: torch.Tensor) -> float:
        """Fréchet distance of a feature set to the test set's (torchmetrics, in float64)."""
        self.fid.reset()  # the fake side only: reset_real_features=False keeps the test set
        # float64 in, float64 out: torchmetrics returns the distance in its input's dtype.
        self.fid.update(features.to(self.fid.device, torch.float64), real=False)
        return self.fid.compute().item()

    def frechet_se(self, features: torch.Tensor, resamples: int = FID_RESAMPLES) -> float:
        """The spread of the Fréchet distance over bootstrap resamples of the generated
        features (the same test set's): its noise from which samples were drawn. Two runs'
        distances differ beyond noise when apart by more than 2 sqrt(se_a² + se_b²)."""
        generator = torch.Generator().manual_seed(0)  # the same resamples for every run
        draws = [self.frechet(features[torch.randint(len(features), (len(features),),
                                                     generator=generator)])
                 for _ in range(resamples)]
        return float(np.std(draws, ddof=1))


@torch.no_grad()
def make_judge(classifier: nn.Module, test_images: torch.Tensor,
               test_labels: torch.Tensor) -> Judge:
    features, probs = _features_and_probs(classifier, test_images)
    accuracy = (probs.argmax(1) == test_labels.cpu()).float().mean().item()
    fid = FrechetInceptionDistance(Features(features.shape[1]), reset_real_features=False)
    fid.update(features.double(), real=True)
    return Judge(classifier, fid, accuracy)


@torch.no_grad()
def _features_and_probs(classifier: nn.Module, images: torch.Tensor):
    features = _batched(classifier.features, images).float()
    probs = torch.softmax(classifier.head(features), dim=1)
    return features.cpu(), probs.cpu()


@torch.no_grad()
def judge_images(judge: Judge, images: torch.Tensor) -> dict[str, float]:
    """How digit-like a set of generated images is, by the judge classifier."""
    features, probs = _features_and_probs(judge.classifier, images)
    top = probs.max(dim=1).values
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double()
    return {
        "frechet": judge.frechet(features),
        "frechet_se": judge.frechet_se(features),
        "confidence": top.mean().item(),
        "confident_share": (top > CONFIDENT).double().mean().item(),
        "class_entropy_bits": class_entropy(counts),  # log2(10) = 3.32 at most
        "class_entropy_se": class_entropy_se(probs.argmax(1), probs.shape[1]),
        "classes_seen": int((counts > 0).sum()),
        "largest_class_share": (counts.max() / counts.sum()).item(),
    }


ENTROPY_RESAMPLES = 100  # bootstrap resamples of the samples' predicted classes


def class_entropy(counts: torch.Tensor) -> float:
    """Entropy in bits of the classes' shares."""
    share = counts[counts > 0] / counts.sum()
    return -(share * share.log2()).sum().item()


def class_entropy_se(labels: torch.Tensor, classes: int) -> float:
    """The class entropy's standard error over the samples drawn: the spread of the
    entropy over bootstrap resamples (seeded: the same samples give the same number)."""
    generator = torch.Generator().manual_seed(0)
    picks = torch.randint(len(labels), (ENTROPY_RESAMPLES, len(labels)), generator=generator)
    entropies = [class_entropy(torch.bincount(labels[row], minlength=classes).double())
                 for row in picks]
    return float(np.std(entropies, ddof=1))


@torch.no_grad()
def predicted_digits(judge: Judge, images: torch.Tensor) -> torch.Tensor:
    return _batched(judge.classifier, images).argmax(1).cpu()


@torch.no_grad()
def digit_confidence(judge: Judge, images: torch.Tensor) -> np.ndarray:
    probs = torch.softmax(_batched(judge.classifier, images), dim=1)
    return probs.max(dim=1).values.cpu().numpy()


@torch.no_grad()
def posterior_means(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([encode_mean(model, chunk) for chunk in images.split(EVAL_BATCH)])


def latent_spread(model: nn.Module, images: torch.Tensor) -> float:
    """Standard deviation of the test posterior means, averaged over latent dimensions."""
    return posterior_means(model, images).std(dim=0).mean().item()


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
    for chunk in images.split(EVAL_BATCH):
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
    mse = (recons - test_images).pow(2).flatten(1).mean(1).double().cpu()
    kept_class = (predicted_digits(judge, recons) == evaluation.test_labels.cpu()).double()
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
        "samples": judge_images(judge, samples),
        "code_norm": code_norm(model, test_images),
        "latent_spread": latent_spread(model, test_images),
        "sharpness": sharpness(samples),
        "grid_confident": int((digit_confidence(
            judge, prior_samples(model, GRID_SAMPLES, evaluation.seed)) > CONFIDENT).sum()),
        **elbo,
        "recon_spread": spread(recons),
        "sample_spread": spread(samples),
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
    ).flatten(1).sum(1).double().cpu() for chunk in images.split(EVAL_BATCH)])


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
        measured["dims_at_prior"] = int((kl <= PRIOR_KL).sum())
        measured["kl_at_prior"] = float(kl[kl <= PRIOR_KL].sum())
    else:
        measured["test_recon_nats"] = measured["test_recon_at_mean"]
        measured["per_image"]["test_recon_nats"] = measured["per_image"]["test_recon_at_mean"]
    return measured
