"""Consistency checks for TAs: does a PDF say what its runs measured, and does it agree
with the notebook handed in beside it?

Two modes. A PDF built by report-builder carries `manifest.json`; its figures are checked
pixel for pixel, its answers' numbers against the measurements, its sections against
the spec. Any other PDF is compared with a notebook: images matched by perceptual hash,
numbers in the PDF looked up in the notebook's text outputs.
"""

import base64
import io
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image

from .answers import NUMBER
from .errors import ReportBuilderError
from .figures import pixels_sha256
from .files import atomic_write_text

# Perceptual-hash (pHash, 16x16 = 256 bits) distance at or below which two images count
# as the same figure. Measured: a figure and its copy extracted from the PDF differ by
# 0; two different sample grids of the same model and layout differ by 60 or more
# (tests/test_verify.py). 24 leaves room for re-encoding and resizing.
PHASH_SIZE = 16
SAME_FIGURE_MAX_DISTANCE = 24
DECIMAL = re.compile(r"(?<![\w.])-?(?:\d+\.\d+|\d+(?:\.\d+)?e[-+]?\d+)(?![\w])")


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class PdfContent:
    text: str
    images: dict[str, Image.Image]  # deduplicated by the PDF's own image names
    attachments: dict[str, bytes]


def read_pdf(path: Path) -> PdfContent:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        images = {}
        for page in reader.pages:
            for image in page.images:
                images.setdefault(image.name, image.image)
        attachments = {name: data[0] for name, data in reader.attachments.items()}
    except (OSError, PyPdfError, ValueError, KeyError) as err:
        raise ReportBuilderError(f"{path} is not a readable PDF ({err})") from None
    return PdfContent(text, images, attachments)


# ---- our own builds -------------------------------------------------------------------

def verify_build(path: Path) -> list[Check]:
    pdf = read_pdf(path)
    if "manifest.json" not in pdf.attachments:
        raise ReportBuilderError(
            f"{path} has no manifest.json attached, so it was not built by report-builder; "
            "compare it with its notebook: build-report verify PDF --notebook NB"
        )
    manifest = json.loads(pdf.attachments["manifest.json"])
    return [
        *check_figures(manifest, pdf),
        *check_answer_numbers(manifest, pdf),
        check_sections(manifest["spec"].get("sections", []), pdf.text),
        *check_word_limits(manifest),
    ]


def check_figures(manifest: dict, pdf: PdfContent) -> list[Check]:
    embedded = {pixels_sha256(image) for image in pdf.images.values()}
    checks = []
    for name, figure in manifest["figures"].items():
        found = figure["pixels_sha256"] in embedded
        checks.append(Check(f"figure {name}", found,
                            "embedded pixels match the manifest" if found else
                            "no image in the PDF has the pixels the manifest records"))
    return checks


def _answer_texts(text: str, questions: list[str], sections: list[str]) -> dict[str, str]:
    """Each answer's text: from its label ("Q1.") to the next label or section heading."""
    text = " ".join(re.sub(r"page \d+ of \d+", " ", text).split())  # footers, line breaks
    labels = {q: f"{q.upper()}." for q in questions}
    marks = sorted({text.find(mark) for mark in [*labels.values(), *sections]} - {-1})
    blocks = {}
    for question, label in labels.items():
        start = text.find(label)
        if start >= 0:
            end = next((mark for mark in marks if mark > start), len(text))
            blocks[question] = text[start:end].strip()
    return blocks


def _measured_values(manifest: dict) -> list[float]:
    values = []

    def walk(node):
        if isinstance(node, bool):
            return
        if isinstance(node, int | float):
            values.append(float(node))
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for section in ("runs", "beta_search", "judge", "interpolation", "paths", "dataset",
                    "test_spread"):
        walk(manifest.get(section))
    return values


def _agrees(text: str, values: list[float]) -> bool:
    """Does some measured value print as `text` (at the precision `text` shows)?"""
    is_percent = text.endswith("%")
    number = float(text.rstrip("%")) / (100 if is_percent else 1)
    mantissa = text.rstrip("%").lstrip("-").split("e")[0]
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(text.split("e")[1]) if "e" in text else 0
    # Half a unit in the last printed place; a percentage printed as a whole number
    # is a share rounded to 0.005.
    tolerance = 0.005 if is_percent else 0.5 * 10 ** (exponent - places)
    return any(abs(value - number) <= max(tolerance, 1e-12) * 1.0001 for value in values)


def check_answer_numbers(manifest: dict, pdf: PdfContent) -> list[Check]:
    """Each answer in the PDF quotes exactly the numbers its draft printed at build time,
    and each measured number it quotes agrees with the manifest's metrics."""
    answers = manifest["answers"]
    texts = _answer_texts(pdf.text, list(answers), manifest["spec"].get("sections", []))
    values = _measured_values(manifest)
    checks = []
    for question, recorded in answers.items():
        if question not in texts:
            checks.append(Check(f"answer {question} numbers", False, "answer not found in PDF"))
            continue
        label_end = texts[question].find(")") + 1  # skip "(3 pt; 120 words, limit 150)"
        found = NUMBER.findall(texts[question][label_end:])
        unexpected = sorted(set(found) - set(recorded["all_numbers"]))
        unmeasured = [n for n in recorded["numbers"] if not _agrees(n, values)]
        problems = [f"quotes {n}, which the build did not write" for n in unexpected]
        problems += [f"{n} agrees with no measurement in the manifest" for n in unmeasured]
        checks.append(Check(f"answer {question} numbers", not problems,
                            "; ".join(problems) or
                            f"{len(recorded['numbers'])} measured numbers, all in the manifest"))
    return checks


