# The two commands of the README:
#   make demo   set up (virtualenv, dependencies, demo data) and run the gateway on the embedded default
#   make test   set up and run the whole test suite (SQLite and PostgreSQL)
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo serve test bench clean chromium pdf-libs

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed") if sys.version_info < (3, 11) else None'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[dev,bench]'
	$(MAKE) --no-print-directory chromium
	$(MAKE) --no-print-directory pdf-libs
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

# Decision letters are rendered to PDF by WeasyPrint, which loads Pango, HarfBuzz and fontconfig from the
# system and needs a font: install Debian's packages when missing, as root; otherwise say how.
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fontconfig fonts-dejavu-core
pdf-libs:
	@if dpkg-query -W -f='$${Status}\n' $(PDF_PACKAGES) 2>/dev/null | grep -qv 'install ok installed'; then missing=1; \
	elif ! dpkg-query -W $(PDF_PACKAGES) >/dev/null 2>&1; then missing=1; else missing=0; fi; \
	if [ $$missing = 0 ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		export DEBIAN_FRONTEND=noninteractive; apt-get install -y --no-install-recommends $(PDF_PACKAGES) || (apt-get update && apt-get install -y --no-install-recommends $(PDF_PACKAGES)); \
	else echo "The PDF letters need Debian's $(PDF_PACKAGES): run 'sudo apt-get install $(PDF_PACKAGES)'."; fi
