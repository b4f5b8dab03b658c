"""A small U-Net ε_θ(x_t, t) for 28x28 greyscale (Ho et al. 2020, appendix B, scaled down):
residual blocks with group norm, the time step added to every block through a sinusoidal
embedding (Vaswani et al. 2017), skips from each resolution of the way down to the same
resolution on the way up: 28 -> 14 -> 7 -> 14 -> 28. No attention: at 7x7 a convolution
already sees most of the digit."""

import math

import torch
from torch import nn
from torch.nn import functional as F

GROUPS = 8  # group norm groups


def sinusoidal(t: torch.Tensor, dim: int) -> torch.Tensor:
    """[N] time steps -> [N, dim]: sin and cos of t at geometrically spaced frequencies."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def upsample(x: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour x2, as one copy (F.interpolate copies twice in bf16 on a CPU)."""
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


class ResBlock(nn.Module):
    """norm-act-conv, plus the time embedding per channel, norm-act-conv; a 1x1 skip where
    the channel count changes."""

    def __init__(self, n_in: int, n_out: int, time_dim: int):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(GROUPS, n_in), nn.Conv2d(n_in, n_out, 3, padding=1)
        self.time = nn.Linear(time_dim, n_out)
        self.norm2, self.conv2 = nn.GroupNorm(GROUPS, n_out), nn.Conv2d(n_out, n_out, 3, padding=1)
        self.skip = nn.Identity() if n_in == n_out else nn.Conv2d(n_in, n_out, 1)

    def forward(self, x: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time(time)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class UNet(nn.Module):
    def __init__(self, channels: tuple[int, int, int] = (16, 32, 64), time_dim: int = 128):
        super().__init__()
        c1, c2, c3 = channels
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(),
                                  nn.Linear(time_dim, time_dim))
        self.stem = nn.Conv2d(1, c1, 3, padding=1)
        self.down1 = ResBlock(c1, c1, time_dim)                  # 28x28
        self.pool1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)  # -> 14x14
        self.down2 = ResBlock(c1, c2, time_dim)
        self.pool2 = nn.Conv2d(c2, c2, 3, stride=2, padding=1)  # -> 7x7
        self.middle = ResBlock(c2, c3, time_dim)
        self.up2 = ResBlock(c3 + c2, c2, time_dim)               # 14x14, with down2's output
        self.up1 = ResBlock(c2 + c1, c1, time_dim)               # 28x28, with down1's output
        self.head = nn.Sequential(nn.GroupNorm(GROUPS, c1), nn.SiLU(),
                                  nn.Conv2d(c1, 1, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        time = self.time(sinusoidal(t, self.time_dim).to(x.dtype))
        skip1 = self.down1(self.stem(x), time)
        skip2 = self.down2(self.pool1(skip1), time)
        h = self.middle(self.pool2(skip2), time)
        h = self.up2(torch.cat([upsample(h), skip2], dim=1), time)
        h = self.up1(torch.cat([upsample(h), skip1], dim=1), time)
        return self.head(h)
