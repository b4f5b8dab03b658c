"""The GAN problem's figures: each run's losses, single-dimension moves and latent paths;
the runs' FID and samples over training. Each kind registers how it is drawn
(`figures.drawing`)."""

import matplotlib.pyplot as plt
import numpy as np

from ... import evaluate as ev
from ...figures import TILE, Figure, drawing, plot_interpolation, show_grid, smooth, to_png
from .measures import (
    EPSILON,
    GRID_SEED,
    MEASURED_PAIRS,
    PAIRS,
    SHOWN_DIMS,
    generate,
    generator_at,
    latents,
    paths,
    perturbed,
)

GRID = 16  # samples per cell: a 4x4 grid
GAN_PANELS = {  # panel title: the loss parts it shows
    "discriminator and generator loss": ("d_loss", "g_loss"),
    "mean discriminator output": ("d_real", "d_fake"),
    "critic's Wasserstein estimate": ("wasserstein",),
}
GAN_PARTS = {"d_loss": "D loss", "g_loss": "G loss", "d_real": "on real x",
             "d_fake": "on G(z)", "wasserstein": "E[D(x)] - E[D(G(z))]"}


# Figures of one run (the family's `figures`).

def losses(name: str, run, measured: dict, evaluation) -> Figure:
    wasserstein = ("; right: the critic's estimate of the Wasserstein distance"
                   if "wasserstein" in run.history else "")
    caption = (f"Run <code>{name}</code>, {run.label}: losses per generator iteration (faint) "
               f"and their running mean over {run.iterations_per_epoch // 4} iterations; the "
               f"middle panel "
               f"shows the discriminator's mean output on real and generated batches"
               f"{wasserstein}. Batch {run.config.batch_size}, "
               f"{run.config.params.n_critic} discriminator step(s) per generator step.")
    curves = {key: np.asarray(values) for key, values in run.history.items()
              if key in GAN_PARTS}
    labels = (f"{run.label}: training", max(1, run.iterations_per_epoch // 4))
    return Figure(f"losses_{name}", caption, curves, labels, "gan_losses")


def perturbation(name: str, run, measured: dict, evaluation) -> Figure:
    found = perturbed(run, evaluation.test_images.device)
    shown = found["order"][:SHOWN_DIMS]
    summary = measured["perturbation"]
    words = evaluation.words
    caption = (f"Run <code>{name}</code>, {run.label}, final generator: G(z) for one random z, "
               f"then G(z + {EPSILON:g}·e<sub>d</sub>) for the {SHOWN_DIMS} of its "
               f"{summary['dims']} dimensions d whose perturbation changes the image most, "
               f"ordered by that change (mean absolute pixel change, under each image). They "
               f"carry {summary['top_share']:.0%} of the change summed over all dimensions; "
               f"the {words['judge']} reads a different {words['noun']} after "
               f"{summary['digit_flips']} "
               f"of the {summary['dims']} perturbations.")
    arrays = {"base": found["base"].cpu().numpy(),
              "images": found["images"][shown.to(found["images"].device)].cpu().numpy(),
              "dims": shown.numpy(), "changes": found["changes"][shown].numpy()}
    title = f"{run.label}: one latent dimension at a time (+{EPSILON:g})"
    return Figure(f"perturbation_{name}", caption, arrays, (title,), "perturbation")


def interpolation(name: str, run, measured: dict, evaluation) -> Figure:
    found = paths(run, evaluation.test_images.device)
    confidence = measured["paths"]
    rows = {}
    for pair in range(PAIRS):
        for kind, label in (("latent", "z path"), ("pixel", "pixel blend")):
            mean = np.mean(confidence[kind]["per_pair"][pair][1:-1])
            rows[f"{pair + 1}: {label} (p {mean:.2f})"] = found[kind][pair].cpu().numpy()
    latent, pixel = confidence["latent"], confidence["pixel"]
    caption = (f"Run <code>{name}</code>, {run.label}, final generator: for {PAIRS} random pairs "
               f"(z0, z1), a = 0, 0.1, ..., 1 from left (G(z1)) to right (G(z0)). Rows "
               f"\"z path\" decode a·z0 + (1 − a)·z1; rows \"pixel blend\" show "
               f"a·G(z0) + (1 − a)·G(z1). In brackets: the "
               f"{evaluation.words['judge']}'s mean top-class "
               f"probability over the nine inner images; over these and {MEASURED_PAIRS - PAIRS} "
               f"more pairs "
               f"{latent['inner_mean']:.2f} on the z paths ({latent['confident_share']:.0%} "
               f"read with p > {ev.CONFIDENT}) and {pixel['inner_mean']:.2f} on the blends "
               f"({pixel['confident_share']:.0%}).")
    return plot_interpolation(f"interpolation_{name}", caption,
                              f"{run.label}: latent path against pixel blend", rows)


# Figures of several runs at once (the family's `joint_figures`).

def fid_over_training(names: list[str], runs: dict, measured: dict[str, dict],
                      evaluation) -> Figure:
    """The runs' FID at every kept snapshot on one plot."""
    arrays = {"floor": np.asarray(measured[names[0]]["fid_floor"])}
    for name in names:
        arrays[f"iterations/{name}"] = np.asarray(measured[name]["iterations"])
        arrays[f"fid/{name}"] = np.asarray(measured[name]["fid"])
    first = measured[names[0]]
    best = "; ".join(f"{runs[name].label} {measured[name]['best_fid']:.1f} at "
                     f"{measured[name]['best_iteration']}" for name in names)
    caption = (f"FID of {first['fid_samples']:,} samples of each generator snapshot against "
               f"the {first['fid_test_images']:,} test images, in the feature space of the "
               f"{evaluation.words['judge']} this build trained (lower is "
               f"better; log scale). Star: "
               f"each run's best snapshot ({best}). Dashed: the floor, "
               f"{first['fid_samples']:,} real training images against the same test images "
               f"({first['fid_floor']:.2f}): what a perfect generator would score at this "
               f"sample count.")
    labels = (tuple(names), tuple(runs[name].label for name in names))
    return Figure("fid_over_training", caption, arrays, labels, "fid_over_training")


def samples_over_training(names: list[str], runs: dict, measured: dict[str, dict],
                          evaluation) -> Figure:
    """The runs' samples at every snapshot as a table (the same z in every cell)."""
    device = evaluation.test_images.device
    iterations = measured[names[0]]["iterations"]
    arrays = {"iterations": np.asarray(iterations)}
    for name in names:
        run = runs[name]
        z = latents(GRID, run.config.params.nz, GRID_SEED)
        arrays[f"samples/{name}"] = np.stack([
            generate(generator_at(run, iteration, device), z)
            .cpu().numpy() for iteration in iterations])
    caption = (f"Samples of each loss's generator at every kept snapshot (rows: generator "
               f"iterations; iteration 0 is the untrained generator), the same {GRID} draws "
               f"of z in every cell.")
    labels = (tuple(names), tuple(runs[name].label for name in names))
    return Figure("samples_over_training", caption, arrays, labels, "samples_over_training")


# How each kind is drawn.

@drawing("gan_losses")
def _draw_gan_losses(labels, curves) -> bytes:
    """A GAN's losses per generator iteration (faint) and their running mean."""
    title, window = labels
    panels = [(panel, [part for part in parts if part in curves])
              for panel, parts in GAN_PANELS.items() if any(part in curves for part in parts)]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 2.5), squeeze=False)
    for ax, (panel, parts) in zip(axes[0], panels, strict=True):
        for part in parts:
            values = np.asarray(curves[part])
            steps = np.arange(1, len(values) + 1)
            line, = ax.plot(steps[window - 1:], smooth(values, window), linewidth=1.2,
                            label=GAN_PARTS[part])
            ax.plot(steps, values, color=line.get_color(), alpha=0.2, linewidth=0.5)
        ax.set_xlabel("generator iteration")
        ax.set_title(panel, fontsize=8)
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return to_png(fig)


