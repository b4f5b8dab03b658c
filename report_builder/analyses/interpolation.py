"""Embedding-space interpolation (problem1, part 3): for each label pair, one training
image of each label is encoded (a VAE by its posterior mean), the codes
z_start + i/steps (z_end - z_start) are decoded, and the AE's path is set beside the VAE's.
"""

import numpy as np
import torch

from .. import evaluate as ev
from ..data import Dataset
from ..errors import ReportBuilderError
from ..figures import Figure, plot_interpolation
from ..runs import Run
from ..spec import Spec
from ..train import as_float


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
            decoded = ev.interpolate(model, start, end, setting.steps)
            row = torch.cat([start[None], decoded, end[None]])
            confidence = ev.digit_confidence(judge, row)
            pair_rows[label] = row.cpu().numpy()
            pair_stats[label.lower()] = ev.path_statistics(pair_rows[label], confidence)
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
