"""A fully connected VAE with a Bernoulli decoder whose KL weight follows a schedule (the
`beta-vae` problem): loss = E_q[-log p(x|z)] + w(t) KL(q(z|x) || p(z)), per image summed.

- constant: w(t) = β (Higgins et al., 2017);
- linear: a KL warm-up, w(t) = β min(1, t / warmup_epochs) (Bowman et al., 2016);
- cyclical: w rises linearly over the first `ramp_share` of every `cycle_epochs` and stays at
  β for the rest of the cycle (Fu et al., 2019).

t is training progress in epochs, fractional (`Fit.epoch`), so w changes every iteration. A
schedule is fixed in epochs, not in shares of the run: the first k epochs of a longer run
are then exactly the shorter run with the same parameters, which is what lets a longer run
continue a shorter one (runs.py, `_head_start`).
"""

from typing import Literal

import torch
from pydantic import Field

from ...numbers import epochs
from ...train import Fit
from .. import base
from . import figures, measures
from .mlp import MLPVAE


class Params(base.Params):
    nz: int = Field(default=32, gt=0, description="latent size")
    hidden: tuple[int, ...] = Field(default=(512, 256), description="hidden layer sizes")
    beta: float = Field(default=1.0, ge=0, description="KL weight (the schedule's top)")
    schedule: Literal["constant", "linear", "cyclical"] = "constant"
    warmup_epochs: float = Field(default=10.0, gt=0, description="linear: epochs from 0 to β")
    cycle_epochs: float = Field(default=5.0, gt=0, description="cyclical: epochs per cycle")
    ramp_share: float = Field(default=0.5, gt=0, le=1,
                              description="cyclical: share of a cycle spent rising")


def kl_weight(params: Params, epoch: float) -> float:
    """w(t) at training progress t (in epochs)."""
    if params.schedule == "linear":
        return params.beta * min(1.0, epoch / params.warmup_epochs)
    if params.schedule == "cyclical":
        within = (epoch % params.cycle_epochs) / params.cycle_epochs
        return params.beta * min(1.0, within / params.ramp_share)
    return params.beta


def check_run(params: Params, n_epochs: int) -> None:
    """A warm-up that cannot finish within the run is a mistake in the spec."""
    if params.schedule == "linear" and params.warmup_epochs > n_epochs:
        raise ValueError(f"warmup_epochs {params.warmup_epochs:g} is longer than the run "
                         f"({epochs(n_epochs)}); shorten it or train longer")
    if params.schedule == "cyclical" and params.cycle_epochs > n_epochs:
        raise ValueError(f"cycle_epochs {params.cycle_epochs:g} is longer than the run "
                         f"({epochs(n_epochs)})")


def build(params: Params) -> dict:
    return {"model": MLPVAE(params.nz, params.hidden, params.beta)}


def step(models, optimizers, batch, params: Params, fit: Fit) -> dict[str, torch.Tensor]:
    vae = models["model"]
    with fit.autocast:
        parts = vae.loss(batch[0])  # recon and KL, per image summed; its "loss" uses β
    weight = kl_weight(params, fit.epoch)
    loss = parts["recon"] + weight * parts["kl"]
    fit.minimize(loss, optimizers["model"])
    return {"loss": loss, "recon": parts["recon"], "kl": parts["kl"],
            "beta": torch.tensor(weight)}


def label(config) -> str:
    params = config.params
    if params.schedule == "linear":
        return f"VAE, β warm-up 0 → {params.beta:g} over {epochs(params.warmup_epochs)}"
    if params.schedule == "cyclical":
        return f"VAE, cyclical β (0 → {params.beta:g} every {epochs(params.cycle_epochs)})"
    return f"VAE, β = {params.beta:g}"


FAMILY = base.Family(
    Params, build, label, measures.bernoulli_metrics, step=step, check_run=check_run,
    figures={"samples": figures.samples, "reconstructions": figures.reconstructions,
             "kl_per_dimension": figures.kl_per_dimension},
    summary=measures.BERNOULLI_COLUMNS,
    parts={"beta": "KL weight w(t)", "recon": "reconstruction (BCE per image)",
           "kl": "KL (nats per image)", "loss": "loss"})
