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

# The main job: the quick BCE-vs-MSE comparison of the blog's dense autoencoder on MNIST.
demo: setup
	$(BIN)/python train.py --config configs/quick/dense.yaml --set loss.name=bce --out $(OUT)/runs --resume
	$(BIN)/python train.py --config configs/quick/dense.yaml --set loss.name=mse --out $(OUT)/runs --resume

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --durations=15

bench: setup
	$(BIN)/python benchmarks/bench_train.py
