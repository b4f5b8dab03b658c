"""The diffusion problem's figures: the forward process of each schedule, the training loss
and the loss per noise level, samples per sampler, FID and time against sampling steps, and
the denoising trajectory. Each kind registers how it is drawn (`figures.drawing`); the
builders sample their few shown images themselves, from the evaluation's seed."""

import matplotlib.pyplot as plt
import numpy as np
import torch

from ...figures import Figure, drawing, label_rows, montage, show_grid, smooth, to_png
from .sampling import Denoiser, ddim_samples, ddpm_samples
from .schedule import process as process_of
from .schedule import to_signed, to_unit

SHOWN = 8  # samples per sampler
TRAJECTORY_SAMPLES = 4
TRAJECTORY_COLUMNS = (1000, 800, 600, 400, 300, 200, 100, 50, 1)  # for T = 1000
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red")


def _starts(evaluation, n: int) -> tuple[torch.Tensor, torch.Generator]:
    generator = torch.Generator().manual_seed(evaluation.seed)
    start = torch.randn((n, 1, 28, 28), generator=generator)
    return start.to(evaluation.test_images.device), generator


# -- the forward process ------------------------------------------------------------------

def forward_process(names, runs, measured, evaluation) -> Figure:
    """One test image noised by each run's schedule at the assignment's t (the same noise),
    and ᾱ_t of each schedule."""
    image = to_signed(evaluation.test_images[:1].cpu())
    noise = torch.randn(image.shape, generator=torch.Generator().manual_seed(evaluation.seed))
    strips, alpha_bars = [], []
    for name in names:
        params, at = runs[name].config.params, measured[name]["forward_at"]
        process = process_of(params.schedule, params.steps)
        strips.append(torch.cat([image if t == 0 else process.noised(
            image, torch.tensor([t]), noise) for t in at]))
        alpha_bars.append(measured[name]["alpha_bar"])
    arrays = {"strips": to_unit(torch.stack(strips)).numpy(),
              "alpha_bar": np.asarray(alpha_bars), "at": np.asarray(at),
              "half_signal_t": np.asarray([measured[n]["half_signal_t"] for n in names])}
    schedules = tuple(runs[name].config.params.schedule for name in names)
    caption = ("The forward process q(x_t | x_0): one test image at t = "
               f"{', '.join(map(str, at))}, the same noise for each schedule (left); ᾱ_t, the "
               "share of the image's variance left at step t, with the step where it falls "
               "below one half marked (right).")
    return Figure("forward_process", caption, arrays, schedules, "ddpm_forward")


@drawing("ddpm_forward")
def _draw_forward(labels, arrays) -> bytes:
    schedules, strips = labels, arrays["strips"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.6, 1.0 + 0.7 * len(schedules)),
                                      gridspec_kw={"width_ratios": [2.3, 1]})
    columns = strips.shape[1]
    show_grid(left, strips.reshape(-1, 1, 28, 28), columns)
    label_rows(left, list(schedules))
    left.set_xticks([i * 30 + 14 for i in range(columns)],
                    [f"t = {t}" for t in arrays["at"]], fontsize=6)
    left.tick_params(axis="x", length=0)
    steps = np.arange(1, arrays["alpha_bar"].shape[1] + 1)
    for row, schedule in enumerate(schedules):
        right.plot(steps, arrays["alpha_bar"][row], color=COLOURS[row], label=schedule)
        right.axvline(arrays["half_signal_t"][row], color=COLOURS[row], linestyle=":",
                      linewidth=1)
    right.set_xlabel("t")
    right.set_ylabel("ᾱ_t")
    right.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return to_png(fig)


# -- training -------------------------------------------------------------------------------

def training(names, runs, measured, evaluation) -> Figure:
    """The training loss per iteration of each run, and the test loss per tenth of the T
    steps (± SE), for ε and for the x̂_0 it implies."""
    arrays = {}
    for i, name in enumerate(names):
        rows = measured[name]["loss_per_bucket"]
        arrays[f"loss_{i}"] = np.asarray(runs[name].history["loss"])
        for field in ("from", "to", "eps_mse", "eps_mse_se", "x0_mse", "x0_mse_se"):
            arrays[f"{field}_{i}"] = np.asarray([row[field] for row in rows])
    labels = tuple(runs[name].config.params.schedule for name in names)
    window = max(1, runs[names[0]].iterations_per_epoch)
    caption = ("Left: the training loss ‖ε − ε_θ(x_t, t)‖² per iteration (thin) and its mean "
               f"over {window} iterations. Middle: the same loss on the "
               f"{len(evaluation.test_labels)} test images, t drawn within each tenth of the "
               "steps. Right: the error of x̂_0 that each ε error implies, (1 − ᾱ_t)/ᾱ_t "
               "times as large (log axis). ± one standard error over the test images.")
    return Figure("training", caption, arrays, (labels, window), "ddpm_training")


