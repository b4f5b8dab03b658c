"""Every family's training step against this machine: images (a GAN: generator iterations)
per second, the ratio to a course notebook's loop, and the share of the FLOP bound.

    .venv/bin/python bench/family_speed.py            # --steps N, --turns N, --threads N
    .venv/bin/python bench/family_speed.py --split    # and where each step's time goes

- *Ours* is the shared loop itself (`train.train`, a short run of the problem's own run
  settings) in the precision a build picks here (`--precision auto`: bf16 on a CPU with
  AMX/AVX512-BF16, else fp32); a step's time is the median gap between its batches.
- *Course loop* is what a course notebook does, fp32: torchvision's MNIST dataset with
  `ToTensor` (the offline images written as IDX files), a DataLoader (shuffle), the same
  networks and losses, Adam's default implementation. The GAN's and SimSiam's are the
  loops of bench/gan_speed.py and bench/simsiam_speed.py (separate critic passes;
  per-image torchvision augmentation in two DataLoader workers); for the other families it
  is `model.loss` (the family's own step where it has one) on DataLoader batches. The two
  loops take turns, so a slow spell of a shared machine slows both alike.
- Images per second count what a step's networks see once per step (a GAN iteration:
  its n_critic real batches; SimSiam: its images, two views each), for both loops.
- *FLOP bound*: the FLOPs of one step (forward and backward of every convolution and
  matrix product, counted from the layer shapes by torch.utils.flop_counter) over the
  peak this machine reaches on a large matrix product in the step's precision, on the same
  threads. The share is that bound over the measured step: 100% would be a step that is
  nothing but GEMM at peak.
- *Where the time goes* (`--split`): one short run of the shared loop under torch.profiler,
  each op's own time put in the phase it ran in: data (the loop outside the family's step:
  gathering each batch, and the run's set-up spread over the profiled steps), augment (a
  family's range named "augment"), forward (the rest of the step: ddpm's weight average
  too, 0.2 ms), backward (the autograd engine's), optimizer (`Optimizer.*`: its step and
  zero_grad). The profiler adds a few microseconds to every op, so the phases are given as
  the profile's shares of the unprofiled step. *Kernels*: the profiled seconds a step
  spends in convolution and matrix-product kernels (large ops, which the profiler barely
  slows) as a share of the unprofiled step; *kernel rate*: the step's FLOPs over that time,
  as a share of the GEMM peak. A step whose kernels are most of its time but far from peak
  is bound by how well those kernels suit its small layers; one whose kernels are a small
  share is bound by everything else (norms, activations, pooling, Python).

A benchmark, not a test: it asserts nothing.
"""

import argparse
import dataclasses
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import gan_speed
import numpy as np
import simsiam_speed
import torch
from build_time import cpu_description
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import DataLoader
from torch.utils.flop_counter import flop_registry
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report_builder import families  # noqa: E402
from report_builder.data import load_mnist_5k  # noqa: E402
from report_builder.plan import run_config  # noqa: E402
from report_builder.spec import load_spec  # noqa: E402
from report_builder.train import Fit, TrainConfig, as_float, cpu_has_bf16, train  # noqa: E402

# One run of each family, as its problem trains it: (label, problem, run).
RUNS = [("conv_ae", "problem1", "ae"), ("conv_vae", "problem1", "vae_beta0"),
        ("mlp_vae", "hw4", "latent_2"), ("bernoulli_vae", "vae-likelihood", "vae"),
        ("mlp_ae", "beta-vae", "ae_16"), ("beta_vae", "beta-vae", "warmup"),
        ("gan vanilla", "gan", "vanilla"), ("gan wgan-gp", "gan", "wgan_gp"),
        ("simsiam", "simsiam", "simsiam"), ("ddpm", "ddpm", "linear"),
        ("classifier", "problem1", None)]


def config_of(problem: str, run: str | None, precision: str):
    spec = load_spec(problem)
    return run_config(spec.runs[run] if run else spec.classifier, 0, precision)


def our_steps(config, data, steps: int):
    """Yields (seconds, images) of each step of the shared loop, in the build's precision."""
    family, models, short, train_config = _short_run(config, data, steps)
    stamps: list[float] = []
    while True:
        stamps.clear()
        train(family, config.params, models, short, train_config, data=data,
              on_batch=lambda *_: stamps.append(time.perf_counter()))
        per_step = config.batch_size * _images_per_step(family, config)
        yield from ((seconds, per_step) for seconds in np.diff(stamps))


