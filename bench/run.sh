#!/usr/bin/env bash
# Append throughput, start-up time and idle memory of `atende serve`, on SQLite
# and (when it answers) PostgreSQL. Prints a results block for bench/RESULTS.md.
#
# For each store:
#   1. builds atende and the bench tools, starts `atende serve` on a fresh store
#      (SQLite: a new data directory; PostgreSQL: a new database, dropped after)
#      on 127.0.0.1, and makes an API token with `atende admin create-token`;
#   2. runs bench/appendload at each concurrency in $CONCURRENCY and keeps the
#      best rate whose p99 stays under $P99_TARGET_MS, plus the raw numbers;
#   3. reads the server's RSS after the load, once idle for $IDLE;
#   4. stops it and runs bench/startup on the now non-empty store: "ready in"
#      (process start to the first 200 from /readyz) over $STARTS starts, and
#      the idle RSS of a freshly started server after $IDLE.
#
# The machine's CPU use is sampled before and during each run: on a shared
# machine other work skews the figures, and the block says how busy it was.
#
#   CONCURRENCY    client counts to try (default "16 32 64")
#   DURATION       measured time per run (default 10s); WARMUP before it (2s)
#   CONVERSATIONS  conversations the appends are spread over (default 100)
#   STARTS         starts to time for "ready in" (default 5)
#   IDLE           idle time before reading RSS (default 5s)
#   ATENDE_BENCH_POSTGRES  PostgreSQL URL to create the bench database from
#                  (default $ATENDE_TEST_POSTGRES, else
#                  postgres://postgres@127.0.0.1:5432/test?sslmode=disable)
#   STORES         which stores to run (default "sqlite postgres")
#   QUIET_WAIT     before each store, wait up to this many seconds for the
#                  machine to be under QUIET_PCT % CPU busy (default 180, 25)
#
# Then, on SQLite, bench/chatws holds CHATWS_VISITORS visitor WebSockets open
# (each from its own 127.0.0.0/8 address) and measures the server's memory
# per idle socket, then sends CHATWS_RATE agent messages/s to them for
# CHATWS_DURATION and measures their delivery (POST -> frame on the socket).
#
#   CHATWS_VISITORS  socket counts to try (default "1000 10000"; "" skips chatws)
#   CHATWS_RATE      agent messages per second (default 1000)
#   CHATWS_DURATION  measured time per run (default 60s)
set -euo pipefail
cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-"16 32 64"}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONVERSATIONS=${CONVERSATIONS:-100}
STARTS=${STARTS:-5}
IDLE=${IDLE:-5s}
STORES=${STORES:-"sqlite postgres"}
QUIET_WAIT=${QUIET_WAIT:-180}
QUIET_PCT=${QUIET_PCT:-25}
P99_TARGET_MS=25
CHATWS_VISITORS=${CHATWS_VISITORS-"1000 10000"}
CHATWS_RATE=${CHATWS_RATE:-1000}
CHATWS_DURATION=${CHATWS_DURATION:-60s}
PG_URL=${ATENDE_BENCH_POSTGRES:-${ATENDE_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}}

work=$(mktemp -d /tmp/atende-bench.XXXXXX)
server_pid=""
pg_db=""
summary=()
raw=()

cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -n "$pg_db" ]; then
		psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "==> $*" >&2; }

# kv LINE KEY: the value of KEY=... in a RESULT line.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# cpu_sample: "busy total" jiffies of the whole machine, from /proc/stat.
cpu_sample() { awk '/^cpu /{idle=$5+$6; t=0; for(i=2;i<=NF;i++) t+=$i; print t-idle, t}' /proc/stat; }
# busy_pct BEFORE AFTER: machine-wide CPU busy percentage between two samples.
busy_pct() { awk -v a="$1" -v b="$2" 'BEGIN{split(a,x," "); split(b,y," "); d=y[2]-x[2]; if (d<=0) d=1; printf "%.0f", 100*(y[1]-x[1])/d}'; }
# proc_cpu PID: user+system CPU seconds of a process so far.
proc_cpu() { awk -v hz="$(getconf CLK_TCK)" '{sub(/^.*\) /, ""); printf "%.2f", ($12+$13)/hz}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status"; }

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "no free port found" >&2
	return 1
}

