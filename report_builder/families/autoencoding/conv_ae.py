"""The course's convolutional auto-encoder (CSCI 566, problem1): a code z = f(x), a decoder
trained on the mean squared error, and no prior, so decoding z ~ N(0, I) is a guess."""

from pydantic import Field

from ...numbers import epochs
from .. import base
from . import figures, measures
from .conv import AutoEncoder


class Params(base.Params):
    nz: int = Field(default=64, gt=0, description="code size")


def build(params: Params) -> dict:
    return {"model": AutoEncoder(params.nz)}


def label(config) -> str:
    return f"AE ({epochs(config.epochs)})"


# One Adam, the training images, the model's own loss: the defaults.
FAMILY = base.Family(Params, build, label, measures.autoencoder_metrics,
                     figures=figures.ENCODER_DECODER, summary=measures.AUTOENCODER_COLUMNS)
