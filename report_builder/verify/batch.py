"""A class's submissions at once: DIR/<student>/ holds one PDF and one notebook.

Every PDF is compared with its own notebook (submission.py), and its figures with every
other student's notebook: a PDF whose figures another notebook explains better than its
own (swapped or copied work) is `inconsistent`; one that shares figures with another
notebook as well is flagged. Only specific figures count: a shared figure must show the
same data-set images picked by the student (an interpolation's endpoints), or beat its
null (figures.nulls: its outputs rearranged) and not be common; it must beat every
figure of its kind in the rest of the class (the class's null), and must not be the data
set's own images or the starter notebook's. Data-set images that any
notebook shows as fixed content, or that COMMON_NOTEBOOKS notebooks show, are the class's
fixed content, nobody's pick. A notebook figure is common
when more students' notebooks show it than chance allows in a class of this size (the
class's own rate of look-alikes between independent students, `common_threshold`): weak
evidence for its own student and none against anybody else. summary.html shows that
class null: how alike independent students' figures of each kind are.
"""

import contextlib
import csv
import io
import math
import os
import tempfile
from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import threadpoolctl

from ..errors import ReportBuilderError
from ..files import atomic_write_text
from ..processes import stopped_on_error, worker_pool
from . import figures as match
from . import known
from .submission import (
    PICKS,
    Handed,
    Submission,
    check_items,
    compare,
    load_notebook,
    load_starter,
    load_submission,
    picks,
)
from .verdict import Evidence, Verdict

COMMON_NOTEBOOKS = 3  # a figure in this many students' notebooks is common, at least
CHANCE = 0.01  # the chance of so many look-alikes among independent students
# Figures of another notebook it takes to say a PDF came from there: one alone may be a
# figure that every student's run draws alike (a collapsed run's reconstructions) in a
# folder too small to tell it common.
SHARED_TO_ACCUSE = 2
SCREEN_SLACK = 0.1  # thumbnails (48 px) score a same figure this much lower, at most
# Two notebooks' own PNGs (no screenshot's scaling or JPEG between them) that are one
# figure score at least SAME - 0.006 on thumbnails (658 such pairs of 40 students: no
# lower); the common-figure screen keeps a margin over that.
NOTEBOOK_SCREEN_SLACK = 0.03
PAIRS_A_TASK = 2000  # look-alike decisions a helper makes at a time (~3 s)


@dataclass
class Row:
    student: str
    verdict: Verdict
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"student": self.student, **self.verdict.as_dict(), "flags": self.flags}


def student_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        raise ReportBuilderError(f"{root} is not a folder of submissions: give DIR with "
                                 "DIR/<student>/*.pdf and *.ipynb")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and
                     (any(p.glob("*.pdf")) or any(p.glob("*.ipynb"))))
    if not folders:
        raise ReportBuilderError(f"{root} holds no submissions: expected DIR/<student>/ "
                                 "folders with a PDF and a notebook each")
    return folders


def _load(folder: Path) -> tuple[Submission | None, Handed | None, str]:
    """The student's PDF and notebook, and what is wrong with the folder ('' if nothing).
    A PDF without a notebook is still read: other notebooks can explain it."""
    pdfs, notebooks = sorted(folder.glob("*.pdf")), sorted(folder.glob("*.ipynb"))
    trouble = "" if len(pdfs) == 1 and len(notebooks) == 1 else \
        f"expected one PDF and one notebook, found {len(pdfs)} and {len(notebooks)}"
    try:
        submission = load_submission(pdfs[0]) if len(pdfs) == 1 else None
        notebook = load_notebook(notebooks[0]) if len(notebooks) == 1 else None
    except ReportBuilderError as err:
        return None, None, str(err)
    return submission, notebook, trouble


