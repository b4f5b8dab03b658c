"""The course's convolutional auto-encoder and VAE (CSCI 566, Assignment 2, Problem 1).

Shapes: 28 -> 14 -> 7 -> 3 -> 1 in the encoder and back in the decoder. The course fixes
channels and kernels; the strides and paddings below are the ones that give those sizes.
"""

import torch
from torch import nn
from torch.nn import functional as F

LEAK = 0.2  # LeakyReLU slope, as in DCGAN-style encoders


def _unpadded(conv: nn.Conv2d | nn.ConvTranspose2d) -> bool:
    return conv.padding == (0, 0) and conv.dilation == (1, 1) and conv.groups == 1


class Conv2dToPoint(nn.Conv2d):
    """A Conv2d whose kernel covers its whole input, so that its output is 1x1.

    That is a Linear layer on the flattened input. Computed as one matrix product it is
    the same arithmetic, and at batch 64 on a CPU it runs several times faster than
    oneDNN's convolution, whose backward pass is poor at 1x1 outputs (bench/RESULTS.md).
    Parameters and state dict are those of nn.Conv2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != self.kernel_size or not _unpadded(self):
            return super().forward(x)
        # Flattening channels last is a free view for channels_last tensors.
        flat_x, flat_w = x.movedim(1, -1).flatten(1), self.weight.movedim(1, -1).flatten(1)
        return F.linear(flat_x, flat_w, self.bias)[:, :, None, None]


class ConvTranspose2dFromPoint(nn.ConvTranspose2d):
    """A ConvTranspose2d applied to a 1x1 input: its output is one kernel-sized patch per
    output channel, i.e. a Linear layer whose outputs are reshaped. Same reasons as above."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (1, 1) or not _unpadded(self) or self.output_padding != (0, 0):
            return super().forward(x)
        kh, kw = self.kernel_size
        weight = self.weight.movedim(1, -1).flatten(1)  # (in, kh * kw * out), out fastest
        out = F.linear(x.flatten(1), weight.t(), self.bias.repeat(kh * kw))
        return out.view(len(x), kh, kw, self.out_channels).movedim(-1, 1)


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
        Conv2dToPoint(128, 256, 3),  # 3 -> 1
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
        ConvTranspose2dFromPoint(256, 128, 3),  # 1 -> 3
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
