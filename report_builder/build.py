"""`build-report <problem>`: spec -> runs -> measurements -> analyses -> figures -> answers
-> HTML -> PDF.

Nothing here is particular to a problem or a model: runs are what the spec names, each
measured and drawn by its family (`families/`); the spec's analyses (`analyses/`) combine
runs. Everything is gathered and checked (runs trained, numbers measured, answers within
their word limits) before the first report file is written, and the PDF is replaced last
and atomically, so a failed build leaves the previous report as it was.

Runs train on this machine's worker processes or as Ray tasks (`--executor`, jobs.py).
With `--seeds`, every seed's runs are trained and measured; the report is the first
seed's, with the spread of its quoted numbers over the seeds (seeds.py).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import analyses, families
from . import evaluate as ev
from .analyses.base import Finding, Inputs
from .answers import render_answers
from .cluster import cluster_for
from .data import Dataset, load_dataset, subset
from .errors import ReportBuilderError
from .estimate import RunEstimate, estimate, summary
from .figures import Figure, save_figures
from .jobs import TrainingPool, default_jobs
from .measure import Evaluation
from .noise import binomial_se
from .plan import (
    PlannedRun,
    planned_runs,
    planners,
    record_build,
    record_started,
    run_plan,
)
from .render import render_report
from .runs import Run, RunConfig, RunStore
from .seeds import seed_spread
from .slices import Reporter, Request
from .spec import Spec, load_spec, with_profile
from .train import as_float, resolve_device, resolve_precision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildOptions:
    problem: str
    out: Path
    cache_dir: Path
    dataset: str = "auto"
    data_root: Path | None = None
    profile: str = "full"
    seed: int = 0
    seeds: tuple[int, ...] = ()  # several seeds: the report is the first's, with the spread
    device: str = "auto"
    precision: str = "fp32"
    jobs: int | None = None  # None: the executor's default (see `jobs_for`)
    executor: str = "local"  # or "ray"
    ray_address: str | None = None
    retrain: tuple[str, ...] = ()
    allow_long_answers: bool = False


@dataclass
class BuildResult:
    pdf: Path
    runs: dict[str, Run]
    numbers: dict
    seconds: float
    headlines: list[str] = field(default_factory=list)  # the analyses' lines of the summary
    cluster: str | None = None  # the Ray cluster the runs trained on, described
    nodes: dict[str, list[str]] = field(default_factory=dict)  # Ray: run -> slices' nodes
    later_seeds: dict[int, dict[str, Run]] = field(default_factory=dict)  # --seeds: the rest


@dataclass
class Measured:
    """One seed's trained runs and what they measured."""

    seed: int
    runs: dict[str, Run]
    numbers: dict
    evaluation: Evaluation
    findings: dict[str, Finding]  # each analysis's, by name


def build(options: BuildOptions, reporter: Reporter) -> BuildResult:
    started = time.perf_counter()
    spec = with_profile(load_spec(options.problem), options.profile)
    check_writable(options.out)
    data = load_data(spec, options)
    device = resolve_device(options.device)
    precision = resolve_precision(options.precision, device)
    store = RunStore(options.cache_dir)
    seeds = options.seeds or (options.seed,)
    for seed in seeds:
        check_data(run_plan(spec, seed, precision), data)

    # 1. Runs and measurements, seed by seed; the later seeds' runs queue from the start
    #    behind the first's, so workers never wait for a seed's figures or numbers. First,
    #    what will train and for about how long.
    with cluster_for(options.executor, options.ray_address) as cluster:
        jobs = jobs_for(options.jobs, spec, cluster, device)
        reporter.note(summary(training_estimates(spec, options, store, data, device,
                                                 precision, jobs), jobs, len(data.train_labels),
                              "; --dry-run lists each run"))
        measured, nodes = train_and_measure(spec, options, seeds, store, data, device,
                                            precision, jobs, reporter, cluster)
    first = measured[0]
    numbers = first.numbers

    # 2. Answers (which may refuse the build), the spread across seeds, then figures and PDF.
    answers = render_answers(spec, numbers, allow_long=options.allow_long_answers)
    numbers["seeds"] = None
    if len(seeds) > 1:  # the later seeds' drafts say where each of their numbers stands
        later = [render_answers(spec, m.numbers, allow_long=True) for m in measured[1:]]
        numbers["seeds"] = seed_spread(measured, [answers, *later])
    figures = draw_figures(spec, first.runs, numbers, first.evaluation, first.findings)
    figure_files = save_figures(figures, options.out / "figures")
    pdf = render_report(spec, options, numbers, answers, figure_files, first.runs)
    return BuildResult(pdf, first.runs, numbers, time.perf_counter() - started,
                       headlines(spec, numbers), cluster.describe() if cluster else None,
                       nodes, {m.seed: m.runs for m in measured[1:]})


