#!/usr/bin/env bash
# End-to-end routing latency (task created by the API → offer on the agent's
# WebSocket) on SQLite and PostgreSQL, at several rates. Each run starts its
# own `atende serve` on a fresh store (PostgreSQL: a new database, dropped
# after) and waits first for the shared machine to be quiet.
#
#   RATES      tasks/s to try (default "250 500 1000")
#   DURATION   measured time per run (default 20s); WARMUP before it (3s)
#   AGENTS     agents, each with its own token and WebSocket (default 100)
#   CAPACITY   chat capacity per agent (default 10)
#   HANDLE     handle time per task (default 200ms)
#   STORES     "sqlite postgres" (default)
#   PG_URL     PostgreSQL to create the bench database in
#              (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
#   QUIET_PCT  wait (up to QUIET_WAIT s, default 300) for the machine to be
#              at most this % busy over 3 s before each run (default 20)
#   EXTRA      more flags for routinge2e
set -euo pipefail
cd "$(dirname "$0")/../.."

RATES=${RATES:-"250 500 1000"}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
AGENTS=${AGENTS:-100}
CAPACITY=${CAPACITY:-10}
HANDLE=${HANDLE:-200ms}
STORES=${STORES:-"sqlite postgres"}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
QUIET_PCT=${QUIET_PCT:-20}
QUIET_WAIT=${QUIET_WAIT:-300}
EXTRA=${EXTRA:-}

work=$(mktemp -d /tmp/routinge2e.XXXXXX)
pg_db=""
cleanup() {
	if [ -n "$pg_db" ]; then
		psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_sample() { awk '/^cpu /{idle=$5+$6; t=0; for(i=2;i<=NF;i++) t+=$i; print t-idle, t}' /proc/stat; }
busy_pct() { awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); d=y[2]-x[2]; if (d<=0) d=1; printf "%.0f", 100*(y[1]-x[1])/d}'; }

wait_quiet() {
	local waited=0 before after busy
	while :; do
		before=$(cpu_sample)
		sleep 3
		after=$(cpu_sample)
		busy=$(busy_pct "$before" "$after")
		waited=$((waited + 3))
		if [ "$busy" -le "$QUIET_PCT" ] || [ "$waited" -ge "$QUIET_WAIT" ]; then
			echo "==> machine ${busy}% busy before the run (waited ${waited} s), load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
			return
		fi
	done
}

go build -o "$work/atende" ./cmd/atende
go build -o "$work/routinge2e" ./bench/routinge2e
results=()
for store in $STORES; do
	for rate in $RATES; do
		wait_quiet
		args=(-bin "$work/atende" -rate "$rate" -d "$DURATION" -warmup "$WARMUP" -agents "$AGENTS" -capacity "$CAPACITY" -handle "$HANDLE" -label "$store")
		case $store in
		sqlite) ;;
		postgres)
			pg_db="bench_routinge2e_$(date +%s)_$$"
			psql "$PG_URL" -qc "CREATE DATABASE $pg_db" >/dev/null
			args+=(-db "$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$pg_db#" <<<"$PG_URL")")
			;;
		*)
			echo "unknown store $store" >&2
			exit 2
			;;
		esac
		# shellcheck disable=SC2086
		"$work/routinge2e" "${args[@]}" $EXTRA >"$work/out" 2>&1 || true
		cat "$work/out" >&2
		line=$(grep '^RESULT' "$work/out" || true)
		results+=("${line:-RESULT label=$store rate=$rate FAILED}")
		if [ -n "$pg_db" ]; then
			psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
			pg_db=""
		fi
	done
done
echo
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/^MemTotal:/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "command: RATES=\"$RATES\" DURATION=$DURATION WARMUP=$WARMUP AGENTS=$AGENTS CAPACITY=$CAPACITY HANDLE=$HANDLE STORES=\"$STORES\" EXTRA=\"$EXTRA\" bash bench/routinge2e/run.sh"
printf '%s\n' "${results[@]}"
