"""How the encoder/decoder families' own kinds of figure are drawn: reconstructions,
training losses, the latent manifold and scatter of a 2-d code, and the KL of each latent
dimension. Each `plot_*` returns a Figure of plain arrays; its `@drawing` draws it, in a
build and in the notebook's redraw alike."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ...figures import TILE, Figure, drawing, label_rows, montage, show_grid, smooth, to_png


def plot_reconstructions(name, caption, title, originals: np.ndarray, recons: np.ndarray) -> Figure:
    arrays = {"originals": originals, "reconstructions": recons}
    return Figure(name, caption, arrays, (title,), "reconstructions")


@drawing("reconstructions")
def _draw_reconstructions(labels, arrays) -> bytes:
    title, originals, recons = labels[0], arrays["originals"], arrays["reconstructions"]
    fig, ax = plt.subplots(figsize=(0.75 * len(originals) + 1.0, 2.0))
    show_grid(ax, np.concatenate([originals, recons]), columns=len(originals))
    label_rows(ax, ["test image", "reconstruction"])
    ax.set_title(title)
    fig.tight_layout()
    return to_png(fig)


def plot_loss_curves(name, caption, title, history: dict[str, list[float]],
                     iterations_per_epoch: int) -> Figure:
    arrays = {key: np.asarray(values) for key, values in history.items() if key in LOSS_LABELS}
    return Figure(name, caption, arrays,
                  (title, iterations_per_epoch), "loss_curves")


LOSS_LABELS = {"recon": "reconstruction (MSE per pixel)", "kl": "KL (nats per image)"}


@drawing("loss_curves")
def _draw_loss_curves(labels, history) -> bytes:
    title, iterations_per_epoch = labels
    panels = [(key, label) for key, label in LOSS_LABELS.items() if key in history]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 2.4), squeeze=False)
    window = max(1, iterations_per_epoch // 4)
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        values = np.asarray(history[key])
        steps = np.arange(1, len(values) + 1)
        ax.plot(steps, values, color="tab:blue", alpha=0.25, linewidth=0.6, label="per iteration")
        ax.plot(steps[window - 1:], smooth(values, window), color="tab:blue", linewidth=1.3,
                label=f"mean of {window}")
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        if values.min() > 0:  # early KL spikes would flatten everything else
            ax.set_yscale("log")
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return to_png(fig)


def plot_manifold(name, caption, title, z: np.ndarray, images: np.ndarray,
                  limit: float) -> Figure:
    size = z.shape[0]
    return Figure(name, caption, {"z": z, "images": images},
                  (title, size, limit),
                  "manifold")


def manifold_ticks(size: int, limit: float) -> tuple[np.ndarray, list[str]]:
    """Round z values (-4, -2, 0, 2, 4) and where they fall on a size x size grid over
    [-limit, limit], as fractional tile indices: an even-sized grid has no tile at 0."""
    values = MaxNLocator(nbins=4).tick_values(-limit, limit)
    values = values[np.abs(values) <= limit + 1e-9]
    return (values + limit) / (2 * limit) * (size - 1), [f"{value:g}" for value in values]


@drawing("manifold")
def _draw_manifold(labels, arrays) -> bytes:
    (title, size, limit), images = labels, arrays["images"]
    fig, ax = plt.subplots(figsize=(4.6, 4.8))
    ax.imshow(montage(images, size), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    tiles, ticks = manifold_ticks(size, limit)
    ax.set_xticks(tiles * TILE + 13.5, ticks)  # 13.5: the centre of a tile's 28 pixels
    ax.set_yticks((size - 1 - tiles) * TILE + 13.5, ticks)  # z2 grows upwards
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title(title)
    fig.tight_layout()
    return to_png(fig)


def plot_latent_scatter(name, caption, title, means: np.ndarray, labels: np.ndarray,
                        limit: float) -> Figure:
    return Figure(name, caption, {"means": means, "labels": labels},
                  (title, limit),
                  "latent_scatter")


@drawing("latent_scatter")
def _draw_latent_scatter(figure_labels, arrays) -> bytes:
    (title, limit), means, labels = figure_labels, arrays["means"], arrays["labels"]
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    points = ax.scatter(means[:, 0], means[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5,
                        vmax=9.5, rasterized=True)
    fig.colorbar(points, ax=ax, ticks=range(10), label="class")
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel("z₁")
    ax.set_ylabel("z₂")
    ax.set_title(title)
    fig.tight_layout()
    return to_png(fig)


def plot_kl_per_dimension(name, caption, title, kl: np.ndarray, floor: float) -> Figure:
    """Each latent dimension's KL (mean over test images), largest first, on a log axis, with
    the level under which a dimension sits at the prior."""
    arrays = {"kl": np.sort(np.asarray(kl))[::-1].copy(), "floor": np.asarray(floor)}
    return Figure(name, caption, arrays, (title,), "kl_per_dimension")


@drawing("kl_per_dimension")
def _draw_kl_per_dimension(labels, arrays) -> bytes:
    title = labels[0]
    fig, ax = plt.subplots(figsize=(4.6, 2.6))
    kl, floor = arrays["kl"], float(arrays["floor"])
    shown = np.maximum(kl, floor / 100)  # a dimension at exactly the prior still gets a bar
    ax.bar(np.arange(1, len(kl) + 1), shown, color=np.where(kl > floor, "tab:blue", "tab:gray"))
    ax.axhline(floor, color="tab:red", linestyle="--", linewidth=1,
               label=f"{floor:g} nats: at the prior below")
    ax.set_yscale("log")
    ax.set_xlabel("latent dimension, largest KL first")
    ax.set_ylabel("KL (nats per image)")
    ax.legend(frameon=False, fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    return to_png(fig)
