"""The diffusion family: the schedules, the two samplers against an oracle that knows the
noise, the U-Net, the training step and the measurements' reading of a trajectory."""

import math

import pytest
import torch
from torch.nn import functional as F

from report_builder.families import ddpm as family
from report_builder.families.ddpm import measures, sampling
from report_builder.families.ddpm.sampling import ddim_times
from report_builder.families.ddpm.schedule import Process, betas
from report_builder.families.ddpm.unet import UNet, upsample
from report_builder.train import Fit


def test_the_linear_schedule_is_ho_et_al_s():
    beta = betas("linear", 1000)
    assert beta[0].item() == pytest.approx(1e-4) and beta[-1].item() == pytest.approx(0.02)
    assert torch.all(beta[1:] > beta[:-1])


def test_the_cosine_schedule_follows_its_formula():
    process = Process.make("cosine", 1000)
    def f(t: float) -> float:
        return math.cos((t / 1000 + 0.008) / 1.008 * math.pi / 2) ** 2
    for t in (1, 250, 500, 750):
        assert process.alpha_bar[t].item() == pytest.approx(f(t) / f(0), rel=1e-9)
    assert process.beta.max().item() <= 0.999
    assert torch.all(process.alpha_bar[1:] < process.alpha_bar[:-1])


def test_the_cosine_schedule_destroys_the_image_more_slowly():
    linear = measures.destruction(Process.make("linear", 1000))
    cosine = measures.destruction(Process.make("cosine", 1000))
    assert cosine["half_signal_t"] > linear["half_signal_t"]
    assert linear["pure_noise_share"] > cosine["pure_noise_share"]
    process = Process.make("linear", 1000)
    t = linear["half_signal_t"]
    assert process.alpha_bar[t] < 0.5 <= process.alpha_bar[t - 1]


def test_noising_draws_from_q_of_x_t_given_x_0():
    process, t = Process.make("linear", 1000), 300
    x0 = torch.full((20_000, 1, 1, 1), 0.5)
    xt = process.noised(x0, torch.full((20_000,), t), torch.randn(x0.shape))
    a = process.alpha_bar[t].item()
    assert xt.mean().item() == pytest.approx(math.sqrt(a) * 0.5, abs=0.02)
    assert xt.var().item() == pytest.approx(1 - a, rel=0.05)


def oracle(process: Process, x0: torch.Tensor):
    """ε_θ that knows x_0: the noise that explains x_t exactly."""
    def eps(x, t):
        a = float(process.alpha_bar[t])
        return (x - math.sqrt(a) * x0) / math.sqrt(1 - a)
    return eps


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_both_samplers_land_on_x_0_when_the_noise_is_known(schedule):
    process = Process.make(schedule, 1000)
    x0 = torch.rand(4, 1, 28, 28) * 2 - 1
    start = torch.randn(x0.shape)
    for steps in (10, 50):
        assert torch.allclose(sampling.ddim_samples(oracle(process, x0), process, start, steps),
                              x0, atol=1e-4)
    ancestral, kept = sampling.ddpm_samples(oracle(process, x0), process, start,
                                            torch.Generator().manual_seed(0), [1000, 1])
    assert torch.allclose(ancestral, x0, atol=1e-4)
    assert torch.allclose(kept[1], x0, atol=1e-4) and set(kept) == {1000, 1}


def test_the_posterior_step_is_algorithm_2_when_nothing_is_clipped():
    process, t = Process.make("linear", 1000), 400
    x0 = torch.rand(3, 1, 28, 28) * 1.6 - 0.8
    eps = torch.randn(x0.shape)
    xt = process.noised(x0, torch.full((3,), t), eps)
    noise = torch.randn(x0.shape)
    beta, alpha, alpha_bar = (float(v[t]) for v in (process.beta, process.alpha,
                                                     process.alpha_bar))
    algorithm_2 = (xt - beta / math.sqrt(1 - alpha_bar) * eps) / math.sqrt(alpha) + \
        math.sqrt(beta) * noise
    assert torch.allclose(sampling.ddpm_step(process, xt, t, eps, noise), algorithm_2, atol=1e-5)