def train_and_measure(spec: Spec, options: BuildOptions, seeds: tuple[int, ...],
                      store: RunStore, data: Dataset, device: str, precision: str, jobs: int,
                      reporter: Reporter, cluster) -> tuple[list["Measured"], dict]:
    """Every seed's runs trained (or loaded) and measured; and on Ray, where each trained."""
    with TrainingPool(store, data, device, jobs, reporter, cluster) as pool:
        pools = {seeds[0]: pool} | {seed: pool.view(f"seed {seed}") for seed in seeds[1:]}
        for rank, seed in enumerate(seeds[1:], 1):
            plan = run_plan(spec, seed, precision)
            pools[seed].submit([request(options, name, config) for name, config in plan.items()],
                               priority=2 * rank)
        measured = [measure(spec, options, seed, pools[seed], store, data, device, precision)
                    for seed in seeds]
    return measured, pool.nodes


def request(options: BuildOptions, name: str, run_config: RunConfig) -> Request:
    wanted = "all" in options.retrain or name in options.retrain
    return Request(name, run_config, retrain=wanted)


def measure(spec: Spec, options: BuildOptions, seed: int, pool, store: RunStore, data: Dataset,
            device: str, precision: str) -> Measured:
    """Train (or load) one seed's runs and measure them: the numbers a report quotes."""
    # The judge and the planners' chains (a search's rungs and tuned run) have priority;
    # the fixed runs fill workers whenever a chain is waiting on something.
    plan = run_plan(spec, seed, precision)
    record_started(store, spec, options.profile, data, seed, precision, plan)
    first = [name for name in plan if name not in spec.runs]
    test_images = as_float(data.test_images, device)
    pool.submit([request(options, name, plan[name]) for name in first])
    pool.submit([request(options, name, plan[name]) for name in spec.runs], priority=1)
    runs = pool.wait(["classifier"] if spec.classifier else [])
    judge = (ev.make_judge(runs["classifier"].model, test_images, data.test_labels)
             if spec.classifier else None)
    evaluation = Evaluation(store, judge, runs["classifier"].key if judge else "no-judge",
                            data, test_images, data.test_labels, spec.samples, seed + 1)

    def decided_request(name: str, config: RunConfig) -> Request:
        record_started(store, spec, options.profile, data, seed, precision, {name: config})
        return request(options, name, config)

    trainer = PoolTrainer(pool, runs, set(plan), decided_request)
    findings, decisions = {}, {}
    for name, section, planner in planners(spec):
        decision = planner.decide(section, spec, seed, precision, trainer, evaluation)
        plan |= decision.runs
        findings[name], decisions[name] = Finding(decision.numbers), decision.record
    runs.update(pool.wait([name for name in plan if name not in runs]))
    record_build(store, spec, options.profile, data, seed, precision, plan,
                 {name: run.key for name, run in runs.items()}, decisions)

    # Each run measured by its family, then the analyses that combine runs.
    numbers = {
        "problem": spec.problem,
        "profile": options.profile,
        "seed": seed,
        "device": device,
        "precision": precision,
        "data": data.describe(),
        "judge": judge and judge_numbers(spec, judge, data, device),
        "runs": {name: evaluation.metrics(runs[name]) for name in spec.report_runs()},
        "samples_scored": spec.samples,
        "test_spread": ev.spread(test_images),
    }
    for name, section in spec.analyses.items():
        combine = analyses.get(name).measure
        if combine is not None:
            findings[name] = combine(Inputs(section, runs, numbers["runs"], evaluation, seed))
    numbers["analyses"] = {name: finding.numbers for name, finding in findings.items()}
    return Measured(seed, runs, numbers, evaluation, findings)


@dataclass
class PoolTrainer:
    """How a planner has runs trained: on the build's pool, each recorded as in use first."""

    pool: object
    runs: dict[str, Run]
    submitted: set[str]
    request: Callable[[str, RunConfig], Request]  # recording the run as started

    def train(self, configs: dict[str, RunConfig]) -> dict[str, Run]:
        self.queue(configs)
        self.runs.update(self.pool.wait(list(configs)))
        return {name: self.runs[name] for name in configs}

    def queue(self, configs: dict[str, RunConfig]) -> None:
        fresh = {name: config for name, config in configs.items() if name not in self.submitted}
        self.pool.submit([self.request(name, config) for name, config in fresh.items()])
        self.submitted |= set(fresh)


