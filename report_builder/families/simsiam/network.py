"""SimSiam (Chen & He, 2021) for 28x28 greyscale: encoder f, projector g and predictor h.

    z1, z2 = g(f(x1)), g(f(x2));  p1, p2 = h(z1), h(z2)
    L = D(p1, sg(z2)) / 2 + D(p2, sg(z1)) / 2,   D(p, z) = -cos(p, z)

`stop_gradient=False` lets the gradient through the target branch; an identity predictor is
h(z) = z. The paper's finding is that either change makes the representation collapse.
"""

import torch
from torch import nn
from torch.nn import functional as F

FEATURES = 128  # encoder output (the representation kNN reads)


def small_cnn() -> nn.Sequential:
    """28 -> 14 -> 7 -> global average: three 3x3 convolutions with batch norm and ReLU.

    Where a 2x2 max pool follows a ReLU, it runs before it: ReLU is monotonic, so the max of
    the ReLUs is the ReLU of the max, with the same gradient, and the ReLU then sees a
    quarter of the pixels (0.9 of 19 ms a step)."""
    def block(n_in: int, n_out: int, pool: bool = False) -> list[nn.Module]:
        layers = [nn.Conv2d(n_in, n_out, 3, padding=1, bias=False), nn.BatchNorm2d(n_out)]
        return [*layers, nn.MaxPool2d(2), nn.ReLU()] if pool else [*layers, nn.ReLU()]

    return nn.Sequential(*block(1, 32, pool=True), *block(32, 64, pool=True),
                         *block(64, FEATURES), GlobalAverage())


class GlobalAverage(nn.Module):
    """The mean of each channel over the map, as an average pool over the whole map: its
    gradient keeps the map's memory layout. AdaptiveAvgPool2d(1) is a mean, whose gradient
    is contiguous under a channels-last map, and the ReLU's backward before it took 20
    times as long on the two layouts."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(x, x.shape[-2:]).flatten(1)


class SimSiam(nn.Module):
    def __init__(self, dim: int = 256, predictor_dim: int = 64, identity_predictor: bool = False,
                 stop_gradient: bool = True):
        super().__init__()
        self.dim, self.stop_gradient = dim, stop_gradient
        self.encoder = small_cnn()
        # The paper's projector: two hidden layers with batch norm, batch norm on the output.
        self.projector = nn.Sequential(
            nn.Linear(FEATURES, dim, bias=False), nn.BatchNorm1d(dim), nn.ReLU(),
            nn.Linear(dim, dim, bias=False), nn.BatchNorm1d(dim), nn.ReLU(),
            nn.Linear(dim, dim, bias=False), nn.BatchNorm1d(dim, affine=False))
        # A bottleneck predictor (dim -> dim/4 -> dim), or none.
        self.predictor = nn.Identity() if identity_predictor else nn.Sequential(
            nn.Linear(dim, predictor_dim, bias=False), nn.BatchNorm1d(predictor_dim), nn.ReLU(),
            nn.Linear(predictor_dim, dim))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).float()

    def loss(self, x1: torch.Tensor, x2: torch.Tensor) -> dict[str, torch.Tensor]:
        z1, z2 = self.projector(self.encoder(x1)), self.projector(self.encoder(x2))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        if self.stop_gradient:
            z1, z2 = z1.detach(), z2.detach()
        loss = -(F.cosine_similarity(p1.float(), z2.float(), dim=-1).mean()
                 + F.cosine_similarity(p2.float(), z1.float(), dim=-1).mean()) / 2
        # The paper's collapse indicator: per-channel std of the normalized output over the
        # batch, averaged over channels (0 when every image maps to one point). Over a
        # training batch the output batch norm keeps it near 1/sqrt(d) whatever happens, so
        # the report measures it in eval mode after each epoch instead.
        batch_output_std = F.normalize(z1.detach().float(), dim=1).std(dim=0).mean()
        return {"loss": loss, "batch_output_std": batch_output_std}
