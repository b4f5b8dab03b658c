"""`build-report <problem>`: spec -> runs -> numbers -> answers -> figures -> HTML -> PDF.

Everything is gathered and checked (runs trained, numbers measured, answers within their
word limits) before the first report file is written, and the PDF is replaced last and
atomically, so a failed build leaves the previous report as it was.
"""

import inspect
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from . import evaluate as ev
from .answers import epochs, render_answers
from .data import Dataset, as_float, load_dataset, subset
from .errors import ReportBuilderError
from .figures import (
    Figure,
    plot_beta_search,
    plot_interpolation,
    plot_latent_scatter,
    plot_loss_curves,
    plot_manifold,
    plot_reconstructions,
    plot_samples,
    save_figures,
)
from .files import sha256_bytes
from .jobs import Reporter, Request, TrainingPool, steps_per_epoch
from .plan import (
    PlannedRun,
    planned_runs,
    record_build,
    run_plan,
    second_rung,
    tuned_plan,
)
from .render import render_report
from .runs import Run, RunConfig, RunStore
from .spec import Spec, load_spec, with_profile
from .train import resolve_device, resolve_precision

log = logging.getLogger(__name__)
N_RECONSTRUCTIONS = 5
N_SHOWN_SAMPLES = 16
GRID_SAMPLES = 100  # a 10x10 grid of prior samples
MANIFOLD_SIZE, MANIFOLD_LIMIT = 20, 4.0  # decode linspace(-4, 4) x linspace(-4, 4)


@dataclass(frozen=True)
class BuildOptions:
    problem: str
    out: Path
    cache_dir: Path
    dataset: str = "auto"
    data_root: Path | None = None
    profile: str = "full"
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    jobs: int = 1
    retrain: tuple[str, ...] = ()
    allow_long_answers: bool = False


@dataclass
class BuildResult:
    pdf: Path
    runs: dict[str, Run]
    numbers: dict
    seconds: float


def build(options: BuildOptions, reporter: Reporter) -> BuildResult:
    started = time.perf_counter()
    spec = with_profile(load_spec(options.problem), options.profile)
    check_writable(options.out)
    data = load_data(spec, options)
    device = resolve_device(options.device)
    precision = resolve_precision(options.precision, device)
    store = RunStore(options.cache_dir)

    def request(name: str, run_config: RunConfig) -> Request:
        wanted = "all" in options.retrain or name in options.retrain
        return Request(name, run_config, retrain=wanted)

    # 1. Runs. The search's chain (judge, grid, kept betas, tuned run) has priority; the
    #    fixed runs fill workers whenever the chain is waiting on something.
    plan = run_plan(spec, options.seed, precision)
    first_rung = [name for name in plan if name.startswith("search_")]
    fixed = [name for name in plan if name in spec.runs]
    test_images = as_float(data.test_images, device)
    search_table, kept = None, []
    with TrainingPool(store, data, device, options.jobs, reporter) as pool:
        pool.submit([request(name, plan[name]) for name in ["classifier", *first_rung]])
        pool.submit([request(name, plan[name]) for name in fixed], priority=1)
        runs = pool.wait(["classifier", *first_rung])
        judge = ev.make_judge(runs["classifier"].model, test_images, data.test_labels)
        evaluation = Evaluation(store, judge, runs["classifier"].key, test_images,
                                data.test_labels, spec.samples, options.seed + 1)
        if spec.beta_search:
            search_table, kept, decided = search_beta(spec, options.seed, precision, pool, runs,
                                                      first_rung, evaluation, request)
            plan |= decided
        runs.update(pool.wait())
    record_build(store, spec, options.profile, data, options.seed, precision, plan,
                 {name: run.key for name, run in runs.items()}, kept,
                 search_table["chosen"] if search_table else None)

    # 2. Numbers, then answers (which may refuse the build), then figures and the PDF.
    report_runs = [*spec.runs, *([spec.beta_search.run] if spec.beta_search else [])]
    numbers = {
        "problem": spec.problem,
        "profile": options.profile,
        "seed": options.seed,
        "device": device,
        "precision": precision,
        "data": data.describe(),
        "judge": {"test_accuracy": judge.test_accuracy,
                  "epochs": spec.classifier.epochs,
                  "real_images": ev.judge_images(judge, as_float(data.train_images[:len(
                      data.test_labels)], device))},
        "runs": {name: evaluation.metrics(runs[name]) for name in report_runs},
        "search": search_table,
        "samples_scored": spec.samples,
        "test_spread": ev.spread(test_images),
    }
    interpolation_rows, numbers["interpolation"], numbers["paths"] = [], [], {}
    if spec.interpolation:
        interpolation_rows, numbers["interpolation"] = interpolations(spec, runs, data, judge,
                                                                      device, options.seed)
        numbers["paths"] = path_means(numbers["interpolation"])
    numbers["n_train"] = len(data.train_labels)
    answers = render_answers(spec, numbers, allow_long=options.allow_long_answers)

    figures = draw_figures(spec, runs, numbers, evaluation, interpolation_rows)
    figure_files = save_figures(figures, options.out / "figures")
    pdf = render_report(spec, options, numbers, answers, figure_files, runs)
    return BuildResult(pdf, runs, numbers, time.perf_counter() - started)


def inspect_plan(options: BuildOptions) -> list[PlannedRun]:
    """What a build with these options would train or reuse, and why; trains nothing."""
    spec = with_profile(load_spec(options.problem), options.profile)
    data = load_data(spec, options)
    precision = resolve_precision(options.precision, resolve_device(options.device))
    return planned_runs(spec, RunStore(options.cache_dir), data, options.profile, options.seed,
                        precision, options.retrain)


def check_writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise ReportBuilderError(
            f"cannot write to output folder {out} ({err.strerror}); pass --out DIR"
        ) from None


def load_data(spec: Spec, options: BuildOptions) -> Dataset:
    if options.data_root is not None and not options.data_root.is_dir():
        raise ReportBuilderError(
            f"data root {options.data_root} does not exist; pass an existing --data-root DIR"
        )
    data = load_dataset(options.dataset, options.data_root)
    profile = spec.profiles.get(options.profile)
    if profile is not None:
        data = subset(data, profile.train_images, profile.test_images)
    return data


@dataclass(frozen=True)
class Evaluation:
    """What every run is measured against: the test set and the judge classifier."""

    store: RunStore
    judge: ev.Judge
    judge_key: str
    test_images: torch.Tensor
    test_labels: torch.Tensor
    n_samples: int
    seed: int

    def metrics(self, run: Run) -> dict:
        return self._cached(run, "judge", measure_run)

    def search_score(self, run: Run) -> dict:
        """Only what the beta search compares. Search runs are scored while workers train,
        so this process measures as little as it can (a third of `metrics`' time)."""
        return self._cached(run, "search", score_for_search)

    def _cached(self, run: Run, kind: str, measure) -> dict:
        name = f"{kind}-{self.judge_key}-seed{self.seed}-n{self.n_samples}-{EVAL_VERSION}"
        measured = self.store.cached_metrics(run.key, name, lambda: measure(run, self))
        return {**describe(run), **measured}


EVAL_VERSION = sha256_bytes((inspect.getsource(ev) + inspect.getsource(sys.modules[__name__])
                             ).encode())[:8]


def describe(run: Run) -> dict:
    return {
        "model": run.config.model,
        "nz": run.config.nz,
        "beta": run.config.beta,
        "epochs": run.config.epochs,
        "key": run.key,
        "reused": run.reused,
        "train_seconds": run.info["train_seconds"],
        "prior_norm": float(np.sqrt(run.config.nz)),
    }