def _shipped(name: str, files: dict[str, bytes], folder: str):
    """`_load` on a Ray worker, which may not see the TA's folder: the files came with the
    task; what it read names them where the TA has them."""
    with tempfile.TemporaryDirectory(prefix="report-builder-") as scratch:
        here = Path(scratch) / name
        here.mkdir()
        for filename, data in files.items():
            (here / filename).write_bytes(data)
        submission, notebook, trouble = _load(here)
    there = Path(folder)
    if submission is not None:
        submission = replace(submission, pdf=replace(
            submission.pdf, path=there / submission.pdf.path.name))
    if notebook is not None:
        notebook = replace(notebook, notebook=replace(
            notebook.notebook, path=there / notebook.notebook.path.name))
    return submission, notebook, trouble.replace(str(here), folder)


def _executor(workers: int, cluster):
    if cluster is not None:
        from ..cluster import RayExecutor

        return RayExecutor(num_cpus=1)
    # The platform's default start (fork on Linux): the workers run only this package's
    # image and PDF code, never torch, so a caller's OpenMP threads cannot bite them; and
    # unlike spawn it does not re-run a TA's unguarded script or notebook in each worker.
    return _local_pool(workers)


def _local_pool(workers: int):
    return worker_pool(workers, initializer=_one_blas_thread)


def _one_blas_thread() -> None:
    """A worker is one core's: OpenBLAS's own threads in each fight over the cores (20
    students read in 19 s with them, 11 s without, on 2 cores)."""
    threadpoolctl.threadpool_limits(1)


def _reading(folder: Path, shipped: bool) -> tuple:
    """What reads one student's folder: in place, or with its files sent along."""
    if not shipped:
        return _load, folder
    files = {path.name: path.read_bytes() for path in [*folder.glob("*.pdf"),
                                                       *folder.glob("*.ipynb")]}
    return _shipped, folder.name, files, str(folder)


def verify_batch(root: Path, items: dict[str, list[str]] | None, problem: str,
                 advance, jobs: int | None = None, cluster=None,
                 starter: Path | None = None) -> list[Row]:
    """Each student's files are read and compared in worker processes (one a core), or in
    Ray tasks on `cluster` (a cluster.Cluster). The all-pairs work (which notebook figures
    are common, which PDF figures another notebook shows) screens with one matrix product
    and decides in helpers forked with the gallery (`_sharing`). `advance(step, total)` is
    called after each of the 2 x students steps."""
    folders = student_folders(root)
    known.library()  # read once, before the workers fork: they share it
    course = load_starter(starter)
    total = 2 * len(folders)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(folders)))
    with stopped_on_error(_executor(workers, cluster)) as pool:
        reading = [pool.submit(*_reading(folder, cluster is not None))
                   for folder in folders]
        loaded = {}
        for folder, result in zip(folders, reading, strict=True):
            loaded[folder.name] = result.result()
            advance(f"read {folder.name}", total)
        notebooks = with_class_fixed({name: nb if course is None else replace(
                                          nb, figures=nb.figures.without(course))
                                      for name, (_, nb, _) in loaded.items() if nb is not None})
        gallery = Gallery.of(notebooks)
        pdfs = {name: _pdf_pictures(submission) for name, (submission, _, _) in loaded.items()
                if submission is not None}
        with _sharing(gallery, pdfs, workers if cluster is None else 1) as helpers:
            common = gallery.common(helpers)
            pending = {name: pool.submit(compare, submission, notebooks[name],
                                         common.get(name, frozenset()), course)
                       for name, (submission, notebook, _) in loaded.items()
                       if submission is not None and notebook is not None}
            shared = {name: helpers.submit(_shared_figures, name, common) for name in pdfs}
            rows = []
            for name, (submission, _, trouble) in loaded.items():
                verdict = pending[name].result() if name in pending else Verdict(
                    str(root / name), None, [Evidence("files", name, "unverifiable", trouble)])
                verdict.warnings += [trouble] if trouble else []
                row = Row(name, verdict)
                if submission is not None:
                    if items:
                        check_items(row.verdict, items, submission.pdf.text, problem)
                    _cross_check(row, pdfs[name], gallery, shared[name].result())
                rows.append(row)
                advance(name, total)
    write_summary(root, rows, gallery.null())
    return rows


