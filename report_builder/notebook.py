"""The same build as a Jupyter notebook, for courses that want one beside the PDF.

`Report` is what the notebook's code cells call: it prints each section's text as the
PDF shows it, redraws each figure from its saved arrays with the package's own drawing
code (the same PNG bytes), and loads the cached models. `export_notebook` writes the
notebook with every output already filled in by calling those same functions, so
executing it again gives the same outputs.
"""

import base64
import contextlib
import html
import io
import json
import re
from pathlib import Path

import numpy as np

from .errors import ReportBuilderError
from .files import atomic_write_text


class Report:
    """A finished build folder (`outputs/<problem>`), read back."""

    def __init__(self, out: str | Path, cache_dir: str | Path = "outputs/runs"):
        self.out, self.cache_dir = Path(out), Path(cache_dir)
        try:
            self.manifest = json.loads((self.out / "manifest.json").read_text())
            self.html = (self.out / "report.html").read_text()
        except (OSError, ValueError):
            raise ReportBuilderError(
                f"{self.out} holds no finished build (manifest.json, report.html); "
                f"run build-report first"
            ) from None

    def sections(self) -> list[str]:
        return [_plain(title) for title in re.findall(r"<h2>(.*?)</h2>", self.html, re.S)]

    def text(self, section: str) -> None:
        """Print a section's words and numbers as the PDF shows them (figures left out)."""
        print(_plain(_without_figures(self._section_html(section))))

    def figures_in(self, section: str) -> list[str]:
        names = re.findall(r'<img src="figures/([^"]+)\.png"', self._section_html(section))
        return list(dict.fromkeys(names))

    def figure_png(self, name: str) -> bytes:
        from . import analyses, families
        from .figures import redraw

        families.import_all()  # each registers the kinds of figure it draws,
        analyses.import_all()  # and each analysis its own
        entry = self.manifest["figures"][name]
        with np.load(self.out / entry["arrays"]) as saved:
            arrays = {key: saved[key] for key in saved.files}
        return redraw(entry["kind"], entry["labels"], arrays)

    def figure(self, name: str):
        """Show a figure, drawn again from its arrays, with its caption."""
        from IPython.display import Image

        print(_plain(self.manifest["figures"][name]["caption"]))
        return Image(data=self.figure_png(name), format="png")

    def load_run(self, name: str):
        """The trained model of a run, loaded from the run cache; for a run of several
        networks (a generator and a critic, say), a dict of them by name."""
        from .runs import RunConfig, RunStore

        run = self.manifest["runs"][name]
        store = RunStore(self.cache_dir)
        if not store.is_complete(run["key"]):
            raise ReportBuilderError(f"run {name} ({run['key']}) is not in {self.cache_dir}")
        models = store.load(name, run["key"], RunConfig.from_dict(run["config"]), "cpu").models
        return models["model"] if list(models) == ["model"] else models

    def _section_html(self, section: str) -> str:
        parts = re.split(r"(?=<h2>)", self.html)
        for part in parts:
            match = re.match(r"<h2>(.*?)</h2>", part, re.S)
            if match and _plain(match.group(1)) == section:
                return part
        if section == "":  # the title page, before the first numbered section
            return parts[0].split("<body>", 1)[-1]
        raise ReportBuilderError(f"no section '{section}' in {self.out / 'report.html'}")


def _without_figures(fragment: str) -> str:
    return re.sub(r"<figure.*?</figure>", "", fragment, flags=re.S)


def _plain(fragment: str) -> str:
    fragment = re.sub(r"<style.*?</style>|<head.*?</head>", "", fragment, flags=re.S)
    fragment = re.sub(r"<img [^>]*alt=\"([^\"]*)\"[^>]*>", r" \1 ", fragment)  # math as TeX
    text = html.unescape(re.sub(r"<[^>]+>", " ", fragment))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


# ---- export -------------------------------------------------------------------------

def _code_cell(source: str, outputs: list):
    import nbformat

    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = outputs
    return cell


def _printed(function, *args) -> list:
    import nbformat

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        function(*args)
    return [nbformat.v4.new_output("stream", name="stdout", text=buffer.getvalue())]


def _figure_outputs(report: Report, name: str) -> list:
    import nbformat

    caption = _plain(report.manifest["figures"][name]["caption"]) + "\n"
    png = (report.out / report.manifest["figures"][name]["file"]).read_bytes()
    return [
        nbformat.v4.new_output("stream", name="stdout", text=caption),
        nbformat.v4.new_output("execute_result", execution_count=None, data={
            "image/png": base64.b64encode(png).decode(),
            "text/plain": "<IPython.core.display.Image object>",
        }),
    ]


def export_notebook(out: Path, path: Path, cache_dir: Path) -> Path:
    import nbformat

    report = Report(out, cache_dir)
    manifest = report.manifest
    cells = [
        nbformat.v4.new_markdown_cell(
            f"# {manifest['course']}\n\nThe runs and figures of `{manifest['output']}`, "
            f"built by report-builder (profile `{manifest['profile']}`, data "
            f"`{manifest['dataset']['name']}`). Every figure below is drawn again from the "
            "arrays saved with the build, by the same code that drew the PDF's."),
        _code_cell(f"from report_builder.notebook import Report\n\n"
                   f"report = Report({str(out)!r}, cache_dir={str(cache_dir)!r})\n"
                   f"report.text('')", _printed(report.text, "")),
    ]
    for section in report.sections():
        cells.append(nbformat.v4.new_markdown_cell(f"## {section}"))
        cells.append(_code_cell(f"report.text({section!r})", _printed(report.text, section)))
        for name in report.figures_in(section):
            cells.append(_code_cell(f"report.figure({name!r})", _figure_outputs(report, name)))
    for name, analysis in manifest.get("added_by", {}).items():
        cells += _added_run_cells(report, name, analysis)
    return _write(cells, path)


def _added_run_cells(report: "Report", name: str, analysis: str) -> list:
    """A run an analysis added (a search's tuned run), loaded from the run cache."""
    import nbformat

    params = report.manifest["runs"][name]["config"]["params"]
    settings = ", ".join(f"{key} = {value}" for key, value in params.items())
    source = f"{name} = report.load_run({name!r})\nprint(type({name}).__name__, {settings!r})"

    def show() -> None:
        print(type(report.load_run(name)).__name__, settings)

    return [nbformat.v4.new_markdown_cell(
                f"## Run `{name}`, decided by the {analysis} analysis\n\n"
                f"Loaded from the run cache ({settings})."),
            _code_cell(source, _printed(show))]


def _write(cells: list, path: Path) -> Path:
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    for number, cell in enumerate(c for c in notebook.cells if c.cell_type == "code"):
        cell.execution_count = number + 1
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = number + 1
    atomic_write_text(path, nbformat.writes(notebook))
    return path