def test_ddim_visits_the_requested_number_of_steps_from_t_down_to_1():
    for steps in (10, 20, 50, 100):
        times = ddim_times(1000, steps)
        assert len(times) == steps and times[0] == 1000 and times[-1] == 1
        assert times == sorted(times, reverse=True)
    with pytest.raises(ValueError, match="sampling steps"):
        ddim_times(1000, 0)


def test_the_unet_predicts_an_image_sized_noise_that_depends_on_t():
    torch.manual_seed(0)
    net = UNet((8, 16, 16), time_dim=32).eval()
    x = torch.randn(2, 1, 28, 28)
    early, late = net(x, torch.tensor([1, 1])), net(x, torch.tensor([900, 900]))
    assert early.shape == x.shape and not torch.allclose(early, late)
    small = torch.randn(2, 3, 7, 7)
    assert torch.equal(upsample(small), F.interpolate(small, scale_factor=2.0))


def test_a_step_lowers_the_loss_and_the_average_follows_the_weights():
    torch.manual_seed(0)
    params = family.Params(channels=(8, 16, 16), ema_decay=0.9)
    models = family.build(params)
    optimizers = family.optimizers(models, params, 2e-3)
    batch = [torch.rand(32, 1, 28, 28)]
    fit = Fit(torch.autocast("cpu", enabled=False))
    before = [p.clone() for p in models["ema"].parameters()]
    losses = [family.step(models, optimizers, batch, params, fit)["loss"].item()
              for _ in range(30)]
    assert sum(losses[-5:]) < sum(losses[:5])
    moved = [not torch.equal(a, b) for a, b in zip(before, models["ema"].parameters(),
                                                   strict=True)]
    assert all(moved) and not any(p.requires_grad for p in models["ema"].parameters())
    assert set(optimizers) == {"model"}


def test_the_class_is_decided_where_every_later_step_agrees():
    rows = [{"t": 1000, "same_class": 0.2}, {"t": 500, "same_class": 0.92},
            {"t": 200, "same_class": 0.88}, {"t": 50, "same_class": 0.95},
            {"t": 1, "same_class": 1.0}]
    assert measures.decided_at(rows) == 50  # 200 dips below 90%: not settled from 500 on
    rows[2]["same_class"] = 0.91
    assert measures.decided_at(rows) == 500
    assert measures.decided_at([{"t": 1, "same_class": 0.5}]) is None


def test_the_folder_s_measures_and_figures_are_not_training_code():
    from report_builder import families

    modules = families.training_modules("ddpm")
    assert {"report_builder.families.ddpm", "report_builder.families.ddpm.schedule",
            "report_builder.families.ddpm.unet", "report_builder.train"} <= set(modules)
    assert not any(name.endswith((".measures", ".figures", ".sampling")) for name in modules)


def test_a_ddim_step_explains_x_t_and_x_prev_by_one_clipped_x_0_and_one_noise():
    process, t, previous = Process.make("linear", 1000), 900, 800
    x = torch.randn(2, 1, 28, 28)
    eps = 3 * torch.randn(x.shape)  # a poor prediction: x̂_0 far outside [−1, 1]
    x0 = sampling.predicted_x0(process, x, t, eps)
    assert x0.abs().max() <= 1
    a, a_prev = (float(process.alpha_bar[s]) for s in (t, previous))
    noise = (sampling.ddim_step(process, x, t, previous, eps) - math.sqrt(a_prev) * x0) / \
        math.sqrt(1 - a_prev)
    assert torch.allclose(math.sqrt(a) * x0 + math.sqrt(1 - a) * noise, x, atol=1e-4)


def test_editing_the_sampler_remeasures_without_retraining(monkeypatch):
    from report_builder import families

    measures_module = "report_builder.families.ddpm.measures"
    families.code_version.cache_clear()
    families.measure_version.cache_clear()
    before = families.code_version("ddpm"), families.measure_version("ddpm", measures_module)
    original = families.source
    monkeypatch.setattr(families, "source", lambda name: original(name) + (
        "\n# edited\n" if name == "report_builder.families.ddpm.sampling" else ""))
    families.code_version.cache_clear()
    families.measure_version.cache_clear()
    try:
        after = families.code_version("ddpm"), families.measure_version("ddpm", measures_module)
    finally:
        families.code_version.cache_clear()
        families.measure_version.cache_clear()
    assert after[0] == before[0]  # the trained runs stay cached
    assert after[1] != before[1]  # their metrics are measured again
