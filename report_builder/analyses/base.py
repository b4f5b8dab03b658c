"""The contract of an analysis (`Analysis`): its spec section's model, the runs it reads,
what it measures and draws, and, for one that trains runs of its own decided only after
other runs (a search), what it tells the planner (`Planner`). Plain data between steps:
an analysis returns a `Finding`, and a planner a `Decision`."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from ..spec import Strict


class Section(Strict):
    """An analysis's spec section: unknown keys are refused, like everywhere in a spec."""


@dataclass(frozen=True)
class Inputs:
    """What an analysis measures and draws from: its section, the build's trained runs,
    what each run measured, the evaluation context (test set, judge) and the build's seed."""

    section: Any
    runs: dict
    measured: dict[str, dict]
    evaluation: Any
    seed: int


@dataclass(frozen=True)
class Finding:
    """What an analysis found: the numbers the report quotes (`numbers["analyses"][name]`,
    plain and JSON-able) and what only its figures show (rows of images, say)."""

    numbers: Any = None
    shown: Any = None


@dataclass(frozen=True)
class Decision:
    """What a planner decided once the runs it waited for were measured: its numbers, the
    plain record the cache index keeps (so that the next plan knows the runs it decided
    without deciding again), and the runs it added, by name."""

    numbers: Any
    record: dict
    runs: dict


class Trainer(Protocol):
    """How a planner has runs trained, wherever the build trains them."""

    def train(self, configs: dict) -> dict:
        """Train (or load) these runs and wait for them: {name: Run}."""

    def queue(self, configs: dict) -> None:
        """Start these runs; the build waits for them with the others."""


@dataclass(frozen=True)
class Planner:
    """An analysis that trains runs of its own, some decided after others (a search: the
    rungs after the first, the chosen setting). Every function takes the section, the spec,
    the seed and the precision first.

    first(...) -> {name: RunConfig}: the runs known before anything trains;
    decide(..., trainer, evaluation) -> Decision: trains what it decides, measures it;
    replay(..., record) -> {name: RunConfig}: the runs a recorded decision added;
    expected(...) -> [(name, why, config)]: before any decision, runs like those it will
    add (what an estimate of the build's time needs); names(section) -> every name it may
    train (what --retrain takes)."""

    first: Callable[..., dict]
    decide: Callable[..., Decision]
    replay: Callable[..., dict]
    expected: Callable[..., list[tuple[str, str, Any]]]
    names: Callable[[Any], list[str]]


def no_runs_added(section) -> dict[str, str]:
    return {}


def apply_profile(section: BaseModel, epochs: int | None, changes: dict) -> BaseModel:
    """A profile's changes to a section (`profiles.quick.beta_search: {betas: [...]}`),
    validated like the section itself."""
    return type(section).model_validate(section.model_dump() | changes) if changes else section


@dataclass(frozen=True)
class Analysis:
    """Everything one analysis needs, declared once by its module as `ANALYSIS`.

    runs_read(section) -> the run names the section names (the spec checks they exist);
    figures(inputs, finding) -> the figures a spec figure of this kind without runs draws;
    measure(inputs) -> Finding, after every run is measured; adds(section) -> {name: spec
    run}: runs it adds to the report, each of the family of a spec run; check(section,
    spec) -> ValueError for a section the spec's runs cannot serve; with_profile(section,
    epochs, changes) -> the section under a profile; headline(numbers) -> a line of the
    build's summary."""

    Section: type[Section]  # noqa: N815 (a class: analysis.Section(**values))
    runs_read: Callable[[Any], list[str]]
    figures: Callable[[Inputs, Finding | None], list]
    measure: Callable[[Inputs], Finding] | None = None
    planner: Planner | None = None
    adds: Callable[[Any], dict[str, str]] = no_runs_added
    check: Callable[[Any, Any], None] | None = None
    with_profile: Callable[[Any, int | None, dict], Any] = apply_profile
    headline: Callable[[Any], str] | None = None
