"""What several runs measured after every epoch, on the same axes, with each series'
reference level (chance accuracy, a healthy spread) as a dashed line."""

import numpy as np

from ..figures import Figure, plot_epoch_comparison
from ..spec import Spec

SERIES = {"knn_accuracy": ("kNN accuracy (test)", "chance"),
          "output_std": ("std of the normalized output (epoch mean)", "1/√d (no collapse)")}


def figure(spec: Spec, measured: dict[str, dict], labels: dict[str, str]) -> Figure:
    setting = spec.compare_epochs
    first = measured[setting.runs[0]]
    series = {f"{key}/{run}": np.asarray(measured[run][key])
              for run in setting.runs for key in setting.series}
    references = {key: first["references"][key] for key in setting.series
                  if key in first.get("references", {})}
    names = ", ".join(f"<code>{run}</code>" for run in setting.runs)
    caption = (f"Measured after every epoch for {names}; dashed: "
               + "; ".join(f"{SERIES.get(key, (key, key))[1]} ({value:.3g})"
                           for key, value in references.items()) + ".")
    return plot_epoch_comparison(
        "compare_epochs", caption, series, list(setting.runs),
        [labels[run] for run in setting.runs],
        [SERIES.get(key, (key, ""))[0] for key in setting.series], list(setting.series),
        references, [SERIES.get(key, ("", "reference"))[1] for key in setting.series])
