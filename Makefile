# Each target sets itself up: `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_QUESTION := What did Zelenskyy say about the minerals deal?

.PHONY: install demo lint test test-fast bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,train]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/newsbot add --jsonl samples/articles.jsonl
	$(BIN)/newsbot ask "$(DEMO_QUESTION)"

# ruff on the package (index/, bot/): pyflakes, pycodestyle at 120 columns, import order, bugbear. Then mypy
# on it under its installed names, through links in build/typecheck ([tool.mypy] in pyproject.toml says why).
TYPECHECK := build/typecheck
lint: $(STAMP)
	$(BIN)/ruff check index bot
	@mkdir -p $(TYPECHECK)/newsbot
	@for d in index bot prompts; do ln -sfn ../../../$$d $(TYPECHECK)/newsbot/$$d; done
	cd $(TYPECHECK) && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p newsbot.index -p newsbot.bot

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
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	cd benchmarks && ../$(BIN)/python bench_embed.py
	cd benchmarks && ../$(BIN)/python bench_startup.py
	cd benchmarks && ../$(BIN)/python bench_ingest.py
	cd benchmarks && ../$(BIN)/python bench_query.py
	cd benchmarks && ../$(BIN)/python probe_hnsw.py

clean:
	rm -rf $(VENV) data .pytest_cache build/test-cache
