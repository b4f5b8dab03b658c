"""A course's required items, found however a student words them."""

from report_builder.spec import load_spec
from report_builder.verify.items import found


def test_students_wording_of_problem1_is_found():
    text = ("1.1 Auto-encoder\nInline Question 1: blends.\n2 Variational auto-encoder\n"
            "2.1 β=0 ... 2.2 Beta = 10.0 ... 2.3 tuned beta = 1e-4\nInline Question 2 ..."
            "Question 3 ... Q4 ... 3 Embedding-space interpolations ... Inline question 5")
    present = found(load_spec("problem1").submission_items, text)
    assert all(present.values()), [k for k, v in present.items() if not v]


def test_values_match_by_value_not_by_prefix():
    items = {"β = 0": ["beta = 0"], "β = 10": ["beta = 10"], "Q1": ["q1"]}
    assert found(items, "beta = 0.0001, beta=100, Q12") == {
        "β = 0": False, "β = 10": False, "Q1": False}
    assert found(items, "β: 0.0 and BETA=10.00 and q1.") == {
        "β = 0": True, "β = 10": True, "Q1": True}


def test_a_prefix_item_and_hyphens():
    items = {"interp": ["interpolat*"], "ae": ["auto encoder"]}
    assert found(items, "We interpolate between auto-encoder codes") == {
        "interp": True, "ae": True}