def with_class_fixed(notebooks: dict[str, Handed]) -> dict[str, Handed]:
    """The notebooks, each knowing the data-set images that are the class's fixed content:
    those any notebook shows as fixed, and those COMMON_NOTEBOOKS or more notebooks show
    (a course's fixed interpolation endpoints; a student's random picks rarely meet)."""
    shown = Counter(image for handed in notebooks.values()
                    for image in handed.figures.picked | handed.figures.fixed_images)
    fixed = frozenset(image for image, count in shown.items() if count >= COMMON_NOTEBOOKS)
    fixed |= _fixed_images(notebooks)
    return {name: replace(handed, figures=replace(handed.figures, fixed_images=fixed))
            for name, handed in notebooks.items()}


def _fixed_images(notebooks: dict[str, Handed]) -> frozenset[int]:
    """The data-set images any of the notebooks shows as fixed content."""
    return frozenset().union(*(handed.figures.fixed_images for handed in notebooks.values()))


@dataclass(frozen=True)
class Gallery:
    """Every notebook's pictures in one stack: all-pairs screening is one matrix product."""

    owners: np.ndarray  # the student whose notebook shows each picture
    indices: list[int]  # its figure index in that notebook
    pictures: list[match.Picture]
    thumbs: np.ndarray  # the pictures' thumbnails, one a row
    log_aspects: np.ndarray
    kinds: np.ndarray
    distinctive: dict[str, list[int]]  # per student, the rows of its pictures that are not weak
    fixed_images: frozenset[int] = frozenset()  # the class's fixed data-set images

    @classmethod
    def of(cls, notebooks: dict[str, Handed]) -> "Gallery":
        entries = [(name, i, p) for name, handed in notebooks.items()
                   for i, p in enumerate(handed.figures.candidates) if p is not None]
        pictures = [p for _, _, p in entries]
        distinctive: dict[str, list[int]] = {}
        for row, (name, _, picture) in enumerate(entries):
            if not picture.weak or picture.images:  # (a weak one by its picks alone)
                distinctive.setdefault(name, []).append(row)
        return cls(np.array([name for name, _, _ in entries]), [i for _, i, _ in entries],
                   pictures, _stack(pictures), *_shapes(pictures), distinctive,
                   _fixed_images(notebooks))

    def screen(self, pictures: list[match.Picture]) -> np.ndarray:
        """Whole-picture NCC of the thumbnails, each picture against the gallery; -1 where
        kinds or shapes differ. Coarser than `match.same`: a screen, not a decision."""
        if not pictures or not self.pictures:
            return np.full((len(pictures), len(self.pictures)), -1.0)
        log_aspects, kinds = _shapes(pictures)
        ok = (kinds[:, None] == self.kinds) & (
            np.abs(log_aspects[:, None] - self.log_aspects) <= np.log(match.MAX_ASPECT_RATIO))
        return np.where(ok, _stack(pictures) @ self.thumbs.T, -1.0)

    def common(self, helpers) -> dict[str, frozenset[int]]:
        """Per student, the notebook figures that more notebooks show than chance allows
        in this class. Lenient (the thumbnails' screen): calling a figure common errs
        toward accusing nobody. `helpers` (`_sharing`) decide the look-alikes."""
        similar = self._look_alikes(helpers)
        threshold = common_threshold(len(set(self.owners)), self._look_alike_rate(similar))
        common: dict[str, set[int]] = {}
        for row, (owner, index) in enumerate(zip(self.owners, self.indices, strict=True)):
            if len(set(self.owners[similar[row]])) >= threshold:
                common.setdefault(str(owner), set()).add(index)
        return {name: frozenset(indices) for name, indices in common.items()}

    def _look_alikes(self, helpers) -> np.ndarray:
        """Which pictures are the same figure: screened on thumbnails, then decided at the
        working size (thumbnails of two students' blurry grids can pass the screen). A
        class's sample grids all pass the screen, so the decisions grow as the square of
        the class: the helpers share them out."""
        screened = self.screen(self.pictures) >= match.SAME - NOTEBOOK_SCREEN_SLACK
        rows, cols = np.nonzero(np.triu(screened, 1))
        chunks = [(rows[k:k + PAIRS_A_TASK], cols[k:k + PAIRS_A_TASK])
                  for k in range(0, len(rows), PAIRS_A_TASK)]
        decided = np.concatenate([np.zeros(0, dtype=bool),
                                  *helpers.map(_alike, chunks)])
        alike = np.zeros_like(screened)
        alike[rows[decided], cols[decided]] = alike[cols[decided], rows[decided]] = True
        np.fill_diagonal(alike, np.diag(screened))
        return alike

    def _look_alike_rate(self, similar: np.ndarray) -> float:
        """How often a figure looks like one of the same kind in another student's
        notebook: the class's own rate between (mostly) independent students."""
        other = self.owners[:, None] != self.owners[None, :]
        same_kind = self.kinds[:, None] == self.kinds[None, :]
        pairs = other & same_kind
        return float(similar[pairs].mean()) if pairs.any() else 0.0

    def null(self) -> dict[str, dict[str, float]]:
        """Per kind of figure: how alike each figure is to its best look-alike in another
        student's notebook (thumbnail NCC), over the class."""
        scores = self.screen(self.pictures)
        scores[self.owners[:, None] == self.owners[None, :]] = -1.0
        result = {}
        for kind in sorted(set(self.kinds.tolist())):
            rows = self.kinds == kind
            best = scores[rows].max(axis=1) if scores.size else np.zeros(0)
            best = best[best > -1]
            if best.size:
                result[str(kind)] = {"figures": int(best.size),
                                     "median": float(np.median(best)),
                                     "p95": float(np.percentile(best, 95)),
                                     "max": float(best.max())}
        return result


