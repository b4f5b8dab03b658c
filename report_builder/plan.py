"""Which runs a build needs, whether they are cached, and why not.

`run_plan` turns a spec into run configs without training anything. Some runs are decided
only after others are trained and measured (a search's tuned run); the analysis that
decides them (its `Planner`) records its decision, and the plan takes those runs from the
last build of the same problem, profile, data and seed, recorded in `<cache>/index.json`.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from . import analyses
from .data import Dataset
from .files import atomic_write_json
from .runs import RunConfig, RunStore, code_version, run_key
from .spec import RunSpec, Spec


def run_config(run: RunSpec, seed: int, precision: str) -> RunConfig:
    return RunConfig(family=run.family, epochs=run.epochs, params=run.params, lr=run.lr,
                     batch_size=run.batch_size, seed=seed, precision=precision)


def planners(spec: Spec) -> list[tuple[str, object, object]]:
    """(name, section, planner) of each analysis of the spec that trains runs of its own."""
    found = [(name, section, analyses.get(name).planner)
             for name, section in spec.analyses.items()]
    return [(name, section, planner) for name, section, planner in found if planner]


def run_plan(spec: Spec, seed: int, precision: str) -> dict[str, RunConfig]:
    """The runs known before anything is decided: the judge, the planners' first runs, the
    fixed runs, in that order."""
    plan = {}
    if spec.classifier:
        plan["classifier"] = run_config(spec.classifier, seed, precision)
    for _, section, planner in planners(spec):
        plan |= planner.first(section, spec, seed, precision)
    return plan | {name: run_config(run, seed, precision) for name, run in spec.runs.items()}


def run_names(spec: Spec) -> list[str]:
    """Every name `--retrain` takes: the judge, the fixed runs, and the planners' runs."""
    names = ["classifier"] if spec.classifier else []
    return names + [*spec.runs, *(name for _, section, planner in planners(spec)
                                  for name in planner.names(section))]


def decided_plan(spec: Spec, seed: int, precision: str,
                 decisions: dict[str, dict]) -> dict[str, RunConfig]:
    """The runs that recorded decisions added (none for an analysis without one)."""
    return {name: config for analysis, section, planner in planners(spec)
            if analysis in decisions
            for name, config in planner.replay(section, spec, seed, precision,
                                               decisions[analysis]).items()}


def build_id(spec: Spec, profile: str, data: Dataset, seed: int, precision: str) -> str:
    return f"{spec.problem}/{profile}/{data.name}-{data.fingerprint}/seed{seed}/{precision}"


def read_index(store: RunStore) -> dict:
    path = store.root / "index.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def record_started(store: RunStore, spec: Spec, profile: str, data: Dataset, seed: int,
                   precision: str, configs: dict[str, RunConfig]) -> None:
    """Before training: the runs this build will train are in use from now on, so that
    `clean` after an interrupted build keeps what it trained. The decisions of the last
    finished build stay until this one makes its own."""
    def started(record: dict | None) -> dict:
        record = record or {"decisions": {}, "runs": {}}
        return record | _build_fields(spec, profile, data, seed, precision) | {
            "runs": record["runs"] | _runs(configs, {name: run_key(config, data)
                                                     for name, config in configs.items()})}

    _update_index(store, build_id(spec, profile, data, seed, precision), started)


def record_build(store: RunStore, spec: Spec, profile: str, data: Dataset, seed: int,
                 precision: str, configs: dict[str, RunConfig], keys: dict[str, str],
                 decisions: dict[str, dict]) -> None:
    """Remember which key each run name had in this build, and what its analyses decided
    (for --dry-run, the next plan and clean)."""
    finished = _build_fields(spec, profile, data, seed, precision) | {
        "decisions": decisions, "runs": _runs(configs, keys)}
    _update_index(store, build_id(spec, profile, data, seed, precision), lambda _: finished)


def _build_fields(spec: Spec, profile: str, data: Dataset, seed: int, precision: str) -> dict:
    return {"problem": spec.problem, "profile": profile, "data": data.fingerprint,
            "seed": seed, "precision": precision,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _runs(configs: dict[str, RunConfig], keys: dict[str, str]) -> dict:
    return {name: {"key": keys[name], "config": configs[name].as_dict(),
                   "code": code_version(configs[name])} for name in configs}


def _update_index(store: RunStore, build: str, change) -> None:
    store.root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(store.root / "index.json.lock")):
        index = read_index(store)
        index[build] = change(index.get(build))
        atomic_write_json(store.root / "index.json", index)


@dataclass(frozen=True)
class PlannedRun:
    name: str
    key: str
    cached: bool
    reason: str  # why it would train, or "" when cached
    info: dict | None  # run.json of a cached entry
    size_mb: float
    config: RunConfig | None = None  # for a run decided later, one like it


def why_stale(name: str, config: RunConfig, last: dict | None) -> str:
    if last is None or name not in last["runs"]:
        return "never built"
    before = last["runs"][name]
    if "family" not in before["config"]:
        return "built by an earlier version of report-builder"
    was, now = _settings(before["config"]), _settings(config.as_dict())
    changed = [f"{field} {was.get(field, 'default')} → {value}"
               for field, value in now.items() if was.get(field) != value]
    changed += [f"{field} {value} → default" for field, value in was.items() if field not in now]
    if changed:
        return "changed: " + ", ".join(changed)
    if before["code"] != code_version(config):
        return f"training code of {config.family} changed"
    return "cache entry missing or corrupt"


def _settings(config: dict) -> dict:
    """A config's loop settings and family parameters side by side."""
    return {**{k: v for k, v in config.items() if k != "params"}, **config["params"]}


def planned_runs(spec: Spec, store: RunStore, data: Dataset, profile: str, seed: int,
                 precision: str, retrain: tuple[str, ...] = ()) -> list[PlannedRun]:
    last = read_index(store).get(build_id(spec, profile, data, seed, precision))
    configs = run_plan(spec, seed, precision)
    decisions = (last or {}).get("decisions", {})
    configs |= decided_plan(spec, seed, precision, decisions)
    rows, first_name = [], {}
    for name, config in configs.items():
        key = run_key(config, data)
        info = store.verified_info(key)
        forced = "all" in retrain or name in retrain
        reason = "--retrain" if forced else ("" if info else why_stale(name, config, last))
        if first_name.setdefault(key, name) != name:  # the build trains it once, for both
            reason = f"same run as {first_name[key]}" + (f"; {reason}" if reason else "")
        rows.append(PlannedRun(name, key, info is not None and not forced, reason, info,
                               size_mb(store.entry(key)), config))
    return rows + _undecided(spec, seed, precision, decisions)


def _undecided(spec: Spec, seed: int, precision: str,
               decisions: dict[str, dict]) -> list[PlannedRun]:
    """The runs that analyses not yet decided will add, with configs like theirs: what an
    estimate of the build's time needs."""
    return [PlannedRun(name, "?", False, why, None, 0.0, config)
            for analysis, section, planner in planners(spec) if analysis not in decisions
            for name, why, config in planner.expected(section, spec, seed, precision)]


def size_mb(folder: Path) -> float:
    if not folder.is_dir():
        return 0.0
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 2**20
