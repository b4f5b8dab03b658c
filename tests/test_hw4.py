"""hw4: the MLP VAE, the latent manifold, the shared run, and drafts that follow numbers."""

import copy

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from report_builder.answers import render_answers
from report_builder.families.autoencoding.measures import latent_manifold
from report_builder.families.autoencoding.mlp import MLPVAE
from report_builder.jobs import TrainingPool
from report_builder.plan import run_plan
from report_builder.runs import RunStore, run_key
from report_builder.slices import Request, SilentReporter
from report_builder.spec import load_spec, with_profile


def test_manifold_corners_decode_the_z_they_claim():
    torch.manual_seed(0)
    model = MLPVAE(nz=2, hidden=(16,)).eval()
    z, images = latent_manifold(model, size=20, limit=4.0)
    corners = {0: (-4.0, 4.0), 19: (4.0, 4.0), 380: (-4.0, -4.0), 399: (4.0, -4.0)}
    for index, corner in corners.items():
        row, column = divmod(index, 20)
        assert tuple(z[row, column].tolist()) == corner
        direct = model.decode(torch.tensor([corner]))
        assert torch.allclose(images[index], direct[0])


def test_mlp_vae_loss_is_the_negative_elbo_in_nats():
    torch.manual_seed(0)
    model = MLPVAE(nz=3, hidden=(32, 16), beta=1.0)
    x = torch.rand(4, 1, 28, 28).round()
    torch.manual_seed(1)
    parts = model.loss(x)
    torch.manual_seed(1)
    mu, log_sigma = model.encode(x)
    logits = model.decode_logits(model.reparameterize(mu, log_sigma))
    expected = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") / 4
    assert parts["recon"].item() == pytest.approx(expected.item(), rel=1e-4)
    assert model.decode(mu).shape == (4, 1, 28, 28)


def test_the_shared_run_has_one_key_and_trains_once(tmp_path, tiny):
    spec = with_profile(load_spec("hw4"), "quick")
    plan = run_plan(spec, seed=0, precision="fp32")
    assert run_key(plan["latent_2"], tiny) == run_key(plan["weight_1"], tiny)
    assert len({run_key(c, tiny) for n, c in plan.items() if n != "classifier"}) == 7

    batches = []
    store = RunStore(tmp_path)
    with TrainingPool(store, tiny, "cpu", 1, SilentReporter()) as pool:
        pool.submit([Request("latent_2", plan["latent_2"]), Request("weight_1", plan["weight_1"])])
        original = store.get
        store.get = lambda *a, **k: batches.append(a[0]) or original(*a, **k)
        runs = pool.wait()
    assert runs["weight_1"].same_as == "latent_2" and runs["weight_1"].reused
    assert not runs["latent_2"].reused
    assert runs["weight_1"].key == runs["latent_2"].key


def hw4_run(nz, beta, elbo, sharpness, readable, frechet, spread, kl, scatter=2.0,
            frechet_se=1.0):
    """scatter: the run's own per-image noise around the images' shared difficulty."""
    hardness = np.random.default_rng(0).normal(0, 20, 1000)
    own = np.random.default_rng(nz + int(100 * beta)).normal(0, scatter, 1000)
    per_image = hardness + own - (hardness + own).mean() + elbo
    kls = hardness / 20 + own / 10 - (hardness / 20 + own / 10).mean() + kl
    recons = -per_image - kls
    return {"nz": nz, "beta": beta, "test_elbo": elbo, "sharpness": sharpness,
            "grid_confident": readable, "samples": {"frechet": frechet, "frechet_se": frechet_se},
            "latent_spread": spread, "test_kl_nats": kl, "test_recon_nats": -elbo - kl,
            "per_image": {"test_elbo": per_image.tolist(), "test_kl_nats": kls.tolist(),
                          "test_recon_nats": recons.tolist()}}


def hw4_numbers():
    return {"profile": "full", "data": {"name": "mnist-5k"}, "samples_scored": 1000,
            "test_spread": 0.3, "judge": {}, "analyses": {},
            "runs": {
                "latent_2": hw4_run(2, 1, -140, 0.70, 80, 40, 1.0, 6),
                "latent_10": hw4_run(10, 1, -105, 0.80, 60, 30, 0.9, 20),
                "latent_25": hw4_run(25, 1, -100, 0.82, 55, 31, 0.8, 26),
                "latent_50": hw4_run(50, 1, -101, 0.83, 50, 32, 0.7, 27),
                "weight_1": hw4_run(2, 1, -140, 0.70, 80, 40, 1.0, 6),
                "weight_5": hw4_run(2, 5, -150, 0.65, 70, 45, 0.6, 3),
                "weight_10": hw4_run(2, 10, -160, 0.60, 60, 50, 0.4, 2),
                "weight_40": hw4_run(2, 40, -190, 0.50, 40, 70, 0.2, 0.5)}}


