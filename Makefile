# Developer entry points. Each target is a thin wrapper: CI runs .ci/run,
# which runs `make test`, which runs scripts/test.sh.

GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: run test lint bench build web web-test browser-test clean

## run: build the web app (when there is one) and start a demo server on :8080
run: web
	$(GO) run ./cmd/atende serve --demo

## test: what CI runs: gofmt, go vet, staticcheck, then go test -race ./...
test:
	bash scripts/test.sh

## lint: gofmt check, go vet and staticcheck only
lint:
	bash scripts/lint.sh

## bench: every Go benchmark, with allocations
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## build: the binary in bin/atende, with the version stamped in
build: web
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/atende ./cmd/atende

## web: build the web app into the binary's embedded assets, if web/ exists
web:
	@if [ ! -f web/package.json ]; then \
		echo "no web app yet (web/package.json): serving the API only"; \
	elif ! command -v npm >/dev/null; then \
		echo "npm not found: not rebuilding the web app; using the assets already built, if any"; \
	else \
		cd web && if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then \
			npm ci --no-audit --no-fund; \
		fi && npm run build; \
	fi

## web-test: the web app's unit tests (i18n catalogues, formatting)
web-test:
	cd web && npm ci --no-audit --no-fund && npx vitest run

## browser-test: the agent desktop in Debian's chromium against `atende serve --demo`
browser-test: web
	bash scripts/install-browser-deps.sh
	cd tests/browser && npm ci --no-audit --no-fund && npm test

clean:
	rm -rf bin
