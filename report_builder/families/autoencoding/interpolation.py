"""Embedding-space interpolation (problem1, part 3): for each label pair, one training
image of each label is encoded (a VAE by its posterior mean), the codes
z_start + i/steps (z_end - z_start) are decoded, and the AE's path is set beside the VAE's.
"""

import numpy as np
import torch
from pydantic import Field, field_validator
from torch import nn

from ... import evaluate as ev
from ...analyses.base import Analysis, Finding, Inputs, Section
from ...data import Dataset
from ...errors import ReportBuilderError
from ...figures import Figure, plot_interpolation
from ...train import as_float
from .measures import encode_mean


class Interpolation(Section):
    ae: str
    vae: str
    steps: int = Field(default=5, ge=2)
    pairs: list[tuple[int, int]] = Field(min_length=1)

    @field_validator("pairs")
    @classmethod
    def digits(cls, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for start, end in pairs:
            if not (0 <= start <= 9 and 0 <= end <= 9):
                raise ValueError(f"labels must be digits 0-9, got {start}->{end}")
        return pairs


@torch.no_grad()
def interpolate(model: nn.Module, start: torch.Tensor, end: torch.Tensor,
                steps: int) -> torch.Tensor:
    """Decode z_start + i/steps (z_end - z_start) for i = 0..steps-1, as the course defines."""
    z_start, z_end = (encode_mean(model, image[None])[0] for image in (start, end))
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


def measure(inputs: Inputs) -> Finding:
    """Per label pair, the rows of images (per model, shown only by the figures) and their
    path statistics; and the statistics averaged over the pairs."""
    setting, evaluation = inputs.section, inputs.evaluation
    data, device = evaluation.data, evaluation.test_images.device
    models = {"AE": inputs.runs[setting.ae].model, "VAE": inputs.runs[setting.vae].model}
    rows, stats = [], []
    for number, (start_label, end_label) in enumerate(setting.pairs):
        i, j = pick_pair_images(data, start_label, end_label, inputs.seed + number)
        start, end = as_float(data.train_images[[i, j]], device)
        pair_rows, pair_stats = {}, {"start_label": start_label, "end_label": end_label,
                                     "start_index": i, "end_index": j}
        for label, model in models.items():
            decoded = interpolate(model, start, end, setting.steps)
            row = torch.cat([start[None], decoded, end[None]])
            confidence = ev.digit_confidence(evaluation.judge, row)
            pair_rows[label] = row.cpu().numpy()
            pair_stats[label.lower()] = path_statistics(pair_rows[label], confidence)
        rows.append(pair_rows)
        stats.append(pair_stats)
    return Finding({"pairs": stats, "means": path_means(stats)}, shown=rows)


def path_means(pairs: list[dict]) -> dict[str, float]:
    """Interpolation statistics averaged over the label pairs, per model."""
    return {f"{model}_{stat}": float(np.mean([pair[model][stat] for pair in pairs]))
            for model in ("ae", "vae") for stat in ("jump_ratio", "inner_confidence")}


def figures(inputs: Inputs, finding: Finding) -> list[Figure]:
    return [_figure(number, pair_rows, pair_stats, inputs.section)
            for number, (pair_rows, pair_stats)
            in enumerate(zip(finding.shown, finding.numbers["pairs"], strict=True))]


def _figure(number: int, rows: dict, stats: dict, setting: Interpolation) -> Figure:
    start, end = stats["start_label"], stats["end_label"]
    caption = (f"Interpolation {start} → {end} between the same two training images: AE "
               f"(<code>{setting.ae}</code>) and VAE "
               f"(<code>{setting.vae}</code>, posterior means). Largest step over "
               f"mean step: AE {stats['ae']['jump_ratio']:.2f}, "
               f"VAE {stats['vae']['jump_ratio']:.2f}.")
    return plot_interpolation(f"interpolation_{number + 1}_{start}_to_{end}", caption,
                              f"{start} → {end}", rows)


ANALYSIS = Analysis(Interpolation, runs_read=lambda section: [section.ae, section.vae],
                    figures=figures, measure=measure)
