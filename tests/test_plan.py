from report_builder.analyses.beta_search import tuned_plan
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
    plan |= tuned_plan(spec, 0, "fp32", 1e-3)
    record_build(store, spec, "quick", tiny, 0, "fp32", plan,
                 {name: run_key(config, tiny) for name, config in plan.items()}, [], 1e-3)
    longer = spec.model_copy(update={"runs": {
        **spec.runs, "ae": spec.runs["ae"].model_copy(update={"epochs": 2})}})
    rows = {row.name: row for row in planned_runs(longer, store, tiny, "quick", 0, "fp32")}
    assert rows["classifier"].cached and rows["classifier"].info["train_seconds"] >= 0
    assert rows["ae"].reason == "changed: epochs 1 → 2"
    assert rows["vae_beta0"].reason == "cache entry missing or corrupt"
    assert rows["vae_tuned"].key == run_key(plan["vae_tuned"], tiny)
    final_longer = longer.model_copy(update={"beta_search": longer.beta_search.model_copy(
        update={"final_epochs": 3})})
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