def measure_run(run: Run, evaluation: Evaluation) -> dict:
    judge, test_images = evaluation.judge, evaluation.test_images
    samples = ev.prior_samples(run.model, evaluation.n_samples, evaluation.seed)
    recons = ev.reconstruct_all(run.model, test_images)
    final = {name: float(np.mean(values[-20:])) for name, values in run.history.items()}
    return {
        "test_mse": F.mse_loss(recons, test_images).item(),
        "recon_accuracy": ev.label_accuracy(judge, recons, evaluation.test_labels),
        "test_kl": ev.mean_kl(run.model, test_images),
        "final_recon": final.get("recon", float("nan")),
        "final_kl": final.get("kl", 0.0),
        "first_kl": float(np.mean(run.history["kl"][:20])) if "kl" in run.history else 0.0,
        "samples": ev.judge_images(judge, samples),
        "code_norm": ev.code_norm(run.model, test_images),
        "latent_spread": ev.latent_spread(run.model, test_images),
        "sharpness": ev.sharpness(samples),
        "grid_confident": int((ev.digit_confidence(
            judge, ev.prior_samples(run.model, GRID_SAMPLES, evaluation.seed)) > ev.CONFIDENT
        ).sum()),
        **ev.test_elbo(run.model, test_images, evaluation.seed),
        "recon_spread": ev.spread(recons),
        "sample_spread": ev.spread(samples),
    }


def score_for_search(run: Run, evaluation: Evaluation) -> dict:
    samples = ev.prior_samples(run.model, evaluation.n_samples, evaluation.seed)
    recons = ev.reconstruct_all(run.model, evaluation.test_images)
    return {
        "frechet": ev.judge_images(evaluation.judge, samples)["frechet"],
        "test_mse": F.mse_loss(recons, evaluation.test_images).item(),
        "test_kl": ev.mean_kl(run.model, evaluation.test_images),
    }


def search_beta(spec: Spec, seed: int, precision: str, pool: TrainingPool,
                runs: dict[str, Run], first_rung: list[str], evaluation: "Evaluation",
                request) -> tuple[dict, list[float], dict[str, RunConfig]]:
    """Score the grid (and with halving, continue the best), then queue the tuned run.

    Returns the search table, the betas kept for the second rung, and the runs it added.
    """
    search = spec.beta_search
    rungs = [score_rung(runs, first_rung, evaluation, search.max_recon_ratio)]
    kept = keep_best(rungs[0], search.halving.keep) if search.halving else []
    decided = second_rung(spec, seed, precision, kept)
    if decided:
        pool.submit([request(name, config) for name, config in decided.items()])
        runs.update(pool.wait(list(decided)))
        rungs.append(score_rung(runs, list(decided), evaluation, search.max_recon_ratio))
    table = summarize_search(spec, rungs)
    tuned = tuned_plan(spec, seed, precision, table["chosen"])
    pool.submit([request(name, config) for name, config in tuned.items()])
    return table, kept, decided | tuned


def score_rung(runs: dict[str, Run], names: list[str], evaluation: Evaluation,
               max_recon_ratio: float) -> dict:
    """Score one rung of the search: every beta's sample distance and reconstruction error.

    A beta is eligible when its test MSE is at most max_recon_ratio x the rung's best.
    """
    rows = []
    for name in names:
        score = evaluation.search_score(runs[name])
        rows.append({"run": name, "beta": score["beta"], "epochs": score["epochs"],
                     "frechet": score["frechet"], "test_mse": score["test_mse"],
                     "test_kl": score["test_kl"]})
    limit = max_recon_ratio * min(row["test_mse"] for row in rows)
    for row in rows:
        row["eligible"] = row["test_mse"] <= limit
    return {"epochs": rows[0]["epochs"], "rows": rows, "mse_limit": limit}


def ranked(rung: dict) -> list[dict]:
    """Eligible betas by Fréchet distance, then the rest by Fréchet distance."""
    return sorted(rung["rows"], key=lambda row: (not row["eligible"], row["frechet"]))


def keep_best(rung: dict, keep: int) -> list[float]:
    return [row["beta"] for row in ranked(rung)[:keep]]


