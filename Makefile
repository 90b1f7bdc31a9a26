# One-command entry points. Each creates (or reuses) the virtual environment in .venv.
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= runs/demo

.PHONY: install test demo lint api bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

test: $(VENV)/.installed
	$(PY) -m pytest -q -n auto --maxprocesses 4

demo: $(VENV)/.installed
	$(VENV)/bin/augmix demo --out $(OUT)

# the public modules, in the pipeline's order
API_MODULES = augmix augmix.augment augmix.losses augmix.train augmix.checkpoint augmix.models \
	augmix.corruptions augmix.perturbations augmix.generation augmix.seeding augmix.data augmix.evaluate \
	augmix.stability augmix.suite augmix.results augmix.metrics augmix.report augmix.baselines augmix.recipes

api: $(VENV)/.installed  # the API reference from the docstrings, offline: docs/api/index.html
	$(VENV)/bin/pdoc --docformat markdown -o docs/api $(API_MODULES)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
