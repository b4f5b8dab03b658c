"""GANs (the `gan` problem): one DCGAN-style generator and discriminator trained with one of
three losses, everything else equal.

- vanilla (Goodfellow et al. 2014): binary cross-entropy on the discriminator's logits; the
  generator minimises -log D(G(z)), the non-saturating loss of the paper's section 3.
- lsgan (Mao et al. 2017): least squares with targets a = 0 (fake), b = c = 1 (real).
- wgan-gp (Gulrajani et al. 2017): a critic without batch norm, the Wasserstein loss plus
  λ E[(||∇D(x̂)||₂ - 1)²] at random points x̂ between real and fake images, n_critic critic
  steps per generator step, Adam with β = (0, 0.9).

Training counts generator iterations. One loop epoch is EPOCH_ITERATIONS of them, each
taking n_critic real batches; the loop keeps the generator's weights at every snapshot
iteration, so samples and FIDs over training come from the cache and a resumed run keeps
the snapshots it had.

Its measurements and figures live beside this module (measures.py, figures.py).
"""

import math
from typing import Literal

import torch
from pydantic import Field, field_validator
from torch import nn
from torch.nn import functional as F

from ...train import Fit
from .. import base
from . import figures, measures
from .networks import Discriminator, Generator

Loss = Literal["vanilla", "lsgan", "wgan-gp"]
EPOCH_ITERATIONS = 50  # generator iterations per loop epoch: checkpoints and snapshots
LABELS = {"vanilla": "vanilla GAN", "lsgan": "LSGAN", "wgan-gp": "WGAN-GP"}


class Params(base.Params):
    loss: Loss
    nz: int = Field(default=100, gt=0, description="size of z ~ N(0, I)")
    n_critic: int = Field(default=1, ge=1, description="critic steps per generator step")
    gp_weight: float = Field(default=10.0, ge=0, description="λ of the gradient penalty")
    betas: tuple[float, float] = (0.5, 0.999)  # Adam's; DCGAN's default
    snapshots: tuple[int, ...] = (0, 100, 200, 500, 1000, 2000)  # generator iterations

    @field_validator("snapshots")
    @classmethod
    def whole_epochs(cls, snapshots: tuple[int, ...]) -> tuple[int, ...]:
        for iteration in snapshots:
            if iteration < 0 or iteration % EPOCH_ITERATIONS:
                raise ValueError(f"snapshot {iteration} must be a multiple of "
                                 f"{EPOCH_ITERATIONS} generator iterations (0 included)")
        return tuple(sorted(set(snapshots)))


def check_run(params: Params, epochs: int) -> None:
    last = epochs * EPOCH_ITERATIONS
    beyond = [iteration for iteration in params.snapshots if iteration > last]
    if beyond:
        raise ValueError(f"snapshots: {beyond[0]} is beyond the run's last generator "
                         f"iteration ({last}); drop it or raise iterations")


