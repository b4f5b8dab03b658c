"""DCGAN-style generator and discriminator for 28x28 greyscale digits (Radford et al. 2016).

Generator:      z (nz) -> Linear -> 128x7x7 -> BN, ReLU
                -> ConvTranspose 4x4 stride 2 -> 64x14x14 -> BN, ReLU
                -> ConvTranspose 4x4 stride 2 -> 1x28x28 -> sigmoid (pixels in [0, 1], as
                ToTensor gives the real images; DCGAN's tanh is the same map on [-1, 1])
Discriminator:  x (1x28x28) -> Conv 4x4 stride 2 -> 64x14x14 -> LeakyReLU(0.2)
                -> Conv 4x4 stride 2 -> 128x7x7 -> BN, LeakyReLU(0.2)
                -> Linear -> one score (a logit; no sigmoid: the losses take the logit)

A WGAN-GP critic is the same discriminator without batch norm (Gulrajani et al. 2017): the
gradient penalty is taken per sample, and batch norm would mix the samples of a batch.
The layers are torch's own: the penalty differentiates the critic's input gradient again
(a double backward), which the matmul-gradient layers of models/conv.py
(once_differentiable) cannot do.
"""

import torch
from torch import nn

LEAK = 0.2
WIDTH = 32  # channels of the first discriminator / last generator feature map


class Generator(nn.Module):
    def __init__(self, nz: int = 100, width: int = WIDTH):
        super().__init__()
        self.nz, self.width = nz, width
        self.project = nn.Sequential(
            nn.Linear(nz, 2 * width * 7 * 7, bias=False),
            nn.Unflatten(1, (2 * width, 7, 7)),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
        )
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.project(z))


class Discriminator(nn.Module):
    def __init__(self, batch_norm: bool = True, width: int = WIDTH):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(2 * width) if batch_norm else nn.Identity(),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Flatten(),
        )
        self.score = nn.Linear(2 * width * 7 * 7, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One unbounded score per image: a logit (GAN, LSGAN) or a critic value (WGAN)."""
        return self.score(self.features(x)).squeeze(1)
