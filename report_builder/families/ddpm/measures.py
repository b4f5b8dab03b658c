"""What a trained diffusion run measures: its loss per noise level, samples by DDPM's
ancestral sampler with all T steps and by DDIM with few, each scored by the judge (Fréchet
distance in its features ± bootstrap SE) and timed, how its reverse process decides a
sample (class and pixels of x̂_0 along the way), and how fast its schedule destroys an
image. Sampling runs the moving-average weights, in the run's precision; every draw comes
from seeded generators, so a run measures the same numbers each time on one machine."""

import time

import numpy as np
import torch

from ... import evaluate as ev
from ...noise import mean_and_se
from .sampling import Denoiser, ddim_samples, ddpm_samples
from .schedule import Process, to_signed, to_unit
from .schedule import process as process_of

DDIM_STEPS = (10, 20, 50, 100)  # the few-step samplers compared with all T steps
BUCKETS = 10  # the loss per tenth of the T steps
FORWARD_AT = (0, 50, 100, 250, 500, 750, 1000)  # x_t shown, for T = 1000 (scaled otherwise)
TRAJECTORY_AT = (1000, 900, 800, 700, 600, 500, 400, 300, 200, 100, 50, 20, 1)  # x̂_0 kept
SAMPLE_BATCH = 500
DECIDED = 0.9  # a class is "decided" once x̂_0 reads as the final class for 90% of samples


def scaled(times: tuple[int, ...], steps: int) -> list[int]:
    """Times given for T = 1000, at the same share of another T."""
    return sorted({max(0 if t == 0 else 1, round(t * steps / 1000)) for t in times},
                  reverse=times[0] > times[-1])


def batched(sample, noise: torch.Tensor):
    """Run `sample` on SAMPLE_BATCH starting points at a time; the outputs joined."""
    parts = [sample(chunk) for chunk in noise.split(SAMPLE_BATCH)]
    if isinstance(parts[0], tuple):
        images = torch.cat([part[0].cpu() for part in parts])
        kept = {t: torch.cat([part[1][t] for part in parts]) for t in parts[0][1]}
        return images, kept
    return torch.cat([part.cpu() for part in parts])


def scored(judge, images: torch.Tensor, seconds: float) -> dict:
    """The judge's reading of samples in [−1, 1], and seconds per 1,000 samples."""
    return {**ev.judge_images(judge, to_unit(images)),
            "seconds_per_1000": 1000 * seconds / len(images)}


def timed(sample):
    started = time.perf_counter()
    result = sample()
    return result, time.perf_counter() - started


def loss_per_bucket(eps: Denoiser, process: Process, images: torch.Tensor,
                    seed: int) -> list[dict]:
    """The training loss ‖ε − ε_θ‖² (mean over pixels) on the test images, t drawn within
    each tenth of the T steps; and the error of x̂_0 it implies, (1 − ᾱ_t)/ᾱ_t times as
    large: what predicting x_0 directly would have to get right at that noise level."""
    generator = torch.Generator().manual_seed(seed)
    x0, width = to_signed(images), process.steps // BUCKETS
    rows = []
    for bucket in range(BUCKETS):
        t = torch.randint(bucket * width + 1, (bucket + 1) * width + 1, (len(x0),),
                          generator=generator)
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        xt = process.noised(x0, t.to(x0.device), noise)
        predicted = torch.cat([eps(chunk, times.to(x0.device)) for chunk, times in
                               zip(xt.split(SAMPLE_BATCH), t.split(SAMPLE_BATCH), strict=True)])
        error = (predicted - noise).pow(2).flatten(1).mean(1).double().cpu()
        ratio = (1 - process.alpha_bar[t]) / process.alpha_bar[t]
        eps_mse, eps_se = mean_and_se(error.numpy())
        x0_mse, x0_se = mean_and_se((error * ratio).numpy())
        rows.append({"from": bucket * width + 1, "to": (bucket + 1) * width,
                     "eps_mse": eps_mse, "eps_mse_se": eps_se,
                     "x0_mse": x0_mse, "x0_mse_se": x0_se})
    return rows


def trajectory_summary(judge, kept: dict[int, torch.Tensor], final: torch.Tensor) -> list[dict]:
    """Along the reverse process, per kept step t: the share of samples whose x̂_0 the judge
    already reads as the sample's final class (± binomial SE), and how far x̂_0 still is from
    the final sample (mean absolute pixel difference, in [0, 1] units)."""
    final_unit = to_unit(final)
    final_class = ev.predicted_digits(judge, final_unit)
    rows = []
    for t in sorted(kept, reverse=True):
        x0 = to_unit(kept[t])
        agree = (ev.predicted_digits(judge, x0) == final_class).double()
        share, share_se = mean_and_se(agree.numpy())
        rows.append({"t": t, "same_class": share, "same_class_se": share_se,
                     "pixel_change": (x0 - final_unit).abs().mean().item()})
    return rows


def decided_at(rows: list[dict]) -> int | None:
    """The largest t from which x̂_0 reads as the final class for DECIDED of the samples
    at every later kept step; None if it never does before the end."""
    decided = None
    for row in sorted(rows, key=lambda row: row["t"]):
        if row["same_class"] < DECIDED:
            break
        decided = row["t"]
    return decided


def destruction(process: Process) -> dict:
    """How fast the schedule destroys an image: the first t where the noise carries as much
    variance as the signal (ᾱ_t < 1/2), the share of the T steps whose ᾱ_t is below 0.01
    (nearly pure noise: little left to learn there), and ᾱ_t itself."""
    alpha_bar = process.alpha_bar[1:]
    return {"half_signal_t": int((alpha_bar < 0.5).nonzero()[0]) + 1,
            "pure_noise_share": (alpha_bar < 0.01).double().mean().item(),
            "alpha_bar": alpha_bar.tolist()}


def measure(run, evaluation) -> dict:
    params, judge = run.config.params, evaluation.judge
    process = process_of(params.schedule, params.steps)
    eps = Denoiser(run)
    device = evaluation.test_images.device
    generator = torch.Generator().manual_seed(evaluation.seed)
    start = torch.randn((evaluation.n_samples, 1, 28, 28), generator=generator).to(device)
    keep = scaled(TRAJECTORY_AT, params.steps)

    (ddpm, kept), ddpm_seconds = timed(lambda: batched(
        lambda x: ddpm_samples(eps, process, x, generator, keep), start))
    ddim = {}
    for steps in DDIM_STEPS:
        images, seconds = timed(lambda steps=steps: batched(
            lambda x: ddim_samples(eps, process, x, steps), start))
        # How many times faster than DDPM's T steps, on the same starting points.
        ddim[str(steps)] = scored(judge, images, seconds) | {"speedup": ddpm_seconds / seconds}
    trajectory = trajectory_summary(judge, kept, ddpm)
    buckets = loss_per_bucket(eps, process, evaluation.test_images, evaluation.seed)
    return {
        "loss_per_bucket": buckets,
        # How much larger x̂_0's implied error is at the noisiest tenth than at the least noisy.
        "x0_error_ratio": buckets[-1]["x0_mse"] / buckets[0]["x0_mse"],
        "final_loss": float(np.mean(run.history["loss"][-run.iterations_per_epoch:])),
        "ddpm": scored(judge, ddpm, ddpm_seconds) | {"steps": params.steps},
        "ddim": ddim,
        "ddim_steps": list(DDIM_STEPS),
        "trajectory": trajectory,
        "decided_at": decided_at(trajectory),
        "forward_at": scaled(FORWARD_AT, params.steps),
        **destruction(process),
    }
