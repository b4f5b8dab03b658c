"""How `verify` tells one student's work from another's, on a class of fixtures (not a test).

A class of independent "students" (tests/submissions.py: each its own seed, so its own
loss noise, samples and interpolations; each notebook drawn at its own scale; PDFs laid
out as a word processor does, some re-encoded as JPEG), then:

- every genuine pair (a PDF beside its own notebook): never `inconsistent`;
- every swapped pair (a PDF beside another student's notebook): `inconsistent` rate;
- the class as a batch: flags between independent students (should be none);
- partly copied submissions (a student's PDF with 3 of another's figures) in a batch:
  flagged, with the copied figures named.

    .venv/bin/python bench/verify_class.py [--students 20]
"""

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from submissions import jpeg, report_text, scaled, student, write_notebook, write_pdf  # noqa: E402

from report_builder.verify import INCONSISTENT, verify_batch  # noqa: E402
from report_builder.verify.submission import compare, load_notebook, load_submission  # noqa: E402

COPIED = ("ae losses", "ae samples", "beta=0 losses")  # what a partial copier takes


def reported(made, scale: float):
    """The figures a student puts in the report: screenshots at the student's scale."""
    return [jpeg(scaled(image, scale), 80) for role, image in made.figures if role != "preview"]


def write_class(root: Path, n: int) -> dict[str, Path]:
    folders = {}
    for k in range(n):
        name = f"s{k:02d}"
        made = student(name, 100 + k)
        folder = root / name
        folder.mkdir(parents=True)
        write_notebook(folder / "notebook.ipynb", made)
        write_pdf(folder / "report.pdf", report_text(made), reported(made, 0.7 + 0.03 * k),
                  jpeg=k % 2 == 0)
        folders[name] = folder
    return folders


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=20)
    n = parser.parse_args().students
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "class"
        started = time.perf_counter()
        folders = write_class(root, n)
        print(f"{n} students written in {time.perf_counter() - started:.0f} s")
        pdfs = {name: load_submission(folder / "report.pdf") for name, folder in folders.items()}
        notebooks = {name: load_notebook(folder / "notebook.ipynb")
                     for name, folder in folders.items()}
        genuine = Counter(compare(pdfs[name], notebooks[name]).verdict for name in folders)
        swapped = Counter()
        for name in folders:
            for other in folders:
                if other != name:
                    swapped[compare(pdfs[name], notebooks[other]).verdict] += 1
        print(f"genuine pairs ({n}): {dict(genuine)}")
        total = sum(swapped.values())
        print(f"swapped pairs ({total}): {dict(swapped)}; inconsistent "
              f"{swapped[INCONSISTENT] / total:.1%}")

        started = time.perf_counter()
        rows = verify_batch(root, None, "", lambda *_: None)
        flagged = [row for row in rows if row.flags]
        print(f"batch of {n} independent students: {len(flagged)} flagged, "
              f"{time.perf_counter() - started:.0f} s")
        for row in flagged:
            print(f"  {row.student}: {row.flags}")

        # Three copiers: each takes COPIED of the next student's figures.
        for k, name in enumerate(list(folders)[:3]):
            victim = student(f"s{k + 1:02d}", 100 + k + 1)
            own = student(name, 100 + k)
            figures = [jpeg(scaled((victim if role in COPIED else own).figure(role), 0.8))
                       for role, _ in own.figures if role != "preview"]
            write_pdf(folders[name] / "report.pdf", report_text(own), figures)
        rows = {row.student: row for row in verify_batch(root, None, "", lambda *_: None)}
        for name in list(folders)[:3]:
            print(f"partial copier {name}: {rows[name].verdict.summary}; flags {rows[name].flags}")


if __name__ == "__main__":
    main()
