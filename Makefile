# Every target builds the virtual environment it needs from the pinned requirement files.
PYTHON_VERSION := 3.13.0
PY313 := $(shell PYENV_VERSION=$(PYTHON_VERSION) pyenv which python 2>/dev/null || command -v python3.13)
VENV := .venv
BIN := $(VENV)/bin
PROFILE ?= default
SEED ?= 0
ARTIFACT ?= artifacts/model

SAM_VENV := .venv-sam
HOST ?= 127.0.0.1
PORT ?= 8000
EVENT ?= events/predict-v2.json

ARCH ?= x86_64
STACK ?= wdbc-classifier

.PHONY: run serve train test check lint typecheck invoke local-api sam-venv sam-build deploy delete smoke bench clean lock client-python client-typescript sbom

$(BIN)/.installed: requirements.txt requirements-train.txt requirements-dev.txt
	@test -n "$(PY313)" || { echo "Python $(PYTHON_VERSION) not found (pyenv install $(PYTHON_VERSION))"; exit 1; }
	$(PY313) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed

## aws-sam-cli pins old boto3 and click: it lives in its own environment (it also ships the Lambda emulator).
$(SAM_VENV)/bin/.installed: requirements-sam.txt
	$(PY313) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt
	touch $@

sam-venv: $(SAM_VENV)/bin/.installed

CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/bin/.installed: requirements-checkov.txt
	$(PY313) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

## Clients we do not ship, which the tests use unchanged: KServe's SDK, the Open Inference Protocol's
## generated client, openapi-python-client; and the TypeScript toolchain (locked in its package-lock.json).
CLIENTS_VENV := .venv-clients
$(CLIENTS_VENV)/bin/.installed: requirements-clients.txt
	$(PY313) -m venv $(CLIENTS_VENV)
	$(CLIENTS_VENV)/bin/pip install --quiet -r requirements-clients.txt
	touch $@

TS_CLIENT := tests/clients/typescript
$(TS_CLIENT)/node_modules/.installed: $(TS_CLIENT)/package-lock.json
	npm ci --prefix $(TS_CLIENT) --no-audit --no-fund --ignore-scripts
	touch $@

## A client of a running API for front-end developers, from its /openapi.json (API: its base URL).
API ?= http://$(HOST):$(PORT)
client-python: $(CLIENTS_VENV)/bin/.installed | $(BIN)/.installed
	mkdir -p build/clients && cd build/clients && PATH="$(CURDIR)/$(BIN):$$PATH" \
		$(CURDIR)/$(CLIENTS_VENV)/bin/openapi-python-client generate --url $(API)/openapi.json --overwrite

client-typescript: $(TS_CLIENT)/node_modules/.installed
	mkdir -p build/clients/typescript
	$(TS_CLIENT)/node_modules/.bin/openapi-typescript $(API)/openapi.json --default-non-nullable false \
		-o build/clients/typescript/schema.d.ts

## The main job: train with the default profile unless an artifact of the current format exists (an older
## format, after a pull that bumps it, is trained again, saying so), then serve the API locally.
run: | $(BIN)/.installed
	$(BIN)/python -m training --profile $(PROFILE) --seed $(SEED) --out $(ARTIFACT) --if-outdated
	@$(MAKE) --no-print-directory serve

serve: $(ARTIFACT)/manifest.json
	@echo "model artifact: $(ARTIFACT)/ (metrics: $(ARTIFACT)/metrics.json, report: $(ARTIFACT)/report/report.html, card: $(ARTIFACT)/MODEL_CARD.md)"
	@echo "serving the API at http://$(HOST):$(PORT)/ (docs: http://$(HOST):$(PORT)/docs); Ctrl-C stops"
	MODEL_DIR=$(ARTIFACT) $(BIN)/uvicorn handler.lambda_function:app --host $(HOST) --port $(PORT) --no-access-log

## One event through the built stack: `sam local invoke` in Docker when a daemon runs or can be started
## (the python3.13 base image pulled, or its stand-in built: local/base_image.py), else the emulator runner.
invoke: $(ARTIFACT)/manifest.json $(SAM_VENV)/bin/.installed
	$(BIN)/python -m local.sam invoke $(EVENT) --model $(ARTIFACT) --arch $(ARCH)

## Every route of the template served by `sam local start-api` at http://127.0.0.1:$(LOCAL_API_PORT) (Docker).
LOCAL_API_PORT ?= 3000
local-api: $(ARTIFACT)/manifest.json $(SAM_VENV)/bin/.installed /usr/sbin/dockerd /usr/sbin/debootstrap
	$(BIN)/python -m local.sam start-api --model $(ARTIFACT) --arch $(ARCH) --port $(LOCAL_API_PORT)

