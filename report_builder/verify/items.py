"""What a course requires a submission to show, found however a student words it.

A spec lists each item with the phrases that name it ("question 2", "beta = 10");
`found()` matches them in the PDF's text loosely: case, spacing, hyphens, 'β' or 'beta',
'=' or ':' or nothing, '10' or '10.0' alike, and a word ending in '*' as a prefix."""

import re

NUMBER_TOKEN = re.compile(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def normal(text: str) -> str:
    text = text.lower().replace("β", "beta").replace("−", "-")
    return " ".join(re.sub(r"(?<=[^\W\d_])-(?=[^\W\d_])", " ", text).split())


def phrase_pattern(phrase: str) -> re.Pattern:
    parts = []
    for token in re.findall(rf"{NUMBER_TOKEN.pattern}|[^\W\d_]+\*?|[=:]", normal(phrase)):
        if token[0].isdigit():
            parts.append(_same_value(token))
        elif token in "=:":
            parts.append(r"(?:=|:|of|is)?")
        elif token.endswith("*"):
            parts.append(re.escape(token[:-1]) + r"\w*")
        else:
            parts.append(re.escape(token) + r"(?![^\W\d_])")
    return re.compile(r"(?<![^\W\d_])" + r"\s*".join(parts))


def _same_value(token: str) -> str:
    """'10' matches 10, 10.0 and 10.00, not 100, 10.5 or 0.10."""
    whole, _, decimals = token.partition(".")
    decimals = decimals.rstrip("0")
    body = re.escape(whole) + (r"\." + re.escape(decimals) + "0*" if decimals else r"(?:\.0*)?")
    return r"(?<![\d.])" + body + r"(?![\d]|\.\d)"


def found(items: dict[str, list[str]], text: str) -> dict[str, bool]:
    flat = normal(text)
    return {name: any(phrase_pattern(p).search(flat) for p in phrases)
            for name, phrases in items.items()}
