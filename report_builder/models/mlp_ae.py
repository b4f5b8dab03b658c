"""A fully connected auto-encoder with a Bernoulli decoder: the MLP VAE's networks with a
deterministic code, so its reconstruction term is in the same unit (nats per image, the
binary cross-entropy summed over pixels) as a VAE's."""

import torch
from torch import nn
from torch.nn import functional as F

from .mlp import PIXELS, mlp


class MLPAE(nn.Module):
    def __init__(self, nz: int = 16, hidden: tuple[int, ...] = (512, 256)):
        super().__init__()
        self.nz = nz
        self.encoder = nn.Sequential(nn.Flatten(), mlp([PIXELS, *hidden, nz]))
        self.decoder = mlp([nz, *reversed(hidden), PIXELS])  # pixel logits

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x).float()

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).float().view(-1, 1, 28, 28)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.decode_logits(self.encode(x))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        return {"loss": recon, "recon": recon}
