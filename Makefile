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
# 3 seeds per loss, then the report (results/reports/quick-dense/report.md and .html).
# Finished runs are kept and skipped (--resume), so running it again only re-makes the report.
SEEDS ?= 0 1 2
demo: setup
	for seed in $(SEEDS); do for loss in bce mse; do \
	  $(BIN)/python train.py --config configs/quick/dense.yaml --set loss.name=$$loss --set seed=$$seed --out $(OUT)/runs --resume || exit $$?; \
	done; done
	$(BIN)/python evaluate.py $(foreach s,$(SEEDS),$(OUT)/runs/quick-dense-mnist-bce-s$(s) $(OUT)/runs/quick-dense-mnist-mse-s$(s)) \
	  --out $(OUT)/reports/quick-dense --title "Quick comparison: dense autoencoder on MNIST, BCE vs MSE"

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --durations=15

bench: setup
	$(BIN)/python benchmarks/bench_train.py
