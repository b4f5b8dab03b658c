"""A fully connected auto-encoder with a Bernoulli decoder (the `beta-vae` problem's
latent-size study): trained on the binary cross-entropy summed over pixels, so its
reconstruction loss is in nats per image, like a VAE's reconstruction term."""

from pydantic import Field

from .. import evaluate, run_figures
from ..models.mlp_ae import MLPAE
from . import base


class Params(base.Params):
    nz: int = Field(default=16, gt=0, description="code size")
    hidden: tuple[int, ...] = Field(default=(512, 256), description="hidden layer sizes")


optimizers = base.adam  # one Adam on the model's parameters
tensors = base.images  # the training images, nothing else
step = base.loss_step  # minimise the model's own loss


def build(params: Params) -> dict:
    return {"model": MLPAE(params.nz, params.hidden)}


def label(config) -> str:
    return f"AE, latent size {config.params.nz}"


measure = evaluate.bernoulli_metrics
FIGURES = {"reconstructions": run_figures.reconstructions}
