"""The KL-schedule family: the schedules, what the cache may share, and bad specs."""

import pytest
import torch
from specs import one_run_spec
from torch import nn

from report_builder.errors import ReportBuilderError
from report_builder.families.autoencoding import beta_vae as family
from report_builder.families.autoencoding import measures as ev
from report_builder.runs import RunConfig, RunStore, run_key
from report_builder.spec import load_spec

SMALL = {"nz": 4, "hidden": (32,)}


def test_the_schedules_rise_as_their_papers_draw_them():
    linear = family.Params(schedule="linear", warmup_epochs=10)
    assert [family.kl_weight(linear, t) for t in (0, 5, 10, 15)] == [0, 0.5, 1, 1]
    cyclical = family.Params(schedule="cyclical", cycle_epochs=5, ramp_share=0.5, beta=2.0)
    assert [family.kl_weight(cyclical, t) for t in (0, 1.25, 2.5, 4, 5, 6.25)] == [
        0, 1, 2, 2, 0, 1]
    assert family.kl_weight(family.Params(beta=1.2), 3.7) == 1.2


def test_a_schedule_is_applied_every_iteration(tmp_path, tiny):
    config = RunConfig.make("beta_vae", 2, batch_size=64, schedule="linear", warmup_epochs=2,
                            **SMALL)
    run = RunStore(tmp_path).get("warmup", config, tiny, "cpu")
    weights = run.history["beta"]
    assert weights[0] == 0 and weights == sorted(weights) and len(set(weights)) == len(weights)
    assert weights[-1] == pytest.approx(7 / 8)  # step 7 of 8: 1.75 of 2 warm-up epochs


def test_a_warm_up_run_and_a_constant_run_never_share_an_entry(tiny):
    constant = RunConfig.make("beta_vae", 2, **SMALL)
    assert run_key(constant, tiny) != run_key(
        RunConfig.make("beta_vae", 2, schedule="linear", **SMALL), tiny)
    # The warm-up length is read only by a linear schedule, but it is still part of the key.
    assert run_key(constant, tiny) != run_key(
        RunConfig.make("beta_vae", 2, warmup_epochs=3, **SMALL), tiny)


def test_a_longer_run_extends_a_shorter_one_only_when_its_schedule_is_a_prefix(tmp_path, tiny):
    store = RunStore(tmp_path)
    warm = {"schedule": "linear", "warmup_epochs": 2, **SMALL}
    store.get("short", RunConfig.make("beta_vae", 2, seed=1, **warm), tiny, "cpu")

    same_warmup = RunConfig.make("beta_vae", 4, seed=1, **warm)  # the short run is its prefix
    seen = []
    longer = store.get("long", same_warmup, tiny, "cpu", on_batch=lambda e, s, v: seen.append(e))
    assert set(seen) == {2, 3}
    scratch = RunStore(tmp_path / "scratch").get("long", same_warmup, tiny, "cpu")
    assert longer.history == scratch.history

    stretched = RunConfig.make("beta_vae", 4, seed=1, **{**warm, "warmup_epochs": 4})
    seen.clear()  # a warm-up over 4 epochs is not a warm-up over 2 followed by more
    other = store.get("stretched", stretched, tiny, "cpu", on_batch=lambda e, s, v: seen.append(e))
    assert set(seen) == {0, 1, 2, 3}
    assert other.history["beta"][:8] != longer.history["beta"][:8]


class HalfActive(nn.Module):
    """Posterior means that follow the image in dimension 0 and are constant in 1."""

    def encode(self, x):
        mean = torch.stack([x.flatten(1).mean(1) * 10, torch.zeros(len(x))], dim=1)
        return mean, torch.zeros_like(mean)


def test_active_units_count_the_dimensions_that_vary_across_images(tiny):
    images = tiny.test_images[:50].unsqueeze(1).float() / 255
    assert ev.active_units(HalfActive(), images) == 1


@pytest.mark.parametrize("run, says", [
    ("{family: beta_vae, epochs: 20, schedule: linear, warmup_epochs: 30}",
     "runs.warmup: warmup_epochs 30 is longer than the run (20 epochs)"),
    ("{family: beta_vae, epochs: 20, schedule: sigmoid}",
     "runs.warmup: schedule: Input should be 'constant', 'linear' or 'cyclical'"),
    ("{family: beta_vae, epochs: 20, beta: -1}",
     "runs.warmup: beta: Input should be greater than or equal to 0"),
])
def test_a_bad_schedule_names_the_spec_field(tmp_path, run, says):
    path = one_run_spec(tmp_path, "warmup", run)
    with pytest.raises(ReportBuilderError) as error:
        load_spec("beta-vae", path)
    assert says in str(error.value) and str(path) in str(error.value)
