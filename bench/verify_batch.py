"""How long `verify --batch` takes for a class (not a test).

Makes N distinct students (tests/submissions.py: notebook with nbformat, report with
WeasyPrint from scaled JPEG screenshots), swaps two students' PDFs, then times
`verify_batch` over the folder and prints the verdict counts.

    .venv/bin/python bench/verify_batch.py --students 100
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

from submissions import jpeg, report_text, scaled, student, write_notebook, write_pdf  # noqa: E402

from report_builder.verify import verify_batch  # noqa: E402


def hand_in(args: tuple[Path, int]) -> None:
    root, seed = args
    name = f"student{seed:03d}"
    made = student(name, seed)
    folder = root / name
    folder.mkdir()
    write_notebook(folder / "notebook.ipynb", made)
    shots = [jpeg(scaled(image, 0.8)) for role, image in made.figures if role != "preview"]
    write_pdf(folder / "report.pdf", report_text(made), shots, jpeg=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        with ProcessPoolExecutor() as pool:
            list(pool.map(hand_in, [(root, seed) for seed in range(1, args.students + 1)]))
        first, second = sorted(root.iterdir())[:2]
        os.rename(first / "report.pdf", root / "swap.pdf")
        os.rename(second / "report.pdf", first / "report.pdf")
        os.rename(root / "swap.pdf", second / "report.pdf")
        made = time.perf_counter() - start
        start = time.perf_counter()
        rows = verify_batch(root, None, "", lambda *_: None)
        took = time.perf_counter() - start
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"made {args.students} submissions in {made:.0f} s")
    print(f"verify --batch: {took:.1f} s for {args.students} pairs "
          f"({took / args.students * 1000:.0f} ms a pair, each PDF against "
          f"{args.students} notebooks)")
    print("verdicts:", dict(Counter(row.verdict.verdict for row in rows)))
    print("flagged:", [(row.student, row.flags) for row in rows if row.flags])


if __name__ == "__main__":
    main()
