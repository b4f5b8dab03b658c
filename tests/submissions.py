"""Student submissions shaped like the real ones, made here (never a real student's files).

A `Student` is what one student's course notebook draws, with real MNIST digits standing
in for model outputs: the data preview every notebook shows first (the same digits for
everyone), loss curves whose noise is the student's own, reconstructions drawn under the
same fixed test digits for everyone, prior samples (a collapsed β = 10 grid is the same
blurred average digit for everyone), interpolations. `write_notebook` saves it with
nbformat as a re-run notebook would be; `write_pdf` lays figures and text out with
WeasyPrint (as a word processor's export) or matplotlib; the screenshot helpers resize,
crop, stack and JPEG-encode the notebook's own images.
"""

import base64
import io
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

INLINE_DPI = 72  # Jupyter's inline backend


@cache
def digits() -> tuple[np.ndarray, np.ndarray]:
    """Real MNIST digits as floats in [0, 1]: (train images, test images)."""
    from report_builder.data import load_mnist_5k

    data = load_mnist_5k()
    return data.train_images.numpy() / 255.0, data.test_images.numpy() / 255.0


@dataclass(frozen=True)
class Style:
    """How one student's notebook draws, within what the course allows: the inline DPI
    (72, or 144 on a retina screen), the size of a grid's tiles and the space between
    them, titles or none, the loss plot's size and axis scale."""

    dpi: int = INLINE_DPI
    tile_inches: float = 1.2
    spacing: float = 0.2  # matplotlib's wspace/hspace
    titles: bool = True
    loss_size: tuple[float, float] = (6, 3.5)
    log_loss: bool = False
    font_size: float = 10.0  # matplotlib's default

    @classmethod
    def drawn(cls, rng: np.random.Generator) -> "Style":
        """A student's own style."""
        return cls(dpi=int(rng.choice([72, 100, 144])), tile_inches=float(rng.uniform(0.8, 1.6)),
                   spacing=float(rng.uniform(0.05, 0.4)), titles=bool(rng.random() < 0.7),
                   loss_size=(float(rng.uniform(4.5, 8)), float(rng.uniform(3, 4.5))),
                   log_loss=bool(rng.random() < 0.4), font_size=float(rng.uniform(8, 13)))


def _png(fig, style: Style = Style()) -> Image.Image:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=style.dpi, bbox_inches="tight")
    plt.close(fig)
    return Image.open(io.BytesIO(buffer.getvalue()))


def image_grid(tiles: np.ndarray, rows: int, cols: int, title: str,
               style: Style = Style()) -> Image.Image:
    side = style.tile_inches
    fig, axes = plt.subplots(rows, cols, figsize=(cols * side, rows * side + 0.3),
                             gridspec_kw={"wspace": style.spacing, "hspace": style.spacing})
    for axis, tile in zip(np.ravel(axes), tiles, strict=True):
        axis.imshow(tile, cmap="gray", vmin=0, vmax=1)
        axis.axis("off")
    if style.titles:
        fig.suptitle(title)
    return _png(fig, style)


def loss_plot(rng: np.random.Generator, title: str, style: Style = Style()) -> Image.Image:
    steps = np.arange(400)
    fig, axis = plt.subplots(figsize=style.loss_size)
    for name, start, floor in (("reconstruction", 0.09, 0.005), ("KL", 0.03, 0.01)):
        curve = floor + (start - floor) * np.exp(-steps / rng.uniform(40, 90))
        axis.plot(steps, curve * np.exp(rng.normal(0, 0.12, steps.size)), label=name)
    axis.set(xlabel="iteration", ylabel="loss", title=title if style.titles else "",
             yscale="log" if style.log_loss else "linear")
    axis.legend()
    return _png(fig, style)


def _blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray((image * 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(sigma)), dtype=np.float64) / 255 for image in images])


@dataclass
class Student:
    name: str
    seed: int
    betas: tuple[float, ...] = (0.0, 10.0, 0.06)
    style: Style = Style()
    figures: list[tuple[str, Image.Image]] = field(default_factory=list)  # notebook order
    printed: dict[str, float] = field(default_factory=dict)  # final losses, full precision

    def figure(self, role: str) -> Image.Image:
        return dict(self.figures)[role]


