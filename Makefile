# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
# Installs compile bytecode once (about 40 s), so no command compiles its imports again (1-3 s
# each, more where PYTHONDONTWRITEBYTECODE is set, as on CI).
export UV_COMPILE_BYTECODE := 1
LINT_PATHS := src tests $(wildcard benchmarks)
# The one PostgreSQL setting of the tests: the engine tests use this database, and the store
# tests run a second time on this server (each run in a database of its own). They fail, never
# skip, without it; scripts/test-machine.sh starts the server and creates the database.
export RETAIN_TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
# The install test builds the wheel with this uv.
export RETAIN_UV := $(UV)

.PHONY: demo test lint bench clean translations

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv

demo: $(UV)
	$(UV) sync --locked --python $(PYTHON) --extra server
	$(VENV)/bin/retain demo

test: $(UV)
	$(UV) sync --locked --python $(PYTHON) --extra dev
	scripts/test-machine.sh $(VENV)/bin/python
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)
	$(VENV)/bin/pytest -n 2
	DATABASE_URL=$(RETAIN_TEST_DATABASE_URL) $(VENV)/bin/pytest -n 2 -m store

lint: $(UV)
	$(UV) sync --locked --python $(PYTHON) --extra dev
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(VENV)/bin/ruff format --check $(LINT_PATHS)

bench: $(UV)
	$(UV) sync --locked --python $(PYTHON) --extra bench --inexact
	$(MAKE) -C benchmarks all PYTHON=$(CURDIR)/$(VENV)/bin/python

# After marking strings: extract them into the catalogues of src/retain/locale (translate the
# new entries there), then compile. Needs GNU gettext (make test installs it).
translations: $(UV)
	$(UV) sync --locked --python $(PYTHON) --extra dev
	cd src/retain && DJANGO_SETTINGS_MODULE=retain.server.settings ../../$(VENV)/bin/python -m django \
		makemessages --no-location -l th -l vi -l el -l id
	cd src/retain && DJANGO_SETTINGS_MODULE=retain.server.settings ../../$(VENV)/bin/python -m django \
		compilemessages

clean:
	rm -rf $(VENV) .tools benchmarks/.venv-lifetimes retain-data dist
