"""SimSiam (Chen & He, 2021): self-supervised learning from two augmented views of each
image, and what happens without the stop-gradient or the predictor (the `simsiam` problem).

- Augmentations fit for digits, drawn per image on whole batches (kornia): random resized
  crop, small affine transforms, Gaussian noise (the default three); blur where the spec
  asks for it. No flips: a flipped digit is another symbol.
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
"""

import math
from functools import cache, partial
from typing import Literal

import kornia.augmentation as K
import torch
from pydantic import Field, field_validator
from torch import nn
from torch.nn import functional as F

from .. import run_figures
from ..errors import ReportBuilderError
from ..models.simsiam import SimSiam
from ..noise import mean_and_se, paired_values
from ..train import Fit, as_float
from . import base

Augmentation = Literal["crop", "affine", "noise", "blur"]
CHANCE = 0.1  # ten classes
FEATURE_BATCH = 500
PROBE_ITERATIONS, PROBE_L2 = 200, 1e-3  # the linear probe's L-BFGS steps and weight penalty


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
    return {"model": torch.optim.SGD([g for g in groups if g["params"]], lr=lr,
                                     momentum=params.momentum, weight_decay=params.weight_decay)}


def check_data(params: Params, data) -> None:
    if params.knn_k > len(data.train_labels):
        raise ReportBuilderError(
            f"knn_k {params.knn_k} is larger than the kNN memory bank "
            f"({len(data.train_labels)} training images); lower knn_k in the spec")


@cache
def augmenter(augmentations: tuple[str, ...],
              crop_scale: tuple[float, float]) -> K.AugmentationSequential:
    """Each image of a batch gets its own parameters (kornia draws them per sample)."""
    available = {
        "crop": K.RandomResizedCrop((28, 28), scale=crop_scale, ratio=(0.8, 1.25)),
        "affine": K.RandomAffine(degrees=15.0, translate=(0.1, 0.1), p=1.0),
        "noise": K.RandomGaussianNoise(mean=0.0, std=0.1, p=0.5),
        "blur": K.RandomGaussianBlur((3, 3), (0.1, 1.0), p=0.5),
    }
    return K.AugmentationSequential(*(available[name] for name in augmentations))


def augment(images: torch.Tensor, params: Params) -> torch.Tensor:
    return augmenter(params.augmentations, params.crop_scale)(images).clamp(0, 1)


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
    x1, x2 = augment(batch[0], params), augment(batch[0], params)
    with fit.autocast:
        parts = net.loss(x1, x2)
    fit.minimize(parts["loss"], optimizer)
    return parts


@torch.no_grad()
def encoded(net: SimSiam, images: torch.Tensor) -> torch.Tensor:
    """The encoder's output for images in eval mode, batch by batch."""
    net.eval()
    return torch.cat([net.encoder(chunk) for chunk in images.split(FEATURE_BATCH)])


def features(net: SimSiam, images: torch.Tensor) -> torch.Tensor:
    """L2-normalized encoder features of images, in eval mode."""
    return F.normalize(encoded(net, images).float(), dim=1)


@torch.no_grad()
def outputs(net: SimSiam, images: torch.Tensor, encoder_output=None) -> torch.Tensor:
    """L2-normalized projector outputs just before its last batch norm, in eval mode. That
    batch norm (no affine) rescales whatever spread is left to unit variance: by each
    batch's statistics in training, by their running average in eval mode. Outputs that
    shrank onto one point plus jitter would look healthy after it; before it they do not.
    `encoder_output`: the images' `encoded`, when already at hand."""
    if encoder_output is None:
        encoder_output = encoded(net, images)
    return F.normalize(net.projector[:-1](encoder_output).float(), dim=1)


def effective_rank(vectors: torch.Tensor) -> float:
    """exp of the entropy of the centred vectors' normalized singular values (Roy & Vetterli,
    2007): the number of directions they really use; 1 when they all lie on one line."""
    centred = vectors.double() - vectors.double().mean(0)
    singular = torch.linalg.svdvals(centred)
    share = singular / singular.sum()
    share = share[share > 0]
    return float(torch.exp(-(share * share.log()).sum()))


def spread(vectors: torch.Tensor) -> float:
    """Per-channel std of L2-normalized vectors, averaged over channels (the paper's collapse
    indicator): about 1/sqrt(d) for vectors spread over the sphere, 0 for one point."""
    return float(vectors.std(dim=0).mean())


@torch.no_grad()
def knn_correct(memory: torch.Tensor, memory_labels: torch.Tensor, queries: torch.Tensor,
                labels: torch.Tensor, k: int, temperature: float) -> torch.Tensor:
    """Weighted kNN on L2-normalized vectors: each of the k most similar memory items votes
    for its class with weight exp(similarity / τ). Whether each query is classed right."""
    correct = []
    for chunk, chunk_labels in zip(queries.split(FEATURE_BATCH), labels.split(FEATURE_BATCH),
                                   strict=True):
        similarity, index = (chunk @ memory.t()).topk(k, dim=1)
        votes = torch.zeros(len(chunk), int(memory_labels.max()) + 1, device=chunk.device)
        votes.scatter_add_(1, memory_labels[index], torch.exp(similarity / temperature))
        correct.append(votes.argmax(1) == chunk_labels)
    return torch.cat(correct).cpu()


def knn_accuracy(*args, **kwargs) -> float:
    return knn_correct(*args, **kwargs).double().mean().item()


