# The newcomer's commands. `make run` and `make test` set up everything they need first.
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
# Stage commands in dvc.yaml call `python`: put the project's environment first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: setup run test test-fast lint format bench calibrate sweep sweep-grid mlflow-ui plots clean-mlflow

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

# A/A false-positive rates, CI coverages and policy-value coverages of the A/B engine, by
# simulation on the cohort of the last `make run` (docs/ab-testing.md); CALIBRATE_ARGS e.g.
# `--world toy --users 6000`. Writes bench/results/calibrate.json and prints a table.
calibrate: setup  ## calibration of the A/B statistics by simulation (1,000 A/A, 500 A/B/C runs)
	python bench/calibrate.py $(CALIBRATE_ARGS)

# Sweeps: queue a grid of experiments (DVC's `-S key=a,b` / `range(a,b)` syntax, one
# experiment per combination), initialise the MLflow store once, run the queue on JOBS
# workers, wait (`traveltide sweep-wait` prints the experiments done / queued whenever that
# changes, and each failure as it happens), show the experiments, and fail if any
# experiment of this sweep failed.
JOBS ?= 2
SWEEP_K ?= range(3,9)
# dbscan is left out: its eps is a distance in the scaled space, so no one eps fits both
# scalers (eps 5.0 with robust finds a single cluster and that experiment fails)
GRID_ALGORITHMS ?= kmeans,minibatch_kmeans,gmm,agglomerative,hdbscan
GRID_SCALERS ?= standard,robust
SWEEP_OUT := .dvc/tmp/sweep-queued.txt
# the columns `dvc exp show` prints after a sweep (regular expressions; --only-changed too)
SWEEP_SHOW ?= Experiment|^cluster\.(k|algorithm|scaler)$$|silhouette$$|calinski_harabasz$$|davies_bouldin$$|^stability$$|^truth_ari$$|^ari$$|^nmi$$|B_vs_C_lift_abs$$|B_vs_C_decision_effect$$

define run-sweep
	traveltide mlflow-init
	dvc exp run --queue $(1) > $(SWEEP_OUT) || { cat $(SWEEP_OUT); exit 1; }
	@grep '^Queued experiment' $(SWEEP_OUT)
	dvc queue start -j $(JOBS)
	@traveltide sweep-wait $(SWEEP_OUT); status=$$?; \
	dvc exp show --only-changed --drop '.*' --keep '$(SWEEP_SHOW)'; exit $$status
endef

sweep: setup  ## k sweep (cluster.k = 3..8, SWEEP_K), JOBS=2 workers, MLflow store initialised first
	$(call run-sweep,-S 'cluster.k=$(SWEEP_K)')

sweep-grid: setup  ## algorithm x scaler grid (5 x 2 = 10 experiments), JOBS=2 workers
	$(call run-sweep,-S 'cluster.algorithm=$(GRID_ALGORITHMS)' -S 'cluster.scaler=$(GRID_SCALERS)')

# One worker and no job runner (MLflow's GenAI jobs; this pipeline logs none): 2 processes and
# about 0.6 GB instead of 15 and 2.9 GB (docs/mlflow.md). The URL opens the training runs.
MLFLOW_PORT ?= 5000
mlflow-ui: setup  ## the MLflow UI on one worker: http://127.0.0.1:5000
	@python -c 'from pathlib import Path; from traveltide.mlops.ui import workspace_link; \
	  print("MLflow UI:", workspace_link(Path("."), $(MLFLOW_PORT)))'
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false mlflow ui --workers 1 \
	  --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --host 127.0.0.1 --port $(MLFLOW_PORT)

# `dvc plots show` with Vega bundled (.dvc/plots/offline.html): opens without a network
plots: setup  ## DVC's plots of the workspace as one offline page: dvc_plots/index.html
	dvc plots show --html-template .dvc/plots/offline.html -o dvc_plots
