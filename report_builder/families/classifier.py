"""The judge: a small CNN digit classifier whose features give the Fréchet distance of
samples and whose confidence says whether a decoding reads as a digit. Trained once per
data set and seed, on the same training split as the models it judges."""

import torch

from ..models.classifier import DigitClassifier
from ..numbers import epochs
from ..train import as_float
from . import base

Params = base.Params  # nothing to choose
def build(params: Params) -> dict:
    return {"model": DigitClassifier()}


def tensors(data, params: Params) -> list[torch.Tensor]:
    return [as_float(data.train_images), data.train_labels]


def label(config) -> str:
    return f"digit classifier ({epochs(config.epochs)})"


def measure(run, evaluation) -> dict:
    return {}


# One Adam, the model's own loss (cross-entropy): the defaults.
FAMILY = base.Family(Params, build, label, measure, tensors=tensors)