def common_threshold(students: int, rate: float) -> int:
    """The fewest notebooks showing one figure that independent students reach with a
    chance below CHANCE, each other notebook alike at `rate` (binomial); at least
    COMMON_NOTEBOOKS."""
    others = max(students - 1, 0)
    for k in range(1, others + 2):
        tail = sum(math.comb(others, j) * rate ** j * (1 - rate) ** (others - j)
                   for j in range(k, others + 1))
        if tail < CHANCE:
            # k look-alikes in other notebooks, and the figure's own notebook
            return max(COMMON_NOTEBOOKS, k + 1)
    return max(COMMON_NOTEBOOKS, others + 2)  # never common: every notebook alike by chance


def _stack(pictures: list[match.Picture]) -> np.ndarray:
    return np.stack([p.thumb for p in pictures]) if pictures else np.zeros((0, 0))


def _shapes(pictures: list[match.Picture]) -> tuple[np.ndarray, np.ndarray]:
    return np.log([p.aspect for p in pictures]), np.array([p.kind for p in pictures])


def _pdf_pictures(submission: Submission) -> list[match.Picture]:
    """The PDF's figures that can be evidence against another notebook."""
    return [p for p in submission.figures.pictures
            if p is not None and not p.data_set and (not p.weak or p.images)]


_SHARED: dict = {}  # the gallery and the PDFs' pictures, for `_sharing`'s helpers


@contextlib.contextmanager
def _sharing(gallery: "Gallery", pdfs: dict[str, list[match.Picture]], workers: int):
    """Helpers that see `gallery` and `pdfs` without having them sent: worker processes
    forked now, or, with one worker (or on Ray, whose workers cannot inherit them), this
    process itself."""
    _SHARED.update(gallery=gallery, pdfs=pdfs)
    try:
        if workers < 2:
            yield _Here()
        else:
            with stopped_on_error(_local_pool(workers)) as pool:
                yield pool
    finally:
        _SHARED.clear()


