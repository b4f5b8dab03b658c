"""Training speed of the problem1 AE: the course's notebook loop vs report-builder's.

    apt-get install dataset-fashion-mnist      # the full 60k/10k set, as IDX files
    .venv/bin/python bench/train_speed.py      # or --data-root DIR, --epochs, --batches

Prints images/s of each loop on the same model and hyperparameters (problem1's AE, nz 64,
batch 64, Adam 1e-3, MSE), the ratio to the course loop, the training loss at the end of
the timed epoch(s), and peak memory: first the course's loop, then report-builder's
`train()` with each optimisation alone and combined, then runs side by side as a build
trains them. A benchmark, not a test: it asserts nothing.
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
from torch import nn
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report_builder.data import as_float, load_dataset  # noqa: E402
from report_builder.models.conv import (  # noqa: E402
    AutoEncoder,
    Conv2dToPoint,
    ConvTranspose2dFromPoint,
)
from report_builder.train import TrainConfig, cpu_has_bf16, train  # noqa: E402

BATCH, LR, SEED, NZ = 64, 1e-3, 0, 64


class CourseMNIST(torch.utils.data.Dataset):
    """What torchvision.datasets.MNIST does per item: uint8 -> PIL image -> ToTensor."""

    def __init__(self, images: torch.Tensor):
        self.images = images
        self.transform = transforms.ToTensor()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index].numpy(), mode="L")), 0


def make_model(point_layers: bool) -> AutoEncoder:
    """problem1's AE; without `point_layers`, the 3->1 and 1->3 layers run as the course's
    nn.Conv2d / nn.ConvTranspose2d (the subclasses only override forward, same weights)."""
    torch.manual_seed(SEED)
    model = AutoEncoder(NZ)
    if not point_layers:
        for module in model.modules():
            if isinstance(module, Conv2dToPoint):
                module.__class__ = nn.Conv2d
            elif isinstance(module, ConvTranspose2dFromPoint):
                module.__class__ = nn.ConvTranspose2d
    return model


def course_loop(images: torch.Tensor, epochs: int) -> dict:
    """The notebook: DataLoader(batch_size=64, shuffle=True, num_workers=4), fp32, MSE."""
    model = make_model(point_layers=False).train()
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
    return {"images_per_s": seen / (time.perf_counter() - started), "loss": tail_mean(losses)}


def our_loop(images: torch.Tensor, epochs: int, precision: str, point_layers: bool) -> dict:
    """report-builder's train(): in-memory tensors, permuted-index batches, fused Adam."""
    model = make_model(point_layers)
    config = TrainConfig(epochs=epochs, lr=LR, batch_size=BATCH, seed=SEED, precision=precision)
    started = time.perf_counter()
    history = train(model, [as_float(images)], config)
    finished = time.perf_counter()
    recon = history.losses["recon"]
    return {"images_per_s": len(recon) * BATCH / (finished - started), "loss": tail_mean(recon),
            "started": started, "finished": finished, "images": len(recon) * BATCH}


def tail_mean(losses: list[float]) -> float:
    return sum(losses[-50:]) / len(losses[-50:])


def _worker(args):
    images, epochs, precision, threads = args
    torch.set_num_threads(threads)
    return our_loop(images, epochs, precision, point_layers=True)


def side_by_side(images: torch.Tensor, epochs: int, precision: str, jobs: int) -> dict:
    """Aggregate images/s of `jobs` independent runs in worker processes with the cores
    split between them, as a build trains its beta grid and fixed runs. Timed from the
    first worker's first step to the last worker's last (process start-up excluded)."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with context.Pool(jobs) as pool:
        results = pool.map(_worker, [(images, epochs, precision, threads)] * jobs)
    # perf_counter is CLOCK_MONOTONIC on Linux: comparable across processes.
    seconds = max(r["finished"] for r in results) - min(r["started"] for r in results)
    return {"images_per_s": sum(r["images"] for r in results) / seconds,
            "loss": results[0]["loss"]}


def adam_step_ms(point_layers: bool = True) -> dict[str, float]:
    """Milliseconds of one Adam step on the AE's parameters, per implementation."""
    timings = {}
    for name, options in {"for-loop (PyTorch's CPU default)": {}, "foreach": {"foreach": True},
                          "fused": {"fused": True}}.items():
        model = make_model(point_layers)
        optimizer = torch.optim.Adam(model.parameters(), lr=LR, **options)
        for parameter in model.parameters():
            parameter.grad = torch.randn_like(parameter)
        for _ in range(10):
            optimizer.step()
        started = time.perf_counter()
        for _ in range(200):
            optimizer.step()
        timings[name] = (time.perf_counter() - started) / 200 * 1000
    return timings


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
          f"batch {BATCH}, problem1 AE (nz {NZ})\n")

    results = {"course loop: DataLoader + ToTensor, 4 workers, fp32": course_loop(images,
                                                                                args.epochs)}
    for precision in ("fp32", "bf16"):
        for point_layers in (False, True):
            label = (f"train(): tensors + index batches + fused Adam, {precision}"
                     + (", 3->1 / 1->3 layers as matmuls" if point_layers else ""))
            results[label] = our_loop(images, args.epochs, precision, point_layers)
    for precision in ("fp32", "bf16"):
        label = f"2 runs side by side, 1 thread each, {precision}, all of the above (aggregate)"
        results[label] = side_by_side(images, args.epochs, precision, jobs=2)

    course = results["course loop: DataLoader + ToTensor, 4 workers, fp32"]
    print(f"{'loop':<86} {'images/s':>9} {'x course':>9} {'loss':>8} {'vs course':>10}")
    for name, result in results.items():
        speed, loss = result["images_per_s"], result["loss"]
        print(f"{name:<86} {speed:9.0f} {speed / course['images_per_s']:9.2f} "
              f"{loss:8.5f} {100 * (loss / course['loss'] - 1):+9.1f}%")
    print(f"\npeak memory of this process: {peak_memory_mb():.0f} MB")
    adam = adam_step_ms()
    print("one Adam step on the AE's parameters: "
          + ", ".join(f"{name} {ms:.2f} ms" for name, ms in adam.items()))
    if args.json:
        args.json.write_text(json.dumps({"loops": results, "adam_step_ms": adam}, indent=2))


if __name__ == "__main__":
    main()
