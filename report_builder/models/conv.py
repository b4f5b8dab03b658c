"""The course's convolutional auto-encoder and VAE (CSCI 566, Assignment 2, Problem 1).

Shapes: 28 -> 14 -> 7 -> 3 -> 1 in the encoder and back in the decoder. The course fixes
channels and kernels; the strides and paddings below are the ones that give those sizes.
"""

import torch
from torch import nn
from torch.nn import functional as F

LEAK = 0.2  # LeakyReLU slope, as in DCGAN-style encoders


def conv_encoder(out_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 32, 4, stride=2, padding=1),  # 28 -> 14
        nn.LeakyReLU(LEAK),
        nn.Conv2d(32, 64, 4, stride=2, padding=1),  # 14 -> 7
        nn.BatchNorm2d(64),
        nn.LeakyReLU(LEAK),
        nn.Conv2d(64, 128, 3, stride=2),  # 7 -> 3
        nn.BatchNorm2d(128),
        nn.LeakyReLU(LEAK),
        nn.Conv2d(128, 256, 3, stride=1),  # 3 -> 1
        nn.BatchNorm2d(256),
        nn.LeakyReLU(LEAK),
        nn.Flatten(),
        nn.Linear(256, out_features),
    )


def conv_decoder(nz: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(nz, 256),
        nn.Unflatten(1, (256, 1, 1)),
        nn.BatchNorm2d(256),
        nn.LeakyReLU(LEAK),
        nn.ConvTranspose2d(256, 128, 3, stride=1),  # 1 -> 3
        nn.BatchNorm2d(128),
        nn.LeakyReLU(LEAK),
        nn.ConvTranspose2d(128, 64, 3, stride=2),  # 3 -> 7
        nn.BatchNorm2d(64),
        nn.LeakyReLU(LEAK),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),  # 7 -> 14
        nn.BatchNorm2d(32),
        nn.LeakyReLU(LEAK),
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),  # 14 -> 28
        nn.Sigmoid(),
    )


def gaussian_kl(mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)), summed over latent dimensions, averaged over the batch.

    Kingma & Welling (2014), Appendix B: -KL = 1/2 sum(1 + log sigma^2 - mu^2 - sigma^2).
    """
    per_dim = 0.5 * (mu.pow(2) + torch.exp(2 * log_sigma) - 1 - 2 * log_sigma)
    return per_dim.sum(dim=1).mean()


class AutoEncoder(nn.Module):
    def __init__(self, nz: int = 64):
        super().__init__()
        self.nz = nz
        self.encoder = conv_encoder(nz)
        self.decoder = conv_decoder(nz)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        recon = F.mse_loss(self.reconstruct(x).float(), x)
        return {"loss": recon, "recon": recon}


class VAE(nn.Module):
    def __init__(self, nz: int = 64, beta: float = 1.0):
        super().__init__()
        self.nz = nz
        self.beta = beta
        self.encoder = conv_encoder(2 * nz)  # mean and log-sigma of q(z|x)
        self.decoder = conv_decoder(nz)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, log_sigma = self.encoder(x).float().chunk(2, dim=1)
        return mu, log_sigma

    def reparameterize(self, mu: torch.Tensor, log_sigma: torch.Tensor) -> torch.Tensor:
        # z = mu + eps * sigma keeps the sample differentiable in mu and sigma.
        return mu + torch.randn_like(mu) * torch.exp(log_sigma)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Decode the posterior mean, as the course asks."""
        return self.decode(self.encode(x)[0])

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        # beta-VAE objective (Higgins et al., 2017) with the course's MSE reconstruction.
        mu, log_sigma = self.encode(x)
        x_hat = self.decode(self.reparameterize(mu, log_sigma))
        recon = F.mse_loss(x_hat.float(), x)
        kl = gaussian_kl(mu, log_sigma)
        return {"loss": recon + self.beta * kl, "recon": recon, "kl": kl}
