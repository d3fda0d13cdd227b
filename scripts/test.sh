#!/usr/bin/env bash
# Everything CI checks, in the order that fails fastest: static checks, then
# every test with the race detector. Needs only Go; PostgreSQL is used when it
# answers (the store tests skip their PostgreSQL half otherwise).
#
#   ATENDE_TEST_POSTGRES  PostgreSQL URL for the store tests
#                         (default postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
#   TEST_TIMEOUT          go test -timeout (default 15m)
#   GO_TEST_FLAGS         extra flags for go test, e.g. "-run Store -v"
set -euo pipefail
cd "$(dirname "$0")/.."

start=$(date +%s)
echo "==> $(go version)"

bash scripts/lint.sh
bash scripts/install-test-deps.sh # real protocol peers: dovecot for the email tests

# PostgreSQL: the machines this project runs on have a local server; start it
# if it is installed but stopped, and say plainly when it is not there.
pg_url=${ATENDE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}
export ATENDE_TEST_POSTGRES=$pg_url
pg_hostport=$(echo "$pg_url" | sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#')
pg_host=${pg_hostport%:*}
pg_port=${pg_hostport##*:}
[ "$pg_port" = "$pg_hostport" ] && pg_port=5432
pg_up() { (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; }
case $pg_host in 127.0.0.1 | localhost | ::1) pg_local=1 ;; *) pg_local=0 ;; esac
if ! pg_up && [ "$pg_local" = 1 ] && command -v pg_ctlcluster >/dev/null && [ "$(id -u)" = 0 ] && [ -d /etc/postgresql ]; then
	echo "==> starting the local PostgreSQL"
	for v in /etc/postgresql/*/; do
		pg_ctlcluster --skip-systemctl-redirect "$(basename "$v")" main start >/dev/null 2>&1 || true
	done
	for _ in $(seq 1 20); do pg_up && break; sleep 0.5; done
fi
if pg_up; then
	echo "==> PostgreSQL answers at $pg_host:$pg_port: store tests run against SQLite and PostgreSQL"
else
	echo "==> PostgreSQL NOT reachable at $pg_host:$pg_port: PostgreSQL store tests will be SKIPPED (set ATENDE_TEST_POSTGRES to point at a server)"
fi

echo "==> go test -race"
# shellcheck disable=SC2086
go test -race -count=1 -timeout "${TEST_TIMEOUT:-15m}" ${GO_TEST_FLAGS:-} ./...

# The web app: its unit tests and build (which checks the first-load JS
# budget), then the agent desktop in a real browser against a real server.
echo "==> web app: npm ci, unit tests, build"
(cd web && npm ci --no-audit --no-fund --loglevel=error && npx vitest run && npm run build)
echo "==> browser tests (chromium)"
bash scripts/install-browser-deps.sh
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "==> all checks passed in $(( $(date +%s) - start ))s"
