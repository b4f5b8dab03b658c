"""The family registry: what every family declares, run keys, code versions, spec errors."""

import pytest
from pydantic import Field
from specs import one_run_spec

from report_builder import families
from report_builder.errors import ReportBuilderError
from report_builder.families.base import Family
from report_builder.plan import run_plan
from report_builder.runs import RunConfig, run_key
from report_builder.spec import load_spec, with_profile

REQUIRED = {"gan": {"loss": "vanilla"}}  # parameters a run must state (no default)


@pytest.mark.parametrize("name", list(families.FAMILIES))
def test_every_family_declares_the_whole_interface(name):
    family = families.get(name)
    assert isinstance(family, Family)
    assert set(family.figures).isdisjoint(family.joint_figures)
    models = family.build(family.Params(**REQUIRED.get(name, {})))
    assert models and all(hasattr(model, "forward") for model in models.values())


def test_parameters_at_their_defaults_leave_the_key_as_it_was():
    assert run_key(RunConfig.make("conv_vae", 1, nz=64), "data") == run_key(
        RunConfig.make("conv_vae", 1), "data")
    assert run_key(RunConfig.make("conv_vae", 1, nz=32), "data") != run_key(
        RunConfig.make("conv_vae", 1), "data")


def test_a_new_optional_parameter_leaves_every_existing_key():
    before = RunConfig.make("conv_vae", 1, beta=10.0)

    class Extended(families.get("conv_vae").Params):
        dropout: float = Field(default=0.0, ge=0)  # added later, off by default

    after = RunConfig("conv_vae", 1, Extended(beta=10.0))
    assert run_key(after, "data") == run_key(before, "data")
    used = RunConfig("conv_vae", 1, Extended(beta=10.0, dropout=0.1))
    assert run_key(used, "data") != run_key(before, "data")


def problem_keys(problem: str) -> dict[str, str]:
    plan = run_plan(with_profile(load_spec(problem), "quick"), seed=0, precision="fp32")
    return {name: run_key(config, "data") for name, config in plan.items()}


@pytest.fixture
def touched(monkeypatch):
    """touched(module): its source, as the code version reads it, gets one more line."""
    original = families.source
    edited = set()

    def touch(module: str) -> None:
        edited.add(module)
        families.code_version.cache_clear()

    monkeypatch.setattr(families, "source", lambda name: original(name) + (
        "\n# touched\n" if name in edited else ""))
    yield touch
    families.code_version.cache_clear()


def test_editing_one_family_retrains_only_its_runs(touched):
    problems = ("problem1", "hw4", "vae-likelihood", "beta-vae")
    before = {problem: problem_keys(problem) for problem in problems}
    touched("report_builder.families.bernoulli_vae")
    assert problem_keys("problem1") == before["problem1"]
    assert problem_keys("hw4") == before["hw4"]
    assert problem_keys("beta-vae") == before["beta-vae"]
    assert problem_keys("vae-likelihood")["vae"] != before["vae-likelihood"]["vae"]
    touched("report_builder.figures")  # a figure is not training code
    touched("report_builder.evaluate")
    assert problem_keys("problem1") == before["problem1"]


def test_editing_a_shared_model_or_the_loop_retrains_what_uses_it(touched):
    before = {problem: problem_keys(problem) for problem in ("problem1", "hw4", "vae-likelihood")}
    # hw4's and vae-likelihood's network, not problem1's
    touched("report_builder.families.autoencoding.mlp")
    assert problem_keys("problem1") == before["problem1"]
    assert problem_keys("hw4")["latent_2"] != before["hw4"]["latent_2"]
    assert problem_keys("vae-likelihood")["vae"] != before["vae-likelihood"]["vae"]
    touched("report_builder.train")
    for problem, keys in before.items():
        now = problem_keys(problem)
        assert all(now[name] != key for name, key in keys.items()), problem


def test_training_modules_follow_imports_but_not_presentation():
    modules = families.training_modules("bernoulli_vae")
    assert "report_builder.families.autoencoding.mlp" in modules
    assert "report_builder.models.distributions" in modules
    assert "report_builder.train" in modules and "report_builder.families.base" in modules
    assert "report_builder.evaluate" not in modules
    assert "report_builder.families.autoencoding.figures" not in modules
    assert "report_builder.families.autoencoding.conv_vae" not in modules


def test_a_group_folders_measures_figures_and_analyses_are_not_training_code():
    modules = families.training_modules("conv_vae")
    assert "report_builder.families.autoencoding.conv" in modules
    for presentation in ("measures", "figures", "drawings", "beta_search", "interpolation"):
        assert f"report_builder.families.autoencoding.{presentation}" not in modules
    assert "report_builder.families" not in modules  # the registry: a new family retrains nothing


def write_spec(tmp_path, run: str):
    return one_run_spec(tmp_path, "vae", run)


def test_an_unknown_family_names_the_file_the_run_and_the_families(tmp_path):
    path = write_spec(tmp_path, "{family: bernouli_vae, epochs: 2}")
    with pytest.raises(ReportBuilderError) as error:
        load_spec("broken", path)
    message = str(error.value)
    assert str(path) in message and "runs.vae" in message and "'bernouli_vae'" in message
    assert all(name in message for name in families.FAMILIES)
    assert "\n" not in message


def test_an_unknown_parameter_names_the_run_and_the_allowed_ones(tmp_path):
    path = write_spec(tmp_path, "{family: bernoulli_vae, epochs: 2, latent: 100}")
    with pytest.raises(ReportBuilderError) as error:
        load_spec("broken", path)
    message = str(error.value)
    assert str(path) in message and "runs.vae" in message and "'latent'" in message
    assert "nz" in message and "hidden" in message and "epochs" in message


def test_a_bad_parameter_value_says_which_and_why(tmp_path):
    path = write_spec(tmp_path, "{family: conv_vae, epochs: 2, beta: -1}")
    with pytest.raises(ReportBuilderError, match=r"runs\.vae: beta: .*greater than or equal"):
        load_spec("broken", path)


def test_a_figure_the_family_cannot_draw_is_refused(tmp_path):
    path = one_run_spec(tmp_path, "ae", "{family: conv_ae, epochs: 1}",
                        figures="[{kind: manifold, runs: [ae]}]")
    with pytest.raises(ReportBuilderError, match="draws no 'manifold'; it draws: reconstructions"):
        load_spec("p", path)
