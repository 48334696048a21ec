# vaxchain: the quick start and the developer tasks. Everything runs from a virtual environment in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test lint messages catalogs clean

## Install, create the demo database (SQLite in instance/) and serve it on http://$(HOST):$(PORT)
demo: $(VENV)/.installed
	$(BIN)/vaxchain init --demo
	$(BIN)/vaxchain serve --host $(HOST) --port $(PORT)

## Install with the test extra and run the whole suite (SQLite; set VAXCHAIN_TEST_DATABASE_URL for PostgreSQL)
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Static checks (pyflakes, pycodestyle, import order, bugbear, pyupgrade; see ruff.toml)
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: setup.cfg setup.py pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: setup.cfg setup.py pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

## Extract the strings to translate and merge them into every catalog (then translate, then commit)
messages: $(VENV)/.installed
	$(BIN)/pybabel extract --no-location --sort-by-file -F translations/babel.cfg -k _l -o translations/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i translations/messages.pot -d translations
	for plugin in plugins/*/babel.cfg; do dir=$$(dirname $$plugin); \
	  $(BIN)/pybabel extract --no-location -F $$plugin -k _l -o $$dir/translations/messages.pot $$dir && \
	  $(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i $$dir/translations/messages.pot -d $$dir/translations; done

## Compile catalogs (also done automatically at install and at start-up when a .po is newer)
catalogs: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d translations
	for dir in plugins/*/translations; do $(BIN)/pybabel compile --statistics -d $$dir; done

clean:
	rm -rf $(VENV) build *.egg-info
