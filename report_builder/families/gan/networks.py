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
(a double backward), which the matmul-gradient layers of autoencoding/conv.py
(once_differentiable) cannot do.

Both networks keep one memory layout from their first feature map to their last: the
generator puts its projection into the layout of its convolutions' weights (channels-last
when the loop trains in it), and the discriminator scores with a 7x7 convolution, which is
its linear layer over the flattened feature map (the same weights in the same order, the
same initialisation) but leaves the gradient in the feature map's layout. With a flatten
there, the LeakyReLU's backward met a contiguous gradient and a channels-last input and
took ten times as long as with one layout (and the generator's ReLU the other way round).
"""

import torch
from torch import nn

LEAK = 0.2
WIDTH = 32  # channels of the first discriminator / last generator feature map


class Generator(nn.Module):
    def __init__(self, nz: int = 100, width: int = WIDTH):
        super().__init__()
        self.nz, self.width = nz, width
        self.project = nn.Linear(nz, 2 * width * 7 * 7, bias=False)
        self.start = nn.Sequential(nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True))
        self.upsample = nn.Sequential(
            nn.ConvTranspose2d(2 * width, width, 4, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.ConvTranspose2d(width, 1, 4, stride=2, padding=1),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.project(z).unflatten(1, (2 * self.width, 7, 7))
        x = x.contiguous(memory_format=layout_of(self.upsample[0].weight))
        return self.upsample(self.start(x))


class Discriminator(nn.Module):
    def __init__(self, batch_norm: bool = True, width: int = WIDTH):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 4, stride=2, padding=1),
            nn.LeakyReLU(LEAK, inplace=True),
            nn.Conv2d(width, 2 * width, 4, stride=2, padding=1, bias=not batch_norm),
            nn.BatchNorm2d(2 * width) if batch_norm else nn.Identity(),
            nn.LeakyReLU(LEAK, inplace=True),
        )
        self.score = nn.Conv2d(2 * width, 1, 7)  # a linear layer over the 7x7 map

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One unbounded score per image: a logit (GAN, LSGAN) or a critic value (WGAN)."""
        return self.score(self.features(x)).flatten()


def layout_of(weight: torch.Tensor) -> torch.memory_format:
    channels_last = not weight.is_contiguous() and weight.is_contiguous(
        memory_format=torch.channels_last)
    return torch.channels_last if channels_last else torch.contiguous_format
