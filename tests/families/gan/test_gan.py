"""The GAN family: the gradient penalty, the three losses' steps, generator iterations,
snapshots that survive a resume, and bad specs."""

import pytest
import torch
from specs import one_run_spec
from torch import nn
from torch.func import functional_call

from report_builder.errors import ReportBuilderError
from report_builder.families import gan as family
from report_builder.families.gan.networks import Discriminator
from report_builder.runs import RunConfig, RunStore, run_key
from report_builder.spec import load_spec
from report_builder.train import Fit

FIT = Fit(torch.autocast("cpu", enabled=False))


def test_the_penalty_of_a_linear_critic_is_its_closed_form():
    """D(x) = w·x + b has ∇D = w everywhere: GP = (||w|| - 1)², d GP / dw = 2(||w|| - 1) w/||w||."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    points = torch.rand(8, 1, 28, 28, requires_grad=True)
    penalty = family.gradient_penalty(critic(points).squeeze(1), points)
    w = critic[1].weight.detach().flatten()
    assert penalty.item() == pytest.approx(((w.norm() - 1) ** 2).item(), rel=1e-5)
    norms = family.gradient_norms(critic(points).squeeze(1), points)
    assert torch.allclose(norms.detach(), w.norm().expand(8), rtol=1e-5)
    penalty.backward()  # through the gradient: the double backward
    expected = 2 * (w.norm() - 1) * w / w.norm()
    assert torch.allclose(critic[1].weight.grad.flatten(), expected, atol=1e-6)


def test_the_penalty_gradient_through_the_conv_critic_matches_finite_differences():
    """The double backward through convolutions and LeakyReLU, against torch's numerical
    gradient of the penalty as a function of the critic's weights (float64)."""
    torch.manual_seed(0)
    critic = Discriminator(batch_norm=False, width=2).double()
    points = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    names = [name for name, _ in critic.named_parameters()]

    def penalty(*weights):
        x = points.clone().requires_grad_(True)
        scores = functional_call(critic, dict(zip(names, weights, strict=True)), (x,))
        return family.gradient_penalty(scores, x)

    weights = tuple(p.detach().clone().requires_grad_(True) for p in critic.parameters())
    assert torch.autograd.gradcheck(penalty, weights, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("loss", ["vanilla", "lsgan", "wgan-gp"])
def test_one_generator_iteration_updates_both_networks(loss):
    torch.manual_seed(0)
    n_critic = 5 if loss == "wgan-gp" else 1
    params = family.Params(loss=loss, n_critic=n_critic, nz=8)
    models = family.build(params)
    optimizers = family.optimizers(models, params, 1e-3)
    before = {name: [p.clone() for p in model.parameters()] for name, model in models.items()}
    parts = family.step(models, optimizers, [torch.rand(16 * n_critic, 1, 28, 28)], params, FIT)
    for name, model in models.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], model.parameters(),
                                                         strict=True))
    steps = [optimizers[name].state[next(models[name].parameters())]["step"].item()
             for name in ("discriminator", "generator")]
    assert steps == [n_critic, 1]
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(parts)
    assert ("wasserstein" in parts) == (loss == "wgan-gp")
    assert all(torch.isfinite(value) for value in parts.values())
    has_norm = any(isinstance(m, nn.BatchNorm2d) for m in models["discriminator"].modules())
    assert has_norm == (loss != "wgan-gp")  # the critic has no batch norm


def test_an_epoch_is_a_fixed_number_of_generator_iterations_over_whole_passes():
    params = family.Params(loss="wgan-gp", n_critic=5)
    torch.manual_seed(0)
    batches = family.batches(1000, 16, params, "cpu")
    assert len(batches) == family.EPOCH_ITERATIONS
    assert all(len(batch) == 5 * 16 for batch in batches)
    order = torch.cat(batches)  # 4000 draws: four whole passes over the 1000 images
    assert torch.equal(torch.bincount(order, minlength=1000), torch.full((1000,), 4))


def test_snapshots_are_kept_and_a_resumed_run_has_them_all(tmp_path, tiny):
    config = RunConfig.make("gan", 3, batch_size=16, loss="lsgan", nz=8,
                            snapshots=(0, 50, 100))
    store = RunStore(tmp_path / "sliced")
    while store.advance("sliced", config, tiny, "cpu", max_epochs=1) != "finished":
        pass
    sliced = store.load("sliced", run_key(config, tiny), config, "cpu")
    whole = RunStore(tmp_path / "whole").get("whole", config, tiny, "cpu")
    assert sorted(sliced.snapshots) == sorted(whole.snapshots) == [0, 1, 2, 3]  # + the final
    for epoch, state in whole.snapshots.items():
        assert all(torch.equal(state[key], sliced.snapshots[epoch][key]) for key in state)
    final = whole.models["generator"].state_dict()
    assert all(torch.equal(final[key], whole.snapshots[3][key]) for key in final)
    assert not torch.equal(whole.snapshots[0]["project.weight"], final["project.weight"])
    assert len(whole.history["g_loss"]) == 3 * family.EPOCH_ITERATIONS


@pytest.mark.parametrize(("run", "message"), [
    ("{family: gan, iterations: 100, loss: wgan}",
     r"runs\.g: loss: Input should be 'vanilla', 'lsgan' or 'wgan-gp'"),
    ("{family: gan, iterations: 100, loss: wgan-gp, n_critic: 0}",
     r"runs\.g: n_critic: Input should be greater than or equal to 1"),
    ("{family: gan, iterations: 100, loss: lsgan, snapshots: [0, 50, 200]}",
     r"runs\.g: snapshots: 200 is beyond the run's last generator iteration \(100\)"),
    ("{family: gan, iterations: 100, loss: lsgan, snapshots: [0, 75]}",
     r"runs\.g: snapshots: .*snapshot 75 must be a multiple of 50"),
    ("{family: gan, epochs: 3, loss: lsgan}",
     r"runs\.g: family gan counts iterations: give iterations, not epochs"),
    ("{family: gan, iterations: 120, loss: lsgan}",
     r"runs\.g: iterations must be a positive multiple of 50 for family gan, got 120"),
])
def test_bad_gan_runs_name_the_spec_field(tmp_path, run, message):
    with pytest.raises(ReportBuilderError, match=message):
        load_spec("p", one_run_spec(tmp_path, "g", run))


def test_the_quick_profile_keeps_the_snapshots_within_its_run():
    from report_builder.spec import with_profile

    quick = with_profile(load_spec("gan"), "quick").runs["vanilla"]
    assert quick.epochs * family.EPOCH_ITERATIONS == 50
    assert family.snapshots(quick.params, quick.epochs) == ("generator", [0, 1])


def test_a_wgan_gp_step_runs_in_bf16_autocast():
    """What --precision bf16 does: the double backward of the penalty under autocast."""
    torch.manual_seed(0)
    params = family.Params(loss="wgan-gp", n_critic=2, nz=8)
    models = family.build(params)
    optimizers = family.optimizers(models, params, 1e-4)
    bf16 = Fit(torch.autocast("cpu", dtype=torch.bfloat16))
    parts = family.step(models, optimizers, [torch.rand(32, 1, 28, 28)], params, bf16)
    assert all(value.dtype == torch.float32 and torch.isfinite(value) for value in parts.values())
