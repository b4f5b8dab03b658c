"""The SimSiam problem's figure of each run: its representation of the test images on
their first two principal components. The kind registers how it is drawn."""

import matplotlib.pyplot as plt
import torch

from ...figures import Figure, drawing, to_png
from .readout import features

# What epoch_end measures, as the per-epoch comparison names it: (panel title, what its
# reference level is).
SERIES = {"knn_accuracy": ("kNN accuracy (test)", "chance"),
          "output_std": ("std of the normalized output (test)", "at initialisation"),
          "output_rank": ("effective rank of the output (test)", "at initialisation")}

@torch.no_grad()
def representation(name: str, run, measured: dict, evaluation) -> Figure:
    """The test images' encoder features (L2-normalized) projected on their two principal
    components."""
    feats = features(run.model, evaluation.test_images).double()
    centred = feats - feats.mean(0)
    _, singular, vectors = torch.linalg.svd(centred, full_matrices=False)
    points = (centred @ vectors[:2].t()).cpu().numpy()
    explained = (singular[:2] ** 2 / (singular ** 2).sum()).cpu().numpy()
    caption = (f"Run <code>{name}</code>, {run.label}: encoder features of the {len(points)} "
               f"test images (L2-normalized) on their first two principal components "
               f"({100 * explained.sum():.0f}% of the variance), coloured by class. Final kNN "
               f"accuracy {100 * measured['final_knn_accuracy']:.1f}%.")
    arrays = {"points": points, "labels": evaluation.test_labels.cpu().numpy()}
    return Figure(f"representation_{name}", caption, arrays, (run.label,), "projection")


@drawing("projection")
def _draw_projection(labels, arrays) -> bytes:
    """A 2-D projection of features, coloured by class (axes scaled to the points)."""
    title, points, labels = labels[0], arrays["points"], arrays["labels"]
    fig, ax = plt.subplots(figsize=(3.3, 3.0))
    shown = ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5,
                       vmax=9.5, rasterized=True)
    fig.colorbar(shown, ax=ax, ticks=range(10), label="class")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    return to_png(fig)
