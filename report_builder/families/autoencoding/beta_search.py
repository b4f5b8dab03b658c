"""The β search of problem1: which KL weight gives the best prior samples among those that
still reconstruct well.

A logarithmic grid of β (10x steps) is trained and scored: the Fréchet distance of prior
samples in the judge's features, and the test reconstruction MSE. A β is eligible when its
MSE is at most `max_recon_ratio` x the rung's best; the eligible β with the lowest Fréchet
distance wins and is trained for `final_epochs`. With successive halving, every β first
trains `halving.first_epochs` and only the `keep` best continue to `search_epochs`.
"""

import math

import matplotlib.pyplot as plt
import numpy as np
from pydantic import Field, field_validator, model_validator
from torch.nn import functional as F

from ... import evaluate as ev
from ...analyses.base import (
    Analysis,
    Decision,
    Finding,
    Inputs,
    Planner,
    Section,
    apply_profile,
)
from ...figures import Figure, drawing, to_png
from ...numbers import epochs
from ...runs import Run, RunConfig
from .measures import mean_kl, prior_samples, reconstruct_all


class Halving(Section):
    """Successive halving: every beta trains `first_epochs`; the best `keep` go on."""

    first_epochs: int = Field(gt=0)
    keep: int = Field(ge=1)


class BetaSearch(Section):
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


def check(search: BetaSearch, spec) -> None:
    if "beta" not in type(spec.runs[search.base].params).model_fields:
        raise ValueError(f"beta_search.base {search.base} has no β to search")


def with_profile(search: BetaSearch, n_epochs: int | None, changes: dict) -> BetaSearch:
    """A short profile trains every rung and the tuned run its epochs, without halving."""
    shortened = {"search_epochs": n_epochs, "final_epochs": n_epochs,
                 "halving": None} if n_epochs else {}
    return apply_profile(search, n_epochs, shortened | changes)


def search_name(beta: float, n_epochs: int) -> str:
    return f"search_beta_{beta:g}_e{n_epochs}"


def search_config(search: BetaSearch, spec, seed: int, precision: str, beta: float,
                  n_epochs: int) -> RunConfig:
    """The base run's family and settings, with this β and these epochs."""
    base = spec.runs[search.base]
    return RunConfig(family=base.family, epochs=n_epochs,
                     params=base.params.model_copy(update={"beta": beta}), lr=base.lr,
                     batch_size=base.batch_size, seed=seed, precision=precision)


def first_rung_epochs(search: BetaSearch) -> int:
    return search.halving.first_epochs if search.halving else search.search_epochs


def first_rung(search: BetaSearch, spec, seed: int, precision: str) -> dict[str, RunConfig]:
    """The runs known before anything is scored: every β at the first rung's epochs."""
    n_epochs = first_rung_epochs(search)
    return {search_name(beta, n_epochs): search_config(search, spec, seed, precision, beta,
                                                       n_epochs)
            for beta in search.betas}


def run_names(search: BetaSearch) -> list[str]:
    """Every name the search may train: the tuned run and each β at either rung's epochs."""
    rungs = dict.fromkeys([first_rung_epochs(search), search.search_epochs])
    return [search.run, *(search_name(beta, n_epochs) for n_epochs in rungs
                          for beta in search.betas)]


def second_rung(search: BetaSearch, spec, seed: int, precision: str,
                kept: list[float]) -> dict[str, RunConfig]:
    """With successive halving, the kept betas trained for the full search epochs."""
    n_epochs = search.search_epochs
    if not search.halving:
        return {}
    return {search_name(beta, n_epochs): search_config(search, spec, seed, precision, beta,
                                                       n_epochs)
            for beta in kept}


def tuned_plan(search: BetaSearch, spec, seed: int, precision: str,
               chosen: float) -> dict[str, RunConfig]:
    return {search.run: search_config(search, spec, seed, precision, chosen,
                                      search.final_epochs)}