def summarize_search(spec: Spec, rungs: list[dict]) -> dict:
    search = spec.beta_search
    final = rungs[-1]
    chosen = ranked(final)[0]
    if search.halving:
        method = (f"successive halving: all {len(search.betas)} β trained "
                  f"{epochs(search.halving.first_epochs)}, the best {search.halving.keep} "
                  f"continued to {search.search_epochs}")
    else:
        method = f"exhaustive: all {len(search.betas)} β trained {epochs(search.search_epochs)}"
    return {
        "rungs": rungs,
        "rows": final["rows"],
        "chosen": chosen["beta"],
        "chosen_frechet": chosen["frechet"],
        "mse_limit": final["mse_limit"],
        "max_recon_ratio": search.max_recon_ratio,
        "search_epochs": search.search_epochs,
        "final_epochs": search.final_epochs,
        "method": method,
    }


def pick_pair_images(data: Dataset, start: int, end: int, seed: int) -> tuple[int, int]:
    """A random training image of each label, fixed by the seed."""
    generator = torch.Generator().manual_seed(seed)
    indices = []
    for label in (start, end):
        candidates = (data.train_labels == label).nonzero().squeeze(1)
        if len(candidates) == 0:
            raise ReportBuilderError(f"no training image has label {label}; change the pairs")
        indices.append(int(candidates[torch.randint(len(candidates), (1,), generator=generator)]))
    return indices[0], indices[1]


def interpolations(spec: Spec, runs: dict[str, Run], data: Dataset, judge: ev.Judge,
                   device: str, seed: int) -> tuple[list[dict], list[dict]]:
    setting = spec.interpolation
    models = {"AE": runs[setting.ae].model, "VAE": runs[setting.vae].model}
    rows, stats = [], []
    for number, (start_label, end_label) in enumerate(setting.pairs):
        i, j = pick_pair_images(data, start_label, end_label, seed + number)
        start, end = as_float(data.train_images[[i, j]], device)
        pair_rows, pair_stats = {}, {"start_label": start_label, "end_label": end_label,
                                     "start_index": i, "end_index": j}
        for label, model in models.items():
            decoded = ev.interpolate(model, start, end, setting.steps)
            row = torch.cat([start[None], decoded, end[None]])
            confidence = ev.digit_confidence(judge, row)
            pair_rows[label] = row.cpu().numpy()
            pair_stats[label.lower()] = ev.path_statistics(pair_rows[label], confidence)
        rows.append(pair_rows)
        stats.append(pair_stats)
    return rows, stats


def path_means(pairs: list[dict]) -> dict[str, float]:
    """Interpolation statistics averaged over the label pairs, per model."""
    return {f"{model}_{stat}": float(np.mean([pair[model][stat] for pair in pairs]))
            for model in ("ae", "vae") for stat in ("jump_ratio", "inner_confidence")}


def draw_figures(spec: Spec, runs: dict[str, Run], numbers: dict, evaluation: "Evaluation",
                 interpolation_rows: list[dict]) -> list[Figure]:
    figures = []
    for figure in spec.figures:
        for name in figure.runs:
            figures.append(_run_figure(figure.kind, name, runs[name], numbers, evaluation))
        if figure.kind == "beta_search":
            figures.append(_beta_search_figure(numbers["search"]))
        if figure.kind == "interpolation":
            figures += [_interpolation_figure(n, rows, stats, spec)
                        for n, (rows, stats) in enumerate(
                            zip(interpolation_rows, numbers["interpolation"], strict=True))]
    return figures


def describe_run(run: Run) -> str:
    if run.config.model == "conv_ae":
        return f"AE ({epochs(run.config.epochs)})"
    if run.config.model == "mlp_vae":
        return f"MLP VAE, Z = {run.config.nz}, KL weight {run.config.beta:g}"
    return f"VAE, β = {run.config.beta:g} ({epochs(run.config.epochs)})"



