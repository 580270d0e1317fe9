# Codex: build, lint, test and run locally. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO     ?= go
GOARCH ?= arm64
# Lambda builds: static, no RPC shim (provided.al2023 uses the Runtime API), reproducible, stripped.
GOBUILD = CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"

# ---------------------------------------------------------------------------------------------------
# One target per function of template.yaml, named build-<LogicalId> as SAM's makefile build method
# expects. SAM sets ARTIFACTS_DIR; `make build` sets it to bin/<LogicalId>.
build-AuthorizerFunction:     ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/authorizer
build-CreateProjectFunction:  ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/create-project
build-ListProjectsFunction:   ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/list-projects
build-CreateKeyFunction:      ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/create-key
build-ListKeysFunction:       ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/list-keys
build-DeleteKeyFunction:      ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/delete-key
build-WhoamiFunction:         ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/whoami
build-CreateCheckoutFunction: ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/create-checkout
build-GetCheckoutFunction:    ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/get-checkout
build-ListCheckoutsFunction:  ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/list-checkouts
build-CreateButtonFunction:   ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/create-button
build-ListButtonsFunction:    ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/list-buttons
build-DeleteButtonFunction:   ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/delete-button
build-PublicGetButtonFunction: ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/public-get-button
build-PublicCreateCheckoutFunction: ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/public-create-checkout
build-PublicGetCheckoutFunction: ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/public-get-checkout

# The function list is read from the targets above, so there is no second list to keep in step.
FUNCTIONS := $(shell sed -n 's/^build-\([A-Za-z0-9]*\):.*/\1/p' $(firstword $(MAKEFILE_LIST)))

.PHONY: help build test lint unit fuzz cfn-lint tidy-check clean

help: ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

build: ## build every function for Lambda (linux/$(GOARCH)) into bin/<LogicalId>/bootstrap
	@set -e; for f in $(FUNCTIONS); do $(MAKE) --no-print-directory build-$$f ARTIFACTS_DIR=$(CURDIR)/bin/$$f; done

test: lint unit fuzz ## lint, every test (each starts and stops its own moto), a short run of every fuzz target

unit:
	$(GO) test -race -count=1 ./...

FUZZTIME ?= 5s
fuzz: ## run every fuzz target for FUZZTIME (default 5s) each
	@set -e; for file in $$(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz'); do \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "fuzz $$target ($$(dirname $$file), $(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) ./$$(dirname $$file); \
	  done; done

lint: cfn-lint tidy-check ## gofmt, go vet, staticcheck, cfn-lint, go mod tidy
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

cfn-lint:
	@command -v cfn-lint >/dev/null || { echo 'cfn-lint is required: pip install cfn-lint'; exit 1; }
	cfn-lint --non-zero-exit-code error template.yaml

tidy-check:
	@$(GO) mod tidy -diff >/dev/null || { echo "go mod tidy would change go.mod/go.sum: run it and commit"; exit 1; }

clean: ## remove build output
	rm -rf bin .aws-sam
