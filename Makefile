# CCHCC hub. Two commands matter: `make serve` and `make test`. Both install what they need.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed
# Debian's Chromium; the e2e tests and the audit drive this binary (overridable for the Makefile's own test).
CHROMIUM ?= /usr/bin/chromium

.PHONY: install browser fonts build serve edit test test-fast bench fuzz audit check deploy deploy-check clean

# The virtualenv is rebuilt whenever pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The browser editor (/admin/): Decap CMS and its local backend from the npm registry, exactly as
# package-lock.json pins them, and its bundle (site/admin/build.mjs). Node.js 20+ and npm needed.
NODE_STAMP := node_modules/.installed
ADMIN      := node_modules/.cchcc-admin/cms.js
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20 or later (it brings npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

$(ADMIN): $(NODE_STAMP) site/admin/build.mjs $(wildcard site/admin/src/*)
	npm run --silent build:admin

install: $(STAMP) $(ADMIN)

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

# The hub with the browser editor at http://127.0.0.1:8000/admin/ (docs/publishing.md): saves are
# checked as `cchcc check` does, written into this checkout, and the site is rebuilt after each.
edit: $(STAMP) $(ADMIN)
	$(BIN)/cchcc build
	$(BIN)/cchcc serve --edit --port $(PORT)

test: $(STAMP) $(ADMIN) browser
	$(BIN)/python -m pytest

# Everything but the browser tests, for a quick loop.
test-fast: $(STAMP) $(ADMIN)
	$(BIN)/python -m pytest -m "not e2e"

bench: $(STAMP)
	$(BIN)/python -m bench

# The long fuzz run: at least 10,000 requests against the local stack (tests run a bounded one).
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/unit/test_web_decode.py -k "any or readable"
	$(BIN)/python -m bench fuzz

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
deploy-check: $(STAMP) $(ADMIN) $(SAM) fonts
	$(BIN)/cchcc check
	$(BIN)/cfn-lint infra/template.yaml infra/github-deploy.yaml
	$(BIN)/python -m pytest tests/infra -q
	$(BIN)/cchcc build
	$(BIN)/python -m cchcc.ops.samcheck --sam $(SAM)

# DEPLOY_ARGS: what the pipeline adds (.github/workflows/ci.yml): --no-confirm, the CloudFormation
# role and the artifacts bucket of infra/github-deploy.yaml. The SAM CLI comes from .cache/sam.
deploy: deploy-check
	PATH="$(CURDIR)/$(SAM_DIR)/bin:$$PATH" $(BIN)/cchcc deploy $(DEPLOY_ARGS)

clean:
	rm -rf build .pytest_cache
