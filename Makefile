# Clicktrail: `make run` brings the pipeline up on this machine, `make test` runs every
# test against a real Pulsar and S3 server (started here when they are not running).
# Everything downloaded or built goes to .cache/ (git-ignored).

SHELL := /bin/bash
# Go 1.26.10: 1.26.8, which these machines start with, has advisories in net/http,
# crypto/tls, crypto/x509 and html/template (make vulncheck). The go command fetches this
# toolchain from the module proxy on first use (about 10 s), whatever GOTOOLCHAIN says
# elsewhere; go.mod names it too.
export GOTOOLCHAIN := go1.26.10
.SHELLFLAGS := -euo pipefail -c
GO ?= go
GOTEST_FLAGS ?= -count=1 -timeout 25m
# Every module of go.work: `./...` alone stops at the root module's packages.
GO_PACKAGES := ./... ./deploy/validate/... ./deploy/demo/e2e/...
# Each fuzz target runs for a number of executions, not a duration: with a duration, Go
# 1.26's fuzz coordinator can report "context deadline exceeded" as a failure when the
# time runs out while a worker is busy (go.dev/issue/75804, fixed in Go 1.27).
FUZZ_EVENTS ?= 100000x
FUZZ_BATCHES ?= 30000x

.PHONY: help run demo up down status provision cluster cluster-down build test test-go test-sdk fuzz lint bench bench-steps chaos chaos-cluster hostile vulncheck images clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

run: ## bring up Pulsar, the S3 server and the pipeline; Ctrl-C stops all it started
	@deploy/local/with-services.sh bash -c '$(GO) run ./deploy/provision/cmd/provision --sources deploy/local/sources.yaml && exec deploy/local/run.sh'

demo: ## make run, plus simulated visitors so the dashboard fills
	@deploy/local/with-services.sh bash -c '$(GO) run ./deploy/provision/cmd/provision --sources deploy/local/sources.yaml && exec deploy/local/run.sh --demo'

up: ## start the local Pulsar and S3 server (fetched on first use)
	@deploy/local/up.sh

down: ## stop the local Pulsar and S3 server started by `make up`
	@deploy/local/down.sh

status: ## say whether the local Pulsar and S3 server run
	@rc=0; deploy/local/pulsar.sh status || rc=1; deploy/local/s3.sh status || rc=1; exit $$rc

provision: ## create tenants, namespaces, topics, subscriptions and the bucket (idempotent)
	@$(GO) run ./deploy/provision/cmd/provision --sources deploy/local/sources.yaml

cluster: ## start a Pulsar cluster on this machine (ZooKeeper, 3 bookies, 2 brokers) and provision it; `make run` keeps the standalone broker
	@deploy/local/cluster.sh start
	@deploy/local/s3.sh ready || deploy/local/s3.sh start
	@env $$(deploy/local/cluster.sh env) $(GO) run ./deploy/provision/cmd/provision --sources deploy/local/sources.yaml
	@echo "cluster: point the services at it with: export $$(deploy/local/cluster.sh env | tr '\n' ' ')"
	@echo "cluster: stop it with make cluster-down (deploy/local/cluster.sh stop); one node: deploy/local/cluster.sh stop|kill|start broker-1"

cluster-down: ## stop the Pulsar cluster of `make cluster`
	@deploy/local/cluster.sh stop

build: ## build the binaries into .cache/bin
	@mkdir -p .cache/bin
	$(GO) build -o .cache/bin/ ./deploy/provision/cmd/provision ./collector/cmd/... ./archiver/cmd/... ./processor/cmd/... ./deploy/simulate/cmd/... ./deploy/demo/cmd/... ./deploy/healthcheck/cmd/...

test: ## run every test; starts Pulsar and the S3 server when they are not running, stops what it started
	@deploy/local/with-services.sh $(MAKE) --no-print-directory test-go fuzz test-sdk

test-go:
	@# Browser tests in Go (the demo's end-to-end test, the dashboard) need Chromium.
	@sdk-js/scripts/ensure-chromium.sh
	$(GO) vet $(GO_PACKAGES)
	$(GO) test $(GOTEST_FLAGS) $(GO_PACKAGES)

test-sdk:
	@sdk-js/scripts/ensure-chromium.sh
	cd sdk-js && npm ci --no-audit --no-fund --loglevel=error
	@# The browser tests relay every batch to a real collector, into the real Pulsar.
	deploy/local/with-collector.sh bash -c 'cd sdk-js && npm test' 

fuzz: ## run each fuzz target briefly
	$(GO) test -run '^$$' -fuzz '^FuzzParseEvent$$' -fuzztime $(FUZZ_EVENTS) ./schemas/
	$(GO) test -run '^$$' -fuzz '^FuzzParseBatch$$' -fuzztime $(FUZZ_BATCHES) ./collector/

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change: $$out"; exit 1; fi
	$(GO) vet $(GO_PACKAGES)

