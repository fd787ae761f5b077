# Huimin. `make run` serves on the embedded SQLite default; `make test` is
# what CI runs (with CI=true, MariaDB must answer).
GO       ?= go
BIN      ?= bin
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X huimin/server.Version=$(VERSION)
STATICCHECK_VERSION ?= v0.6.1

.PHONY: run test build lint bench soak fuzz cluster bench-cluster clean

run: build
	$(BIN)/huimin serve

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/huimin ./cmd/huimin

test:
	$(GO) test -race -count=1 ./...

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# Go micro-benchmarks, then sysbench and the load scenarios on MariaDB with
# the ratios of DESIGN §12 (see BENCHMARKS.md).
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	bash cmd/huimin-load/bench.sh

# The cluster stage of CI: a 3-node MariaDB Galera cluster on loopback
# (ports 3307-3309), the store and HTTP suites against node 1, then the
# cluster scenarios with three servers (scripts/galera/ci.sh).
cluster:
	bash scripts/galera/ci.sh

# Approvals/s and single claims/s through three servers on three nodes
# against one server on one node, in one run (BENCHMARKS.md).
bench-cluster:
	bash scripts/galera/bench.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzAssess -fuzztime 60s ./policies/

# Fault tests at length: 20 s loads, three kill -9 cycles per database,
# repeated database outages and full disks (cmd/huimin/soak_test.go).
soak:
	$(GO) test -race -count=1 -tags soak -run Soak -timeout 20m ./cmd/huimin/

clean:
	rm -rf $(BIN)
