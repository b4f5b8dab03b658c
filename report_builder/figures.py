"""One `plot_*` per figure kind. Each returns a Figure: the arrays it shows, the text drawn
into it and its kind; `DRAWINGS` says how each kind is drawn from those, so a build and the
notebook's `redraw` draw alike. A family or an analysis registers its own kinds
(`@drawing`). `save_figures` draws a figure only when its arrays, labels or its drawing's
code changed since the PNG on disk was drawn, so a rebuild redraws exactly what changed.

Nothing here trains or reads models; `save_figures` is the only function that writes.
"""

import hashlib
import inspect
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from PIL import Image  # noqa: E402

from .files import atomic_write_bytes, pixels_sha256, sha256_bytes  # noqa: E402
from .numbers import epochs  # noqa: E402

DPI = 150
plt.rcParams.update({
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "report-builder",  # stable SVG ids, so builds are reproducible
})


# How a kind of figure is drawn: (labels, arrays) -> PNG bytes. A build and `redraw` (the
# notebook, from a figure's saved arrays) take this one path.
Drawing = Callable[[tuple, dict[str, np.ndarray]], bytes]
DRAWINGS: dict[str, Drawing] = {}


def drawing(kind: str) -> Callable[[Drawing], Drawing]:
    """Register how figures of `kind` are drawn (a decorator, like timm's register_model):
    a family or an analysis brings its own kinds of figure."""
    def register(draw: Drawing) -> Drawing:
        if DRAWINGS.setdefault(kind, draw) is not draw:
            raise ValueError(f"two drawings of figure kind {kind!r}")
        return draw
    return register


def drawing_of(kind: str) -> Drawing:
    """How `kind` is drawn. A family's own kinds are registered when its module is imported
    (a build has imported its runs' families; `families.import_all` imports every one)."""
    if kind not in DRAWINGS:
        raise ValueError(f"unknown figure kind {kind!r}")
    return DRAWINGS[kind]