def _short_run(config, data, steps: int, family=None):
    """The family (or a stand-in for it), its fresh networks, enough training images for
    `steps` steps, and the run's training settings for one epoch."""
    family = family or families.get(config.family)
    torch.manual_seed(0)
    models = family.build(config.params)
    n = config.batch_size * _images_per_step(family, config) * (steps + 1)
    short = [t[:n] for t in family.tensors(data, config.params)]
    return family, models, short, TrainConfig(1, config.lr, config.batch_size, 0,
                                              precision=config.precision)


def step_split(config, data, steps: int) -> tuple[dict[str, float], float]:
    """Each phase's share of a step, and the seconds a step spends in convolution and matmul
    kernels, from one profiled short run of the shared loop (its epoch end left out)."""
    family = families.get(config.family)
    ranged = dataclasses.replace(family, step=_in_range("step", family.step),
                                 epoch_end=family.epoch_end and _in_range("epoch end",
                                                                          family.epoch_end))
    _, models, short, train_config = _short_run(config, data, steps, ranged)
    train(ranged, config.params, models, short, train_config, data=data)  # warm-up
    done = []
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        train(ranged, config.params, models, short, train_config, data=data,
              on_batch=lambda *_: done.append(1))
    phases, kernels = split(profiled.events())
    total = sum(phases.values())
    return {phase: seconds / total for phase, seconds in phases.items()}, kernels / len(done)


PHASES = ("data", "augment", "forward", "backward", "optimizer")
KERNELS = re.compile(r"aten::(_?convolution|mkldnn_convolution|convolution_backward|"
                     r"_slow_conv2d_forward|_slow_conv2d_backward|slow_conv_transpose2d|"
                     r"addmm|mm|bmm|baddbmm|_addmm_activation|linear)$")


def split(events) -> tuple[dict[str, float], float]:
    """Seconds of each phase (see the module's doc) and of the kernels among them: each op's
    own time, by the ranges around it."""
    own_seconds, kernels = dict.fromkeys(PHASES, 0.0), 0.0
    for event in events:
        phase = phase_of(_ranges(event))
        if phase is None:
            continue
        own_seconds[phase] += event.self_cpu_time_total / 1e6
        if KERNELS.match(event.name):
            kernels += event.self_cpu_time_total / 1e6
    return own_seconds, kernels


def _ranges(event) -> list[str]:
    names = []
    while event is not None:
        names.append(event.name)
        event = event.cpu_parent
    return names


def phase_of(ranges: list[str]) -> str | None:
    """The phase of an op, from its own name and its enclosing ranges' (innermost first)."""
    if "epoch end" in ranges:
        return None
    if "augment" in ranges:
        return "augment"
    if any(name.startswith("Optimizer.") for name in ranges):
        return "optimizer"
    if any(name.startswith("autograd::engine") for name in ranges):
        return "backward"
    return "forward" if "step" in ranges else "data"


def _in_range(name: str, function):
    def traced(*args, **kwargs):
        with record_function(name):
            return function(*args, **kwargs)
    return traced


def _images_per_step(family, config) -> int:
    """Images one step draws: a GAN's generator iteration takes n_critic batches."""
    return getattr(config.params, "n_critic", 1) if family.batches else 1


def flops_per_step(config, data) -> float:
    family = families.get(config.family)
    torch.manual_seed(0)
    models = family.build(config.params)
    for model in models.values():
        model.train()
    optimizers = family.optimizers(models, config.params, config.lr)
    n = config.batch_size * _images_per_step(family, config)
    batch = [t[:n] for t in family.tensors(data, config.params)]
    fit = Fit(torch.autocast("cpu", enabled=False))
    with CountFlops() as counter:
        family.step(models, optimizers, batch, config.params, fit)
    return counter.total


class CountFlops(TorchDispatchMode):
    """FLOPs of the convolutions and matrix products run, by torch.utils.flop_counter's
    formulas (its FlopCounterMode tracks modules with hooks that WGAN-GP's double backward
    through autograd.grad does not allow)."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def gemm_peak(precision: str, size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a large matrix product in this precision: the machine's reachable peak."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
    a @ b
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return repeats * 2 * size ** 3 / (time.perf_counter() - started)


def course_steps(config, root: Path):
    """Yields (seconds, images) of each step of a course notebook's loop (fp32)."""
    if config.family == "gan":
        loop = gan_speed.plain_loop(config.params.loss, root)
        per_step = gan_speed.BATCH * config.params.n_critic
    elif config.family == "simsiam":
        loop = simsiam_speed.plain_loop(torch.load(root / "images.pt"))
        per_step = simsiam_speed.BATCH
    else:
        loop, per_step = _plain_loop(config, root), config.batch_size
    while True:
        started = time.perf_counter()
        next(loop)
        yield time.perf_counter() - started, per_step


