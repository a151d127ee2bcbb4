# make run   - set up .venv, fetch the offline demo assets, start the dashboard
# make test  - same set-up, then the whole test suite
# Set-up is idempotent and takes about a second when nothing changed.

# Python used to create .venv: python3.11 when present (what the pins are tested on), else python3.
# Override with `make PY=/path/to/python3.x setup`.
ifeq ($(origin PY),undefined)
PY := $(or $(shell command -v python3.11 2>/dev/null),python3)
endif
PY ?= python3

VENV := .venv
VPY := $(VENV)/bin/python
REQ_STAMP := $(VENV)/.stamp-req

.PHONY: setup run test lint format bench clean distclean i18n

setup: $(REQ_STAMP)
	$(VPY) -m venus_core.asset_setup

$(VPY):
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: $(PY) is older than Python 3.11; run: make PY=python3.11 setup" >&2; exit 1; }
	$(PY) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

# Reinstall only when requirements.txt is newer than the stamp.
$(REQ_STAMP): requirements.txt pyproject.toml | $(VPY)
	$(VPY) -m pip install --disable-pip-version-check -r requirements.txt
	# Editable install, so `python -m venus_core` works from any folder with this venv.
	$(VPY) -m pip install --disable-pip-version-check --no-deps -e .
	@touch $@

run: setup
	$(VPY) -m ui  # streamlit run Home.py, with the run's imports started at once (ui/__main__.py)

test: setup
	$(VPY) -m pytest

# Translations: re-extract every marked string (_(), N_(), pgettext()) of the pages and the library into
# the catalogues locale/<lang>/LC_MESSAGES/venus.po: new strings come in untranslated, changed ones
# fuzzy (shown in English until reviewed). Fill in their msgstr; `make test` fails while any is missing.
# The dashboard reads the .po files directly: no compile step.
POT := build/venus.pot
I18N_OPTS := --no-wrap
i18n: $(REQ_STAMP)
	@mkdir -p build
	$(VENV)/bin/pybabel extract -F babel.cfg -k N_ --no-location --sort-output --add-comments=TRANSLATORS: \
		--project=venus-finetune --version=0.1.0 --msgid-bugs-address= $(I18N_OPTS) -o $(POT) .
	$(VENV)/bin/pybabel update -i $(POT) -d locale -D venus --ignore-obsolete --ignore-pot-creation-date \
		$(I18N_OPTS)

lint: $(REQ_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(REQ_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: setup
	$(VPY) -m bench.run
	$(VPY) -m bench.token_batches
	$(VPY) -m bench.token_batches --long --out bench/results/token_batches_long.json
	$(VPY) -m bench.browser
	$(VPY) -m bench.explore
	$(VPY) -m bench.scale
	$(VPY) -m bench.attention

# Caches only; runs/, ckpt/ and assets/ are kept.
clean:
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache build *.egg-info

# Everything `make setup` creates: the next setup starts from scratch.
distclean: clean
	rm -rf $(VENV) assets
