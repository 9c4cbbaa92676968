# omnikiosk developer and CI entry points. Everything runs from the repo's .venv,
# which `make deps` creates (see .ci/bootstrap.sh).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON := .venv/bin/python
PG_DEFAULT_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=
# Two test processes (the machines have two cores); a file's tests stay in one process,
# in order, because some of them check what the file's earlier tests did.
PYTEST_WORKERS ?= 2
DEMO_ARGS ?=

.PHONY: deps test demo bench lint clean

deps:
	bash .ci/bootstrap.sh --system --venv

# PostgreSQL tests run when the server answers; an OMK_TEST_POSTGRES_URL that is
# already set (even to empty, which disables them) is left alone.
# pytest's exit code 5 (no tests collected) fails the target on purpose.
# (`make bench` uses the same PostgreSQL the same way.)
USE_LOCAL_PG := if [[ -z "$${OMK_TEST_POSTGRES_URL+set}" ]] && command -v pg_isready >/dev/null \
		&& pg_isready -q -h 127.0.0.1 -p 5432; then \
		export OMK_TEST_POSTGRES_URL='$(PG_DEFAULT_URL)'; \
	fi

test: deps
	@$(USE_LOCAL_PG); \
	echo "OMK_TEST_POSTGRES_URL=$${OMK_TEST_POSTGRES_URL:-<unset: postgres tests skip>}"; \
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# With a display the kiosk opens in a window for you; without one the demo runs it
# under Xvfb (xvfb-run) with a scripted shopper (`--kiosk auto`, see main.py demo --help).
demo: deps
	$(PYTHON) main.py demo $(DEMO_ARGS)

# Runs every benchmarks/*.py not starting with "_"; all run, then the target
# fails if any of them failed. PostgreSQL as for `make test`. kiosk_ui.py starts
# itself under Xvfb when there is no display; OMK_BENCH_KIOSK_SOAK_S=3600 makes its
# memory run the hour-long one (default 60 s).
bench: deps
	@$(USE_LOCAL_PG); \
	echo "OMK_TEST_POSTGRES_URL=$${OMK_TEST_POSTGRES_URL:-<unset: postgres benchmarks skip>}"; \
	shopt -s nullglob; failed=(); ran=0; \
	for f in benchmarks/*.py; do \
		case "$$(basename "$$f")" in _*) continue ;; esac; \
		ran=$$((ran + 1)); \
		echo "== $$f"; \
		$(PYTHON) "$$f" || failed+=("$$f"); \
	done; \
	echo "bench: $$ran run, $${#failed[@]} failed $${failed[*]:-}"; \
	(( $${#failed[@]} == 0 ))

lint: deps
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

clean:
	rm -rf var/ .pytest_cache/ .ruff_cache/ .hypothesis/
	find . -path ./.venv -prune -o -type d -name __pycache__ -exec rm -rf {} +
