import numpy as np

from report_builder.figures import plot_interpolation, plot_samples, save_figures


def test_figures_are_byte_identical_for_the_same_arrays():
    samples = np.random.default_rng(0).random((16, 1, 28, 28))
    first = plot_samples("s", "caption", "title", samples)
    second = plot_samples("s", "caption", "title", samples.copy())
    assert first.png == second.png
    assert first.png != plot_samples("s", "caption", "title", samples[::-1]).png


def test_saved_figures_carry_their_arrays_and_hashes(tmp_path):
    rows = {"AE": np.zeros((7, 1, 28, 28)), "VAE": np.ones((7, 1, 28, 28))}
    saved = save_figures([plot_interpolation("interp", "cap", "1 → 7", rows)], tmp_path / "figs")
    entry = saved["interp"]
    assert (tmp_path / "figs" / "interp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(tmp_path / "figs" / "interp.npz") as arrays:
        assert np.array_equal(arrays["VAE"], rows["VAE"])
    assert entry["file"] == "figs/interp.png" and len(entry["sha256"]) == 64
