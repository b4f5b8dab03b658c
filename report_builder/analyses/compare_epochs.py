"""What several runs measured after every epoch, on the same axes, with each series'
reference level (chance accuracy, a healthy spread) as a dashed line. Each series is named
as the runs' family names it (`Family.series`)."""

import numpy as np
from pydantic import Field

from ..figures import Figure, plot_epoch_comparison
from .base import Analysis, Finding, Inputs, Section


class CompareEpochs(Section):
    """Series the runs' families measured after every epoch, on the same axes."""

    runs: list[str] = Field(min_length=2)
    series: list[str] = Field(min_length=1)


def figures(inputs: Inputs, finding: Finding | None) -> list[Figure]:
    setting, runs, measured = inputs.section, inputs.runs, inputs.measured
    named = runs[setting.runs[0]].family.series
    names = {key: named.get(key, (key, "reference")) for key in setting.series}
    series = {f"{key}/{run}": np.asarray(measured[run][key])
              for run in setting.runs for key in setting.series}
    given = measured[setting.runs[0]].get("references", {})
    references = {key: given[key] for key in setting.series if key in given}
    shown = ", ".join(f"<code>{run}</code>" for run in setting.runs)
    caption = (f"Measured after every epoch for {shown}; dashed: "
               + "; ".join(f"{names[key][1]} ({value:.3g})" for key, value in references.items())
               + ".")
    return [plot_epoch_comparison(
        "compare_epochs", caption, series, list(setting.runs),
        [runs[run].label for run in setting.runs], [names[key][0] for key in setting.series],
        list(setting.series), references, [names[key][1] for key in setting.series])]


ANALYSIS = Analysis(CompareEpochs, runs_read=lambda section: list(section.runs),
                    figures=figures)