@drawing("fid_over_training")
def _draw_fid_over_training(labels, arrays) -> bytes:
    """FID per snapshot, one line per run ("iterations/run", "fid/run"), each run's best
    marked, and the floor (real images against the test images) dashed."""
    runs, run_labels = labels
    fig, ax = plt.subplots(figsize=(6.0, 3.0))
    for run, run_label in zip(runs, run_labels, strict=True):
        iterations, fid = arrays[f"iterations/{run}"], arrays[f"fid/{run}"]
        line, = ax.plot(iterations, fid, marker="o", markersize=3, linewidth=1.2,
                        label=run_label)
        best = int(np.argmin(fid))
        ax.plot(iterations[best], fid[best], marker="*", markersize=11, color=line.get_color(),
                markeredgecolor="black", markeredgewidth=0.5, linestyle="none")
    ax.axhline(float(arrays["floor"]), color="tab:gray", linestyle="--", linewidth=1,
               label="floor: real training images")
    ax.plot([], [], marker="*", color="tab:gray", linestyle="none", label="best of a run")
    ax.set_yscale("log")
    ax.set_xlabel("generator iteration")
    ax.set_ylabel("FID (classifier features)")
    ax.legend(frameon=False, fontsize=7, loc="upper right")
    fig.tight_layout()
    return to_png(fig)


@drawing("samples_over_training")
def _draw_samples_over_training(labels, arrays) -> bytes:
    """A table of sample grids: one row per snapshot ("iterations"), one column per run
    ("samples/run" holds [snapshot, image, 1, 28, 28], the same z for every cell)."""
    runs, run_labels = labels
    iterations = arrays["iterations"]
    fig, axes = plt.subplots(len(iterations), len(runs), squeeze=False,
                             figsize=(1.75 * len(runs) + 0.6, 1.6 * len(iterations) + 0.3))
    for column, (run, run_label) in enumerate(zip(runs, run_labels, strict=True)):
        for row, iteration in enumerate(iterations):
            ax = axes[row][column]
            images = arrays[f"samples/{run}"][row]
            show_grid(ax, images, columns=int(np.sqrt(len(images))))
            if row == 0:
                ax.set_title(run_label)
            if column == 0:
                ax.set_ylabel(f"{int(iteration)}", rotation=0, ha="right", va="center")
    fig.supylabel("generator iteration", fontsize=9)
    fig.tight_layout(pad=0.4)
    return to_png(fig)


@drawing("perturbation")
def _draw_perturbation(labels, arrays) -> bytes:
    """G(z), then G(z + ε e_d) for the dimensions d shown, with the pixel change each causes."""
    title = labels[0]
    images = np.concatenate([arrays["base"], arrays["images"]])
    fig, ax = plt.subplots(figsize=(0.55 * len(images) + 0.4, 1.55))
    show_grid(ax, images, columns=len(images))
    ticks = ["G(z)"] + [f"z{int(d)}\n{c:.3f}" for d, c in zip(arrays["dims"], arrays["changes"],
                                                              strict=True)]
    ax.set_xticks([i * TILE + 14 for i in range(len(images))], ticks, fontsize=6)
    ax.tick_params(axis="x", length=0)
    ax.set_title(title, fontsize=8)
    fig.tight_layout(pad=0.3)
    return to_png(fig)
