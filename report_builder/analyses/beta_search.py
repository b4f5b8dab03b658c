"""The β search of problem1: which KL weight gives the best prior samples among those that
still reconstruct well.

A logarithmic grid of β (10x steps) is trained and scored: the Fréchet distance of prior
samples in the judge's features, and the test reconstruction MSE. A β is eligible when its
MSE is at most `max_recon_ratio` x the rung's best; the eligible β with the lowest Fréchet
distance wins and is trained for `final_epochs`. With successive halving, every β first
trains `halving.first_epochs` and only the `keep` best continue to `search_epochs`.
"""

from torch.nn import functional as F

from .. import evaluate as ev
from ..figures import Figure, plot_beta_search
from ..numbers import epochs
from ..runs import Run, RunConfig
from ..spec import Spec


def search_name(beta: float, n_epochs: int) -> str:
    return f"search_beta_{beta:g}_e{n_epochs}"


def search_config(spec: Spec, seed: int, precision: str, beta: float, n_epochs: int) -> RunConfig:
    """The base run's family and settings, with this β and these epochs."""
    base = spec.runs[spec.beta_search.base]
    return RunConfig(family=base.family, epochs=n_epochs,
                     params=base.params.model_copy(update={"beta": beta}), lr=base.lr,
                     batch_size=base.batch_size, seed=seed, precision=precision)


def first_rung_epochs(spec: Spec) -> int:
    search = spec.beta_search
    return search.halving.first_epochs if search.halving else search.search_epochs


def first_rung(spec: Spec, seed: int, precision: str) -> dict[str, RunConfig]:
    """The runs known before anything is scored: every β at the first rung's epochs."""
    n_epochs = first_rung_epochs(spec)
    return {search_name(beta, n_epochs): search_config(spec, seed, precision, beta, n_epochs)
            for beta in spec.beta_search.betas}


def run_names(spec: Spec) -> list[str]:
    """Every name the search may train: the tuned run and each β at either rung's epochs."""
    rungs = dict.fromkeys([first_rung_epochs(spec), spec.beta_search.search_epochs])
    return [spec.beta_search.run, *(search_name(beta, n_epochs) for n_epochs in rungs
                                    for beta in spec.beta_search.betas)]


def second_rung(spec: Spec, seed: int, precision: str, kept: list[float]) -> dict[str, RunConfig]:
    """With successive halving, the kept betas trained for the full search epochs."""
    n_epochs = spec.beta_search.search_epochs
    if not spec.beta_search.halving:
        return {}
    return {search_name(beta, n_epochs): search_config(spec, seed, precision, beta, n_epochs)
            for beta in kept}


def tuned_plan(spec: Spec, seed: int, precision: str, chosen: float) -> dict[str, RunConfig]:
    search = spec.beta_search
    return {search.run: search_config(spec, seed, precision, chosen, search.final_epochs)}


def decided_plan(spec: Spec, seed: int, precision: str, kept: list[float],
                 chosen: float) -> dict[str, RunConfig]:
    """The runs the search decides: the kept betas' second rung and the tuned run."""
    return second_rung(spec, seed, precision, kept) | tuned_plan(spec, seed, precision, chosen)


def score(run: Run, evaluation) -> dict:
    """Only what the search compares. Search runs are scored while workers train, so this
    process measures as little as it can (a third of a full measurement's time)."""
    samples = ev.prior_samples(run.model, evaluation.n_samples, evaluation.seed)
    recons = ev.reconstruct_all(run.model, evaluation.test_images)
    judged = ev.judge_images(evaluation.judge, samples)
    return {
        "frechet": judged["frechet"],
        "frechet_se": judged["frechet_se"],
        "test_mse": F.mse_loss(recons, evaluation.test_images).item(),
        "test_kl": ev.mean_kl(run.model, evaluation.test_images),
    }


def search(spec: Spec, seed: int, precision: str, pool, runs: dict[str, Run],
           evaluation, request) -> tuple[dict, list[float], dict[str, RunConfig]]:
    """Score the first rung (and with halving, continue the best), then queue the tuned run.

    Returns the search table, the betas kept for the second rung, and the runs it added.
    """
    settings = spec.beta_search
    rungs = [score_rung(runs, list(first_rung(spec, seed, precision)), evaluation,
                        settings.max_recon_ratio)]
    kept = keep_best(rungs[0], settings.halving.keep) if settings.halving else []
    decided = second_rung(spec, seed, precision, kept)
    if decided:
        pool.submit([request(name, config) for name, config in decided.items()])
        runs.update(pool.wait(list(decided)))
        rungs.append(score_rung(runs, list(decided), evaluation, settings.max_recon_ratio))
    table = summarize(spec, rungs)
    tuned = tuned_plan(spec, seed, precision, table["chosen"])
    pool.submit([request(name, config) for name, config in tuned.items()])
    return table, kept, decided | tuned


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


def summarize(spec: Spec, rungs: list[dict]) -> dict:
    settings = spec.beta_search
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


def figure(table: dict) -> Figure:
    caption = (f"β search ({table['method']}). Chosen β = {table['chosen']:g}: lowest "
               f"Fréchet distance among the β whose test MSE is at most "
               f"{table['max_recon_ratio']:g}x the best of their rung.")
    return plot_beta_search("beta_search", caption, table["rungs"], table["chosen"])
