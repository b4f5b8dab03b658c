"""How much each number a report quotes varies with the seed (`--seeds 0-4`), and whether
each answer's conclusions hold in every seed.

A quoted number is known by where it stands: its answer, and the words before it (other
numbers among them masked). So "the tuned β was 0.0001" is matched across seeds even where
another seed tuned another β, and a seed whose draft took another branch (said something
else there) is left out of that row rather than mixed into it.

A conclusion is a sentence of an answer with its numbers masked: a draft says "blurrier"
or "about as sharp" from its own seed's numbers, so a sentence that only some seeds'
drafts say is a conclusion that depends on the seed: the spread over seeds is part of its
noise (`conclusions`).
"""

import re
import statistics

from .errors import ReportBuilderError
from .numbers import NUMBER, significant, significant_digits

CONTEXT_WORDS = 6  # words before a number that say what it is


def parse_seeds(text: str) -> tuple[int, ...]:
    """'0-4' -> (0, 1, 2, 3, 4); '0,3,7' -> (0, 3, 7); '5' -> (5,)."""
    error = ReportBuilderError(f"--seeds {text}: give a range like 0-4 or a list like 0,3,7 "
                               "(whole numbers, each once)")
    try:
        if re.fullmatch(r"\d+-\d+", text.strip()):
            low, high = map(int, text.split("-"))
            seeds = tuple(range(low, high + 1))
        else:
            seeds = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise error from None
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise error
    return seeds


def quotes(answer: dict) -> list[tuple[str, str, float]]:
    """(the words before it, as printed, value) of each number the answer quotes."""
    text = answer["markdown"]
    found, cursor = [], 0
    for printed, value in zip(answer["numbers"], answer["values"], strict=True):
        at = _find_number(text, printed, cursor)
        if at is None:  # quoted out of order (a number set aside, shown later): from the top
            at = _find_number(text, printed, 0)
        context = _words_before(text, at) if at is not None else ""
        cursor = at + len(printed) if at is not None else cursor
        found.append((context, printed, value))
    return found


def _find_number(text: str, printed: str, start: int) -> int | None:
    """Where `printed` shows in the text; a share recorded as "3.0%" may show as "3.0"
    (percentage points)."""
    for match in NUMBER.finditer(text, start):
        if match.group() in (printed, printed.removesuffix("%")):
            return match.start()
    return None


def _words_before(text: str, at: int) -> str:
    sentence = re.split(r"(?<=[.!?])\s|\n\s*\n", text[:at])[-1]  # drafts wrap lines
    plain = NUMBER.sub("#", re.sub(r"[*_`#>|()\[\]]", " ", sentence))
    return " ".join(plain.split()[-CONTEXT_WORDS:])


def seed_spread(measured: list, per_seed: list[dict[str, dict]]) -> dict:
    """Per number the first seed's answers quote: its value in every seed's answers (None
    where that seed's draft said something else there), mean, std, min and max.
    `measured` are the seeds' builds (build.Measured), `per_seed` their answers."""
    rows = []
    for question in per_seed[0]:
        quoted = [_keyed(quotes(answers[question])) for answers in per_seed]
        for key, (printed, _) in quoted[0].items():
            values = [by_key[key][1] if key in by_key else None for by_key in quoted]
            rows.append({"question": question, "context": key[0], "printed": printed,
                         "values": values, **summary([v for v in values if v is not None])})
    for row in rows:
        row["shown"] = {name: show(row[name], row["printed"], name == "std")
                        for name in ("mean", "std", "min", "max")}
    return {"seeds": [m.seed for m in measured], "rows": rows,
            "conclusions": conclusions(per_seed),
            "runs": {str(m.seed): {name: run.key for name, run in m.runs.items()}
                     for m in measured}}


def _keyed(quoted: list[tuple[str, str, float]]) -> dict[tuple[str, int], tuple[str, float]]:
    """Quotes by (context, how many times that context came before): unique keys."""
    seen: dict[str, int] = {}
    keyed = {}
    for context, printed, value in quoted:
        seen[context] = seen.get(context, 0) + 1
        keyed[(context, seen[context])] = (printed, value)
    return keyed


def summary(values: list[float]) -> dict:
    """n, mean, sample std (n - 1; None for one value), min and max."""
    return {"n": len(values), "mean": statistics.fmean(values),
            "std": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "max": max(values)}


def show(value: float | None, printed: str, spread: bool = False) -> str:
    """`value` written as the report quoted it (a percentage stays one); a std with two
    significant digits."""
    if value is None:
        return "–"
    if printed.endswith("%"):
        return f"{100 * value:.1f}%" if spread else f"{100 * value:.0f}%"
    return significant(value, 2 if spread else max(3, significant_digits(printed)))


def conclusions(per_seed: list[dict[str, dict]]) -> list[dict]:
    """The first seed's sentences that not every seed's draft says (numbers masked): per
    sentence its answer, the sentence, and how many seeds say it."""
    rows = []
    for question, answer in per_seed[0].items():
        said = [set(map(_masked, _sentences(answers[question]["markdown"])))
                for answers in per_seed]
        for sentence in _sentences(answer["markdown"]):
            agree = sum(_masked(sentence) in sentences for sentences in said)
            if agree < len(per_seed):
                rows.append({"question": question, "sentence": sentence, "agree": agree,
                             "of": len(per_seed)})
    return rows


def _sentences(markdown: str) -> list[str]:
    text = " ".join(re.sub(r"[*_`#>|]", " ", markdown).split())
    return [s for s in re.split(r"(?<=[.!?:])\s+(?=[A-Z(])", text) if s]


def _masked(sentence: str) -> str:
    return NUMBER.sub("#", sentence)
