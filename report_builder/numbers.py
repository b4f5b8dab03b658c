"""How numbers are written in a report: one syntax for the drafts that quote them and for
`verify` that reads them back. No heavy imports: `verify` starts without torch."""

import re

# The appendix of a several-seed build; `verify` ends the last answer's text there.
SEEDS_HEADING = "Appendix: spread across seeds"

# Every number a text shows: integers, decimals, scientific notation, percentages.
NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?")


def value_of(text: str) -> float:
    """The value a printed number stands for ('96%' -> 0.96)."""
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def last_place(text: str) -> float:
    """One unit in the last printed place: '0.0036' -> 1e-4, '1.18e+03' -> 10, '96%' -> 0.01."""
    body = text.rstrip("%").lstrip("-")
    mantissa, _, exponent = body.lower().partition("e")
    places = len(mantissa.split(".")[1]) if "." in mantissa else 0
    unit = 10.0 ** (int(exponent or 0) - places)
    return unit / 100 if text.endswith("%") else unit


def significant_digits(text: str) -> int:
    """'0.0036' -> 2, '136.6' -> 4, '1.18e+03' -> 3."""
    digits = text.rstrip("%").lstrip("-").lower().partition("e")[0].replace(".", "")
    return len(digits.lstrip("0")) or 1


def significant(value: float, digits: int = 3) -> str:
    """`digits` significant digits, but whole numbers stay whole: 1184, not 1.18e+03."""
    value = value + 0.0  # -0.0 prints as 0
    if abs(value) >= 10 ** digits and abs(value) < 1e9:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def epochs(n: float) -> str:
    """'1 epoch', '5 epochs', '2.5 epochs' (the quick profile trains one)."""
    return f"{n:g} epoch" if n == 1 else f"{n:g} epochs"
