# photomgr developer entry points. `make run` and `make test` are the README's two commands:
# each creates the virtual environment on first use (about 2 minutes, ~5 GB: torch is large).

VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp
ARGS   ?=

.PHONY: run test lint check bench screenshots clean-venv package smoke-package icons

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

# The desktop bundle (packaging/): dist/photomgr/, about 15 minutes on 2 cores. `smoke-package`
# runs packaging/smoke_test.sh against it; packaging/install-desktop.sh installs it for the user.
PKG_STAMP = $(VENV)/.package-stamp

$(PKG_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,package]'
	touch $(PKG_STAMP)

package: $(PKG_STAMP)
	PYTHON=$(BIN)/python packaging/build.sh

smoke-package:
	packaging/smoke_test.sh

icons: $(STAMP)
	$(BIN)/python packaging/render_icons.py

clean-venv:
	rm -rf $(VENV)
