# Codex: build, lint, test and run locally. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO     ?= go
# Lambda's platform, linux/arm64 as template.yaml deploys it. make dev and make bench pass this
# machine's on the command line to run the same bootstraps locally (on macOS too). Not GOOS and
# GOARCH themselves: a GOARCH exported in your shell must not change what sam build deploys.
BUILD_GOOS   ?= linux
BUILD_GOARCH ?= arm64
# Lambda builds: static, no RPC shim (provided.al2023 uses the Runtime API), reproducible, stripped.
GOBUILD = CGO_ENABLED=0 GOOS=$(BUILD_GOOS) GOARCH=$(BUILD_GOARCH) $(GO) build -tags lambda.norpc -trimpath -ldflags="-s -w"

# ---------------------------------------------------------------------------------------------------
# build-<LogicalId> builds a function of template.yaml, as SAM's makefile build method runs it (SAM
# sets ARTIFACTS_DIR; `make build` sets it to bin/<LogicalId>). The code is functions/<name>, the
# logical id without "Function" in kebab case: CreateCheckoutFunction is functions/create-checkout.
function_dir = $(shell echo '$(1)' | sed -E 's/Function$$//; s/([a-z0-9])([A-Z])/\1-\2/g' | tr '[:upper:]' '[:lower:]')
build-%: ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(call function_dir,$*)

# The functions are the AWS::Serverless::Function resources of template.yaml, its one list of them;
# infra/checks checks that this reads the same list as the template's parser.
FUNCTIONS := $(shell awk '/^  [A-Za-z0-9]+:$$/ { id = substr($$1, 1, length($$1) - 1) } \
  /^    Type: AWS::Serverless::Function$$/ { print id }' $(dir $(firstword $(MAKEFILE_LIST)))template.yaml)

.PHONY: help build functions test lint unit fuzz cfn-lint cfn-lint-version tidy-check clean browser-deps

# make dev / make dev-token: the local stack (infra/devstack). DEV_STATE holds its lock and
# stack.json; make dev-token finds the running stack there. The bootstraps it runs (for this
# machine's OS and architecture, not Lambda's linux/arm64) are built once per state of the source
# under .dev/bin/functions and shared with the end-to-end tests. DEV_ADDR off loopback needs
# DEV_FLAGS=-allow-non-loopback. Each HttpApi of the template gets its own port, from DEV_ADDR's upwards in
# order of logical id. USER names the local user only when given on the command line, so that the
# login name in the environment's USER is not picked up.
.PHONY: dev dev-token dev-listen
DEV_ADDR  ?= 127.0.0.1:3000
DEV_FLAGS ?=
DEV_STATE ?= $(CURDIR)/.dev
DEV_USER   = $(if $(filter command line,$(origin USER)),$(USER),alice)
# Built under a temporary name and renamed: a running `make dev` keeps its binary, and a second one
# reaches the "already running" check instead of failing to overwrite it.
DEV_BIN    = $(DEV_STATE)/bin/dev
DEV_BUILD  = mkdir -p $(DEV_STATE)/bin && tmp=$(DEV_BIN).$$$$ && $(GO) build -o $$tmp ./infra/dev && mv -f $$tmp $(DEV_BIN)

help: ## list the targets
	@grep -E '^[a-z][a-z-]*:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

build: ## build every function for Lambda (linux/arm64) into bin/<LogicalId>/bootstrap
	@set -e; for f in $(FUNCTIONS); do $(MAKE) --no-print-directory build-$$f ARTIFACTS_DIR=$(CURDIR)/bin/$$f; done

# The function list, for infra/checks.
functions: ; @echo $(FUNCTIONS)

test: browser-deps lint unit fuzz ## lint, every test (each starts and stops its own moto), a short run of every fuzz target

unit: web-deps browser-deps
	$(GO) test -race -count=1 ./...

