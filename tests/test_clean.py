"""`clean` removes only what no spec uses, keeps everything a broken spec's builds used,
and asks before removing what a problem's latest build used."""

import pytest
from typer.testing import CliRunner

from report_builder import spec as spec_module
from report_builder.clean import survey
from report_builder.cli import app
from report_builder.families.autoencoding.beta_search import tuned_plan
from report_builder.plan import record_build, record_started, run_plan
from report_builder.runs import RunConfig, RunStore, run_key
from report_builder.spec import load_spec, with_profile

runner = CliRunner()


@pytest.fixture
def experiments(tmp_path, monkeypatch):
    """A copy of problem1's spec that a test may break or change."""
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "problem1.yaml").write_text(spec_module.spec_path("problem1").read_text())
    monkeypatch.setattr(spec_module, "EXPERIMENTS", folder)
    return folder / "problem1.yaml"


@pytest.fixture
def store(tmp_path, tiny, experiments):
    """A cache holding a recorded quick problem1 build (its classifier trained for real,
    the other runs as unfinished entries) and one run that no build used."""
    store = RunStore(tmp_path / "runs")
    spec = with_profile(load_spec("problem1"), "quick")
    plan = run_plan(spec, 0, "fp32") | tuned_plan(spec.analyses["beta_search"], spec, 0,
                                                   "fp32", 1e-3)
    keys = {name: run_key(config, tiny) for name, config in plan.items()}
    store.get("classifier", plan["classifier"], tiny, "cpu")
    for key in keys.values():
        (store.entry(key) / "checkpoint.pt").parent.mkdir(parents=True, exist_ok=True)
        (store.entry(key) / "checkpoint.pt").write_bytes(b"epoch 1")
    record_build(store, spec, "quick", tiny, 0, "fp32", plan, keys,
                 {"beta_search": {"kept": [], "chosen": 1e-3}})
    orphan = run_key(RunConfig.make("conv_ae", 1, nz=4), tiny)
    (store.entry(orphan) / "checkpoint.pt").parent.mkdir(parents=True)
    (store.entry(orphan) / "checkpoint.pt").write_bytes(b"old")
    store.keys, store.orphan = keys, orphan
    return store


def clean(store, *options):
    return runner.invoke(app, ["clean", "--cache-dir", str(store.root), *options])


def entries(store) -> set[str]:
    return {path.name for path in store.root.iterdir() if path.is_dir()}


def test_clean_removes_only_what_no_spec_uses(store):
    result = clean(store)
    assert result.exit_code == 0, result.output
    assert "removed 1 cache entries" in result.output
    assert entries(store) == set(store.keys.values())
    assert store.is_complete(store.keys["classifier"])


def test_dry_run_lists_what_would_go_and_why_and_removes_nothing(store):
    before = entries(store)
    result = clean(store, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would remove 1 cache entries" in result.output
    assert store.orphan in result.output and "no recorded build used it" in result.output
    assert entries(store) == before


def test_a_spec_that_cannot_be_read_keeps_its_runs_with_a_warning(store, experiments):
    experiments.write_text(experiments.read_text().replace("runs:", "runs: [", 1))
    result = clean(store)
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "problem1.yaml" in result.output
    assert "not valid YAML" in result.output and "kept" in result.output
    assert entries(store) == set(store.keys.values())  # only the orphan went


def test_a_spec_that_fails_validation_keeps_its_runs_too(store, experiments):
    experiments.write_text(experiments.read_text().replace("beta: 10,", "beta: -10,"))
    assert store.keys["vae_beta10"] in entries(store)
    clean(store)
    assert entries(store) == set(store.keys.values())


def test_runs_the_latest_build_used_go_only_when_the_user_says_yes(store, experiments):
    # The AE's learning rate changed since the build: its run is stale, but it is what
    # the current PDF was built from.
    text = experiments.read_text()
    assert "{family: conv_ae," in text
    experiments.write_text(text.replace("{family: conv_ae,", "{family: conv_ae, lr: 0.002,"))
    stale = store.keys["ae"]
    assert stale in {entry.key for entry in survey(store).unused if entry.latest}
    refused = clean(store)  # no terminal here: refuses and says --yes
    assert refused.exit_code == 1
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--yes" in lines[0] and "problem1" in lines[0], refused.output
    assert stale in entries(store) and store.orphan in entries(store)
    kept = clean(store, "--keep-latest")
    assert kept.exit_code == 0 and stale in entries(store)
    removed = clean(store, "--yes")
    assert removed.exit_code == 0, removed.output
    assert stale not in entries(store) and store.keys["classifier"] in entries(store)


def test_an_interrupted_first_build_keeps_what_it_trained(tmp_path, tiny, experiments):
    """The build records its runs before training them, so clean after Ctrl-C keeps them."""
    store = RunStore(tmp_path / "runs")
    spec = with_profile(load_spec("problem1"), "quick")
    plan = run_plan(spec, 0, "fp32")
    record_started(store, spec, "quick", tiny, 0, "fp32", plan)
    for config in plan.values():
        (store.entry(run_key(config, tiny)) / "checkpoint.pt").parent.mkdir(parents=True)
    assert survey(store).unused == []


@pytest.mark.parametrize("answer, removed", [("n\n", False), ("y\n", True)])
def test_at_a_terminal_clean_asks_first(store, experiments, monkeypatch, answer, removed):
    from report_builder import cli

    experiments.write_text(experiments.read_text().replace(
        "{family: conv_ae,", "{family: conv_ae, lr: 0.002,"))
    monkeypatch.setattr(cli, "_interactive", lambda: True)
    result = runner.invoke(app, ["clean", "--cache-dir", str(store.root)], input=answer)
    assert result.exit_code == 0, result.output
    assert "latest build of problem1" in result.output
    assert (store.keys["ae"] not in entries(store)) == removed
    assert (store.orphan not in entries(store)) == removed
