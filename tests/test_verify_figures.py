"""Figure matching survives what students do to a figure, and tells figures apart."""

import pytest
from submissions import cropped, jpeg, scaled, stacked, with_prompt

from report_builder.verify import figures as match
from report_builder.verify.read import Figure
from report_builder.verify.submission import Pictures, best_match, shown_pictures


def picture(image):
    return match.picture(Figure("test", image))


def found(image, notebook_images) -> int:
    candidates = [picture(i) for i in notebook_images]
    return best_match(picture(image), candidates)[0]


ROLES = ["ae samples", "ae losses", "beta=0.06 samples", "interpolation 1"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("shot", [
    lambda i: scaled(i, 0.77),  # "figures scaled to about 0.77x" (pHash 14 to 38)
    lambda i: jpeg(scaled(i, 0.6), 70),  # small, re-encoded by a word processor
    lambda i: jpeg(scaled(i, 1.3)),  # a high-DPI screenshot
    with_prompt,  # the cell's "Out[7]:" caught beside it
    lambda i: cropped(i, 0, 0, 1, 0.55),  # "a crop of a notebook figure" (pHash 116)
    lambda i: jpeg(scaled(cropped(i, 0.2, 0.15, 0.95, 0.9), 0.8)),
], ids=["0.77x", "0.6x-jpeg", "1.3x-jpeg", "prompt", "top-half", "crop-jpeg"])
def test_a_screenshot_is_found_among_the_notebooks_figures(students, role, shot):
    alice = students["alice"]
    notebook = [image for _, image in alice.figures]
    assert found(shot(alice.figure(role)), notebook) == [r for r, _ in alice.figures].index(role)


def test_two_outputs_in_one_screenshot_are_both_found(students):
    alice = students["alice"]
    roles = [role for role, _ in alice.figures]
    composite = Figure("page 1, image 1", jpeg(stacked(alice.figure("ae losses"),
                                                       alice.figure("ae samples"))))
    notebook = Pictures.of([Figure(r, i) for r, i in alice.figures])
    shown = shown_pictures(Pictures.of([composite]), notebook)
    assert [s.notebook_index for s in shown] == [roles.index("ae losses"),
                                                 roles.index("ae samples")]
    assert [s.label for s in shown] == ["page 1, image 1, part 1", "page 1, image 1, part 2"]


def test_different_sample_grids_and_other_students_curves_are_not_the_same(students):
    alice, bob = students["alice"], students["bob"]
    grids = [picture(alice.figure(r)) for r in ("ae samples", "beta=0 samples",
                                                "beta=0.06 samples")]
    for i, a in enumerate(grids):
        for b in grids[i + 1:]:
            assert max(match.same(a, b), match.located(a, b)) < match.SAME
    for role in ("ae losses", "beta=0.06 losses", "ae samples", "interpolation 2"):
        a, b = picture(alice.figure(role)), picture(jpeg(scaled(bob.figure(role), 0.8)))
        assert max(match.same(a, b), match.located(a, b)) < match.SAME, role


def test_figures_alike_in_every_notebook_are_weak(students):
    """Fixed-input reconstructions and a collapsed grid look the same for every student."""
    alice = students["alice"]
    assert picture(alice.figure("ae reconstructions")).weak
    assert picture(alice.figure("beta=10 samples")).weak
    assert not picture(alice.figure("ae samples")).weak
    assert not picture(alice.figure("ae losses")).weak


def test_plots_are_told_from_image_grids(students):
    alice = students["alice"]
    assert picture(alice.figure("ae losses")).kind == "plot"
    assert picture(alice.figure("ae samples")).kind == "image"


def test_a_blank_image_has_no_picture():
    from PIL import Image

    assert picture(Image.new("RGB", (200, 100), "white")) is None