# start_server LOG ARGS...: starts atende serve and waits for /readyz.
start_server() {
	local logf=$1
	shift
	port=$(free_port)
	url="http://127.0.0.1:$port"
	"$work/atende" serve --addr "127.0.0.1:$port" --log-level warn "$@" >"$logf" 2>&1 &
	server_pid=$!
	for _ in $(seq 1 600); do
		if curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; then
			return 0
		fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			cat "$logf" >&2
			echo "atende serve exited before it was ready" >&2
			return 1
		fi
		sleep 0.05
	done
	echo "atende serve not ready after 30 s" >&2
	return 1
}

stop_server() {
	kill -TERM "$server_pid"
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

# bench_store LABEL STORE-ARGS...
bench_store() {
	local label=$1
	shift
	log "$label: starting atende serve on a fresh store"
	start_server "$work/$label-serve.log" "$@"
	local token
	token=$("$work/atende" admin create-token --tenant default --email admin@atende.local --name bench --expires 2h "$@" | tail -1 | tr -d ' ')

	# Other work on a shared machine skews every figure: wait a while for a
	# quiet moment, and say how busy the machine was.
	local before after quiet waited=0
	while :; do
		before=$(cpu_sample)
		sleep 2
		after=$(cpu_sample)
		quiet=$(busy_pct "$before" "$after")
		waited=$((waited + 2))
		if [ "$quiet" -le "$QUIET_PCT" ] || [ "$waited" -ge "$QUIET_WAIT" ]; then
			break
		fi
	done
	log "$label: machine CPU busy before the load: ${quiet}% (waited ${waited} s for <= ${QUIET_PCT}%)"

	local best="" best_rate=0 top="" top_rate=0 line rate p99 s0 s1 busy
	for c in $CONCURRENCY; do
		log "$label: appendload -c $c -d $DURATION"
		before=$(cpu_sample)
		s0=$(proc_cpu "$server_pid")
		line=$("$work/appendload" -url "$url" -token "$token" -c "$c" -d "$DURATION" -warmup "$WARMUP" \
			-conversations "$CONVERSATIONS" -label "$label" | tee /dev/stderr | grep '^RESULT')
		s1=$(proc_cpu "$server_pid")
		after=$(cpu_sample)
		busy=$(busy_pct "$before" "$after")
		line="$line machine_busy_pct=$busy server_cpu_s=$(awk -v a="$s0" -v b="$s1" 'BEGIN{printf "%.1f", b-a}')"
		raw+=("$line")
		rate=$(kv "$line" rate)
		p99=$(kv "$line" p99_ms)
		if awk -v r="$rate" -v t="$top_rate" 'BEGIN{exit !(r>t)}'; then top=$line top_rate=$rate; fi
		if awk -v p="$p99" -v r="$rate" -v b="$best_rate" -v lim="$P99_TARGET_MS" 'BEGIN{exit !(p<lim && r>b)}'; then
			best=$line best_rate=$rate
		fi
	done

	local idle_s=${IDLE%s}
	sleep "$idle_s"
	local rss_after_load
	rss_after_load=$(rss_mb "$server_pid")
	log "$label: RSS after the load, idle $IDLE: $rss_after_load MB"
	stop_server

	log "$label: timing $STARTS starts on the existing store"
	local sline
	sline=$("$work/startup" -bin "$work/atende" -runs "$STARTS" -idle "$IDLE" -label "$label" -log "$work/$label-startup.log" "$@" |
		tee /dev/stderr | grep '^RESULT')
	raw+=("$sline")

	local pick=$best note="best c with p99 < ${P99_TARGET_MS} ms"
	if [ -z "$pick" ]; then
		pick=$top note="NO run kept p99 < ${P99_TARGET_MS} ms; highest rate shown"
	fi
	summary+=("$(printf '%-9s c=%-3s %7s appends/s  p50 %6s  p95 %6s  p99 %6s  max %7s ms | ready %s ms (median of %s, max %s) | idle RSS %s MB (after load %s MB) | busy before %s%%, during %s%% | %s' \
		"$label" "$(kv "$pick" c)" "$(kv "$pick" rate)" "$(kv "$pick" p50_ms)" "$(kv "$pick" p95_ms)" "$(kv "$pick" p99_ms)" "$(kv "$pick" max_ms)" \
		"$(kv "$sline" ready_median_ms)" "$(kv "$sline" runs)" "$(kv "$sline" ready_max_ms)" "$(kv "$sline" idle_rss_mb)" "$rss_after_load" \
		"$quiet" "$(kv "$pick" machine_busy_pct)" "$note")")
}

log "building atende and the bench tools into $work"
go build -o "$work/atende" ./cmd/atende
go build -o "$work/appendload" ./bench/appendload
go build -o "$work/startup" ./bench/startup
go build -o "$work/chatws" ./bench/chatws

for store in $STORES; do
	case $store in
	sqlite)
		bench_store sqlite --data "$work/sqlite-data"
		;;
	postgres)
		if ! command -v psql >/dev/null; then
			log "postgres: SKIPPED (psql not installed)"
			summary+=("postgres  SKIPPED: psql not installed")
			continue
		fi
		if ! psql "$PG_URL" -qAtc 'SELECT 1' >/dev/null 2>&1; then
			log "postgres: SKIPPED (no PostgreSQL at $PG_URL)"
			summary+=("postgres  SKIPPED: no PostgreSQL at $PG_URL")
			continue
		fi
		pg_db="atende_bench_$(date +%s)_$$"
		psql "$PG_URL" -qc "CREATE DATABASE $pg_db" >/dev/null
		pg_dsn=$(sed -E "s#^(postgres(ql)?://[^/]*)/[^?]*#\1/$pg_db#" <<<"$PG_URL")
		bench_store postgres --db "$pg_dsn" --data "$work/pg-data"
		psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
		pg_db=""
		;;
	*)
		echo "unknown store $store" >&2
		exit 2
		;;
	esac
