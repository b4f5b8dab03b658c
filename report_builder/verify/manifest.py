"""A PDF that report-builder built: its attached manifest says what every figure's pixels
and every answer's numbers must be, so each is checked exactly (as strict as a build)."""

import json
import re
from pathlib import Path

from ..errors import ReportBuilderError
from ..files import pixels_sha256
from ..numbers import NUMBER, SEEDS_HEADING, last_place, value_of
from .read import Pdf, read_pdf
from .verdict import Evidence, Verdict


def verify_build(path: Path) -> Verdict:
    pdf = read_pdf(path)
    if "manifest.json" not in pdf.attachments:
        raise ReportBuilderError(
            f"{path} has no manifest.json attached, so it was not built by report-builder; "
            "compare it with its notebook: build-report verify PDF --notebook NB"
        )
    manifest = json.loads(pdf.attachments["manifest.json"])
    evidence = [
        *check_figures(manifest, pdf),
        *check_answer_numbers(manifest, pdf),
        check_sections(manifest["spec"].get("sections", []), pdf.text),
        *check_word_limits(manifest),
    ]
    return Verdict(str(path), None, evidence, strict=True)


def _check(name: str, passed: bool, detail: str) -> Evidence:
    return Evidence("check", name, "confirmed" if passed else "contradicted", detail)


def check_figures(manifest: dict, pdf: Pdf) -> list[Evidence]:
    embedded = {pixels_sha256(figure.image) for figure in pdf.figures}
    return [_check(f"figure {name}", figure["pixels_sha256"] in embedded,
                   "embedded pixels match the manifest" if figure["pixels_sha256"] in embedded
                   else "no image in the PDF has the pixels the manifest records")
            for name, figure in manifest["figures"].items()]


def answer_texts(text: str, questions: list[str], sections: list[str]) -> dict[str, str]:
    """Each answer's text: from its label ("Q1.") to the next label or section heading."""
    text = " ".join(re.sub(r"page \d+ of \d+", " ", text).split())  # footers, line breaks
    labels = {q: f"{q.upper()}." for q in questions}
    ends = [*labels.values(), *sections, SEEDS_HEADING]
    marks = sorted({text.find(mark) for mark in ends} - {-1})
    blocks = {}
    for question, label in labels.items():
        start = text.find(label)
        if start >= 0:
            end = next((mark for mark in marks if mark > start), len(text))
            blocks[question] = text[start:end].strip()
    return blocks


def measured_values(manifest: dict) -> list[float]:
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

    for section in ("runs", "analyses", "judge", "dataset", "test_spread", "comparisons"):
        walk(manifest.get(section))
    return values


def agrees_as_built(text: str, values: list[float]) -> bool:
    """Does some measured value print as `text`? Our drafts round (half a unit in the last
    place: "96%" is a share rounded to 0.005, "3.2%" to 0.0005). Magnitudes
    are compared: a draft puts a difference either way round, its words giving the
    direction ("3.0 points below raw pixels" quotes a gain of -0.030)."""
    tolerance = 0.5 * last_place(text)
    number = abs(value_of(text))
    return any(abs(abs(value) - number) <= max(tolerance, 1e-12) * 1.0001 for value in values)


ANSWER_META = re.compile(r"\(\d+ pt; \d+ words, limit \d+\)")


def check_answer_numbers(manifest: dict, pdf: Pdf) -> list[Evidence]:
    """Each answer quotes exactly the numbers its draft printed at build time, and each
    measured number it quotes agrees with the manifest's metrics."""
    answers = manifest["answers"]
    texts = answer_texts(pdf.text, list(answers), manifest["spec"].get("sections", []))
    values = measured_values(manifest)
    checks = []
    for question, recorded in answers.items():
        name = f"answer {question} numbers"
        if question not in texts:
            checks.append(_check(name, False, "answer not found in PDF"))
            continue
        meta = ANSWER_META.search(texts[question])  # skip "(3 pt; 120 words, limit 150)"
        found = NUMBER.findall(texts[question][meta.end() if meta else 0:])
        unexpected = sorted(set(found) - set(recorded["all_numbers"]))
        unmeasured = [n for n in recorded["numbers"] if not agrees_as_built(n, values)]
        problems = [f"quotes {n}, which the build did not write" for n in unexpected]
        problems += [f"{n} agrees with no measurement in the manifest" for n in unmeasured]
        checks.append(_check(name, not problems, "; ".join(problems) or
                             f"{len(recorded['numbers'])} measured numbers, all in the manifest"))
    return checks


def check_sections(sections: list[str], text: str) -> Evidence:
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
    return _check("required sections in order", not problems,
                  "; ".join(problems) or f"all {len(sections)} present, in order")


def check_word_limits(manifest: dict) -> list[Evidence]:
    return [_check(f"answer {q} length", a["words"] < a["limit"],
                   f"{a['words']} words, limit {a['limit']}")
            for q, a in manifest["answers"].items()]
