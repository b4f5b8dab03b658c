"""The tables the CLI prints, made from plain results (rich Tables and their closing
lines); the commands in cli.py only print them."""

from rich.table import Table

STATUS_STYLE = {"confirmed": "[green]confirmed", "weak": "[cyan]weak",
                "unverifiable": "[yellow]unverifiable", "contradicted": "[red]contradicted",
                "missing": "[yellow]missing", "present": "present", "note": "note"}
VERDICT_STYLE = {"consistent": "green", "not enough specific evidence": "yellow",
                 "inconsistent": "red"}


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


def runs_table(result) -> Table:
    """After a build: each run, trained or cached, its time and its family's columns."""
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
    return table


def build_lines(result) -> list[str]:
    """What the runs table leaves out: the cluster, the later seeds, the time."""
    lines = [f"trained on {result.cluster}"] if result.cluster else []
    for seed, runs in result.later_seeds.items():
        trained = sum(not run.reused for run in runs.values())
        lines.append(f"seed {seed}: {len(runs)} runs, {trained} trained, "
                     f"{len(runs) - trained} cached or shared")
    if spread := result.numbers.get("seeds"):
        seeds = ", ".join(map(str, spread["seeds"]))
        lines.append(f"seeds {seeds}: the spread of {len(spread['rows'])} quoted numbers is "
                     "in the report's appendix and manifest.json")
    return [*lines, "; ".join([*result.headlines, f"built in {result.seconds:.1f} s"])]


def plan_table(inspection, title: str, details: bool = False) -> Table:
    """--dry-run: each run, whether it would train and why, the images it would see and
    about how long it would take here. `status` (details): size, time and losses."""
    from .estimate import duration

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
    return table


def plan_lines(inspection, cache_dir, details: bool = False) -> list[str]:
    from .estimate import summary

    cached = sum(row.cached for row in inspection.rows)
    total_mb = sum(row.size_mb for row in inspection.rows)
    lines = [f"{cached} of {len(inspection.rows)} runs cached, {total_mb:.0f} MB in {cache_dir}"]
    if not details:
        lines.append(summary(list(inspection.estimates.values()), inspection.jobs,
                             inspection.train_images))
    return lines


def unused_table(unused, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("run", "problem", "MB", "why unused", "key"):
        table.add_column(column, justify="right" if column == "MB" else "left")
    for entry in unused:
        table.add_row(entry.run, entry.problem + (" (latest build)" if entry.latest else ""),
                      f"{entry.size_mb:.1f}", entry.why, entry.key)
    return table


def verdict_table(verdict) -> Table:
    table = Table(title=f"verify {verdict.pdf}" + (f" against {verdict.notebook}"
                                                   if verdict.notebook else ""),
                  title_justify="left")
    for column in ("what", "where", "result", "detail"):
        table.add_column(column)
    for item in verdict.evidence:
        table.add_row(item.what, item.subject, STATUS_STYLE[item.status], item.detail)
    return table


def verdict_line(verdict) -> str:
    """The verdict in its colour, with the evidence counted by status (rich markup)."""
    counts = ", ".join(f"{n} {status}" for status, n in sorted(verdict.counts.items()))
    style = VERDICT_STYLE[verdict.verdict]
    return f"[{style}]{verdict.summary}[/{style}] ({counts})"


def batch_table(rows) -> Table:
    """verify --batch: a row per student."""
    table = Table("student", "verdict", "flags", "evidence")
    for row in rows:
        style = VERDICT_STYLE[row.verdict.verdict]
        table.add_row(row.student, f"[{style}]{row.verdict.summary}", "; ".join(row.flags),
                      _short_evidence(row.verdict))
    return table


def _short_evidence(verdict) -> str:
    counts = verdict.counts
    return ", ".join(f"{counts[s]} {s}" for s in ("confirmed", "weak", "unverifiable",
                                                   "contradicted") if counts[s])
