"""Problem specs: `experiments/<problem>.yaml`, validated on load.

A spec declares what a problem trains, draws and asks. Each run names a family
(`report_builder.families`); the run's other keys are the loop's settings (epochs, lr,
batch_size) and the family's parameters, which the family validates.
"""

import json
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

from . import analyses, families
from .errors import ReportBuilderError

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"


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
    """A family that counts its training in iterations (a generator's, say) takes
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
    samples: int | None = Field(default=None, gt=1)
    # An analysis's section changed under this profile (`beta_search: {betas: [...]}`),
    # validated when the profile is applied, by the analysis's own model.
    analyses: dict[str, dict] = {}

    @model_validator(mode="before")
    @classmethod
    def analysis_changes(cls, raw):
        return _gather_analyses(raw)


def _gather_analyses(raw):
    """A spec's (or a profile's) keys that name an analysis, gathered under `analyses`."""
    if not isinstance(raw, dict):
        return raw
    named = {key: raw[key] for key in raw if key in analyses.ANALYSES}
    return {key: value for key, value in raw.items() if key not in named} | (
        {"analyses": named} if named else {})


class Spec(Strict):
    problem: str
    title: str
    course: str
    output: str
    template: str
    defaults: dict[str, float | int | str | list[int] | list[str]] = {}
    runs: dict[str, RunSpec]
    classifier: RunSpec | None = Field(default=None, description="the judge of samples")
    samples: int = Field(default=1000, gt=1, description="prior samples scored per run")
    max_jobs: int | None = Field(default=None, ge=1,
                                 description="runs side by side by default (--jobs overrides)")
    # Each analysis's section (`beta_search:`, `interpolation:` in the YAML), validated by
    # the analysis's own model (analyses/).
    analyses: dict[str, SerializeAsAny[BaseModel]] = {}
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
        return _gather_analyses(raw)

    @field_validator("analyses", mode="before")
    @classmethod
    def analysis_sections(cls, raw: dict) -> dict:
        return {name: section_of(name, section) for name, section in raw.items()}

    @model_validator(mode="after")
    def names_resolve(self) -> "Spec":
        known = set(self.runs) | set(self.added_runs())
        used = [run for name, section in self.analyses.items()
                for run in analyses.get(name).runs_read(section)]
        used += [run for figure in self.figures for run in figure.runs]
        unknown = sorted(set(used) - known)
        if unknown:
            raise ValueError(f"unknown run name(s) {unknown}; known: {sorted(known)}")
        for name, section in self.analyses.items():
            check = analyses.get(name).check
            if check is not None:
                check(section, self)
        for figure in self.figures:
            self._check_figure(figure)
        return self

    def added_runs(self) -> dict[str, str]:
        """Runs the analyses add to the report (a search's tuned run), each with the spec
        run whose family it is of."""
        return {run: like for name, section in self.analyses.items()
                for run, like in analyses.get(name).adds(section).items()}

    def added_by(self) -> dict[str, str]:
        """Each run an analysis adds, with the analysis's name."""
        return {run: name for name, section in self.analyses.items()
                for run in analyses.get(name).adds(section)}

    def report_runs(self) -> list[str]:
        """The runs the report measures and quotes: the spec's and the analyses' own."""
        return [*self.runs, *self.added_runs()]

    def family_of(self, run: str) -> str:
        return self.runs[self.added_runs().get(run, run)].family

    def _check_figure(self, figure: FigureSpec) -> None:
        if not figure.runs:
            if figure.kind not in self.analyses:
                present = ", ".join(self.analyses) or "none here"
                raise ValueError(f"figure {figure.kind!r} without runs must be the figure of an "
                                 f"analysis section of this spec: {present}")
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


def section_of(name: str, raw) -> BaseModel:
    """An analysis's section, validated by the analysis's own model; a bad one named by its
    path in the spec (`beta_search.betas: ...`)."""
    try:
        return analyses.get(name).Section.model_validate(raw)
    except ValidationError as err:
        raise ValueError(first_error(err, (name,))) from None


def first_error(err: ValidationError, prefix: tuple[str, ...] = ()) -> str:
    """A validation's first error as `path.to.field: message (+N more)`. An analysis's
    section names its own path in its message (section_of), under `analyses`."""
    first = err.errors()[0]
    message = first["msg"].removeprefix("Value error, ")
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    if first["loc"] == ("analyses",):
        return f"{message}{more}"
    where = ".".join(str(part) for part in (*prefix, *first["loc"]) if part != "analyses")
    return f"{where or 'spec'}: {message}{more}"


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
        raise ReportBuilderError(f"{path}: {first_error(err)}") from None


def with_profile(spec: Spec, profile: str) -> Spec:
    """Apply a named profile's overrides; 'full' is the spec as written."""
    if profile == "full":
        return spec
    if profile not in spec.profiles:
        names = ", ".join(["full", *spec.profiles])
        raise ReportBuilderError(f"unknown profile '{profile}' for {spec.problem}: use {names}")
    override = spec.profiles[profile]
    unknown = sorted(set(override.analyses) - set(spec.analyses))
    if unknown:
        raise ReportBuilderError(f"profiles.{profile}: {', '.join(unknown)} is no analysis of "
                                 f"{spec.problem}")

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

    def changed(name: str, section: BaseModel) -> BaseModel:
        try:
            return analyses.get(name).with_profile(section, override.epochs,
                                                   override.analyses.get(name, {}))
        except ValidationError as err:
            raise ReportBuilderError(f"profiles.{profile}.{first_error(err, (name,))}") from None

    return spec.model_copy(
        update={
            "runs": {name: shorten(run) for name, run in spec.runs.items()},
            "analyses": {name: changed(name, section) for name, section in spec.analyses.items()},
            "samples": override.samples or spec.samples,
        }
    )


def canonical_json(value) -> str:
    """Stable text for hashing: sorted keys, no whitespace, floats as Python prints them."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
