# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hub demo

test: $(STAMP)
	tests/services.sh
	$(BIN)/hub lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/reading.py
	$(BIN)/python bench/large.py
	$(BIN)/python bench/console.py
	tests/services.sh
	$(BIN)/python bench/transports.py

lint: $(STAMP)
	$(BIN)/hub lint

clean:
	rm -rf $(VENV) var
