# Two entry points for a newcomer: `make demo` and `make test`. Both build .venv from requirements.lock when it is
# missing or older than the lock; a second run installs nothing. `make lock` refreshes the lock (a deliberate commit).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed

.PHONY: demo test lock lock-check test-lowest schemas bench screenshots clean

# uv itself comes from the lock too: its line, with its hashes, is installed by the venv's own pip.
$(UV): requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	grep -E '^uv==' requirements.lock > $(VENV)/uv.lock.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(VENV)/uv.lock.txt
	touch $(UV)

# `uv pip sync` makes the venv exactly the lock (it removes what the lock does not list), checking every hash;
# Sori itself is then installed editable, without touching its dependencies. The environment's bytecode is compiled
# at install, and Sori's own (which changes between installs) before each run: where PYTHONDONTWRITEBYTECODE=1 (many
# container images, this machine) Python never caches it, and every `sori`, test subprocess and worker compiled some
# thousand modules from source at each start (`sori remaster` of a short take: 6.3 s, 2.6 s compiled).
$(STAMP): $(UV) requirements.lock pyproject.toml
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $(STAMP)

# What changed since the last compile only: a second run takes a fraction of a second.
COMPILE := $(BIN)/python -m compileall -q src tests scripts benchmarks

demo: $(STAMP)
	$(COMPILE)
	$(BIN)/python scripts/make_examples.py examples/raw
	$(BIN)/sori batch examples/raw examples/mastered --preset streaming
	$(BIN)/sori analyze examples/mastered/*.wav
	@echo "see and hear them: open examples/mastered/report.html in a browser; tune a preset by ear: $(BIN)/sori studio examples/raw"

test: $(STAMP)
	$(COMPILE)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/python -m pytest -q

lock: $(UV)
	$(BIN)/python scripts/lock.py

lock-check: $(UV)
	$(BIN)/python scripts/lock.py --check

# Every direct dependency at the lowest version pyproject.toml allows, in .venv-lowest: run it (by hand; it is not
# part of CI) whenever a lower bound changes, so that the ranges the wheel declares are ones the suite has passed on.
LOWEST := .venv-lowest
test-lowest: $(UV)
	test -x $(LOWEST)/bin/python || $(PY) -m venv $(LOWEST)
	$(UV) pip compile --quiet --no-header --no-annotate --resolution lowest-direct --python $(LOWEST)/bin/python \
		--extra dev --extra bench --extra ray --extra studio --extra poly --override scripts/lock-overrides.txt \
		pyproject.toml -o $(LOWEST)/requirements.txt
	$(UV) pip sync --quiet --python $(LOWEST)/bin/python $(LOWEST)/requirements.txt
	$(UV) pip install --quiet --python $(LOWEST)/bin/python --no-deps --no-build-isolation -e .
	$(LOWEST)/bin/python -m pytest -q --deselect tests/test_install.py::test_environment_matches_the_lock

# The published JSON Schemas (presets for editors, reports for services), regenerated from the code's declarations.
schemas: $(STAMP)
	$(BIN)/sori presets schema --json > src/remaster/presets/preset.schema.json
	$(BIN)/python -c "from remaster.report import schema_text; print(schema_text(), end='')" > docs/report.schema.json

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_loudnorm.py

# The README's pictures of report.html and `sori studio` (docs/*.png), taken in headless chromium.
screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) $(LOWEST) examples build dist .pytest_cache
