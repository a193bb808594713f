# photomgr developer entry points. `make run` and `make test` are the README's two commands:
# each creates the virtual environment on first use (about 2 minutes, ~5 GB: torch is large).

VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
ARGS   ?=

.PHONY: run test lint check bench screenshots clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# The torch/torchvision pitfall: a mismatched pair fails here, not in front of a user.
	$(BIN)/python -c "import torch, torchvision, open_clip; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'open_clip', open_clip.__version__)"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/photomgr $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check photomgr tests bench
	$(BIN)/mypy photomgr

check: lint test

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean-venv:
	rm -rf $(VENV)
