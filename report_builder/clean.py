"""`build-report clean`: which cached runs nothing uses any more, why, and removing them.

A run is in use when a problem's current spec, built as a recorded build was (profile,
data, seed, precision), would use it. Nothing is removed on a guess: a spec that cannot be
read keeps every run its builds used (a typo must not cost hours of training), and runs the
latest build of a problem used are removed only when the user says so (`--yes`).
"""

import shutil
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import first_line
from .plan import decided_plan, read_index, run_plan, size_mb
from .runs import RunStore, run_key
from .spec import load_spec, spec_path, with_profile


@dataclass(frozen=True)
class Unused:
    """A cache entry no current spec uses."""

    key: str
    run: str  # the name it was trained under, "?" for an entry without run.json
    problem: str  # the problem whose recorded builds used it, "" for none
    size_mb: float
    why: str
    latest: bool  # the latest build of its problem used it: removing it asks first


@dataclass
class Survey:
    unused: list[Unused] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def size_mb(self) -> float:
        return sum(entry.size_mb for entry in self.unused)


def survey(store: RunStore, keep_latest: bool = False) -> Survey:
    """Every entry of the store that no current spec uses (with `keep_latest`, nor any
    recorded build), with why; and a warning for each spec that cannot be read."""
    index = read_index(store)
    keep, gone, used_by, result = set(), set(), defaultdict(list), Survey()
    for record in index.values():
        recorded = {run["key"] for run in record["runs"].values()}
        for key in recorded:
            used_by[key].append(record)
        problem = record["problem"]
        if keep_latest:
            keep |= recorded
        if not spec_path(problem).is_file():
            gone.add(problem)
            continue
        try:
            keep |= _current_keys(record)
        except Exception as err:  # whatever stops the spec from planning, keep its runs
            keep |= recorded
            error = first_line(err)
            if str(spec_path(problem)) not in error:
                error = f"{spec_path(problem)}: {error}"
            warning = f"{error}; the runs its builds used are kept: fix it and clean again"
            if warning not in result.warnings:
                result.warnings.append(warning)
    latest = _latest_keys(index)
    if not store.root.is_dir():
        return result
    for entry in sorted(store.root.iterdir()):
        if not entry.is_dir() or entry.name in keep:
            continue
        records = used_by.get(entry.name, [])
        problem = records[0]["problem"] if records else ""
        info = store.verified_info(entry.name)
        result.unused.append(Unused(
            key=entry.name, run=(info or {}).get("first_name", "?"), problem=problem,
            size_mb=size_mb(entry), why=_why(records, problem in gone, info is not None),
            latest=entry.name in latest))
    return result


def remove(store: RunStore, entries: list[Unused]) -> float:
    """Remove the entries; return the MB freed."""
    for entry in entries:
        shutil.rmtree(store.entry(entry.key), ignore_errors=True)
        Path(f"{store.entry(entry.key)}.lock").unlink(missing_ok=True)
    return sum(entry.size_mb for entry in entries)


def _current_keys(record: dict) -> set[str]:
    spec = with_profile(load_spec(record["problem"]), record["profile"])
    configs = run_plan(spec, record["seed"], record["precision"])
    configs |= decided_plan(spec, record["seed"], record["precision"],
                            record.get("decisions", {}))
    return {run_key(config, record["data"]) for config in configs.values()}


def _latest_keys(index: dict) -> set[str]:
    """The keys the most recent build of each problem used."""
    latest: dict[str, dict] = {}
    for record in index.values():
        best = latest.get(record["problem"])
        if best is None or record.get("built_at", "") > best.get("built_at", ""):
            latest[record["problem"]] = record
    return {run["key"] for record in latest.values() for run in record["runs"].values()}


def _why(records: list[dict], problem_gone: bool, complete: bool) -> str:
    if not records:
        why = "no recorded build used it"
    elif problem_gone:
        why = f"problem {records[0]['problem']} no longer exists"
    else:
        builds = ", ".join(sorted({f"{r['profile']} seed {r['seed']}" for r in records}))
        why = f"{records[0]['problem']} ({builds}) now needs another run: spec or code changed"
    return why if complete else why + "; unfinished"
