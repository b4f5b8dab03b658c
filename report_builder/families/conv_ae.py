"""The course's convolutional auto-encoder (CSCI 566, problem1): a code z = f(x), a decoder
trained on the mean squared error, and no prior, so decoding z ~ N(0, I) is a guess."""

from pydantic import Field

from .. import evaluate, run_figures
from ..models.conv import AutoEncoder
from ..numbers import epochs
from . import base


class Params(base.Params):
    nz: int = Field(default=64, gt=0, description="code size")


optimizers = base.adam  # one Adam on the model's parameters
tensors = base.images  # the training images, nothing else
step = base.loss_step  # minimise the model's own loss


def build(params: Params) -> dict:
    return {"model": AutoEncoder(params.nz)}


def label(config) -> str:
    return f"AE ({epochs(config.epochs)})"


measure = evaluate.autoencoder_metrics
FIGURES = run_figures.ENCODER_DECODER
