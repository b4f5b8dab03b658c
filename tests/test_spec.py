import pytest

from report_builder import spec as spec_module
from report_builder.errors import ReportBuilderError
from report_builder.spec import load_spec, with_profile


def write_spec(tmp_path, text: str):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    return path


def problem1_text() -> str:
    return spec_module.spec_path("problem1").read_text()


def test_problem1_spec_has_the_course_settings():
    spec = load_spec("problem1")
    assert spec.output == "problem_1_solution.pdf"
    assert spec.runs["ae"].epochs == 10 and spec.runs["ae"].params.nz == 64
    assert spec.runs["vae_beta10"].params.beta == 10 and spec.runs["vae_beta0"].epochs == 5
    assert spec.runs["vae_beta10"].family == "conv_vae" and spec.runs["ae"].lr == 1e-3
    assert spec.analyses["beta_search"].final_epochs == 20
    assert [q.words for q in spec.questions.values()] == [150, 150, 200, 200, 300]
    assert spec.analyses["interpolation"].pairs == [(1, 7), (3, 5), (6, 9)]


def test_unknown_problem_names_the_known_ones():
    with pytest.raises(ReportBuilderError, match="unknown problem 'nope'.*problem1"):
        load_spec("nope")


def test_malformed_yaml_names_the_line(tmp_path):
    path = write_spec(tmp_path, "problem: x\nruns: [unclosed\n")
    with pytest.raises(ReportBuilderError, match="not valid YAML"):
        load_spec("broken", path)


def test_negative_beta_is_rejected_with_its_location(tmp_path):
    path = write_spec(tmp_path, problem1_text().replace("beta: 10,", "beta: -1,"))
    with pytest.raises(ReportBuilderError,
                       match=r"runs\.vae_beta10: beta: .*greater than or.*family conv_vae"):
        load_spec("broken", path)


def test_beta_grid_must_step_by_ten(tmp_path):
    path = write_spec(tmp_path, problem1_text().replace("1.0e-3, 1.0e-2", "1.0e-3, 5.0e-3"))
    with pytest.raises(ReportBuilderError, match="steps of 10x"):
        load_spec("broken", path)


def test_an_analysis_section_is_validated_by_its_own_model_and_named_by_its_path(tmp_path):
    path = write_spec(tmp_path, problem1_text().replace("max_recon_ratio:", "max_recon_ration:"))
    with pytest.raises(ReportBuilderError) as error:
        load_spec("broken", path)
    assert str(error.value) == f"{path}: beta_search.max_recon_ratio: Field required (+1 more)"
    path = write_spec(tmp_path, problem1_text().replace("steps: 5", "steps: 1"))
    with pytest.raises(ReportBuilderError, match=r"interpolation\.steps: .*greater than or"):
        load_spec("broken", path)


def test_a_figure_without_runs_must_be_an_analysis_of_the_spec(tmp_path):
    path = write_spec(tmp_path, problem1_text().replace("- {kind: beta_search}",
                                                        "- {kind: compare_losses}"))
    with pytest.raises(ReportBuilderError, match="an analysis section of this spec: "
                                                 "beta_search, interpolation"):
        load_spec("broken", path)


def test_a_profile_changes_an_analysis_through_its_model(tmp_path):
    text = problem1_text().replace("beta_search: {betas: [1.0e-4, 1.0e-3, 1.0e-2]}",
                                   "beta_search: {betas: [1.0e-4, 5.0e-4]}")
    spec = load_spec("broken", write_spec(tmp_path, text))
    with pytest.raises(ReportBuilderError, match=r"profiles\.quick\.beta_search\.betas: .*10x"):
        with_profile(spec, "quick")


def test_unknown_run_in_a_figure_is_rejected(tmp_path):
    text = problem1_text().replace("runs: [ae, vae_beta0,", "runs: [aee, vae_beta0,")
    path = write_spec(tmp_path, text)
    with pytest.raises(ReportBuilderError, match="unknown run name.*aee"):
        load_spec("broken", path)


def test_quick_profile_shortens_runs_and_grid_but_not_the_judge():
    full = load_spec("problem1")
    quick = with_profile(full, "quick")
    assert {run.epochs for run in quick.runs.values()} == {1}
    assert len(quick.analyses["beta_search"].betas) == 3
    assert quick.classifier == full.classifier
    with pytest.raises(ReportBuilderError, match="unknown profile"):
        with_profile(full, "medium")


def test_vae_likelihood_spec_has_the_course_settings():
    spec = load_spec("vae-likelihood")
    vae = spec.runs["vae"]
    assert vae.family == "bernoulli_vae" and vae.params.nz == 100
    assert vae.lr == 3e-4 and vae.epochs == 20 and spec.classifier is None
