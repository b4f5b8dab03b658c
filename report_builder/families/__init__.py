"""Model families: everything one kind of model needs, one module (or folder) each.

A family's module declares `FAMILY`, a `base.Family`: its parameters, networks, optimizers,
training step, measurements, figure kinds and summary columns, and its optional parts
(epoch-end measurements, checks, snapshots, iterations instead of epochs), each with its
default in `base.Family`. Nothing outside the family knows these. A family is added by one
line in FAMILIES.

`train.py` runs the loop every family shares. A run's code version hashes the family's
module, the package modules it imports (transitively) and the shared loop, so editing one
family retrains only its runs. Modules whose edits cannot change trained weights are left
out (NOT_TRAINING, and a family folder's `measures` and `figures`): measurements and
figures have their own versions, the data its fingerprint.
"""

import ast
import importlib
import importlib.util
import inspect
import sys
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from ..files import sha256_bytes

if TYPE_CHECKING:  # importing base imports torch, which reading a spec's names must not
    from .base import Family

# Family name -> its module in this package. A module is imported when its family is first
# used, so that what only reads a spec's names (verify, list) imports no torch.
FAMILIES: dict[str, str] = {
    "conv_ae": "autoencoding.conv_ae",
    "conv_vae": "autoencoding.conv_vae",
    "mlp_vae": "autoencoding.mlp_vae",
    "bernoulli_vae": "bernoulli_vae",
    "mlp_ae": "autoencoding.mlp_ae",
    "beta_vae": "autoencoding.beta_vae",
    "simsiam": "simsiam",
    "gan": "gan",
    "classifier": "classifier",
    "ddpm": "ddpm",
}

PACKAGE = __name__.rsplit(".", 2)[0]
SHARED_LOOP = f"{PACKAGE}.train"
NOT_TRAINING = frozenset(f"{PACKAGE}.{name}" for name in (
    "evaluate", "figures", "numbers", "errors", "files", "noise"))
# A family folder's modules of these names measure and draw; they never train.
PRESENTATION = ("measures", "figures")
# What the metrics of every family also depend on.
MEASUREMENT = (f"{PACKAGE}.evaluate", f"{PACKAGE}.noise")


def source(module_name: str) -> str:
    return inspect.getsource(sys.modules[module_name])


def package_imports(module_name: str) -> set[str]:
    """The package modules that `module_name` imports (`from ..models.mlp import MLPVAE`
    is models.mlp; `from .. import evaluate` is evaluate)."""
    package = sys.modules[module_name].__package__  # itself, for a family folder
    found = set()
    for node in ast.walk(ast.parse(source(module_name))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith(PACKAGE)}
        elif isinstance(node, ast.ImportFrom):
            base = (node.module or "") if not node.level else importlib.util.resolve_name(
                "." * node.level + (node.module or ""), package)
            if not base.startswith(PACKAGE):
                continue
            found |= {_module_of(base, alias.name) for alias in node.names}
    return found


def _module_of(base: str, name: str) -> str:
    """`from base import name`: the submodule base.name if there is one, else base."""
    spec = importlib.util.find_spec(base)
    is_package = spec is not None and spec.submodule_search_locations is not None
    if is_package and importlib.util.find_spec(f"{base}.{name}") is not None:
        return f"{base}.{name}"
    return base


def training_modules(family: str) -> list[str]:
    """The family's module, what it imports inside the package (transitively, but not
    through NOT_TRAINING), and the shared loop."""
    todo, seen = [module(family).__name__, SHARED_LOOP], set()
    while todo:
        name = todo.pop()
        if name in seen or not trains(name):
            continue
        seen.add(name)
        todo += sorted(package_imports(name))
    return sorted(seen)


def trains(module_name: str) -> bool:
    """Whether edits to the module can change trained weights."""
    folder, _, leaf = module_name.rpartition(".")
    in_family_folder = folder.startswith(f"{__name__}.")
    return module_name not in NOT_TRAINING and not (in_family_folder and leaf in PRESENTATION)


def imported_by(module_name: str) -> list[str]:
    """The module and every package module it imports, transitively."""
    todo, seen = [module_name], set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += sorted(package_imports(name))
    return sorted(seen)


@cache
def code_version(family: str) -> str:
    """What a run's cache key knows of the code that trains it."""
    text = "".join(f"# {name}\n{source(name)}" for name in training_modules(family))
    return sha256_bytes(text.encode())[:12]


@cache
def measure_version(family: str, measured_by: str) -> str:
    """What a run's cached metrics know of the code that measured them: the family's
    module, the shared measurements, and the module of the measuring function with all it
    imports (a folder's sampler, say, which is not training code)."""
    names = sorted({module(family).__name__, *MEASUREMENT, *imported_by(measured_by)})
    return sha256_bytes("".join(source(name) for name in names).encode())[:8]


def module(name: str) -> ModuleType:
    """The family's module (its package, for a family folder)."""
    return importlib.import_module(f"{__name__}.{FAMILIES[name]}")


def import_all() -> None:
    """Import every family: what needs all their figure kinds registered (a notebook that
    redraws a saved report's figures)."""
    for name in FAMILIES:
        module(name)


def get(name: str) -> "Family":
    return module(name).FAMILY


def epoch_iterations(family: str) -> int | None:
    """Iterations per loop epoch of a family that counts its training in iterations (a
    GAN's generator iterations); None for one that counts epochs of its data."""
    return get(family).epoch_iterations


def parameters(family: str) -> list[str]:
    return list(get(family).Params.model_fields)
