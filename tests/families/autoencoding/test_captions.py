"""Figure captions of the encoder/decoder families follow the data set's words."""

import dataclasses

import pytest

from report_builder.families.autoencoding import figures
from report_builder.measure import Evaluation
from report_builder.runs import RunConfig, RunStore
from report_builder.train import as_float


@pytest.mark.parametrize("data_name, judge, kind", [
    ("mnist-5k", "digit classifier", "digit"), ("fashion-mnist", "clothing classifier", "garment")])
def test_captions_name_the_judge_and_the_classes_of_the_data_set(tmp_path, tiny, data_name,
                                                                   judge, kind):
    data = dataclasses.replace(tiny, name=data_name)
    vae = RunStore(tmp_path).get("vae", RunConfig.make("mlp_vae", 1, nz=2), tiny, "cpu")
    evaluation = Evaluation(RunStore(tmp_path), None, "", data, as_float(tiny.test_images),
                            tiny.test_labels, 16, 0)
    measured = {"grid_confident": 42, "latent_spread": 0.9}
    grid = figures.sample_grid("vae", vae, measured, evaluation).caption
    scatter = figures.latent_scatter("vae", vae, measured, evaluation).caption
    assert f"The {judge} reads 42 of them" in grid
    assert f"coloured by {kind} class" in scatter
    if kind != "digit":
        assert "digit" not in (grid + scatter).lower()
