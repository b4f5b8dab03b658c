"""One student's PDF against one notebook: a verdict with its evidence.

Each PDF figure is `confirmed` (found in the notebook, and distinctive), `weak` (found, but
a figure that looks alike in every student's notebook), `unverifiable` (not found, and the
notebook keeps no other figure of its kind: an output overwritten by a re-run) or
`contradicted` (not found, while the notebook shows a different figure of the same kind in
its place). Each quoted number is printed, set, absent or contradicted (quotes.py).

The verdict they add up to: verdict.py.
"""

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from . import figures as match
from . import known
from .quotes import Quote, check_quotes
from .read import Figure, Notebook, Pdf, read_notebook, read_pdf
from .verdict import Evidence, Verdict

SAME_KIND_ASPECT = 1.3  # an unmatched notebook figure stands in for a PDF figure this alike
# Data-set images a PDF figure and a notebook figure both show, picked by the student (an
# interpolation's endpoints), that make the match the student's own: one may be a chance
# look-alike tile in a grid of samples, two by chance are about one in a million.
PICKS = 2


@dataclass(frozen=True)
class Pictures:
    """A figure list as the matcher sees it: one Picture per figure, None where blank."""

    figures: list[Figure]
    pictures: list[match.Picture | None]
    common: frozenset[int] = frozenset()  # figures the course's starter notebook shows
    # Data-set images shown as fixed content, not picked: every student's too (`fixed`).
    fixed_images: frozenset[int] = frozenset()

    @classmethod
    def of(cls, figures: list[Figure]) -> "Pictures":
        pictures = [match.picture(f) for f in figures]
        return cls(figures, pictures, fixed_images=fixed(pictures))

    @property
    def picked(self) -> frozenset[int]:
        """The data-set images this notebook's student picked (not fixed content)."""
        return frozenset(image for p in self.pictures if p is not None
                         for image in p.images) - self.fixed_images

    @property
    def candidates(self) -> list[match.Picture | None]:
        """What a PDF figure may be matched with: not the data set's own images, not the
        starter notebook's outputs."""
        return [None if p is None or p.data_set or n in self.common else p
                for n, p in enumerate(self.pictures)]

    def without(self, starter: "Pictures | None") -> "Pictures":
        """These figures, those the starter notebook shows marked common."""
        if starter is None:
            return self
        shown = {n for n, p in enumerate(self.pictures) if p is not None
                 and in_starter(p, starter)}
        images = {image for p in starter.pictures if p is not None for image in p.images}
        return replace(self, common=self.common | shown,
                       fixed_images=self.fixed_images | images)


def fixed(pictures: list[match.Picture | None]) -> frozenset[int]:
    """The data-set images a notebook shows as fixed content rather than as the student's
    pick: those of a data preview, and those in two or more of its figures (every run's
    reconstructions of the same test digits)."""
    shown = [p for p in pictures if p is not None]
    counts = Counter(image for p in shown for image in p.images)
    preview = {image for p in shown if p.data_set for image in p.images}
    return frozenset(preview | {image for image, count in counts.items() if count >= 2})


def picks(picture: match.Picture, matched: match.Picture, fixed_images: frozenset[int]) \
        -> frozenset[int]:
    """The data-set images both pictures show that a student picked."""
    return (picture.images & matched.images) - fixed_images


def chance(shared: frozenset[int], picked: int) -> str:
    """How rarely an independent student, picking as many data-set images (`picked`) as
    this one, shows all of `shared`: about (picked / data-set size) ** len(shared)."""
    shelf = known.library()
    odds = 1.0
    for image in shared:
        odds *= shelf.data_set_size(image) / max(picked, len(shared))
    return f"about 1 in {float(f'{odds:.2g}'):,.0f}"


def in_starter(picture: match.Picture, starter: Pictures) -> bool:
    return any(max(match.same(picture, s), match.located(picture, s)) >= match.SAME
               for s in starter.pictures if s is not None)


@dataclass(frozen=True)
class Submission:
    """A PDF as read, and its figures as the matcher sees them."""

    pdf: Pdf
    figures: Pictures


@dataclass(frozen=True)
class Handed:
    """A notebook as read, and its figures as the matcher sees them."""

    notebook: Notebook
    figures: Pictures


def load_submission(path: Path) -> Submission:
    pdf = read_pdf(path)
    return Submission(pdf, Pictures.of(pdf.figures))


def load_notebook(path: Path) -> Handed:
    notebook = read_notebook(path)
    return Handed(notebook, Pictures.of(notebook.figures))


def load_starter(path: Path | None) -> Pictures | None:
    """The course's starter notebook (`--starter`): its outputs are every student's."""
    return None if path is None else load_notebook(path).figures


