"""TA checks on a real quick build: each tampering is caught, and named."""

import json
import shutil

import nbformat
import pytest
from PIL import Image
from typer.testing import CliRunner
from weasyprint import HTML, Attachment

from report_builder import verify
from report_builder.cli import app
from report_builder.notebook import Report, export_notebook

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


def failed(checks):
    return {check.name: check.detail for check in checks if not check.passed}


def test_an_untouched_build_passes(build):
    _, _, pdf, notebook = build
    assert failed(verify.verify_build(pdf)) == {}
    assert failed(verify.verify_with_notebook(pdf, notebook)) == {}


def test_a_swapped_figure_is_named(build, tmp_path):
    out, _, _, _ = build
    html = (out / "report.html").read_text().replace(
        'src="figures/samples_ae.png"', 'src="figures/samples_vae_beta0.png"')
    problems = failed(verify.verify_build(render(out, html, tmp_path / "swapped.pdf")))
    assert list(problems) == ["figure samples_ae"]


def test_an_answer_quoting_a_wrong_number_fails(build, tmp_path):
    out, _, _, _ = build
    manifest = json.loads((out / "manifest.json").read_text())
    quoted = manifest["answers"]["q3"]["numbers"][0]
    html = (out / "report.html").read_text()
    start = html.index("Q3.")
    edited = html[:start] + html[start:].replace(quoted, "0.00321", 1)
    problems = failed(verify.verify_build(render(out, edited, tmp_path / "edited.pdf")))
    assert "answer q3 numbers" in problems and "0.00321" in problems["answer q3 numbers"]


def test_a_missing_section_fails(build, tmp_path):
    out, _, _, _ = build
    html = (out / "report.html").read_text().replace("<h2>5. Interpolation question</h2>", "")
    problems = failed(verify.verify_build(render(out, html, tmp_path / "short.pdf")))
    assert "5. Interpolation question" in problems["required sections in order"]


def test_a_notebook_missing_a_figure_fails(build, tmp_path):
    _, _, pdf, notebook_path = build
    notebook = nbformat.read(notebook_path, as_version=4)
    cell = next(c for c in notebook.cells if "report.figure('samples_ae')" in c.source)
    cell.outputs = []
    nbformat.write(notebook, tmp_path / "partial.ipynb")
    problems = failed(verify.verify_with_notebook(pdf, tmp_path / "partial.ipynb"))
    assert len([name for name in problems if name.startswith("PDF image")]) == 1


def test_perceptual_hash_survives_the_pdf_and_tells_sample_grids_apart(build):
    out, _, pdf, _ = build
    embedded = verify.read_pdf(pdf).images.values()
    original = Image.open(out / "figures" / "samples_ae.png")
    same = min(verify.phash(original) - verify.phash(image) for image in embedded)
    other = verify.phash(original) - verify.phash(Image.open(out / "figures" /
                                                             "samples_vae_tuned.png"))
    print(f"pHash distance: same figure after the PDF {same}, another sample grid {other}")
    assert same <= 2 < verify.SAME_FIGURE_MAX_DISTANCE < other


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


def test_batch_writes_a_summary_with_a_row_per_student(build, tmp_path):
    _, _, pdf, notebook = build
    for student in ("alice", "bob"):
        (tmp_path / student).mkdir()
        shutil.copy(pdf, tmp_path / student / "report.pdf")
    shutil.copy(notebook, tmp_path / "alice" / "nb.ipynb")
    result = CliRunner().invoke(app, ["verify", "--batch", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = (tmp_path / "summary.csv").read_text().splitlines()
    assert summary[1].startswith("alice,True") and summary[2].startswith("bob,False")
    assert "expected one PDF and one notebook" in summary[2]


@pytest.mark.parametrize("content", [b"%PDF-1.7 garbage", b"not a pdf at all"])
def test_a_malformed_pdf_is_one_line(tmp_path, content):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(content)
    result = CliRunner().invoke(app, ["verify", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:") and "not a readable PDF" in result.output


def test_a_malformed_notebook_is_one_line(build, tmp_path):
    _, _, pdf, _ = build
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    result = CliRunner().invoke(app, ["verify", str(pdf), "--notebook", str(bad)])
    assert result.exit_code == 1 and "not a readable notebook" in result.output


def test_printed_numbers_agree_at_their_own_precision():
    values = [1183.7, 0.00693, 0.1894, 0.96]
    assert verify._agrees("1184", values) and verify._agrees("1.18e+03", values)
    assert verify._agrees("0.00693", values) and verify._agrees("0.19", values)
    assert verify._agrees("96%", values)
    assert not verify._agrees("0.0069", [0.00712]) and not verify._agrees("97%", values)


def test_answer_blocks_end_at_the_next_section_heading():
    text = ("P2. How? (5 pt; 9 words) Z = 10 is best. Problem 3. KL weight (Z = 2) "
            "1 2 3 table P3. Why? (5 pt) spread 0.5 page 4 of 4")
    blocks = verify._answer_texts(text, ["p2", "p3"], ["Problem 3"])
    assert blocks["p2"].endswith("is best.") and "table" not in blocks["p2"]
    assert "page 4" not in blocks["p3"]
