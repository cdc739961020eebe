# The project's one command surface. `make help` lists the targets.
#
# Python tools live in a project virtualenv ($(VENV)); nothing is taken from the global
# environment. `make test` needs only requirements-test.txt (moto, cfn-lint); build, lint,
# deploy and invoke also need requirements-tools.txt (aws-sam-cli, cargo-lambda, zig).

VENV  ?= .venv
PORT  ?= 8080
STAGE ?= dev
EVENT ?= events/get-service-provider-config.json
# Bearer token and user id substituted into $(EVENT) by `make invoke`.
SCIM_TOKEN ?=
USER_ID ?=
# The function `make invoke` runs: ScimEventsFunction with EVENT=events/dynamodb-stream-audit.json.
FUNCTION ?= ScimFunction

PYTHON ?= python3
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV_BIN := $(abspath $(VENV))/bin
SAM := SAM_CLI_TELEMETRY=0
# `sam validate` needs a region even offline; deploy keeps the caller's profile/samconfig region.
SAM_VALIDATE := $(SAM) AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1}
# sam build shells out to cargo-lambda, which needs zig: put the venv's bin first on PATH.
TOOLS_PATH := PATH=$(VENV_BIN):$$PATH

.PHONY: help venv tools-venv bench-venv browser run test test-scale build lint deploy invoke bench clean distclean

help:
	@echo "make venv        virtualenv with test tools (moto, cfn-lint)"
	@echo "make tools-venv  adds aws-sam-cli, cargo-lambda, zig to the virtualenv"
	@echo "make run         local SCIM server on PORT=$(PORT)"
	@echo "make test        cfn-lint + Rust tests against a private moto server"
	@echo "make test-scale  50,000-member group and 10,001-member response bound on moto (minutes)"
	@echo "make build       release arm64 Lambda bootstrap (cargo lambda)"
	@echo "make lint        rustfmt, clippy, cfn-lint, sam validate --lint"
	@echo "make deploy      sam build + sam deploy --config-env STAGE=$(STAGE)"
	@echo "make invoke      sam local invoke ScimFunction -e EVENT SCIM_TOKEN=... [USER_ID=...] (needs Docker)"
	@echo "make smoke       SCIM lifecycle check against SCIM_URL=... SCIM_TOKEN=..."
	@echo "make bench       handler, load, cold start, size (+ DynamoDB cost) reports; see BENCHMARKS.md"
	@echo "make clean       remove build outputs; distclean also removes $(VENV)"

# --- virtualenvs (stamp files: reinstall only when a requirements file changes) ---

venv: $(VENV)/.test-stamp
tools-venv: $(VENV)/.tools-stamp
bench-venv: $(VENV)/.bench-stamp

$(VENV)/.test-stamp: requirements-test.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
	touch $@

# Same virtualenv, installed after the test tools so pip resolves one consistent set.
$(VENV)/.tools-stamp: requirements-tools.txt $(VENV)/.test-stamp
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-tools.txt
	touch $@

# The peer server of `make bench` (scim2-server from PyPI).
$(VENV)/.bench-stamp: requirements-bench.txt $(VENV)/.test-stamp
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-bench.txt
	touch $@

# The admin page's browser test (tests/it/admin_browser.rs) drives Debian's headless Chromium
# over WebDriver. Installed once, as root, when missing; nothing to stop afterwards (the test
# starts and ends chromedriver itself).
browser:
	@if ! command -v chromedriver >/dev/null 2>&1 || \
	   ! { command -v chromium || command -v chromium-browser || command -v google-chrome; } >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	  else \
	    echo "the browser test needs chromium and chromium-driver: run 'sudo apt-get install chromium chromium-driver'" >&2; exit 1; \
	  fi; \
	fi

# --- development ---

run:
	PORT=$(PORT) cargo run --profile local --bin scim-local

# Fresh machine: only the test venv (no SAM, no cargo-lambda). Doc tests are not run:
# nextest does not support them and the crate does not rely on them.
# The whole suite: template lint (cfn-lint and SAM's own validation), the CI workflow's schema,
# then every Rust test against a private moto server that with_moto.sh starts and stops.
test: venv tools-venv browser
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_VALIDATE) $(VENV)/bin/sam validate --lint
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	if cargo nextest --version >/dev/null 2>&1; then \
	  VENV=$(VENV) tests/tools/with_moto.sh cargo nextest run --no-fail-fast; \
	else \
	  VENV=$(VENV) tests/tools/with_moto.sh cargo test --no-fail-fast; \
	fi

