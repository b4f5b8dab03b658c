"""SimSiam (Chen & He, 2021): self-supervised learning from two augmented views of each
image, and what happens without the stop-gradient or the predictor (the `simsiam` problem).

- Augmentations fit for digits, drawn per image on whole batches (kornia): random resized
  crop, small affine transforms, Gaussian noise (the default three); blur where the spec
  asks for it. No flips: a flipped digit is another symbol. Both views of a batch are drawn
  in one call (kornia's cost is mostly per call, not per image).
- SGD with momentum and weight decay; the run's `lr` follows a cosine over the whole run
  (the spec says how it relates to the paper's). Since the schedule depends on the total
  epochs, a longer run never continues a shorter one.
- Collapse is measured after every epoch on the test images in eval mode, on the projector
  output before its last batch norm: the per-channel standard deviation of the
  L2-normalized outputs (0 when every image maps to one point) and their effective rank
  (dimensional collapse). The paper's indicator over each training batch
  (`batch_output_std`) is recorded too, but cannot show collapse here: the last batch norm
  rescales each batch to unit variance, keeping that std near 1/sqrt(d) even when the
  outputs lie on one line or shrink onto one point.
- After every epoch, the kNN accuracy of the encoder's features (cosine similarity, the
  training set as memory, the test set as queries, k neighbours weighted by exp(s / τ),
  Wu et al. 2018). At the end, also a linear probe (logistic regression on the frozen
  features), and both for raw pixels and the untrained encoder. Accuracies carry their
  binomial standard error; differences on the same test images, a paired one.

The network is network.py; the readouts of a representation (features, kNN, probe,
collapse measures) are readout.py, training code since the per-epoch curves are kept with
the run; measures.py measures a trained run.
"""

import math
from functools import cache
from typing import Literal

import kornia.augmentation as K
import torch
from pydantic import Field, field_validator
from torch import nn
from torch.profiler import record_function

from ...errors import ReportBuilderError
from ...train import Fit, as_float
from .. import base
from . import figures
from .measures import measure
from .network import SimSiam
from .readout import (
    as_features,
    effective_rank,
    encoded,
    features,
    knn_accuracy,
    outputs,
    spread,
)

Augmentation = Literal["crop", "affine", "noise", "blur"]


class Params(base.Params):
    dim: int = Field(default=256, gt=0, description="projector output size d")
    predictor_dim: int = Field(default=64, gt=0, description="predictor bottleneck")
    predictor: Literal["mlp", "identity"] = "mlp"
    stop_gradient: bool = True
    augmentations: tuple[Augmentation, ...] = ("crop", "affine", "noise")
    crop_scale: tuple[float, float] = Field(
        default=(0.5, 1.0), description="share of the image's area a random crop keeps (min, max)")
    predictor_lr: Literal["cosine", "fixed"] = Field(
        default="cosine", description="'fixed': the predictor keeps lr, as the paper found best")
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=5e-4, ge=0)
    knn_k: int = Field(default=20, gt=0, description="neighbours of a kNN query")
    knn_temperature: float = Field(default=0.1, gt=0, description="τ of the kNN weights")

    @field_validator("crop_scale")
    @classmethod
    def _area_share(cls, scale: tuple[float, float]) -> tuple[float, float]:
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError("crop_scale must be (min, max) with 0 < min <= max <= 1")
        return scale


def build(params: Params) -> dict[str, nn.Module]:
    return {"model": SimSiam(params.dim, params.predictor_dim,
                             identity_predictor=params.predictor == "identity",
                             stop_gradient=params.stop_gradient)}


def optimizers(models, params: Params, lr: float) -> dict[str, torch.optim.Optimizer]:
    net = models["model"]
    predictor = list(net.predictor.parameters())
    in_predictor = {id(p) for p in predictor}
    rest = [p for p in net.parameters() if id(p) not in in_predictor]
    # The paper's best: the predictor's lr stays fixed while the rest follows the cosine.
    groups = [{"params": rest}, {"params": predictor, "fixed_lr": params.predictor_lr == "fixed"}]
    # fused: one kernel for every parameter's update (0.07 against 0.21 ms a step here)
    return {"model": torch.optim.SGD([g for g in groups if g["params"]], lr=lr,
                                     momentum=params.momentum, weight_decay=params.weight_decay,
                                     fused=True)}


