# The two commands of the README: `make demo` and `make test`. Each creates .venv when missing.
VENV := .venv
# Storage tests run on SQLite and on this PostgreSQL (the local server of the project's machines).
export POGUARD_TEST_PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
STAMP := $(VENV)/.installed

.PHONY: demo test bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/poguard demo

test: $(STAMP)
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/parsers.py
	$(VENV)/bin/python bench/matching.py
