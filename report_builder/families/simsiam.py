"""SimSiam (Chen & He, 2021): self-supervised learning from two augmented views of each
image, and what happens without the stop-gradient or the predictor (the `simsiam` problem).

- Augmentations fit for digits, drawn per image on whole batches (kornia): random resized
  crop, small affine transforms, Gaussian noise (the default three); blur where the spec
  asks for it. No flips: a flipped digit is another symbol.
- SGD with momentum and weight decay; the run's `lr` follows a cosine over the whole run
  (the spec says how it relates to the paper's). Since the schedule depends on the total
  epochs, a longer run never continues a shorter one.
- Every step records the paper's collapse indicator, the per-channel standard deviation of
  the L2-normalized projector output over the batch (about 1/sqrt(d) for a healthy spread,
  0 when collapsed); after every epoch, the kNN accuracy of the encoder's features (cosine
  similarity, the training set as memory, the test set as queries, k neighbours weighted by
  exp(s / τ), Wu et al. 2018).
"""

import math
from functools import cache, partial
from typing import Literal

import kornia.augmentation as K
import torch
from pydantic import Field
from torch import nn
from torch.nn import functional as F

from .. import run_figures
from ..errors import ReportBuilderError
from ..models.simsiam import SimSiam
from ..train import Fit, as_float
from . import base

Augmentation = Literal["crop", "affine", "noise", "blur"]
EXTENDS_SHORTER_RUNS = False  # the cosine schedule spans the whole run
CHANCE = 0.1  # ten classes
FEATURE_BATCH = 500


class Params(base.Params):
    dim: int = Field(default=256, gt=0, description="projector output size d")
    predictor_dim: int = Field(default=64, gt=0, description="predictor bottleneck")
    predictor: Literal["mlp", "identity"] = "mlp"
    stop_gradient: bool = True
    augmentations: tuple[Augmentation, ...] = ("crop", "affine", "noise")
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=5e-4, ge=0)
    knn_k: int = Field(default=20, gt=0, description="neighbours of a kNN query")
    knn_temperature: float = Field(default=0.1, gt=0, description="τ of the kNN weights")


def build(params: Params) -> dict[str, nn.Module]:
    return {"model": SimSiam(params.dim, params.predictor_dim,
                             identity_predictor=params.predictor == "identity",
                             stop_gradient=params.stop_gradient)}


def optimizers(models, params: Params, lr: float) -> dict[str, torch.optim.Optimizer]:
    return {"model": torch.optim.SGD(models["model"].parameters(), lr=lr,
                                     momentum=params.momentum, weight_decay=params.weight_decay)}


tensors = base.images  # the training images: the views are drawn in `step`


def check_data(params: Params, data) -> None:
    if params.knn_k > len(data.train_labels):
        raise ReportBuilderError(
            f"knn_k {params.knn_k} is larger than the kNN memory bank "
            f"({len(data.train_labels)} training images); lower knn_k in the spec")


@cache
def augmenter(augmentations: tuple[str, ...]) -> K.AugmentationSequential:
    """Each image of a batch gets its own parameters (kornia draws them per sample)."""
    available = {
        "crop": K.RandomResizedCrop((28, 28), scale=(0.5, 1.0), ratio=(0.8, 1.25)),
        "affine": K.RandomAffine(degrees=15.0, translate=(0.1, 0.1), p=1.0),
        "noise": K.RandomGaussianNoise(mean=0.0, std=0.1, p=0.5),
        "blur": K.RandomGaussianBlur((3, 3), (0.1, 1.0), p=0.5),
    }
    return K.AugmentationSequential(*(available[name] for name in augmentations))


def augment(images: torch.Tensor, params: Params) -> torch.Tensor:
    return augmenter(params.augmentations)(images).clamp(0, 1)


def cosine_lr(optimizer: torch.optim.Optimizer, fit: Fit) -> None:
    """lr(t) = lr0 · (1 + cos(π t / T)) / 2 over the whole run (Loshchilov & Hutter)."""
    for group in optimizer.param_groups:
        group.setdefault("initial_lr", group["lr"])
        group["lr"] = group["initial_lr"] * 0.5 * (1 + math.cos(math.pi * fit.epoch / fit.epochs))


