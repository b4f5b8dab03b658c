"""Training speed of a GAN generator iteration: a plain PyTorch loop against report-builder's.

    .venv/bin/python bench/gan_speed.py          # --turns N, --iterations N, --threads N

Both loops train the same networks (report_builder.families.gan.networks, batch 64,
fp32) with the same losses. The plain loop is what a course notebook does: torchvision's
`datasets.MNIST` (here the offline default's 4,000 training digits written as IDX files)
with `ToTensor`, a DataLoader (shuffle, default workers), separate discriminator passes
over real, fake and (WGAN-GP) interpolated images, the PyTorch DCGAN example's reuse of the
fakes for the generator step (vanilla, LSGAN) or a fresh generator pass (WGAN-GP, as in
Gulrajani et al.'s code), and Adam's default implementation. report-builder's step is the
family's: in-memory batches, fused Adam, one critic pass over real and fake together (no
batch norm in the critic), the penalty's gradients over x̂ alone, the last critic step's
fakes reused, no gradient for the discriminator's weights in the generator's step, and
channels-last tensors (oneDNN's faster layout for these convolutions, also in fp32).

The loops take turns of --iterations generator iterations, so a slow spell of a shared
machine slows both alike; the ratios come from one run. Then where our step's time goes.
A benchmark, not a test: it asserts nothing.
"""

import argparse
import contextlib
import gzip
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from build_time import cpu_description
from torch.nn import functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report_builder.data import load_mnist_5k  # noqa: E402
from report_builder.families import gan  # noqa: E402
from report_builder.train import Fit, as_float, cpu_has_bf16  # noqa: E402

BATCH, LR = 64, 2e-4
LOSSES = {"vanilla": {}, "lsgan": {}, "wgan-gp": {"n_critic": 5, "betas": (0.0, 0.9)}}


def write_idx(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """The four files torchvision's MNIST reads from MNIST/raw (the test split is empty)."""
    raw = folder / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for split, x, y in (("train", images, labels), ("t10k", images[:0], labels[:0])):
        header = np.array([2051, len(x), 28, 28], dtype=">i4").tobytes()
        (raw / f"{split}-images-idx3-ubyte").write_bytes(header + x.astype(np.uint8).tobytes())
        header = np.array([2049, len(y)], dtype=">i4").tobytes()
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(header + y.astype(np.uint8).tobytes())
    for path in raw.iterdir():  # torchvision also accepts the .gz the course downloads
        path.with_suffix(path.suffix + ".gz").write_bytes(gzip.compress(path.read_bytes()))


def fresh(loss: str):
    params = gan.Params(loss=loss, **LOSSES[loss])
    torch.manual_seed(0)
    models = gan.build(params)
    return params, models


def plain_loop(loss: str, root: Path):
    """Yields after each generator iteration, as a course notebook's loop would."""
    params, models = fresh(loss)
    generator, critic = models["generator"].train(), models["discriminator"].train()
    opt_g = torch.optim.Adam(generator.parameters(), lr=LR, betas=params.betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=LR, betas=params.betas)
    dataset = datasets.MNIST(root, train=True, download=False, transform=transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, drop_last=True)
    batches = (real for _ in iter(int, 1) for real, _ in loader)
    while True:
        for _ in range(params.n_critic):
            real = next(batches)
            fake = generator(torch.randn(BATCH, params.nz))
            if loss == "wgan-gp":
                eps = torch.rand(BATCH, 1, 1, 1)
                between = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
                grad, = torch.autograd.grad(critic(between), between,
                                            torch.ones(BATCH), create_graph=True)
                penalty = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
                d_loss = (critic(fake.detach()).mean() - critic(real).mean()
                          + params.gp_weight * penalty)
            elif loss == "vanilla":
                d_loss = (F.binary_cross_entropy_with_logits(critic(real), torch.ones(BATCH))
                          + F.binary_cross_entropy_with_logits(critic(fake.detach()),
                                                               torch.zeros(BATCH)))
            else:
                d_loss = (0.5 * ((critic(real) - 1) ** 2).mean()
                          + 0.5 * (critic(fake.detach()) ** 2).mean())
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
        if loss == "wgan-gp":
            g_loss = -critic(generator(torch.randn(BATCH, params.nz))).mean()
        else:
            score = critic(fake)
            g_loss = (F.binary_cross_entropy_with_logits(score, torch.ones(BATCH))
                      if loss == "vanilla" else 0.5 * ((score - 1) ** 2).mean())
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        yield


def our_loop(loss: str, images: torch.Tensor, timings: list[float]):
    """Yields after each generator iteration: the family's step on in-memory batches."""
    params, models = fresh(loss)
    for model in models.values():  # as the loop trains them (the gan family's channels_last)
        model.train().to(memory_format=torch.channels_last)
    images = images.contiguous(memory_format=torch.channels_last)
    optimizers = gan.optimizers(models, params, LR)
    fit = Fit(torch.autocast("cpu", enabled=False))
    while True:
        for index in gan.batches(len(images), BATCH, params, "cpu"):
            started = time.perf_counter()
            gan.step(models, optimizers, [images[index]], params, fit)
            timings.append(time.perf_counter() - started)
            yield


@contextlib.contextmanager
def native_output_silenced():
    """The profiler's C++ side prints its own lines (USDT start/stop, a failed GPU count) to
    the process's stdout and stderr; a benchmark's output is its figures."""
    sys.stdout.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)


