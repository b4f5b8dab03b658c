"""What several runs measured after every epoch, on the same axes, with each series'
reference level (chance accuracy, a healthy spread) as a dashed line."""

import numpy as np

from ..figures import Figure, plot_epoch_comparison
from ..runs import Run
from ..spec import Spec

# A series' panel title and what its reference level is called.
SERIES = {"knn_accuracy": ("kNN accuracy (test)", "chance"),
          "output_std": ("std of the normalized output (test)", "at initialisation"),
          "output_rank": ("effective rank of the output (test)", "at initialisation")}


def figure(spec: Spec, runs: dict[str, Run], measured: dict[str, dict]) -> Figure:
    setting = spec.compare_epochs
    names = {key: SERIES.get(key, (key, "reference")) for key in setting.series}
    series = {f"{key}/{run}": np.asarray(measured[run][key])
              for run in setting.runs for key in setting.series}
    given = measured[setting.runs[0]].get("references", {})
    references = {key: given[key] for key in setting.series if key in given}
    shown = ", ".join(f"<code>{run}</code>" for run in setting.runs)
    caption = (f"Measured after every epoch for {shown}; dashed: "
               + "; ".join(f"{names[key][1]} ({value:.3g})" for key, value in references.items())
               + ".")
    return plot_epoch_comparison(
        "compare_epochs", caption, series, list(setting.runs),
        [runs[run].label for run in setting.runs], [names[key][0] for key in setting.series],
        list(setting.series), references, [names[key][1] for key in setting.series])
