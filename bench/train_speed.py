"""Training speed of the problem1 AE: the course's notebook loop vs report-builder's.

    apt-get install dataset-fashion-mnist      # the full 60k/10k set, as IDX files
    .venv/bin/python bench/train_speed.py      # or --data-root DIR, --images N, --epochs N

Prints images/s of each loop on the same model and hyperparameters (problem1's AE, nz 64,
batch 64, Adam 1e-3, MSE), the ratio to the course loop, the training loss at the end of
the timed epoch(s), and peak memory: the course's loop and report-builder's `train()` with
each optimisation alone and combined, each in its own process, taking turns of 50 batches
so that a slow spell of a shared machine slows every loop alike (the ratios come from one
run); then runs side by side as a build trains them, timed on their own. A benchmark, not
a test: it asserts nothing.
"""

import argparse
import json
import multiprocessing
import os
import platform
import queue
import resource
import sys
import time
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report_builder import families  # noqa: E402
from report_builder.data import load_dataset  # noqa: E402
from report_builder.families.autoencoding.conv import (  # noqa: E402
    AutoEncoder,
    Conv2dMatmulGrad,
    Conv2dToPoint,
    ConvTranspose2dFromPoint,
    ConvTranspose2dMatmulGrad,
)
from report_builder.train import (  # noqa: E402
    TrainConfig,
    as_float,  # noqa: E402
    cpu_has_bf16,
    train,
)

BATCH, LR, SEED, NZ = 64, 1e-3, 0, 64
TURN_STEPS = 50  # batches a loop trains per turn: a second or two


class CourseMNIST(torch.utils.data.Dataset):
    """What torchvision.datasets.MNIST does per item: uint8 -> PIL image -> ToTensor."""

    def __init__(self, images: torch.Tensor):
        self.images = images
        self.transform = transforms.ToTensor()

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return self.transform(Image.fromarray(self.images[index].numpy(), mode="L")), 0


# Each of our layers derives from the course's nn layer and only overrides forward.
OUR_LAYERS = {
    "3->1 / 1->3 layers as matmuls": (Conv2dToPoint, ConvTranspose2dFromPoint),
    "7->3 / 3->7 weight grads as matmuls": (Conv2dMatmulGrad, ConvTranspose2dMatmulGrad),
}


def make_model(layers=tuple(OUR_LAYERS)) -> AutoEncoder:
    """problem1's AE with our layers for the optimisations named in `layers`; every other
    layer of ours runs as the course's nn.Conv2d / nn.ConvTranspose2d (same weights)."""
    torch.manual_seed(SEED)
    model = AutoEncoder(NZ)
    ours = tuple(cls for classes in OUR_LAYERS.values() for cls in classes)
    kept = {cls for name in layers for cls in OUR_LAYERS[name]}
    for module in model.modules():
        if isinstance(module, ours) and type(module) not in kept:
            module.__class__ = type(module).__bases__[0]
    return model


def course_loop(images: torch.Tensor, epochs: int, on_batch=None) -> dict:
    """The notebook: DataLoader(batch_size=64, shuffle=True, num_workers=4), fp32, MSE."""
    model = make_model(layers=()).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader(CourseMNIST(images), batch_size=BATCH, shuffle=True, num_workers=4)
    losses = []
    for _ in range(epochs):
        for x, _label in loader:
            loss = model.loss(x)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if on_batch is not None:
                on_batch()
    return {"images": len(losses) * BATCH, "loss": tail_mean(losses)}


def our_loop(images: torch.Tensor, epochs: int, precision: str,
             layers=tuple(OUR_LAYERS), on_batch=None) -> dict:
    """report-builder's train(): in-memory tensors, permuted-index batches, fused Adam."""
    model = make_model(layers)
    config = TrainConfig(epochs=epochs, lr=LR, batch_size=BATCH, seed=SEED, precision=precision)
    family = families.get("conv_ae")  # its step: minimise the model's own loss, one Adam
    history = train(family, family.Params(), {"model": model}, [as_float(images)], config,
                    on_batch=None if on_batch is None else lambda *_: on_batch())
    recon = history.losses["recon"]
    return {"images": len(recon) * BATCH, "loss": tail_mean(recon)}


