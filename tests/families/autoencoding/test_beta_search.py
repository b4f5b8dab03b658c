import pytest

from report_builder import evaluate as ev
from report_builder.families.autoencoding import beta_search
from report_builder.measure import Evaluation
from report_builder.runs import RunConfig, RunStore
from report_builder.train import as_float


def test_the_search_score_is_the_same_numbers_as_the_full_metrics(tmp_path, tiny):
    store = RunStore(tmp_path)
    judge_run = store.get("classifier", RunConfig.make("classifier", 1), tiny, "cpu")
    vae = store.get("vae", RunConfig.make("conv_vae", 1, nz=8, beta=1e-3), tiny, "cpu")
    test_images = as_float(tiny.test_images)
    judge = ev.make_judge(judge_run.model, test_images, tiny.test_labels)
    evaluation = Evaluation(store, judge, judge_run.key, tiny, test_images, tiny.test_labels,
                            64, 1)

    score, full = beta_search.score(vae, evaluation), evaluation.metrics(vae)
    assert score["frechet"] == pytest.approx(full["samples"]["frechet"])
    assert score["test_mse"] == pytest.approx(full["test_mse"])
    assert score["test_kl"] == pytest.approx(full["test_kl"])
    cached = evaluation.cached(vae, "search", beta_search.score)  # kept in the run's entry
    assert cached["frechet"] == score["frechet"] and cached["beta"] == 1e-3
    assert len(list((store.entry(vae.key) / "metrics").glob("search-*.json"))) == 1


def test_beta_search_legend_names_each_rung_in_epochs(monkeypatch):
    drawn = []
    monkeypatch.setattr(beta_search, "to_png", lambda fig: drawn.append(fig) or b"")
    rows = [{"beta": beta, "frechet": 300.0, "test_mse": 0.01, "eligible": True}
            for beta in (1e-5, 1e-4, 1e-3)]
    rungs = [{"epochs": 1, "rows": rows}, {"epochs": 5, "rows": rows[1:]}]
    beta_search.plot_beta_search("search", "caption", rungs, chosen=1e-4).draw()
    legend = [text.get_text() for text in drawn[0].legends[0].get_texts()]
    assert legend[:2] == ["1 epoch", "5 epochs"]
