# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint mutate clean

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

# Mutation testing of the modules where a bug loses or forges documents (not part of `make test`; slow:
# tens of minutes a module). MODULES="envelope gathering" runs some (tools/mutate.py --list names them);
# MUTATE_FLAGS="--report-dir DIR" puts the surviving mutants elsewhere than mutants/survivors/.
MUTATE_STAMP := $(VENV)/.installed-mutate
MODULES ?=
MUTATE_FLAGS ?=

$(MUTATE_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutate]'
	touch $(MUTATE_STAMP)

mutate: $(MUTATE_STAMP)
	tests/services.sh
	$(BIN)/python tools/mutate.py $(MUTATE_FLAGS) $(MODULES)

lint: $(STAMP)
	$(BIN)/hub lint

clean:
	rm -rf $(VENV) var mutants
