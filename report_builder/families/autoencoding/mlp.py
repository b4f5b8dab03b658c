"""Fully connected networks: the VAE of KAIST AI502, Homework 4 (MLP encoder and decoder),
and an auto-encoder with the same networks and a deterministic code.

The decoder is Bernoulli: it outputs pixel logits and the reconstruction
term is the binary cross-entropy summed over the 784 pixels, so recon + KL is the
negative ELBO in nats per image.
"""

import torch
from torch import nn
from torch.nn import functional as F

from ...models.distributions import gaussian_kl

PIXELS = 28 * 28


def mlp(sizes: list[int]) -> nn.Sequential:
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:], strict=False):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # no activation after the last layer


class MLPVAE(nn.Module):
    def __init__(self, nz: int = 2, hidden: tuple[int, ...] = (512, 256), beta: float = 1.0):
        super().__init__()
        self.nz, self.beta = nz, beta
        self.encoder = nn.Sequential(nn.Flatten(), mlp([PIXELS, *hidden, 2 * nz]))
        self.decoder = mlp([nz, *reversed(hidden), PIXELS])  # pixel logits

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_sigma = self.encoder(x).float().chunk(2, dim=1)
        return mu, log_sigma

    def reparameterize(self, mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * torch.exp(log_sigma)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).float().view(-1, 1, 28, 28)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x)[0])

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # -ELBO = E_q[-log p(x|z)] + KL(q(z|x) || p(z)) (Kingma & Welling, 2014, eq. 3),
        # with the KL weighted by beta.
        mu, log_sigma = self.encode(x)
        logits = self.decode_logits(self.reparameterize(mu, log_sigma))
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = gaussian_kl(mu, log_sigma)
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl}


# The MLP VAE's networks with a deterministic code, so that its reconstruction term is in
# the same unit (nats per image, the binary cross-entropy summed over pixels) as a VAE's.
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
