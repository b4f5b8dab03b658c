"""A fully connected auto-encoder with a Bernoulli decoder (the `beta-vae` problem's
latent-size study): trained on the binary cross-entropy summed over pixels, so its
reconstruction loss is in nats per image, like a VAE's reconstruction term."""

from pydantic import Field

from .. import base
from . import figures, measures
from .mlp import MLPAE


class Params(base.Params):
    nz: int = Field(default=16, gt=0, description="code size")
    hidden: tuple[int, ...] = Field(default=(512, 256), description="hidden layer sizes")


def build(params: Params) -> dict:
    return {"model": MLPAE(params.nz, params.hidden)}


def label(config) -> str:
    return f"AE, latent size {config.params.nz}"


# One Adam, the training images, the model's own loss: the defaults.
FAMILY = base.Family(Params, build, label, measures.bernoulli_metrics,
                     figures={"reconstructions": figures.reconstructions},
                     summary=measures.BERNOULLI_COLUMNS)
