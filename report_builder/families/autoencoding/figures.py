"""Figures of one trained run that the encoder/decoder families draw: each takes the
run's name, the run, what it measured and the evaluation context, and returns a Figure.

A family lists the kinds it draws in its `figures`; the spec asks for kinds by run. Captions
quote only what the run measured (a run with no judge has no Fréchet distance to quote).
"""

import numpy as np
import torch

from ... import evaluate as ev
from ...figures import Figure, plot_samples
from . import measures as ms
from .drawings import (
    plot_kl_per_dimension,
    plot_latent_scatter,
    plot_loss_curves,
    plot_manifold,
    plot_reconstructions,
)

N_RECONSTRUCTIONS = 5
N_SHOWN_SAMPLES = 16
MANIFOLD_SIZE, MANIFOLD_LIMIT = 20, 4.0  # decode linspace(-4, 4) x linspace(-4, 4)


@torch.no_grad()
def reconstructions(name: str, run, measured: dict, evaluation, inputs=None) -> Figure:
    """Five test images and their reconstructions; `inputs` transforms the test images the
    way the family's training saw them (binarization, say)."""
    originals = evaluation.test_images[:N_RECONSTRUCTIONS]
    if inputs is not None:
        originals = inputs(originals)
    recons = run.model.reconstruct(originals).cpu().numpy()
    error = (f"Test MSE {measured['test_mse']:.4f}." if "test_mse" in measured else
             f"Test reconstruction term (binary cross-entropy, summed over pixels) "
             f"{measured['test_recon_nats']:.1f} per image.")
    caption = (f"Run <code>{name}</code>, {run.label}: five test images (top) and their "
               f"reconstructions (bottom). {error}")
    return plot_reconstructions(f"reconstructions_{name}", caption,
                                f"{run.label}: reconstructions", originals.cpu().numpy(), recons)


def kl_per_dimension(name: str, run, measured: dict, evaluation) -> Figure:
    kl = np.asarray(measured["kl_per_dimension"])
    used = int((kl > ms.PRIOR_KL).sum())
    caption = (f"Run <code>{name}</code>, {run.label}: the KL of each of the {len(kl)} latent "
               f"dimensions, averaged over the test images. {used} carry more than "
               f"{ms.PRIOR_KL:g} nats; the other {len(kl) - used} carry "
               f"{kl[kl <= ms.PRIOR_KL].sum():.2g} nats together.")
    return plot_kl_per_dimension(f"kl_per_dimension_{name}", caption,
                                 f"{run.label}: KL per dimension", kl, ms.PRIOR_KL)


def samples(name: str, run, measured: dict, evaluation) -> Figure:
    shown = ms.prior_samples(run.model, N_SHOWN_SAMPLES, evaluation.seed).cpu().numpy()
    scored = (f" Fréchet distance over {evaluation.n_samples} samples: "
              f"{measured['samples']['frechet']:.1f}." if "samples" in measured else "")
    caption = (f"Run <code>{name}</code>, {run.label}: 16 decodings of z ~ N(0, I)."
               f"{scored}")
    return plot_samples(f"samples_{name}", caption, f"{run.label}\nprior samples", shown)


def loss_curves(name: str, run, measured: dict, evaluation) -> Figure:
    caption = (f"Run <code>{name}</code>, {run.label}: training losses per iteration "
               f"(batch {run.config.batch_size}).")
    return plot_loss_curves(f"loss_curves_{name}", caption, f"{run.label}: training losses",
                            run.history, run.iterations_per_epoch)


def sample_grid(name: str, run, measured: dict, evaluation) -> Figure:
    shown = ms.prior_samples(run.model, ms.GRID_SAMPLES, evaluation.seed).cpu().numpy()
    judge = evaluation.words["judge"]
    caption = (f"Run <code>{name}</code>, {run.label}: 100 decodings of z ~ N(0, I). The "
               f"{judge} reads {measured['grid_confident']} of them with p > {ev.CONFIDENT}.")
    return plot_samples(f"sample_grid_{name}", caption, f"Z = {run.model.nz}", shown, columns=10)


def manifold(name: str, run, measured: dict, evaluation) -> Figure:
    z, images = ms.latent_manifold(run.model, MANIFOLD_SIZE, MANIFOLD_LIMIT)
    caption = (f"Run <code>{name}</code>, {run.label}: decodings of a regular "
               f"{MANIFOLD_SIZE}x{MANIFOLD_SIZE} grid of z over [-{MANIFOLD_LIMIT:g}, "
               f"{MANIFOLD_LIMIT:g}]², z₁ left to right, z₂ bottom to top.")
    return plot_manifold(f"manifold_{name}", caption, f"KL weight {run.model.beta:g}",
                         z.cpu().numpy(), images.cpu().numpy(), MANIFOLD_LIMIT)


def latent_scatter(name: str, run, measured: dict, evaluation) -> Figure:
    means = ms.posterior_means(run.model, evaluation.test_images).cpu().numpy()
    caption = (f"Run <code>{name}</code>, {run.label}: posterior means of the "
               f"{len(means)} test images, coloured by "
               f"{evaluation.words['noun']} class. Mean spread (standard "
               f"deviation per dimension) {measured['latent_spread']:.2f}.")
    return plot_latent_scatter(f"latent_scatter_{name}", caption,
                               f"KL weight {run.model.beta:g}", means,
                               evaluation.test_labels.cpu().numpy(), MANIFOLD_LIMIT)


# What every encoder/decoder family can draw.
ENCODER_DECODER = {"reconstructions": reconstructions, "samples": samples,
                   "loss_curves": loss_curves}
