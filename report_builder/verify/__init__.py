"""Consistency checks for TAs: does a PDF say what its runs measured, and does it agree
with the notebook handed in beside it?

- `verify_build`: a PDF report-builder built carries `manifest.json`; its figures are checked
  pixel for pixel, its answers' numbers against the measurements (manifest.py).
- `verify_submission`: any PDF against any notebook, as students make them: figures matched
  by content through screenshots, crops and JPEG (figures.py), numbers at the precision the
  PDF prints (quotes.py), paired in submission.py into a verdict with evidence (verdict.py).
- `verify_batch`: a class at once, each PDF against every notebook (batch.py).

Nothing here imports torch or matplotlib: `verify` starts in well under a second.
"""

import cv2

# OpenCV starts a thread pool on its first parallel call (connected components, resizes),
# and a process forked after that (verify --batch's workers) can hang for good on the
# pool's lock. Each worker is one core already: one thread, from the start.
cv2.setNumThreads(1)

from .batch import Row, verify_batch  # noqa: E402
from .manifest import verify_build  # noqa: E402
from .submission import verify_submission  # noqa: E402
from .verdict import CONSISTENT, INCONSISTENT, PARTLY, Evidence, Verdict  # noqa: E402

__all__ = ["CONSISTENT", "INCONSISTENT", "PARTLY", "Evidence", "Row", "Verdict",
           "verify_batch", "verify_build", "verify_submission"]
