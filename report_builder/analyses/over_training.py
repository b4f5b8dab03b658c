"""Several GAN runs over training: FID at every kept snapshot on one plot, and their
samples at every snapshot as a table (the same z in every cell)."""

import numpy as np

from .. import gan_measures
from ..figures import Figure, plot_fid_over_training, plot_samples_over_training
from ..runs import Run
from ..spec import Spec

GRID = 16  # samples per cell: a 4x4 grid


def fid_figure(spec: Spec, runs: dict[str, Run], measured: dict[str, dict]) -> Figure:
    names = spec.over_training.runs
    arrays = {"floor": np.asarray(measured[names[0]]["fid_floor"])}
    for name in names:
        arrays[f"iterations/{name}"] = np.asarray(measured[name]["iterations"])
        arrays[f"fid/{name}"] = np.asarray(measured[name]["fid"])
    first = measured[names[0]]
    best = "; ".join(f"{runs[name].label} {measured[name]['best_fid']:.1f} at "
                     f"{measured[name]['best_iteration']}" for name in names)
    caption = (f"FID of {first['fid_samples']:,} samples of each generator snapshot against "
               f"the {first['fid_test_images']:,} test images, in the feature space of the "
               f"digit classifier this build trained (lower is better; log scale). Star: "
               f"each run's best snapshot ({best}). Dashed: the floor, "
               f"{first['fid_samples']:,} real training images against the same test images "
               f"({first['fid_floor']:.2f}): what a perfect generator would score at this "
               f"sample count.")
    return plot_fid_over_training("fid_over_training", caption, arrays, list(names),
                                  [runs[name].label for name in names])


def samples_figure(spec: Spec, runs: dict[str, Run], measured: dict[str, dict],
                   device) -> Figure:
    names = spec.over_training.runs
    iterations = measured[names[0]]["iterations"]
    arrays = {"iterations": np.asarray(iterations)}
    for name in names:
        run = runs[name]
        z = gan_measures.latents(GRID, run.config.params.nz, gan_measures.GRID_SEED)
        arrays[f"samples/{name}"] = np.stack([
            gan_measures.generate(gan_measures.generator_at(run, iteration, device), z)
            .cpu().numpy() for iteration in iterations])
    caption = (f"Samples of each loss's generator at every kept snapshot (rows: generator "
               f"iterations; iteration 0 is the untrained generator), the same {GRID} draws "
               f"of z in every cell.")
    return plot_samples_over_training("samples_over_training", caption, arrays, list(names),
                                      [runs[name].label for name in names])