def check_sections(sections: list[str], text: str) -> Check:
    flat = " ".join(text.split())
    position, missing, misplaced = 0, [], []
    for section in sections:
        found = flat.find(section)
        if found < 0:
            missing.append(section)
        elif found < position:
            misplaced.append(section)
        else:
            position = found
    problems = ([f"missing: {', '.join(missing)}"] if missing else []) + \
        ([f"out of order: {', '.join(misplaced)}"] if misplaced else [])
    return Check("required sections in order", not problems,
                 "; ".join(problems) or f"all {len(sections)} present, in order")


def check_word_limits(manifest: dict) -> list[Check]:
    return [Check(f"answer {q} length", a["words"] < a["limit"],
                  f"{a['words']} words, limit {a['limit']}")
            for q, a in manifest["answers"].items()]


# ---- any submission: PDF + notebook ---------------------------------------------------

def phash(image: Image.Image):
    import imagehash

    return imagehash.phash(image.convert("RGB"), hash_size=PHASH_SIZE)


def read_notebook(path: Path) -> tuple[list[Image.Image], str]:
    """The notebook's image/png outputs and all of its text outputs."""
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several unrelated types for bad files
        raise ReportBuilderError(f"{path} is not a readable notebook ({type(err).__name__})") \
            from None
    images, texts = [], []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                images.append(Image.open(io.BytesIO(base64.b64decode(data["image/png"]))))
            texts.append(output.get("text", "") or data.get("text/plain", ""))
    return images, "\n".join(texts)


def _numbers_of_note(text: str) -> set[str]:
    """Decimals and scientific numbers (losses, beta, FID): what a report quotes."""
    return set(DECIMAL.findall(text))


def _same_number(a: str, b: str) -> bool:
    return a == b or (float(a) != 0 and abs(float(a) - float(b)) <= 1e-12 * abs(float(a)))


def verify_with_notebook(pdf_path: Path, notebook_path: Path,
                         sections: list[str] | None = None) -> list[Check]:
    pdf = read_pdf(pdf_path)
    notebook_images, notebook_text = read_notebook(notebook_path)
    pdf_hashes = {name: phash(image) for name, image in pdf.images.items()}
    notebook_hashes = [phash(image) for image in notebook_images]
    checks = []
    for name, hashed in pdf_hashes.items():
        distance = min((hashed - other for other in notebook_hashes), default=None)
        ok = distance is not None and distance <= SAME_FIGURE_MAX_DISTANCE
        checks.append(Check(f"PDF image {name}", ok,
                            f"matches a notebook output (distance {distance})" if ok else
                            f"no notebook output looks like it (nearest distance {distance})"))
    for index, hashed in enumerate(notebook_hashes):
        distance = min((hashed - other for other in pdf_hashes.values()), default=None)
        ok = distance is not None and distance <= SAME_FIGURE_MAX_DISTANCE
        checks.append(Check(f"notebook figure {index + 1}", ok,
                            f"in the PDF (distance {distance})" if ok else
                            f"missing from the PDF (nearest distance {distance})"))
    notebook_numbers = _numbers_of_note(notebook_text)
    absent = sorted(n for n in _numbers_of_note(pdf.text)
                    if not any(_same_number(n, m) for m in notebook_numbers))
    checks.append(Check("PDF numbers in notebook outputs", not absent,
                        f"absent from the notebook: {', '.join(absent[:12])}"
                        + (f" (+{len(absent) - 12} more)" if len(absent) > 12 else "")
                        if absent else "every decimal number in the PDF is in the notebook"))
    if sections:
        checks.append(check_sections(sections, pdf.text))
    return checks


def as_json(checks: list[Check]) -> str:
    return json.dumps({"passed": all(c.passed for c in checks),
                       "checks": [asdict(c) for c in checks]}, indent=2)


def verify_batch(root: Path, sections: list[str] | None, advance) -> list[dict]:
    """Verify DIR/<student>/ (one PDF, one notebook each); write summary.csv and .html."""
    import csv

    rows = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        pdfs, notebooks = sorted(folder.glob("*.pdf")), sorted(folder.glob("*.ipynb"))
        if len(pdfs) != 1 or len(notebooks) != 1:
            checks = [Check("submission files", False,
                            f"expected one PDF and one notebook, found {len(pdfs)} and "
                            f"{len(notebooks)}")]
        else:
            try:
                checks = verify_with_notebook(pdfs[0], notebooks[0], sections)
            except ReportBuilderError as err:
                checks = [Check("readable files", False, str(err))]
        failed = [c for c in checks if not c.passed]
        rows.append({"student": folder.name, "passed": not failed, "checks": len(checks),
                     "failed": "; ".join(f"{c.name}: {c.detail}" for c in failed)})
        advance(folder.name)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["student", "passed", "checks", "failed"])
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(root / "summary.csv", buffer.getvalue())
    atomic_write_text(root / "summary.html", _summary_html(rows))
    return rows


def _summary_html(rows: list[dict]) -> str:
    from html import escape

    body = "".join(
        f"<tr><td>{escape(r['student'])}</td><td class=\"{'ok' if r['passed'] else 'bad'}\">"
        f"{'pass' if r['passed'] else 'FAIL'}</td><td>{r['checks']}</td>"
        f"<td>{escape(r['failed'])}</td></tr>" for r in rows)
    return ("<!DOCTYPE html><meta charset=utf-8><title>verify summary</title><style>"
            "td,th{border-bottom:1px solid #ccc;padding:2px 8px;text-align:left}"
            ".ok{color:green}.bad{color:#b00;font-weight:bold}</style>"
            "<table><tr><th>student</th><th>result</th><th>checks</th><th>failed</th></tr>"
            f"{body}</table>\n")
