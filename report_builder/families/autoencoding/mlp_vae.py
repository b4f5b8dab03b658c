"""A fully connected VAE with a Bernoulli decoder (KAIST AI502, hw4): the reconstruction
term is the binary cross-entropy summed over pixels, so recon + KL is the negative ELBO in
nats per image; the KL term has a weight."""

from pydantic import Field

from .. import base
from . import figures, measures
from .mlp import MLPVAE


class Params(base.Params):
    nz: int = Field(default=2, gt=0, description="latent size")
    beta: float = Field(default=1.0, ge=0, description="weight of the KL term")
    hidden: tuple[int, ...] = Field(default=(512, 256), description="hidden layer sizes")


def build(params: Params) -> dict:
    return {"model": MLPVAE(params.nz, params.hidden, params.beta)}


def label(config) -> str:
    return f"MLP VAE, Z = {config.params.nz}, KL weight {config.params.beta:g}"


# One Adam, the training images, the model's own loss: the defaults.
FAMILY = base.Family(Params, build, label, measures.autoencoder_metrics, figures={
    **figures.ENCODER_DECODER,
    "sample_grid": figures.sample_grid,
    "manifold": figures.manifold,
    "latent_scatter": figures.latent_scatter,
}, summary=measures.AUTOENCODER_COLUMNS)
