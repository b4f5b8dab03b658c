"""What the `gan` problem measures and draws of one trained GAN run: FID at every kept
snapshot, how the losses behaved, what one latent dimension at a time does to an image
(disentanglement), and latent paths against pixel blends (interpolation).

Nothing here trains: edits retrain no GAN (this module is outside the runs' code version).
FIDs are the judge's (`evaluate.Judge.frechet`: torchmetrics, in the digit classifier's
feature space).
"""

import itertools
import math

import numpy as np
import torch

from ... import evaluate as ev
from ...train import as_float
from .networks import Generator

FID_SAMPLES = 10_000  # at most: what FID is usually reported at (fewer when data is short)
EPSILON = 5.0  # added to one latent dimension at a time
SHOWN_DIMS = 16  # the dimensions that change the image most
PERTURBED_Z = 16  # z whose single-dimension moves are measured (the figure shows the first)
PATH_STEPS = 11  # a = 0, 0.1, ..., 1
PAIRS = 3  # interpolations shown
MEASURED_PAIRS = 16  # interpolations measured (the shown ones first)
LATE = 0.1  # "late in training": the last 10% of the generator iterations
BLOCKS = 5  # per loop epoch of 50 iterations: the noise of a mean is read off 10-iteration means
GREY = (0.2, 0.8)  # pixel values that are neither background nor stroke
# Seeds of the latent draws, offset from the evaluation seed so that the figures' z differ
# from the FID samples' z but are the same for every run.
PERTURB_SEED, PATH_SEED, GRID_SEED = 101, 202, 303


