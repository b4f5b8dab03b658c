"""One `plot_*` per figure kind. Each returns a Figure: PNG bytes plus the arrays it shows.

Nothing here trains or reads models; `save_figures` is the only function that writes.
"""

import io
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .files import atomic_write_bytes, sha256_bytes  # noqa: E402

DPI = 150
plt.rcParams.update({
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "report-builder",  # stable SVG ids, so builds are reproducible
})


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    png: bytes
    arrays: dict[str, np.ndarray]


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    # No "Software" text chunk: the bytes then depend only on the pixels.
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _show(ax, image: np.ndarray) -> None:
    ax.imshow(image.squeeze(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def plot_reconstructions(name, caption, title, originals: np.ndarray, recons: np.ndarray) -> Figure:
    n = len(originals)
    fig, axes = plt.subplots(2, n, figsize=(1.1 * n, 2.5), squeeze=False)
    for column in range(n):
        _show(axes[0, column], originals[column])
        _show(axes[1, column], recons[column])
    axes[0, 0].set_ylabel("test image")
    axes[1, 0].set_ylabel("reconstruction")
    fig.suptitle(title)
    fig.tight_layout()
    return Figure(name, caption, _png(fig), {"originals": originals, "reconstructions": recons})


def plot_samples(name, caption, title, samples: np.ndarray, columns: int = 4) -> Figure:
    rows = int(np.ceil(len(samples) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(0.75 * columns, 0.75 * rows + 0.4),
                             squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < len(samples):
            _show(ax, samples[index])
        else:
            ax.axis("off")
    fig.suptitle(title)
    fig.tight_layout(pad=0.3)
    return Figure(name, caption, _png(fig), {"samples": samples})


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def plot_loss_curves(name, caption, title, history: dict[str, list[float]],
                     iterations_per_epoch: int) -> Figure:
    panels = [(key, label) for key, label in
              (("recon", "reconstruction (MSE per pixel)"), ("kl", "KL (nats per image)"))
              if key in history]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 2.4), squeeze=False)
    window = max(1, iterations_per_epoch // 4)
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        values = np.asarray(history[key])
        steps = np.arange(1, len(values) + 1)
        ax.plot(steps, values, color="tab:blue", alpha=0.25, linewidth=0.6, label="per iteration")
        smooth = _smooth(values, window)
        ax.plot(steps[window - 1:], smooth, color="tab:blue", linewidth=1.3,
                label=f"mean of {window}")
        ax.set_xlabel("iteration")
        ax.set_ylabel(label)
        if values.min() > 0:  # early KL spikes would flatten everything else
            ax.set_yscale("log")
        ax.legend(frameon=False, fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    arrays = {key: np.asarray(history[key]) for key, _ in panels}
    return Figure(name, caption, _png(fig), arrays)


def plot_beta_search(name, caption, betas: np.ndarray, frechet: np.ndarray, recon: np.ndarray,
                     chosen: float, eligible: np.ndarray) -> Figure:
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.8, 2.5))
    for ax, values, label in ((left, frechet, "Fréchet distance of samples"),
                              (right, recon, "test reconstruction MSE")):
        ax.plot(betas, values, marker="o", color="tab:blue")
        ax.plot(betas[~eligible], values[~eligible], "x", color="tab:red", markersize=8,
                label="reconstructions too poor")
        pick = betas == chosen
        ax.plot(betas[pick], values[pick], "*", color="tab:orange", markersize=14,
                label=f"chosen β = {chosen:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("β")
        ax.set_ylabel(label)
    left.legend(frameon=False, fontsize=7, loc="upper left")
    fig.suptitle("β search (lower is better in both panels)")
    fig.tight_layout()
    arrays = {"betas": betas, "frechet": frechet, "recon_mse": recon, "eligible": eligible,
              "chosen": np.asarray(chosen)}
    return Figure(name, caption, _png(fig), arrays)


def plot_interpolation(name, caption, title, rows: dict[str, np.ndarray]) -> Figure:
    """One row per model: start image, the decodings, end image."""
    n_rows, n_columns = len(rows), len(next(iter(rows.values())))
    fig, axes = plt.subplots(n_rows, n_columns, figsize=(0.9 * n_columns + 0.5, 1.0 * n_rows + 0.4),
                             squeeze=False)
    for r, (label, row) in enumerate(rows.items()):
        for c in range(n_columns):
            _show(axes[r, c], row[c])
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    axes[0, 0].set_title("start", fontsize=8)
    axes[0, -1].set_title("end", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout(pad=0.3)
    return Figure(name, caption, _png(fig), dict(rows))


def save_figures(figures: list[Figure], folder: Path) -> dict[str, dict]:
    """Write each figure's PNG and .npz; return {name: {file, sha256, arrays}}."""
    saved = {}
    for figure in figures:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **figure.arrays)
        atomic_write_bytes(folder / f"{figure.name}.png", figure.png)
        atomic_write_bytes(folder / f"{figure.name}.npz", buffer.getvalue())
        saved[figure.name] = {
            "file": f"{folder.name}/{figure.name}.png",
            "arrays": f"{folder.name}/{figure.name}.npz",
            "sha256": sha256_bytes(figure.png),
            "caption": figure.caption,
        }
    return saved