BENCH_DIR := .cache/bench

bench: ## every benchmark and an end-to-end run, then a report against the goals (.cache/bench/report.md)
	@mkdir -p $(BENCH_DIR)
	@rm -f $(BENCH_DIR)/*.txt $(BENCH_DIR)/*.json $(BENCH_DIR)/*.rss_kb $(BENCH_DIR)/*.cpu $(BENCH_DIR)/overload.rss $(BENCH_DIR)/report.md
	-@deploy/local/with-services.sh $(MAKE) --no-print-directory bench-steps
	@$(GO) run ./deploy/bench/cmd/benchreport -dir $(BENCH_DIR) -out $(BENCH_DIR)/report.md

# Each step tees into $(BENCH_DIR); a step that fails shows as "not run" in the report.
bench-steps:
	-$(GO) test -run '^$$' -bench 'BenchmarkParseAndValidate|BenchmarkAppendEvent|BenchmarkBatchHandler|BenchmarkEventsToParquet' -benchmem -count 5 ./schemas/ ./collector/ ./archiver/ | tee $(BENCH_DIR)/go-micro.txt
	-$(GO) test -run '^$$' -bench 'BenchmarkSessionize|BenchmarkSessionizerOnly|BenchmarkMemoryPerOpenSession' -benchmem -count 5 ./processor/ | tee $(BENCH_DIR)/go-processor.txt
	-CLICKTRAIL_BENCH_EVENTS=1000000 $(GO) test -run '^$$' -bench 'BenchmarkBacklog|BenchmarkLatency' -benchtime 1x -timeout 30m ./processor/ | tee $(BENCH_DIR)/processor-backlog.txt
	-CLICKTRAIL_BENCH_EVENTS=1000000 $(GO) test -run '^$$' -bench BenchmarkBacklog -benchtime 1x -timeout 30m ./archiver/ | tee $(BENCH_DIR)/archiver-backlog.txt
	@# Issue 16: 1, 2 and 4 processor processes on one stream of 1,000,000 events (about 210,000 open sessions).
	-CLICKTRAIL_BENCH_EVENTS=1000000 $(GO) test -run '^$$' -bench BenchmarkScaleOut -benchtime 1x -timeout 60m ./processor/ | tee $(BENCH_DIR)/processor-scaleout.txt
	@# Issue 16: a new instance's start after 10,000,000 events of history (two instances build it, the events published no faster than they are acknowledged; -v shows its progress every 30 s).
	-CLICKTRAIL_BENCH_HISTORY=10000000 $(GO) test -run '^$$' -bench BenchmarkStartAfterHistory -benchtime 1x -v -timeout 90m ./processor/ | tee $(BENCH_DIR)/processor-startup.txt
	-$(GO) test -run '^$$' -bench BenchmarkEndToEnd -benchtime 1x -timeout 20m ./deploy/bench/ | tee $(BENCH_DIR)/e2e.txt
	@# The adversarial soak (issue 14): raises its open-file limit itself for the 2,000 slow connections.
	-CLICKTRAIL_SOAK_EVENTS=1000000 $(GO) test -run '^$$' -bench BenchmarkSoak -benchtime 1x -timeout 60m ./deploy/hostile/ | tee $(BENCH_DIR)/soak.txt
	-deploy/local/bench-client.sh | tee $(BENCH_DIR)/go-client.txt
	-deploy/local/bench-collector.sh | tee $(BENCH_DIR)/collector.txt
	-cd sdk-js && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run test:size | tee ../$(BENCH_DIR)/sdk-size.txt

chaos: ## run the fault suite's long profile and print its table
	@deploy/local/with-services.sh env CLICKTRAIL_CHAOS_PROFILE=long $(GO) test -count=1 -v -run TestChaos -timeout 40m ./deploy/chaos/

chaos-cluster: ## run the fault suite's cluster profile (a Pulsar cluster of its own: brokers and a bookie killed, a bundle moved, a partition added) and print its table
	@env CLICKTRAIL_CHAOS_PROFILE=cluster $(GO) test -count=1 -v -run TestChaos -timeout 40m ./deploy/chaos/

hostile: ## run the hostile-input suite's long profile and print its table
	@deploy/local/with-services.sh env CLICKTRAIL_HOSTILE_PROFILE=long $(GO) test -count=1 -v -run TestHostile -timeout 30m ./deploy/hostile/

vulncheck: ## scan the module with govulncheck (its database built from the vulndb module)
	@deploy/local/vulncheck.sh

images: ## build the container images (needs a Docker engine; none on this machine)
	@for t in collector processor archiver provision demo; do docker build -f deploy/Dockerfile --target $$t -t clicktrail/$$t:0.1.0 . ; done

clean: down cluster-down ## stop services (and the cluster) and remove .cache
	rm -rf .cache