def replay(search: BetaSearch, spec, seed: int, precision: str,
           record: dict) -> dict[str, RunConfig]:
    """The runs a recorded search decided: the kept betas' second rung and the tuned run."""
    return (second_rung(search, spec, seed, precision, record["kept"])
            | tuned_plan(search, spec, seed, precision, record["chosen"]))


def expected(search: BetaSearch, spec, seed: int,
             precision: str) -> list[tuple[str, str, RunConfig]]:
    """Before the search decides: runs like those it will add (only β differs, which costs
    nothing), for an estimate of the build's time."""
    kept = search.betas[:search.halving.keep] if search.halving else []
    second = second_rung(search, spec, seed, precision, kept).values()
    rows = [(f"search_beta_kept{i}_e{search.search_epochs}", "a β the first rung keeps", config)
            for i, config in enumerate(second, 1)]
    like = tuned_plan(search, spec, seed, precision, search.betas[0])[search.run]
    return [*rows, (search.run, "β chosen by the search first", like)]


def score(run: Run, evaluation) -> dict:
    """Only what the search compares. Search runs are scored while workers train, so this
    process measures as little as it can (a third of a full measurement's time)."""
    samples = prior_samples(run.model, evaluation.n_samples, evaluation.seed)
    recons = reconstruct_all(run.model, evaluation.test_images)
    judged = ev.judge_images(evaluation.judge, samples)
    return {
        "frechet": judged["frechet"],
        "frechet_se": judged["frechet_se"],
        "test_mse": F.mse_loss(recons, evaluation.test_images).item(),
        "test_kl": mean_kl(run.model, evaluation.test_images),
    }


def decide(search: BetaSearch, spec, seed: int, precision: str, trainer,
           evaluation) -> Decision:
    """Score the first rung (and with halving, continue the best), then queue the tuned run.
    Its record: the betas kept for the second rung, and the β chosen."""
    first = first_rung(search, spec, seed, precision)
    runs = trainer.train(first)
    rungs = [score_rung(runs, list(first), evaluation, search.max_recon_ratio)]
    kept = keep_best(rungs[0], search.halving.keep) if search.halving else []
    decided = second_rung(search, spec, seed, precision, kept)
    if decided:
        runs = trainer.train(decided)
        rungs.append(score_rung(runs, list(decided), evaluation, search.max_recon_ratio))
    table = summarize(search, rungs)
    tuned = tuned_plan(search, spec, seed, precision, table["chosen"])
    trainer.queue(tuned)
    return Decision(table, {"kept": kept, "chosen": table["chosen"]}, decided | tuned)


def score_rung(runs: dict[str, Run], names: list[str], evaluation,
               max_recon_ratio: float) -> dict:
    """Score one rung: every β's sample distance and reconstruction error; a β is eligible
    when its test MSE is at most max_recon_ratio x the rung's best."""
    rows = []
    for name in names:
        scored = evaluation.cached(runs[name], "search", score)
        rows.append({"run": name, "beta": scored["beta"], "epochs": scored["epochs"],
                     "frechet": scored["frechet"], "frechet_se": scored["frechet_se"],
                     "test_mse": scored["test_mse"],
                     "test_kl": scored["test_kl"]})
    limit = max_recon_ratio * min(row["test_mse"] for row in rows)
    for row in rows:
        row["eligible"] = row["test_mse"] <= limit
    return {"epochs": rows[0]["epochs"], "rows": rows, "mse_limit": limit}


def ranked(rung: dict) -> list[dict]:
    """Eligible betas by Fréchet distance, then the rest by Fréchet distance."""
    return sorted(rung["rows"], key=lambda row: (not row["eligible"], row["frechet"]))


def keep_best(rung: dict, keep: int) -> list[float]:
    return [row["beta"] for row in ranked(rung)[:keep]]


