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
    (a build has imported its runs' families and its analyses; `families.import_all` and
    `analyses.import_all` import every one)."""
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


def redraw(kind: str, labels: list, arrays: dict[str, np.ndarray]) -> bytes:
    """Draw a saved figure again from its .npz arrays and manifest labels."""
    return drawing_of(kind)(labels, arrays)
