"""simsiam end to end: a real quick build read back as a student and a TA would, and answer
drafts fed numbers that contradict their default claims."""

import json

import pytest
from pypdf import PdfReader
from specs import drafts

from report_builder.notebook import export_notebook
from report_builder.spec import load_spec
from report_builder.verify import verify_build, verify_submission


@pytest.mark.slow
def test_the_pdf_shows_every_required_result_and_verifies(quick_build_of, tmp_path):
    out, cache, _ = quick_build_of("simsiam")
    pdf = out / "simsiam_solution.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    positions = [text.find(heading) for heading in load_spec("simsiam").sections]
    assert -1 not in positions and positions == sorted(positions)
    assert "raw pixels" in text and "encoder at initialisation" in text
    # The method names the augmentations the runs applied, and no other (blur is off).
    assert "Gaussian noise σ = 0.1 on half of the images" in text and "blur" not in text
    manifest = json.loads((out / "manifest.json").read_text())
    for name in ("simsiam", "no_stop_grad", "identity_pred"):
        metrics = manifest["runs"][name]["metrics"]
        assert len(metrics["knn_accuracy"]) == len(metrics["output_std"]) == 2
        assert 0 <= metrics["final_knn_accuracy"] <= 1
    assert set(manifest["figures"]) == {"compare_losses", "compare_epochs",
                                        "representation_simsiam", "representation_no_stop_grad",
                                        "representation_identity_pred"}
    assert verify_build(pdf).verdict == "consistent"
    notebook = export_notebook(out, tmp_path / "simsiam.ipynb", cache)
    assert verify_submission(pdf, notebook).verdict == "consistent"


def run(**values) -> dict:
    return {"final_knn_accuracy": 0.95, "final_output_std": 0.06, "healthy_std": 0.0625,
            "output_std": [0.0625, 0.06],
            "final_loss": -0.9, "pixel_knn_accuracy": 0.9, "init_knn_accuracy": 0.85,
            "chance": 0.1, **values}


def answers(**runs) -> dict[str, str]:
    collapsed = {"final_knn_accuracy": 0.1, "final_output_std": 0.001, "final_loss": -0.99}
    numbers = {"runs": {"simsiam": run(), "no_stop_grad": run(**collapsed),
                        "identity_pred": run(**collapsed)} | runs,
               "data": {"name": "mnist-5k"}, "profile": "full", "judge": None, "search": None}
    return drafts("simsiam", numbers)


def test_the_drafts_follow_the_numbers():
    usual = answers()
    assert usual["q1"].count("collapsed") == 2 and "did not collapse" not in usual["q1"]
    assert "beat raw pixels" in usual["q2"] and "well above" in usual["q2"]
    healthy_ablation = answers(identity_pred=run(final_output_std=0.05))
    assert "did not collapse in this run" in healthy_ablation["q1"]
    assert "heading there" not in healthy_ablation["q1"]
    drifting = answers(identity_pred=run(final_output_std=0.05, final_loss=-0.98))
    assert "heading there" in drifting["q1"] and "0.0625" in drifting["q1"]
    weak = answers(simsiam=run(final_knn_accuracy=0.86))
    assert "does not beat raw pixels" in weak["q2"] and "barely above" in weak["q2"]
    assert "not above" in answers(simsiam=run(final_knn_accuracy=0.8))["q2"]
