# The front door: `make help` lists what you can do.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help

MODULES := $(shell go list -m -f '{{.Dir}}' 2>/dev/null)
GO_PKGS := $(addsuffix /...,$(MODULES))
FUZZTIME ?= 30s

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

REGIONS ?= $(or $(HYBRID_REGIONS),1)

SEED ?= $(HYBRID_SEED)

.PHONY: up
up: ## bring up Cassandra, the schema and every service locally (logs in .run/logs); REGIONS=2: two instances over a two-datacenter Cassandra; SEED=DIR: then apply an Apigee workspace folder (docs/SEED_FOLDERS.md)
	@HYBRID_REGIONS=$(REGIONS) HYBRID_SEED=$(SEED) scripts/up.sh

.PHONY: down
down: ## stop every service and Cassandra
	@scripts/down.sh

.PHONY: logs
logs: ## follow every local service's log, each line prefixed with its service (SVC=runtime for one)
	@go run ./cmd/hybridctl logs -f $(SVC)

.PHONY: status
status: ## show each local service's readiness
	@go run ./cmd/hybridctl status

SERVICES := controlplane synchronizer runtime mart udca watcher connect-agent telemetry
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE_REGISTRY ?= hybrid

.PHONY: images
images: ## build one container image per service, tagged $(IMAGE_REGISTRY)/<service>:$(VERSION) (needs Docker)
	@created=$$(date -u +%Y-%m-%dT%H:%M:%SZ); for s in $(SERVICES); do \
	  docker build --build-arg SERVICE=$$s --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
	    --build-arg CREATED=$$created -t $(IMAGE_REGISTRY)/$$s:$(VERSION) . || exit 1; done

.PHONY: build
build: ## build every module
	go build $(GO_PKGS)

.PHONY: vet
vet: ## go vet every module
	go vet -tags integration,bench $(GO_PKGS)

.PHONY: lint
lint: vet ## gofmt check + go vet
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

.PHONY: test
test: ## unit, integration and end-to-end tests against a real Cassandra
	@scripts/test.sh

.PHONY: test-unit
test-unit: ## unit tests only: no Cassandra, no e2e (integration tests carry the `integration` build tag)
	go test $(filter-out %/e2e/...,$(GO_PKGS))

.PHONY: fuzz
fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	go test ./pkg/bundle -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)
	go test ./pkg/condition -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/xslt -run '^$$' -fuzz FuzzCompile -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/xslt -run '^$$' -fuzz FuzzXPath -fuzztime $(FUZZTIME)
	go test ./pkg/bundle -run '^$$' -fuzz '^FuzzParseProperties$$' -fuzztime $(FUZZTIME)
	go test ./pkg/bundle -run '^$$' -fuzz '^FuzzBundleFiles$$' -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/mp -run '^$$' -fuzz '^FuzzFramingConn$$' -fuzztime $(FUZZTIME)
	go test ./pkg/analyticsfile -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/jsonpath -run '^$$' -fuzz '^FuzzCompile$$' -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/policy/oasvalidation -run '^$$' -fuzz '^FuzzCompileSpec$$' -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/policy/oasvalidation -run '^$$' -fuzz '^FuzzValidateRequest$$' -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/policy/cache -run '^$$' -fuzz '^FuzzDecodeResponse$$' -fuzztime $(FUZZTIME)
	go test ./services/runtime/internal/policy/cache -run '^$$' -fuzz '^FuzzParseCacheControl$$' -fuzztime $(FUZZTIME)
	go test ./pkg/lenientjson -run '^$$' -fuzz '^FuzzUnmarshal$$' -fuzztime $(FUZZTIME)
	go test ./services/controlplane/internal/monitoring -run '^$$' -fuzz '^FuzzParseFilter$$' -fuzztime $(FUZZTIME)
	go test ./services/controlplane/internal/logging -run '^$$' -fuzz '^FuzzParseFilter$$' -fuzztime $(FUZZTIME)
	go test ./pkg/workspace -run '^$$' -fuzz '^FuzzParseZip$$' -fuzztime $(FUZZTIME)
	go test ./pkg/workspace -run '^$$' -fuzz '^FuzzWorkspaceFiles$$' -fuzztime $(FUZZTIME)
	go test ./pkg/lint -run '^$$' -fuzz '^FuzzZip$$' -fuzztime $(FUZZTIME)
	go test ./pkg/lint -run '^$$' -fuzz '^FuzzNeverTrueIsSound$$' -fuzztime $(FUZZTIME)

.PHONY: oracle
oracle: ## check the XSLT golden files against Saxon-HE, the JSONPath golden table against Jayway JsonPath (Maven Central; needs a JDK and mvn) and the lint rules against apigeelint (npm)
	@scripts/oracle.sh
	@scripts/oracle-jayway.sh
	@scripts/oracle-apigeelint.sh

.PHONY: bench
bench: ## deploy latency, gateway throughput vs a bare reverse proxy, analytics on vs off (see docs/BENCHMARKS.md)
	@scripts/bench.sh

# Code generation for proto/: buf and the protoc plugins, pinned, installed
# as Go modules into .run/tools (no protoc download needed).
BUF_VERSION := v1.75.0
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
TOOLS := $(CURDIR)/.run/tools

.PHONY: proto
proto: ## regenerate proto/'s Go code with pinned buf, protoc-gen-go and protoc-gen-go-grpc (generated code is committed)
	GOBIN=$(TOOLS) go install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
	GOBIN=$(TOOLS) go install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	GOBIN=$(TOOLS) go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	cd proto && PATH=$(TOOLS):$$PATH buf lint && PATH=$(TOOLS):$$PATH buf generate

.PHONY: cassandra-start
cassandra-start: ## start only Cassandra (fetched from Maven Central on first use)
	@scripts/cassandra.sh start

.PHONY: cassandra-stop
cassandra-stop: ## stop only Cassandra
	@scripts/cassandra.sh stop

.PHONY: clean
clean: ## stop everything and delete .run (the Cassandra download cache is kept)
	-@scripts/down.sh
	rm -rf .run
