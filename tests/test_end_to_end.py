"""One real build with the quick profile, read back as a user and a TA would."""

import json

import pytest
from pypdf import PdfReader
from specs import assert_in_order
from typer.testing import CliRunner

from report_builder.cli import app
from report_builder.verify import verify_build
from report_builder.verify.read import read_pdf

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(quick_build):
    out, _, output = quick_build
    return out, output


def test_pdf_holds_the_five_items_in_the_course_order(built):
    out, _ = built
    reader = PdfReader(out / "problem_1_solution.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    headings = ["1. Auto-encoder", "Q1.", "2. Variational auto-encoder", "β = 0", "β = 10",
                "Tuned VAE", "3. VAE questions", "Q2.", "Q3.", "Q4.",
                "4. Embedding-space interpolation", "5. Interpolation question", "Q5."]
    assert_in_order(text, headings)
    assert "quick profile – not for submission" in reader.pages[-1].extract_text()
    assert "mnist-5k" in text and "1000 training, 500 test" in text
    assert "(1 epoch)" in text and "1 epochs" not in text  # the quick profile trains one


def test_pdf_has_the_figures_and_the_manifest_attached(built):
    out, _ = built
    reader = PdfReader(out / "problem_1_solution.pdf")
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 12
    manifest = json.loads(reader.attachments["manifest.json"][0])
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["name"] == "mnist-5k" and manifest["dataset"]["fingerprint"]
    assert {"ae", "vae_beta0", "vae_beta10", "vae_tuned", "classifier"} <= set(manifest["runs"])
    search = manifest["analyses"]["beta_search"]
    assert search["chosen"] in manifest["spec"]["analyses"]["beta_search"]["betas"]
    assert manifest["added_by"] == {"vae_tuned": "beta_search"}
    assert manifest["runs"]["vae_tuned"]["config"]["params"]["beta"] == search["chosen"]
    assert len(manifest["figures"]) >= 12
    for figure in manifest["figures"].values():
        assert (out / figure["file"]).is_file() and (out / figure["arrays"]).is_file()
    assert set(manifest["answers"]) == {"q1", "q2", "q3", "q4", "q5"}
    assert all(a["words"] < a["limit"] for a in manifest["answers"].values())
    assert manifest["versions"]["torch"]
    assert reader.metadata.title.startswith("CSCI 566")


def test_summary_names_the_pdf(built):
    out, output = built
    assert f"PDF: {out / 'problem_1_solution.pdf'}" in output


def test_a_warm_rebuild_reuses_every_run_and_every_figure(quick_build):
    out, cache, _ = quick_build
    cold = json.loads((out / "manifest.json").read_text())
    result = CliRunner().invoke(app, ["problem1", "--profile", "quick", "--out", str(out),
                                      "--cache-dir", str(cache), "--dataset", "mnist-5k"])
    assert result.exit_code == 0, result.output
    warm = json.loads((out / "manifest.json").read_text())
    assert all(run["reused"] for run in warm["runs"].values())
    assert {n: f["sha256"] for n, f in warm["figures"].items()} == \
        {n: f["sha256"] for n, f in cold["figures"].items()}
    assert not any(f["redrawn"] for f in warm["figures"].values())


