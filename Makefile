# Two commands a new user needs (see README):  make demo   and   make test
# Both create .venv and install the package into it first (idempotent; re-runs only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= results
JOBS ?= 2

.PHONY: setup demo test bench blog study
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# The main job: the quick BCE-vs-MSE comparison of the blog's dense autoencoder on MNIST,
# 3 seeds per loss, 10 epochs (configs/sweeps/quick_dense.yaml), then the report
# (results/reports/quick-dense/REPORT.md and .html). Finished runs are skipped, so running it
# again only re-makes the report.
demo: setup
	$(BIN)/python train.py --config configs/sweeps/quick_dense.yaml --out $(OUT)/runs
	$(BIN)/python evaluate.py $(OUT)/runs/quick-dense-mnist-* --out $(OUT)/reports/quick-dense \
	  --title "Quick comparison: dense autoencoder on MNIST, BCE vs MSE"

# The Keras blog reproduction: every experiment of the post x BCE/MSE x MNIST/Fashion-MNIST
# (hours on 2 CPU cores; stop any time, it picks up where it stopped), then the report
# results/blog/REPORT.md (+ .html, summary.*, figures/) next to the runs in results/blog/runs/.
BLOG_SWEEPS ?= dense sparse_dense deep_dense conv denoising_conv vae conv_vae dense_adadelta sparse_dense_adadelta
blog: setup
	status=0; for s in $(BLOG_SWEEPS); do \
	  $(BIN)/python train.py --config configs/sweeps/blog_$$s.yaml --out $(OUT)/blog/runs || status=1; \
	done; \
	$(BIN)/python evaluate.py $(OUT)/blog/runs/blog-* --out $(OUT)/blog \
	  --title "Keras blog reproduction: BCE vs MSE on MNIST and Fashion-MNIST" \
	  --note "Runs trained by \`make blog\`, i.e. \`python train.py --config configs/sweeps/blog_ARCH.yaml --out $(OUT)/blog/runs\` for ARCH in $(BLOG_SWEEPS), one run at a time." \
	  && exit $$status

# The study (README "Findings"): the configs/sweeps/study_*.yaml runs (about an hour on 2 CPU
# cores; resumable like the blog), then `evaluate.py --study` into results/study/REPORT.md.
STUDY_SWEEPS ?= dense deep_dense conv denoising_conv binarized vae_sum vae_mean
study: setup
	status=0; for s in $(STUDY_SWEEPS); do \
	  $(BIN)/python train.py --config configs/sweeps/study_$$s.yaml --out $(OUT)/study/runs || status=1; \
	done; \
	$(BIN)/python evaluate.py --study $(OUT)/study/runs/study-* --out $(OUT)/study && exit $$status

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --durations=15

bench: setup
	$(BIN)/python benchmarks/bench_train.py
