import pytest
import torch
from torch import nn
from torch.distributions import Normal, kl_divergence

from report_builder.families.autoencoding.conv import (
    VAE,
    AutoEncoder,
    Conv2dMatmulGrad,
    Conv2dToPoint,
    ConvTranspose2dFromPoint,
    ConvTranspose2dMatmulGrad,
)
from report_builder.models.distributions import gaussian_kl, log_normal, log_standard_normal


def test_shapes_the_course_checks():
    x = torch.rand(8, 1, 28, 28)
    ae = AutoEncoder(nz=64)
    assert ae.encode(x).shape == (8, 64)
    assert ae.decode(ae.encode(x)).shape == (8, 1, 28, 28)
    vae = VAE(nz=64, beta=1.0)
    assert vae.encoder(x).shape == (8, 128)  # mean and log-sigma
    mu, log_sigma = vae.encode(x)
    assert mu.shape == log_sigma.shape == (8, 64)
    assert vae.reconstruct(x).shape == (8, 1, 28, 28)


def test_every_convolution_learns_a_bias():
    for layer in AutoEncoder().encoder:
        if isinstance(layer, torch.nn.Conv2d):
            assert layer.bias is not None


def test_kl_matches_closed_form_of_torch_distributions():
    torch.manual_seed(0)
    mu, log_sigma = torch.randn(5, 7), torch.randn(5, 7) * 0.5
    expected = kl_divergence(Normal(mu, log_sigma.exp()), Normal(0.0, 1.0)).sum(1).mean()
    assert torch.allclose(gaussian_kl(mu, log_sigma), expected, atol=1e-5)
    assert gaussian_kl(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0


def test_reparameterized_sample_has_the_posterior_mean_and_variance():
    torch.manual_seed(0)
    vae = VAE(nz=2)
    mu = torch.tensor([[1.5, -2.0]]).repeat(200_000, 1)
    log_sigma = torch.log(torch.tensor([[0.5, 2.0]])).repeat(200_000, 1)
    z = vae.reparameterize(mu, log_sigma)
    assert torch.allclose(z.mean(0), torch.tensor([1.5, -2.0]), atol=0.02)
    assert torch.allclose(z.var(0), torch.tensor([0.25, 4.0]), rtol=0.02)


def test_vae_loss_parts_are_named_and_beta_weights_the_kl():
    torch.manual_seed(0)
    x = torch.rand(4, 1, 28, 28)
    vae = VAE(nz=8, beta=3.0).eval()
    torch.manual_seed(1)
    parts = vae.loss(x)
    assert set(parts) == {"loss", "recon", "kl"}
    assert torch.allclose(parts["loss"], parts["recon"] + 3.0 * parts["kl"])


def test_log_densities_match_torch_distributions():
    torch.manual_seed(0)
    z, mu, log_sigma = torch.randn(5, 7), torch.randn(5, 7), torch.randn(5, 7) * 0.5
    expected = Normal(mu, log_sigma.exp()).log_prob(z).sum(1)
    assert torch.allclose(log_normal(z, mu, log_sigma), expected, atol=1e-5)
    assert torch.allclose(log_standard_normal(z), Normal(0.0, 1.0).log_prob(z).sum(1), atol=1e-5)


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_the_point_layers_compute_what_the_course_layers_compute(memory_format):
    torch.manual_seed(0)
    conv, point = nn.Conv2d(128, 256, 3), Conv2dToPoint(128, 256, 3)
    deconv, from_point = nn.ConvTranspose2d(256, 128, 3), ConvTranspose2dFromPoint(256, 128, 3)
    point.load_state_dict(conv.state_dict())
    from_point.load_state_dict(deconv.state_dict())
    for layer in (conv, point, deconv, from_point):
        layer.to(memory_format=memory_format)
    x = torch.randn(5, 128, 3, 3).contiguous(memory_format=memory_format)
    z = torch.randn(5, 256, 1, 1).contiguous(memory_format=memory_format)
    assert torch.allclose(point(x), conv(x), atol=1e-5)
    assert torch.allclose(from_point(z), deconv(z), atol=1e-5)
    (point(x).sum() + from_point(z).sum()).backward()
    (conv(x).sum() + deconv(z).sum()).backward()
    assert torch.allclose(point.weight.grad, conv.weight.grad, atol=1e-4)
    assert torch.allclose(from_point.weight.grad, deconv.weight.grad, atol=1e-4)
    bigger = torch.randn(2, 128, 5, 5)  # not kernel-sized: the ordinary convolution
    assert torch.equal(point(bigger), conv(bigger))


def _course_twin(ours: nn.Module) -> nn.Module:
    """The nn layer our subclass derives from, with the same weights."""
    twin = type(ours).__bases__[0](ours.in_channels, ours.out_channels, ours.kernel_size,
                                   stride=ours.stride, padding=ours.padding)
    twin.load_state_dict(ours.state_dict())
    return twin


MATMUL_GRAD_LAYERS = [  # (layer, input shape): the model's two, and padded ones
    (lambda: Conv2dMatmulGrad(64, 128, 3, stride=2), (64, 7, 7)),
    (lambda: ConvTranspose2dMatmulGrad(128, 64, 3, stride=2), (128, 3, 3)),
    (lambda: Conv2dMatmulGrad(8, 16, 4, stride=2, padding=1), (8, 14, 14)),
    (lambda: ConvTranspose2dMatmulGrad(16, 8, 4, stride=2, padding=1), (16, 7, 7)),
]


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("make_layer, shape", MATMUL_GRAD_LAYERS)
def test_the_matmul_weight_gradient_is_the_course_layers_gradient(make_layer, shape,
                                                                   memory_format):
    torch.manual_seed(0)
    ours = make_layer().to(memory_format=memory_format)
    course = _course_twin(ours).to(memory_format=memory_format)
    x = torch.randn(6, *shape).contiguous(memory_format=memory_format)
    x_ours, x_course = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_ours, y_course = ours(x_ours), course(x_course)
    assert torch.allclose(y_ours, y_course, atol=1e-5)
    weights = torch.randn_like(y_course)  # a loss whose gradient differs per output
    (y_ours * weights).sum().backward()
    (y_course * weights).sum().backward()
    assert torch.allclose(x_ours.grad, x_course.grad, atol=1e-4)
    assert torch.allclose(ours.weight.grad, course.weight.grad, atol=1e-4)
    assert torch.allclose(ours.bias.grad, course.bias.grad, atol=1e-4)
    assert ours.weight.grad.stride() == ours.weight.stride()  # no layout copy per step


@pytest.mark.parametrize("make_layer, shape", MATMUL_GRAD_LAYERS[:2])
def test_the_matmul_weight_gradient_under_bf16_autocast(make_layer, shape):
    """As the training loop runs it: bf16 autocast, channels_last, input needing no grad."""
    torch.manual_seed(0)
    ours = make_layer().to(memory_format=torch.channels_last)
    course = _course_twin(ours).to(memory_format=torch.channels_last)
    x = torch.randn(64, *shape).contiguous(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y_ours, y_course = ours(x), course(x)
    assert y_ours.dtype == y_course.dtype == torch.bfloat16
    assert torch.equal(y_ours, y_course)  # the same oneDNN forward
    y_ours.float().square().sum().backward()
    y_course.float().square().sum().backward()
    assert ours.weight.grad.dtype == torch.float32
    # Both are bf16 approximations; how close they are to each other depends on the CPU
    # (native bf16 on AMX, emulated on AVX2). What must hold everywhere: ours is as close
    # to the exact gradient of the same computation (float64, the bf16 input, the same
    # upstream gradient) as oneDNN's is.
    exact = _course_twin(ours).double()
    (exact(x.bfloat16().double()) * 2 * y_course.detach().double()).sum().backward()
    for name in ("weight", "bias"):
        truth = getattr(exact, name).grad.float()
        error_ours = (getattr(ours, name).grad - truth).abs().max()
        error_course = (getattr(course, name).grad - truth).abs().max()
        assert error_ours <= 1.5 * error_course + 1e-3 * truth.abs().max(), name