def _plain_loop(config, root: Path):
    family = families.get(config.family)
    torch.manual_seed(0)
    models = family.build(config.params)
    for model in models.values():
        model.train()
    optimizers = {name: torch.optim.Adam(model.parameters(), lr=config.lr)
                  for name, model in models.items()}
    dataset = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True, drop_last=True)
    fit = Fit(torch.autocast("cpu", enabled=False))
    while True:
        for images, labels in loader:
            batch = [images, labels] if config.family == "classifier" else [images]
            family.step(models, optimizers, batch, config.params, fit)
            yield


def in_turns(loops: dict, steps: int, turns: int) -> dict[str, tuple[float, float]]:
    """Each loop's median seconds per step and images per second, the loops taking turns
    of `steps` steps."""
    timed = {name: [] for name in loops}
    for loop in loops.values():
        next(loop)  # warm-up: workers, first allocations
    for _ in range(turns):
        for name, loop in loops.items():
            timed[name] += [next(loop) for _ in range(steps)]
    return {name: (statistics.median(seconds for seconds, _ in values),
                   sum(images for _, images in values) / sum(seconds for seconds, _ in values))
            for name, values in timed.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=8, help="steps per turn")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--families", nargs="*", help="labels of RUNS to time (default: all)")
    parser.add_argument("--split", action="store_true",
                        help="also profile where each step's time goes")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    precision = "bf16" if cpu_has_bf16() else "fp32"
    data = load_mnist_5k()
    peak = {name: gemm_peak(name) for name in dict.fromkeys(["fp32", precision])}
    print(f"CPU: {cpu_description()}, {args.threads} threads, torch {torch.__version__}; "
          f"our steps in {precision} (what --precision auto picks here), the course loop's "
          f"in fp32; GEMM peak here: "
          + ", ".join(f"{name} {value / 1e9:.0f} GFLOP/s" for name, value in peak.items()))
    print(f"{'family':14s} {'images/step':>11s} {'GFLOP/step':>10s} {'ours ms':>8s} "
          f"{'images/s':>8s} {'course':>8s} {'x course':>8s} {'bound ms':>8s} {'of bound':>8s}")
    splits = []
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        gan_speed.write_idx(root, data.train_images.numpy(), data.train_labels.numpy())
        torch.save(as_float(data.train_images), root / "images.pt")
        for label, problem, run in RUNS:
            if args.families and label not in args.families:
                continue
            config = config_of(problem, run, precision)
            family = families.get(config.family)
            per_step = config.batch_size * _images_per_step(family, config)
            flops = flops_per_step(config, data)
            timed = in_turns({"ours": our_steps(config, data, args.steps),
                              "course": course_steps(config, root)}, args.steps, args.turns)
            (ours, rate), (_, course) = timed["ours"], timed["course"]
            bound = flops / peak[precision]
            print(f"{label:14s} {per_step:11d} {flops / 1e9:10.2f} {1000 * ours:8.1f} "
                  f"{rate:8.0f} {course:8.0f} {rate / course:8.2f} {1000 * bound:8.1f} "
                  f"{100 * bound / ours:7.0f}%")
            if args.split:
                splits.append((label, ours, bound,
                               *step_split(config, data, args.steps)))
    if splits:
        print_splits(splits)


def print_splits(splits) -> None:
    print("\nWhere a step's time goes (ms of the unprofiled step, by the profile's shares):")
    print(f"{'family':14s} {'step ms':>7s} " + " ".join(f"{p:>9s}" for p in PHASES)
          + f" {'kernels':>8s} {'kernel rate':>11s}")
    for label, step, bound, phases, kernels in splits:
        print(f"{label:14s} {1000 * step:7.1f} "
              + " ".join(f"{1000 * step * phases[p]:9.1f}" for p in PHASES)
              + f" {100 * kernels / step:7.0f}% {100 * bound / kernels:10.0f}%")


if __name__ == "__main__":
    main()
