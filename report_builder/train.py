"""The loop every family shares: batches by permuted indices from in-memory tensors,
precision, device, history, an epoch checkpoint and exact resume.

What a step does is the family's (`report_builder.families`): the loop hands it a batch
and a `Fit`, and records the named loss parts it returns. No file I/O here: after each
epoch the loop hands a plain checkpoint dict to `on_epoch_end`, and the run store decides
where it goes. Resuming from such a dict gives the same final model as an uninterrupted
run (same seed, same device).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .errors import ReportBuilderError

Checkpoint = dict  # {"epoch", "models", "optimizers", "rng", "history", "snapshots"}
BatchCallback = Callable[[int, int, dict[str, float]], None]  # (epoch, step, losses)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int  # of the whole run: what a schedule over the run reads
    lr: float
    batch_size: int
    seed: int
    device: str = "cpu"
    precision: str = "fp32"  # "fp32" or "bf16" (autocast; losses stay fp32)
    stop_after: int | None = None  # train only up to this epoch (a slice of the run)


@dataclass
class History:
    """Losses by name, per iteration ({"loss": [...], "recon": [...]}), and what the family
    measured at the end of each epoch ({"val_elbo": [...]})."""

    losses: dict[str, list[float]] = field(default_factory=dict)
    per_epoch: dict[str, list[float]] = field(default_factory=dict)
    # State dicts of the network a family keeps copies of, by epoch (0: before training).
    snapshots: dict[int, dict[str, torch.Tensor]] = field(default_factory=dict)

    def append(self, parts: dict[str, float]) -> None:
        _append(self.losses, parts)

    def append_epoch(self, values: dict[str, float]) -> None:
        _append(self.per_epoch, values)

    def as_dict(self) -> dict:
        return {"iterations": self.losses, "epochs": self.per_epoch}

    @classmethod
    def from_dict(cls, saved: dict) -> "History":
        return cls({k: list(v) for k, v in saved["iterations"].items()},
                   {k: list(v) for k, v in saved["epochs"].items()})


def _append(series: dict[str, list[float]], values: dict[str, float]) -> None:
    for name, value in values.items():
        series.setdefault(name, []).append(value)


@dataclass(frozen=True)
class Fit:
    """What a family's `step` gets from the loop: the precision forward passes run in, how
    far training is (in epochs, fractional: 2.5 is halfway through the third epoch, what a
    schedule reads), and how an optimizer takes a step on a loss."""

    autocast: torch.autocast
    epoch: float = 0.0
    epochs: int = 1  # of the whole run: what a schedule over the run (cosine) needs

    def minimize(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def as_float(images: torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """uint8 [N, 28, 28] -> float [N, 1, 28, 28] in [0, 1], as torchvision's ToTensor gives."""
    return images.to(device).unsqueeze(1).float().div_(255)


def resolve_device(requested: str) -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ReportBuilderError("--device cuda was asked for but no CUDA GPU is visible")
    return requested


def cpu_has_bf16() -> bool:
    """AMX or AVX512-BF16 make bf16 convolutions fast on a CPU; without them it is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


def resolve_precision(requested: str, device: str) -> str:
    if requested != "auto":
        return requested
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if cpu_has_bf16() else "fp32"


def batches(n: int, batch_size: int, device: str) -> list[torch.Tensor]:
    """One epoch: a permutation of the n training items in batches."""
    # A final batch of one would break BatchNorm in training mode, so it is dropped.
    order = torch.randperm(n).to(device)
    return [chunk for chunk in order.split(batch_size) if len(chunk) > 1]


def train(
    family,
    params,
    models: dict[str, nn.Module],
    tensors: list[torch.Tensor],
    config: TrainConfig,
    *,
    data=None,
    resume: Checkpoint | None = None,
    on_batch: BatchCallback | None = None,
    on_epoch_end: Callable[[Checkpoint], None] | None = None,
) -> History:
    """Train a family's `models` on `tensors` (images, and labels for a classifier).

    `family` is a `families.base.Family`. Each batch goes to its `step`, which returns
    named loss parts; after each epoch, its `epoch_end` (if it has one) may measure
    something on `data`, kept per epoch. A family may draw its own epoch of batches
    (`batches`), and may ask for copies of one network after chosen epochs (`snapshots`):
    they go into every checkpoint, so a resumed run has all of them.
    """
    device = torch.device(config.device)
    # oneDNN's bf16 convolutions want channels-last; a family whose fp32 convolutions are
    # faster in it too, or whose network is slower in it, says so.
    channels_last = device.type == "cpu" and (config.precision == "bf16"
                                              if family.channels_last is None
                                              else family.channels_last)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for model in models.values():
        model.to(device=device, memory_format=memory_format).train()
    tensors = [t.to(device) for t in tensors]
    optimizers = family.optimizers(models, params, config.lr)
    history, first_epoch = History(), 0
    torch.manual_seed(config.seed)
    if resume is not None:
        for name, model in models.items():
            model.load_state_dict(resume["models"][name])
        for name, optimizer in optimizers.items():
            optimizer.load_state_dict(resume["optimizers"][name])
        history = History.from_dict(resume["history"])
        first_epoch = resume["epoch"]
        _set_rng_state(resume["rng"])
    kept, kept_epochs = (family.snapshots(params, config.epochs) if family.snapshots
                         else (None, []))
    history.snapshots = {epoch: state for epoch, state in (resume or {}).get(
        "snapshots", {}).items() if epoch in kept_epochs}

    def snapshot(epoch: int) -> None:
        if epoch in kept_epochs:
            history.snapshots[epoch] = {name: value.detach().to("cpu", copy=True) for
                                        name, value in models[kept].state_dict().items()}

    autocast = torch.autocast(device.type, dtype=torch.bfloat16,
                              enabled=config.precision == "bf16")
    if first_epoch == 0:
        snapshot(0)
    for epoch in range(first_epoch, config.stop_after or config.epochs):
        for model in models.values():
            model.train()
        order = (family.batches(len(tensors[0]), config.batch_size, params, device)
                 if family.batches else batches(len(tensors[0]), config.batch_size, device))
        for step, index in enumerate(order):
            batch = [t[index] for t in tensors]
            if channels_last and batch[0].dim() == 4:
                batch[0] = batch[0].contiguous(memory_format=torch.channels_last)
            fit = Fit(autocast, epoch + step / len(order), config.epochs)
            parts = family.step(models, optimizers, batch, params, fit)
            values = {name: value.item() for name, value in parts.items()}
            history.append(values)
            if on_batch is not None:
                on_batch(epoch, step, values)
        if family.epoch_end is not None:
            history.append_epoch(family.epoch_end(models, params, data,
                                                  Fit(autocast, epoch + 1, config.epochs)))
        snapshot(epoch + 1)
        if on_epoch_end is not None:
            on_epoch_end(
                {
                    "epoch": epoch + 1,
                    "models": {name: model.state_dict() for name, model in models.items()},
                    "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
                    "rng": _rng_state(),
                    "history": history.as_dict(),
                    "snapshots": history.snapshots,
                }
            )
    for model in models.values():
        model.to(memory_format=torch.contiguous_format).eval()
    return history


def _rng_state() -> dict:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
