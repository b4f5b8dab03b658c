"""TA checks on a real quick build: each tampering is caught, and named; our own PDF and
its exported notebook agree."""

import json

import nbformat
import pytest
from PIL import Image
from weasyprint import HTML, Attachment

from report_builder.notebook import Report, export_notebook
from report_builder.verify import figures as match
from report_builder.verify import verify_build, verify_submission
from report_builder.verify.manifest import agrees_as_built, answer_texts
from report_builder.verify.read import Figure, read_pdf

pytestmark = pytest.mark.slow


def render(out, html: str, target):
    """Render (possibly edited) report HTML into a PDF carrying the build's manifest."""
    manifest = (out / "manifest.json").read_bytes()
    HTML(string=html, base_url=str(out)).write_pdf(
        target, attachments=[Attachment(string=manifest, name="manifest.json")])
    return target


@pytest.fixture(scope="module")
def build(quick_build, tmp_path_factory):
    out, cache, _ = quick_build
    notebook = export_notebook(out, tmp_path_factory.mktemp("nb") / "problem1.ipynb", cache)
    return out, cache, out / "problem_1_solution.pdf", notebook


def failed(verdict):
    return {e.subject: e.detail for e in verdict.evidence if e.status == "contradicted"}


def test_an_untouched_build_is_consistent_alone_and_with_its_notebook(build):
    _, _, pdf, notebook = build
    verdict = verify_build(pdf)
    assert failed(verdict) == {} and verdict.verdict == "consistent"
    with_notebook = verify_submission(pdf, notebook)
    assert with_notebook.verdict == "consistent", with_notebook.evidence
    figures = [e for e in with_notebook.evidence if e.what == "figure"]
    assert len(figures) >= 12 and all(e.status in ("confirmed", "weak") for e in figures)


def test_a_swapped_figure_is_named_and_inconsistent(build, tmp_path):
    out, _, _, _ = build
    html = (out / "report.html").read_text().replace(
        'src="figures/samples_ae.png"', 'src="figures/samples_vae_beta0.png"')
    verdict = verify_build(render(out, html, tmp_path / "swapped.pdf"))
    assert list(failed(verdict)) == ["figure samples_ae"]
    assert verdict.verdict == "inconsistent"  # the manifest mode is as strict as a build


def test_an_answer_quoting_a_wrong_number_fails(build, tmp_path):
    out, _, _, _ = build
    manifest = json.loads((out / "manifest.json").read_text())
    quoted = manifest["answers"]["q3"]["numbers"][0]
    html = (out / "report.html").read_text()
    start = html.index("Q3.")
    edited = html[:start] + html[start:].replace(quoted, "0.00321", 1)
    problems = failed(verify_build(render(out, edited, tmp_path / "edited.pdf")))
    assert "answer q3 numbers" in problems and "0.00321" in problems["answer q3 numbers"]


def test_a_missing_section_fails(build, tmp_path):
    out, _, _, _ = build
    html = (out / "report.html").read_text().replace("<h2>5. Interpolation question</h2>", "")
    problems = failed(verify_build(render(out, html, tmp_path / "short.pdf")))
    assert "5. Interpolation question" in problems["required sections in order"]


def test_a_notebook_missing_a_figure_leaves_it_unverifiable(build, tmp_path):
    _, _, pdf, notebook_path = build
    notebook = nbformat.read(notebook_path, as_version=4)
    cell = next(c for c in notebook.cells if "report.figure('samples_ae')" in c.source)
    cell.outputs = []
    nbformat.write(notebook, tmp_path / "partial.ipynb")
    verdict = verify_submission(pdf, tmp_path / "partial.ipynb")
    assert verdict.verdict == "not enough specific evidence"
    missing = [e for e in verdict.evidence if e.what == "figure" and e.status != "confirmed"
               and e.status != "weak"]
    assert len(missing) == 1 and missing[0].status == "unverifiable"


def test_our_own_pdfs_images_match_the_pngs_exactly(build):
    out, _, pdf, _ = build
    original = match.picture(Figure("png", Image.open(out / "figures" / "samples_ae.png")))
    embedded = [match.picture(f) for f in read_pdf(pdf).figures]
    assert max(match.same(original, p) for p in embedded if p is not None) > 0.999


def test_the_exported_notebook_executes_to_the_same_figures(build):
    from nbclient import NotebookClient

    out, _, _, notebook_path = build
    notebook = nbformat.read(notebook_path, as_version=4)
    before = [o["data"]["image/png"] for c in notebook.cells for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(out.parent.parent)}}).execute()
    after = [o["data"]["image/png"] for c in notebook.cells for o in c.get("outputs", [])
             if "image/png" in o.get("data", {})]
    assert len(before) >= 12 and after == before


def test_report_redraws_figures_byte_for_byte(build):
    out, cache, _, _ = build
    report = Report(out, cache)
    for name in ("samples_ae", "loss_curves_vae_beta0", "beta_search"):
        assert report.figure_png(name) == (out / "figures" / f"{name}.png").read_bytes()


def test_printed_numbers_agree_at_their_own_precision():
    values = [1183.7, 0.00693, 0.1894, 0.96]
    assert agrees_as_built("1184", values) and agrees_as_built("1.18e+03", values)
    assert agrees_as_built("0.00693", values) and agrees_as_built("0.19", values)
    assert agrees_as_built("96%", values)
    assert not agrees_as_built("0.0069", [0.00712]) and not agrees_as_built("97%", values)
    # A difference quoted the other way round ("3.0 points below"): its magnitude agrees.
    assert agrees_as_built("3.0%", [-0.0301]) and not agrees_as_built("3.2%", [-0.0301])


def test_answer_blocks_end_at_the_next_section_heading():
    text = ("P2. How? (5 pt; 9 words) Z = 10 is best. Problem 3. KL weight (Z = 2) "
            "1 2 3 table P3. Why? (5 pt) spread 0.5 page 4 of 4")
    blocks = answer_texts(text, ["p2", "p3"], ["Problem 3"])
    assert blocks["p2"].endswith("is best.") and "table" not in blocks["p2"]
    assert "page 4" not in blocks["p3"]


def test_cli_json_for_our_own_pdf_alone_and_with_its_notebook(build):
    from typer.testing import CliRunner

    from report_builder.cli import app

    _, _, pdf, notebook = build
    alone = CliRunner().invoke(app, ["verify", str(pdf), "--json"])
    assert alone.exit_code == 0, alone.output
    assert json.loads(alone.stdout)["verdict"] == "consistent"
    paired = CliRunner().invoke(app, ["verify", str(pdf), "--notebook", str(notebook), "--json",
                                      "--problem", "problem1"])
    assert paired.exit_code == 0, paired.output
    report = json.loads(paired.stdout)
    assert report["verdict"] == "consistent" and report["counts"]["confirmed"] >= 12
    assert not [e for e in report["evidence"] if e["status"] == "missing"]
