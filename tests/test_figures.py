import numpy as np

from report_builder import figures
from report_builder.figures import montage, plot_interpolation, plot_samples, save_figures


def test_figures_are_byte_identical_for_the_same_arrays():
    samples = np.random.default_rng(0).random((16, 1, 28, 28))
    first = plot_samples("s", "caption", "title", samples)
    second = plot_samples("s", "caption", "title", samples.copy())
    assert first.draw() == second.draw()
    assert first.content_key() == second.content_key()
    assert first.draw() != plot_samples("s", "caption", "title", samples[::-1]).draw()


def test_montage_puts_each_image_in_its_tile():
    images = np.stack([np.full((1, 28, 28), value) for value in (0.0, 0.5, 1.0)])
    sheet = montage(images, columns=2)
    assert sheet.shape == (2 * 28 + 2, 2 * 28 + 2)
    assert sheet[0, 0] == 0.0 and sheet[0, 30] == 0.5 and sheet[30, 0] == 1.0


def test_saved_figures_carry_their_arrays_and_hashes(tmp_path):
    rows = {"AE": np.zeros((7, 1, 28, 28)), "VAE": np.ones((7, 1, 28, 28))}
    saved = save_figures([plot_interpolation("interp", "cap", "1 → 7", rows)], tmp_path / "figs")
    entry = saved["interp"]
    assert (tmp_path / "figs" / "interp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with np.load(tmp_path / "figs" / "interp.npz") as arrays:
        assert np.array_equal(arrays["VAE"], rows["VAE"])
    assert entry["file"] == "figs/interp.png" and len(entry["sha256"]) == 64


def test_only_changed_figures_are_redrawn(tmp_path):
    samples = np.random.default_rng(0).random((16, 1, 28, 28))
    figures = [plot_samples("a", "cap", "A", samples), plot_samples("b", "cap", "B", samples)]
    first = save_figures(figures, tmp_path)
    assert all(entry["redrawn"] for entry in first.values())
    again = save_figures([plot_samples("a", "new caption", "A", samples),
                          plot_samples("b", "cap", "B", samples[::-1])], tmp_path)
    assert not again["a"]["redrawn"] and again["a"]["sha256"] == first["a"]["sha256"]
    assert again["b"]["redrawn"] and again["b"]["sha256"] != first["b"]["sha256"]


def test_a_registered_kind_is_drawn_alike_by_a_build_and_by_redraw(monkeypatch):
    monkeypatch.setattr(figures, "DRAWINGS", dict(figures.DRAWINGS))

    @figures.drawing("test_bars")
    def bars(labels, arrays) -> bytes:
        fig, ax = figures.plt.subplots(figsize=(2, 2))
        ax.bar(range(len(arrays["heights"])), arrays["heights"])
        ax.set_title(labels[0])
        return figures.to_png(fig)

    figure = figures.Figure("bars", "caption", {"heights": np.arange(3.0)}, ("title",),
                            "test_bars")
    assert figure.draw() == figures.redraw("test_bars", ["title"], {"heights": np.arange(3.0)})
    try:
        figures.drawing("test_bars")(lambda labels, arrays: b"")
    except ValueError as error:
        assert "two drawings" in str(error)
    else:
        raise AssertionError("a second drawing of one kind was accepted")

