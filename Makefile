# The two commands of the README:
#   make demo   set up (virtualenv, dependencies, demo data) and run the gateway on the embedded default
#   make test   set up and run the whole test suite (SQLite and PostgreSQL)
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo serve test bench clean chromium

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev,bench]'
	$(MAKE) --no-print-directory chromium
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gateway demo
	$(VENV)/bin/gateway serve

serve: $(STAMP)
	$(VENV)/bin/gateway serve

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(VENV)/bin/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache

# The web UI's browser tests drive Debian's Chromium through Playwright (never a browser build of
# Playwright's own): install it when missing, as root; otherwise say how.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; apt-get install -y --no-install-recommends chromium || (apt-get update && apt-get install -y --no-install-recommends chromium); \
	else echo "The browser tests need Debian's chromium: run 'sudo apt-get install chromium' (they fail on CI without it)."; fi
