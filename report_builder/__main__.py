"""`python -m report_builder` is `build-report`."""

from .cli import app

app()
