"""Reading a SimSiam network's representation: its features and outputs in eval mode, the
kNN and linear-probe accuracy they give, and the collapse measures (the spread and the
effective rank of the outputs). The per-epoch curves of a run come from here, so these are
part of its training code."""

import torch
from torch import nn
from torch.nn import functional as F

from .network import SimSiam

FEATURE_BATCH = 500
PROBE_ITERATIONS, PROBE_L2 = 200, 1e-3  # the linear probe's L-BFGS steps and weight penalty


@torch.no_grad()
def encoded(net: SimSiam, images: torch.Tensor) -> torch.Tensor:
    """The encoder's output for images in eval mode, batch by batch."""
    net.eval()
    return torch.cat([net.encoder(chunk) for chunk in images.split(FEATURE_BATCH)])


def features(net: SimSiam, images: torch.Tensor) -> torch.Tensor:
    """L2-normalized encoder features of images, in eval mode."""
    return as_features(encoded(net, images))


def as_features(encoder_output: torch.Tensor) -> torch.Tensor:
    """The encoder's output as kNN and the feature rank read it: fp32, L2-normalized."""
    return F.normalize(encoder_output.float(), dim=1)


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
            "feature_rank": effective_rank(as_features(encoder_output))}
