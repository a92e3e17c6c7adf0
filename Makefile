# The workbook's entry points. Everything installs into .venv from requirements.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 4566

.PHONY: setup test bench localcloud-start localcloud-stop localcloud-status clean-venv

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

## Every test: unit tests and the local cloud's tests against a local cloud of their own.
test: setup
	$(BIN)/python -m pytest

## Benchmarks of the local cloud (prints figures; not part of the tests).
bench: setup
	$(BIN)/python benchmarks/localcloud_bench.py

localcloud-start: setup
	$(BIN)/python -m helpers.localcloud start --port $(PORT)

localcloud-stop: setup
	$(BIN)/python -m helpers.localcloud stop --port $(PORT)

localcloud-status: setup
	$(BIN)/python -m helpers.localcloud status --port $(PORT)

clean-venv:
	rm -rf $(VENV)
