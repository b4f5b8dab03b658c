"""Training losses of several runs per iteration on the same axes: how a KL schedule changes
what a VAE learns (beta-vae), or any comparison of runs trained on the same data."""

import numpy as np

from ..figures import Figure, plot_loss_comparison
from ..runs import Run
from ..spec import Spec

PART_LABELS = {"beta": "KL weight w(t)", "recon": "reconstruction (BCE per image)",
               "kl": "KL (nats per image)", "loss": "loss"}


def figure(spec: Spec, runs: dict[str, Run]) -> Figure:
    setting = spec.compare_losses
    shown = {name: runs[name] for name in setting.runs}
    curves = {f"{part}/{name}": np.asarray(run.history[part])
              for name, run in shown.items() for part in setting.parts}
    per_epoch = max(run.iterations_per_epoch for run in shown.values())
    labels = [run.label for run in shown.values()]
    names = ", ".join(f"<code>{name}</code>" for name in shown)
    caption = (f"Training losses per iteration of {names} on the same axes (batch means; "
               f"thick lines: mean over a quarter epoch).")
    return plot_loss_comparison("compare_losses", caption, curves, list(shown), labels,
                                [PART_LABELS.get(part, part) for part in setting.parts],
                                setting.parts, per_epoch)
