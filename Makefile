# The README's two commands: `make report` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
# Optional extras to install; CI adds Ray's (make test EXTRAS=dev,ray).
EXTRAS ?= dev

.PHONY: setup report test lint bench clean

setup: $(VENV)/.installed

# Reinstall when the dependencies change. torch and torchvision come from PyPI (their
# CUDA builds also run on a CPU; there is no CPU-only torchvision wheel).
$(VENV)/.installed: pyproject.toml
	scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

report: setup
	$(BIN)/build-report problem1

test: setup lint
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check report_builder tests bench

bench: setup
	$(BIN)/python bench/train_speed.py

clean:
	rm -rf outputs/problem1 outputs/runs
