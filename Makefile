# Two commands on a fresh machine:  `make sample` (the main job on the shipped default model)
# and `make test`.
PYTHON ?= python3
VENV   ?= .venv
# torch is pinned so pip takes the prebuilt wheel: a CPU build where one is on disk (CI),
# the default CUDA build from PyPI on a GPU workstation. Override: make TORCH="torch==X".
TORCH  ?= torch==2.13.0
BIN     = $(VENV)/bin

.PHONY: install sample test clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# the README's main job: 150 synthetic crashes summarized by the shipped default model, offline
sample: install
	$(BIN)/python crashtransformer.py run --csv data/sample_crashes.csv --out_dir artifacts/sample

# the import contract (pyproject.toml [tool.importlinter]), then the suite
test: install
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
