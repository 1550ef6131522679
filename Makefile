# HeadSwapBench. `make demo` and `make test` work on a fresh machine (Python 3.11, no internet but PyPI).
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
HSB    := $(VENV)/bin/headswapbench
STAMP  := $(VENV)/.installed

.PHONY: install demo test test-all bench lint browser clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Headless Chromium for the browser tests (Debian packages); the tests skip with the reason if it cannot install.
browser:
	@command -v chromium >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
	  || echo "note: could not install chromium; browser tests will be skipped"; }

demo: install
	$(HSB) demo --out demo_out

test: install browser
	$(PY) -m pytest -q

test-all: install browser
	RUN_SLOW=1 $(PY) -m pytest -q

bench: install
	$(PY) -m benchmarks --out bench_out

lint: install
	$(PY) -m ruff check headswapbench pipelines metrics leaderboard tests benchmarks

clean:
	rm -rf demo_out bench_out .pytest_cache
