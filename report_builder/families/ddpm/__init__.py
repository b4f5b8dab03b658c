"""Denoising diffusion (the `ddpm` problem): a small U-Net learns to predict the noise ε
added to an image, ‖ε − ε_θ(x_t, t)‖² with t uniform over the T steps (Ho et al. 2020,
Algorithm 1, the "simple" loss), pixels scaled to [−1, 1]; the schedule of the forward
process is linear or cosine (schedule.py).

The weights sampled from are an exponential moving average of the trained ones (Ho et
al.'s EMA), kept as a second network `ema`; only `model` is optimized. Measurements and
figures live beside this module (measures.py, figures.py); they never train.
"""

import copy
from typing import Literal

import torch
from pydantic import Field
from torch.nn import functional as F

from ...numbers import epochs
from ...train import Fit
from .. import base
from . import figures, measures
from .schedule import process, to_signed
from .unet import UNet


class Params(base.Params):
    schedule: Literal["linear", "cosine"] = "linear"
    steps: int = Field(default=1000, ge=10, description="T, the forward process's steps")
    channels: tuple[int, int, int] = Field(
        default=(16, 32, 64), description="U-Net channels at 28x28, 14x14 and 7x7")
    ema_decay: float = Field(default=0.999, ge=0, lt=1,
                             description="of the moving average sampled from")


def build(params: Params) -> dict[str, torch.nn.Module]:
    model = UNet(params.channels)
    return {"model": model, "ema": copy.deepcopy(model).requires_grad_(False)}


def optimizers(models, params: Params, lr: float) -> dict[str, torch.optim.Optimizer]:
    return base.adam({"model": models["model"]}, params, lr)


def step(models, optimizers, batch, params: Params, fit: Fit) -> dict[str, torch.Tensor]:
    model, ema = models["model"], models["ema"]
    x0 = to_signed(batch[0])
    t = torch.randint(1, params.steps + 1, (len(x0),), device=x0.device)
    noise = torch.randn_like(x0)
    with fit.autocast:
        predicted = model(process(params.schedule, params.steps).noised(x0, t, noise), t)
    loss = F.mse_loss(predicted.float(), noise)
    fit.minimize(loss, optimizers["model"])
    update_average(ema, model, params.ema_decay, optimizers["model"])
    return {"loss": loss}


@torch.no_grad()
def update_average(ema, model, decay: float, optimizer: torch.optim.Optimizer) -> None:
    """ema ← d·ema + (1 − d)·model, with d ramped up over the first updates, min(decay,
    (1 + n) / (10 + n)): a short run's average would otherwise keep a share of its random
    initial weights (0.999^2000 = 14%)."""
    first = next(iter(optimizer.state.values()))
    updates = int(first["step"])
    decay = min(decay, (1 + updates) / (10 + updates))
    for average, current in zip(ema.parameters(), model.parameters(), strict=True):
        average.lerp_(current, 1 - decay)


def label(config) -> str:
    return f"DDPM, {config.params.schedule} schedule ({epochs(config.epochs)})"


FAMILY = base.Family(
    Params, build, label, measures.measure, optimizers=optimizers, step=step,
    figures={"samples": figures.samples, "trajectory": figures.trajectory},
    joint_figures={"forward_process": figures.forward_process,
                   "fid_vs_steps": figures.fid_vs_steps, "training": figures.training},
    summary=(base.Column("FID DDPM", ("ddpm", "frechet"), ".1f"),
             base.Column("FID DDIM-10", ("ddim", "10", "frechet"), ".1f")),
    # GroupNorm's bf16 kernels on channels-last maps made a training step 2.2x slower than
    # on contiguous ones (106 against 49 ms at batch 64, bench/RESULTS.md).
    channels_last=False)
