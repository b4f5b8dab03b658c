"""vae-likelihood end to end: a real quick build, read back as a student and a TA would,
and answer drafts that follow the numbers they are given."""

import json

import nbformat
import pytest
from pypdf import PdfReader
from specs import assert_in_order, drafts

from report_builder.notebook import Report, export_notebook
from report_builder.spec import load_spec
from report_builder.verify import verify_build, verify_submission


@pytest.fixture(scope="module")
def built(quick_build_of):
    return quick_build_of("vae-likelihood")


@pytest.mark.slow
def test_the_pdf_shows_every_required_result_in_order(built):
    out, _, output = built
    reader = PdfReader(out / "vae_likelihood_solution.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    assert_in_order(text, load_spec("vae-likelihood").sections)
    assert "dynamic binarization" in text and "−102" in text.replace("-102", "−102")
    manifest = json.loads(reader.attachments["manifest.json"][0])
    vae = manifest["runs"]["vae"]["metrics"]
    assert vae["test_log_likelihood"] >= vae["test_elbo"]
    assert vae["ks"] == [1, 5, 10, 50, 200] and len(vae["val_elbo"]) == 3
    assert set(manifest["figures"]) == {"validation_elbo_vae", "kl_estimates_vae",
                                        "log_likelihood_vs_k_vae", "samples_vae",
                                        "reconstructions_vae"}
    assert sum(len(page.images) for page in reader.pages) >= 5
    assert f"{vae['test_log_likelihood']:.4g}" in text
    assert "log p(x)" in output  # the summary table's column


@pytest.mark.slow
def test_verify_and_the_notebook_handle_it_like_the_others(built, tmp_path):
    out, cache, _ = built
    pdf = out / "vae_likelihood_solution.pdf"
    assert verify_build(pdf).verdict == "consistent"
    notebook = export_notebook(out, tmp_path / "likelihood.ipynb", cache)
    assert verify_submission(pdf, notebook).verdict == "consistent"
    cells = nbformat.read(notebook, as_version=4).cells
    assert sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", [])) == 5
    report = Report(out, cache)
    for name in ("validation_elbo_vae", "kl_estimates_vae", "log_likelihood_vs_k_vae"):
        assert report.figure_png(name) == (out / "figures" / f"{name}.png").read_bytes()


def likelihood_numbers(**changes) -> dict:
    vae = {"k": 200, "ks": [1, 5, 10, 50, 200], "estimates": [-100.0, -97.0, -96.0, -95.5, -95.4],
           "gap_ses": [0.05, 0.05, 0.05, 0.05, 0.05], "test_log_likelihood": -95.4,
           "test_log_likelihood_se": 0.3, "test_elbo": -100.0, "gap": 4.6, "gap_se": 0.05,
           "n_test": 10000, "val_elbo": [-110.0, -95.0, -90.5], "final_val_elbo": -90.5,
           "best_val_elbo": -90.5, "best_epoch": 3, "n_validation": 10000,
           "course_target": -102.0, "kl_closed_mean": 25.0, "kl_mc_mean": 25.01,
           "kl_difference": 0.01, "kl_difference_se": 0.02, "kl_difference_sd": 1.5,
           "n_iterations": 10000, "final_kl": 25.0, "final_train_elbo": -89.0, "epochs": 20,
           "target_shortfall": -11.5, "last_epoch_change": 4.5, "last_epoch_change_se": 0.2,
           "peak_drop": 0.0, "peak_drop_se": 0.0, "kl_noise_share": 0.06,
           "estimate_rise": 0.1, "estimate_rise_se": 0.06}
    vae.update(changes)
    return {"runs": {"vae": vae}, "data": {"name": "mnist", "train_images": 60000},
            "profile": "full", "judge": None, "analyses": {}}


def answers(**changes) -> dict[str, str]:
    return {question: " ".join(text.split())
            for question, text in drafts("vae-likelihood", likelihood_numbers(**changes)).items()}


def test_the_drafts_follow_the_numbers():
    healthy = answers()
    assert healthy["q1"].startswith("Yes") and "-90.5" in healthy["q1"]
    assert "zero within noise" in healthy["q2"]
    assert "close to converged" in healthy["q3"] and "4.6" in healthy["q3"]

    short = answers(final_val_elbo=-110.0, best_val_elbo=-105.0, best_epoch=2,
                    val_elbo=[-120.0, -105.0, -110.0], target_shortfall=8.0,
                    last_epoch_change=-5.0, peak_drop=5.0, peak_drop_se=0.3)
    assert short["q1"].startswith("No") and "overfits" in short["q1"]
    # The same fall of 5 nats from a handful of validation images: not told from noise.
    noisy_fall = answers(final_val_elbo=-110.0, best_val_elbo=-105.0, best_epoch=2,
                         val_elbo=[-120.0, -105.0, -110.0], target_shortfall=8.0,
                         last_epoch_change=-5.0, last_epoch_change_se=3.0, peak_drop=5.0,
                         peak_drop_se=3.0)["q1"]
    assert "overfits" not in noisy_fall and "within the noise" in noisy_fall
    assert "still rising" in healthy["q1"] and "4.5 ± 0.2" in healthy["q1"]
    # A rise of 0.3 nats with a paired SE of 0.2: levelled off, not still rising.
    flat = answers(last_epoch_change=0.3)["q1"]
    assert "levelled off" in flat and "still rising" not in flat
    assert "zero within noise" not in answers(kl_difference=0.5)["q2"]
    rising = answers(estimates=[-100.0, -98.0, -97.0, -96.5, -95.4], estimate_rise=1.1)
    assert "has not converged" in rising["q3"]
    # The same rise of 1.1 nats, but ± 0.6 (paired): not told from no change.
    noisy = answers(estimates=[-100.0, -98.0, -97.0, -96.5, -95.4], estimate_rise=1.1,
                    estimate_rise_se=0.6)["q3"]
    assert "no more than its noise" in noisy and "has not converged" not in noisy
    assert "nats above the ELBO" in healthy["q3"] and "within noise" not in healthy["q3"]
    for gap in (-0.05, 0.05):  # inside two paired standard errors, either side of zero
        tied = answers(gap=gap, gap_se=0.05)["q3"]
        assert "within noise" in tied and "above the ELBO" not in tied, gap
    other_data = drafts("vae-likelihood", {
        **likelihood_numbers(), "data": {"name": "mnist-5k", "train_images": 4000}})
    assert "cannot be judged" in other_data["q1"]