# Not part of `make test`: builds a 50,000-member group through PATCHes of 1,000 on moto, and runs
# the 10,001-member response-bound scenario on DynamoDB. Minutes, mostly moto's; prints timings.
test-scale: venv
	VENV=$(VENV) tests/tools/with_moto.sh cargo test --release --test it -- --ignored --nocapture groups_scale:: groups_api:: email_lookup::scale_

build: tools-venv
	$(TOOLS_PATH) cargo lambda build --release --arm64 --bin bootstrap

lint: venv tools-venv
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_VALIDATE) $(VENV)/bin/sam validate --lint

# Everything on this machine, no AWS; reports only, never fails on a time (BENCHMARKS.md).
# cold start and size need cargo-lambda (+ zig) in $(VENV) and say "skipped" without them.
bench: venv tools-venv bench-venv
	@echo "== handler cost (criterion, embedded store) =="
	cargo bench --bench handler
	@echo "== local server under load (make run's build: --profile local), and the peer side by side =="
	LOAD_PEER=$(VENV_BIN)/scim2-server cargo bench --profile local --bench load
	@echo "== cold start and Lambda RSS (cargo lambda watch) =="
	cargo build --release --bin bootstrap --example hello_lambda
	CARGO_LAMBDA=$(VENV_BIN)/cargo-lambda cargo bench --bench coldstart
	@echo "== size of the stripped arm64 bootstrap =="
	VENV=$(VENV) tests/tools/bench_size.sh
	@echo "== DynamoDB round trips and capacity (moto) =="
	VENV=$(VENV) tests/tools/with_moto.sh cargo bench --bench dynamo_cost

# --- AWS ---

deploy: tools-venv
	@if [ ! -f samconfig.toml ]; then \
	  echo "samconfig.toml not found: run once '$(VENV)/bin/sam deploy --guided --config-env $(STAGE)' to create it"; \
	  exit 1; \
	fi
	$(SAM) $(TOOLS_PATH) sam build --config-env $(STAGE)
	$(SAM) $(TOOLS_PATH) sam deploy --config-env $(STAGE)

# Self-cleaning user lifecycle (tests/tools/smoke.py, standard library only) against a deployed or
# local base URL. The token reaches the script through the environment only (exported at the end
# of this file): make never echoes it and it is not on the script's command line.
.PHONY: smoke
export SCIM_URL
smoke:
	@if [ -z "$${SCIM_URL:-}" ] || [ -z "$${SCIM_TOKEN:-}" ]; then \
	  echo "usage: make smoke SCIM_URL=https://<api>/scim/v2 SCIM_TOKEN=<tenant bearer token>" >&2; \
	  exit 2; \
	fi
	@$(PYTHON) tests/tools/smoke.py

# Needs a container runtime (sam local). The event's placeholders are replaced in a copy.
invoke: tools-venv
	@if [ "$(FUNCTION)" = ScimFunction ] && [ -z "$$SCIM_TOKEN" ]; then echo "usage: make invoke SCIM_TOKEN=<tenant bearer token> [EVENT=$(EVENT)] [USER_ID=<id>]"; exit 2; fi
	mkdir -p target
	@esc() { printf '%s' "$$1" | sed -e 's/[\\&|]/\\&/g'; }; \
	  sed -e "s|SCIM_TOKEN_PLACEHOLDER|$$(esc "$$SCIM_TOKEN")|g" \
	      -e "$${USER_ID:+s|USER_ID_PLACEHOLDER|$$(esc "$$USER_ID")|g}" \
	      $(EVENT) > target/invoke-event.json
	$(SAM) $(TOOLS_PATH) sam build
	$(SAM) $(TOOLS_PATH) sam local invoke $(FUNCTION) -e target/invoke-event.json

clean:
	cargo clean
	rm -rf .aws-sam

distclean: clean
	rm -rf $(VENV)

# Token and user id reach the recipes through the environment (not make expansion),
# so characters such as $ ' " survive.
export SCIM_TOKEN USER_ID