def check_data(params: Params, data) -> None:
    if params.knn_k > len(data.train_labels):
        raise ReportBuilderError(
            f"knn_k {params.knn_k} is larger than the kNN memory bank "
            f"({len(data.train_labels)} training images); lower knn_k in the spec")


@cache
def augmenter(augmentations: tuple[str, ...],
              crop_scale: tuple[float, float]) -> K.AugmentationSequential:
    """Each image of a batch gets its own parameters (kornia draws them per sample). The crop
    is one affine resampling of the whole batch ("resample"), not a resize of each image's
    slice in a Python loop: 1.4 against 1.9 ms for 128 images (bench/RESULTS.md)."""
    available = {
        "crop": K.RandomResizedCrop((28, 28), scale=crop_scale, ratio=(0.8, 1.25),
                                    cropping_mode="resample"),
        "affine": K.RandomAffine(degrees=15.0, translate=(0.1, 0.1), p=1.0),
        "noise": K.RandomGaussianNoise(mean=0.0, std=0.1, p=0.5),
        "blur": K.RandomGaussianBlur((3, 3), (0.1, 1.0), p=0.5),
    }
    return K.AugmentationSequential(*(available[name] for name in augmentations))


def augment(images: torch.Tensor, params: Params) -> torch.Tensor:
    with record_function("augment"):  # a phase of bench/family_speed.py --split
        return augmenter(params.augmentations, params.crop_scale)(images).clamp(0, 1)


def views(images: torch.Tensor, params: Params) -> tuple[torch.Tensor, torch.Tensor]:
    """Two augmented views of each image, drawn in one call on the batch twice over: every
    copy gets its own parameters, and kornia's per-call cost is paid once (4.6 against
    6.7 ms for two views of 64 images; 3.6 ms with the crop as one resampling)."""
    return augment(torch.cat([images, images]), params).chunk(2)


def cosine_lr(optimizer: torch.optim.Optimizer, fit: Fit) -> None:
    """lr(t) = lr0 · (1 + cos(π t / T)) / 2 over the whole run (Loshchilov & Hutter); a
    group marked fixed_lr keeps lr0."""
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
        if group.get("fixed_lr"):
            continue
        group["lr"] = group["initial_lr"] * 0.5 * (1 + math.cos(math.pi * fit.epoch / fit.epochs))


def step(models, optimizers, batch, params: Params, fit: Fit) -> dict[str, torch.Tensor]:
    net, optimizer = models["model"], optimizers["model"]
    cosine_lr(optimizer, fit)
    x1, x2 = views(batch[0], params)
    with fit.autocast:
        parts = net.loss(x1, x2)
    fit.minimize(parts["loss"], optimizer)
    return parts


def epoch_end(models, params: Params, data, fit: Fit) -> dict[str, float]:
    """The figure's curves. The kNN's memory (the training images' features) is encoded in
    the run's precision: three times cheaper in bf16, and a neighbour vote barely moves.
    The test images stay fp32: bf16's rounding would add dimensions to the effective rank
    of outputs that have collapsed to a small spread (measured: 65 -> 83 at initialisation).
    The published numbers are `measure`'s, all fp32."""
    net = models["model"]
    device = next(net.parameters()).device
    train, test = as_float(data.train_images, device), as_float(data.test_images, device)
    labels = (data.train_labels.to(device), data.test_labels.to(device))
    with fit.autocast:
        memory = features(net, train)
    test_encoded = encoded(net, test)  # once, for the kNN queries and the outputs
    accuracy = knn_accuracy(memory, labels[0], as_features(test_encoded),
                            labels[1], params.knn_k, params.knn_temperature)
    z = outputs(net, test, test_encoded)
    return {"knn_accuracy": accuracy, "output_std": spread(z), "output_rank": effective_rank(z)}


def label(config) -> str:
    params = config.params
    if not params.stop_gradient:
        return "SimSiam without stop-gradient"
    if params.predictor == "identity":
        return "SimSiam with an identity predictor"
    return "SimSiam"


FAMILY = base.Family(
    Params, build, label, measure, optimizers=optimizers, step=step,  # images: the default
    figures={"representation": figures.representation},
    summary=(base.Column("kNN acc.", ("final_knn_accuracy",), ".3f"),
             base.Column("output rank", ("final_output_rank",), ".1f")),
    series=figures.SERIES, epoch_end=epoch_end, check_data=check_data,
    extends_shorter_runs=False)  # the cosine schedule spans the whole run