@torch.no_grad()
def _run_figure(kind: str, name: str, run: Run, numbers: dict, evaluation: "Evaluation"
                ) -> Figure:
    label = describe_run(run)
    measured = numbers["runs"][name]
    seed, test_images = evaluation.seed, evaluation.test_images
    originals = test_images[:N_RECONSTRUCTIONS]
    if kind == "reconstructions":
        recons = run.model.reconstruct(originals).cpu().numpy()
        caption = (f"Run <code>{name}</code>, {label}: five test images (top) and their "
                   f"reconstructions (bottom). Test MSE {measured['test_mse']:.4f}.")
        return plot_reconstructions(f"reconstructions_{name}", caption,
                                    f"{label}: reconstructions", originals.cpu().numpy(), recons)
    if kind == "samples":
        samples = ev.prior_samples(run.model, N_SHOWN_SAMPLES, seed).cpu().numpy()
        caption = (f"Run <code>{name}</code>, {label}: 16 decodings of z ~ N(0, I). "
                   f"Fréchet distance over {numbers['samples_scored']} samples: "
                   f"{measured['samples']['frechet']:.1f}.")
        return plot_samples(f"samples_{name}", caption, f"{label}\nprior samples", samples)
    if kind == "loss_curves":
        caption = (f"Run <code>{name}</code>, {label}: training losses per iteration "
                   f"(batch {run.config.batch_size}).")
        return plot_loss_curves(f"loss_curves_{name}", caption, f"{label}: training losses",
                                run.history,
                                steps_per_epoch(numbers["n_train"], run.config.batch_size))
    if kind == "sample_grid":
        samples = ev.prior_samples(run.model, GRID_SAMPLES, seed).cpu().numpy()
        caption = (f"Run <code>{name}</code>, {label}: 100 decodings of z ~ N(0, I). The digit "
                   f"classifier reads {measured['grid_confident']} of them with p > "
                   f"{ev.CONFIDENT}.")
        return plot_samples(f"sample_grid_{name}", caption, f"Z = {run.config.nz}", samples,
                            columns=10)
    if kind == "manifold":
        z, images = ev.latent_manifold(run.model, MANIFOLD_SIZE, MANIFOLD_LIMIT)
        caption = (f"Run <code>{name}</code>, {label}: decodings of a regular "
                   f"{MANIFOLD_SIZE}x{MANIFOLD_SIZE} grid of z over [-{MANIFOLD_LIMIT:g}, "
                   f"{MANIFOLD_LIMIT:g}]², z₁ left to right, z₂ bottom to top.")
        return plot_manifold(f"manifold_{name}", caption, f"KL weight {run.config.beta:g}",
                             z.cpu().numpy(), images.cpu().numpy(), MANIFOLD_LIMIT)
    if kind == "latent_scatter":
        means = ev.posterior_means(run.model, test_images).cpu().numpy()
        caption = (f"Run <code>{name}</code>, {label}: posterior means of the "
                   f"{len(means)} test images, coloured by digit. Mean spread (standard "
                   f"deviation per dimension) {measured['latent_spread']:.2f}.")
        return plot_latent_scatter(f"latent_scatter_{name}", caption,
                                   f"KL weight {run.config.beta:g}", means,
                                   evaluation.test_labels.cpu().numpy(), MANIFOLD_LIMIT)
    raise ReportBuilderError(f"figure kind '{kind}' does not take runs")


def _beta_search_figure(search: dict) -> Figure:
    caption = (f"β search ({search['method']}). Chosen β = {search['chosen']:g}: lowest "
               f"Fréchet distance among the β whose test MSE is at most "
               f"{search['max_recon_ratio']:g}x the best of their rung.")
    return plot_beta_search("beta_search", caption, search["rungs"], search["chosen"])


def _interpolation_figure(number: int, rows: dict, stats: dict, spec: Spec) -> Figure:
    start, end = stats["start_label"], stats["end_label"]
    caption = (f"Interpolation {start} → {end} between the same two training images: AE "
               f"(<code>{spec.interpolation.ae}</code>) and VAE "
               f"(<code>{spec.interpolation.vae}</code>, posterior means). Largest step over "
               f"mean step: AE {stats['ae']['jump_ratio']:.2f}, "
               f"VAE {stats['vae']['jump_ratio']:.2f}.")
    return plot_interpolation(f"interpolation_{number + 1}_{start}_to_{end}", caption,
                              f"{start} → {end}", rows)
