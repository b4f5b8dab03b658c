"""One student's PDF against one notebook: a verdict with its evidence.

Each PDF figure is `confirmed` (found in the notebook, and distinctive), `weak` (found, but
a figure that looks alike in every student's notebook), `unverifiable` (not found, and the
notebook keeps no other figure of its kind: an output overwritten by a re-run) or
`contradicted` (not found, while the notebook shows a different figure of the same kind in
its place). Each quoted number is printed, set, absent or contradicted (quotes.py).

The verdict they add up to: verdict.py.
"""

from dataclasses import dataclass, replace
from pathlib import Path

from . import figures as match
from .quotes import Quote, check_quotes
from .read import Figure, Notebook, Pdf, read_notebook, read_pdf
from .verdict import Evidence, Verdict

SAME_KIND_ASPECT = 1.3  # an unmatched notebook figure stands in for a PDF figure this alike


@dataclass(frozen=True)
class Pictures:
    """A figure list as the matcher sees it: one Picture per figure, None where blank."""

    figures: list[Figure]
    pictures: list[match.Picture | None]

    @classmethod
    def of(cls, figures: list[Figure]) -> "Pictures":
        return cls(figures, [match.picture(f) for f in figures])


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


@dataclass(frozen=True)
class Shown:
    """One picture the PDF shows (a figure, or a part of a composite screenshot) and the
    notebook figure it is (-1: none)."""

    label: str
    picture: match.Picture
    notebook_index: int
    score: float
    candidates: dict[int, float]  # every notebook figure's NCC with it


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
    screenshot: its halves are tried, and kept when they show more notebook figures."""
    index, score, whole_match, scores = best_match(picture, notebook.pictures)
    whole = [Shown(label, picture, index, score, scores)]
    halves = match.halves(pixels) if depth and not whole_match else []
    if len(halves) < 2:
        return whole
    parts = [item for k, half in enumerate(halves, 1)
             for item in _shown(f"{label}, part {k}", half,
                                match.describe(f"{label}, part {k}", half), notebook,
                                depth - 1)]
    found = {item.notebook_index for item in parts if item.notebook_index >= 0}
    return parts if len(found) > (index >= 0) else whole


def compare_figures(pdf: Pictures, notebook: Pictures,
                    common: frozenset[int] = frozenset()) -> list[Evidence]:
    """`common`: notebook figures that other students' notebooks show too (batch)."""
    shown = shown_pictures(pdf, notebook)
    accounted = _accounted(shown, notebook)
    # Notebook figures before the first one the PDF shows (data previews) stand in for none.
    first = min(accounted, default=-1)
    standing_in = [n for n, p in enumerate(notebook.pictures)
                   if p is not None and n not in accounted and n > first]
    evidence = [_found(item, notebook, common) if item.notebook_index >= 0
                else _missing(item, notebook, standing_in) for item in shown]
    unshown = [notebook.figures[n].label for n, p in enumerate(notebook.pictures)
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


def _found(item: Shown, notebook: Pictures, common: frozenset[int]) -> Evidence:
    n = item.notebook_index
    if item.picture.weak or notebook.pictures[n].weak:
        why = "; it repeats one tile, so it looks alike in every notebook"
    elif n in common:
        why = "; other students' notebooks show it too"
    else:
        why = ""
    return Evidence("figure", item.label, "weak" if why else "confirmed",
                    f"is {notebook.figures[n].label} (NCC {item.score:.2f}){why}")


def _missing(item: Shown, notebook: Pictures, standing_in: list[int]) -> Evidence:
    """Contradicted when an unaccounted notebook figure of its kind stands in for it (each
    stands in once: `standing_in` is consumed), unverifiable otherwise."""
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


def compare(submission: Submission, handed: Handed,
            common: frozenset[int] = frozenset()) -> Verdict:
    evidence = [*compare_figures(submission.figures, handed.figures, common),
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
                      problem: str = "") -> Verdict:
    submission = load_submission(pdf)
    verdict = compare(submission, load_notebook(notebook))
    if items:
        check_items(verdict, items, submission.pdf.text, problem)
    return verdict