@dataclass(frozen=True)
class Shown:
    """One picture the PDF shows (a figure, or a part of a composite screenshot) and the
    notebook figure it is (-1: none)."""

    label: str
    picture: match.Picture
    notebook_index: int
    score: float
    candidates: dict[int, float]  # every notebook figure's NCC with it
    # A notebook figure of the data set's own images it looks like (its tiles may sit on
    # either side of `known.KNOWN`: a good auto-encoder's outputs are nearly its inputs).
    like_data_set: str = ""


def best_match(picture: match.Picture, candidates: list[match.Picture | None]) \
        -> tuple[int, float, bool, dict[int, float]]:
    """(index, NCC, whole, every candidate's NCC) of the notebook picture this one is, or
    index -1.
    Whole pictures first (`whole` True), then one inside the other (crops; screenshots with
    a prompt or another output around the figure). The best must also beat the best
    *different* candidate by MARGIN: a blurry sample grid that resembles all of another
    student's grids about equally is none of them."""
    scores = {i: match.same(picture, c) for i, c in enumerate(candidates) if c is not None}
    whole = max(scores.values(), default=-1.0) >= match.SAME
    if not whole:
        scores = {i: max(score, match.located(picture, candidates[i]))
                  for i, score in scores.items()}
    if not scores:
        return -1, -1.0, False, {}
    best = max(scores, key=scores.get)
    rivals = [score for i, score in scores.items()
              if i != best and match.same(candidates[i], candidates[best]) < match.SAME]
    if scores[best] >= match.SAME and scores[best] - max(rivals, default=-1.0) >= match.MARGIN:
        return best, scores[best], whole, scores
    return -1, scores[best], False, scores


def shown_pictures(pdf: Pictures, notebook: Pictures) -> list[Shown]:
    """What the PDF shows, matched. A figure that matches nothing is cut into the halves of
    a composite screenshot (and a half that matches nothing once more); it stays whole
    unless some part matches."""
    shown = []
    for figure, picture in zip(pdf.figures, pdf.pictures, strict=True):
        if picture is not None:
            shown += _shown(figure.label, match.content(figure), picture, notebook, depth=2)
    return _one_each(shown)


def _one_each(shown: list[Shown]) -> list[Shown]:
    """Look-alikes (every run's blurred grid in a 1-epoch build) can make two PDF figures
    claim one notebook figure. The better claim keeps it (both, within MARGIN: one figure
    shown twice); a worse one moves to its best unclaimed look-alike, or to none."""
    claims: dict[int, float] = {}
    for item in sorted(shown, key=lambda s: -s.score):
        if item.notebook_index >= 0:
            claims.setdefault(item.notebook_index, item.score)
    settled = []
    for item in shown:
        n = item.notebook_index
        if n < 0 or item.score >= claims[n] - match.MARGIN:
            settled.append(item)
            continue
        free = {i: score for i, score in item.candidates.items()
                if score >= match.SAME and i not in claims}
        if free:
            moved = max(free, key=free.get)
            claims[moved] = free[moved]
            settled.append(replace(item, notebook_index=moved, score=free[moved]))
        else:
            settled.append(replace(item, notebook_index=-1))
    return settled


def _shown(label: str, pixels, picture: match.Picture, notebook: Pictures,
           depth: int) -> list[Shown]:
    """A picture that is not a notebook figure as a whole may be two outputs in one
    screenshot: its halves are tried, and kept when they show more notebook figures.
    The data set's own images (a preview, inputs alone) are matched with nothing."""
    if picture.data_set:
        return [Shown(label, picture, -1, -1.0, {})]
    index, score, whole_match, scores = best_match(picture, notebook.candidates)
    alike = _data_set_alike(picture, notebook, sweep=index < 0)
    whole = [Shown(label, picture, index, score, scores, alike)]
    if index < 0 and alike:
        return whole
    halves = match.halves(pixels) if depth and not whole_match else []
    if len(halves) < 2:
        return whole
    parts = [item for k, half in enumerate(halves, 1)
             for item in _shown(f"{label}, part {k}", half,
                                match.describe(f"{label}, part {k}", half), notebook,
                                depth - 1)]
    found = {item.notebook_index for item in parts if item.notebook_index >= 0}
    return parts if len(found) > (index >= 0) else whole


def _data_set_alike(picture: match.Picture, notebook: Pictures, sweep: bool) -> str:
    """The label of a notebook figure of data-set images that `picture` is, or ''.
    `sweep`: also one inside the other (the scale sweep, slow: for unmatched pictures)."""
    for figure, other in zip(notebook.figures, notebook.pictures, strict=True):
        if other is None or not other.data_set:
            continue
        score = match.same(picture, other)
        if sweep and score < match.SAME:
            score = match.located(picture, other)
        if score >= match.SAME:
            return figure.label
    return ""


