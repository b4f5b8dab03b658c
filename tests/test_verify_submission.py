"""A student's PDF against a notebook: verdicts with evidence, on submissions shaped like
real ones (tests/submissions.py)."""

import json

import pytest
from submissions import (
    cropped,
    jpeg,
    report_text,
    scaled,
    stacked,
    with_prompt,
    write_notebook,
    write_pdf,
)
from typer.testing import CliRunner

from report_builder.cli import app
from report_builder.spec import load_spec
from report_builder.verify import CONSISTENT, INCONSISTENT, PARTLY, verify_submission


def reported(made, roles=None):
    """The figures a student puts in the report: everything but the data preview."""
    return [image for role, image in made.figures
            if role != "preview" and (roles is None or role in roles)]


def screenshots(images):
    """What a word processor's report holds: scaled, cropped, stacked, JPEG'd screenshots."""
    shots = [jpeg(scaled(image, 0.77)) for image in images[:4]]
    shots += [stacked(images[4], images[5]), cropped(images[6], 0, 0, 1, 0.6),
              with_prompt(images[7])]
    return shots + images[8:]


def by_status(verdict, status, what="figure"):
    return [e for e in verdict.evidence if e.status == status and e.what == what]


@pytest.fixture(scope="module")
def alice_files(students, tmp_path_factory):
    folder = tmp_path_factory.mktemp("alice")
    alice = students["alice"]
    return (write_pdf(folder / "report.pdf", report_text(alice),
                      screenshots(reported(alice)), jpeg=True),
            write_notebook(folder / "alice.ipynb", alice))


def test_a_genuine_pair_of_screenshots_is_consistent(alice_files):
    """Shapes 3 and 5: the data preview is in no report; screenshots are scaled, cropped,
    stacked and re-encoded."""
    verdict = verify_submission(*alice_files)
    assert verdict.verdict == CONSISTENT, verdict.evidence
    assert not by_status(verdict, "unverifiable") and not by_status(verdict, "contradicted")
    # Only specific matches confirm: not the reconstructions of the same fixed test digits
    # every run shows, nor the collapsed β = 10 grids.
    assert len(by_status(verdict, "confirmed")) >= 6
    # The preview (cell 2) shows the data set's own digits: no note, no evidence.
    assert not [e for e in verdict.evidence if e.what == "notebook figures"]


def test_numbers_of_a_genuine_pair(alice_files):
    """Shape 1: section numbers skipped, typed hyperparameters set, lower precision found."""
    verdict = verify_submission(*alice_files)
    numbers = {e.subject: e.status for e in verdict.evidence if e.what == "number"}
    assert "1.1" not in numbers and "2.3" not in numbers
    assert numbers["0.06"] == "weak" and numbers["10.0"] == "weak"  # set in the code
    assert "unverifiable" not in numbers.values() and "contradicted" not in numbers.values()


def test_another_students_notebook_is_inconsistent(alice_files, students, tmp_path):
    verdict = verify_submission(alice_files[0], write_notebook(tmp_path / "bob.ipynb",
                                                               students["bob"]))
    assert verdict.verdict == INCONSISTENT
    assert len(by_status(verdict, "contradicted")) >= 5
    assert len(by_status(verdict, "confirmed")) <= 1
    # Shape 6: fixed-input reconstructions and the collapsed grid match, but only weakly.
    assert len(by_status(verdict, "weak")) >= 3


def test_overwritten_outputs_are_partly_verifiable_not_inconsistent(students, tmp_path):
    """Shape 4: the PDF shows every β run and three interpolations; the notebook's re-run
    cells kept the last β and one interpolation."""
    carol = students["carol"]
    kept = {role for role, _ in carol.figures
            if not role.startswith(("beta=0 ", "beta=10 ", "interpolation 2",
                                    "interpolation 3"))}
    notebook = write_notebook(tmp_path / "carol.ipynb", carol, keep=kept)
    pdf = write_pdf(tmp_path / "carol.pdf", report_text(carol), reported(carol))
    verdict = verify_submission(pdf, notebook)
    assert verdict.verdict == PARTLY, [(e.subject, e.status) for e in verdict.evidence]
    assert len(by_status(verdict, "unverifiable")) >= 5
    assert not by_status(verdict, "contradicted")


