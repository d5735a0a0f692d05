# nicheflow — the two commands: `make run` and `make demo`. `make test` runs the whole suite.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8080
EXECUTOR ?= local
WORKERS ?= 1

.PHONY: install run demo test test-fast bench lint clean

$(STAMP): requirements.txt pyproject.toml docker/install-system-deps.sh
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	./docker/install-system-deps.sh
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@if [ "$(EXECUTOR)" = celery ]; then ./docker/install-system-deps.sh --celery; fi
	$(BIN)/nicheflow run --port $(PORT) --executor $(EXECUTOR) --workers $(WORKERS)

demo: $(STAMP)
	$(BIN)/nicheflow demo --port $(PORT)

test: lint
	./docker/install-system-deps.sh --test
	$(BIN)/python -m pytest -q --durations=25

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(STAMP)
	$(BIN)/python tests/bench/bench_render.py
	$(BIN)/python tests/bench/bench_knowledge.py
	$(BIN)/python tests/bench/bench_audio.py
	$(BIN)/python tests/bench/bench_audio_qa.py
	$(BIN)/python tests/bench/bench_upload.py
	$(BIN)/python tests/bench/bench_checkpoint.py
	$(BIN)/python tests/bench/bench_channels.py

lint: $(STAMP)
	$(BIN)/ruff check dags plugins pipelines knowledge tests
	$(BIN)/ruff format --check dags plugins pipelines knowledge tests
	$(BIN)/mypy
	$(BIN)/python -m pipelines.local.audit   # offline; says SKIPPED when it has no advisory data

clean:
	rm -rf $(VENV) build *.egg-info
