"""beta-vae end to end: a real quick build read back as a student and a TA would, and answer
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
    out, cache, output = quick_build_of("beta-vae")
    pdf = out / "beta_vae_solution.pdf"
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    positions = [text.find(heading) for heading in load_spec("beta-vae").sections]
    assert -1 not in positions and positions == sorted(positions)
    assert "136.6" in text and "124.3" in text  # the course's references, beside ours
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"]["beta_10"]["same_as"] == "vae"  # one run, trained once
    assert "beta_10" in output and "= vae" in output
    assert all(isinstance(manifest["runs"][name]["metrics"]["active_units"], int)
               for name in ("vae", "beta_08", "beta_12", "warmup", "cyclical"))
    assert len(manifest["figures"]) == 8
    assert verify_build(pdf).verdict == "consistent"
    notebook = export_notebook(out, tmp_path / "beta-vae.ipynb", cache)
    assert verify_submission(pdf, notebook).verdict == "consistent"


def run(**values) -> dict:
    return {"nz": 32, "epochs": 20, "test_recon_nats": 100.0, "final_recon": 100.0,
            "final_kl": 20.0, "test_elbo": -125.0, "active_units": 10, **values}


def numbers(**runs) -> dict:
    defaults = {
        "ae_16": run(nz=16, test_recon_nats=110.0), "ae_128": run(nz=128, test_recon_nats=90.0),
        "ae_1024": run(nz=1024, test_recon_nats=89.5),
        "vae": run(beta=1.0), "beta_08": run(beta=0.8, final_recon=95.0, final_kl=24.0),
        "beta_10": run(beta=1.0), "beta_12": run(beta=1.2, final_recon=105.0, final_kl=17.0),
        "warmup": run(final_recon=92.0, final_kl=26.0, test_elbo=-123.0, active_units=14),
        "cyclical": run(final_recon=94.0, final_kl=25.0, test_elbo=-124.0),
    }
    return {"runs": defaults | runs, "data": {"name": "mnist-5k", "train_images": 4000},
            "profile": "full", "judge": None, "search": None}


def answers(**runs) -> dict[str, str]:
    return drafts("beta-vae", numbers(**runs))


def test_the_drafts_follow_the_numbers():
    usual = answers()
    assert "Latent size 1024 reconstructs" in usual["q1"] and "little changes" in usual["q1"]
    assert "not comparable one to one" in usual["q2"] and "10 of the 32" in usual["q2"]
    assert "All 32 latent dimensions" in answers(vae=run(beta=1.0, active_units=32))["q2"]
    assert "KL falls" in usual["q3"] and "β = 0 with the sampling dropped" in usual["q3"]
    assert "As in the course's reference" in usual["q4"] and "also the better model" in usual["q4"]

    worse_1024 = answers(ae_1024=run(nz=1024, test_recon_nats=120.0))
    assert "Latent size 128 reconstructs" in worse_1024["q1"]
    assert "1024 is worse than 128" in worse_1024["q1"]
    flat = answers(beta_12=run(beta=1.2, final_recon=99.0, final_kl=21.0))
    assert "no clean trade-off" in flat["q3"] and "KL falls" not in flat["q3"]
    no_gain = answers(warmup=run(final_recon=101.0, final_kl=19.0, test_elbo=-126.0))
    assert "Unlike the course's reference" in no_gain["q4"] and "it is not better" in no_gain["q4"]
