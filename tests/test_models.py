import torch
from torch.distributions import Normal, kl_divergence

from report_builder.models import BUILDERS, build_model
from report_builder.models.conv import VAE, AutoEncoder, gaussian_kl
from report_builder.spec import ModelKind


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


def test_registry_and_spec_know_the_same_models():
    assert set(BUILDERS) == set(ModelKind.__args__)
    assert isinstance(build_model("conv_vae", nz=4, beta=0.5), VAE)
