"""The spread across seeds: quoted numbers matched by where they stand, fed made-up numbers."""

from types import SimpleNamespace

import pytest

from report_builder.answers import render_answer
from report_builder.errors import ReportBuilderError
from report_builder.seeds import parse_seeds, quotes, seed_spread, show

# A draft that branches on its numbers, as the course's drafts do; lines wrapped mid-sentence.
DRAFT = """The tuned VAE reaches test MSE {{ mse | num }} and
Fréchet distance {{ fd | num }}.
{% if fd < ae_fd %}
Its samples beat the AE's ({{ ae_fd | num }}), as the prior
pulls codes together.
{% else %}
The AE's samples are no worse ({{ ae_fd | num }}): the KL weight is too small to help.
{% endif %}
Share confident: {{ share | pct }}.
"""


@pytest.fixture
def drafts(tmp_path):
    (tmp_path / "q1.md.j2").write_text(DRAFT)
    return tmp_path


def answers(drafts, **numbers) -> dict[str, dict]:
    return {"q1": render_answer(drafts, "q1", numbers)}


def measured(seed: int) -> SimpleNamespace:
    return SimpleNamespace(seed=seed, runs={"ae": SimpleNamespace(key=f"key{seed}")})


def test_seeds_take_ranges_and_lists():
    assert parse_seeds("0-4") == (0, 1, 2, 3, 4)
    assert parse_seeds("0,3,7") == (0, 3, 7)
    assert parse_seeds("5") == (5,)
    for bad in ("4-0", "a-b", "1,1", "-1", "0-", ""):
        with pytest.raises(ReportBuilderError, match="--seeds"):
            parse_seeds(bad)


def test_each_quote_is_known_by_the_words_before_it_across_wrapped_lines(drafts):
    answer = answers(drafts, mse=0.0123, fd=40.2, ae_fd=61.5, share=0.7)["q1"]
    contexts = [context for context, _, _ in quotes(answer)]
    assert contexts == ["The tuned VAE reaches test MSE", "test MSE # and Fréchet distance",
                        "Its samples beat the AE's", "Share confident:"]
    assert [printed for _, printed, _ in quotes(answer)] == ["0.0123", "40.2", "61.5", "70%"]


def test_the_spread_is_of_each_quoted_number_over_the_seeds(drafts):
    per_seed = [answers(drafts, mse=mse, fd=fd, ae_fd=60.0, share=share)
                for mse, fd, share in ((0.010, 40.0, 0.70), (0.012, 44.0, 0.60),
                                       (0.014, 42.0, 0.80))]
    spread = seed_spread([measured(s) for s in (0, 1, 2)], per_seed)
    rows = {row["context"]: row for row in spread["rows"]}
    mse = rows["The tuned VAE reaches test MSE"]
    assert mse["values"] == [0.010, 0.012, 0.014] and mse["n"] == 3
    assert mse["mean"] == pytest.approx(0.012) and mse["std"] == pytest.approx(0.002)
    assert (mse["min"], mse["max"]) == (0.010, 0.014)
    share = rows["Share confident:"]
    assert share["shown"] == {"mean": "70%", "std": "10.0%", "min": "60%", "max": "80%"}
    assert spread["seeds"] == [0, 1, 2]
    assert spread["runs"] == {"0": {"ae": "key0"}, "1": {"ae": "key1"}, "2": {"ae": "key2"}}


def test_a_seed_whose_draft_took_another_branch_is_left_out_of_that_row(drafts):
    better = answers(drafts, mse=0.01, fd=40.0, ae_fd=60.0, share=0.7)
    worse = answers(drafts, mse=0.02, fd=70.0, ae_fd=65.0, share=0.5)  # the else branch
    spread = seed_spread([measured(0), measured(1)], [better, worse])
    rows = {row["context"]: row for row in spread["rows"]}
    ae = rows["Its samples beat the AE's"]
    assert ae["values"] == [60.0, None] and ae["n"] == 1 and ae["std"] is None
    assert ae["shown"]["std"] == "–"
    assert rows["test MSE # and Fréchet distance"]["values"] == [40.0, 70.0]  # both said it there
    assert len(spread["rows"]) == 4  # rows are the first seed's quotes


def test_numbers_are_shown_as_the_report_quoted_them():
    assert show(0.0123456, "0.0123") == "0.0123"
    assert show(1234.6, "1235") == "1235"
    assert show(0.004, "0.0036", spread=True) == "0.004"
    assert show(0.123, "12%") == "12%"
    assert show(None, "3.2") == "–"


def test_a_conclusion_only_some_seeds_draw_is_named_with_its_count(drafts):
    """The spread over seeds is noise too: a sentence that one seed's numbers put one way
    and another's the other way is listed with how many seeds say it."""
    better = answers(drafts, mse=0.01, fd=40.0, ae_fd=60.0, share=0.7)
    worse = answers(drafts, mse=0.02, fd=70.0, ae_fd=65.0, share=0.5)  # the else branch
    spread = seed_spread([measured(s) for s in (0, 1, 2)], [better, worse, better])
    [row] = [r for r in spread["conclusions"] if r["sentence"].startswith("Its samples")]
    assert (row["agree"], row["of"], row["question"]) == (2, 3, "q1")
    # Sentences that differ only in their numbers hold in every seed.
    assert all("tuned VAE reaches" not in r["sentence"] for r in spread["conclusions"])
    same = seed_spread([measured(s) for s in (0, 1)], [better, better])
    assert same["conclusions"] == []