@cache
def module_version(module_name: str) -> str:
    return hashlib.sha256(inspect.getsource(sys.modules[module_name]).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    arrays: dict[str, np.ndarray]
    labels: tuple = ()  # text drawn into the picture: part of what decides a redraw
    kind: str = ""  # how it is drawn (DRAWINGS), so `redraw` can draw it again

    def draw(self) -> bytes:
        """The PNG."""
        return drawing_of(self.kind)(self.labels, self.arrays)

    def content_key(self) -> str:
        version = module_version(drawing_of(self.kind).__module__)
        digest = hashlib.sha256(repr((self.name, self.labels, version)).encode())
        for key in sorted(self.arrays):
            array = np.ascontiguousarray(self.arrays[key])
            digest.update(f"{key}{array.dtype}{array.shape}".encode())
            digest.update(array.tobytes())
        return digest.hexdigest()


def to_png(fig) -> bytes:
    buffer = io.BytesIO()
    # No "Software" text chunk: the bytes then depend only on the pixels.
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


PAD = 2  # white pixels between tiles
TILE = 28 + PAD


def montage(images: np.ndarray, columns: int) -> np.ndarray:
    """Tile [N, 1, 28, 28] images into one array, white gaps between them, row by row."""
    rows = int(np.ceil(len(images) / columns))
    sheet = np.ones((rows * TILE - PAD, columns * TILE - PAD))
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        sheet[r * TILE:r * TILE + 28, c * TILE:c * TILE + 28] = image.reshape(28, 28)
    return sheet


def show_grid(ax, images: np.ndarray, columns: int) -> None:
    # One imshow per grid, not one axes per digit: 20x faster to draw, same picture.
    ax.imshow(montage(images, columns), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def label_rows(ax, labels: list[str]) -> None:
    ax.set_yticks([r * TILE + 14 for r in range(len(labels))], labels)
    ax.tick_params(axis="y", length=0)


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


def plot_samples(name, caption, title, samples: np.ndarray, columns: int = 4) -> Figure:
    return Figure(name, caption, {"samples": samples},
                  (title, columns), "samples")


@drawing("samples")
def _draw_samples(labels, arrays) -> bytes:
    (title, columns), samples = labels, arrays["samples"]
    rows = int(np.ceil(len(samples) / columns))
    fig, ax = plt.subplots(figsize=(0.7 * columns + 0.3, 0.7 * rows + 0.5))
    show_grid(ax, samples, columns)
    ax.set_title(title)
    fig.tight_layout(pad=0.3)
    return to_png(fig)


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


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


def plot_beta_search(name, caption, rungs: list[dict], chosen: float) -> Figure:
    """Fréchet distance and test MSE against beta, one line per rung of the search."""
    arrays = {}
    for rung in rungs:
        for field in ("beta", "frechet", "test_mse", "eligible"):
            arrays[f"{field}_e{rung['epochs']}"] = np.array([row[field] for row in rung["rows"]])
    arrays["chosen"] = np.asarray(chosen)
    rung_epochs = tuple(rung["epochs"] for rung in rungs)
    return Figure(name, caption, arrays, rung_epochs, "beta_search")


@drawing("beta_search")
def _draw_beta_search(labels, arrays) -> bytes:
    rung_epochs, chosen = tuple(labels), float(arrays["chosen"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.8, 2.7))
    for ax, field, label in ((left, "frechet", "Fréchet distance of samples"),
                             (right, "test_mse", "test reconstruction MSE")):
        for number, n in enumerate(rung_epochs):
            betas, values = arrays[f"beta_e{n}"], arrays[f"{field}_e{n}"]
            order = np.argsort(betas)
            ax.plot(betas[order], values[order], marker="o", markersize=3,
                    color=("tab:gray", "tab:blue")[number == len(rung_epochs) - 1],
                    label=epochs(n))
        final = rung_epochs[-1]
        betas, values = arrays[f"beta_e{final}"], arrays[f"{field}_e{final}"]
        poor = ~arrays[f"eligible_e{final}"].astype(bool)
        ax.plot(betas[poor], values[poor], "x", color="tab:red", markersize=7,
                label="reconstructions too poor")
        pick = betas == chosen
        ax.plot(betas[pick], values[pick], "*", color="tab:orange", markersize=13,
                label=f"chosen β = {chosen:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("β")
        ax.set_ylabel(label)
    # Below the panels: inside, the 1-epoch line runs through it.
    fig.legend(*left.get_legend_handles_labels(), loc="lower center", ncol=4, frameon=False,
               fontsize=7)
    fig.suptitle("β search (lower is better in both panels)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return to_png(fig)


def plot_interpolation(name, caption, title, rows: dict[str, np.ndarray]) -> Figure:
    """One row per model: start image, the decodings, end image."""
    return Figure(name, caption, dict(rows), (title,),
                  "interpolation")


@drawing("interpolation")
def _draw_interpolation(labels, rows) -> bytes:
    title = labels[0]
    n_columns = len(next(iter(rows.values())))
    fig, ax = plt.subplots(figsize=(0.8 * n_columns + 0.6, 0.8 * len(rows) + 0.6))
    show_grid(ax, np.concatenate(list(rows.values())), columns=n_columns)
    label_rows(ax, list(rows))
    ax.set_xticks([14, (n_columns - 1) * TILE + 14], ["start", "end"])
    ax.tick_params(axis="x", length=0, labeltop=True, labelbottom=False)
    ax.set_title(title)
    fig.tight_layout(pad=0.3)
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


def plot_loss_comparison(name, caption, curves: dict[str, np.ndarray], runs: list[str],
                         run_labels: list[str], part_labels: list[str], parts: list[str],
                         iterations_per_epoch: int) -> Figure:
    """One panel per loss part, one line per run (curves keyed "part/run")."""
    labels = (tuple(runs), tuple(run_labels), tuple(part_labels), tuple(parts),
              iterations_per_epoch)
    return Figure(name, caption, curves, labels,
                  "loss_comparison")


@drawing("loss_comparison")
def _draw_loss_comparison(labels, curves) -> bytes:
    runs, run_labels, part_labels, parts, iterations_per_epoch = labels
    fig, axes = plt.subplots(1, len(parts), figsize=(max(6.0, 2.45 * len(parts) + 0.4), 2.7),
                             squeeze=False)
    window = max(1, iterations_per_epoch // 4)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, part, part_label in zip(axes[0], parts, part_labels, strict=True):
        for number, (run, run_label) in enumerate(zip(runs, run_labels, strict=True)):
            values = np.asarray(curves[f"{part}/{run}"])
            steps = np.arange(1, len(values) + 1)
            colour = colours[number % len(colours)]
            ax.plot(steps, values, color=colour, alpha=0.2, linewidth=0.5)
            ax.plot(steps[window - 1:], smooth(values, window), color=colour, linewidth=1.2,
                    label=run_label)
        ax.set_xlabel("iteration")
        ax.set_title(part_label, fontsize=8)
    fig.legend(*axes[0][0].get_legend_handles_labels(), loc="lower center", ncol=len(runs),
               frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return to_png(fig)


def plot_epoch_comparison(name, caption, series: dict[str, np.ndarray], runs: list[str],
                          run_labels: list[str], titles: list[str], names: list[str],
                          references: dict[str, float], reference_labels: list[str]) -> Figure:
    """One panel per measured series (keyed "series/run"), one line per run, per epoch, with
    a dashed reference level per panel (chance, a healthy spread)."""
    arrays = {**series, **{f"reference/{key}": np.asarray(value)
                           for key, value in references.items()}}
    labels = (tuple(runs), tuple(run_labels), tuple(titles), tuple(names),
              tuple(reference_labels))
    return Figure(name, caption, arrays, labels,
                  "epoch_comparison")


@drawing("epoch_comparison")
def _draw_epoch_comparison(labels, arrays) -> bytes:
    runs, run_labels, titles, names, reference_labels = labels
    fig, axes = plt.subplots(1, len(names), figsize=(3.3 * len(names), 2.7), squeeze=False)
    for ax, series, title, reference in zip(axes[0], names, titles, reference_labels,
                                            strict=True):
        for run, run_label in zip(runs, run_labels, strict=True):
            values = np.asarray(arrays[f"{series}/{run}"])
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=2.5,
                    linewidth=1.2, label=run_label)
        if f"reference/{series}" in arrays:
            ax.axhline(float(arrays[f"reference/{series}"]), color="tab:gray", linestyle="--",
                       linewidth=1, label=reference)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title(title, fontsize=8)
        ax.legend(frameon=False, fontsize=6)
    fig.tight_layout()
    return to_png(fig)


def save_figures(figures: list[Figure], folder: Path) -> dict[str, dict]:
    """Write each figure's PNG and .npz, drawing only what changed.

    Returns {name: {file, arrays, sha256, caption, redrawn}}.
    """
    saved = {}
    for figure in figures:
        png_path, key_path = folder / f"{figure.name}.png", folder / f".{figure.name}.key"
        key = figure.content_key()
        unchanged = png_path.is_file() and key_path.is_file() and key_path.read_text() == key
        png = png_path.read_bytes() if unchanged else figure.draw()
        if not unchanged:
            buffer = io.BytesIO()
            np.savez_compressed(buffer, **figure.arrays)
            atomic_write_bytes(folder / f"{figure.name}.npz", buffer.getvalue())
            atomic_write_bytes(png_path, png)
            atomic_write_bytes(key_path, key.encode())  # last: marks the PNG as current
        saved[figure.name] = {
            "file": f"{folder.name}/{figure.name}.png",
            "arrays": f"{folder.name}/{figure.name}.npz",
            "sha256": sha256_bytes(png),
            "pixels_sha256": pixels_sha256(Image.open(io.BytesIO(png))),
            "caption": figure.caption,
            "kind": figure.kind,
            "labels": list(figure.labels),
            "redrawn": not unchanged,
        }
    return saved


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


def redraw(kind: str, labels: list, arrays: dict[str, np.ndarray]) -> bytes:
    """Draw a saved figure again from its .npz arrays and manifest labels."""
    return drawing_of(kind)(labels, arrays)