def student(name: str, seed: int, betas: tuple[float, ...] = (0.0, 10.0, 0.06),
            style: Style = Style()) -> Student:
    """`style`: how the student draws (Style.drawn for one of their own); by default the
    course notebook's."""
    train, test = digits()
    rng = np.random.default_rng(seed)
    # matplotlib's defaults, whatever an earlier test's import set (report_builder.figures
    # sets its own): a fixture draws the same in any order of the suite
    with plt.style.context("default"), plt.rc_context({"font.size": style.font_size}):
        return _draw(Student(name, seed, betas, style), train, test, rng)


def _draw(made: Student, train: np.ndarray, test: np.ndarray,
          rng: np.random.Generator) -> Student:
    style, betas = made.style, made.betas
    made.figures.append(("preview", image_grid(train[:16], 4, 4, "training data", style)))
    for run in ("ae", *(f"beta={beta:g}" for beta in betas)):
        collapsed = run == "beta=10"
        made.figures.append((f"{run} losses", loss_plot(rng, f"{run}: training losses", style)))
        fixed = test[:5]  # every student's notebook shows the same five test digits
        recon = np.repeat(train[:5000].mean(0, keepdims=True), 5, 0) if collapsed else \
            _blurred(fixed, rng.uniform(0.6, 0.9))
        made.figures.append((f"{run} reconstructions", image_grid(
            np.concatenate([fixed, recon]), 2, 5, f"{run}: reconstructions", style)))
        if collapsed:
            tiles = np.repeat(train[:5000].mean(0, keepdims=True), 16, 0)
            tiles = np.clip(tiles + rng.normal(0, 0.004, tiles.shape), 0, 1)
        else:
            picks = rng.choice(len(train), size=(16, 2), replace=False)
            tiles = _blurred(0.6 * train[picks[:, 0]] + 0.4 * train[picks[:, 1]], 0.8)
        made.figures.append((f"{run} samples", image_grid(tiles, 4, 4, f"{run}: samples", style)))
        made.printed[run] = float(rng.uniform(0.003, 0.006))
    for pair in range(3):
        start, end = train[rng.choice(len(train), 2, replace=False)]
        # The real start and end images, and the model's decodings between them.
        blends = np.stack([(1 - a) * start + a * end for a in np.linspace(0, 1, 7)[1:-1]])
        path = np.concatenate([start[None], _blurred(blends, rng.uniform(0.6, 0.9)), end[None]])
        made.figures.append((f"interpolation {pair + 1}",
                             image_grid(path, 1, 7, f"interpolation {pair + 1}", style)))
    return made


# ---- the notebook --------------------------------------------------------------------

def _image_output(image: Image.Image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(buffer.getvalue()).decode(),
        "text/plain": "<Figure size 640x480 with 1 Axes>"})


def write_notebook(path: Path, made: Student, keep: set[str] | None = None) -> Path:
    """The course notebook as handed in; `keep` drops the other figures' outputs (a cell
    re-run for another β keeps only its last output)."""
    cells = [nbformat.v4.new_markdown_cell("# Problem 1: AE vs VAE\nInline Question 1 ...")]
    for count, (role, image) in enumerate(made.figures, 1):
        run = role.split()[0]
        source = f"beta = {run.split('=')[1]}\ntrain(model, beta=beta)" \
            if run.startswith("beta=") else f"show({role!r})"
        cell = nbformat.v4.new_code_cell(source, execution_count=count)
        if role.endswith("losses") and run in made.printed:
            cell.outputs.append(nbformat.v4.new_output(
                "stream", name="stdout", text=f"Epoch 5: loss {made.printed[run]!r}\n"))
        if keep is None or role in keep:
            cell.outputs.append(_image_output(image))
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    nbformat.write(notebook, path)
    return path


# ---- the PDF ---------------------------------------------------------------------------

