# Every target builds the virtual environment it needs from the pinned requirement files.
PYTHON_VERSION := 3.13.0
PY313 := $(shell PYENV_VERSION=$(PYTHON_VERSION) pyenv which python 2>/dev/null || command -v python3.13)
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= default
SEED ?= 0
ARTIFACT ?= artifacts/model

.PHONY: run train train-force test lint typecheck unit clean

$(BIN)/.installed: requirements.txt requirements-train.txt requirements-dev.txt
	@test -n "$(PY313)" || { echo "Python $(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))"; exit 1; }
	$(PY313) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

## The main job: train with the default profile unless an artifact exists.
run: $(ARTIFACT)/manifest.json
	@echo "model artifact: $(ARTIFACT)/ (metrics: $(ARTIFACT)/metrics.json)"

$(ARTIFACT)/manifest.json: | $(BIN)/.installed
	$(BIN)/python -m training --profile $(PROFILE) --seed $(SEED) --out $(ARTIFACT)

## Retrain even if an artifact exists.
train: $(BIN)/.installed
	$(BIN)/python -m training --profile $(PROFILE) --seed $(SEED) --out $(ARTIFACT)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

## All tests: lint, types, then every test layer.
test: lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadfile

clean:
	rm -rf $(VENV) build .aws-sam .pytest_cache .mypy_cache .ruff_cache
