from dataclasses import replace
from types import SimpleNamespace

import pytest
from specs import one_run_spec

from report_builder import analyses
from report_builder import plan as plan_module
from report_builder.analyses.base import Analysis, Decision, Planner, Section
from report_builder.build import PoolTrainer
from report_builder.families.autoencoding.beta_search import tuned_plan
from report_builder.plan import planned_runs, record_build, run_plan
from report_builder.runs import RunStore, run_key
from report_builder.spec import load_spec, with_profile


def quick():
    return with_profile(load_spec("problem1"), "quick")


def test_plan_has_judge_grid_and_fixed_runs_in_training_order():
    plan = run_plan(quick(), seed=0, precision="fp32")
    assert list(plan)[0] == "classifier"
    assert [n for n in plan if n.startswith("search_")] == [
        "search_beta_0.0001_e1", "search_beta_0.001_e1", "search_beta_0.01_e1"]
    assert plan["vae_beta10"].params.beta == 10 and plan["ae"].family == "conv_ae"
    assert plan["search_beta_0.01_e1"].params == plan["vae_beta10"].params.model_copy(
        update={"beta": 0.01})  # the search varies β of its base run


def test_dry_run_says_why_each_run_would_train(tmp_path, tiny):
    spec, store = quick(), RunStore(tmp_path)
    rows = {row.name: row for row in planned_runs(spec, store, tiny, "quick", 0, "fp32")}
    assert rows["ae"].reason == "never built" and not rows["ae"].cached
    assert rows["vae_tuned"].reason == "β chosen by the search first"

    plan = run_plan(spec, 0, "fp32")
    store.get("classifier", plan["classifier"], tiny, "cpu")
    plan |= tuned_plan(spec.analyses["beta_search"], spec, 0, "fp32", 1e-3)
    record_build(store, spec, "quick", tiny, 0, "fp32", plan,
                 {name: run_key(config, tiny) for name, config in plan.items()},
                 {"beta_search": {"kept": [], "chosen": 1e-3}})
    longer = spec.model_copy(update={"runs": {
        **spec.runs, "ae": spec.runs["ae"].model_copy(update={"epochs": 2})}})
    rows = {row.name: row for row in planned_runs(longer, store, tiny, "quick", 0, "fp32")}
    assert rows["classifier"].cached and rows["classifier"].info["train_seconds"] >= 0
    assert rows["ae"].reason == "changed: epochs 1 → 2"
    assert rows["vae_beta0"].reason == "cache entry missing or corrupt"
    assert rows["vae_tuned"].key == run_key(plan["vae_tuned"], tiny)
    search = longer.analyses["beta_search"].model_copy(update={"final_epochs": 3})
    final_longer = longer.model_copy(update={"analyses": {"beta_search": search}})
    rows = {r.name: r for r in planned_runs(final_longer, store, tiny, "quick", 0, "fp32")}
    assert rows["vae_tuned"].reason == "changed: epochs 1 → 3"
    forced = planned_runs(spec, store, tiny, "quick", 0, "fp32", retrain=("classifier",))
    assert next(r for r in forced if r.name == "classifier").reason == "--retrain"


def test_a_run_equal_to_another_problems_run_has_its_key_and_trains_once(tmp_path, tiny):
    def key(problem: str, run: str) -> str:
        return run_key(run_plan(load_spec(problem), 0, "fp32")[run], tiny)

    assert key("problem1", "classifier") == key("hw4", "classifier")  # one judge for both
    assert key("beta-vae", "vae") == key("beta-vae", "beta_10")
    assert key("beta-vae", "vae") != key("beta-vae", "warmup")
    rows = {row.name: row for row in planned_runs(load_spec("beta-vae"), RunStore(tmp_path),
                                                  tiny, "full", 0, "fp32")}
    assert rows["beta_10"].reason == "same run as vae; never built"
    assert rows["vae"].reason == "never built"