def test_a_matplotlib_pdf_is_read_like_a_word_processors(students, tmp_path):
    bob = students["bob"]
    pdf = write_pdf(tmp_path / "bob.pdf", report_text(bob, digits=4), reported(bob),
                    engine="matplotlib")
    verdict = verify_submission(pdf, write_notebook(tmp_path / "bob.ipynb", bob))
    assert verdict.verdict == CONSISTENT, [(e.subject, e.status) for e in verdict.evidence]


def test_a_notebook_without_outputs_says_so(students, tmp_path):
    bob = students["bob"]
    pdf = write_pdf(tmp_path / "bob.pdf", report_text(bob), reported(bob)[:3])
    verdict = verify_submission(pdf, write_notebook(tmp_path / "bob.ipynb", bob, keep=set()))
    assert verdict.verdict == PARTLY
    assert any("no figure outputs" in w for w in verdict.warnings)


def test_required_items_loosely_and_a_pdf_of_another_problem(alice_files):
    """Shape 2: the course's items in the student's own words; hw4's items are not there."""
    items = load_spec("problem1").submission_items
    verdict = verify_submission(*alice_files, items=items, problem="problem1")
    assert not [e.subject for e in verdict.evidence if e.status == "missing"]
    assert not verdict.warnings
    other = verify_submission(*alice_files, items=load_spec("hw4").submission_items,
                              problem="hw4")
    assert any("does not look like hw4" in w for w in other.warnings)
    assert other.verdict == verdict.verdict  # items never decide the PDF/notebook verdict


def test_cli_json_and_exit_codes_with_real_images(alice_files, students, tmp_path):
    """Shape 7: --json on a pair with images; exit 0 unless inconsistent."""
    pdf, notebook = alice_files
    result = CliRunner().invoke(app, ["verify", str(pdf), "--notebook", str(notebook),
                                      "--json", "--problem", "problem1"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verdict"] == "consistent" and report["counts"]["confirmed"] >= 6
    assert {"what", "subject", "status", "detail"} <= set(report["evidence"][0])
    bob = write_notebook(tmp_path / "bob.ipynb", students["bob"])
    result = CliRunner().invoke(app, ["verify", str(pdf), "--notebook", str(bob), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["verdict"] == "inconsistent"
    result = CliRunner().invoke(app, ["verify", str(pdf), "--notebook", str(bob)])
    assert result.exit_code == 1 and "inconsistent" in result.output


def test_a_malformed_notebook_is_one_line(alice_files, tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ not json")
    result = CliRunner().invoke(app, ["verify", str(alice_files[0]), "--notebook", str(bad)])
    assert result.exit_code == 1 and "not a readable notebook" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("content", [b"%PDF-1.7 garbage", b"not a pdf at all"])
def test_a_malformed_pdf_is_one_line(tmp_path, content):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(content)
    result = CliRunner().invoke(app, ["verify", str(bad)])
    assert result.exit_code == 1
    assert result.output.strip().startswith("error:") and "not a readable PDF" in result.output


def test_a_pdf_of_vector_figures_says_its_figures_cannot_be_compared(students, tmp_path):
    """LaTeX with matplotlib's PDF figures: lines and text, no image to compare."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    bob = students["bob"]
    with PdfPages(tmp_path / "latex.pdf") as pdf:
        fig, axis = plt.subplots()
        axis.plot([0, 1, 2], [0.09, 0.02, 0.01], label="reconstruction")
        fig.text(0.1, 0.02, "Final loss 0.00513")
        pdf.savefig(fig)
        plt.close(fig)
    verdict = verify_submission(tmp_path / "latex.pdf",
                                write_notebook(tmp_path / "bob.ipynb", bob))
    assert verdict.verdict == PARTLY
    assert any("vector graphics" in w for w in verdict.warnings)
