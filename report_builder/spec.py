"""Problem specs: `experiments/<problem>.yaml`, validated on load.

A spec declares what a problem trains, draws and asks. Each run names a family
(`report_builder.families`); the run's other keys are the loop's settings (epochs, lr,
batch_size) and the family's parameters, which the family validates.
"""

import json
import math
from pathlib import Path

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializeAsAny,
    ValidationError,
    field_validator,
    model_validator,
)

from . import families
from .errors import ReportBuilderError

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
# Figures of a spec section (an analysis), not of one run: figure kind -> its section.
ANALYSIS_FIGURES = {"beta_search": "beta_search", "interpolation": "interpolation",
                    "compare_losses": "compare_losses", "compare_epochs": "compare_epochs"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LOOP_SETTINGS = ("epochs", "lr", "batch_size")  # a run's keys that are not its family's


class RunSpec(Strict):
    """One run: a family, the shared loop's settings, and the family's parameters (every
    key of the run that is not a loop setting)."""

    family: str
    epochs: int = Field(gt=0)
    lr: float = Field(default=1e-3, gt=0)
    batch_size: int = Field(default=64, gt=1)
    params: SerializeAsAny[BaseModel]  # the family's Params, built by the validator below

    @model_validator(mode="before")
    @classmethod
    def family_params(cls, raw):
        if not isinstance(raw, dict) or "params" in raw:
            return raw
        name = raw.get("family")
        if name not in families.FAMILIES:
            raise ValueError(f"unknown family {name!r}; known families: "
                             f"{', '.join(families.FAMILIES)}")
        raw = epochs_of_iterations(name, raw)
        loop = {key: raw[key] for key in ("family", *LOOP_SETTINGS) if key in raw}
        own = {key: value for key, value in raw.items() if key not in loop}
        params = family_params(name, own)
        check = families.get(name).check_run
        if check is not None and isinstance(loop.get("epochs"), int):
            check(params, loop["epochs"])
        return {**loop, "params": params}


def epochs_of_iterations(name: str, raw: dict) -> dict:
    """A family that counts its training in iterations (a GAN's generator iterations) takes
    `iterations`, a whole number of its loop epochs, instead of `epochs`."""
    per_epoch = families.epoch_iterations(name)
    if per_epoch is None:
        return raw
    if "epochs" in raw:
        raise ValueError(f"family {name} counts iterations: give iterations, not epochs")
    iterations = raw.get("iterations")
    if not isinstance(iterations, int) or iterations <= 0 or iterations % per_epoch:
        raise ValueError(f"iterations must be a positive multiple of {per_epoch} for family "
                         f"{name}, got {iterations!r}")
    return {key: value for key, value in raw.items() if key != "iterations"} | {
        "epochs": iterations // per_epoch}


def family_params(name: str, raw: dict) -> BaseModel:
    """The family's Params from a run's keys; an unknown or bad one named with the allowed."""
    counts = "epochs" if families.epoch_iterations(name) is None else "iterations"
    loop = [counts if setting == "epochs" else setting for setting in LOOP_SETTINGS]
    allowed = ", ".join([*loop, *families.parameters(name)])
    try:
        return families.get(name).Params.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ValueError(f"family {name} has no parameter {key!r}; allowed: "
                             f"{allowed}") from None
        raise ValueError(f"{key}: {first['msg']} (family {name}; allowed: {allowed})") from None


class Halving(Strict):
    """Successive halving: every beta trains `first_epochs`; the best `keep` go on."""

    first_epochs: int = Field(gt=0)
    keep: int = Field(ge=1)


class BetaSearch(Strict):
    run: str = Field(description="name of the tuned run the search produces")
    base: str = Field(description="the run whose family and settings the search varies β of")
    betas: list[float] = Field(min_length=2)
    search_epochs: int = Field(gt=0)
    final_epochs: int = Field(gt=0)
    max_recon_ratio: float = Field(gt=1, description="reconstructions may be this much worse")
    halving: Halving | None = None

    @model_validator(mode="after")
    def halving_is_shorter(self) -> "BetaSearch":
        if self.halving and self.halving.first_epochs >= self.search_epochs:
            raise ValueError("halving.first_epochs must be fewer than search_epochs")
        return self

    @field_validator("betas")
    @classmethod
    def ten_x_steps(cls, betas: list[float]) -> list[float]:
        if any(beta <= 0 for beta in betas):
            raise ValueError("every beta of a logarithmic search must be > 0")
        for low, high in zip(betas, betas[1:], strict=False):
            if not math.isclose(high / low, 10, rel_tol=1e-6):
                raise ValueError(f"betas must rise in steps of 10x ({low:g} -> {high:g})")
        return betas


class Interpolation(Strict):
    ae: str
    vae: str
    steps: int = Field(default=5, ge=2)
    pairs: list[tuple[int, int]] = Field(min_length=1)

    @field_validator("pairs")
    @classmethod
    def digits(cls, pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
        for start, end in pairs:
            if not (0 <= start <= 9 and 0 <= end <= 9):
                raise ValueError(f"labels must be digits 0-9, got {start}->{end}")
        return pairs


class CompareLosses(Strict):
    """Training losses of several runs per iteration on the same axes (one panel per part)."""

    runs: list[str] = Field(min_length=2)
    parts: list[str] = Field(default=["recon", "kl"], min_length=1)


class CompareEpochs(Strict):
    """Series the runs' families measured after every epoch, on the same axes."""

    runs: list[str] = Field(min_length=2)
    series: list[str] = Field(min_length=1)


class FigureSpec(Strict):
    kind: str = Field(description="a figure of each run's family, or of an analysis")
    runs: list[str] = []


class Question(Strict):
    words: int = Field(gt=0)
    points: int = Field(gt=0)


class Profile(Strict):
    train_images: int | None = Field(default=None, gt=0)
    test_images: int | None = Field(default=None, gt=0)
    epochs: int | None = Field(default=None, gt=0, description="overrides every run's epochs")
    iterations: int | None = Field(
        default=None, gt=0, description="overrides the iterations of runs that count them")
    betas: list[float] | None = None
    samples: int | None = Field(default=None, gt=1)


class Spec(Strict):
    problem: str
    title: str
    course: str
    output: str
    template: str
    defaults: dict[str, float | int | str | list[int] | list[str]] = {}
    runs: dict[str, RunSpec]
    classifier: RunSpec | None = Field(default=None, description="the judge of samples")
    beta_search: BetaSearch | None = None
    samples: int = Field(default=1000, gt=1, description="prior samples scored per run")
    max_jobs: int | None = Field(default=None, ge=1,
                                 description="runs side by side by default (--jobs overrides)")
    interpolation: Interpolation | None = None
    compare_losses: CompareLosses | None = None
    compare_epochs: CompareEpochs | None = None
    figures: list[FigureSpec]
    sections: list[str] = []
    # What a student's own PDF must show, each item with the phrases that name it, matched
    # loosely by `verify --problem` (case, spacing, β or beta, = or :, 10 or 10.0 alike).
    submission_items: dict[str, list[str]] = {}
    questions: dict[str, Question]
    profiles: dict[str, Profile] = {}

    @model_validator(mode="before")
    @classmethod
    def apply_defaults(cls, raw: dict) -> dict:
        if not isinstance(raw, dict):
            raise ValueError("a spec must be a mapping of sections")
        defaults = raw.get("defaults") or {}
        if isinstance(raw.get("runs"), dict):
            raw["runs"] = {
                name: {**defaults, **run} if isinstance(run, dict) else run
                for name, run in raw["runs"].items()
            }
        return raw

    @model_validator(mode="after")
    def names_resolve(self) -> "Spec":
        known = set(self.runs) | ({self.beta_search.run} if self.beta_search else set())
        used = [self.interpolation.ae, self.interpolation.vae] if self.interpolation else []
        used += [self.beta_search.base] if self.beta_search else []
        used += self.compare_losses.runs if self.compare_losses else []
        used += self.compare_epochs.runs if self.compare_epochs else []
        used += [run for figure in self.figures for run in figure.runs]
        unknown = sorted(set(used) - known)
        if unknown:
            raise ValueError(f"unknown run name(s) {unknown}; known: {sorted(known)}")
        base = self.beta_search and self.runs[self.beta_search.base]
        if base and "beta" not in type(base.params).model_fields:
            raise ValueError(f"beta_search.base {self.beta_search.base} has no β to search")
        for figure in self.figures:
            self._check_figure(figure)
        return self

    def family_of(self, run: str) -> str:
        if self.beta_search and run == self.beta_search.run:
            run = self.beta_search.base
        return self.runs[run].family

    def _check_figure(self, figure: FigureSpec) -> None:
        if not figure.runs:
            section = ANALYSIS_FIGURES.get(figure.kind)
            if section is None or getattr(self, section) is None:
                present = [kind for kind, section in ANALYSIS_FIGURES.items()
                           if getattr(self, section) is not None]
                raise ValueError(f"figure {figure.kind!r} without runs must be the figure of a "
                                 f"section of this spec: {', '.join(present) or 'none here'}")
            return
        of_families = {self.family_of(run) for run in figure.runs}
        first = families.get(self.family_of(figure.runs[0]))
        if figure.kind in first.joint_figures and len(of_families) > 1:
            raise ValueError(f"figure {figure.kind!r} draws runs of one family together; "
                             f"{', '.join(figure.runs)} are of {', '.join(sorted(of_families))}")
        for run in figure.runs:
            kinds = families.get(self.family_of(run)).kinds
            if figure.kind not in kinds:
                raise ValueError(f"run {run} ({self.family_of(run)}) draws no {figure.kind!r}; "
                                 f"it draws: {', '.join(kinds)}")


def spec_path(problem: str) -> Path:
    return EXPERIMENTS / f"{problem}.yaml"


def known_problems() -> list[str]:
    return sorted(path.stem for path in EXPERIMENTS.glob("*.yaml"))


def load_spec(problem: str, path: Path | None = None) -> Spec:
    path = path or spec_path(problem)
    return _validated(Spec, _read(problem, path), path)


class SubmissionItems(BaseModel):
    model_config = ConfigDict(extra="ignore")
    submission_items: dict[str, list[str]] = {}


def load_submission_items(problem: str) -> dict[str, list[str]]:
    """Only what `verify --problem` needs; the runs are not validated, so no family (and no
    torch) is imported."""
    path = spec_path(problem)
    return _validated(SubmissionItems, _read(problem, path), path).submission_items


def _read(problem: str, path: Path):
    if not path.is_file():
        raise ReportBuilderError(
            f"unknown problem '{problem}': known problems are {', '.join(known_problems())}"
        )
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ReportBuilderError(f"{path}:{where} is not valid YAML ({err.problem})") from None


def _validated(model: type[BaseModel], raw, path: Path):
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(part) for part in first["loc"]) or "spec"
        message = first["msg"].removeprefix("Value error, ")
        more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise ReportBuilderError(f"{path}: {loc}: {message}{more}") from None


def with_profile(spec: Spec, profile: str) -> Spec:
    """Apply a named profile's overrides; 'full' is the spec as written."""
    if profile == "full":
        return spec
    if profile not in spec.profiles:
        names = ", ".join(["full", *spec.profiles])
        raise ReportBuilderError(f"unknown profile '{profile}' for {spec.problem}: use {names}")
    override = spec.profiles[profile]
    if override.epochs is None and override.iterations is None:
        return spec.model_copy(update={"samples": override.samples or spec.samples})

    def shorten(run: RunSpec) -> RunSpec:
        per_epoch = families.epoch_iterations(run.family)
        if per_epoch is None:
            return run.model_copy(update={"epochs": override.epochs or run.epochs})
        if override.iterations is None:
            return run
        if override.iterations % per_epoch:
            raise ReportBuilderError(f"profiles.{profile}.iterations must be a multiple of "
                                     f"{per_epoch} ({run.family}), got {override.iterations}")
        return run.model_copy(update={"epochs": override.iterations // per_epoch})

    search = spec.beta_search and spec.beta_search.model_copy(
        update={
            "betas": override.betas or spec.beta_search.betas,
            "search_epochs": override.epochs or spec.beta_search.search_epochs,
            "final_epochs": override.epochs or spec.beta_search.final_epochs,
            "halving": None,
        }
    )
    return spec.model_copy(
        update={
            "runs": {name: shorten(run) for name, run in spec.runs.items()},
            "beta_search": search,
            "samples": override.samples or spec.samples,
        }
    )


def canonical_json(value) -> str:
    """Stable text for hashing: sorted keys, no whitespace, floats as Python prints them."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