# A toy analysis that trains runs of its own, one decided after the others: whatever an
# analysis needs of the planner, the planner offers any analysis (not the β search only).
class Longer(Section):
    base: str
    first_epochs: list[int]
    run: str


def toy_configs(section, spec, seed, precision, epochs):
    base = plan_module.run_config(spec.runs[section.base], seed, precision)
    return {f"{section.base}_e{n}": replace(base, epochs=n) for n in epochs}


def toy_decide(section, spec, seed, precision, trainer, evaluation):
    trained = trainer.train(toy_configs(section, spec, seed, precision, section.first_epochs))
    best = max(run.config.epochs for run in trained.values())  # "decided" from the runs
    final = {section.run: replace(next(iter(trained.values())).config, epochs=2 * best)}
    trainer.queue(final)
    return Decision({"best": best}, {"epochs": 2 * best}, final)


def toy_replay(section, spec, seed, precision, record):
    base = plan_module.run_config(spec.runs[section.base], seed, precision)
    return {section.run: replace(base, epochs=record["epochs"])}


TOY = Analysis(
    Longer, runs_read=lambda section: [section.base], figures=lambda inputs, finding: [],
    planner=Planner(
        first=lambda section, spec, seed, precision: toy_configs(
            section, spec, seed, precision, section.first_epochs),
        decide=toy_decide, replay=toy_replay,
        expected=lambda section, spec, seed, precision: [
            (section.run, "decided after its first runs",
             toy_replay(section, spec, seed, precision, {"epochs": 1}))],
        names=lambda section: [section.run]),
    adds=lambda section: {section.run: section.base})


@pytest.fixture
def toy_spec(tmp_path, monkeypatch):
    real = analyses.get
    monkeypatch.setitem(analyses.ANALYSES, "longer", "tests")
    monkeypatch.setattr(analyses, "get", lambda name: TOY if name == "longer" else real(name))
    path = one_run_spec(tmp_path, "ae", "{family: conv_ae, epochs: 1, nz: 4}")
    path.write_text(path.read_text() + "longer: {base: ae, first_epochs: [1, 2], run: ae_long}\n")
    return load_spec("toy", path)


class FakePool:
    def __init__(self):
        self.submitted = []

    def submit(self, requests, priority=0):
        self.submitted += [request for request in requests]

    def wait(self, names):
        return {name: SimpleNamespace(config=config) for name, config in self.submitted
                if name in names}


def test_any_analysis_may_add_runs_decided_after_others(tmp_path, tiny, toy_spec):
    spec, store = toy_spec, RunStore(tmp_path)
    assert spec.report_runs() == ["ae", "ae_long"] and spec.family_of("ae_long") == "conv_ae"
    assert list(run_plan(spec, 0, "fp32")) == ["ae_e1", "ae_e2", "ae"]
    assert plan_module.run_names(spec) == ["ae", "ae_long"]
    rows = {row.name: row for row in planned_runs(spec, store, tiny, "full", 0, "fp32")}
    assert rows["ae_long"].reason == "decided after its first runs"

    pool = FakePool()
    pool.submit([("ae_e1", run_plan(spec, 0, "fp32")["ae_e1"])])  # queued by the build
    trainer = PoolTrainer(pool, {}, {"ae_e1"}, lambda name, config: (name, config))
    decision = TOY.planner.decide(spec.analyses["longer"], spec, 0, "fp32", trainer, None)
    assert [name for name, _ in pool.submitted] == ["ae_e1", "ae_e2", "ae_long"]
    assert decision.numbers == {"best": 2} and decision.runs["ae_long"].epochs == 4

    plan = run_plan(spec, 0, "fp32") | decision.runs
    record_build(store, spec, "full", tiny, 0, "fp32", plan,
                 {name: run_key(config, tiny) for name, config in plan.items()},
                 {"longer": decision.record})
    rows = {row.name: row for row in planned_runs(spec, store, tiny, "full", 0, "fp32")}
    assert rows["ae_long"].config.epochs == 4 and rows["ae_long"].reason != (
        "decided after its first runs")  # replayed from the recorded decision
