"""Content-addressed store of trained runs: `<cache>/<key>/`.

key = hash(family, its parameters without defaults, the training settings, the data set's
fingerprint, the family's code version). The code version hashes only the sources that
train the family's runs (`families.code_version`), so editing a template, a plot or
another family retrains nothing. An entry is complete when `run.json` exists and the checksums it
records match; anything else is retrained (with a warning), never loaded.
"""

import io
import json
import logging
import shutil
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from filelock import FileLock
from torch import nn

from . import families
from .data import Dataset
from .errors import ReportBuilderError
from .families.base import Params
from .files import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    sha256_bytes,
    sha256_file,
)
from .spec import canonical_json
from .train import BatchCallback, History, TrainConfig, train

log = logging.getLogger(__name__)

Progress = Literal["cached", "finished", "unfinished"]  # what RunStore.advance did


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a trained model, besides the data and the code: the
    family and its parameters, and the settings of the shared loop."""

    family: str
    epochs: int
    params: Params  # the family's
    lr: float = 1e-3
    batch_size: int = 64
    seed: int = 0
    precision: str = "fp32"

    def as_dict(self) -> dict:
        """Plain values; the parameters without their defaults, so that a family's new
        optional parameter leaves every existing key as it was."""
        values = asdict(self)
        values["params"] = self.params.model_dump(mode="json", exclude_defaults=True)
        return values

    @classmethod
    def make(cls, family: str, epochs: int, *, lr: float = 1e-3, batch_size: int = 64,
             seed: int = 0, precision: str = "fp32", **params) -> "RunConfig":
        """A config from keyword arguments: the loop's settings, the rest the family's."""
        return cls(family, epochs, families.get(family).Params(**params), lr, batch_size, seed,
                   precision)

    @classmethod
    def from_dict(cls, values: dict) -> "RunConfig":
        family = families.get(values["family"])
        return cls(**{**values, "params": family.Params.model_validate(values["params"])})


@dataclass
class Run:
    """A trained model loaded from the store, with what it measured while training."""

    name: str
    key: str
    config: RunConfig
    models: dict[str, nn.Module]
    history: dict[str, list[float]]  # loss parts per iteration
    epoch_history: dict[str, list[float]]  # what the family measured after each epoch
    info: dict  # run.json: when, how long, on what
    reused: bool
    same_as: str | None = None  # another run name with the same key, trained once for both
    snapshots: dict[int, dict] = field(default_factory=dict)  # epoch -> a kept state dict

    @property
    def model(self) -> nn.Module:
        """The network of a one-network family."""
        return self.models["model"]

    @property
    def family(self):
        return families.get(self.config.family)

    @property
    def label(self) -> str:
        """How figures and tables name the run (the family says)."""
        return self.family.label(self.config)

    @property
    def iterations_per_epoch(self) -> int:
        return len(next(iter(self.history.values()))) // self.config.epochs

    def epoch_means(self, part: str) -> list[float]:
        """A per-iteration loss part averaged over each epoch's iterations."""
        per_epoch = self.iterations_per_epoch
        values = np.asarray(self.history[part][:per_epoch * self.config.epochs])
        return values.reshape(self.config.epochs, per_epoch).mean(axis=1).tolist()


def code_version(config: RunConfig) -> str:
    return families.code_version(config.family)


def run_key(config: RunConfig, data: Dataset | str) -> str:
    """The cache key: hash of the config, the data's fingerprint and the code version."""
    fingerprint = data if isinstance(data, str) else data.fingerprint
    identity = {
        "config": config.as_dict(),
        "data": fingerprint,
        "code": code_version(config),
    }
    return sha256_bytes(canonical_json(identity).encode())[:16]


