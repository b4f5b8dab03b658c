"""Which setting lets the published SimSiam run learn something raw pixels do not have?

    .venv/bin/python bench/simsiam_search.py                # every setting in SETTINGS
    .venv/bin/python bench/simsiam_search.py --only blur --only crop_0.3

Trains the `simsiam` problem's published run (stop-gradient, MLP predictor) on the offline
default (mnist-5k: 4,000 training, 1,000 test digits) once per setting, each a change from
experiments/simsiam.yaml's defaults, and prints per setting: the kNN accuracy of the
encoder's features against raw pixels and the same encoder at initialisation (paired
differences with their standard errors, on the same 1,000 test images), a linear probe on
the frozen features, the effective rank of the projector output, and the training time on
this CPU. A benchmark, not a test: it asserts nothing.
"""

import argparse
import math
import platform
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from report_builder.data import load_mnist_5k  # noqa: E402
from report_builder.families import simsiam  # noqa: E402
from report_builder.families.simsiam import readout  # noqa: E402
from report_builder.noise import paired_values  # noqa: E402
from report_builder.train import TrainConfig, as_float, cpu_has_bf16, train  # noqa: E402

BASE = {"epochs": 30, "batch_size": 64, "lr": 0.1}  # experiments/simsiam.yaml
SETTINGS: dict[str, tuple[dict, dict]] = {  # name: (family params, training settings)
    "yaml": ({}, {}),
    "blur": ({"augmentations": ("crop", "affine", "noise", "blur")}, {}),
    "crop_0.3": ({"crop_scale": (0.3, 1.0)}, {}),
    "crop_0.7": ({"crop_scale": (0.7, 1.0)}, {}),
    "fixed_pred_lr": ({"predictor_lr": "fixed"}, {}),
    "lr_0.05": ({}, {"lr": 0.05}),
    "wd_1e-4": ({"weight_decay": 1e-4}, {}),
    "batch_128": ({}, {"batch_size": 128}),
    "epochs_50": ({}, {"epochs": 50}),
}
BLUR = ("crop", "affine", "noise", "blur")
SETTINGS |= {  # the second round: each a change from "blur", the first round's best
    "blur+fixed_pred_lr": ({"augmentations": BLUR, "predictor_lr": "fixed"}, {}),
    "blur+epochs_50": ({"augmentations": BLUR}, {"epochs": 50}),
    "blur+lr_0.05": ({"augmentations": BLUR}, {"lr": 0.05}),
    "blur+crop_0.7": ({"augmentations": BLUR, "crop_scale": (0.7, 1.0)}, {}),
    "blur+wd_1e-4": ({"augmentations": BLUR, "weight_decay": 1e-4}, {}),
}
SETTINGS |= {  # the third round: each a change from the spec now (blur, 50 epochs)
    "spec": ({"augmentations": BLUR}, {"epochs": 50}),
    "spec+crop_0.7": ({"augmentations": BLUR, "crop_scale": (0.7, 1.0)}, {"epochs": 50}),
    "spec+wd_1e-4": ({"augmentations": BLUR, "weight_decay": 1e-4}, {"epochs": 50}),
    "spec+lr_0.05": ({"augmentations": BLUR}, {"epochs": 50, "lr": 0.05}),
    "spec+batch_128": ({"augmentations": BLUR}, {"epochs": 50, "batch_size": 128}),
    "spec+epochs_100": ({"augmentations": BLUR}, {"epochs": 100}),
}


def linear_probe(train: torch.Tensor, train_labels: torch.Tensor, test: torch.Tensor,
                 test_labels: torch.Tensor) -> float:
    """Multinomial logistic regression on frozen features (L-BFGS, a little L2)."""
    torch.manual_seed(0)
    mean, std = train.mean(0), train.std(0) + 1e-6
    train, test = (train - mean) / std, (test - mean) / std
    layer = torch.nn.Linear(train.shape[1], 10)
    optimizer = torch.optim.LBFGS(layer.parameters(), max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(layer(train), train_labels) + 1e-3 * layer.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return (layer(test).argmax(1) == test_labels).double().mean().item()


def evaluate(net, initial, data, params) -> dict[str, float]:
    train, test = as_float(data.train_images), as_float(data.test_images)
    labels = (data.train_labels, data.test_labels)

    def knn(memory, queries):
        return readout.knn_correct(memory, labels[0], queries, labels[1], params.knn_k,
                                   params.knn_temperature)

    trained = knn(readout.features(net, train), readout.features(net, test))
    pixels = knn(F.normalize(train.flatten(1), dim=1), F.normalize(test.flatten(1), dim=1))
    at_init = knn(readout.features(initial, train), readout.features(initial, test))
    over_pixels = paired_values(trained.double().tolist(), pixels.double().tolist())
    over_init = paired_values(trained.double().tolist(), at_init.double().tolist())
    probe = linear_probe(readout.features(net, train), labels[0], readout.features(net, test),
                         labels[1])
    pixel_probe = linear_probe(train.flatten(1), labels[0], test.flatten(1), labels[1])
    init_probe = linear_probe(readout.features(initial, train), labels[0],
                              readout.features(initial, test), labels[1])
    return {"knn": trained.double().mean().item(), "pixels": pixels.double().mean().item(),
            "init": at_init.double().mean().item(), "over_pixels": over_pixels,
            "over_init": over_init, "probe": probe, "pixel_probe": pixel_probe,
            "init_probe": init_probe,
            "rank": readout.collapse(net, test)["output_rank"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(SETTINGS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, help="override every setting's (a smoke test)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = load_mnist_5k()
    precision = "bf16" if cpu_has_bf16() else "fp32"
    print(f"CPU: {platform.processor() or platform.machine()}, bf16: {cpu_has_bf16()}, "
          f"{torch.get_num_threads()} threads, precision {precision}, seed {args.seed}")
    print("| setting | epochs | s | kNN | − pixels (± SE) | − init (± SE) | linear probe "
          "(pixels, init) | output rank |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.only or SETTINGS:
        changes, settings = SETTINGS[name]
        params = simsiam.Params(**changes)
        settings = BASE | settings | ({"epochs": args.epochs} if args.epochs else {})
        torch.manual_seed(args.seed)
        initial = simsiam.build(params)["model"]
        torch.manual_seed(args.seed)
        models = simsiam.build(params)
        config = TrainConfig(settings["epochs"], settings["lr"], settings["batch_size"],
                             args.seed, precision=precision)
        start = time.perf_counter()
        train(simsiam.FAMILY, params, models, simsiam.FAMILY.tensors(data, params), config,
              data=data)
        seconds = time.perf_counter() - start
        m = evaluate(models["model"], initial, data, params)
        pct = lambda gap: f"{100 * gap.difference:+.1f} ± {100 * gap.se:.1f}"  # noqa: E731
        print(f"| {name} | {settings['epochs']} | {seconds:.0f} | {100 * m['knn']:.1f}% "
              f"| {pct(m['over_pixels'])} | {pct(m['over_init'])} | {100 * m['probe']:.1f}% "
              f"({100 * m['pixel_probe']:.1f}%, {100 * m['init_probe']:.1f}%) "
              f"| {m['rank']:.1f} |", flush=True)
    print(f"raw pixels kNN {100 * m['pixels']:.1f}%, init kNN {100 * m['init']:.1f}% "
          f"(SE of one accuracy ≈ {100 * math.sqrt(0.9 * 0.1 / len(data.test_labels)):.1f})")


if __name__ == "__main__":
    main()
