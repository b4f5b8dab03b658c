"""The networks keep one memory layout from the first feature map to the last, and compute
what the DCGAN layers they replace computed."""

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from report_builder.families.gan.networks import Discriminator, Generator

CHANNELS_LAST = torch.channels_last


def test_the_score_convolution_is_the_linear_layer_over_the_flattened_map():
    torch.manual_seed(0)
    critic = Discriminator()
    x = torch.rand(8, 1, 28, 28)
    features = critic.features(x)
    as_linear = F.linear(features.flatten(1), critic.score.weight.flatten(1), critic.score.bias)
    torch.testing.assert_close(critic(x), as_linear.squeeze(1))


def test_the_score_is_initialised_as_the_linear_layer_was():
    torch.manual_seed(0)
    linear = nn.Linear(64 * 7 * 7, 1)
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 1, 7)
    assert torch.equal(conv.weight.flatten(1), linear.weight)
    assert torch.equal(conv.bias, linear.bias)


@pytest.mark.parametrize("network", [Generator, Discriminator])
def test_channels_last_networks_compute_the_same_and_keep_their_gradients_channels_last(
        network):
    torch.manual_seed(0)
    model = network().train()
    inputs = torch.randn(8, 100) if network is Generator else torch.rand(8, 1, 28, 28)
    expected = model(inputs)
    model.to(memory_format=CHANNELS_LAST)
    out = model(inputs.contiguous(memory_format=CHANNELS_LAST) if inputs.dim() == 4
                else inputs)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-5)
    with Layouts() as layouts:
        out.sum().backward()
    assert layouts.seen and all(layouts.seen)  # no activation's backward mixes two layouts


class Layouts(TorchDispatchMode):
    """Whether each activation's backward got its gradient and its input in one layout."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.__name__.startswith(("threshold_backward", "leaky_relu_backward")):
            grad, saved = args[0], args[1]
            if grad.dim() == 4:
                self.seen.append(grad.stride() == saved.stride())
        return func(*args, **(kwargs or {}))
