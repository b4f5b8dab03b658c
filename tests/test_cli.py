"""Bad input: one line on stderr, exit code 1, nothing built lost."""

import re

import pytest
from typer.testing import CliRunner

from report_builder import spec as spec_module
from report_builder.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def one_line_error(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert text in lines[0]


def test_help_states_every_default():
    result = invoke("build", "--help")
    assert result.exit_code == 0
    # --out, --dataset, --data-root, --profile, --seed, --device, --precision, --jobs,
    # --cache-dir: each says its default.
    assert result.output.lower().count("default") >= 9


def test_list_shows_problem1():
    result = invoke("list")
    assert result.exit_code == 0 and "problem1" in result.output


def test_unknown_problem():
    one_line_error(invoke("problem9"), "unknown problem 'problem9'")


def test_malformed_yaml(tmp_path, monkeypatch):
    (tmp_path / "broken.yaml").write_text("runs: {ae: [\n")
    monkeypatch.setattr(spec_module, "EXPERIMENTS", tmp_path)
    one_line_error(invoke("broken"), "not valid YAML")


def test_negative_beta(tmp_path, monkeypatch):
    text = spec_module.spec_path("problem1").read_text().replace("beta: 10,", "beta: -10,")
    (tmp_path / "problem1.yaml").write_text(text)
    monkeypatch.setattr(spec_module, "EXPERIMENTS", tmp_path)
    one_line_error(invoke("problem1"), "beta")


@pytest.mark.parametrize("edit, says", [
    (("family: conv_vae, beta: 10,", "family: conv_vea, beta: 10,"),
     "runs.vae_beta10: unknown family 'conv_vea'; known families: conv_ae, conv_vae"),
    (("family: conv_vae, beta: 10,", "family: conv_vae, beta: 10, latent: 3,"),
     "runs.vae_beta10: family conv_vae has no parameter 'latent'; allowed: epochs, lr, "
     "batch_size, nz, beta"),
])
def test_unknown_family_or_parameter(tmp_path, monkeypatch, edit, says):
    text = spec_module.spec_path("problem1").read_text().replace(*edit)
    (tmp_path / "problem1.yaml").write_text(text)
    monkeypatch.setattr(spec_module, "EXPERIMENTS", tmp_path)
    one_line_error(invoke("problem1", "--out", str(tmp_path / "out")), says)
    assert str(tmp_path / "problem1.yaml") in invoke("problem1").output


@pytest.mark.parametrize("edit, says", [
    (("vanilla: {loss: vanilla}", "vanilla: {loss: wgan}"),
     "runs.vanilla: loss: Input should be 'vanilla', 'lsgan' or 'wgan-gp'"),
    (("n_critic: 5,", "n_critic: 0,"),
     "runs.wgan_gp: n_critic: Input should be greater than or equal to 1"),
    (("snapshots: [0, 100, 200, 500, 1000, 2000]", "snapshots: [0, 100, 5000]"),
     "runs.vanilla: snapshots: 5000 is beyond the run's last generator iteration (2000)"),
])
def test_bad_gan_runs(tmp_path, monkeypatch, edit, says):
    text = spec_module.spec_path("gan").read_text()
    assert edit[0] in text
    (tmp_path / "gan.yaml").write_text(text.replace(*edit))
    monkeypatch.setattr(spec_module, "EXPERIMENTS", tmp_path)
    one_line_error(invoke("gan", "--out", str(tmp_path / "out")), says)


def test_missing_data_root(tmp_path):
    one_line_error(invoke("problem1", "--data-root", str(tmp_path / "nowhere"),
                          "--out", str(tmp_path / "out")), "does not exist")


def test_unwritable_out(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    one_line_error(invoke("problem1", "--out", str(blocker / "out")), "cannot write")


@pytest.mark.parametrize("option", [("--device", "tpu"), ("--dataset", "cifar")])
def test_unknown_choices(option):
    one_line_error(invoke("problem1", *option), f"unknown {option[0]}")


def test_dry_run_trains_nothing_and_says_why(tmp_path):
    result = invoke("problem1", "--profile", "quick", "--dataset", "mnist-5k", "--dry-run",
                    "--cache-dir", str(tmp_path / "runs"))
    assert result.exit_code == 0, result.output
    assert "never built" in result.output and "will train" in result.output
    assert "1,000 × 1 epoch" in result.output  # the images each run sees
    assert re.search(r"will train \d+ runs \(1,000 training images × 1–5 epochs\): about "
                     r"\d+ s on this machine, \d at a time", result.output)
    assert not (tmp_path / "runs").exists()


def test_status_and_clean_on_an_empty_cache(tmp_path):
    result = invoke("status", "problem1", "--profile", "quick", "--dataset", "mnist-5k",
                    "--cache-dir", str(tmp_path / "runs"))
    assert result.exit_code == 0 and "missing" in result.output
    result = invoke("clean", "--cache-dir", str(tmp_path / "runs"))
    assert result.exit_code == 0 and "removed 0 cache entries" in result.output


def test_an_unknown_retrain_name_fails_before_anything_trains(tmp_path):
    result = invoke("problem1", "--retrain", "vae_beta0", "--retrain", "nosuchrun",
                    "--cache-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "out"))
    one_line_error(result, "--retrain nosuchrun")
    assert "vae_beta0" in result.output and "vae_tuned" in result.output  # the choices
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_retrain_takes_the_profiles_search_run_names():
    result = invoke("problem1", "--profile", "quick", "--retrain", "search_beta_0.001_e1",
                    "--retrain", "all", "--dry-run", "--dataset", "mnist-5k")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, text", [
    (("--seeds", "4-0"), "--seeds 4-0: give a range like 0-4"),
    (("--seed", "3", "--seeds", "0-2"), "give one (the report is the first seed's)"),
    (("--executor", "spark"), "unknown --executor 'spark'"),
])
def test_bad_seeds_or_executor(args, text, tmp_path):
    one_line_error(invoke("problem1", "--out", str(tmp_path), *args), text)