@drawing("ddpm_training")
def _draw_training(labels, arrays) -> bytes:
    schedules, window = labels
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 2.6))
    for i, schedule in enumerate(schedules):
        colour, loss = COLOURS[i], arrays[f"loss_{i}"]
        steps = np.arange(1, len(loss) + 1)
        axes[0].plot(steps, loss, color=colour, alpha=0.2, linewidth=0.5)
        axes[0].plot(steps[window - 1:], smooth(loss, window), color=colour, label=schedule)
        middle = (arrays[f"from_{i}"] + arrays[f"to_{i}"]) / 2
        for ax, field in ((axes[1], "eps_mse"), (axes[2], "x0_mse")):
            ax.errorbar(middle, arrays[f"{field}_{i}"], yerr=arrays[f"{field}_se_{i}"],
                        color=colour, marker="o", markersize=3, capsize=2, label=schedule)
    axes[0].set(xlabel="iteration", ylabel="training loss", yscale="log")
    axes[1].set(xlabel="t (tenths of the steps)", ylabel="test ε error (MSE)")
    axes[2].set(xlabel="t (tenths of the steps)", ylabel="implied x̂_0 error (MSE)",
                yscale="log")
    for ax in axes:
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return to_png(fig)


# -- samples and their cost ---------------------------------------------------------------

def samples(name, run, measured, evaluation) -> Figure:
    """The same starting noise through every sampler: DDPM with all T steps, DDIM with
    100, 50, 20 and 10."""
    process, eps = process_of(run.config.params.schedule, run.config.params.steps), Denoiser(run)
    start, generator = _starts(evaluation, SHOWN)
    few = sorted(measured["ddim_steps"], reverse=True)  # DDIM's step counts, most first
    rows = [ddpm_samples(eps, process, start, generator, [])[0]]
    rows += [ddim_samples(eps, process, start, steps) for steps in few]
    names = [f"DDPM, {process.steps}"] + [f"DDIM, {steps}" for steps in few]
    fids = [measured["ddpm"]] + [measured["ddim"][str(steps)] for steps in few]
    scores = "; ".join(f"{row} steps {fid['frechet']:.1f} ± {fid['frechet_se']:.1f}"
                       for row, fid in zip(names, fids, strict=True))
    caption = (f"Run <code>{name}</code>, {run.label}: {SHOWN} samples per sampler, each column "
               f"from the same x_T. FID ({evaluation.n_samples} samples, the "
               f"{evaluation.words['judge']}'s features): {scores}.")
    images = to_unit(torch.stack([row.cpu() for row in rows])).numpy()
    return Figure(f"samples_{name}", caption, {"samples": images}, (run.label, tuple(names)),
                  "ddpm_samples")


@drawing("ddpm_samples")
def _draw_samples(labels, arrays) -> bytes:
    title, rows = labels
    grid = arrays["samples"]
    fig, ax = plt.subplots(figsize=(0.62 * grid.shape[1] + 1.3, 0.62 * grid.shape[0] + 0.5))
    show_grid(ax, grid.reshape(-1, 1, 28, 28), grid.shape[1])
    label_rows(ax, list(rows))
    ax.set_xticks([])
    ax.set_title(title)
    fig.tight_layout(pad=0.3)
    return to_png(fig)


def fid_vs_steps(names, runs, measured, evaluation) -> Figure:
    """FID ± SE and seconds per 1,000 samples against the sampler's steps, per run."""
    arrays = {}
    for i, name in enumerate(names):
        m = measured[name]
        steps = [*m["ddim_steps"], m["ddpm"]["steps"]]
        scores = [*(m["ddim"][str(s)] for s in m["ddim_steps"]), m["ddpm"]]
        arrays[f"steps_{i}"] = np.asarray(steps)
        for field in ("frechet", "frechet_se", "seconds_per_1000"):
            arrays[f"{field}_{i}"] = np.asarray([score[field] for score in scores])
    labels = tuple(runs[name].config.params.schedule for name in names)
    caption = (f"FID of {evaluation.n_samples} samples (± bootstrap SE) and the seconds "
               "1,000 samples take on this machine, against the sampler's number of steps: "
               "DDIM (η = 0) at the fewer, DDPM's ancestral sampler at all T. Lower is better.")
    return Figure("fid_vs_steps", caption, arrays, labels, "ddpm_fid_steps")