# The browser tests (e2e/browser, e2e/buyer, the dashboard's) run Debian's chromium at that path,
# and inject axe-core from web/node_modules (web-deps installs it). .ci/run installs chromium when
# it is missing; make test only checks, before anything else runs.
CHROMIUM := /usr/bin/chromium
browser-deps:
	@[ -x "$(CHROMIUM)" ] || { echo "the browser tests need Chromium at $(CHROMIUM): install Debian's package chromium (apt-get install -y chromium)"; exit 1; }

# A count, not a duration: with a duration Go 1.26 can fail a target with a spurious "context
# deadline exceeded" as the time runs out (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 50000x
fuzz: ## run every fuzz target for FUZZTIME (default 50000x: executions) each
	@files=$$(git ls-files --cached --others --exclude-standard '*_test.go' | xargs grep -l '^func Fuzz'); \
	  [ -n "$$files" ] || { echo "fuzz: no fuzz targets found (is this a git checkout?)"; exit 1; }; \
	  set -e; for file in $$files; do \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "fuzz $$target ($$(dirname $$file), $(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) ./$$(dirname $$file); \
	  done; done

lint: cfn-lint tidy-check typecheck ## gofmt, go vet, staticcheck, cfn-lint, go mod tidy, tsc
	@files=$$(git ls-files --cached --others --exclude-standard '*.go'); \
	  [ -n "$$files" ] || { echo "lint: no Go files found (is this a git checkout?)"; exit 1; }; \
	  out=$$(gofmt -l $$files); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./... # make dev runs on macOS laptops too: keep it compiling there
	$(GO) tool staticcheck ./...

# The cfn-lint release the template is checked with: another one may report other findings, so it
# is refused with the command that installs this one (.ci/run reads the version from here).
CFN_LINT_VERSION := 1.51.0
cfn-lint: cfn-lint-version
	cfn-lint --non-zero-exit-code error template.yaml infra/waf/webacl.yaml

cfn-lint-version:
	@command -v cfn-lint >/dev/null || { echo 'cfn-lint is required: pip install "cfn-lint==$(CFN_LINT_VERSION)"'; exit 1; }
	@v=$$(cfn-lint --version) && [ "$$v" = "cfn-lint $(CFN_LINT_VERSION)" ] || \
	  { echo "cfn-lint $(CFN_LINT_VERSION) is required, found $${v#cfn-lint }: pip install \"cfn-lint==$(CFN_LINT_VERSION)\""; exit 1; }; \
	  echo "$$v"

tidy-check:
	@$(GO) mod tidy -diff >/dev/null || { echo "go mod tidy would change go.mod/go.sum: run it and commit"; exit 1; }

dev: web-deps ## the whole API and the dashboard on http://$(DEV_ADDR), on local AWS (moto), until Ctrl-C
	@$(DEV_BUILD)
	@exec $(DEV_BIN) serve -addr $(DEV_ADDR) -state $(DEV_STATE) $(DEV_FLAGS)

dev-token: ## print an ID token for USER (default alice) of the running make dev
	@$(DEV_BUILD)
	@$(DEV_BIN) token -user $(DEV_USER) -state $(DEV_STATE)

# The dashboard (web/, docs/dashboard.md): its npm packages come from the committed lockfile only
# (npm ci), reinstalled when package.json or the lockfile changes; infra/dashboard bundles it with
# esbuild's Go API, so make dev and the tests build it themselves. make web writes the static files
# a deploy uploads (the deploy adds /config.json).
.PHONY: web web-deps typecheck
WEB_STAMP := web/node_modules/.package-lock.json
web-deps: $(WEB_STAMP)
$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20 or newer) is required for the dashboard"; exit 1; }
	cd web && npm ci --no-audit --no-fund
	@touch $@

web: web-deps ## build the dashboard's static files into web/dist
	$(GO) run ./infra/dev web -o web/dist

typecheck: web-deps
	cd web && ./node_modules/.bin/tsc --noEmit -p .