def test_hw4_drafts_follow_the_numbers():
    spec = load_spec("hw4")
    answers = {q: a["markdown"] for q, a in render_answers(spec, hw4_numbers()).items()}
    assert "best at Z = 25" in answers["p2"] and "1 ± 0.09 above Z = 50" in answers["p2"]
    assert "Z = 2 gives the smoothest, blurriest digits" in answers["p2"]
    assert "Yet its samples are more readable" in answers["p2"]
    assert "Z = 25 and Z = 50 look alike" in answers["p2"]
    assert "spread shrinks steadily from 1 to 0.2" in answers["p3"]
    assert "get blurrier" in answers["p3"]

    numbers = copy.deepcopy(hw4_numbers())
    numbers["runs"]["weight_10"]["latent_spread"] = 0.9
    numbers["runs"]["latent_50"].update(grid_confident=80, sharpness=0.71)
    answers = {q: a["markdown"] for q, a in render_answers(spec, numbers).items()}
    assert "does not shrink steadily" in answers["p3"]
    assert "about as many readable samples" in answers["p2"]
    assert "not clearly blurrier" in answers["p2"]


def test_hw4_states_the_kl_trade_only_beyond_the_paired_noise():
    p3 = " ".join(render_answers(load_spec("hw4"), hw4_numbers())["p3"]["markdown"].split())
    assert "The KL falls from 6 to 0.5 nats" in p3 and "both beyond 2 paired" in p3
    numbers = copy.deepcopy(hw4_numbers())  # weight 40 as weight 1, with noise of its own
    numbers["runs"]["weight_40"] = hw4_run(2, 40, -140.1, 0.5, 40, 70, 0.2, 6.05, scatter=30)
    p3 = " ".join(render_answers(load_spec("hw4"), numbers)["p3"]["markdown"].split())
    assert "do not both move beyond their paired noise" in p3 and "falls" not in p3


def test_hw4_calls_z25_and_z50_different_only_beyond_their_fid_noise():
    numbers = copy.deepcopy(hw4_numbers())
    numbers["runs"]["latent_50"]["samples"] = {"frechet": 45.0, "frechet_se": 1.0}
    p2 = " ".join(render_answers(load_spec("hw4"), numbers)["p2"]["markdown"].split())
    assert "Z = 25 and Z = 50 differ" in p2 and "look alike" not in p2
    numbers["runs"]["latent_50"]["samples"] = {"frechet": 45.0, "frechet_se": 8.0}  # 14 ± 8
    p2 = " ".join(render_answers(load_spec("hw4"), numbers)["p2"]["markdown"].split())
    assert "Z = 25 and Z = 50 look alike" in p2 and "Z = 50 differ" not in p2


def test_hw4_counts_readable_samples_apart_only_beyond_binomial_noise():
    numbers = copy.deepcopy(hw4_numbers())
    numbers["runs"]["latent_2"]["grid_confident"] = 60  # against 50 of 100: SE of the gap ~7
    p2 = render_answers(load_spec("hw4"), numbers)["p2"]["markdown"]
    assert "about as many readable samples" in p2 and "more readable" not in p2


def test_hw4_calls_a_best_latent_size_inside_the_noise_a_tie():
    numbers = copy.deepcopy(hw4_numbers())
    numbers["runs"]["latent_25"] = hw4_run(25, 1, -100, 0.82, 55, 31, 0.8, 26, scatter=30)
    numbers["runs"]["latent_50"] = hw4_run(50, 1, -101, 0.83, 50, 32, 0.7, 27, scatter=30)
    p2 = " ".join(render_answers(load_spec("hw4"), numbers)["p2"]["markdown"].split())
    assert "highest at Z = 25" in p2 and "within noise of Z = 50" in p2 and "best at" not in p2


@pytest.mark.slow
def test_hw4_quick_build_passes_verify_and_shares_its_run(tmp_path):
    import json

    from typer.testing import CliRunner

    from report_builder.cli import app
    from report_builder.verify import verify_build

    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["hw4", "--profile", "quick", "--dataset", "mnist-5k",
                                      "--out", str(out), "--cache-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"]["weight_1"]["same_as"] == "latent_2"
    assert manifest["runs"]["weight_1"]["key"] == manifest["runs"]["latent_2"]["key"]
    assert len(manifest["figures"]) == 12
    verdict = verify_build(out / "hw4_solution.pdf")
    assert verdict.verdict == "consistent", verdict.evidence