@drawing("ddpm_fid_steps")
def _draw_fid_vs_steps(labels, arrays) -> bytes:
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 2.6))
    for i, schedule in enumerate(labels):
        steps = arrays[f"steps_{i}"]
        left.errorbar(steps, arrays[f"frechet_{i}"], yerr=arrays[f"frechet_se_{i}"],
                      color=COLOURS[i], marker="o", markersize=3, capsize=2, label=schedule)
        right.plot(steps, arrays[f"seconds_per_1000_{i}"], color=COLOURS[i], marker="o",
                   markersize=3, label=schedule)
    left.set(xscale="log", xlabel="sampling steps", ylabel="FID")
    right.set(xscale="log", yscale="log", xlabel="sampling steps",
              ylabel="seconds per 1,000 samples")
    for ax in (left, right):
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return to_png(fig)


# -- the denoising trajectory -------------------------------------------------------------

def trajectory(name, run, measured, evaluation) -> Figure:
    """x̂_0 along one DDPM reverse process for a few samples, and over all measured samples
    the share whose x̂_0 already reads as their final class, and its distance to the end."""
    params = run.config.params
    process, eps = process_of(params.schedule, params.steps), Denoiser(run)
    at = [max(1, round(t * params.steps / 1000)) for t in TRAJECTORY_COLUMNS]
    start, generator = _starts(evaluation, TRAJECTORY_SAMPLES)
    final, kept = ddpm_samples(eps, process, start, generator, at)
    tiles = torch.stack([kept[t] for t in at], dim=1)  # [samples, steps, 1, 28, 28]
    rows = measured["trajectory"]
    arrays = {"tiles": to_unit(tiles).numpy(), "at": np.asarray(at),
              "t": np.asarray([row["t"] for row in rows]),
              "same_class": np.asarray([row["same_class"] for row in rows]),
              "same_class_se": np.asarray([row["same_class_se"] for row in rows]),
              "pixel_change": np.asarray([row["pixel_change"] for row in rows])}
    caption = (f"Run <code>{name}</code>, {run.label}: the predicted x̂_0 along one DDPM "
               f"reverse process for {TRAJECTORY_SAMPLES} samples (top, t falling to the "
               f"right). Below, over the {evaluation.n_samples} measured samples: the share "
               f"whose x̂_0 the {evaluation.words['judge']} already reads as "
               "the sample's final class "
               "(± SE), and the mean absolute pixel difference between x̂_0 and the final "
               "sample.")
    return Figure(f"trajectory_{name}", caption, arrays, (run.label,), "ddpm_trajectory")


@drawing("ddpm_trajectory")
def _draw_trajectory(labels, arrays) -> bytes:
    tiles = arrays["tiles"]
    samples, steps = tiles.shape[:2]
    fig = plt.figure(figsize=(0.62 * steps + 0.8, 0.62 * samples + 2.6))
    top = fig.add_axes((0.06, 0.42, 0.9, 0.5))
    top.imshow(montage(tiles.reshape(-1, 1, 28, 28), steps), cmap="gray", vmin=0, vmax=1,
               interpolation="nearest")
    top.set_xticks([i * 30 + 14 for i in range(steps)], [f"t = {t}" for t in arrays["at"]],
                   fontsize=6)
    top.set_yticks([])
    top.tick_params(axis="x", length=0)
    top.set_title(f"{labels[0]}: x̂_0 along the reverse process")
    left, right = fig.add_axes((0.1, 0.08, 0.35, 0.24)), fig.add_axes((0.6, 0.08, 0.35, 0.24))
    left.errorbar(arrays["t"], arrays["same_class"], yerr=arrays["same_class_se"],
                  marker="o", markersize=3, capsize=2)
    left.set(xlabel="t", ylabel="same class as final", ylim=(0, 1.05))
    left.invert_xaxis()
    right.plot(arrays["t"], arrays["pixel_change"], marker="o", markersize=3)
    right.set(xlabel="t", ylabel="|x̂_0 − final|")
    right.invert_xaxis()
    return to_png(fig)