def snapshots(params: Params, epochs: int) -> tuple[str, list[int]]:
    """Which network the loop keeps, and after which epochs: the spec's snapshots that fall
    within this run (a shorter profile drops the later ones), and always the final one."""
    last = epochs * EPOCH_ITERATIONS
    kept = {iteration for iteration in params.snapshots if iteration <= last} | {last}
    return "generator", sorted(iteration // EPOCH_ITERATIONS for iteration in kept)


def build(params: Params) -> dict[str, nn.Module]:
    # Trained channels-last on a CPU even in fp32: 1.4x faster steps (bench/gan_speed.py).
    return {"generator": Generator(params.nz),
            "discriminator": Discriminator(batch_norm=params.loss != "wgan-gp")}


def optimizers(models, params: Params, lr: float) -> dict[str, torch.optim.Optimizer]:
    def adam(model: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(model.parameters(), lr=lr, betas=params.betas, fused=True)

    return {name: adam(model) for name, model in models.items()}


tensors = base.images


def batches(n: int, batch_size: int, params: Params, device) -> list[torch.Tensor]:
    """EPOCH_ITERATIONS index batches of n_critic · batch_size real images each, drawn
    from back-to-back permutations of the training set (every image once per pass)."""
    per_step = params.n_critic * batch_size
    passes = math.ceil(EPOCH_ITERATIONS * per_step / n)
    order = torch.cat([torch.randperm(n) for _ in range(passes)]).to(device)
    return list(order[:EPOCH_ITERATIONS * per_step].split(per_step))


def step(models, optimizers, batch, params: Params, fit: Fit) -> dict[str, torch.Tensor]:
    """One generator iteration: n_critic discriminator steps, each on its own real batch,
    then one generator step on the last step's fakes (as in PyTorch's DCGAN example: one
    generator forward serves both)."""
    generator, critic = models["generator"], models["discriminator"]
    reals = batch[0].chunk(params.n_critic)
    for index, real in enumerate(reals):
        last = index == len(reals) - 1
        z = torch.randn(len(real), params.nz, device=real.device)
        with fit.autocast, torch.set_grad_enabled(last):
            fake = generator(z)
        with fit.autocast:
            parts = discriminator_loss(critic, real, fake.detach(), params)
        fit.minimize(parts["d_loss"], optimizers["discriminator"])
    critic.requires_grad_(False)  # the generator's step needs no gradient of D's weights
    with fit.autocast:
        parts["g_loss"] = generator_loss(critic(fake).float(), params.loss)
    fit.minimize(parts["g_loss"], optimizers["generator"])
    critic.requires_grad_(True)
    return {name: value.detach() for name, value in parts.items()}


def discriminator_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       params: Params) -> dict[str, torch.Tensor]:
    """The discriminator's loss and what the report reads off it: the mean scores, and for
    WGAN-GP the Wasserstein estimate E[D(x)] - E[D(G(z))] and the penalty."""
    if params.loss == "wgan-gp":
        return critic_loss(critic, real, fake, params.gp_weight)
    real_score, fake_score = critic(real).float(), critic(fake).float()
    if params.loss == "vanilla":
        loss = (F.binary_cross_entropy_with_logits(real_score, torch.ones_like(real_score))
                + F.binary_cross_entropy_with_logits(fake_score, torch.zeros_like(fake_score)))
        real_score, fake_score = real_score.sigmoid(), fake_score.sigmoid()  # D(x) as p
    else:  # lsgan
        loss = 0.5 * ((real_score - 1) ** 2).mean() + 0.5 * (fake_score ** 2).mean()
    return {"d_loss": loss, "d_real": real_score.mean(), "d_fake": fake_score.mean()}


def critic_loss(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                gp_weight: float) -> dict[str, torch.Tensor]:
    """E[D(G(z))] - E[D(x)] + λ GP. Real and fake go through the critic as one batch (it
    has no batch norm, so each image's score depends on that image alone); x̂ goes
    separately, so that the penalty's gradients run over x̂ only."""
    eps = torch.rand(len(real), 1, 1, 1, device=real.device)
    between = (eps * real + (1 - eps) * fake).requires_grad_(True)
    real_score, fake_score = critic(torch.cat([real, fake])).float().chunk(2)
    norms = gradient_norms(critic(between).float(), between)
    penalty = _penalty(norms)
    wasserstein = real_score.mean() - fake_score.mean()
    # grad_norm: what the penalty constrains, where it constrains it (x̂ only); the report
    # quotes it rather than claiming a Lipschitz bound everywhere.
    return {"d_loss": -wasserstein + gp_weight * penalty, "d_real": real_score.mean(),
            "d_fake": fake_score.mean(), "wasserstein": wasserstein, "gp": penalty,
            "grad_norm": norms.mean()}


def gradient_penalty(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """E[(||∇_x̂ D(x̂)||₂ - 1)²], differentiable (see `gradient_norms`)."""
    return _penalty(gradient_norms(scores, points))


def _penalty(norms: torch.Tensor) -> torch.Tensor:
    return ((norms - 1) ** 2).mean()


def gradient_norms(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """||∇_x̂ D(x̂)||₂ of each point; the graph of the gradient is kept (create_graph), so
    the loss's backward differentiates through it: a double backward through the critic."""
    grad, = torch.autograd.grad(scores.sum(), points, create_graph=True)
    return grad.flatten(1).norm(dim=1)


def generator_loss(fake_score: torch.Tensor, loss: Loss) -> torch.Tensor:
    if loss == "vanilla":  # non-saturating: -log D(G(z))
        return F.binary_cross_entropy_with_logits(fake_score, torch.ones_like(fake_score))
    if loss == "lsgan":
        return 0.5 * ((fake_score - 1) ** 2).mean()
    return -fake_score.mean()


def label(config) -> str:
    return LABELS[config.params.loss]


FAMILY = base.Family(
    Params, build, label, measures.measure, optimizers=optimizers, step=step,
    figures={"losses": figures.losses, "perturbation": figures.perturbation,
             "interpolation": figures.interpolation},
    joint_figures={"fid_over_training": figures.fid_over_training,
                   "samples_over_training": figures.samples_over_training},
    summary=(base.Column("final FID", ("final_fid",), ".2f"),
             base.Column("best FID", ("best_fid",), ".2f")),
    check_run=check_run, epoch_iterations=EPOCH_ITERATIONS, batches=batches,
    snapshots=snapshots, channels_last=True)