def where_time_goes(loss: str, images: torch.Tensor, repeats: int = 5) -> str:
    """Our step's time by operator kind (torch.profiler, self CPU time)."""
    from torch.profiler import ProfilerActivity, profile

    params, models = fresh(loss)
    for model in models.values():
        model.train().to(memory_format=torch.channels_last)
    optimizers = gan.optimizers(models, params, LR)
    fit = Fit(torch.autocast("cpu", enabled=False))
    batch = [images[:BATCH * params.n_critic].contiguous(memory_format=torch.channels_last)]
    gan.step(models, optimizers, batch, params, fit)
    with native_output_silenced(), profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(repeats):
            gan.step(models, optimizers, batch, params, fit)
    groups = {"convolutions (forward)": ("mkldnn_convolution", "_convolution"),
              "convolutions (backward)": ("convolution_backward",),
              "batch norm": ("native_batch_norm", "native_batch_norm_backward"),
              "matrix products": ("mm", "addmm"),
              "activations": ("leaky_relu", "leaky_relu_", "leaky_relu_backward", "relu_",
                              "threshold_backward", "sigmoid", "sigmoid_backward"),
              "memory copies": ("copy_", "clone", "contiguous"),
              "Adam": ("_fused_adam_",)}
    spent = dict.fromkeys(groups, 0.0)
    total = 0.0
    for event in profiler.key_averages():
        total += event.self_cpu_time_total
        for group, names in groups.items():
            if any(event.key == f"aten::{name}" for name in names):
                spent[group] += event.self_cpu_time_total
    shares = ", ".join(f"{group} {100 * value / total:.0f}%" for group, value in spent.items())
    return f"{shares}, other {100 * (1 - sum(spent.values()) / total):.0f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_mnist_5k()
    images = as_float(data.train_images)
    kind = "AMX/AVX512-BF16" if cpu_has_bf16() else "no bf16 units (fp32 only)"
    print(f"CPU: {cpu_description()}, {kind}, {args.threads} threads, "
          f"torch {torch.__version__}; batch {BATCH}, fp32; median of {args.turns} turns of "
          f"{args.iterations} generator iterations")
    with tempfile.TemporaryDirectory() as root:
        write_idx(Path(root), data.train_images.numpy(), data.train_labels.numpy())
        for loss in LOSSES:
            timings: list[float] = []
            loops = {"plain": plain_loop(loss, Path(root)),
                     "report-builder": our_loop(loss, images, timings)}
            rates = {name: [] for name in loops}
            for loop in loops.values():  # warm-up: first allocations
                next(loop)
            for _ in range(args.turns):
                for name, loop in loops.items():
                    started = time.perf_counter()
                    for _ in range(args.iterations):
                        next(loop)
                    rates[name].append(args.iterations / (time.perf_counter() - started))
            plain, ours = (statistics.median(rates[name]) for name in loops)
            print(f"{loss:8s} plain {1000 / plain:6.0f} ms/iteration   report-builder "
                  f"{1000 / ours:6.0f} ms/iteration   x{ours / plain:.2f}")
            print(f"         our step: {where_time_goes(loss, images)}")


if __name__ == "__main__":
    main()
