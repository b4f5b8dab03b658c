from dataclasses import replace

import pytest
import torch

from report_builder import families
from report_builder.train import TrainConfig, batches, train


def config(**overrides) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "lr": 1e-3, "batch_size": 64, "seed": 3, **overrides})


def fit(data, family_name: str, params: dict, models=None, **options):
    """Train a family's fresh (or given) models with the shared loop; (models, history)."""
    family = families.get(family_name)
    parsed = family.Params(**params)
    if models is None:
        torch.manual_seed(0)
        models = family.build(parsed)
    loop = {key: options.pop(key) for key in list(options) if key in TrainConfig.__annotations__}
    history = train(family, parsed, models, family.tensors(data, parsed), config(**loop),
                    data=data, **options)
    return models, history


def test_training_lowers_the_reconstruction_loss(tiny):
    _, history = fit(tiny, "conv_ae", {"nz": 16}, epochs=3)
    losses = history.losses["recon"]
    assert len(losses) == 3 * 4
    assert sum(losses[-4:]) < 0.6 * sum(losses[:4])


def test_batches_cover_every_image_once_and_drop_a_lone_last_one():
    torch.manual_seed(0)
    chunks = batches(129, 64, "cpu")
    assert [len(c) for c in chunks] == [64, 64]  # the 129th image alone would break BatchNorm
    assert len(torch.cat(chunks).unique()) == 128


def test_same_seed_gives_the_same_model(tiny):
    params = {"nz": 8, "beta": 1e-3}
    first, history = fit(tiny, "conv_vae", params)
    second, again = fit(tiny, "conv_vae", params)
    assert history.losses == again.losses
    for a, b in zip(first["model"].state_dict().values(), second["model"].state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("family, params", [("conv_vae", {"nz": 8, "beta": 1e-3}),
                                            ("bernoulli_vae", {"nz": 8, "hidden": (32,)})])
def test_resuming_from_an_epoch_checkpoint_equals_an_uninterrupted_run(tiny, family, params):
    whole, whole_history = fit(tiny, family, params, epochs=2)
    checkpoints = []
    fit(tiny, family, params, epochs=1, on_epoch_end=checkpoints.append)
    torch.manual_seed(1)  # a fresh process: other weights, then the checkpoint
    fresh = families.get(family).build(families.get(family).Params(**params))
    resumed, history = fit(tiny, family, params, models=fresh, epochs=2, resume=checkpoints[-1])

    assert history.losses == whole_history.losses
    assert history.per_epoch == whole_history.per_epoch
    for a, b in zip(whole["model"].state_dict().values(), resumed["model"].state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)


def test_an_epoch_end_hook_is_kept_per_epoch_and_leaves_training_as_it_was(tiny, monkeypatch):
    params = {"nz": 8, "hidden": (32,)}
    _, history = fit(tiny, "bernoulli_vae", params, epochs=3)
    assert len(history.per_epoch["val_elbo"]) == 3
    module = families.module("bernoulli_vae")
    monkeypatch.setattr(module, "FAMILY", replace(module.FAMILY, epoch_end=None))
    _, without = fit(tiny, "bernoulli_vae", params, epochs=3)
    assert without.per_epoch == {}
    assert without.losses == history.losses  # the hook draws from its own generator


def test_bf16_autocast_reaches_the_fp32_loss(tiny):
    """Same science: bf16 training ends within 5 % of fp32's reconstruction loss."""
    final = {}
    for precision in ("fp32", "bf16"):
        _, history = fit(tiny, "conv_ae", {"nz": 16}, epochs=3, precision=precision)
        final[precision] = sum(history.losses["recon"][-4:]) / 4
    assert final["bf16"] == pytest.approx(final["fp32"], rel=0.05)


@pytest.mark.parametrize("layout, precision, expected", [
    (None, "bf16", True), (None, "fp32", False), (True, "fp32", True), (False, "bf16", False)])
def test_a_family_chooses_the_layout_it_trains_in(tiny, monkeypatch, layout, precision,
                                                  expected):
    module = families.module("conv_ae")
    monkeypatch.setattr(module, "FAMILY", replace(module.FAMILY, channels_last=layout))
    seen = []
    step = module.FAMILY.step
    monkeypatch.setattr(module, "FAMILY", replace(module.FAMILY, step=lambda models, *rest: (
        seen.append(models["model"].encoder[2].weight.is_contiguous(
            memory_format=torch.channels_last)), step(models, *rest))[1]))
    fit(tiny, "conv_ae", {"nz": 8}, epochs=1, precision=precision)
    assert seen and set(seen) == {expected}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
@pytest.mark.parametrize("family, params", [
    ("conv_ae", {"nz": 8}), ("bernoulli_vae", {"nz": 8, "hidden": (32,)}),
    ("gan", {"loss": "wgan-gp", "n_critic": 2, "nz": 8})])
def test_training_runs_on_cuda(tiny, family, params):
    models, history = fit(tiny, family, params, epochs=1, device="cuda")
    assert all(next(model.parameters()).is_cuda for model in models.values())
    assert all(torch.isfinite(torch.tensor(values)).all() for values in history.losses.values())
