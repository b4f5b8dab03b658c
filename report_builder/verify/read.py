"""Read what a student hands in into plain data: a PDF's text, images and attachments, a
notebook's figures, printed outputs and cell sources."""

import base64
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ..errors import ReportBuilderError

MIN_SIDE = 24  # px: smaller images are icons, bullets and rules, not figures


@dataclass(frozen=True)
class Figure:
    label: str  # where a TA finds it: "page 3, image 2" or "cell 14 (In [12])"
    image: Image.Image


@dataclass(frozen=True)
class Pdf:
    path: Path
    text: str
    figures: list[Figure]  # in page order, each embedded image once
    attachments: dict[str, bytes]


@dataclass(frozen=True)
class Notebook:
    path: Path
    figures: list[Figure]  # in cell order
    outputs: str  # everything the cells printed or displayed as text
    code: str  # the code cells' sources
    markdown: str  # the markdown cells' sources


def read_pdf(path: Path) -> Pdf:
    import pikepdf
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(path)
        text = "\n".join(page.extract_text() or "" for page in reader.pages)
        attachments = {name: data[0] for name, data in reader.attachments.items()}
        figures = _figures(path)
    except (OSError, PyPdfError, pikepdf.PdfError, NotImplementedError, ValueError,
            KeyError) as err:
        raise ReportBuilderError(f"{path} is not a readable PDF ({err})") from None
    return Pdf(path, text, figures, attachments)


def _figures(path: Path) -> list[Figure]:
    """Each image the pages paint, once, labelled with the first page that paints it.
    pikepdf decodes with qpdf's filters: pypdf undoes PNG predictors in Python, 10x slower
    on the PNGs that WeasyPrint, Word and pdflatex store."""
    import pikepdf
    from pikepdf import PdfImage

    figures, seen = [], set()
    with pikepdf.open(path) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            for index, image in enumerate(_painted(page.obj), 1):
                if image.objgen in seen:
                    continue
                seen.add(image.objgen)
                pil = PdfImage(image).as_pil_image()
                if min(pil.size) >= MIN_SIDE:
                    figures.append(Figure(f"page {number}, image {index}", pil))
    return figures


def _painted(holder, depth: int = 3) -> list:
    """The image XObjects a page (or form) paints with Do, in order; forms are followed,
    as LaTeX wraps an included figure in one. WeasyPrint lists every image on every page,
    so what a page lists says nothing of what it shows."""
    import pikepdf

    xobjects = holder.get("/Resources", {}).get("/XObject", {})
    images = []
    for operands, _ in pikepdf.parse_content_stream(holder, "Do"):
        xobject = xobjects.get(operands[0])
        if xobject is None:
            continue
        if xobject.get("/Subtype") == "/Image":
            images.append(xobject)
        elif xobject.get("/Subtype") == "/Form" and depth:
            images += _painted(xobject, depth - 1)
    return images


def read_notebook(path: Path) -> Notebook:
    import nbformat

    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as err:  # nbformat raises several unrelated types for bad files
        raise ReportBuilderError(f"{path} is not a readable notebook ({type(err).__name__})") \
            from None
    figures, outputs, code, markdown = [], [], [], []
    for number, cell in enumerate(notebook.cells, 1):
        (code if cell.cell_type == "code" else markdown).append(cell.source)
        prompt = f" (In [{cell.execution_count}])" if cell.get("execution_count") else ""
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in ("image/png", "image/jpeg"):
                if mime in data:
                    figures.append(Figure(f"cell {number}{prompt}", _decode(data[mime], path)))
            outputs.append(output.get("text", "") or data.get("text/plain", ""))
    return Notebook(path, figures, *("\n".join(part) for part in (outputs, code, markdown)))


def _decode(data: str | list[str], path: Path) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(base64.b64decode("".join(data))))
        image.load()
    except (OSError, ValueError) as err:
        raise ReportBuilderError(f"{path} has an output image that cannot be decoded ({err})") \
            from None
    return image
