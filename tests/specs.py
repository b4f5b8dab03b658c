"""Small specs and rendered drafts for the tests of families and problems."""

from pathlib import Path

from report_builder.answers import render_answers
from report_builder.spec import load_spec


def one_run_spec(folder: Path, name: str, run: str, figures: str = "[]") -> Path:
    """A minimal spec file whose only run is `name: <run>` (a YAML flow mapping), with
    `figures` as YAML."""
    path = folder / "spec.yaml"
    path.write_text(f"""
problem: p
title: t
course: c
output: p.pdf
template: p.html.j2
runs:
  {name}: {run}
figures: {figures}
questions: {{}}
""")
    return path


def drafts(problem: str, numbers: dict) -> dict[str, str]:
    """The problem's answer drafts rendered with these numbers: {question: markdown}."""
    return {question: answer["markdown"]
            for question, answer in render_answers(load_spec(problem), numbers).items()}


def assert_in_order(text: str, headings: list[str]) -> None:
    """Each heading is in the PDF's text, in this order."""
    positions = [text.find(heading) for heading in headings]
    assert -1 not in positions, dict(zip(headings, positions, strict=True))
    assert positions == sorted(positions), dict(zip(headings, positions, strict=True))
