"""Training losses of several runs per iteration on the same axes: how a KL schedule changes
what a VAE learns (beta-vae), or any comparison of runs trained on the same data. Each
panel is named as the runs' family names that part of its loss."""

import numpy as np
from pydantic import Field

from ..figures import Figure, plot_loss_comparison
from .base import Analysis, Finding, Inputs, Section


class CompareLosses(Section):
    """Training losses of several runs per iteration on the same axes (one panel per part)."""

    runs: list[str] = Field(min_length=2)
    parts: list[str] = Field(default=["recon", "kl"], min_length=1)


def figures(inputs: Inputs, finding: Finding | None) -> list[Figure]:
    setting, runs = inputs.section, inputs.runs
    shown = {name: runs[name] for name in setting.runs}
    curves = {f"{part}/{name}": np.asarray(run.history[part])
              for name, run in shown.items() for part in setting.parts}
    per_epoch = max(run.iterations_per_epoch for run in shown.values())
    labels = [run.label for run in shown.values()]
    names = ", ".join(f"<code>{name}</code>" for name in shown)
    parts = shown[setting.runs[0]].family.parts
    caption = (f"Training losses per iteration of {names} on the same axes (batch means; "
               f"thick lines: mean over a quarter epoch).")
    return [plot_loss_comparison("compare_losses", caption, curves, list(shown), labels,
                                 [parts.get(part, part) for part in setting.parts],
                                 setting.parts, per_epoch)]


ANALYSIS = Analysis(CompareLosses, runs_read=lambda section: list(section.runs),
                    figures=figures)
