"""Embedding-space interpolation (problem1, part 3): for each label pair, one training
image of each label is encoded (a VAE by its posterior mean), the codes
z_start + i/steps (z_end - z_start) are decoded, and the AE's path is set beside the VAE's.
"""

import numpy as np
import torch
from torch import nn

from .. import evaluate as ev
from ..data import Dataset
from ..errors import ReportBuilderError
from ..figures import Figure, plot_interpolation
from ..runs import Run
from ..spec import Spec
from ..train import as_float


@torch.no_grad()
def interpolate(model: nn.Module, start: torch.Tensor, end: torch.Tensor,
                steps: int) -> torch.Tensor:
    """Decode z_start + i/steps (z_end - z_start) for i = 0..steps-1, as the course defines."""
    z_start, z_end = (ev.encode_mean(model, image[None])[0] for image in (start, end))
    weights = torch.arange(steps, device=z_start.device).float()[:, None] / steps
    return model.decode(z_start + weights * (z_end - z_start))


def path_statistics(row: np.ndarray, confidences: np.ndarray) -> dict[str, float]:
    """Smoothness of an interpolation row (start image, decodings, end image).

    `jump_ratio` is the largest pixel distance between neighbours over the mean one:
    1 is an even morph, large values mean the path jumps.
    """
    flat = row.reshape(len(row), -1)
    steps = np.linalg.norm(np.diff(flat, axis=0), axis=1) / np.sqrt(flat.shape[1])
    inner = confidences[1:-1]  # the decodings only, not the two real images
    return {
        "jump_ratio": float(steps.max() / max(steps.mean(), 1e-12)),
        "mean_step": float(steps.mean()),
        "inner_confidence": float(inner.mean()),
        "inner_min_confidence": float(inner.min()),
    }


def pick_pair_images(data: Dataset, start: int, end: int, seed: int) -> tuple[int, int]:
    """A random training image of each label, fixed by the seed."""
    generator = torch.Generator().manual_seed(seed)
    indices = []
    for label in (start, end):
        candidates = (data.train_labels == label).nonzero().squeeze(1)
        if len(candidates) == 0:
            raise ReportBuilderError(f"no training image has label {label}; change the pairs")
        indices.append(int(candidates[torch.randint(len(candidates), (1,), generator=generator)]))
    return indices[0], indices[1]


def interpolate_pairs(spec: Spec, runs: dict[str, Run], data: Dataset, judge: ev.Judge,
                      device: str, seed: int) -> tuple[list[dict], list[dict]]:
    """Per label pair, the rows of images (per model) and their path statistics."""
    setting = spec.interpolation
    models = {"AE": runs[setting.ae].model, "VAE": runs[setting.vae].model}
    rows, stats = [], []
    for number, (start_label, end_label) in enumerate(setting.pairs):
        i, j = pick_pair_images(data, start_label, end_label, seed + number)
        start, end = as_float(data.train_images[[i, j]], device)
        pair_rows, pair_stats = {}, {"start_label": start_label, "end_label": end_label,
                                     "start_index": i, "end_index": j}
        for label, model in models.items():
            decoded = interpolate(model, start, end, setting.steps)
            row = torch.cat([start[None], decoded, end[None]])
            confidence = ev.digit_confidence(judge, row)
            pair_rows[label] = row.cpu().numpy()
            pair_stats[label.lower()] = path_statistics(pair_rows[label], confidence)
        rows.append(pair_rows)
        stats.append(pair_stats)
    return rows, stats


def path_means(pairs: list[dict]) -> dict[str, float]:
    """Interpolation statistics averaged over the label pairs, per model."""
    return {f"{model}_{stat}": float(np.mean([pair[model][stat] for pair in pairs]))
            for model in ("ae", "vae") for stat in ("jump_ratio", "inner_confidence")}


def figures(spec: Spec, rows: list[dict], stats: list[dict]) -> list[Figure]:
    return [_figure(number, pair_rows, pair_stats, spec)
            for number, (pair_rows, pair_stats) in enumerate(zip(rows, stats, strict=True))]


def _figure(number: int, rows: dict, stats: dict, spec: Spec) -> Figure:
    start, end = stats["start_label"], stats["end_label"]
    caption = (f"Interpolation {start} → {end} between the same two training images: AE "
               f"(<code>{spec.interpolation.ae}</code>) and VAE "
               f"(<code>{spec.interpolation.vae}</code>, posterior means). Largest step over "
               f"mean step: AE {stats['ae']['jump_ratio']:.2f}, "
               f"VAE {stats['vae']['jump_ratio']:.2f}.")
    return plot_interpolation(f"interpolation_{number + 1}_{start}_to_{end}", caption,
                              f"{start} → {end}", rows)