def compare_figures(pdf: Pictures, notebook: Pictures, common: frozenset[int] = frozenset(),
                    starter: Pictures | None = None) -> list[Evidence]:
    """`common`: notebook figures that other students' notebooks show too (batch);
    `starter`: the course's starter notebook, whose outputs are everybody's."""
    notebook = notebook.without(starter)
    shown = shown_pictures(pdf, notebook)
    accounted = _accounted(shown, notebook)
    # Notebook figures before the first one the PDF shows (data previews) stand in for none.
    first = min(accounted, default=-1)
    standing_in = [n for n, p in enumerate(notebook.candidates)
                   if p is not None and n not in accounted and n > first]
    evidence = [_common(item, starter) or (
                _found(item, notebook, common) if item.notebook_index >= 0
                else _missing(item, notebook, standing_in)) for item in shown]
    unshown = [notebook.figures[n].label for n, p in enumerate(notebook.candidates)
               if p is not None and n not in accounted]
    if unshown:
        evidence.append(Evidence("notebook figures", f"{len(unshown)} not in the PDF", "note",
                                 ", ".join(unshown)))
    return evidence


def _accounted(shown: list[Shown], notebook: Pictures) -> set[int]:
    """The notebook figures the PDF shows. A weak figure shown accounts for its weak
    look-alikes too (every run's fixed-input reconstructions): the PDF cannot tell which of
    them it is either."""
    accounted = {item.notebook_index for item in shown if item.notebook_index >= 0}
    weak = [n for n, p in enumerate(notebook.pictures) if p is not None and p.weak]
    return accounted | {n for m in accounted & set(weak) for n in weak
                        if match.same(notebook.pictures[n], notebook.pictures[m]) >= match.SAME}


def _common(item: Shown, starter: Pictures | None) -> Evidence | None:
    """Evidence for nobody: the data set's own images, the starter notebook's outputs."""
    picture = item.picture
    if picture.data_set:
        return Evidence("figure", item.label, "weak",
                        f"{picture.data_set_tiles} of its {picture.tiles} tiles are the data "
                        "set's own images: any student's notebook can show them")
    if item.like_data_set and item.notebook_index < 0:  # (a look-alike took its match)
        return Evidence("figure", item.label, "weak",
                        f"looks like {item.like_data_set}, whose tiles are mostly the data "
                        "set's own images: any student's notebook can show them")
    if starter is not None and in_starter(picture, starter):
        return Evidence("figure", item.label, "weak",
                        "the course's starter notebook shows it: every student has it")
    return None


def _found(item: Shown, notebook: Pictures, common: frozenset[int]) -> Evidence:
    n = item.notebook_index
    matched, label = notebook.pictures[n], notebook.figures[n].label
    own = item.picture.images - notebook.fixed_images
    shared = picks(item.picture, matched, notebook.fixed_images)
    if len(own) >= PICKS and not shared:
        return Evidence("figure", item.label, "contradicted",
                        f"looks like {label} (NCC {item.score:.2f}) but shows other data-set "
                        f"images ({_images(own)}) than it "
                        f"({_images(matched.images - notebook.fixed_images) or 'none'}): "
                        "another run's figure")
    if len(shared) >= PICKS:  # (look-alikes in other notebooks do not show them)
        return Evidence("figure", item.label, "confirmed",
                        f"is {label} (NCC {item.score:.2f}); both show the data-set images "
                        f"{_images(shared)}, the student's picks: an independent student's "
                        f"figure shows them by chance {chance(shared, len(notebook.picked))}")
    found = f"is {label} (NCC {item.score:.2f}"
    if item.picture.weak or matched.weak:
        why = "it repeats one tile, so it looks alike in every notebook"
    elif item.picture.tiles < 2 <= matched.tiles:
        why = "a single tile of that grid, too little to tell whose it is"
    elif n in common:
        why = "other students' notebooks show it too"
    else:  # only now is the null worth its 19 draws
        is_specific, null = match.specific(item.picture, matched, item.score)
        if is_specific:
            beyond = f"; {null.describe(item.score)}" if null is not None else ""
            return Evidence("figure", item.label, "confirmed", f"{found}{beyond})")
        why = ("the match rests on what any student's figure of this layout shares: "
               + null.describe(item.score))
    return Evidence("figure", item.label, "weak", f"{found}); {why}")


def _images(images: frozenset[int]) -> str:
    return ", ".join(f"#{image}" for image in sorted(images))


