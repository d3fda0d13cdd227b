#!/usr/bin/env bash
# Static checks of the Go code: formatting, go vet and staticcheck. Nothing to
# install by hand: staticcheck is fetched at a pinned version through the Go
# module proxy (and cached) by `go run`.
set -euo pipefail
cd "$(dirname "$0")/.."

STATICCHECK_VERSION=v0.8.2

echo "==> gofmt"
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*' -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "These files need gofmt (run: gofmt -w FILE):"
	echo "$unformatted"
	exit 1
fi

echo "==> go vet"
go vet ./...

echo "==> staticcheck $STATICCHECK_VERSION"
go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...
