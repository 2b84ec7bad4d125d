# Two commands on a fresh machine:  `make test`  and (once `run` lands) `make demo`.
PYTHON ?= python3
VENV   ?= .venv
# torch is pinned so pip takes the prebuilt wheel: a CPU build where one is on disk (CI),
# the default CUDA build from PyPI on a GPU workstation. Override: make TORCH="torch==X".
TORCH  ?= torch==2.13.0
BIN     = $(VENV)/bin

.PHONY: install test clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

test: install
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache
