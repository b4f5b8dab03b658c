"""Training speed of a SimSiam step: a plain PyTorch loop against report-builder's.

    .venv/bin/python bench/simsiam_speed.py          # --turns N, --batches N, --threads N

Both loops train the same network (report_builder.families.simsiam.network, batch 256, SGD 0.05,
fp32) on the offline default's training images. The plain loop is what a course notebook
does: a Dataset whose __getitem__ applies torchvision v2 transforms to one image at a time
(two views), batched by a DataLoader with 2 worker processes. report-builder's keeps the
images in memory as one tensor and draws both views for a whole batch at once with kornia
(per-image parameters). The loops take turns of --batches batches, so a slow spell of a
shared machine slows both alike; the ratio comes from one run. Also prints where our step's
time goes. A benchmark, not a test: it asserts nothing.
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report_builder.data import load_mnist_5k  # noqa: E402
from report_builder.families import simsiam  # noqa: E402
from report_builder.train import Fit, as_float  # noqa: E402

BATCH, LR = 256, 0.05


class TwoViews(Dataset):
    """Per-item augmentation, as torchvision's pipeline does it."""

    def __init__(self, images: torch.Tensor):
        self.images = images
        self.augment = v2.Compose([
            v2.RandomResizedCrop(28, scale=(0.5, 1.0), ratio=(0.8, 1.25), antialias=True),
            v2.RandomAffine(degrees=15, translate=(0.1, 0.1)),
            v2.RandomApply([v2.GaussianNoise(sigma=0.1)], p=0.5),
        ])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        image = self.images[index]
        return self.augment(image).clamp(0, 1), self.augment(image).clamp(0, 1)


def fresh():
    params = simsiam.Params()
    torch.manual_seed(0)
    models = simsiam.build(params)
    return params, models, simsiam.optimizers(models, params, LR)


def plain_loop(images: torch.Tensor):
    """Yields after each step: DataLoader batches, the network's loss, one SGD step."""
    _, models, optimizers = fresh()
    net, optimizer = models["model"].train(), optimizers["model"]
    loader = DataLoader(TwoViews(images), batch_size=BATCH, shuffle=True, num_workers=2,
                        drop_last=True, persistent_workers=True)
    while True:
        for x1, x2 in loader:
            loss = net.loss(x1, x2)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            yield


def our_loop(images: torch.Tensor, timings: dict):
    """Yields after each step: the family's own step on in-memory batches."""
    params, models, optimizers = fresh()
    models["model"].train()
    fit = Fit(torch.autocast("cpu", enabled=False), 0.0, 30)
    while True:
        order = torch.randperm(len(images))
        for index in order.split(BATCH)[:-1]:
            batch = images[index]
            started = time.perf_counter()
            simsiam.step(models, optimizers, [batch], params, fit)
            timings.setdefault("whole step", []).append(time.perf_counter() - started)
            yield


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=4)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = as_float(load_mnist_5k().train_images)
    timings: dict[str, list[float]] = {}
    loops = {"plain: DataLoader, per-item torchvision v2, 2 workers": plain_loop(images),
             "report-builder: in-memory tensors, kornia per-batch": our_loop(images, timings)}
    rates = {name: [] for name in loops}
    for loop in loops.values():  # warm-up: worker start, first allocations
        next(loop)
    for _ in range(args.turns):
        for name, loop in loops.items():
            started = time.perf_counter()
            for _ in range(args.batches):
                next(loop)
            rates[name].append(args.batches * BATCH / (time.perf_counter() - started))
    print(f"CPU: {platform.processor() or platform.machine()}, {args.threads} threads, "
          f"torch {torch.__version__}; batch {BATCH}, two views; median of {args.turns} turns "
          f"of {args.batches} batches")
    plain = statistics.median(next(iter(rates.values())))
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"{name:58s} {rate:7.0f} images/s  x{rate / plain:.2f}")
    step = statistics.median(timings["whole step"])
    params, batch = simsiam.Params(), images[:BATCH]
    augment = statistics.median(_seconds(lambda: simsiam.views(batch, params))
                                for _ in range(10))
    print(f"our step: {1000 * step:.0f} ms, of which augmenting both views {1000 * augment:.0f} ms"
          f" ({100 * augment / step:.0f}%); the rest is the network's forward and backward")
    data = load_mnist_5k()
    _, models, _ = fresh()
    fp32 = Fit(torch.autocast("cpu", enabled=False), 1.0, 30)  # as the loop above
    knn = statistics.median(_seconds(lambda: simsiam.epoch_end(models, params, data, fp32))
                            for _ in range(3))
    epoch = step * (len(data.train_labels) // BATCH)
    print(f"kNN after an epoch (features of {len(data.train_labels)} + {len(data.test_labels)} "
          f"images, top-k): {knn:.2f} s, against {epoch:.1f} s of training steps an epoch "
          f"({100 * knn / (knn + epoch):.0f}% of the epoch)")


if __name__ == "__main__":
    main()
