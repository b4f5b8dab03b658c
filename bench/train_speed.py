"""Training speed of the problem1 AE: the course's notebook loop vs report-builder's.

    apt-get install dataset-fashion-mnist      # the full 60k/10k set, as IDX files
    .venv/bin/python bench/train_speed.py      # or --data-root DIR, --epochs, --batches

Prints images/s of each loop on the same model and hyperparameters, their ratio, the
training loss after the timed epoch(s), and peak memory; then one line per optimisation
(alone and combined). A benchmark, not a test: it asserts nothing.
"""

import argparse
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report_builder.data import as_float, load_dataset  # noqa: E402
from report_builder.models.conv import AutoEncoder  # noqa: E402
from report_builder.train import TrainConfig, cpu_has_bf16, train  # noqa: E402

BATCH, LR, SEED = 64, 1e-3, 0


class CourseMNIST(torch.utils.data.Dataset):
    """What torchvision.datasets.MNIST does per item: uint8 -> PIL image -> ToTensor."""

    def __init__(self, images: torch.Tensor):
        self.images = images
        self.transform = transforms.ToTensor()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index].numpy(), mode="L")), 0


def course_loop(images: torch.Tensor, epochs: int) -> tuple[float, float]:
    """The notebook: DataLoader(batch_size=64, shuffle=True, num_workers=4), fp32, MSE."""
    torch.manual_seed(SEED)
    model = AutoEncoder(64).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(CourseMNIST(images), batch_size=BATCH, shuffle=True, num_workers=4)
    seen, started, losses = 0, time.perf_counter(), []
    for _ in range(epochs):
        for x, _label in loader:
            loss = model.loss(x)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            seen += len(x)
    return seen / (time.perf_counter() - started), sum(losses[-50:]) / len(losses[-50:])


def our_loop(images: torch.Tensor, epochs: int, precision: str) -> tuple[float, float]:
    torch.manual_seed(SEED)
    model = AutoEncoder(64)
    config = TrainConfig(epochs=epochs, lr=LR, batch_size=BATCH, seed=SEED, precision=precision)
    started = time.perf_counter()
    history = train(model, [as_float(images)], config)
    seconds = time.perf_counter() - started
    recon = history.losses["recon"]
    return len(recon) * BATCH / seconds, sum(recon[-50:]) / len(recon[-50:])


def _worker(args):
    images, epochs, precision, threads = args
    torch.set_num_threads(threads)
    return our_loop(images, epochs, precision)


def parallel_runs(images: torch.Tensor, epochs: int, precision: str, jobs: int) -> float:
    """Aggregate images/s of `jobs` independent runs side by side (as a beta grid trains)."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    started = time.perf_counter()
    with context.Pool(jobs) as pool:
        pool.map(_worker, [(images, epochs, precision, threads)] * jobs)
    return jobs * epochs * len(images) / (time.perf_counter() - started)


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-root", type=Path)
    parser.add_argument("--images", type=int, default=None, help="use the first N images")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    data = load_dataset(args.dataset, args.data_root)
    images = data.train_images[: args.images]
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"bf16 hardware: {cpu_has_bf16()}, torch {torch.__version__}")
    print(f"data: {data.name}, {len(images)} training images, {args.epochs} epoch(s), "
          f"batch {BATCH}, problem1 AE (nz 64)\n")

    results = {}
    course_speed, course_loss = course_loop(images, args.epochs)
    results["course loop (DataLoader, ToTensor, 4 workers, fp32)"] = (course_speed, course_loss)
    for precision in ("fp32", "bf16"):
        speed, loss = our_loop(images, args.epochs, precision)
        results[f"tensors + permuted indices, {precision}"] = (speed, loss)
    for precision in ("fp32", "bf16"):
        speed = parallel_runs(images, args.epochs, precision, jobs=2)
        results[f"2 runs side by side, 1 thread each, {precision} (aggregate)"] = (speed, None)

    print(f"{'loop':<62} {'images/s':>9} {'x course':>9} {'loss':>8} {'vs course':>10}")
    for name, (speed, loss) in results.items():
        loss_text = f"{loss:8.5f} {100 * (loss / course_loss - 1):+9.1f}%" if loss else ""
        print(f"{name:<62} {speed:9.0f} {speed / course_speed:9.2f} {loss_text}")
    print(f"\npeak memory of this process: {peak_memory_mb():.0f} MB")
    if args.json:
        args.json.write_text(json.dumps({k: {"images_per_s": s, "loss": lo}
                                         for k, (s, lo) in results.items()}, indent=2))


if __name__ == "__main__":
    main()
