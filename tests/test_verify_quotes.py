"""Numbers a student's PDF quotes, looked up in the notebook as students write them."""

from report_builder.verify.quotes import agrees, check_quotes, quoted_numbers


def statuses(pdf_text, outputs="", code="", markdown=""):
    return {q.text: q.status for q in check_quotes(pdf_text, outputs, code, markdown)}


def test_section_and_figure_numbers_are_not_quotes():
    text = "1.1 Auto-encoder\nThe loss is 0.0048.\n2.3 Tuned VAE\nSee Figure 3.2 and Eq. 1.5."
    assert quoted_numbers(text) == ["0.0048"]


def test_a_version_string_is_not_a_decimal():
    assert quoted_numbers("Python 3.11.7, torch 2.4.1, loss 0.25") == ["0.25"]


def test_a_value_quoted_at_lower_precision_is_printed():
    printed = "Epoch 5: loss 0.003609001636505127"
    assert statuses("final loss 0.0036", printed) == {"0.0036": "printed"}
    assert statuses("final loss 0.00361", printed) == {"0.00361": "printed"}
    # Cut instead of rounded, as students do:
    assert statuses("final loss 0.0037", "loss 0.003689") == {"0.0037": "printed"}
    assert statuses("final loss 0.0038", printed) == {"0.0038": "absent"}


def test_hyperparameters_typed_from_the_code_are_set_not_absent():
    code = "beta = 0.06\nmodel = VAE(nz=64)\nbeta_big = 10"
    assert statuses("tuned β = 0.06, and Beta = 10.0", code=code) == {
        "0.06": "set", "10.0": "set"}


def test_a_labelled_value_the_notebook_contradicts():
    quotes = check_quotes("the tuned β = 0.5 worked best", "", "beta = 0.06", "")
    assert [(q.text, q.status) for q in quotes] == [("0.5", "contradicted")]
    assert "beta = 0.06" in quotes[0].detail
    # The same number unlabelled is only absent; printed anywhere, it is not contradicted.
    assert statuses("we tried 0.5", code="beta = 0.06") == {"0.5": "absent"}
    assert statuses("β = 0.5", "beta: 0.5", "beta = 0.06") == {"0.5": "printed"}


def test_percentages_match_shares_and_percents():
    assert agrees("96.2%", 0.9623) and agrees("96.2%", 96.24)
    assert not agrees("96.2%", 0.951)


def test_scientific_notation():
    assert agrees("1.18e+03", 1183.7) and agrees("1e-4", 0.0001)
    assert statuses("KL = 3.1e-02", "kl 0.031") == {"3.1e-02": "printed"}


def test_distinctive_means_three_significant_digits_printed():
    quotes = {q.text: q for q in check_quotes("0.0036 and 136.6", "0.0036 136.6", "", "")}
    assert not quotes["0.0036"].distinctive and quotes["136.6"].distinctive


def test_a_wrapped_line_starting_with_a_number_is_still_a_quote():
    assert quoted_numbers("the final loss was\n0.0036 and the KL\n2.1 β = 0") == ["0.0036"]
