"""The vae-likelihood problem's figures: the validation ELBO per epoch, the KL term's two
estimates per iteration and the importance-sampled log p(x) as K grows. Each kind registers
how it is drawn (`figures.drawing`)."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ...figures import Figure, drawing, smooth, to_png


def validation_elbo(name: str, run, measured: dict, evaluation) -> Figure:
    caption = (f"Run <code>{name}</code>, {run.label}: ELBO of the {measured['n_validation']} "
               f"validation images after each epoch (one z per image, the same "
               f"binarization every epoch), and of the training batches averaged over each "
               f"epoch. Dashed: the course's target, {measured['course_target']:g} nats on full "
               f"MNIST. Last epoch: {measured['final_val_elbo']:.1f} nats.")
    arrays = {"validation": np.asarray(measured["val_elbo"]),
              "training": -np.asarray(run.epoch_means("loss")),
              "target": np.asarray(measured["course_target"])}
    return Figure(f"validation_elbo_{name}", caption, arrays, (f"{run.label}: ELBO",),
                  "validation_elbo")


def kl_estimates(name: str, run, measured: dict, evaluation) -> Figure:
    caption = (f"Run <code>{name}</code>: the KL term of each training batch in closed form "
               f"and as the single-sample Monte Carlo estimate log q(z|x) − log p(z) at the "
               f"drawn z. Mean difference (Monte Carlo − closed form) over "
               f"{len(run.history['kl'])} iterations: {measured['kl_difference']:.3f} ± "
               f"{measured['kl_difference_se']:.3f} nats.")
    arrays = {"closed": np.asarray(run.history["kl"]),
              "monte_carlo": np.asarray(run.history["kl_mc"])}
    labels = ("KL(q(z|x) ‖ p(z)) per iteration", run.iterations_per_epoch)
    return Figure(f"kl_estimates_{name}", caption, arrays, labels, "kl_estimates")


def log_likelihood_vs_k(name: str, run, measured: dict, evaluation) -> Figure:
    caption = (f"Run <code>{name}</code>: importance-sampled log p(x) of the {measured['n_test']}"
               f" test images against the number K of samples from q(z|x) (the first K of the "
               f"same {measured['k']}), and the ELBO of the same images "
               f"({measured['test_elbo']:.1f} nats). Bars: standard error of the difference "
               f"from the ELBO over images (the images' own spread cancels in it).")
    arrays = {"ks": np.asarray(measured["ks"]), "estimates": np.asarray(measured["estimates"]),
              "standard_errors": np.asarray(measured["gap_ses"]),
              "elbo": np.asarray(measured["test_elbo"])}
    return Figure(f"log_likelihood_vs_k_{name}", caption, arrays,
                  ("log p(x) estimate as K grows",), "log_likelihood_vs_k")


# How each kind is drawn.

@drawing("validation_elbo")
def _draw_validation_elbo(labels, arrays) -> bytes:
    """Validation ELBO after each epoch, the training ELBO averaged over each epoch, and the
    course's target as a line."""
    title = labels[0]
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    epochs_axis = np.arange(1, len(arrays["validation"]) + 1)
    ax.plot(epochs_axis, arrays["training"], color="tab:gray", marker="o", markersize=2.5,
            linewidth=1, label="training (mean over the epoch)")
    ax.plot(epochs_axis, arrays["validation"], color="tab:blue", marker="o", markersize=3,
            linewidth=1.4, label="validation")
    target = float(arrays["target"])
    ax.axhline(target, color="tab:red", linestyle="--", linewidth=1,
               label=f"course target {target:g} (MNIST)")
    low = min(arrays["validation"].min(), arrays["training"].min(), target)
    high = max(arrays["validation"].max(), arrays["training"].max(), target)
    ax.set_ylim(low - 0.08 * (high - low) - 1, high + 0.08 * (high - low) + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("ELBO (nats per image)")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return to_png(fig)


@drawing("kl_estimates")
def _draw_kl_estimates(labels, arrays) -> bytes:
    title, iterations_per_epoch = labels
    fig, ax = plt.subplots(figsize=(6.0, 2.8))
    steps = np.arange(1, len(arrays["closed"]) + 1)
    ax.plot(steps, arrays["monte_carlo"], color="tab:orange", alpha=0.35, linewidth=0.5,
            label="single-sample Monte Carlo")
    ax.plot(steps, arrays["closed"], color="tab:blue", linewidth=0.9, label="closed form")
    window = max(1, iterations_per_epoch // 4)
    ax.plot(steps[window - 1:], smooth(arrays["monte_carlo"], window), color="tab:red",
            linewidth=1.0, linestyle="--", label=f"Monte Carlo, mean of {window}")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("KL (nats per image)")
    ax.legend(frameon=False, fontsize=7)
    ax.set_title(title)
    fig.tight_layout()
    return to_png(fig)


@drawing("log_likelihood_vs_k")
def _draw_log_likelihood_vs_k(labels, arrays) -> bytes:
    title = labels[0]
    fig, ax = plt.subplots(figsize=(4.0, 2.8))
    ax.errorbar(arrays["ks"], arrays["estimates"], yerr=arrays["standard_errors"],
                color="tab:blue", marker="o", markersize=3.5, capsize=3, linewidth=1.3,
                label="importance-sampled log p(x)")
    ax.axhline(float(arrays["elbo"]), color="tab:gray", linestyle="--", linewidth=1,
               label="ELBO")
    ax.set_xscale("log")
    ax.set_xticks(arrays["ks"], [f"{k:g}" for k in arrays["ks"]])
    ax.minorticks_off()
    ax.set_xlabel("K (samples from q(z|x) per image)")
    ax.set_ylabel("nats per test image")
    ax.legend(frameon=False, fontsize=7, loc="lower right")
    ax.set_title(title)
    fig.tight_layout()
    return to_png(fig)
