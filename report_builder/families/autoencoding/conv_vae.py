"""The course's convolutional VAE (CSCI 566, problem1): the auto-encoder's networks with a
Gaussian posterior q(z|x), the MSE reconstruction term and a KL weight β (Higgins et al.,
2017); β = 0 is an auto-encoder with noise on its code."""

from pydantic import Field

from ...numbers import epochs
from .. import base
from . import figures, measures
from .conv import VAE


class Params(base.Params):
    nz: int = Field(default=64, gt=0, description="latent size")
    beta: float = Field(default=0.0, ge=0, description="weight of the KL term")


def build(params: Params) -> dict:
    return {"model": VAE(params.nz, params.beta)}


def label(config) -> str:
    return f"VAE, β = {config.params.beta:g} ({epochs(config.epochs)})"


# One Adam, the training images, the model's own loss: the defaults.
FAMILY = base.Family(Params, build, label, measures.autoencoder_metrics,
                     figures=figures.ENCODER_DECODER, summary=measures.AUTOENCODER_COLUMNS)
