"""report-builder: train, draw, answer and render a generative-models homework as a PDF."""

__version__ = "0.1.0"