done

for n in $CHATWS_VISITORS; do
	log "chatws: $n visitor sockets, $CHATWS_RATE messages/s for $CHATWS_DURATION (SQLite)"
	cline=$("$work/chatws" -bin "$work/atende" -data "$work/chatws-$n" -n "$n" -rate "$CHATWS_RATE" -d "$CHATWS_DURATION" \
		-quiet-pct "$QUIET_PCT" -quiet-wait "$QUIET_WAIT" -label "sqlite-chat$n" | tee /dev/stderr | grep '^RESULT' || true)
	cline=${cline:-"RESULT label=sqlite-chat$n FAILED"}
	raw+=("$cline")
	summary+=("$(printf 'chat %-5s sockets: %s KB per idle socket (RSS %s -> %s MB) | %s msgs/s, %s/%s delivered, lost %s, dup %s | p50 %s  p90 %s  p99 %s  max %s ms | server %s CPU s | busy %s%%' \
		"$n" "$(kv "$cline" kb_per_idle_conn)" "$(kv "$cline" rss_before_mb)" "$(kv "$cline" rss_idle_mb)" "$(kv "$cline" achieved_rate)" \
		"$(kv "$cline" received)" "$(kv "$cline" sent)" "$(kv "$cline" lost)" "$(kv "$cline" duplicated)" \
		"$(kv "$cline" p50_ms)" "$(kv "$cline" p90_ms)" "$(kv "$cline" p99_ms)" "$(kv "$cline" max_ms)" "$(kv "$cline" server_cpu_s)" "$(kv "$cline" machine_busy_pct)")")
done

cat <<EOF

================================ results ================================
date:     $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine:  $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/^MemTotal:/{printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)
go:       $(go version | cut -d' ' -f3-)
commit:   $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ' (work tree has changes)')
command:  CONCURRENCY="$CONCURRENCY" DURATION=$DURATION WARMUP=$WARMUP CONVERSATIONS=$CONVERSATIONS STARTS=$STARTS IDLE=$IDLE CHATWS_VISITORS="$CHATWS_VISITORS" CHATWS_RATE=$CHATWS_RATE CHATWS_DURATION=$CHATWS_DURATION bash bench/run.sh
targets:  >= 2000 appends/s with p99 < ${P99_TARGET_MS} ms per database; ready < 1000 ms; idle RSS < 80 MB;
          chat: 10,000 sockets, 1,000 msgs/s, p99 delivery < 100 ms, < 30 KB per idle socket

summary:
EOF
printf '  %s\n' "${summary[@]}"
echo
echo "raw:"
printf '  %s\n' "${raw[@]}"
echo "========================================================================="
