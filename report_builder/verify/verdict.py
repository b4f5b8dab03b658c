"""What `verify` concludes, in plain data: evidence items and the verdict they add up to.

`inconsistent` when the contradictions outnumber what confirms the pair (the notebook is not
where the PDF came from), or another student's notebook explains the PDF better (batch),
or, for a report-builder PDF (`strict`), any check fails; `consistent` when something
confirms it and nothing is unverifiable or contradicted; otherwise `not enough specific
evidence`, with the count of what did confirm. Only specific evidence confirms: a figure
that this notebook and no independent student's would show, a printed number with digits
enough not to be a coincidence. Content every student shares is `weak` and counts for
nothing either way.
"""

from collections import Counter
from dataclasses import asdict, dataclass, field

CONSISTENT, PARTLY, INCONSISTENT = "consistent", "not enough specific evidence", "inconsistent"


@dataclass(frozen=True)
class Evidence:
    what: str  # figure, number, item, notebook figures, other notebook, check
    subject: str  # where: "page 3, image 2", "0.0036", "Q2"
    status: str  # confirmed, weak, unverifiable, contradicted, missing, present, note
    detail: str


@dataclass
class Verdict:
    pdf: str
    notebook: str | None
    evidence: list[Evidence]
    warnings: list[str] = field(default_factory=list)
    strict: bool = False  # a report-builder PDF: any contradicted check is inconsistent

    @property
    def counts(self) -> Counter:
        return Counter(e.status for e in self.evidence)

    @property
    def verdict(self) -> str:
        counts = self.counts
        confirmed = counts["confirmed"]
        if any(e.what == "other notebook" for e in self.evidence) or \
                counts["contradicted"] > (0 if self.strict else confirmed):
            return INCONSISTENT
        if confirmed and not (counts["contradicted"] or counts["unverifiable"]):
            return CONSISTENT
        return PARTLY

    @property
    def summary(self) -> str:
        """The verdict as a TA reads it: with the count of specific matches."""
        if self.verdict != PARTLY:
            return self.verdict
        confirmed = self.counts["confirmed"]
        return f"{PARTLY} ({confirmed} specific match{'es' * (confirmed != 1)})"

    def as_dict(self) -> dict:
        return {"pdf": self.pdf, "notebook": self.notebook, "verdict": self.verdict,
                "summary": self.summary,
                "counts": dict(self.counts), "warnings": self.warnings,
                "evidence": [asdict(e) for e in self.evidence]}