class Turns:
    """Round robin between loop processes: one trains at a time, TURN_STEPS batches per
    turn, so a slow spell of this shared machine falls on every loop alike and the ratios
    of one run compare like with like. Each loop counts only the seconds of its turns."""

    def __init__(self, context, loops: int):
        self.turn = context.Value("i", 0, lock=False)
        self.finished = context.Array("b", loops, lock=False)
        self.changed = context.Condition()

    def wait(self, me: int) -> None:
        with self.changed:
            self.changed.wait_for(lambda: self.turn.value == me)

    def pass_on(self, me: int, finished: bool = False) -> None:
        with self.changed:
            self.finished[me] = finished
            n = len(self.finished)
            waiting = [(me + k) % n for k in range(1, n + 1) if not self.finished[(me + k) % n]]
            self.turn.value = waiting[0] if waiting else -1
            self.changed.notify_all()


class TurnClock:
    """One loop's side of the round robin: after every TURN_STEPS batches it hands the
    machine on and waits for its next turn; `seconds` adds up the time it held it."""

    def __init__(self, turns: Turns, me: int):
        self.turns, self.me, self.batches, self.seconds = turns, me, 0, 0.0
        turns.wait(me)
        self.started = time.perf_counter()

    def batch(self) -> None:
        self.batches += 1
        if self.batches % TURN_STEPS == 0:
            self.seconds += time.perf_counter() - self.started
            self.turns.pass_on(self.me)
            self.turns.wait(self.me)
            self.started = time.perf_counter()

    def finish(self) -> float:
        self.seconds += time.perf_counter() - self.started
        self.turns.pass_on(self.me, finished=True)
        return self.seconds


def _take_turns(me: int, turns: Turns, ready, results, loop, args) -> None:
    torch.set_num_threads(os.cpu_count() or 1)
    ready.wait()  # every loop has started: no process start-up inside a turn
    clock = TurnClock(turns, me)
    result = loop(*args, on_batch=clock.batch)
    result["images_per_s"] = result["images"] / clock.finish()
    result["peak_mb"] = peak_memory_mb()
    results.put((me, result))


def interleaved(loops: dict[str, tuple]) -> dict[str, dict]:
    """Run each (loop, args) in its own process, taking turns (see Turns)."""
    context = multiprocessing.get_context("spawn")
    turns, ready, results = Turns(context, len(loops)), context.Barrier(len(loops)), \
        context.Queue()
    processes = [context.Process(target=_take_turns, args=(me, turns, ready, results, *loop))
                 for me, loop in enumerate(loops.values())]
    for process in processes:
        process.start()
    gathered = {}
    while len(gathered) < len(processes):
        try:
            me, result = results.get(timeout=10)
            gathered[me] = result
        except queue.Empty:
            if any(process.exitcode not in (None, 0) for process in processes):
                raise SystemExit("a benchmark loop failed; see its error above") from None
    for process in processes:
        process.join()
    return {name: gathered[me] for me, name in enumerate(loops)}


def tail_mean(losses: list[float]) -> float:
    return sum(losses[-50:]) / len(losses[-50:])


def _worker(args):
    images, epochs, precision, threads = args
    torch.set_num_threads(threads)
    started = time.perf_counter()  # after process start-up and imports
    result = our_loop(images, epochs, precision)
    return result | {"started": started, "finished": time.perf_counter()}