def write_pdf(path: Path, paragraphs: list[str], images: list[Image.Image],
              engine: str = "weasyprint", jpeg: bool = False) -> Path:
    """A report: the paragraphs, then the images (as PNG, or JPEG as Word re-encodes).
    `engine`: weasyprint (a word processor's export: one figure a row), latex (two a row
    with captions), matplotlib (each image on a page of its own)."""
    if engine == "matplotlib":
        return _matplotlib_pdf(path, paragraphs, images)
    from weasyprint import HTML

    def source(image: Image.Image) -> str:
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=80) if jpeg else \
            image.save(buffer, format="PNG")
        kind = "jpeg" if jpeg else "png"
        return f"data:image/{kind};base64,{base64.b64encode(buffer.getvalue()).decode()}"

    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    if engine == "latex":  # two figures a row, each with its caption, in a serif page
        cells = [f'<td style="width:50%;text-align:center"><img src="{source(image)}" '
                 f'style="width:7.5cm"><br>Figure {n}: result {n}.</td>'
                 for n, image in enumerate(images, 1)]
        rows = "".join(f"<tr>{''.join(cells[i:i + 2])}</tr>" for i in range(0, len(cells), 2))
        body += f"<table>{rows}</table>"
        style = "body{font-family:serif;font-size:10pt;margin:2.5cm}"
    else:
        body += "".join(f'<p><img src="{source(image)}" style="max-width:16cm"></p>'
                        for image in images)
        style = ""
    HTML(string=f"<html><head><style>{style}</style></head><body>{body}</body></html>"
         ).write_pdf(path)
    return path


def _matplotlib_pdf(path: Path, paragraphs: list[str], images: list[Image.Image]) -> Path:
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        fig = plt.figure(figsize=(8.27, 11.69))
        fig.text(0.08, 0.95, "\n\n".join(paragraphs), va="top", wrap=True, fontsize=9)
        pdf.savefig(fig)
        plt.close(fig)
        for image in images:
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.figimage(np.asarray(image.convert("RGB")), xo=40, yo=300)
            pdf.savefig(fig)
            plt.close(fig)
    return path


# ---- screenshots -------------------------------------------------------------------------

def scaled(image: Image.Image, factor: float) -> Image.Image:
    size = (round(image.width * factor), round(image.height * factor))
    return image.convert("RGB").resize(size, Image.Resampling.LANCZOS)


def jpeg(image: Image.Image, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def cropped(image: Image.Image, left: float, top: float, right: float, bottom: float):
    """The box given as fractions of the width and height."""
    w, h = image.size
    return image.crop((round(left * w), round(top * h), round(right * w), round(bottom * h)))


def stacked(*images: Image.Image, gap: int = 30) -> Image.Image:
    """Notebook outputs captured in one screenshot, one under the other."""
    width = max(image.width for image in images)
    canvas = Image.new("RGB", (width, sum(i.height for i in images) + gap * (len(images) - 1)),
                       "white")
    top = 0
    for image in images:
        canvas.paste(image.convert("RGB"), (0, top))
        top += image.height + gap
    return canvas


def with_prompt(image: Image.Image) -> Image.Image:
    """A screenshot that caught the cell's 'Out[7]:' prompt beside the figure."""
    from PIL import ImageDraw

    canvas = Image.new("RGB", (image.width + 70, image.height + 10), "white")
    canvas.paste(image.convert("RGB"), (70, 5))
    ImageDraw.Draw(canvas).text((4, 8), "Out[7]:", fill=(200, 60, 30))
    return canvas


def report_text(made: Student, digits: int = 5) -> list[str]:
    """What a student writes: LaTeX-style section numbers, the course's questions in their
    own words, hyperparameters typed from the code, losses copied at lower precision."""
    tuned = made.betas[-1]
    return [
        "1.1 Auto-encoder",
        f"Inline Question 1: the AE samples are blurry blends. Final loss "
        f"{made.printed['ae']:.{digits}f}.",
        "2.1 VAE with β=0",
        f"Question 2: with Beta = 0.0 it behaves as an AE (loss "
        f"{made.printed['beta=0']:.{digits}f}).",
        "2.2 VAE with beta = 10",
        "Inline Question 3: with Beta = 10.0 the posterior collapses.",
        f"2.3 Tuned VAE: tuned β = {tuned:g}, loss {made.printed[f'beta={tuned:g}']:.4f}.",
        "Q4: sharp reconstructions, plausible samples. 3 Interpolation. Q5: smooth paths.",
    ]
