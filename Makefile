# Convenience targets; the README's commands work without make.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LD_FLAGS := -X main.version=$(VERSION)
PG ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: build run demo test test-pg lint golden bench

build:
	go build -ldflags "$(LD_FLAGS)" -o bin/portolan ./cmd/portolan

run: build
	./bin/portolan serve

demo: build
	./bin/portolan serve --demo

test:
	go test -race -count=1 ./...

test-pg:
	PORTOLAN_TEST_POSTGRES='$(PG)' go test -count=1 ./internal/postgres/ ./cmd/portolan/

lint:
	go vet ./...
	test -z "$$(gofmt -l .)"
	go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

golden:
	go test ./internal/ingest/... -update

# The harness is its own command; it measures the bin/portolan next to it.
bench: build
	go build -o bin/portolan-bench ./cmd/portolan-bench
	./bin/portolan-bench
