"""A class at once: every PDF against every notebook."""

import json
import shutil

import pytest
from submissions import jpeg, report_text, scaled, write_notebook, write_pdf
from typer.testing import CliRunner

from report_builder.cli import app
from report_builder.errors import ReportBuilderError
from report_builder.verify import verify_batch
from report_builder.verify.read import read_notebook


@pytest.fixture(scope="module")
def classroom(students, tmp_path_factory):
    """alice, bob and carol hand in; bob and carol swapped their PDFs."""
    root = tmp_path_factory.mktemp("class")
    owner = {"alice": "alice", "bob": "carol", "carol": "bob"}  # whose PDF sits where
    for folder, author in owner.items():
        made = students[author]
        (root / folder).mkdir()
        write_notebook(root / folder / "notebook.ipynb", students[folder])
        write_pdf(root / folder / "report.pdf", report_text(made),
                  [jpeg(scaled(image, 0.8)) for role, image in made.figures
                   if role != "preview"])
    return root


def test_a_swapped_pair_is_flagged_with_its_evidence(classroom):
    rows = {row.student: row for row in verify_batch(classroom, None, "", lambda *_: None)}
    assert rows["alice"].verdict.verdict == "consistent" and not rows["alice"].flags
    for student, other in (("bob", "carol"), ("carol", "bob")):
        assert rows[student].verdict.verdict == "inconsistent"
        assert rows[student].flags == [f"matches {other}'s notebook better than its own"]
        evidence = [e for e in rows[student].verdict.evidence if e.what == "other notebook"]
        assert evidence[0].subject == other and "of its figures" in evidence[0].detail
    summary = (classroom / "summary.csv").read_text().splitlines()
    assert summary[0].startswith("student,verdict") and len(summary) == 4
    assert summary[1].startswith("alice,consistent")


def test_one_worker_gives_the_verdicts_of_several(classroom):
    """The all-pairs decisions are shared out to helpers forked with the gallery; alone,
    this process makes them: the same rows either way."""
    several = verify_batch(classroom, None, "", lambda *_: None, jobs=2)
    alone = verify_batch(classroom, None, "", lambda *_: None, jobs=1)
    assert [row.as_dict() for row in alone] == [row.as_dict() for row in several]
    assert any(row.flags for row in several)  # the swapped pair: there was work to share


def test_ray_workers_give_the_verdicts_of_local_ones(classroom, ray_cluster):
    local = verify_batch(classroom, None, "", lambda *_: None)
    summary = (classroom / "summary.csv").read_text()
    # The files travel with the tasks (a node need not see the folder) and the verdicts
    # name them where the TA has them.
    remote = verify_batch(classroom, None, "", lambda *_: None, cluster=ray_cluster)
    assert [row.as_dict() for row in remote] == [row.as_dict() for row in local]
    assert (classroom / "summary.csv").read_text() == summary
    assert str(classroom / "bob" / "report.pdf") in remote[1].verdict.pdf
    result = CliRunner().invoke(app, ["verify", "--batch", str(classroom), "--json",
                                      "--executor", "ray"])
    assert result.exit_code == 1  # bob and carol swapped
    assert [row["verdict"] for row in json.loads(result.output)] == \
        [row.verdict.verdict for row in local]


def test_batch_cli_honours_json_and_exits_non_zero_on_inconsistent(classroom):
    result = CliRunner().invoke(app, ["verify", "--batch", str(classroom), "--json"])
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["student"], r["verdict"]) for r in rows] == [
        ("alice", "consistent"), ("bob", "inconsistent"), ("carol", "inconsistent")]


def test_a_pdf_without_a_notebook_is_listed_and_still_cross_checked(classroom, tmp_path):
    shutil.copytree(classroom / "alice", tmp_path / "alice")
    (tmp_path / "dave").mkdir()  # dave hands in bob's report and no notebook
    shutil.copy(classroom / "carol" / "report.pdf", tmp_path / "dave" / "report.pdf")
    result = CliRunner().invoke(app, ["verify", "--batch", str(tmp_path)])
    assert result.exit_code == 0, result.output  # nothing in this folder contradicts it
    assert "found 1 and 0" in (tmp_path / "summary.csv").read_text()
    (tmp_path / "eve").mkdir()  # eve hands in alice's report
    shutil.copy(classroom / "alice" / "report.pdf", tmp_path / "eve" / "report.pdf")
    rows = {r.student: r for r in verify_batch(tmp_path, None, "", lambda *_: None)}
    assert rows["eve"].verdict.verdict == "inconsistent"
    assert rows["eve"].flags == ["matches alice's notebook better than its own"]
    assert rows["alice"].verdict.verdict == "consistent"


def test_an_empty_folder_is_an_error(tmp_path):
    with pytest.raises(ReportBuilderError, match="holds no submissions"):
        verify_batch(tmp_path, None, "", lambda *_: None)
    result = CliRunner().invoke(app, ["verify", "--batch", str(tmp_path), "--json"])
    assert result.exit_code == 1 and "holds no submissions" in result.output


def _class_where_alice_copies(students, folder, copied: set[str]) -> dict:
    """alice, bob and carol hand in their notebooks and PDFs of JPEG screenshots; alice's
    PDF shows bob's figures in the roles `copied`. The batch's rows by student."""
    for name in ("alice", "bob", "carol"):
        made = students[name]
        (folder / name).mkdir()
        write_notebook(folder / name / "notebook.ipynb", made)
        figures = [students["bob" if name == "alice" and role in copied else name].figure(role)
                   for role, _ in made.figures if role != "preview"]
        write_pdf(folder / name / "report.pdf", report_text(made),
                  [jpeg(scaled(image, 0.8)) for image in figures])
    return {row.student: row for row in verify_batch(folder, None, "", lambda *_: None)}


def test_a_partial_copier_is_flagged_naming_the_copied_figures(students, tmp_path):
    """alice took bob's two sample grids; carol worked alone. Only alice is flagged, and
    the flag names each copied figure and the notebook figure it is."""
    rows = _class_where_alice_copies(students, tmp_path, {"ae samples", "beta=0.06 samples"})
    assert not rows["bob"].flags and not rows["carol"].flags
    [flag] = rows["alice"].flags
    assert flag.startswith("shares 2 specific figure(s) with bob's notebook")
    assert flag.count("is bob's cell") == 2, flag


def test_a_copied_interpolation_alone_is_flagged_and_named(students, tmp_path):
    """Its frames change smoothly, so the shuffle null cannot single it out; the endpoints
    bob picked, shown in alice's PDF, do."""
    rows = _class_where_alice_copies(students, tmp_path, {"interpolation 2"})
    assert not rows["bob"].flags and not rows["carol"].flags
    [flag] = rows["alice"].flags
    assert flag.startswith("shares 1 specific figure(s) with bob's notebook"), flag
    bob_cell = [f.label for f in read_notebook(tmp_path / "bob" / "notebook.ipynb").figures][-2]
    assert f"is bob's {bob_cell} (NCC " in flag, flag  # with the class's null beside it
