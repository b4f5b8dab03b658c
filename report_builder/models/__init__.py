"""Model registry: a run's `model` field names one of these builders."""

from collections.abc import Callable

from torch import nn

from .classifier import DigitClassifier
from .conv import VAE, AutoEncoder
from .mlp import MLPVAE

BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "conv_ae": lambda nz, beta, **_: AutoEncoder(nz),
    "conv_vae": lambda nz, beta, **_: VAE(nz, beta),
    "mlp_vae": lambda nz, beta, hidden, **_: MLPVAE(nz, tuple(hidden), beta),
    "classifier": lambda **_: DigitClassifier(),
}


def build_model(kind: str, **params) -> nn.Module:
    return BUILDERS[kind](**params)
