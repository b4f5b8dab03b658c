"""The course's convolutional auto-encoder and VAE (CSCI 566, Assignment 2, Problem 1).

Shapes: 28 -> 14 -> 7 -> 3 -> 1 in the encoder and back in the decoder. The course fixes
channels and kernels; the strides and paddings below are the ones that give those sizes.
Four layers are subclasses of nn.Conv2d / nn.ConvTranspose2d that only override `forward`
to compute the same thing faster on a CPU (same parameters and state dict;
bench/RESULTS.md has the measurements, tests/test_models.py the equivalence).
"""

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

from ...models.distributions import gaussian_kl

LEAK = 0.2  # LeakyReLU slope, as in DCGAN-style encoders


def _plain(conv: nn.Conv2d | nn.ConvTranspose2d) -> bool:
    """No dilation, groups or output padding: what the faster layers below compute."""
    return (conv.dilation == (1, 1) and conv.groups == 1 and conv.padding_mode == "zeros"
            and getattr(conv, "output_padding", (0, 0)) == (0, 0))


def _unpadded(conv: nn.Conv2d | nn.ConvTranspose2d) -> bool:
    return conv.padding == (0, 0) and _plain(conv)


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
        if x.shape[-2:] != (1, 1) or not _unpadded(self):
            return super().forward(x)
        kh, kw = self.kernel_size
        weight = self.weight.movedim(1, -1).flatten(1)  # (in, kh * kw * out), out fastest
        out = F.linear(x.flatten(1), weight.t(), self.bias.repeat(kh * kw))
        return out.view(len(x), kh, kw, self.out_channels).movedim(-1, 1)


def _patches(t: torch.Tensor, kernel: int, stride: int, out_hw: tuple[int, int]) -> torch.Tensor:
    """im2col: one row per output position of a `kernel`-sized, `stride`-d window over `t`
    (already padded), columns ordered (kh, kw, channel). A copy of a strided view, which
    is one pass over memory for a channels_last `t`."""
    b, c = t.shape[:2]
    sb, sc, sh, sw = t.stride()
    windows = t.as_strided((b, *out_hw, kernel, kernel, c),
                           (sb, stride * sh, stride * sw, sh, sw, sc))
    return windows.reshape(b * out_hw[0] * out_hw[1], kernel * kernel * c)


def _pixels(t: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B*H*W, C): one row per pixel (a view for channels_last)."""
    return t.movedim(1, -1).reshape(-1, t.shape[1])


class _MatmulWeightGrad(torch.autograd.Function):
    """conv2d or conv_transpose2d (square kernel, stride, padding; no dilation or groups)
    whose weight gradient is one matrix product instead of oneDNN's backward-weights
    kernel. Output and input gradient are oneDNN's own.

    The weight gradient of a convolution correlates its small side with windows of its
    large side: dW[o, c, i, j] = sum over batch and output pixels of dy[o] * x_window[c, i, j]
    (for a transposed convolution x and dy swap roles). When the small side is 3x3, that is
    a (C x 576) by (576 x 9C') product at batch 64, which AMX finishes in a fraction of the
    ~1.5 ms oneDNN takes a step for these layers (bench/RESULTS.md).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, stride: int, padding: int, transposed: bool):
        ctx.save_for_backward(x, weight)
        ctx.config = stride, padding, transposed
        conv = F.conv_transpose2d if transposed else F.conv2d
        return conv(x, weight, bias, stride, padding)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        stride, padding, transposed = ctx.config
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = torch.ops.aten.convolution_backward(
                grad_out, x, weight, None, [stride] * 2, [padding] * 2, [1, 1], transposed,
                [0, 0], 1, [True, False, False])[0]
        small, large = (x, grad_out) if transposed else (grad_out, x)
        large = F.pad(large, (padding,) * 4) if padding else large
        windows = _patches(large, weight.shape[-1], stride, small.shape[-2:])
        grad_w = _pixels(small).t() @ windows  # (weight dim 0, kh * kw * weight dim 1)
        kh, kw = weight.shape[-2:]
        grad_w = grad_w.view(weight.shape[0], kh, kw, weight.shape[1]).permute(0, 3, 1, 2)
        grad_b = grad_out.sum((0, 2, 3), dtype=torch.float32).to(grad_out.dtype)
        return grad_x, grad_w, grad_b, None, None, None


def _with_matmul_grad(conv: nn.Conv2d | nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    # A custom Function sits outside autocast's cast lists, so it casts as conv2d would.
    device = x.device.type
    dtype = torch.get_autocast_dtype(device) if torch.is_autocast_enabled(device) else x.dtype
    transposed = isinstance(conv, nn.ConvTranspose2d)
    return _MatmulWeightGrad.apply(x.to(dtype), conv.weight.to(dtype), conv.bias.to(dtype),
                                   conv.stride[0], conv.padding[0], transposed)


def _matmul_grad_pays(conv: nn.Conv2d | nn.ConvTranspose2d, x: torch.Tensor) -> bool:
    # On a GPU, cuDNN's weight gradient is not the bottleneck: keep the library's.
    square = (conv.kernel_size[0] == conv.kernel_size[1] and conv.stride[0] == conv.stride[1]
              and conv.padding[0] == conv.padding[1])
    return x.device.type == "cpu" and square and _plain(conv) and conv.bias is not None


class Conv2dMatmulGrad(nn.Conv2d):
    """nn.Conv2d with its weight gradient as one matrix product: for layers whose output is
    small (3x3 here), where oneDNN's backward-weights kernel is slow. Same parameters,
    state dict and arithmetic as nn.Conv2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _matmul_grad_pays(self, x):
            return super().forward(x)
        return _with_matmul_grad(self, x)


class ConvTranspose2dMatmulGrad(nn.ConvTranspose2d):
    """nn.ConvTranspose2d with its weight gradient as one matrix product: for layers whose
    input is small (3x3 here). Same reasons as Conv2dMatmulGrad."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if output_size is not None or not _matmul_grad_pays(self, x):
            return super().forward(x, output_size)
        return _with_matmul_grad(self, x)


def conv_encoder(out_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 32, 4, stride=2, padding=1),  # 28 -> 14
        nn.LeakyReLU(LEAK),
        nn.Conv2d(32, 64, 4, stride=2, padding=1),  # 14 -> 7
        nn.BatchNorm2d(64),
        nn.LeakyReLU(LEAK),
        Conv2dMatmulGrad(64, 128, 3, stride=2),  # 7 -> 3
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
        ConvTranspose2dMatmulGrad(128, 64, 3, stride=2),  # 3 -> 7
        nn.BatchNorm2d(64),
        nn.LeakyReLU(LEAK),
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1),  # 7 -> 14
        nn.BatchNorm2d(32),
        nn.LeakyReLU(LEAK),
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1),  # 14 -> 28
        nn.Sigmoid(),
    )


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
