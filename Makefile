# Two commands a new user needs (see README):  make demo   and   make test
# Both create .venv and install the package into it first (idempotent; re-runs only when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= results
JOBS ?= 2

.PHONY: setup demo test bench blog study compare
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
	$(BIN)/python train.py --config configs/sweeps/quick_dense.yaml --out $(OUT)/runs --jobs $(JOBS)
	$(BIN)/python evaluate.py $(OUT)/runs/quick-dense-mnist-* --out $(OUT)/reports/quick-dense \
	  --title "Quick comparison: dense autoencoder on MNIST, BCE vs MSE"

# The same quick comparison (configs/sweeps/quick_dense.yaml: both losses, 3 seeds, 10 epochs,
# then the report) on any data:
#   make compare DATASET=natural_patches      a built-in dataset
#   make compare DATA=path/to/images.npz      your .npz (x_train, x_test; optional y_train, y_test)
#   make compare DATA=path/to/folder          your folder of PNG/JPEG files in train/ and test/
# Runs go to results/compare/NAME/runs and the report to results/compare/NAME/REPORT.md, NAME being
# the dataset or the file's name; COMPARE_SET adds --set overrides (e.g. for an image folder
# COMPARE_SET="--set dataset.color_mode=grayscale --set dataset.image_size=[64,64]").
DATASET ?= $(if $(DATA),$(if $(wildcard $(DATA)/.),image_folder,npz),mnist)
COMPARE_NAME ?= $(if $(DATA),$(basename $(notdir $(patsubst %/,%,$(DATA)))),$(DATASET))
COMPARE_OUT ?= $(OUT)/compare/$(COMPARE_NAME)
COMPARE_SET ?=
compare: setup
	$(BIN)/python train.py --config configs/sweeps/quick_dense.yaml --out $(COMPARE_OUT)/runs \
	  --set dataset.name=$(DATASET) $(if $(DATA),--set dataset.path=$(DATA)) $(COMPARE_SET)
	$(BIN)/python evaluate.py $(COMPARE_OUT)/runs/quick-dense-* --out $(COMPARE_OUT) \
	  --title "Quick comparison: dense autoencoder on $(COMPARE_NAME), BCE vs MSE" \
	  --note "Runs trained by \`make compare $(if $(DATA),DATA=$(DATA),DATASET=$(DATASET))\`, i.e. \`python train.py --config configs/sweeps/quick_dense.yaml --set dataset.name=$(DATASET)$(if $(DATA), --set dataset.path=$(DATA))\`, one run at a time."

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

# The study (docs/findings.md, the README's answer table): the configs/sweeps/study_*.yaml runs (about 3 hours on 2 CPU
# cores), then the collapse-rate sweeps configs/sweeps/collapse_*.yaml (1,440 one-epoch runs: hours
# on 2 CPU cores) and the 24 longer runs of configs/sweeps/long_*.yaml that check their one-epoch
# verdict, the 80 runs of section 8 that time DiagnosticsCallback's warning (`python -m autoencoders
# early-warning`), the 300 runs of today's practice (configs/sweeps/today_*.yaml: sigmoid and linear heads, BCE, MSE
# and MAE, on dense, conv and res_conv) and their 960 one-epoch collapse-rate runs (configs/sweeps/today_collapse_*.yaml),
# then `evaluate.py --study` into results/study/REPORT.md. Every sweep trains $(JOBS) runs
# at a time, one TensorFlow thread each (benchmarks/bench_study.py: 0.42-0.46x the time per run of
# one at a time, with the conv decoders' upsampled convs and the dense models' one-program XLA loop;
# under 3 hours: the 6 hours it took one at a time, times the 0.43-0.48 its runs' mix gives).
# Resumable like the blog: finished runs are skipped.
# The Findings page and the README's answer table, rendered from the study's summary.json
FINDINGS ?= docs/findings.md
FINDINGS_README ?= README.md
STUDY_SWEEPS ?= dense deep_dense conv denoising_conv binarized vae_sum vae_mean
TODAY_SWEEPS ?= today_sigmoid today_linear today_sigmoid_seeds_5_9 today_linear_seeds_5_9
TODAY_COLLAPSE_SWEEPS ?= today_collapse_linear today_collapse_res_conv_sigmoid
COLLAPSE_SWEEPS ?= collapse_conv_adam collapse_conv_adadelta collapse_dense_adam collapse_dense_adadelta \
  collapse_denoising_conv_adam collapse_denoising_conv_adadelta long_conv_adam long_conv_adadelta \
  long_denoising_conv_adam
study: setup
	status=0; for s in $(STUDY_SWEEPS); do \
	  $(BIN)/python train.py --config configs/sweeps/study_$$s.yaml --out $(OUT)/study/runs --jobs $(JOBS) || status=1; \
	done; \
	for s in $(COLLAPSE_SWEEPS); do \
	  $(BIN)/python train.py --config configs/sweeps/$$s.yaml --out $(OUT)/study/collapse --jobs $(JOBS) || status=1; \
	done; \
	for s in $(TODAY_SWEEPS); do \
	  $(BIN)/python train.py --config configs/sweeps/$$s.yaml --out $(OUT)/study/today/runs --jobs $(JOBS) || status=1; \
	done; \
	for s in $(TODAY_COLLAPSE_SWEEPS); do \
	  $(BIN)/python train.py --config configs/sweeps/$$s.yaml --out $(OUT)/study/today/collapse --jobs $(JOBS) || status=1; \
	done; \
	$(BIN)/python -m autoencoders early-warning --out $(OUT)/study/early_warning --jobs $(JOBS) || status=1; \
	$(BIN)/python evaluate.py --study $(OUT)/study/runs/study-* --collapse $(OUT)/study/collapse --today $(OUT)/study/today --out $(OUT)/study \
	  && $(BIN)/python -m autoencoders findings $(OUT)/study/summary.json --out $(FINDINGS) --readme $(FINDINGS_README) \
	     --evidence autoencoders/diagnose/evidence.json && exit $$status

# The docs (mkdocs.yml, docs/) are built first, strictly (a broken link, anchor or nav entry fails), into a
# temporary folder that is removed after; then the test suite.
test: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
	site=$$(mktemp -d) && $(BIN)/mkdocs build --strict --site-dir "$$site"; status=$$?; rm -rf "$$site"; test $$status -eq 0
	$(BIN)/python -m pytest -n $(JOBS) --durations=15

bench: setup
	$(BIN)/python benchmarks/bench_train.py
