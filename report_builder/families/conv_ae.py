"""The course's convolutional auto-encoder (CSCI 566, problem1): a code z = f(x), a decoder
trained on the mean squared error, and no prior, so decoding z ~ N(0, I) is a guess."""

from pydantic import Field

from .. import evaluate, run_figures
from ..models.conv import AutoEncoder
from ..numbers import epochs
from . import base


class Params(base.Params):
    nz: int = Field(default=64, gt=0, description="code size")


def build(params: Params) -> dict:
    return {"model": AutoEncoder(params.nz)}


def label(config) -> str:
    return f"AE ({epochs(config.epochs)})"


# One Adam, the training images, the model's own loss: the defaults.
FAMILY = base.Family(Params, build, label, evaluate.autoencoder_metrics,
                     figures=run_figures.ENCODER_DECODER, summary=base.AUTOENCODER_COLUMNS)
