# The newcomer's commands. `make run` and `make test` set up everything they need first.
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
# Stage commands in dvc.yaml call `python`: put the project's environment first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: setup run test test-fast lint format bench sweep sweep-grid mlflow-ui clean-mlflow

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	$(BIN)/python -m compileall -q src  # bytecode up front: every stage starts a fresh Python
	touch $@

run: setup  ## build the whole pipeline on the embedded synthetic database
	dvc repro

# Three workers on two cores: the pipeline tests also wait on PostgreSQL, git and sqlite.
# A module's tests stay on one worker, the longest modules first (tests/conftest.py).
test: lint  ## lint, then the default test suite (slow full-scale tests excluded)
	pytest -n 3 --dist loadfile --no-loadscope-reorder --durations=12

test-fast: setup  ## the library's unit tests only (tests/unit), well under a minute
	pytest -n 2 -q tests/unit

lint: setup
	ruff check src stages tests bench
	ruff format --check src stages tests bench
	mypy

format: setup
	ruff format src stages tests bench
	ruff check --fix src stages tests bench

# Prints the table of figures and appends one line per run to bench/history.jsonl
# (docs/performance.md); every sample and log goes to bench/results/ (gitignored).
bench: setup  ## performance figures in a scratch clone: medians of 3 runs vs targets (20-45 min)
	python bench/run.py $(BENCH_ARGS)

# Sweeps: queue a grid of experiments (DVC's `-S key=a,b` / `range(a,b)` syntax, one
# experiment per combination), initialise the MLflow store once, run the queue on JOBS
# workers, wait, show the experiments, and fail if any experiment of this sweep failed.
JOBS ?= 2
SWEEP_K ?= range(3,9)
# dbscan is left out: its eps is a distance in the scaled space, so no one eps fits both
# scalers (eps 5.0 with robust finds a single cluster and that experiment fails)
GRID_ALGORITHMS ?= kmeans,minibatch_kmeans,gmm,agglomerative,hdbscan
GRID_SCALERS ?= standard,robust
SWEEP_OUT := .dvc/tmp/sweep-queued.txt
# the columns `dvc exp show` prints after a sweep (regular expressions; --only-changed too)
SWEEP_SHOW ?= Experiment|^cluster\.(k|algorithm|scaler)$$|silhouette$$|calinski_harabasz$$|davies_bouldin$$|^stability$$|^truth_ari$$|^ari$$|^nmi$$|B_vs_C_lift_abs$$|verdict_winner

define run-sweep
	traveltide mlflow-init
	dvc exp run --queue $(1) > $(SWEEP_OUT) || { cat $(SWEEP_OUT); exit 1; }
	@grep '^Queued experiment' $(SWEEP_OUT)
	dvc queue start -j $(JOBS)
	@while dvc queue status | grep -qE 'Queued|Running'; do sleep 5; done
	dvc queue status
	dvc exp show --only-changed --drop '.*' --keep '$(SWEEP_SHOW)'
	@names=$$(sed -n "s/^Queued experiment '\([^']*\)'.*/\1/p" $(SWEEP_OUT)); \
	failed=$$(dvc queue status | awk '$$NF == "Failed" {print $$2}' | grep -Fx "$$names"); \
	if [ -n "$$failed" ]; then \
	  echo "error: sweep: failed:" $$failed "(see dvc queue logs NAME)" >&2; exit 1; fi
endef

sweep: setup  ## k sweep (cluster.k = 3..8, SWEEP_K), JOBS=2 workers, MLflow store initialised first
	$(call run-sweep,-S 'cluster.k=$(SWEEP_K)')

sweep-grid: setup  ## algorithm x scaler grid (5 x 2 = 10 experiments), JOBS=2 workers
	$(call run-sweep,-S 'cluster.algorithm=$(GRID_ALGORITHMS)' -S 'cluster.scaler=$(GRID_SCALERS)')

mlflow-ui: setup  ## http://127.0.0.1:5000
	mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port 5000