$(ARTIFACT)/manifest.json: | $(BIN)/.installed
	$(BIN)/python -m training --profile $(PROFILE) --seed $(SEED) --out $(ARTIFACT)

## Retrain even if an artifact exists. A profile other than default writes beside the served model
## (artifacts/model-quick, artifacts/model-full) unless ARTIFACT names the directory.
TRAIN_OUT := $(if $(filter default,$(PROFILE))$(filter command line,$(origin ARTIFACT)),$(ARTIFACT),artifacts/model-$(PROFILE))
train: $(BIN)/.installed
	$(BIN)/python -m training --profile $(PROFILE) --seed $(SEED) --out $(TRAIN_OUT)

## `sam build` runs these (BuildMethod: makefile, in source); ARTIFACTS_DIR is where SAM wants the result.
build-ClassifierFunction: | $(BIN)/.installed
	$(BIN)/python -m infra.build function --out "$(ARTIFACTS_DIR)"

build-DependenciesLayer: | $(BIN)/.installed
	$(BIN)/python -m infra.build deps --arch $(ARCH) --out "$(ARTIFACTS_DIR)"

## The pre-traffic hook: one module and the core's standard-library release check; nothing beyond the runtime's boto3.
build-PreTrafficHookFunction: | $(BIN)/.installed
	$(BIN)/python -m infra.build hook --out "$(ARTIFACTS_DIR)"

build-ModelLayer: $(ARTIFACT)/manifest.json
	$(BIN)/python -m infra.package $(ARTIFACT) --out "$(ARTIFACTS_DIR)"

## Build function and layers into .aws-sam/build without Docker (ARCH=x86_64|arm64).
sam-build: $(SAM_VENV)/bin/.installed $(ARTIFACT)/manifest.json
	$(SAM_VENV)/bin/sam build --build-in-source
	$(BIN)/python -m infra.sbom --build .aws-sam/build --out build/sbom.cdx.json

## The CycloneDX SBOM of what is deployed (function, dependencies layer, model layer), from a fresh build.
sbom: sam-build

## The dependencies layer's lock: every distribution, transitive ones included, with its hashes.
lock: $(BIN)/.installed
	$(BIN)/uv pip compile requirements.txt --generate-hashes --universal --python-version 3.13 \
		--custom-compile-command "make lock" -o requirements.lock

## Build, then deploy through CodeDeploy's canary with the model version recorded; guided the first time.
deploy: sam-build
	$(BIN)/python -m infra.deploy --sam $(SAM_VENV)/bin/sam --artifact $(ARTIFACT)

## The stack, then (after asking) the model layer versions it retained.
delete: $(SAM_VENV)/bin/.installed | $(BIN)/.installed
	$(BIN)/python -m infra.teardown --stack $(STACK) --sam $(SAM_VENV)/bin/sam

## Check the deployed API over HTTPS, check by check (SIGV4=1 signs the requests for AuthMode=AWS_IAM).
smoke: | $(BIN)/.installed
	$(BIN)/python -m infra.smoke --stack $(STACK) $(if $(SIGV4),--sigv4,)

## Every benchmark in one run: a table on screen, JSON in build/bench/results.json.
bench: $(ARTIFACT)/manifest.json $(SAM_VENV)/bin/.installed
	$(BIN)/python -m benchmarks --model $(ARTIFACT) --out build/bench --runs 9

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

## Debian's Chromium for the browser tests (Playwright drives it; no browser download).
/usr/bin/chromium:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

## Debian's Docker engine, debootstrap (the base image's stand-in) and qemu-user (arm64), for `sam local`.
/usr/sbin/dockerd:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io

/usr/sbin/debootstrap:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap

/usr/bin/qemu-aarch64-static:
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user-static binfmt-support

## The everyday loop (about 2 minutes): lint, types and every test that needs no Docker, browser, SAM CLI,
## clients' environment or root, nor runs for long (the markers in pyproject.toml). `make test` runs them all.
CHECK_MARKERS := not (docker or browser or sam or clients or slow)
check: lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadfile -q -m "$(CHECK_MARKERS)"

## All tests: lint, types, then every test layer, with a Docker daemon (started here if none runs, stopped after).
test: lint typecheck $(SAM_VENV)/bin/.installed $(CHECKOV_VENV)/bin/.installed $(CLIENTS_VENV)/bin/.installed \
		$(TS_CLIENT)/node_modules/.installed /usr/bin/chromium /usr/sbin/dockerd /usr/sbin/debootstrap \
		/usr/bin/qemu-aarch64-static
	$(BIN)/python -m local.docker $(BIN)/python -m pytest -n 2 --dist loadfile

## Everything the commands made but the trained artifacts (artifacts/ is kept: remove it by hand).
clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(CLIENTS_VENV) $(TS_CLIENT)/node_modules build .aws-sam .pytest_cache .mypy_cache .ruff_cache test-artifacts
