# kubeburst. `make demo` and `make test` are the two commands a newcomer runs; both install
# what they need (npm packages, Debian packages, the Kubernetes binaries) on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := deps

K8S_VERSION ?= v1.37.2
HELM_VERSION ?= v3.22.0
NPM_STAMP := node_modules/.kubeburst-install-stamp
# Unit tests sit next to the code; integration and end-to-end tests run on the local cloud.
UNIT_TESTS := "src/**/*.test.ts" "bench/**/*.test.ts"
CLOUD_TESTS := "test/integration/**/*.test.ts" "test/e2e/**/*.test.ts"

.PHONY: deps system-deps tools k8s-bin helm-bin image typecheck lint check test test-cloud demo bench clean

## deps: npm packages, including the pinned Node.js 24 that every npm script runs on
deps: $(NPM_STAMP)
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

## system-deps: nftables, iproute2, conntrack, openssl, procps (Debian packages; needs root)
system-deps:
	@bash scripts/system-deps.sh

## tools: the Kubernetes binaries, Helm and the image, side by side (each cached; the first time,
## the downloads and single-threaded steps of one overlap the others' compiling)
tools: deps system-deps
	@$(MAKE) --no-print-directory -j3 --output-sync=line k8s-bin helm-bin image

## k8s-bin: kube-apiserver, kube-controller-manager, kube-proxy, etcd built from the Go modules
k8s-bin:
	@K8S_VERSION=$(K8S_VERSION) bash scripts/k8s-bin.sh

## helm-bin: Helm built from its Go module (the chart's tests run helm lint and helm template)
helm-bin:
	@HELM_VERSION=$(HELM_VERSION) bash scripts/helm-bin.sh

## image: the Dockerfile built with podman, on a base image made here (no registry; needs root)
image: deps
	@bash scripts/image.sh

typecheck: deps
	npx tsc --noEmit -p .

lint: deps
	npx biome check .

## check: type check, lint and unit tests (no cluster needed; seconds)
check: typecheck lint
	npx node --test $(UNIT_TESTS)

## test: everything: check, then integration and end-to-end tests on real local clusters (root)
test: typecheck lint tools
	npx node --test --test-concurrency=1 --test-timeout=1800000 $(UNIT_TESTS) $(CLOUD_TESTS)

## test-cloud: only the tests on the local cloud
test-cloud: tools
	npx node --test --test-concurrency=1 --test-timeout=1800000 $(CLOUD_TESTS)

## demo: two local clusters, kubeburst between them, traffic visibly crossing (root)
demo: deps system-deps k8s-bin
	npx kubeburst demo

## bench: benchmarks that print figures and ratios (BENCHMARKS.md); e.g. BENCH_FLAGS="--only cold-start --sizes 200,500"
bench: deps system-deps k8s-bin
	npx node bench/run.ts $(BENCH_FLAGS)

clean:
	rm -rf node_modules dist
