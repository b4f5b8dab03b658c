"""The contract of a family (`Family`: what the loop, the planner, the measurements, the
figures and the CLI read of it), and what most families share: parameters that refuse
unknown names, one Adam, the training images as the only tensor, and a step that minimises
the model's own `loss`.

A family that needs something else (two optimizers, labels, a binarized batch) writes its
own; this module is part of the code version of every family that imports it.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict
from torch import nn

from ..train import Fit, as_float


class Params(BaseModel):
    """A family's parameters. Defaults are left out of the run key, so a new optional field
    keeps every existing key."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def adam(models: dict[str, nn.Module], params: Params,
         lr: float) -> dict[str, torch.optim.Optimizer]:
    # The fused kernel updates all parameters in one pass: ~3 ms a step less at batch 64.
    return {"model": torch.optim.Adam(models["model"].parameters(), lr=lr, fused=True)}


def images(data, params: Params) -> list[torch.Tensor]:
    return [as_float(data.train_images)]


def loss_step(models: dict[str, nn.Module], optimizers: dict, batch: list[torch.Tensor],
              params: Params, fit: Fit) -> dict[str, torch.Tensor]:
    """`model.loss(*batch)` returns named parts; "loss" is the one minimised."""
    with fit.autocast:
        parts = models["model"].loss(*batch)
    fit.minimize(parts["loss"], optimizers["model"])
    return parts


@dataclass(frozen=True)
class Column:
    """A column of the build's summary table: what a run measured (a path into its
    measurements), and how it is printed."""

    title: str
    path: tuple[str, ...]
    style: str = ".3g"


# (run name, run, its measurements, evaluation) -> Figure
FigureOfRun = Callable[[str, Any, dict, Any], Any]
# (run names, runs by name, measurements by name, evaluation) -> Figure
FigureOfRuns = Callable[[list[str], dict, dict, Any], Any]


@dataclass(frozen=True)
class Family:
    """Everything one kind of model needs, declared once by its module as `FAMILY`. The
    loop, the planner and the renderer read these fields; every optional part has its
    default here.

    build(params) -> {name: nn.Module}, one network or several; optimizers(models, params,
    lr) -> {name: Optimizer}; tensors(data, params) -> the tensors the loop batches;
    step(models, optimizers, batch, params, fit) -> {part: loss}; label(config) -> how
    figures name a run; measure(run, evaluation) -> plain numbers and lists.
    """

    Params: type[Params]  # noqa: N815 (a class: family.Params(**values))
    build: Callable[[Any], dict[str, nn.Module]]
    label: Callable[[Any], str]
    measure: Callable[[Any, Any], dict]
    optimizers: Callable = adam
    tensors: Callable = images
    step: Callable = loss_step
    # Figure kinds the spec may ask of a run (one figure per run), or of several runs of
    # this family at once (one figure for the runs listed).
    figures: Mapping[str, FigureOfRun] = field(default_factory=dict)
    joint_figures: Mapping[str, FigureOfRuns] = field(default_factory=dict)
    summary: tuple[Column, ...] = ()  # what the build's summary table shows of a run
    # How figures name the parts of a run's loss ({"kl": "KL (nats per image)"}), and the
    # series its epoch_end measures: {key: (panel title, what its reference level is)}.
    parts: Mapping[str, str] = field(default_factory=dict)
    series: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    # (models, params, data, fit) -> {name: float or list}, kept per epoch
    epoch_end: Callable | None = None
    check_run: Callable | None = None  # (params, epochs): ValueError for a run that cannot work
    check_data: Callable | None = None  # (params, data): ReportBuilderError before training
    # False when a schedule depends on the total epochs: a longer run is no continuation.
    extends_shorter_runs: bool = True
    # A family that counts training in iterations (a GAN's generator iterations): this many
    # per loop epoch, its runs given as `iterations`; `batches(n, batch_size, params,
    # device)` then draws one epoch of them.
    epoch_iterations: int | None = None
    batches: Callable | None = None
    # (params, epochs) -> (network, epochs) whose weights the loop keeps
    snapshots: Callable | None = None
    # The memory layout it trains in on a CPU. None: channels-last in bf16 (what oneDNN's
    # bf16 convolutions want), contiguous in fp32; True: channels-last in fp32 too; False:
    # never (a network whose GroupNorm is slower channels-last than its convolutions gain).
    channels_last: bool | None = None

    @property
    def kinds(self) -> list[str]:
        """Every figure kind the family draws."""
        return [*self.figures, *self.joint_figures]