class RunStore:
    def __init__(self, root: Path):
        self.root = root

    def entry(self, key: str) -> Path:
        return self.root / key

    def is_complete(self, key: str) -> bool:
        return self.verified_info(key) is not None

    def get(self, name: str, config: RunConfig, data: Dataset, device: str, *,
            key: str | None = None, **options) -> Run:
        """Load the run if it is cached and intact, else train it to its end (resuming if it
        can); `options` are `advance`'s."""
        key = key or run_key(config, data)
        status = self.advance(name, config, data, device, key=key, **options)
        return self.load(name, key, config, device, reused=status == "cached")

    def advance(
        self,
        name: str,
        config: RunConfig,
        data: Dataset,
        device: str,
        *,
        retrain: bool = False,
        on_batch: BatchCallback | None = None,
        key: str | None = None,
        max_epochs: int | None = None,
    ) -> Progress:
        """Train the run, or with `max_epochs` at most that many more of its epochs.

        `key` lets a parent process pass the key it computed, so a worker that imported
        edited sources mid-build still files the run where the parent will look.
        An unfinished run keeps its last epoch's checkpoint, and the next call continues
        from it: the model is the same as training in one go (resume is exact).
        """
        key = key or run_key(config, data)
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock(key):
            self._drop_temporaries(key)
            if self._complete_or_cleared(key, retrain):
                return "cached"
            return self._train(name, key, config, data, device, on_batch, max_epochs)

    def _drop_temporaries(self, key: str) -> None:
        """Under the run's lock: half-written files of a worker that was stopped mid-write
        (Ctrl-C ends workers at once; files.py writes a temporary, then renames it)."""
        for temporary in self.entry(key).glob(".*.tmp"):
            temporary.unlink(missing_ok=True)

    def _lock(self, key: str) -> FileLock:
        """One run's lock: whoever trains, resumes or files it holds it."""
        return FileLock(str(self.root / f"{key}.lock"))

    def _complete_or_cleared(self, key: str, retrain: bool) -> bool:
        """Under the run's lock: True for a complete, intact entry (and no `retrain`);
        otherwise a finished entry (damaged, or to retrain) is emptied and False."""
        if retrain:
            self._discard(key)
        elif self.verified_info(key) is not None:
            return True
        elif (self.entry(key) / "run.json").exists():
            log.warning("cache entry %s is corrupt (checksum mismatch); retraining it", key)
            self._discard(key)
        return False

    # A worker without this store (a Ray node without the cache folder) trains in a
    # scratch store: `resume_bytes` is what it starts from, `files` what it sends back,
    # `receive` files that here, under the same lock and in the same order as `_commit`.

    def identity(self) -> str:
        """A random name of this store, made once: a worker that reads the same name under
        the same path shares the store (and writes in place)."""
        path = self.root / ".store-id"
        if not path.is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.root / ".store-id.lock")):
                if not path.is_file():
                    atomic_write_text(path, uuid.uuid4().hex)
        return path.read_text()

    def shares(self, identity: str) -> bool:
        try:
            return (self.root / ".store-id").read_text() == identity
        except OSError:
            return False

    def resume_bytes(self, key: str, config: RunConfig, data: Dataset,
                     retrain: bool = False) -> bytes | None:
        """The state a run continues from (its last epoch checkpoint, else a shorter run's
        final one), or None to start from scratch; `retrain` discards the entry first."""
        with self._lock(key):
            self._complete_or_cleared(key, retrain)
            checkpoint = self.entry(key) / "checkpoint.pt"
            path = checkpoint if checkpoint.is_file() else self._head_start_path(config, data)
            return path.read_bytes() if path is not None else None

    def files(self, key: str) -> dict[str, bytes]:
        entry = self.entry(key)
        return {path.name: path.read_bytes() for path in entry.iterdir() if path.is_file()}

    def receive(self, key: str, progress: Progress, files: dict[str, bytes]) -> Progress:
        """File a slice trained elsewhere: its checkpoint, or the finished entry."""
        entry = self.entry(key)
        with self._lock(key):
            if self.verified_info(key) is not None:
                return "cached"  # another build finished it meanwhile
            if progress == "unfinished":
                atomic_write_bytes(entry / "checkpoint.pt", files["checkpoint.pt"])
                return progress
            # run.json last: its presence (with matching checksums) marks the entry complete.
            for filename in sorted(files, key=lambda filename: filename == "run.json"):
                atomic_write_bytes(entry / filename, files[filename])
            (entry / "checkpoint.pt").unlink(missing_ok=True)
        if self.verified_info(key) is None:
            raise ReportBuilderError(f"run {key} came back from its worker damaged "
                                     "(checksum mismatch); build again to retrain it")
        return progress

    def _train(self, name, key, config, data, device, on_batch, max_epochs) -> Progress:
        entry = self.entry(key)
        resume = self._load_checkpoint(entry / "checkpoint.pt") or self._head_start(config, data)
        start = resume["epoch"] if resume else 0
        until = config.epochs if max_epochs is None else min(config.epochs, start + max_epochs)
        family = families.get(config.family)
        torch.manual_seed(config.seed)  # initial weights are part of what the seed fixes
        models = family.build(config.params)
        tensors = family.tensors(data, config.params)
        train_config = TrainConfig(
            epochs=config.epochs,
            stop_after=until,
            lr=config.lr,
            batch_size=config.batch_size,
            seed=config.seed,
            device=device,
            precision=config.precision,
        )

        started = time.perf_counter()
        earlier_seconds = resume.get("seconds", 0.0) if resume else 0.0

        def save_checkpoint(checkpoint: dict) -> None:
            checkpoint["seconds"] = earlier_seconds + time.perf_counter() - started
            atomic_write_bytes(entry / "checkpoint.pt", _to_bytes(checkpoint))

        history = train(family, config.params, models, tensors, train_config, data=data,
                        resume=resume, on_batch=on_batch, on_epoch_end=save_checkpoint)
        if until < config.epochs:
            return "unfinished"
        seconds = earlier_seconds + time.perf_counter() - started
        self._commit(entry, name, key, config, data, device, models, history, seconds)
        return "finished"

    def _commit(self, entry, name, key, config, data, device, models, history: History,
                seconds) -> None:
        model_bytes = _to_bytes({"config": config.as_dict(), "state_dicts": {
            name: model.state_dict() for name, model in models.items()},
            "snapshots": history.snapshots})
        history_text = json.dumps(history.as_dict())
        atomic_write_bytes(entry / "model.pt", model_bytes)
        atomic_write_bytes(entry / "history.json", history_text.encode())
        atomic_write_json(entry / "config.json", config.as_dict())
        info = {
            "key": key,
            "first_name": name,
            "config": config.as_dict(),
            "data": data.describe(),
            "code_version": code_version(config),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "train_seconds": round(seconds, 2),
            "device": device,
            "torch": torch.__version__,
            "final": {name: values[-1] for name, values in history.losses.items()},
            "sha256": {"model.pt": sha256_bytes(model_bytes),
                       "history.json": sha256_bytes(history_text.encode())},
        }
        # run.json last: its presence (with matching checksums) marks the entry complete.
        atomic_write_json(entry / "run.json", info)
        # The last epoch checkpoint stays as final.pt: a longer run of the same config can
        # continue from it instead of starting over (see _head_start).
        checkpoint = entry / "checkpoint.pt"
        if checkpoint.exists():
            checkpoint.replace(entry / "final.pt")

    def load(self, name: str, key: str, config: RunConfig, device: str,
             reused: bool = True) -> Run:
        """A complete entry's model and history (check `is_complete` first)."""
        entry = self.entry(key)
        saved = torch.load(entry / "model.pt", map_location=device, weights_only=True)
        models = families.get(config.family).build(config.params)
        for part, model in models.items():
            model.load_state_dict(saved["state_dicts"][part])
            model.to(device).eval()
        history = History.from_dict(json.loads((entry / "history.json").read_text()))
        info = json.loads((entry / "run.json").read_text())
        return Run(name, key, config, models, history.losses, history.per_epoch, info, reused,
                   snapshots=saved.get("snapshots", {}))

    def verified_info(self, key: str) -> dict | None:
        """run.json of a complete, intact entry; None for a missing or damaged one."""
        entry = self.entry(key)
        info_path = entry / "run.json"
        if not info_path.is_file():
            return None
        try:
            info = json.loads(info_path.read_text())
            intact = all(
                sha256_file(entry / filename) == digest
                for filename, digest in info["sha256"].items()
            )
        except (OSError, ValueError, KeyError, TypeError):
            intact = False
        return info if intact else None

    def cached_metrics(self, key: str, name: str, compute) -> dict:
        """Metrics of a run, computed once per `name` and kept in its entry.

        `name` must say everything the numbers depend on besides the run itself (the
        judge's key, the sample seed and count, the evaluation code's version).
        """
        path = self.entry(key) / "metrics" / f"{name}.json"
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            metrics = compute()
            atomic_write_json(path, metrics)
            return metrics

    def _head_start(self, config: RunConfig, data: Dataset) -> dict | None:
        """The final state of the longest shorter run that differs only in epochs.

        Training has no schedule that depends on the total epochs, so epochs 1..k of a
        longer run are exactly the shorter run; continuing from its final checkpoint
        (weights, optimizer, RNG) gives the same model as training from scratch.
        """
        path = self._head_start_path(config, data)
        if path is None:
            return None
        log.info("continuing from the shorter run in %s", path.parent.name)
        return self._load_checkpoint(path, discard=False)

    def _head_start_path(self, config: RunConfig, data: Dataset) -> Path | None:
        if not families.get(config.family).extends_shorter_runs:
            return None  # its schedule depends on the total epochs
        best = None
        for info_path in self.root.glob("*/run.json"):
            try:
                info = json.loads(info_path.read_text())
            except (OSError, ValueError):
                continue
            same = {**info.get("config", {}), "epochs": config.epochs} == config.as_dict()
            if (same and info["config"]["epochs"] < config.epochs
                    and info.get("code_version") == code_version(config)
                    and info.get("data", {}).get("fingerprint") == data.fingerprint
                    and (info_path.parent / "final.pt").is_file()
                    and (best is None or info["config"]["epochs"] > best[0])):
                best = (info["config"]["epochs"], info_path.parent / "final.pt")
        return None if best is None else best[1]

    def _load_checkpoint(self, path: Path, discard: bool = True) -> dict | None:
        if not path.is_file():
            return None
        try:
            checkpoint = torch.load(path, map_location="cpu", weights_only=False)
            log.info("resuming %s from epoch %d", path.parent.name, checkpoint["epoch"])
            return checkpoint
        except Exception:  # a truncated or foreign file: start over rather than crash
            log.warning("checkpoint %s is unreadable; training from scratch", path)
            if discard:
                path.unlink(missing_ok=True)
            return None

    def _discard(self, key: str) -> None:
        entry = self.entry(key)
        if not entry.exists():
            return
        for path in entry.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()


def _to_bytes(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()