class _Here:
    """An executor's `submit` and `map`, run at once in this process."""

    def submit(self, fn, *args) -> Future:
        done = Future()
        done.set_result(fn(*args))
        return done

    def map(self, fn, items):
        return map(fn, items)


def _alike(pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    pictures = _SHARED["gallery"].pictures
    return np.array([match.same(pictures[row], pictures[col]) >= match.SAME
                     for row, col in zip(*pairs, strict=True)], dtype=bool)


@dataclass(frozen=True)
class Shared:
    """A PDF figure that is another student's notebook figure, against the class's null:
    how well the figures of its kind in the other notebooks (neither the PDF's student's
    nor the one it matches) score with it."""

    row: int  # the gallery row of the notebook figure it is
    score: float
    others: int  # notebook figures of its kind and shape in the rest of the class
    best_other: float | None  # the best of them at the working size (None: all screened out)

    def describe(self) -> str:
        if not self.others:
            return f"NCC {self.score:.2f}"
        best = (f"the best of the other {self.others} figures of its kind in the class "
                f"{self.best_other:.2f}" if self.best_other is not None else
                f"none of the other {self.others} figures of its kind in the class near it")
        return f"NCC {self.score:.2f}; {best}"


def _shared_figures(student: str, common: dict[str, frozenset[int]]) \
        -> dict[str, dict[int, Shared]]:
    """Per other student, which of this student's PDF figures (by index) is a specific
    match of which of their notebook's pictures. Specific: the same data-set images
    picked, or beyond its null; and above every figure of its kind in the rest of
    the class by MARGIN (the class's null: how alike independent students' figures are)."""
    gallery, mine = _SHARED["gallery"], _SHARED["pdfs"][student]
    if not mine:
        return {}
    screen = gallery.screen(mine)
    screened = screen >= match.SAME - SCREEN_SLACK
    found = {}
    for other, theirs in gallery.distinctive.items():
        if other == student:
            continue
        # The screen picks candidates; the full working size decides.
        shared = {i: found_here for i, picture in enumerate(mine) for j in theirs
                  if screened[i, j] and (found_here := _shared_figure(
                      picture, j, common.get(other, frozenset()), screen[i], screened[i],
                      (student, other))) is not None}
        if shared:
            found[other] = shared
    return found


def _shared_figure(picture: match.Picture, j: int, common: frozenset[int], screen: np.ndarray,
                   screened: np.ndarray, students: tuple[str, str]) -> Shared | None:
    """`picture` as gallery row j, if it is that figure specifically and beats every figure
    of its kind in the rest of the class (neither of `students`) by MARGIN. A figure common
    in the class, or weak, counts only by the data-set images its student picked."""
    gallery = _SHARED["gallery"]
    theirs = gallery.pictures[j]
    score = _specific_match(picture, theirs, gallery.fixed_images,
                            gallery.indices[j] in common or picture.weak or theirs.weak)
    if score is None:
        return None
    rest = (screen > -1) & ~np.isin(gallery.owners, students)
    best_other = max((match.same(picture, gallery.pictures[k])
                      for k in np.flatnonzero(rest & screened)), default=None)
    if best_other is not None and score - best_other < match.MARGIN:
        return None
    return Shared(j, score, int(rest.sum()), best_other)


def _cross_check(row: Row, mine: list[match.Picture], gallery: Gallery,
                 shared_with: dict[str, dict[int, Shared]]) -> None:
    """Flag the figures this PDF shares with other notebooks; call the PDF another's
    when it shares more with one of them than it confirms of its own."""
    own = row.verdict.counts["confirmed"]
    for other, shared in shared_with.items():
        named = "; ".join(f"{mine[i].label} is {other}'s {gallery.pictures[s.row].label} "
                          f"({s.describe()})" for i, s in shared.items())
        if len(shared) > own and len(shared) >= SHARED_TO_ACCUSE:
            row.verdict.evidence.append(Evidence(
                "other notebook", other, "contradicted",
                f"{len(shared)} of its figures are outputs of {other}'s notebook, {own} of "
                f"its own: swapped or copied work? ({named})"))
            row.flags.append(f"matches {other}'s notebook better than its own")
        else:
            row.flags.append(f"shares {len(shared)} specific figure(s) with {other}'s "
                             f"notebook: {named}")


def _specific_match(picture: match.Picture, theirs: match.Picture,
                    fixed_images: frozenset[int], by_picks_only: bool = False) -> float | None:
    """The NCC of the same figure, if specific: the same data-set images picked by the
    student, or (for a figure neither common in the class nor weak) beyond its null."""
    picked = len(picks(picture, theirs, fixed_images)) >= PICKS
    if by_picks_only and not picked:  # (before the NCC: a class's common figures are many)
        return None
    score = match.same(picture, theirs)
    specific = score >= match.SAME and (picked or match.specific(picture, theirs, score)[0])
    return score if specific else None


def write_summary(root: Path, rows: list[Row], null: dict | None = None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "verdict", "confirmed", "weak", "unverifiable",
                     "contradicted", "flags", "evidence"])
    for row in rows:
        counts = row.verdict.counts
        writer.writerow([row.student, row.verdict.verdict, counts["confirmed"], counts["weak"],
                         counts["unverifiable"], counts["contradicted"],
                         "; ".join(row.flags), _evidence_text(row.verdict)])
    atomic_write_text(root / "summary.csv", buffer.getvalue())
    atomic_write_text(root / "summary.html", _summary_html(rows, null or {}))


