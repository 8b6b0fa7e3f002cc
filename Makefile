# Every target installs what it needs first; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# The AWS SDK is pinned to a release that still supports Node 20; its notice about Node 22 is known.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED := true
JEST := node --experimental-vm-modules node_modules/jest/bin/jest.js --forceExit

.PHONY: help install install-cluster build action lint test test-unit test-e2e test-cluster stack stack-down stack-cluster stack-cluster-down demo bench soak clean

help:
	@echo "make demo                install, start the local stack, deploy app/ at HEAD, print stages, result and UI link"
	@echo "make test                lint, typecheck, unit, workflow, activity and end-to-end tests"
	@echo "make stack               start the local stack (Temporal, AWS emulator, registry, worker) in the background"
	@echo "make stack-down          stop everything make stack started"
	@echo "make stack-cluster       the same stack on a Temporal server built from source, on PostgreSQL, two workers"
	@echo "make stack-cluster-down  stop everything make stack-cluster started"
	@echo "make test-cluster        deploy, list and supersede on that cluster (slow; builds the server once)"
	@echo "make action              rebuild the GitHub Action's bundle (action/dist/); commit it"
	@echo "make bench               benchmarks (docs/benchmarks.md)"
	@echo "make soak                50 deploys back to back with faults sprinkled in (docs/reliability.md)"

install:
	@scripts/install-tools.sh --with-browser

# Opt-in: builds the Temporal server from source (minutes); no target outside *-cluster needs it.
install-cluster: install
	@scripts/install-cluster-tools.sh

build: install
	@npm run --silent build
	@chmod +x dist/cli/main.js

# The GitHub Action's bundle (action/dist/), committed so callers need no install step; make lint checks it.
action: install
	@npm run --silent build:action

lint: install
	npm run --silent typecheck
	npm run --silent lint
	npm run --silent format:check
	cd app && test -z "$$(gofmt -l .)" && go vet ./...
	test -z "$$(gofmt -l test/fixtures)"
	.tools/bin/actionlint
	.tools/bin/actionlint docs/examples/deploy.yml
	node --import tsx scripts/bundle-action.ts --check

# Suites that start a whole local stack run one at a time; the rest run in parallel.
STACK_SUITES := test/e2e/ test/faults/ test/action/main test/worker/
# Suites on the cluster stack run only under make test-cluster.
CLUSTER_SUITES := test/cluster/

test-unit: build
	$(JEST) $(addprefix --testPathIgnorePatterns ,$(STACK_SUITES) $(CLUSTER_SUITES))

test-e2e: build
	$(JEST) --runInBand $(STACK_SUITES)

test: lint test-unit test-e2e

test-cluster: build install-cluster
	$(JEST) --runInBand $(CLUSTER_SUITES)

stack: build
	@scripts/stack-up.sh

stack-down:
	@scripts/stack-down.sh

stack-cluster: build install-cluster
	@scripts/cluster-up.sh

stack-cluster-down:
	@scripts/cluster-down.sh

demo: build
	@[ -s .stack/pids ] || scripts/stack-up.sh
	@set -a; . .stack/env; set +a; \
	  node dist/cli/main.js deploy --sha "$$(git rev-parse HEAD)" --wait; \
	  echo "demo: the stack is still up for the UI link above; 'make stack-down' stops it"

soak: build
	SOAK_DEPLOYS=50 $(JEST) --runInBand test/faults/soak.test.ts

bench: build
	node --import tsx bench/main.ts

clean: stack-down
	rm -rf dist dist-check .work .stack
