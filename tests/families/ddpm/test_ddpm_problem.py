"""ddpm end to end: a real quick build read back as a student and a TA would, and answer
drafts fed numbers on both sides of each claim and inside the noise."""

import json

import pytest
from pypdf import PdfReader
from specs import assert_in_order, drafts, one_run_spec

from report_builder.errors import ReportBuilderError
from report_builder.spec import load_spec
from report_builder.verify import verify_build


@pytest.mark.slow
def test_the_pdf_shows_every_required_result_and_verifies(quick_build_of):
    out, _, output = quick_build_of("ddpm")
    pdf = out / "ddpm_solution.pdf"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    assert_in_order(text, load_spec("ddpm").sections)
    assert "no course reference" in text and "DDIM" in text
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["figures"]) == {"forward_process", "training", "samples_linear",
                                        "samples_cosine", "fid_vs_steps", "trajectory_linear"}
    for name in ("linear", "cosine"):
        metrics = manifest["runs"][name]["metrics"]
        assert sorted(metrics["ddim"], key=int) == ["10", "20", "50", "100"]
        assert metrics["ddpm"]["steps"] == 1000 and metrics["ddpm"]["frechet_se"] > 0
        assert len(metrics["loss_per_bucket"]) == 10
    assert "FID DDPM" in output  # the family's summary column
    assert verify_build(pdf).verdict == "consistent"


def sampler(frechet: float, se: float = 2.0, seconds: float = 1.0) -> dict:
    return {"frechet": frechet, "frechet_se": se, "seconds_per_1000": seconds}


def run(ddpm: float = 30.0, ddim: dict | None = None, **values) -> dict:
    ddim = {10: 60.0, 20: 45.0, 50: 33.0, 100: 31.0} | (ddim or {})
    buckets = [{"from": 100 * i + 1, "to": 100 * (i + 1), "eps_mse": 0.2 - 0.019 * i,
                "eps_mse_se": 0.003, "x0_mse": 0.01 * 3 ** i, "x0_mse_se": 0.001 * 3 ** i}
               for i in range(10)]
    trajectory = [{"t": t, "same_class": share, "same_class_se": 0.02, "pixel_change": change}
                  for t, share, change in ((1000, 0.12, 0.3), (800, 0.6, 0.2),
                                           (600, 0.93, 0.12), (200, 0.97, 0.05),
                                           (1, 1.0, 0.01))]
    return {"ddpm": sampler(ddpm, seconds=1000.0) | {"steps": 1000},
            "ddim": {str(k): sampler(v, seconds=k) | {"speedup": 1000 / k}
                     for k, v in ddim.items()},
            "ddim_steps": [10, 20, 50, 100], "loss_per_bucket": buckets,
            "x0_error_ratio": buckets[-1]["x0_mse"] / buckets[0]["x0_mse"],
            "trajectory": trajectory, "decided_at": 600, "half_signal_t": 300,
            "pure_noise_share": 0.3, **values}


def answers(**runs) -> dict[str, str]:
    numbers = {"runs": {"linear": run(), "cosine": run(ddpm=29.0, half_signal_t=500,
                                                       pure_noise_share=0.05)} | runs,
               "data": {"name": "mnist-5k", "test_images": 1000}, "profile": "full",
               "judge": None, "analyses": {}, "samples_scored": 250}
    return {name: " ".join(text.split()) for name, text in drafts("ddpm", numbers).items()}


def test_q1_reads_the_loss_per_noise_level():
    usual = answers()["q1"]
    assert "hardest where little noise was added" in usual
    assert "times larger at the noisiest steps" in usual
    level = [dict(row, eps_mse=0.1, x0_mse=0.5) for row in run()["loss_per_bucket"]]
    flat = answers(linear=run(loss_per_bucket=level))["q1"]
    assert "within noise of each other" in flat and "not measurably apart" in flat
    assert "times larger" not in flat
    rising = [dict(row, eps_mse=0.01 * (i + 1)) for i, row in
              enumerate(run()["loss_per_bucket"])]
    assert "hardest at the noisiest steps" in answers(linear=run(loss_per_bucket=rising))["q1"]


def test_q2_finds_the_fewest_ddim_steps_within_noise_of_ddpm():
    usual = answers()["q2"]
    assert "comes within noise of it with only 50 steps" in usual  # 33 ± 2 against 30 ± 2
    assert "20 times faster" in usual and "falls from 60 to 31" in usual
    better = answers(linear=run(ddim={10: 20.0, 20: 21.0, 50: 22.0, 100: 20.0}))["q2"]
    assert "beats it with only 10 steps" in better
    assert "stays within noise" in better and "more buy nothing measurable" in better
    none = answers(linear=run(ddim={10: 90.0, 20: 80.0, 50: 70.0, 100: 60.0}))["q2"]
    assert "No DDIM sampler comes within noise of it" in none


def test_q3_calls_a_schedule_better_only_beyond_the_noise():
    usual = answers()["q3"]  # 30 ± 2 against 29 ± 2
    assert "destroys the image more slowly" in usual
    assert "the two are within noise" in usual and "cannot tell the schedules apart" in usual
    cosine_wins = answers(cosine=run(ddpm=20.0, half_signal_t=500, pure_noise_share=0.05))["q3"]
    assert "cosine is better (20 ± 2 against 30 ± 2)" in cosine_wins
    assert "bears out Nichol and Dhariwal" in cosine_wins
    linear_wins = answers(cosine=run(ddpm=40.0, ddim={10: 80.0}, half_signal_t=200,
                                     pure_noise_share=0.4))["q3"]
    assert "destroys the image faster" in linear_wins and "linear is better" in linear_wins
    assert "does not bear out" in linear_wins


def test_q4_says_when_the_class_is_settled():
    usual = answers()["q4"]
    assert "From t = 600 on" in usual and "first, noisiest half" in usual
    assert "sharpen strokes" in usual
    late = answers(linear=run(decided_at=200))["q4"]
    assert "only in its second half" in late
    never = answers(linear=run(decided_at=None))["q4"]
    assert "no early decision" in never and "From t =" not in never


def test_a_joint_figure_draws_runs_of_one_family(tmp_path):
    path = one_run_spec(tmp_path, "linear", "{family: ddpm, epochs: 1}",
                        figures="[{kind: fid_vs_steps, runs: [linear]}]")
    load_spec("p", path)  # one run of the family: fine
    text = path.read_text().replace("runs:\n", "runs:\n  other: {family: conv_ae, epochs: 1}\n",
                                    1)
    text = text.replace("runs: [linear]", "runs: [linear, other]")
    path.write_text(text)
    with pytest.raises(ReportBuilderError, match="runs of one family together"):
        load_spec("p", path)