def headlines(spec: Spec, numbers: dict) -> list[str]:
    """What the analyses put in the build's summary (a search's pick)."""
    headline_of = {name: analyses.get(name).headline for name in spec.analyses}
    return [headline(numbers["analyses"][name]) for name, headline in headline_of.items()
            if headline and name in numbers["analyses"]]


def jobs_for(jobs: int | None, spec: Spec, cluster, device: str) -> int:
    """Runs in training at once: --jobs, else the cores here (at most 4) or the cluster's
    CPUs (its GPUs on CUDA), and at most the spec's max_jobs."""
    if jobs is not None:
        return jobs
    if cluster is None:
        available = default_jobs()
    elif device == "cuda":
        available = max(1, cluster.gpus)
    else:
        available = max(1, cluster.cpus)
    return min(available, spec.max_jobs or available)


def check_data(plan: dict[str, RunConfig], data: Dataset) -> None:
    """Whatever a family cannot do with this data fails here, before anything trains."""
    for config in plan.values():
        check = families.get(config.family).check_data
        if check is not None:
            check(config.params, data)


def judge_numbers(spec: Spec, judge: ev.Judge, data: Dataset, device: str) -> dict:
    """How good the judge is, and how real images score by it (the floor for samples)."""
    real = as_float(data.train_images[:len(data.test_labels)], device)
    return {"test_accuracy": judge.test_accuracy,
            "test_accuracy_se": binomial_se(judge.test_accuracy, len(data.test_labels)),
            "epochs": spec.classifier.epochs,
            "real_images": ev.judge_images(judge, real)}


@dataclass
class Inspection:
    """What a build would do: each run's state, and for those that would train, the
    images they see and an estimate of their time here (`--dry-run`)."""

    rows: list[PlannedRun]
    estimates: dict[str, RunEstimate]
    jobs: int
    train_images: int


def inspect_plan(options: BuildOptions, with_estimates: bool = True) -> Inspection:
    """What a build with these options would train or reuse, and why; trains nothing."""
    spec = with_profile(load_spec(options.problem), options.profile)
    data = load_data(spec, options)
    device = resolve_device(options.device)
    precision = resolve_precision(options.precision, device)
    store = RunStore(options.cache_dir)
    rows = planned_rows(spec, options, store, data, precision)
    jobs = jobs_for(options.jobs, spec, None, device)
    estimates = training_estimates(spec, options, store, data, device, precision, jobs,
                                   rows) if with_estimates else []
    return Inspection(rows, {estimate.name: estimate for estimate in estimates}, jobs,
                      len(data.train_labels))


def planned_rows(spec: Spec, options: BuildOptions, store: RunStore, data: Dataset,
                 precision: str) -> list[PlannedRun]:
    """Every seed's planned runs, named as the build's bars name them."""
    seeds = options.seeds or (options.seed,)
    rows = []
    for seed in seeds:
        planned = planned_runs(spec, store, data, options.profile, seed, precision,
                               options.retrain)
        tag = f" · seed {seed}" if seed != seeds[0] else ""
        rows += [replace(row, name=row.name + tag) for row in planned]
    return rows


def training_estimates(spec: Spec, options: BuildOptions, store: RunStore, data: Dataset,
                       device: str, precision: str, jobs: int,
                       rows: list[PlannedRun] | None = None) -> list[RunEstimate]:
    """How long each run that will train should take here (one trained for two names
    counts once)."""
    rows = rows if rows is not None else planned_rows(spec, options, store, data, precision)
    to_train = {row.name: row.config for row in rows
                if not row.cached and row.config is not None
                and not row.reason.startswith("same run as")}
    return estimate(to_train, store, data, device, jobs)


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


def draw_figures(spec: Spec, runs: dict[str, Run], numbers: dict, evaluation: Evaluation,
                 findings: dict[str, Finding]) -> list[Figure]:
    """The spec's figures in its order: a run's by its family, an analysis's (a figure
    without runs, of a section the spec checked it has) by the analysis."""
    measured = numbers["runs"]
    figures = []
    for figure in spec.figures:
        if not figure.runs:
            inputs = Inputs(spec.analyses[figure.kind], runs, measured, evaluation,
                            numbers["seed"])
            figures += analyses.get(figure.kind).figures(inputs, findings.get(figure.kind))
            continue
        family = runs[figure.runs[0]].family
        if figure.kind in family.joint_figures:  # one figure of the runs listed
            chosen = {name: runs[name] for name in figure.runs}
            figures.append(family.joint_figures[figure.kind](
                figure.runs, chosen, {name: measured[name] for name in figure.runs},
                evaluation))
            continue
        for name in figure.runs:
            draw = runs[name].family.figures[figure.kind]
            figures.append(draw(name, runs[name], measured[name], evaluation))
    return figures