# make deploy-site: after `sam deploy`, the dashboard into the stack's SiteBucket (docs/site.md).
# STACK is the deployed stack (samconfig.toml's stack_name: codex-dev, or codex-prod); the AWS CLI
# reads the usual credentials and region. Hashed assets are immutable; index.html and config.json
# are revalidated on every load, and the distribution's copies of them are invalidated. Old assets
# stay: a tab still running the previous index.html keeps loading its own.
.PHONY: deploy-site
STACK ?= codex-dev
SITE_OUT = aws cloudformation describe-stacks --stack-name $(STACK) --query "Stacks[0].Outputs[?OutputKey=='$(1)'].OutputValue" --output text
deploy-site: web-deps ## upload the dashboard to the deployed stack STACK (default codex-dev)
	@set -euo pipefail; command -v aws >/dev/null || { echo "deploy-site needs the AWS CLI"; exit 1; }; \
	  bucket=$$($(call SITE_OUT,SiteBucketName)); dist=$$($(call SITE_OUT,SiteDistributionId)); \
	  url=$$($(call SITE_OUT,DashboardUrl)); pool=$$($(call SITE_OUT,UserPoolId)); \
	  client=$$($(call SITE_OUT,UserPoolClientId)); region=$${pool%%_*}; \
	  [ -n "$$bucket" ] && [ "$$bucket" != None ] || { echo "stack $(STACK) has no SiteBucketName output: sam deploy first"; exit 1; }; \
	  rm -rf .dev/site && $(GO) run ./infra/dev web -o .dev/site -region $$region -user-pool-id $$pool \
	    -client-id $$client -public-origin $$url; \
	  aws s3 sync .dev/site/assets s3://$$bucket/assets --cache-control 'public, max-age=31536000, immutable'; \
	  aws s3 cp .dev/site/config.json s3://$$bucket/config.json --cache-control 'no-cache' --content-type application/json; \
	  aws s3 cp .dev/site/index.html s3://$$bucket/index.html --cache-control 'no-cache' --content-type 'text/html; charset=utf-8'; \
	  aws cloudfront create-invalidation --distribution-id $$dist --paths /index.html /config.json >/dev/null; \
	  echo "dashboard deployed: $$url"
dev-listen: ## receive the running make dev's webhooks here and print each, verified (PROJECT=prj_... optional)
	@$(DEV_BUILD)
	@$(DEV_BIN) listen -user $(DEV_USER) -state $(DEV_STATE) $(if $(PROJECT),-project $(PROJECT)) $(if $(LISTEN_ADDR),-addr $(LISTEN_ADDR))

# make sam-env: sam local's --env-vars file, from the running make dev's stack.json and template.yaml
# (docs/sam-local.md). samconfig.toml names .dev/sam-env.json. SAM_HOST is this machine's loopback
# as sam local's containers see it: host.docker.internal (default, Docker Desktop) or 127.0.0.1
# (default on Linux, with sam local --docker-network host).
.PHONY: sam-env
SAM_ENV  ?= $(DEV_STATE)/sam-env.json
SAM_HOST ?=
sam-env: ## write sam local's --env-vars file (.dev/sam-env.json) from the running make dev
	@$(DEV_BUILD)
	@$(DEV_BIN) sam-env -state $(DEV_STATE) -o $(SAM_ENV) $(if $(SAM_HOST),-host $(SAM_HOST))

# make bench: infra/bench builds, starts, measures and stops everything itself, and prints one table
# (see the README's "Benchmarks"). bench-hello builds its baseline, a hello-world aws-lambda-go
# bootstrap, with exactly the functions' build command; it is not a function of the template.
.PHONY: bench bench-hello
BENCH_FLAGS ?=
bench: ## sizes, cold starts, authorizer cost, warm latency vs floor, capacity, webhooks: one table
	@$(GO) run ./infra/bench -root $(CURDIR) $(BENCH_FLAGS)

bench-hello: ; $(GOBUILD) -o $(ARTIFACTS_DIR)/bootstrap ./infra/bench/hello

# Not .dev: a running make dev holds its lock there, and removing it would let a second one start.
clean: ## remove build output
	rm -rf bin .aws-sam
