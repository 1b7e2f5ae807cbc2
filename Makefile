# DataOps Intelligence: the two commands a new user runs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup browser demo test lint bench airflow clean

setup: $(STAMP) browser

# Debian's headless Chromium and its WebDriver, for the dashboard's browser test (tests/dashboard);
# installed only when missing, as root or through sudo.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  echo "==> installing chromium and chromium-driver (apt-get)"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

# Pinned, mutually compatible set (requirements/constraints.txt), then Delta's jars fetched once
# from Maven Central into ~/.cache/dataops-intelligence/jars (reused by every later Spark session).
$(STAMP): pyproject.toml include/pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements/constraints.txt -e ".[spark,dev]"
	$(BIN)/python -m dataops_jobs.spark_jars
	touch $@

demo: setup
	$(BIN)/dataops demo

# Two workers, one test file each at a time (module fixtures stay in one process): the Airflow stack
# and emulator tests mostly wait on subprocesses, so they overlap well with the in-process Spark tests.
test: setup
	$(BIN)/python -m pytest -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check provider include dags tests benchmarks
	$(BIN)/mypy

# A real Airflow (api-server, scheduler, dag-processor, triggerer; LocalExecutor, SQLite) with the demo
# workspace, UI on http://localhost:8080, everything on 127.0.0.1; the login is printed at start-up and
# dataops_monitoring is unpaused, which starts its first run at once. Ctrl-C stops it.
airflow: setup
	scripts/airflow_stack.sh

bench: setup
	$(BIN)/python benchmarks/cycle_benchmark.py

clean:
	rm -rf .dataops .pytest_cache
