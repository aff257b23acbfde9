# The newcomer's commands. `make run` and `make test` set up everything they need first.
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
# Stage commands in dvc.yaml call `python`: put the project's environment first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: setup run test lint format bench sweep mlflow-ui clean-mlflow

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $@

run: setup  ## build the whole pipeline on the embedded synthetic database
	dvc repro

test: setup  ## lint, then the default test suite (slow full-scale tests excluded)
	ruff check src stages tests
	ruff format --check src stages tests
	pytest

lint: setup
	ruff check src stages tests
	ruff format --check src stages tests

format: setup
	ruff format src stages tests
	ruff check --fix src stages tests

bench: setup  ## full-scale timings and memory, medians of several runs
	python bench/run.py

sweep: setup  ## k sweep, 2 workers; the MLflow store is initialised before the workers start
	traveltide mlflow-init
	dvc exp run --queue -S 'cluster.k=range(3,9)'
	dvc queue start -j 2
	@while dvc queue status | grep -qE 'Queued|Running'; do sleep 5; done
	dvc queue status
	dvc exp show --only-changed --drop 'Created|State|Executor'

mlflow-ui: setup  ## http://127.0.0.1:5000
	mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000