def _evidence(verdict: Verdict) -> list[str]:
    """What a TA reads first: another notebook's claim, then contradictions, then what
    could not be checked."""
    items = [e for e in verdict.evidence if e.status in ("contradicted", "unverifiable")]
    items.sort(key=lambda e: (e.what != "other notebook", e.status != "contradicted"))
    return [f"{e.subject}: {e.detail}" for e in items]


def _evidence_text(verdict: Verdict) -> str:
    return "; ".join(_evidence(verdict))


def _summary_html(rows: list[Row], null: dict) -> str:
    from html import escape

    colour = {"consistent": "ok", "not enough specific evidence": "part", "inconsistent": "bad"}
    body = "".join(
        f"<tr><td>{escape(r.student)}</td>"
        f"<td class=\"{colour[r.verdict.verdict]}\">{escape(r.verdict.summary)}</td>"
        f"<td>{escape('; '.join(r.flags))}</td>"
        f"<td>{'<br>'.join(escape(line) for line in _evidence(r.verdict))}</td></tr>"
        for r in rows)
    return ("<!DOCTYPE html><meta charset=utf-8><title>verify summary</title><style>"
            "td,th{border-bottom:1px solid #ccc;padding:2px 8px;text-align:left;"
            "vertical-align:top}.ok{color:green}.part{color:#a60}"
            ".bad{color:#b00;font-weight:bold}</style>"
            "<table><tr><th>student</th><th>verdict</th><th>flags</th><th>evidence</th></tr>"
            f"{body}</table>\n{_null_html(null)}")


def _null_html(null: dict) -> str:
    """The class's null: how alike independent students' figures of each kind are."""
    if not null:
        return ""
    rows = "".join(f"<tr><td>{kind}</td><td>{n['figures']}</td><td>{n['median']:.2f}</td>"
                   f"<td>{n['p95']:.2f}</td><td>{n['max']:.2f}</td></tr>"
                   for kind, n in null.items())
    return ("<h3>How alike independent students' figures are in this class</h3>"
            "<p>Each notebook figure against its best look-alike in another student's "
            f"notebook (thumbnail NCC; one figure is the same at {match.SAME:.2f} or more). "
            "A match counts only beyond this, and beyond the figure with its outputs "
            "rearranged.</p><table><tr><th>kind</th><th>figures</th><th>median</th>"
            f"<th>95th percentile</th><th>max</th></tr>{rows}</table>\n")