def summarize(settings: BetaSearch, rungs: list[dict]) -> dict:
    chosen, *others = ranked(rungs[-1])
    # The next-best eligible β: whether the pick stands out from it beyond the noise.
    runner_up = others[0] if others and others[0]["eligible"] else None
    if settings.halving:
        method = (f"successive halving: all {len(settings.betas)} β trained "
                  f"{epochs(settings.halving.first_epochs)}, the best {settings.halving.keep} "
                  f"continued to {settings.search_epochs}")
    else:
        method = f"exhaustive: all {len(settings.betas)} β trained {epochs(settings.search_epochs)}"
    return {
        "rungs": rungs,
        "rows": rungs[-1]["rows"],
        "chosen": chosen["beta"],
        "chosen_frechet": chosen["frechet"],
        "chosen_frechet_se": chosen["frechet_se"],
        "runner_up": runner_up,
        "mse_limit": rungs[-1]["mse_limit"],
        "max_recon_ratio": settings.max_recon_ratio,
        "search_epochs": settings.search_epochs,
        "final_epochs": settings.final_epochs,
        "method": method,
    }


def figures(inputs: Inputs, finding: Finding) -> list[Figure]:
    table = finding.numbers
    caption = (f"β search ({table['method']}). Chosen β = {table['chosen']:g}: lowest "
               f"Fréchet distance among the β whose test MSE is at most "
               f"{table['max_recon_ratio']:g}x the best of their rung.")
    return [plot_beta_search("beta_search", caption, table["rungs"], table["chosen"])]


def plot_beta_search(name, caption, rungs: list[dict], chosen: float) -> Figure:
    """Fréchet distance and test MSE against beta, one line per rung of the search."""
    arrays = {}
    for rung in rungs:
        for field in ("beta", "frechet", "test_mse", "eligible"):
            arrays[f"{field}_e{rung['epochs']}"] = np.array([row[field] for row in rung["rows"]])
    arrays["chosen"] = np.asarray(chosen)
    rung_epochs = tuple(rung["epochs"] for rung in rungs)
    return Figure(name, caption, arrays, rung_epochs, "beta_search")


@drawing("beta_search")
def _draw_beta_search(labels, arrays) -> bytes:
    rung_epochs, chosen = tuple(labels), float(arrays["chosen"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(6.8, 2.7))
    for ax, field, label in ((left, "frechet", "Fréchet distance of samples"),
                             (right, "test_mse", "test reconstruction MSE")):
        for number, n in enumerate(rung_epochs):
            betas, values = arrays[f"beta_e{n}"], arrays[f"{field}_e{n}"]
            order = np.argsort(betas)
            ax.plot(betas[order], values[order], marker="o", markersize=3,
                    color=("tab:gray", "tab:blue")[number == len(rung_epochs) - 1],
                    label=epochs(n))
        final = rung_epochs[-1]
        betas, values = arrays[f"beta_e{final}"], arrays[f"{field}_e{final}"]
        poor = ~arrays[f"eligible_e{final}"].astype(bool)
        ax.plot(betas[poor], values[poor], "x", color="tab:red", markersize=7,
                label="reconstructions too poor")
        pick = betas == chosen
        ax.plot(betas[pick], values[pick], "*", color="tab:orange", markersize=13,
                label=f"chosen β = {chosen:g}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("β")
        ax.set_ylabel(label)
    # Below the panels: inside, the 1-epoch line runs through it.
    fig.legend(*left.get_legend_handles_labels(), loc="lower center", ncol=4, frameon=False,
               fontsize=7)
    fig.suptitle("β search (lower is better in both panels)")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return to_png(fig)

ANALYSIS = Analysis(
    BetaSearch, runs_read=lambda search: [search.base], figures=figures,
    planner=Planner(first=first_rung, decide=decide, replay=replay, expected=expected,
                    names=run_names),
    adds=lambda search: {search.run: search.base}, check=check, with_profile=with_profile,
    headline=lambda table: f"tuned β = {table['chosen']:g}")
