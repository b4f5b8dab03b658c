"""What a trained SimSiam run measures: kNN and linear-probe accuracy of its features
against raw pixels and its own untrained encoder (paired over the test images), and its
collapse measures at the end and at initialisation."""

import math

import torch
from torch.nn import functional as F

from ...noise import mean_and_se, paired_values
from ...train import as_float
from .network import SimSiam
from .readout import collapse, features, knn_correct, linear_probe_correct

CHANCE = 0.1  # ten classes


def measure(run, evaluation) -> dict:
    params, data = run.config.params, evaluation.data
    device = evaluation.test_images.device
    train, test = as_float(data.train_images, device), evaluation.test_images
    labels = (data.train_labels.to(device), data.test_labels.to(device))

    def knn(net: SimSiam | None) -> torch.Tensor:
        if net is None:  # raw pixels
            memory = F.normalize(train.flatten(1), dim=1)
            queries = F.normalize(test.flatten(1), dim=1)
        else:
            memory, queries = features(net, train), features(net, test)
        return knn_correct(memory, labels[0], queries, labels[1], params.knn_k,
                           params.knn_temperature)

    def probe(net: SimSiam | None) -> torch.Tensor:
        memory, queries = ((train.flatten(1), test.flatten(1)) if net is None else
                           (features(net, train), features(net, test)))
        return linear_probe_correct(memory, labels[0], queries, labels[1])

    torch.manual_seed(run.config.seed)  # the run's own initial weights
    initial = run.family.build(params)["model"].to(device)
    # Per test image, 1.0 where the reading classed it right: accuracies are their means,
    # differences between readings on the same images paired.
    trained, pixels, at_init = (knn(net).double().numpy() for net in (run.model, None, initial))
    probed, pixels_probed, init_probed = (probe(net).double().numpy()
                                          for net in (run.model, None, initial))
    over_pixels, over_init = paired_values(trained, pixels), paired_values(trained, at_init)
    probe_over_pixels = paired_values(probed, pixels_probed)
    probe_over_init = paired_values(probed, init_probed)

    def se(correct) -> float:
        return mean_and_se(correct)[1]
    final, start = collapse(run.model, test), collapse(initial, test)
    healthy = 1 / math.sqrt(params.dim)
    epochs = run.epoch_history
    return {
        "knn_accuracy": epochs["knn_accuracy"],
        "final_knn_accuracy": trained.mean(),
        "final_knn_se": se(trained),
        "best_knn_accuracy": max(epochs["knn_accuracy"]),
        "output_std": epochs["output_std"],  # test images, eval mode, after every epoch
        "output_rank": epochs["output_rank"],
        "batch_output_std": run.epoch_means("batch_output_std"),  # the paper's, see above
        "final_output_std": final["output_std"],
        "final_output_rank": final["output_rank"],
        "final_feature_rank": final["feature_rank"],
        "init_output_std": start["output_std"],
        "init_output_rank": start["output_rank"],
        "init_feature_rank": start["feature_rank"],
        "healthy_std": healthy,
        "final_loss": run.epoch_means("loss")[-1],
        "pixel_knn_accuracy": pixels.mean(),
        "pixel_knn_se": se(pixels),
        "init_knn_accuracy": at_init.mean(),
        "init_knn_se": se(at_init),
        "gain_over_pixels": over_pixels.difference, "gain_over_pixels_se": over_pixels.se,
        "gain_over_init": over_init.difference, "gain_over_init_se": over_init.se,
        "probe_accuracy": probed.mean(),
        "probe_se": se(probed),
        "pixel_probe_accuracy": pixels_probed.mean(),
        "pixel_probe_se": se(pixels_probed),
        "init_probe_accuracy": init_probed.mean(),
        "init_probe_se": se(init_probed),
        "probe_gain_over_pixels": probe_over_pixels.difference,
        "probe_gain_over_pixels_se": probe_over_pixels.se,
        "probe_gain_over_init": probe_over_init.difference,
        "probe_gain_over_init_se": probe_over_init.se,
        "chance": CHANCE,
        "references": {"knn_accuracy": CHANCE, "output_std": start["output_std"],
                       "output_rank": start["output_rank"]},
        "per_image": {"knn_correct": trained.tolist()},  # paired across runs
    }