def _missing(item: Shown, notebook: Pictures, standing_in: list[int]) -> Evidence:
    """Contradicted when an unaccounted notebook figure of its kind stands in for it (each
    stands in once: `standing_in` is consumed), unverifiable otherwise. Weak when it is
    one of several weak look-alikes of the notebook's own, holds data-set images, and which
    one it is cannot be told (every run's reconstructions of the same fixed test digits):
    it is there, specific to nobody. (A quick build's blurry sample grids, alike but with
    no data-set tiles, leave a figure the notebook lacks unverifiable.)"""
    alike = sorted(n for n, score in item.candidates.items() if score >= match.SAME)
    if len(alike) >= 2 and item.picture.data_set_tiles and \
            all(notebook.pictures[n].weak for n in alike):
        return Evidence("figure", item.label, "weak",
                        f"resembles {len(alike)} of the notebook's figures about equally "
                        f"(best NCC {item.score:.2f}; "
                        f"{', '.join(notebook.figures[n].label for n in alike)}): one of them, "
                        "which one cannot be told")
    stand_in = _same_kind(item.picture, [(n, notebook.pictures[n]) for n in standing_in])
    if stand_in is None:
        return Evidence("figure", item.label, "unverifiable",
                        f"no notebook output shows it ({_nearest(item)}) and the notebook "
                        "keeps no other figure of its kind: an output overwritten by a re-run?")
    standing_in.remove(stand_in)
    return Evidence("figure", item.label, "contradicted",
                    f"not in the notebook ({_nearest(item)}); "
                    f"{notebook.figures[stand_in].label} shows a different {item.picture.kind} "
                    "there")


def _nearest(item: Shown) -> str:
    if item.score >= match.SAME:  # above the threshold, but no clear winner
        return f"it resembles several about equally, best NCC {item.score:.2f}"
    return f"best NCC {item.score:.2f}"


def _same_kind(picture: match.Picture, candidates: list[tuple[int, match.Picture]]):
    """The candidate of the picture's kind whose shape is closest, within SAME_KIND_ASPECT."""
    alike = [(match.aspects_apart(picture, c), n) for n, c in candidates
             if c.kind == picture.kind]
    alike = [(apart, n) for apart, n in alike if apart <= SAME_KIND_ASPECT]
    return min(alike)[1] if alike else None


QUOTE_EVIDENCE = {"set": "weak", "absent": "unverifiable", "contradicted": "contradicted"}


def compare_numbers(pdf: Pdf, notebook: Notebook) -> list[Evidence]:
    quotes = check_quotes(pdf.text, notebook.outputs, notebook.code, notebook.markdown)
    return [Evidence("number", quote.text, _quote_status(quote), quote.detail)
            for quote in quotes]


def _quote_status(quote: Quote) -> str:
    """Printed numbers confirm only when they have digits enough not to be a coincidence."""
    if quote.status == "printed":
        return "confirmed" if quote.distinctive else "weak"
    return QUOTE_EVIDENCE[quote.status]


def compare(submission: Submission, handed: Handed, common: frozenset[int] = frozenset(),
            starter: Pictures | None = None) -> Verdict:
    evidence = [*compare_figures(submission.figures, handed.figures, common, starter),
                *compare_numbers(submission.pdf, handed.notebook)]
    warnings = []
    if not handed.figures.figures:
        warnings.append("the notebook has no figure outputs (cleared before handing in?)")
    elif not submission.figures.figures:
        warnings.append("the PDF holds no raster images (figures drawn as vector graphics, "
                        "e.g. matplotlib PDFs in LaTeX): its figures cannot be compared")
    return Verdict(str(submission.pdf.path), str(handed.notebook.path), evidence, warnings)


def check_items(verdict: Verdict, items: dict[str, list[str]], text: str,
                problem: str) -> None:
    """Add the course's required items to a verdict; warn when the PDF seems another
    problem's. Missing items are listed, not held against the PDF/notebook agreement."""
    from .items import found

    present = found(items, text)
    for name, ok in present.items():
        verdict.evidence.append(Evidence("item", name, "present" if ok else "missing",
                                         "found" if ok else "not found in the PDF's text"))
    if items and sum(present.values()) < len(items) / 2:
        verdict.warnings.append(
            f"this PDF does not look like {problem}: {sum(present.values())} of "
            f"{len(items)} of its required items found")


def verify_submission(pdf: Path, notebook: Path, items: dict[str, list[str]] | None = None,
                      problem: str = "", starter: Path | None = None) -> Verdict:
    submission = load_submission(pdf)
    verdict = compare(submission, load_notebook(notebook), starter=load_starter(starter))
    if items:
        check_items(verdict, items, submission.pdf.text, problem)
    return verdict
