# CCHCC hub. Two commands matter: `make serve` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed
# Debian's Chromium; the e2e tests and the audit drive this binary (overridable for the Makefile's own test).
CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser fonts build serve test test-fast bench audit check deploy deploy-check clean

# The virtualenv is rebuilt whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium and poppler (pdftoppm) for browser and PDF tests, and the Noto fonts that print
# the posters' Urdu strapline (fonts-noto-core). Never a downloaded browser or font.
browser:
	@if [ ! -x "$(CHROMIUM)" ] || ! command -v pdftoppm >/dev/null || ! fc-list | grep -q "Noto Naskh Arabic"; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing chromium, poppler-utils and fonts-noto-core with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils fonts-noto-core >/dev/null; \
	  else \
	    echo "Chromium, pdftoppm or the Noto fonts missing: run 'sudo apt-get install chromium poppler-utils fonts-noto-core'"; \
	    [ "$$CI" != "true" ] || exit 1; \
	  fi; \
	fi

# The Noto fonts that print the posters' Urdu strapline (Debian's fonts-noto-core), for `make build`
# and `make serve`; `cchcc build` stops with a clear message if a poster's language has no font.
fonts:
	@if ! fc-list 2>/dev/null | grep -q "Noto Naskh Arabic"; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing fonts-noto-core with apt-get (posters in Urdu)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fontconfig fonts-noto-core >/dev/null; \
	  else \
	    echo "Posters in Urdu need Debian's Noto fonts: run 'sudo apt-get install fonts-noto-core'"; \
	  fi; \
	fi

check: $(STAMP)
	$(BIN)/cchcc check

build: $(STAMP) fonts
	$(BIN)/cchcc build

serve: $(STAMP) fonts
	$(BIN)/cchcc build
	$(BIN)/cchcc serve --port $(PORT)

test: $(STAMP) browser
	$(BIN)/python -m pytest

# Everything but the browser tests, for a quick loop.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e"

bench: $(STAMP)
	$(BIN)/python -m bench

audit: $(STAMP) browser
	$(BIN)/python -m bench.audit

# The AWS SAM CLI, for `make deploy-check` (and `cchcc deploy`): installed once into a cache folder,
# not into .venv, as `make audit` installs Lighthouse.
SAM_DIR := .cache/sam
SAM     := $(SAM_DIR)/bin/sam
$(SAM):
	$(PYTHON) -m venv $(SAM_DIR)
	$(SAM_DIR)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_DIR)/bin/python -m pip install --quiet 'aws-sam-cli>=1.140,<2'

# Everything that can be checked without an AWS account, the SAM CLI's own build included.
deploy-check: $(STAMP) $(SAM) fonts
	$(BIN)/cchcc check
	$(BIN)/cfn-lint infra/template.yaml
	$(BIN)/python -m pytest tests/infra -q
	$(BIN)/cchcc build
	$(BIN)/python -m cchcc.ops.samcheck --sam $(SAM)

deploy: deploy-check
	$(BIN)/cchcc deploy

clean:
	rm -rf build .pytest_cache