def step(models, optimizers, batch, params: Params, fit: Fit) -> dict[str, torch.Tensor]:
    net, optimizer = models["model"], optimizers["model"]
    cosine_lr(optimizer, fit)
    x1, x2 = augment(batch[0], params), augment(batch[0], params)
    with fit.autocast:
        parts = net.loss(x1, x2)
    fit.minimize(parts["loss"], optimizer)
    return parts


@torch.no_grad()
def features(net: SimSiam, images: torch.Tensor) -> torch.Tensor:
    """L2-normalized encoder features of images, in eval mode."""
    net.eval()
    return F.normalize(torch.cat([net.features(c) for c in images.split(FEATURE_BATCH)]), dim=1)


@torch.no_grad()
def knn_accuracy(memory: torch.Tensor, memory_labels: torch.Tensor, queries: torch.Tensor,
                 labels: torch.Tensor, k: int, temperature: float) -> float:
    """Weighted kNN on L2-normalized vectors: each of the k most similar memory items votes
    for its class with weight exp(similarity / τ)."""
    correct = 0
    for chunk, chunk_labels in zip(queries.split(FEATURE_BATCH), labels.split(FEATURE_BATCH),
                                   strict=True):
        similarity, index = (chunk @ memory.t()).topk(k, dim=1)
        votes = torch.zeros(len(chunk), int(memory_labels.max()) + 1, device=chunk.device)
        votes.scatter_add_(1, memory_labels[index], torch.exp(similarity / temperature))
        correct += (votes.argmax(1) == chunk_labels).sum().item()
    return correct / len(queries)


def epoch_end(models, params: Params, data, epoch: int) -> dict[str, float]:
    net = models["model"]
    device = next(net.parameters()).device
    train, test = as_float(data.train_images, device), as_float(data.test_images, device)
    labels = (data.train_labels.to(device), data.test_labels.to(device))
    accuracy = knn_accuracy(features(net, train), labels[0], features(net, test), labels[1],
                            params.knn_k, params.knn_temperature)
    return {"knn_accuracy": accuracy}


def label(config) -> str:
    params = config.params
    if not params.stop_gradient:
        return "SimSiam without stop-gradient"
    if params.predictor == "identity":
        return "SimSiam with an identity predictor"
    return "SimSiam"


def measure(run, evaluation) -> dict:
    params, data = run.config.params, evaluation.data
    device = evaluation.test_images.device
    train = as_float(data.train_images, device)
    labels = (data.train_labels.to(device), data.test_labels.to(device))

    def knn(memory: torch.Tensor, queries: torch.Tensor) -> float:
        return knn_accuracy(memory, labels[0], queries, labels[1], params.knn_k,
                            params.knn_temperature)

    pixels = knn(F.normalize(train.flatten(1), dim=1),
                 F.normalize(evaluation.test_images.flatten(1), dim=1))
    torch.manual_seed(run.config.seed)  # the run's own initial weights
    initial = build(params)["model"].to(device)
    at_init = knn(features(initial, train), features(initial, evaluation.test_images))
    spread = run.epoch_means("output_std")
    healthy = 1 / math.sqrt(params.dim)
    accuracy = run.epoch_history["knn_accuracy"]
    return {
        "knn_accuracy": accuracy,
        "final_knn_accuracy": accuracy[-1],
        "best_knn_accuracy": max(accuracy),
        "output_std": spread,  # mean over each epoch's batches
        "final_output_std": spread[-1],
        "healthy_std": healthy,
        "final_loss": run.epoch_means("loss")[-1],
        "pixel_knn_accuracy": pixels,
        "init_knn_accuracy": at_init,
        "chance": CHANCE,
        "references": {"knn_accuracy": CHANCE, "output_std": healthy},
    }


FIGURES = {"representation": partial(run_figures.representation, features=features)}
