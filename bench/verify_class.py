"""How `verify` tells one student's work from another's, on a class of fixtures (not a test).

A class of independent "students" of problem1 (tests/submissions.py): each its own seed
(its own loss noise, samples and interpolations) and its own plotting style (inline DPI,
tile size and spacing, titles or not, loss plot size and scale). Each hands in a PDF laid
out its own way: a word processor's export (PNG, or JPEG re-encoded), a LaTeX-like page
(two figures a row with captions), or screenshots (two outputs caught in one, titles cut
off, an "Out[7]:" prompt caught beside a figure). Then:

- every genuine pair (a PDF beside its own notebook): never `inconsistent`;
- every swapped pair (a PDF beside another student's notebook): `inconsistent` rate;
- the class as a batch: flags between independent students (should be none);
- partly copied submissions (a PDF with 3 of another student's figures) in a batch:
  flagged, with the copied figures named.

    .venv/bin/python bench/verify_class.py [--students 24] [--no-swapped]
"""

import argparse
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import numpy as np  # noqa: E402
from submissions import (  # noqa: E402
    Style,
    cropped,
    jpeg,
    report_text,
    scaled,
    stacked,
    student,
    with_prompt,
    write_notebook,
    write_pdf,
)

from report_builder.verify import INCONSISTENT, verify_batch  # noqa: E402
from report_builder.verify.submission import compare, load_notebook, load_submission  # noqa: E402

COPIED = ("ae samples", "beta=0.06 samples", "interpolation 2")  # what a partial copier takes
LAYOUTS = ("word", "word-jpeg", "latex", "screenshots")


LOADED: dict[str, dict] = {}  # what the swapped-pair workers inherit when they fork


def _swapped(pair: tuple[str, str]) -> str:
    name, other = pair
    return compare(LOADED["pdfs"][name], LOADED["notebooks"][other]).verdict


def reported(made, layout: str, scale: float, taken=None) -> list:
    """The figures a student puts in the report, as screenshots at the student's scale;
    `taken`: figures by role that come from another student's notebook instead."""
    taken = taken or {}
    shots = [jpeg(scaled(taken.get(role, image), scale), 80)
             for role, image in made.figures if role != "preview"]
    if layout == "screenshots":
        # two outputs in one screenshot, a grid's title cut off, a prompt caught beside
        shots[0:2] = [stacked(shots[0], shots[1])]
        shots[2] = cropped(shots[2], 0, 0.12, 1, 1)
        shots[3] = with_prompt(shots[3])
    return shots


def hand_in(folder: Path, made, layout: str, scale: float, taken=None) -> None:
    images = reported(made, layout, scale, taken)
    engine = "latex" if layout == "latex" else "weasyprint"
    write_pdf(folder / "report.pdf", report_text(made), images, engine=engine,
              jpeg=layout == "word-jpeg")


def write_class(root: Path, n: int) -> dict[str, tuple]:
    folders = {}
    for k in range(n):
        name = f"s{k:02d}"
        made = student(name, 100 + k, style=Style.drawn(np.random.default_rng([k, 1])))
        folder = root / name
        folder.mkdir(parents=True)
        write_notebook(folder / "notebook.ipynb", made)
        layout, scale = LAYOUTS[k % len(LAYOUTS)], 0.6 + 0.5 * (k % 5) / 4
        hand_in(folder, made, layout, scale)
        folders[name] = (folder, made, layout, scale)
    return folders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--no-swapped", action="store_true",
                        help="skip the swapped pairs (n x (n-1) single-pair checks, slow)")
    args = parser.parse_args()
    n = args.students
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "class"
        started = time.perf_counter()
        folders = write_class(root, n)
        print(f"{n} students written in {time.perf_counter() - started:.0f} s "
              f"(layouts: {', '.join(LAYOUTS)})")
        pdfs = {name: load_submission(f[0] / "report.pdf") for name, f in folders.items()}
        notebooks = {name: load_notebook(f[0] / "notebook.ipynb") for name, f in folders.items()}
        genuine = {name: compare(pdfs[name], notebooks[name]) for name in folders}
        print(f"genuine pairs ({n}): {dict(Counter(v.verdict for v in genuine.values()))}")
        for name, verdict in genuine.items():
            if verdict.verdict == INCONSISTENT:
                print(f"  {name} ({folders[name][2]}): {verdict.summary}")
        started = time.perf_counter()
        rows = verify_batch(root, None, "", lambda *_: None)
        flagged = [row for row in rows if row.flags]
        print(f"batch of {n} independent students: {len(flagged)} flagged, "
              f"{time.perf_counter() - started:.0f} s")
        for row in flagged:
            print(f"  {row.student}: {row.flags}")

        # Three copiers: each takes COPIED from the next student's notebook.
        names = list(folders)
        for k, name in enumerate(names[:3]):
            folder, own, layout, scale = folders[name]
            victim = folders[names[k + 1]][1]
            hand_in(folder, own, layout, scale, {role: victim.figure(role) for role in COPIED})
        rows = {row.student: row for row in verify_batch(root, None, "", lambda *_: None)}
        for k, name in enumerate(names[:3]):
            print(f"partial copier {name} ({folders[name][2]}, took {', '.join(COPIED)} from "
                  f"{names[k + 1]}): {rows[name].verdict.summary}; flags {rows[name].flags}")

        if args.no_swapped:
            return
        # Every swapped pair, on both cores (the pairs share the parent's loaded files).
        LOADED["pdfs"], LOADED["notebooks"] = pdfs, notebooks
        pairs = [(name, other) for name in folders for other in folders if other != name]
        started = time.perf_counter()
        with ProcessPoolExecutor(os.cpu_count()) as pool:
            verdicts = list(pool.map(_swapped, pairs, chunksize=8))
        print(f"{len(pairs)} swapped pairs verified in {time.perf_counter() - started:.0f} s")
        swapped = Counter(verdicts)
        for (name, other), verdict in zip(pairs, verdicts, strict=True):
            if verdict != INCONSISTENT:
                print(f"  {name}'s PDF beside {other}'s notebook: {verdict}")
        total = sum(swapped.values())
        print(f"swapped pairs ({total}): {dict(swapped)}; inconsistent "
              f"{swapped[INCONSISTENT] / total:.1%}")


if __name__ == "__main__":
    main()
