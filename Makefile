# mer-bench: every target sets up .venv/ by itself when it is missing or stale.
PYTHON ?= python3
VENV   ?= .venv
# CPU build by default; GPU users override, e.g.
#   make TORCH="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126" bench
TORCH  ?= torch==2.13.0
PLAN   ?= quick
ARGS   ?=
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.mer-bench-installed
TRACKING_URI ?= sqlite:///mlruns.db

.PHONY: setup bench test test-all test-postgres test-browser test-ray test-gpu lint perf mlflow-ui sweep-dashboard clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e ".[dev]"
	@# compile librosa's numba kernels once (cached in the venv; ~30 s on first use otherwise)
	$(PY) -c "import librosa; librosa.stft, librosa.util.localmax, librosa.feature.melspectrogram"
	@touch $(STAMP)

bench: $(STAMP)
	$(VENV)/bin/mer-bench bench $(PLAN) --tracking-uri $(TRACKING_URI) $(ARGS)

# the fast tier, spread over the machine's cores (pytest-xdist)
test: $(STAMP)
	$(PY) -m pytest -q -n auto $(ARGS)

test-all: $(STAMP)
	$(PY) -m pytest -q -m "" $(ARGS)

# several workers on one PostgreSQL store (needs Debian's postgresql package)
test-postgres: $(STAMP)
	$(PY) -m pytest -q -s -m postgres $(ARGS)

# --executor ray against the in-process loop, on a local two-node Ray cluster
test-ray: $(STAMP)
	$(PY) -m pytest -q -s -m ray $(ARGS)

# the CUDA checks (< 5 min on one GPU): gpu tests, two 4Q paper folds timed, Ray with a GPU
# per fold; skips (exit 0) where torch sees no GPU; ARGS=--require-gpu on a GPU runner
test-gpu: $(STAMP)
	$(PY) scripts/gpu_check.py $(ARGS)

# the performance suite (~10 min): one table of ratios, benchmarks/results.json and .md
perf: $(STAMP)
	$(PY) -m benchmarks $(ARGS)

# the slow browser checks (Debian's chromium): MLflow's UI as make mlflow-ui opens it
test-browser: $(STAMP)
	$(PY) -m pytest -q -m "browser" $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check mer_bench tests

# prints (and on a desktop opens) the URL of the runs table with the primary metrics
MLFLOW_PORT ?= 5000
mlflow-ui: $(STAMP)
	$(PY) -m mer_bench.tracking.ui --backend-store-uri $(TRACKING_URI) --default-artifact-root ./mlartifacts --port $(MLFLOW_PORT)

SWEEP_STORAGE ?= sqlite:///sweeps.db
sweep-dashboard: $(STAMP)
	@test -x $(VENV)/bin/optuna-dashboard || $(PY) -m pip install --quiet optuna-dashboard
	$(VENV)/bin/optuna-dashboard $(SWEEP_STORAGE) --port 8080

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info leaderboard/ mlruns.db mlruns.db.lock mlartifacts/ sweeps.db sweeps.db.lock test-artifacts/
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
