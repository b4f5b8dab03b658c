import pytest

from report_builder import evaluate as ev
from report_builder.build import Evaluation, measure_run, score_for_search
from report_builder.data import as_float
from report_builder.runs import RunConfig, RunStore


def test_the_search_score_is_the_same_numbers_as_the_full_metrics(tmp_path, tiny):
    store = RunStore(tmp_path)
    judge_run = store.get("classifier", RunConfig(model="classifier", epochs=1), tiny, "cpu")
    vae = store.get("vae", RunConfig(model="conv_vae", epochs=1, nz=8, beta=1e-3), tiny, "cpu")
    test_images = as_float(tiny.test_images)
    judge = ev.make_judge(judge_run.model, test_images, tiny.test_labels)
    evaluation = Evaluation(store, judge, judge_run.key, test_images, tiny.test_labels, 64, 1)

    score, full = score_for_search(vae, evaluation), measure_run(vae, evaluation)
    assert score["frechet"] == pytest.approx(full["samples"]["frechet"])
    assert score["test_mse"] == pytest.approx(full["test_mse"])
    assert score["test_kl"] == pytest.approx(full["test_kl"])
    assert evaluation.search_score(vae)["frechet"] == score["frechet"]  # cached in the entry