def side_by_side(images: torch.Tensor, epochs: int, precision: str, jobs: int) -> dict:
    """Aggregate images/s of `jobs` independent runs in worker processes with the cores
    split between them, as a build trains its beta grid and fixed runs. Timed from the
    first worker's start of training to the last worker's end (process start-up and
    imports excluded)."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with context.Pool(jobs) as pool:
        results = pool.map(_worker, [(images, epochs, precision, threads)] * jobs)
    # perf_counter is CLOCK_MONOTONIC on Linux: comparable across processes.
    seconds = max(r["finished"] for r in results) - min(r["started"] for r in results)
    return {"images_per_s": sum(r["images"] for r in results) / seconds,
            "loss": results[0]["loss"]}


def adam_step_ms() -> dict[str, float]:
    """Milliseconds of one Adam step on the AE's parameters, per implementation."""
    timings = {}
    for name, options in {"for-loop (PyTorch's CPU default)": {}, "foreach": {"foreach": True},
                          "fused": {"fused": True}}.items():
        model = make_model()
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
    """This process's peak resident memory. VmHWM, not ru_maxrss: a spawned process's
    ru_maxrss starts at its parent's, and the parent holds the whole data set."""
    try:
        status = Path("/proc/self/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def precisions_to_time(has_bf16: bool, force_bf16: bool) -> tuple[list[str], str]:
    """fp32 always; bf16 only where the CPU computes it (AMX/AVX512-BF16), as
    `--precision auto` decides: emulated, it ran at 0.27x the course loop on an AVX2-only
    EPYC and made this benchmark take 17 minutes for 20k images."""
    if has_bf16 or force_bf16:
        return ["fp32", "bf16"], "" if has_bf16 else "bf16 rows timed on request: emulated here"
    return ["fp32"], ("bf16 rows skipped: this CPU has no AMX/AVX512-BF16, so bf16 would be "
                      "emulated (slower than fp32); --precision auto trains in fp32 here. "
                      "--bf16 times them anyway.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-root", type=Path)
    parser.add_argument("--images", type=int, default=None, help="use the first N images")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--bf16", action="store_true",
                        help="time the bf16 rows even on a CPU that would emulate bf16")
    args = parser.parse_args()
    precisions, note = precisions_to_time(cpu_has_bf16(), args.bf16)

    data = load_dataset(args.dataset, args.data_root)
    images = data.train_images[: args.images]
    torch.set_num_threads(os.cpu_count() or 1)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"bf16 hardware: {cpu_has_bf16()}, torch {torch.__version__}")
    print(f"data: {data.name}, {len(images)} training images, {args.epochs} epoch(s), "
          f"batch {BATCH}, problem1 AE (nz {NZ})")
    print(note + "\n" if note else "")

    loops = {"course loop: DataLoader + ToTensor, 4 workers, fp32": (course_loop,
                                                                     (images, args.epochs))}
    layer_choices = [(), *((name,) for name in OUR_LAYERS), tuple(OUR_LAYERS)]
    for precision in precisions:
        for layers in layer_choices:
            label = ", ".join([f"train(): tensors + index batches + fused Adam, {precision}",
                               *layers])
            loops[label] = (our_loop, (images, args.epochs, precision, layers))
    results = interleaved(loops)
    for precision in precisions:
        label = f"2 runs side by side, 1 thread each, {precision}, all of the above (aggregate)"
        results[label] = side_by_side(images, args.epochs, precision, jobs=2)

    course = results["course loop: DataLoader + ToTensor, 4 workers, fp32"]
    print(f"{'loop':<110} {'images/s':>9} {'x course':>9} {'loss':>8} {'vs course':>10} "
          f"{'peak MB':>8}")
    for name, result in results.items():
        speed, loss = result["images_per_s"], result["loss"]
        peak = f"{result['peak_mb']:8.0f}" if "peak_mb" in result else ""
        print(f"{name:<110} {speed:9.0f} {speed / course['images_per_s']:9.2f} "
              f"{loss:8.5f} {100 * (loss / course['loss'] - 1):+9.1f}% {peak}")
    adam = adam_step_ms()
    print("one Adam step on the AE's parameters: "
          + ", ".join(f"{name} {ms:.2f} ms" for name, ms in adam.items()))
    if args.json:
        args.json.write_text(json.dumps({"loops": results, "adam_step_ms": adam}, indent=2))


if __name__ == "__main__":
    main()
