"""HTML (Jinja2) and PDF (WeasyPrint) with the build manifest attached.

Templates receive plain values only. Math is written as TeX and turned into SVG by
matplotlib's mathtext at build time, since WeasyPrint does not lay out MathML.
"""

import base64
import functools
import importlib.metadata
import io
import json
import platform
from pathlib import Path

import jinja2

from .answers import words_for
from .files import atomic_write_bytes, atomic_write_json, atomic_write_text, sha256_bytes
from .noise import standard_error
from .numbers import SEEDS_HEADING, epochs
from .spec import ROOT, Spec

TEMPLATES = ROOT / "templates"
PACKAGES = ("report-builder", "torch", "torchvision", "numpy", "matplotlib", "jinja2",
            "weasyprint", "pydantic", "typer")


@functools.lru_cache(maxsize=256)
def tex_svg(tex: str, size: float = 11.0) -> str:
    """A TeX formula (mathtext subset) as an inline <img> holding an SVG."""
    import matplotlib.pyplot as plt
    from matplotlib import rcParams

    rcParams["svg.hashsalt"] = "report-builder"
    fig = plt.figure(figsize=(0.01, 0.01))
    fig.text(0, 0, f"${tex}$", fontsize=size)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.02, transparent=True,
                metadata={"Date": None, "Creator": None})
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    alt = jinja2.filters.escape(tex)
    return f'<img class="math" alt="{alt}" src="data:image/svg+xml;base64,{data}">'


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["math"] = lambda tex: jinja2.filters.Markup(tex_svg(tex))
    env.globals["standard_error"] = standard_error
    env.filters["sig"] = lambda value, digits=3: f"{value:.{digits}g}"
    env.filters["epochs"] = epochs
    return env


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def without_per_image(metrics: dict | None) -> dict | None:
    """The per-image values behind standard errors stay in the run cache, out of the
    manifest."""
    return metrics and {key: value for key, value in metrics.items() if key != "per_image"}


def make_manifest(spec: Spec, options, numbers: dict, answers: dict, figures: dict,
                  runs: dict) -> dict:
    return {
        "problem": spec.problem,
        "course": spec.course,
        "output": spec.output,
        "profile": options.profile,
        "seed": options.seed,
        "device": numbers["device"],
        "precision": numbers["precision"],
        "spec": json.loads(spec.model_dump_json()),
        "dataset": numbers["data"],
        "runs": {
            name: {
                "key": run.key,
                "config": run.config.as_dict(),
                "reused": run.reused,
                "same_as": run.same_as,
                "train_seconds": run.info["train_seconds"],
                "code_version": run.info["code_version"],
                "final_losses": run.info["final"],
                "metrics": without_per_image(numbers["runs"].get(name)),
            }
            for name, run in runs.items()
        },
        "analyses": numbers["analyses"],
        "added_by": spec.added_by(),
        "judge": numbers["judge"],
        "test_spread": numbers["test_spread"],
        "seeds": numbers.get("seeds"),
        # Differences between runs on the same test images that the answers read, with
        # their paired standard errors (from the per-image values in the run cache).
        "comparisons": [c for a in answers.values() for c in a.get("comparisons", [])],
        "figures": figures,
        "answers": {
            question: {"words": a["words"], "limit": a["limit"], "numbers": a["numbers"],
                       "all_numbers": a["all_numbers"],
                       "sha256": sha256_bytes(a["markdown"].encode())}
            for question, a in answers.items()
        },
        "versions": package_versions(),
    }


def render_report(spec: Spec, options, numbers: dict, answers: dict, figures: dict,
                  runs: dict) -> Path:
    """Write report.html, manifest.json and the PDF (with the manifest attached) into out."""
    from weasyprint import HTML, Attachment

    out: Path = options.out
    manifest = make_manifest(spec, options, numbers, answers, figures, runs)
    html = environment().get_template(spec.template).render(
        spec=json.loads(spec.model_dump_json()),
        numbers=numbers,
        words=words_for(numbers["data"]["name"]),
        answers=answers,
        figures=figures,
        quick=options.profile != "full",
        seeds_heading=SEEDS_HEADING,
        title=f"{spec.course}: {spec.title}",
        keywords=", ".join([spec.problem, options.profile, numbers["data"]["name"],
                            *(run.key for run in runs.values())]),
    )
    manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode()
    pdf = HTML(string=html, base_url=str(out)).write_pdf(
        attachments=[Attachment(string=manifest_bytes, name="manifest.json",
                                description="report-builder build manifest")],
    )
    atomic_write_text(out / "report.html", html)
    atomic_write_json(out / "manifest.json", manifest)
    pdf_path = out / spec.output
    atomic_write_bytes(pdf_path, pdf)
    return pdf_path
