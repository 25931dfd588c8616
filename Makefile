# Each target sets itself up: `make demo` and `make test` work on a fresh clone, and each installs only what
# it needs, from the lock file requirements/constraints.txt (`make lock` refreshes it).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet
LOCK   := requirements/constraints.txt
RUNTIME_STAMP := $(VENV)/.runtime-stamp
TEST_STAMP    := $(VENV)/.test-stamp
TRAIN_STAMP   := $(VENV)/.train-stamp
# PyTorch's CPU wheels: from PyPI alone, torch==2.13.0 is the CUDA build (gigabytes). A machine that has the
# CPU wheel on its own disk (pip's find-links) takes it from there; the index is asked only where it is not.
TORCH_INDEX ?= --extra-index-url https://download.pytorch.org/whl/cpu
DEMO_QUESTION := What did Zelenskyy say about the minerals deal?

.PHONY: install demo lint test test-fast train bench lock clean

install: $(RUNTIME_STAMP)

# The runtime alone: what `newsbot` needs to add articles and answer (no torch, test or lint tools).
$(RUNTIME_STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) -c $(LOCK) -e .
	touch $@

# The tests' tools (pytest, linters, the LLM clients they drive) and torch, which the training tests need.
$(TEST_STAMP): $(RUNTIME_STAMP)
	$(PIP) -c $(LOCK) -e '.[test]'
	$(MAKE) --no-print-directory $(TRAIN_STAMP)
	touch $@

$(TRAIN_STAMP): $(RUNTIME_STAMP)
	$(PIP) $(TORCH_INDEX) -e '.[train]'
	touch $@

# Training the reader (training/, docs/reader.md) needs torch, on the CPU.
train: $(TRAIN_STAMP)

demo: $(RUNTIME_STAMP)
	$(BIN)/newsbot add --jsonl samples/articles.jsonl
	$(BIN)/newsbot ask "$(DEMO_QUESTION)"

# The lock file: every package the runtime and the tests install, pinned, for every platform (uv's universal
# resolution). torch is left to `make train` (its wheel depends on the machine).
lock: $(RUNTIME_STAMP)
	$(PIP) uv==0.13.10
	$(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 -o $(LOCK)

# ruff on the package (index/, bot/): pyflakes, pycodestyle at 120 columns, import order, bugbear. Then mypy
# on it under its installed names, through links in build/typecheck ([tool.mypy] in pyproject.toml says why).
TYPECHECK := build/typecheck
lint: $(TEST_STAMP)
	$(BIN)/ruff check index bot
	@mkdir -p $(TYPECHECK)/newsbot
	@for d in index bot prompts; do ln -sfn ../../../$$d $(TYPECHECK)/newsbot/$$d; done
	cd $(TYPECHECK) && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p newsbot.index -p newsbot.bot
	$(BIN)/hadolint Dockerfile

# Two workers (pytest-xdist) on 2 cores: a clone's first run about 5.5 min (it embeds the shared sets' articles
# the tests index into build/test-cache), later runs 4.5 min; three workers were slower (docs/development.md).
test: lint
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The engine, CLI and bot on a deterministic fake embedder (tests/support/fake_embedder.py), without the tests
# marked `model` or `drill`, with each `newsbot` command forked from a server that has its imports done
# (tests/support/cli_forkserver.py): about a minute on 2 cores (515 tests, 70 s), for the edit-test loop.
# CI runs `make test`. Three workers stealing work: the tier waits on processes and sockets as much as it computes.
test-fast: lint
	$(BIN)/python -m pytest --fast -n 3 --dist worksteal -q $(PYTEST_ARGS)

# Benchmarks print figures and write benchmarks/results.json; CI does not run them.
bench: $(TEST_STAMP)
	$(PIP) -c $(LOCK) -e '.[bench]'
	cd benchmarks && ../$(BIN)/python bench_embed.py
	cd benchmarks && ../$(BIN)/python bench_startup.py
	cd benchmarks && ../$(BIN)/python bench_ingest.py
	cd benchmarks && ../$(BIN)/python bench_query.py
	cd benchmarks && ../$(BIN)/python probe_hnsw.py

# Never a data directory: the index is the user's (it lives in the user data folder, or NEWSBOT_DATA_DIR).
clean:
	rm -rf $(VENV) .pytest_cache build/test-cache
