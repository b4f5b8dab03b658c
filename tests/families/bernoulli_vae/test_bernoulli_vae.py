"""The likelihood family: binarization, the validation split, the KL estimates, and the
importance-sampled log-likelihood with its check against the ELBO."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from report_builder.errors import ReportBuilderError
from report_builder.families import bernoulli_vae as family
from report_builder.families.autoencoding.mlp import MLPVAE
from report_builder.families.bernoulli_vae import binarized, measures
from report_builder.measure import Evaluation
from report_builder.models.distributions import log_standard_normal
from report_builder.runs import RunConfig, RunStore
from report_builder.train import as_float

SMALL = {"nz": 8, "hidden": (64,)}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny):
    """A small VAE of this family trained 3 epochs on the tiny set, and its evaluation."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    config = RunConfig.make("bernoulli_vae", 3, lr=3e-3, batch_size=32, seed=1, **SMALL)
    run = store.get("vae", config, tiny, "cpu")
    evaluation = Evaluation(store, None, "no-judge", tiny, as_float(tiny.test_images),
                            tiny.test_labels, 64, 1)
    return run, evaluation


def test_validation_and_test_images_are_binarized_once_and_the_split_is_fixed(tiny):
    images = as_float(tiny.test_images[:20])
    assert torch.equal(family.binarize(images), family.binarize(images))
    assert set(family.binarize(images).unique().tolist()) == {0.0, 1.0}
    train, validation = family.split(600, 1 / 6)
    assert len(validation) == 100 and len(train) == 500
    assert not set(train.tolist()) & set(validation.tolist())
    assert torch.equal(family.split(600, 1 / 6)[1], validation)


def test_training_draws_a_new_binarization_at_every_visit(tiny):
    x = as_float(tiny.train_images[:64])
    torch.manual_seed(0)
    first = torch.bernoulli(x)
    assert not torch.equal(first, torch.bernoulli(x))  # what `step` does to every batch


def test_the_two_kl_estimates_agree_in_the_mean(trained):
    run, _ = trained
    closed, sampled = np.asarray(run.history["kl"]), np.asarray(run.history["kl_mc"])
    difference = sampled - closed
    assert len(closed) == len(sampled) == len(run.history["loss"])
    assert abs(difference.mean()) < 4 * difference.std(ddof=1) / math.sqrt(len(difference))
    assert difference.std() > 0  # one is noisy, the other is not


@torch.no_grad()
def exact_log_likelihood(model: MLPVAE, x: torch.Tensor) -> np.ndarray:
    """log p(x) = log ∫ p(x|z) N(z; 0, 1) dz for a 1-d latent, by quadrature."""
    grid = torch.linspace(-10, 10, 20001, dtype=torch.float64)
    logits = model.decode_logits(grid.float()[:, None]).double().flatten(1)  # [G, 784]
    log_px_z = -torch.stack([F.binary_cross_entropy_with_logits(
        logits, image.flatten().double().expand_as(logits), reduction="none").sum(1)
        for image in x], dim=1)  # [G, images]
    log_joint = log_px_z + log_standard_normal(grid[:, None, None])
    return (torch.logsumexp(log_joint, dim=0) + math.log(grid[1] - grid[0])).numpy()


def test_importance_sampling_converges_to_the_exact_log_likelihood(tiny):
    torch.manual_seed(0)
    model = MLPVAE(nz=1, hidden=(16,)).eval()
    x = family.binarize(as_float(tiny.test_images[:6]))
    exact = exact_log_likelihood(model, x)
    weights = measures.importance_log_weights(model, x, 4000, seed=0)
    estimates = {k: measures.importance_log_likelihood(weights, k) for k in (1, 4000)}
    assert np.array_equal(estimates[1], weights[:, 0])  # one weight: its own log
    recon, kl = family.elbo_each(model, x, torch.Generator().manual_seed(0), samples=200)
    elbo = -(recon + kl).numpy()
    assert estimates[4000] == pytest.approx(exact, abs=0.05)
    assert np.all(elbo <= exact + 0.05)  # a lower bound, image by image
    # The mean log weight is the ELBO (KL by Monte Carlo instead of in closed form).
    assert weights.mean() == pytest.approx(elbo.mean(), abs=1.0)


def test_a_trained_model_passes_the_check_with_log_likelihood_above_the_elbo(trained):
    run, evaluation = trained
    measured = measures.measure(run, evaluation)
    assert measured["test_log_likelihood"] >= measured["test_elbo"]
    assert measured["gap"] > 0 and measured["gap_se"] > 0
    assert measured["estimates"][-1] > measured["estimates"][0]  # K = 200 above K = 1
    assert len(measured["val_elbo"]) == 3 and measured["n_test"] == len(tiny_labels(evaluation))


def tiny_labels(evaluation):
    return evaluation.test_labels


class BatchDependentDecoder(MLPVAE):
    """A decoder whose output depends on the batch it is in (as with BatchNorm left in
    training mode), taken to the extreme: in the estimator's large batches every pixel
    comes back with p = 1/2, in the ELBO's smaller ones it is the trained decoder."""

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        logits = super().decode_logits(z)
        return torch.zeros_like(logits) if len(z) > binarized.EVAL_BATCH else logits


def test_an_estimate_below_the_elbo_fails_the_build(trained):
    run, evaluation = trained
    broken = BatchDependentDecoder(SMALL["nz"], SMALL["hidden"])
    broken.load_state_dict(run.model.state_dict())
    with pytest.raises(ReportBuilderError, match="below the ELBO .* a bug"):
        measures.measure(dataclasses.replace(run, models={"model": broken.eval()}), evaluation)


def test_the_check_itself_passes_noise_and_refuses_a_clear_shortfall():
    rng = np.random.default_rng(0)
    elbo = rng.normal(-100, 5, 1000)
    measures.check_bound(elbo + rng.normal(0, 0.5, 1000), elbo)  # equal up to noise: passes
    with pytest.raises(ReportBuilderError):
        measures.check_bound(elbo - 1 + rng.normal(0, 0.5, 1000), elbo)
