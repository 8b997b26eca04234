# rgexp: the two commands.  `make run` sets up and runs the default experiment;
# `make test` sets up and runs the fast tests; `make test-all` every test (this is what CI runs).
PY ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: setup run test test-all bench ui clean report reproduce

$(BIN)/python:
	$(PY) -m venv $(VENV)

# torch==2.13.0 is pinned: the CPU wheel where pip's configuration offers one. uv installs it (with
# pip's configuration; pip where uv cannot be had): scripts/install.py says how.
$(VENV)/.installed: pyproject.toml scripts/install.py | $(BIN)/python
	$(BIN)/python scripts/install.py torch==2.13.0 -e '.[test,launchers]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/python -m rgexp $(ARGS)

# one pytest worker per core (pytest-xdist), a test file's tests on one worker (module fixtures run once),
# files handed out in collection order (tests/conftest.py puts the longest first; xdist would otherwise
# reorder them by their number of tests and leave a long file to run alone at the end)
PARALLEL ?= -n auto --dist loadfile --no-loadscope-reorder

test: setup
	$(BIN)/python -m pytest -q $(PARALLEL) $(PYTEST_ARGS)

# every test, the slow tier included (`-m` overrides the `not slow` of pyproject's addopts)
test-all: setup
	$(BIN)/python -m pytest -q -m "slow or not slow" $(PARALLEL) $(PYTEST_ARGS)

bench: setup
	$(BIN)/python benchmarks/bench_ising2d.py
	$(BIN)/python benchmarks/bench_rbm.py

# every preset at SCALE with SEEDS seeds, then one reproduction report (rgexp.reproduce; resumable with OUT=)
SCALE ?= paper
SEEDS ?= 3
reproduce: setup
	$(BIN)/python -m rgexp.reproduce scale=$(SCALE) seeds=$(SEEDS) $(if $(OUT),out=$(OUT)) $(ARGS)

report: setup
	$(BIN)/python -m rgexp.report $(ARGS)

ui: setup
	@echo "rgexp: open http://127.0.0.1:5000/#/experiments?workflowType=machine_learning (the runs tables; Ctrl-C stops the UI)"
	$(BIN)/mlflow ui --backend-store-uri sqlite:///mlruns/mlflow.db --host 127.0.0.1 --port 5000

clean:
	rm -rf $(VENV) .pytest_cache outputs multirun .rgexp_cache
