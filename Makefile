# The two commands of the README:
#   make lab    set everything up and open the lessons in JupyterLab
#   make test   set everything up and run every test (unit, nbval, browser)
# Both need only Python 3.11 and make on a Debian machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARTIFACTS := test-artifacts
CHROMIUM ?= /usr/bin/chromium

# Deterministic tracebacks in notebooks (nbval compares them as text).
export IPYKERNEL_CELL_NAME := <IPY-INPUT>
export PYTHONHASHSEED := 0

.PHONY: lab test lint test-unit test-other-cpu test-browser browser-deps notebooks check-notebooks bench clean help

help:
	@echo "make lab          set up .venv and open the lessons in JupyterLab"
	@echo "make test         set up .venv and run all tests"
	@echo "make lint         ruff check and ruff format --check"
	@echo "make test-other-cpu  nbval on the lessons as a CPU without AVX, with one thread"
	@echo "make notebooks    rebuild and re-execute every lesson from its source"
	@echo "make bench        run the benchmarks"

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --quiet pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# jupytext (requirements.txt) lets JupyterLab open the lesson sources notebooks/_source/*.py as
# notebooks and save them back (notebooks/_source/jupytext.toml; see notebooks/_source/README.md).
lab: $(STAMP)
	$(BIN)/jupyter lab $(ALLOW_ROOT) --notebook-dir=notebooks notebooks/00_start_here.ipynb

test: test-unit test-browser
	@echo "Test artifacts (browser screenshots): $(CURDIR)/$(ARTIFACTS)"

# ruff (pinned in requirements.txt, configured in pyproject.toml): lint, then check the layout
# without rewriting anything.
lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Unit tests of the package, plus nbval in strict mode over the learner and solved lessons,
# then the learner lessons once more on another CPU kernel path; lint first.
# TQDM_DISABLE=1: the stored outputs hold no progress bar (lessons show one interactively).
# enabled once the remaining files are formatted:
# test-unit: $(STAMP) lint
test-unit: $(STAMP)
	TQDM_DISABLE=1 $(BIN)/python -m pytest -n 2 --dist loadscope -p no:cacheprovider \
		tests notebooks --nbval --nbval-sanitize-with tests/nbval_sanitize.cfg \
		--ignore=tests/browser
	$(MAKE) --no-print-directory test-other-cpu

# The stored outputs must not depend on the CPU. Re-run the learner lessons as a CPU without
# AVX would: ATen's kernels without SIMD (ATEN_CPU_CAPABILITY=default), MKL's SSE2-compatible
# code (MKL_CBWR=COMPATIBLE changes float32 matmul results; MKL_ENABLE_INSTRUCTIONS does not on
# AMD CPUs) and one thread instead of every core.
OTHER_CPU := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=1
LEARNER_NOTEBOOKS := $(wildcard notebooks/[0-9][0-9]_*.ipynb)

test-other-cpu: $(STAMP)
	TQDM_DISABLE=1 $(OTHER_CPU) $(BIN)/python -m pytest -n 2 --dist loadscope -p no:cacheprovider \
		--nbval --nbval-sanitize-with tests/nbval_sanitize.cfg $(LEARNER_NOTEBOOKS)

# The lessons in a real browser. Installs Debian's chromium when running as root;
# otherwise skips with a message that says how to enable it.
test-browser: $(STAMP) browser-deps
	@if [ -x "$(CHROMIUM)" ]; then \
		mkdir -p $(ARTIFACTS) && \
		$(BIN)/python -m pytest -p no:cacheprovider tests/browser --artifacts=$(ARTIFACTS)/browser; \
	else \
		echo; \
		echo "SKIPPED: browser suite (no $(CHROMIUM))."; \
		echo "  Enable it with:  sudo apt-get install -y chromium   (or: sudo make browser-deps)"; \
		echo; \
	fi

browser-deps:
	@if [ ! -x "$(CHROMIUM)" ] && [ -z "$$SKIP_BROWSER" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

# Rebuild learner + solved notebooks from their sources and execute them.
notebooks: $(STAMP)
	$(BIN)/python .ci/build_notebooks.py --jobs 2

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_optim.py
	$(BIN)/python benchmarks/bench_explorer.py
	$(BIN)/python benchmarks/notebook_times.py

clean:
	rm -rf $(VENV) $(ARTIFACTS) .pytest_cache