def test_two_concurrent_builds_train_each_run_once(tmp_path):
    """Two processes on one cache: per-run locks make the second wait and reuse."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "report_builder", "problem1", "--profile", "quick",
               "--dataset", "mnist-5k", "--cache-dir", str(tmp_path / "runs"), "--jobs", "1"]
    builds = [subprocess.Popen([*command, "--out", str(tmp_path / name)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
              for name in ("first", "second")]
    for build in builds:
        assert build.wait(timeout=600) == 0, build.stderr.read().decode()
    manifests = [json.loads((tmp_path / name / "manifest.json").read_text())
                 for name in ("first", "second")]
    keys = {run["key"] for run in manifests[0]["runs"].values()}
    for key in keys:
        trained = [m for m in manifests for run in m["runs"].values()
                   if run["key"] == key and not run["reused"]]
        assert len(trained) == 1, key


def test_every_file_the_build_writes_is_readable_as_a_plain_write_makes_it(quick_build):
    import os
    import stat

    out, cache, _ = quick_build
    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    files = [p for folder in (out, cache) for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "problem_1_solution.pdf" for p in files) and len(files) > 20
    modes = {stat.S_IMODE(p.stat().st_mode) for p in files if not p.name.endswith(".lock")}
    assert modes == {expected}, {oct(m) for m in modes}


def empty_share(page) -> float:
    """The share of a laid-out page's content area below its last line, image or row."""
    leaves = ("LineBox", "InlineReplacedBox", "BlockReplacedBox", "TableRowBox")

    def bottom(box) -> float:
        lowest = 0.0
        for child in getattr(box, "children", None) or []:
            if type(child).__name__ == "MarginBox":  # the footer
                continue
            if type(child).__name__ in leaves:
                lowest = max(lowest, child.position_y + child.margin_height())
            lowest = max(lowest, bottom(child))
        return lowest

    box = page._page_box
    return (box.margin_top + box.height - bottom(box)) / box.height


def test_no_page_but_the_last_is_more_than_a_third_empty(built):
    from weasyprint import HTML

    out, _ = built
    pages = HTML(string=(out / "report.html").read_text(), base_url=str(out)).render().pages
    empty = [round(empty_share(page), 2) for page in pages]
    assert len(empty) >= 5 and max(empty[:-1]) <= 1 / 3, empty


def test_several_seeds_build_the_first_seeds_report_with_the_spread_in_an_appendix(
        quick_build, tmp_path):
    """--seeds 0-1 on the single build's cache: seed 0's runs are reused, seed 1's train;
    the report is seed 0's, and every number its answers quote has a row over both seeds."""
    out, cache, _ = quick_build
    single = json.loads((out / "manifest.json").read_text())
    result = CliRunner().invoke(app, ["problem1", "--profile", "quick", "--seeds", "0-1",
                                      "--out", str(tmp_path / "seeds"), "--cache-dir",
                                      str(cache), "--dataset", "mnist-5k"])
    assert result.exit_code == 0, result.output
    assert "spread of" in result.output
    manifest = json.loads((tmp_path / "seeds" / "manifest.json").read_text())
    assert manifest["answers"] == single["answers"] and manifest["figures"].keys() == \
        single["figures"].keys()
    assert all(run["reused"] for run in manifest["runs"].values())  # seed 0's, cached
    spread = manifest["seeds"]
    assert spread["seeds"] == [0, 1]
    assert spread["runs"]["0"] == {name: run["key"] for name, run in single["runs"].items()}
    assert not set(spread["runs"]["1"].values()) & set(spread["runs"]["0"].values())
    quoted = [number for answer in single["answers"].values() for number in answer["numbers"]]
    assert [row["printed"] for row in spread["rows"]] == quoted
    assert all(row["n"] >= 1 and row["min"] <= row["mean"] <= row["max"]
               for row in spread["rows"])
    assert any(row["n"] == 2 and row["std"] > 0 for row in spread["rows"])
    text = read_pdf(tmp_path / "seeds" / "problem_1_solution.pdf").text
    assert "Appendix: spread across seeds" in text and "seeds 0, 1" in text
    # Conclusions that depend on the seed are listed, and their answers say so.
    assert "Conclusions across seeds" in text
    flat = " ".join(text.split())
    if spread["conclusions"]:
        assert "depend on the seed" in flat and "of 2" in flat
    else:
        assert "Every seed's drafts draw the same conclusions" in flat
    verdict = verify_build(tmp_path / "seeds" / "problem_1_solution.pdf")
    assert verdict.verdict == "consistent", [e for e in verdict.evidence
                                             if e.status != "confirmed"]
