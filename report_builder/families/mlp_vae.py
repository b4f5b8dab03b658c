"""A fully connected VAE with a Bernoulli decoder (KAIST AI502, hw4): the reconstruction
term is the binary cross-entropy summed over pixels, so recon + KL is the negative ELBO in
nats per image; the KL term has a weight."""

from pydantic import Field

from .. import evaluate, run_figures
from ..models.mlp import MLPVAE
from . import base


class Params(base.Params):
    nz: int = Field(default=2, gt=0, description="latent size")
    beta: float = Field(default=1.0, ge=0, description="weight of the KL term")
    hidden: tuple[int, ...] = Field(default=(512, 256), description="hidden layer sizes")


def build(params: Params) -> dict:
    return {"model": MLPVAE(params.nz, params.hidden, params.beta)}


def label(config) -> str:
    return f"MLP VAE, Z = {config.params.nz}, KL weight {config.params.beta:g}"


# One Adam, the training images, the model's own loss: the defaults.
FAMILY = base.Family(Params, build, label, evaluate.autoencoder_metrics, figures={
    **run_figures.ENCODER_DECODER,
    "sample_grid": run_figures.sample_grid,
    "manifold": run_figures.manifold,
    "latent_scatter": run_figures.latent_scatter,
}, summary=base.AUTOENCODER_COLUMNS)