def linear_probe_correct(memory: torch.Tensor, memory_labels: torch.Tensor,
                         queries: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """A linear probe: multinomial logistic regression on frozen, standardized vectors (the
    training set), fitted by L-BFGS from zero weights (convex, so no seed), a little L2.
    Whether each query is classed right."""
    mean, std = memory.mean(0), memory.std(0) + 1e-6
    memory, queries = (memory - mean) / std, (queries - mean) / std
    layer = nn.Linear(memory.shape[1], int(memory_labels.max()) + 1).to(memory.device)
    nn.init.zeros_(layer.weight)
    nn.init.zeros_(layer.bias)
    optimizer = torch.optim.LBFGS(layer.parameters(), max_iter=PROBE_ITERATIONS,
                                  line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (F.cross_entropy(layer(memory), memory_labels)
                + PROBE_L2 * layer.weight.square().sum())
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    with torch.no_grad():
        return (layer(queries).argmax(1) == labels).cpu()


def collapse(net: SimSiam, images: torch.Tensor) -> dict[str, float]:
    encoder_output = encoded(net, images)
    z = outputs(net, images, encoder_output)
    return {"output_std": spread(z), "output_rank": effective_rank(z),
            "feature_rank": effective_rank(F.normalize(encoder_output.float(), dim=1))}


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
    accuracy = knn_accuracy(memory, labels[0], F.normalize(test_encoded.float(), dim=1),
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


def measure(run, evaluation) -> dict:
    params, data = run.config.params, evaluation.data
    device = evaluation.test_images.device
    train, test = as_float(data.train_images, device), evaluation.test_images
    labels = (data.train_labels.to(device), data.test_labels.to(device))

    def knn(net: SimSiam | None) -> torch.Tensor:
        if net is None:  # raw pixels
            memory = F.normalize(train.flatten(1), dim=1)
            queries = F.normalize(test.flatten(1), dim=1)
        else:
            memory, queries = features(net, train), features(net, test)
        return knn_correct(memory, labels[0], queries, labels[1], params.knn_k,
                           params.knn_temperature)

    def probe(net: SimSiam | None) -> torch.Tensor:
        memory, queries = ((train.flatten(1), test.flatten(1)) if net is None else
                           (features(net, train), features(net, test)))
        return linear_probe_correct(memory, labels[0], queries, labels[1])

    torch.manual_seed(run.config.seed)  # the run's own initial weights
    initial = build(params)["model"].to(device)
    # Per test image, 1.0 where the reading classed it right: accuracies are their means,
    # differences between readings on the same images paired.
    trained, pixels, at_init = (knn(net).double().numpy() for net in (run.model, None, initial))
    probed, pixels_probed, init_probed = (probe(net).double().numpy()
                                          for net in (run.model, None, initial))
    over_pixels, over_init = paired_values(trained, pixels), paired_values(trained, at_init)
    probe_over_pixels = paired_values(probed, pixels_probed)
    probe_over_init = paired_values(probed, init_probed)

    def se(correct) -> float:
        return mean_and_se(correct)[1]
    final, start = collapse(run.model, test), collapse(initial, test)
    healthy = 1 / math.sqrt(params.dim)
    epochs = run.epoch_history
    return {
        "knn_accuracy": epochs["knn_accuracy"],
        "final_knn_accuracy": trained.mean(),
        "final_knn_se": se(trained),
        "best_knn_accuracy": max(epochs["knn_accuracy"]),
        "output_std": epochs["output_std"],  # test images, eval mode, after every epoch
        "output_rank": epochs["output_rank"],
        "batch_output_std": run.epoch_means("batch_output_std"),  # the paper's, see above
        "final_output_std": final["output_std"],
        "final_output_rank": final["output_rank"],
        "final_feature_rank": final["feature_rank"],
        "init_output_std": start["output_std"],
        "init_output_rank": start["output_rank"],
        "init_feature_rank": start["feature_rank"],
        "healthy_std": healthy,
        "final_loss": run.epoch_means("loss")[-1],
        "pixel_knn_accuracy": pixels.mean(),
        "pixel_knn_se": se(pixels),
        "init_knn_accuracy": at_init.mean(),
        "init_knn_se": se(at_init),
        "gain_over_pixels": over_pixels.difference, "gain_over_pixels_se": over_pixels.se,
        "gain_over_init": over_init.difference, "gain_over_init_se": over_init.se,
        "probe_accuracy": probed.mean(),
        "probe_se": se(probed),
        "pixel_probe_accuracy": pixels_probed.mean(),
        "pixel_probe_se": se(pixels_probed),
        "init_probe_accuracy": init_probed.mean(),
        "init_probe_se": se(init_probed),
        "probe_gain_over_pixels": probe_over_pixels.difference,
        "probe_gain_over_pixels_se": probe_over_pixels.se,
        "probe_gain_over_init": probe_over_init.difference,
        "probe_gain_over_init_se": probe_over_init.se,
        "chance": CHANCE,
        "references": {"knn_accuracy": CHANCE, "output_std": start["output_std"],
                       "output_rank": start["output_rank"]},
        "per_image": {"knn_correct": trained.tolist()},  # paired across runs
    }


FAMILY = base.Family(
    Params, build, label, measure, optimizers=optimizers, step=step,  # images: the default
    figures={"representation": partial(run_figures.representation, features=features)},
    summary=(base.Column("kNN acc.", ("final_knn_accuracy",), ".3f"),
             base.Column("output rank", ("final_output_rank",), ".1f")),
    epoch_end=epoch_end, check_data=check_data,
    extends_shorter_runs=False)  # the cosine schedule spans the whole run
