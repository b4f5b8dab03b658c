"""Inline answers: editable Markdown+Jinja drafts rendered with the measured numbers.

Drafts live in `templates/answers/<problem>/<question>.md.j2`. They receive the build's
numbers as plain values and branch on them, so a draft says what the run supports. Each
number a draft prints goes through a formatting filter that records it, so the manifest
(and `verify`) know every number quoted. Words are counted after rendering.

A draft states a difference only beyond its noise: it gets `paired` and `standard_error`
(report_builder.noise).
"""

import re
from pathlib import Path

import jinja2
import markdown

from .errors import ReportBuilderError
from .evaluate import CONFIDENT  # drafts may quote the judge's threshold
from .noise import Difference, binomial_se, independent, paired, paired_values, standard_error
from .numbers import NUMBER, epochs, significant
from .spec import ROOT, Spec

ANSWERS = ROOT / "templates" / "answers"


# What the report calls one image of each data set, so no text says "digit" of a shirt.
WORDS = {
    "digits": {"noun": "digit", "nouns": "digits", "judge": "digit classifier",
               "look": "handwritten digits"},
    "clothing": {"noun": "garment", "nouns": "garments", "judge": "clothing classifier",
                 "look": "pictures of clothing"},
}


def words_for(name: str) -> dict[str, str]:
    """The report's words for one image of the data set `name` (see WORDS)."""
    return WORDS["clothing" if name.startswith("fashion") else "digits"]


def count_words(text: str) -> int:
    """Words as a reader counts them: tokens with a letter or digit; markup ignored."""
    plain = re.sub(r"[*_`#>|]", " ", text)
    return sum(1 for token in plain.split() if re.search(r"[A-Za-z0-9]", token))


def _environment(folder: Path, quoted: list[tuple[str, float]],
                 compared: list[dict]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )

    def record(text: str, value: float, as_share: bool = False) -> str:
        # A difference of shares printed in percentage points ("3.0 points") is recorded
        # as the share it stands for ("3.0%" = 0.03), as `pct` records its numbers.
        quoted.append((f"{text}%" if as_share else text, float(value)))
        return text

    env.filters["num"] = lambda value, digits=3: record(significant(value, digits), value)
    env.filters["fixed"] = lambda value, places=2: record(f"{value:.{places}f}", value)
    env.filters["pct"] = lambda value, places=0: record(f"{100 * value:.{places}f}%", value)
    env.filters["points"] = lambda value, places=1: record(f"{100 * value:.{places}f}", value,
                                                           as_share=True)
    env.filters["beta"] = lambda value: record(f"{value:g}", value)
    env.filters["epochs"] = epochs

    def compare(a: dict, b: dict, key: str):
        difference = paired(a, b, key)
        compared.append({"runs": [a.get("key"), b.get("key")], "measure": key,
                         "difference": difference.difference, "se": difference.se})
        return difference

    def apart(a: float, a_se: float, b: float, b_se: float):
        difference = independent(a, a_se, b, b_se)
        compared.append({"runs": [], "measure": "measured apart", "values": [a, b],
                         "difference": difference.difference, "se": difference.se})
        return difference

    # `difference`: a measured difference and its standard error, already in the numbers
    # (nothing to record); `binomial_se`: of a share of n yes/no outcomes.
    env.globals.update(paired=compare, independent=apart, paired_values=paired_values,
                       standard_error=standard_error, difference=Difference,
                       binomial_se=binomial_se)
    return env


def render_answer(folder: Path, question: str, context: dict) -> dict:
    quoted: list[tuple[str, float]] = []
    compared: list[dict] = []  # the differences the draft read, for the manifest
    env = _environment(folder, quoted, compared)
    try:
        text = env.get_template(f"{question}.md.j2").render(**context)
    except jinja2.TemplateNotFound:
        raise ReportBuilderError(
            f"no answer draft {folder / (question + '.md.j2')}; write one for {question}"
        ) from None
    except jinja2.UndefinedError as err:
        raise ReportBuilderError(f"answer draft {question}: {err.message}") from None
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    return {
        "markdown": text,
        "html": markdown.markdown(text),
        "words": count_words(text),
        "numbers": [text for text, _ in quoted],  # measured values, as printed
        "values": [value for _, value in quoted],  # the same, unrounded
        "all_numbers": sorted(set(NUMBER.findall(text))),  # every number the text shows
        "comparisons": compared,
    }


def answer_context(numbers: dict) -> dict:
    """What a draft sees: the build's numbers (runs, judge, data, ...), each analysis's
    under its name (`beta_search`, `interpolation`), the data set's words for an image and
    the judge's confidence threshold."""
    return {**numbers, **numbers.get("analyses", {}), "words": words_for(numbers["data"]["name"]),
            "confident": CONFIDENT}


def render_answers(spec: Spec, numbers: dict, allow_long: bool = False,
                   folder: Path | None = None) -> dict[str, dict]:
    folder = folder or ANSWERS / spec.problem
    context = answer_context(numbers)
    answers = {}
    for question, rules in spec.questions.items():
        answer = render_answer(folder, question, context)
        answer.update(limit=rules.words, points=rules.points)
        if answer["words"] >= rules.words and not allow_long:
            raise ReportBuilderError(
                f"answer {question} has {answer['words']} words; the course allows fewer than "
                f"{rules.words}: shorten {folder / (question + '.md.j2')} "
                "or pass --allow-long-answers"
            )
        answers[question] = answer
    return answers
