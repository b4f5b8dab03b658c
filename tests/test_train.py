import pytest
import torch

from report_builder.data import as_float
from report_builder.models.conv import VAE, AutoEncoder
from report_builder.train import TrainConfig, batches, train


def config(**overrides) -> TrainConfig:
    return TrainConfig(**{"epochs": 2, "lr": 1e-3, "batch_size": 64, "seed": 3, **overrides})


def test_training_lowers_the_reconstruction_loss(tiny):
    history = train(AutoEncoder(nz=16), [as_float(tiny.train_images)], config(epochs=3))
    losses = history.losses["recon"]
    assert len(losses) == 3 * 4
    assert sum(losses[-4:]) < 0.6 * sum(losses[:4])


def test_batches_cover_every_image_once_and_drop_a_lone_last_one():
    torch.manual_seed(0)
    chunks = batches(129, 64, "cpu")
    assert [len(c) for c in chunks] == [64, 64]  # the 129th image alone would break BatchNorm
    assert len(torch.cat(chunks).unique()) == 128


def test_same_seed_gives_the_same_model(tiny):
    images = [as_float(tiny.train_images)]
    first, second = VAE(nz=8, beta=1e-3), VAE(nz=8, beta=1e-3)
    second.load_state_dict(first.state_dict())
    assert train(first, images, config()).losses == train(second, images, config()).losses
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_resuming_from_an_epoch_checkpoint_equals_an_uninterrupted_run(tiny):
    images = [as_float(tiny.train_images)]
    start = VAE(nz=8, beta=1e-3).state_dict()
    whole = VAE(nz=8, beta=1e-3)
    whole.load_state_dict(start)
    train(whole, images, config(epochs=2))

    checkpoints = []
    interrupted = VAE(nz=8, beta=1e-3)
    interrupted.load_state_dict(start)
    train(interrupted, images, config(epochs=1), on_epoch_end=checkpoints.append)
    resumed = VAE(nz=8, beta=1e-3)  # a fresh process: new weights, then the checkpoint
    history = train(resumed, images, config(epochs=2), resume=checkpoints[-1])

    assert len(history.losses["kl"]) == 2 * 4
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_bf16_autocast_reaches_the_fp32_loss(tiny):
    """Same science: bf16 training ends within 5 % of fp32's reconstruction loss."""
    images = [as_float(tiny.train_images)]
    final = {}
    for precision in ("fp32", "bf16"):
        torch.manual_seed(0)
        history = train(AutoEncoder(nz=16), images, config(epochs=3, precision=precision))
        final[precision] = sum(history.losses["recon"][-4:]) / 4
    assert final["bf16"] == pytest.approx(final["fp32"], rel=0.05)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_training_runs_on_cuda(tiny):
    model = AutoEncoder(nz=8)
    train(model, [as_float(tiny.train_images)], config(epochs=1, device="cuda"))
    assert next(model.parameters()).is_cuda
