"""The numbers a student's PDF quotes, looked up in the notebook.

A decimal in the PDF is `printed` when a cell's output shows it (at the precision the PDF
prints: '0.0036' for 0.003609001636505127, rounded or cut), `set` when only the code or a
markdown cell has it (a hyperparameter typed into the report: tuned β = 0.06), and
`absent` otherwise (computed by hand, or from an output that a re-run overwrote: not
evidence either way). A labelled value ('β = 0.06', 'KL: 60.7') is `contradicted` when it is
absent and the notebook gives the same label only other values.
Section, figure and equation numbers ('2.3 Tuned VAE', 'Figure 1.2') are not quotes.
"""

import re
from dataclasses import dataclass

from ..numbers import last_place, significant_digits, value_of

# Decimals and scientific numbers: what a report quotes (integers are counts, pages, years).
DECIMAL = re.compile(r"(?<![\w.])-?(?:\d+\.\d+|\d+(?:\.\d+)?e[-+]?\d+)%?(?![\w]|\.\d)")
ANY_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?(?![\w]|\.\d)")
# "2.3 Tuned VAE", "2.1 β = 0" at a line's start; not a wrapped line's "0.0036 and ...".
SECTION = re.compile(r"(?:^|\n)\s*([1-9]\d?(?:\.\d{1,2})+)\.?\s+(?=[A-Z\u0370-\u03ff])")
REFERENCE = re.compile(
    r"(?:section|sec\.|figure|fig\.|table|eq\.|equation|problem|question|part|step)\s*"
    r"\(?(\d+\.\d+)", re.IGNORECASE)
LABELLED = re.compile(r"([^\W\d_]+)\s*(?:=|:)\s*(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)(?![\w]|\.\d)")
DISTINCTIVE_DIGITS = 3  # a printed match of fewer significant digits may be a coincidence
SYNONYMS = {"β": "beta"}  # labels written two ways; others are compared lower-cased


@dataclass(frozen=True)
class Quote:
    text: str  # as the PDF prints it
    status: str  # printed, set, absent, contradicted
    detail: str

    @property
    def distinctive(self) -> bool:
        return self.status == "printed" and significant_digits(self.text) >= DISTINCTIVE_DIGITS


def quoted_numbers(pdf_text: str) -> list[str]:
    """The PDF's decimals, in order, each once, without section and figure numbers."""
    skipped = set(SECTION.findall(pdf_text)) | set(REFERENCE.findall(pdf_text))
    return list(dict.fromkeys(n for n in DECIMAL.findall(pdf_text) if n not in skipped))


def agrees(text: str, value: float) -> bool:
    """Does `value` print as `text` at text's precision (rounded or cut)? Percentages
    also match a share (96.2% ~ 0.962) or the number itself (96.2)."""
    candidates = [(value_of(text), last_place(text))]
    if text.endswith("%"):
        candidates.append((float(text[:-1]), last_place(text[:-1])))
    return any(abs(value - target) < unit * 1.0001 for target, unit in candidates)


def _values(text: str) -> list[float]:
    return [float(n) for n in ANY_NUMBER.findall(text)]


def _labels(text: str) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for label, number in LABELLED.findall(text):
        found.setdefault(_label(label), []).append(float(number))
    return found


def _label(word: str) -> str:
    return SYNONYMS.get(word.lower(), word.lower())


def check_quotes(pdf_text: str, outputs: str, code: str, markdown: str) -> list[Quote]:
    printed, written = _values(outputs), _values(code + "\n" + markdown)
    notebook_labels = _labels(outputs + "\n" + code)
    pdf_labels = {number: _label(label) for label, number in LABELLED.findall(pdf_text)}
    quotes = []
    for text in quoted_numbers(pdf_text):
        if any(agrees(text, value) for value in printed):
            quotes.append(Quote(text, "printed", "shown in a cell's output"))
        elif any(agrees(text, value) for value in written):
            quotes.append(Quote(text, "set", "in the code or markdown, not in an output"))
        elif (label := pdf_labels.get(text)) and (others := notebook_labels.get(label)):
            shown = ", ".join(f"{v:g}" for v in dict.fromkeys(others))
            quotes.append(Quote(text, "contradicted",
                                f"the PDF says {label} = {text}; the notebook has {label} = "
                                f"{shown}"))
        else:
            quotes.append(Quote(text, "absent", "not in the notebook"))
    return quotes
