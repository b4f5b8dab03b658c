"""Analyses: what combines trained runs into a problem's findings (a search over a
parameter, interpolations between two runs' codes, curves of several runs on one axis).

Each module declares `ANALYSIS`, a `base.Analysis`, and is registered by one line in
ANALYSES. A spec section of the same name asks for it, validated by the analysis's own
pydantic model, and a figure of that kind without runs draws it. An analysis that belongs
to one family group lives in that group's folder (the β search in families/autoencoding/).
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Analysis

# Analysis name (its spec section and figure kind) -> its module in this package.
ANALYSES: dict[str, str] = {
    "beta_search": "families.autoencoding.beta_search",
    "interpolation": "families.autoencoding.interpolation",
    "compare_losses": "analyses.compare_losses",
    "compare_epochs": "analyses.compare_epochs",
}

PACKAGE = __name__.rsplit(".", 1)[0]


def get(name: str) -> "Analysis":
    return importlib.import_module(f"{PACKAGE}.{ANALYSES[name]}").ANALYSIS


def import_all() -> None:
    """Import every analysis: what needs their figure kinds registered (a notebook that
    redraws a saved report's figures)."""
    for name in ANALYSES:
        get(name)
