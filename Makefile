# Two commands a new user needs (see README):  make demo   and   make test
# Both create .venv and install the package into it first (idempotent; re-runs only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= results
JOBS ?= 2

.PHONY: setup demo test bench clean-runs
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The main job: the quick BCE-vs-MSE comparison of the blog's dense autoencoder on MNIST,
# 3 seeds per loss, 10 epochs (configs/sweeps/quick_dense.yaml), then the report
# (results/reports/quick-dense/report.md and .html). Finished runs are skipped, so running it
# again only re-makes the report.
demo: setup
	$(BIN)/python train.py --config configs/sweeps/quick_dense.yaml --out $(OUT)/runs
	$(BIN)/python evaluate.py $(OUT)/runs/quick-dense-mnist-* --out $(OUT)/reports/quick-dense \
	  --title "Quick comparison: dense autoencoder on MNIST, BCE vs MSE"

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --durations=15

bench: setup
	$(BIN)/python benchmarks/bench_train.py