def generator_at(run, iteration: int, device) -> Generator:
    """The generator as it was after `iteration` generator iterations (a kept snapshot)."""
    generator = run.family.build(run.config.params)["generator"]
    generator.load_state_dict(run.snapshots[iteration // run.family.epoch_iterations])
    return generator.to(device).eval()


def snapshot_iterations(run) -> list[int]:
    return [epoch * run.family.epoch_iterations for epoch in sorted(run.snapshots)]


def latents(n: int, nz: int, seed: int) -> torch.Tensor:
    return torch.randn(n, nz, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def generate(generator: Generator, z: torch.Tensor) -> torch.Tensor:
    device = next(generator.parameters()).device
    return torch.cat([generator(chunk.to(device)) for chunk in z.split(ev.EVAL_BATCH)])


def fid_sample_count(evaluation) -> int:
    """Samples per FID: the spec's count, at most 10,000, and no more real training images
    than there are (the floor scores as many real images as generated ones)."""
    return min(evaluation.n_samples, FID_SAMPLES, len(evaluation.data.train_images))


def measure(run, evaluation) -> dict:
    device, judge = evaluation.test_images.device, evaluation.judge
    n = fid_sample_count(evaluation)
    z = latents(n, run.config.params.nz, evaluation.seed)
    iterations = snapshot_iterations(run)
    scored = [ev.judge_images(judge, generate(generator_at(run, it, device), z))
              for it in iterations]
    fids = [score["frechet"] for score in scored]
    best = int(np.argmin(fids))
    real = as_float(evaluation.data.train_images[:n], device)
    floor = ev.judge_images(judge, real)["frechet"]
    return {
        "width": run.models["generator"].width,
        "iterations": iterations,
        "last_iteration": iterations[-1],
        "fid": fids,
        "final_fid": fids[-1],
        "final_fid_se": scored[-1]["frechet_se"],  # bootstrap over the samples
        "best_fid": fids[best],
        "best_iteration": iterations[best],
        "fid_rises": int(np.sum(np.diff(fids) > 0)),
        "last_fid_drop": 1 - fids[-1] / fids[-2] if len(fids) > 1 else 0.0,  # last interval
        "final_fid_over_floor": fids[-1] / floor,
        "fid_samples": n,
        "fid_test_images": len(evaluation.test_images),
        "fid_floor": floor,
        "final_samples": scored[-1],
        "losses": loss_summary(run),
        **distance_tracks_fid(run, iterations, fids),
        "perturbation": perturbation_summary(run, judge, device),
        "paths": path_summary(run, judge, device),
        "test_grey_share": grey_share(evaluation.test_images),
    }


def loss_summary(run) -> dict:
    """The loss curves in numbers: means per loop epoch (50 generator iterations), and the
    late-training level and wobble of each part (std of those means over the second half).

    `swing` is that wobble over what noise alone would give the means: within each epoch of
    the second half, the spread of its five 10-iteration means / sqrt(5) (blocks, so that
    noise correlated over a few iterations counts as noise). A ratio with no unit and no
    offset, about 1 for a loss that only jitters around a level, far above 1 for one that
    drifts or swings between epochs."""
    summary = {}
    per = run.iterations_per_epoch
    for part, values in run.history.items():
        values = np.asarray(values)
        late = values[-max(1, int(LATE * len(values))):]
        per_epoch = np.asarray(run.epoch_means(part))
        second_half = slice(len(per_epoch) // 2, None)
        blocks = values[:per * len(per_epoch)].reshape(len(per_epoch), BLOCKS, -1).mean(2)
        noise = float(blocks[second_half].std(axis=1, ddof=1).mean() / math.sqrt(BLOCKS))
        wobble = float(per_epoch[second_half].std())
        summary[part] = {
            "first": float(per_epoch[0]),
            "late": float(late.mean()),
            "min_epoch": float(per_epoch.min()),
            "max_epoch": float(per_epoch.max()),
            "second_half_std": wobble,
            # None when the second half holds a single 50-iteration mean: nothing to compare.
            "swing": wobble / noise if len(per_epoch[second_half]) > 1 and noise > 0 else None,
            "per_epoch": per_epoch.tolist(),
        }
    return summary


def distance_tracks_fid(run, iterations: list[int], fids: list[float]) -> dict:
    """Spearman's rank correlation between FID and what the discriminator's loss says of the
    distance between real and generated images, over the snapshots after iteration 0 (each
    the mean of the 50 iterations before it): the critic's Wasserstein estimate, or minus
    a GAN discriminator's loss (which rises as the generator improves). Near 1: the loss
    tells how good the samples are. With it, the exact one-sided p-value of so high a
    correlation were the two orders unrelated (with 5 snapshots, rho >= 0.9 has p = 5/120).
    Both also trend with training time, so a small p says they move together over
    training, not that the loss tells a good snapshot from a bad one at a given time."""
    if len(iterations) < 4:
        return {"distance_fid_correlation": None, "distance_fid_p": None,
                "distance_fid_points": len(iterations) - 1}
    part, sign = ("wasserstein", 1) if "wasserstein" in run.history else ("d_loss", -1)
    per_epoch = run.epoch_means(part)
    distance = [sign * per_epoch[it // run.family.epoch_iterations - 1] for it in iterations[1:]]
    rho = rank_correlation(distance, fids[1:])
    return {"distance_fid_correlation": rho,
            "distance_fid_p": rank_correlation_p(rho, len(distance)),
            "distance_fid_points": len(distance)}


def rank_correlation(a: list[float], b: list[float]) -> float:
    ranks = [np.argsort(np.argsort(values)) for values in (a, b)]
    return float(np.corrcoef(*ranks)[0, 1])


def rank_correlation_p(rho: float, n: int) -> float:
    """P(Spearman's rho >= rho) over all n! equally likely orders (exact; n stays small)."""
    if n > 8:
        raise ValueError("exact only for n <= 8 snapshots")
    base = list(range(n))
    values = [rank_correlation(base, list(order)) for order in itertools.permutations(base)]
    return float(np.mean(np.asarray(values) >= rho - 1e-9))


@torch.no_grad()
def perturbed(run, device, n_z: int = 1) -> dict:
    """n_z draws of z, and z + ε e_d for every dimension d, decoded by the final generator:
    the mean absolute pixel change each move causes [z, d], and for the first z the
    dimensions ordered by it, largest first (the figure)."""
    nz = run.config.params.nz
    z = latents(n_z, nz, PERTURB_SEED)
    moved = (z[:, None] + EPSILON * torch.eye(nz)).flatten(0, 1)
    generator = run.models["generator"]
    base, images = generate(generator, z), generate(generator, moved)
    images = images.view(n_z, nz, *images.shape[1:])
    changes = (images - base[:, None]).abs().flatten(2).mean(2).cpu()
    order = torch.argsort(changes[0], descending=True, stable=True)
    return {"base": base[:1], "images": images[0], "changes": changes[0], "order": order,
            "all_bases": base, "all_images": images, "all_changes": changes}


def perturbation_summary(run, judge, device) -> dict:
    """Over PERTURBED_Z draws of z: how much of the pixel change the 16 most effective
    dimensions carry (mean over z, ± its standard error), and how often a single-dimension
    move changes the class the judge reads (± the standard error over z), and how many
    dimensions make such a change for some z."""
    found = perturbed(run, device, PERTURBED_Z)
    changes = found["all_changes"]  # [z, d]
    n_z, dims = changes.shape
    before = ev.predicted_digits(judge, found["all_bases"])
    after = ev.predicted_digits(judge, found["all_images"].flatten(0, 1)).view(n_z, dims)
    flips = (after != before[:, None].to(after.device)).float().cpu()  # [z, d]
    top = changes.sort(dim=1, descending=True).values[:, :SHOWN_DIMS]
    top_shares = (top.sum(1) / changes.sum(1)).numpy()
    flip_shares = flips.mean(1).numpy()
    by_dimension = flips.sum(0)
    first = found["order"][:SHOWN_DIMS]
    return {
        "epsilon": EPSILON,
        "dims": dims,
        "z_draws": n_z,
        "shown_dims": first.tolist(),
        "shown_changes": changes[0][first].tolist(),
        "top_share": float(top_shares.mean()),
        "top_share_se": float(top_shares.std(ddof=1) / math.sqrt(n_z)),
        "even_share": SHOWN_DIMS / dims,  # the top share if every dimension were alike
        "median_change": float(changes.median()),
        "max_change": float(changes.max()),
        "flip_share": float(flip_shares.mean()),  # of all n_z x dims moves
        "flip_share_se": float(flip_shares.std(ddof=1) / math.sqrt(n_z)),
        "flipping_dims": int((by_dimension > 0).sum()),  # dims that change the class of some z
        "digit_flips": int(flips[0].sum()),  # the figure's z
        "shown_digit_flips": int(flips[0][first].sum()),
    }


@torch.no_grad()
def paths(run, device, pairs: int = PAIRS) -> dict[str, torch.Tensor]:
    """For `pairs` pairs (z0, z1): G(a z0 + (1 - a) z1) and a G(z0) + (1 - a) G(z1) for
    a = 0, 0.1, ..., 1, as [pair, a, 1, 28, 28]. z0 and z1 come from streams of their own,
    so the first pairs are the same whatever the count (the figure's are the measured)."""
    generator = run.models["generator"]
    nz = run.config.params.nz
    z0, z1 = latents(pairs, nz, PATH_SEED), latents(pairs, nz, PATH_SEED + 1)
    a = torch.linspace(0, 1, PATH_STEPS)[None, :, None]
    latent = a * z0[:, None] + (1 - a) * z1[:, None]
    shape = (pairs, PATH_STEPS, 1, 28, 28)
    in_z = generate(generator, latent.flatten(0, 1)).view(shape)
    ends = (generate(generator, z0), generate(generator, z1))
    a = a[..., None, None].to(ends[0].device)
    blend = a * ends[0][:, None] + (1 - a) * ends[1][:, None]
    return {"latent": in_z, "pixel": blend}


def grey_share(images: torch.Tensor) -> float:
    """The share of pixels that are neither background nor stroke: a pixel blend of two
    digits is a double exposure, grey wherever only one of them has ink."""
    return ((images > GREY[0]) & (images < GREY[1])).float().mean().item()


def path_summary(run, judge, device) -> dict:
    """Along each of MEASURED_PAIRS paths, the judge's confidence (top-class probability; a
    path that stays on the digit manifold is read as some digit all the way) and the share
    of grey pixels in the inner images (the endpoints are the same for both kinds); per
    pair too, so that the two kinds are compared over the same pairs (paired)."""
    found = paths(run, device, MEASURED_PAIRS)
    summary = {}
    for kind, images in found.items():
        values = ev.digit_confidence(judge, images.flatten(0, 1)).reshape(MEASURED_PAIRS, -1)
        inner = images[:, 1:-1]
        summary[kind] = {"per_pair": values.tolist(),
                         "pairs": MEASURED_PAIRS,
                         "inner_mean": float(values[:, 1:-1].mean()),
                         "inner_min": float(values[:, 1:-1].min()),
                         "confident_share": float((values[:, 1:-1] > ev.CONFIDENT).mean()),
                         "grey_share": grey_share(inner),
                         "pair_inner_means": values[:, 1:-1].mean(1).tolist(),
                         "pair_grey_shares": [grey_share(pair) for pair in inner]}
    return summary
