#!/usr/bin/env bash
# One run, one machine: the same 5-scope escrow hold on BudgetGrains (one silo on SQLite, one silo on the
# PostgreSQL journal, three silos of one cluster on one PostgreSQL), a Redis Lua script and PostgreSQL row
# locks, plus two floors of the gRPC path; prints one table. Loopback only; installs nothing; every server it
# starts and every temporary directory is removed on exit, also on failure or Ctrl-C.
#
#   dotnet build -c Release benchmarks/BudgetGrains.LoadGen    # builds the silo too
#   benchmarks/compare.sh [seconds per measurement, default 8] [budgetgrains] [redis] [postgres] [budgetgrains-pg] [budgetgrains-cluster]
# Naming parts runs only those (to re-run one when the machine was busy); the default is all five. The
# PostgreSQL parts share one throw-away PostgreSQL server, each part a database of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-8}
PARTS=("${@:2}")
((${#PARTS[@]})) || PARTS=(budgetgrains redis postgres budgetgrains-pg budgetgrains-cluster)
for part in "${PARTS[@]}"; do
    [[ $part =~ ^(budgetgrains|redis|postgres|budgetgrains-pg|budgetgrains-cluster)$ ]] \
        || { echo "unknown part $part: budgetgrains, redis, postgres, budgetgrains-pg or budgetgrains-cluster" >&2; exit 2; }
done
SILOS=3   # budgetgrains-cluster
CALLERS=64
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
LOADGEN=benchmarks/BudgetGrains.LoadGen/bin/Release/net10.0/BudgetGrains.LoadGen.dll
SERVER=src/BudgetGrains.Server/bin/Release/net10.0/BudgetGrains.Server.dll

missing=()
for tool in redis-server:redis-server redis-benchmark:redis-tools redis-cli:redis-tools h2load:nghttp2-client \
    pgbench:postgresql-client-15 psql:postgresql-client-15 "$PG_BIN/initdb:postgresql-15" "$PG_BIN/pg_ctl:postgresql-15" python3:python3 dotnet:dotnet-sdk-10.0; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool##*:}")
done
if ((${#missing[@]})); then
    echo "missing tools; install them with: apt-get install -y $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')" >&2
    exit 2
fi
for built in "$LOADGEN" "$SERVER"; do
    [[ -f $built ]] || { echo "$built not found; first run: dotnet build -c Release benchmarks/BudgetGrains.LoadGen" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/budgetgrains-compare.XXXXXX)
chmod 755 "$WORK"   # PostgreSQL runs as its own user and needs to reach its directory in here
PIDS=()
PG_DATA=""
PG_USER=""
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [[ -n $PG_DATA && -f $PG_DATA/postmaster.pid ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# PostgreSQL refuses to run as root (CI runs as root): use the postgres user the Debian package created.
as_pg() {
    if [[ -n $PG_USER ]]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

# A free loopback port, found by binding port 0.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_for_port() {
    local port=$1 tries=300
    until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        ((--tries)) || { echo "nothing listens on 127.0.0.1:$port" >&2; return 1; }
        sleep 0.1
    done
}

# The 1-minute load average before a measurement (the previous measurement's own load is part of it).
load() { cut -d' ' -f1 /proc/loadavg; }

# CPU time of a process so far, in clock ticks (utime + stime, fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# p99 in ms of a column of latencies in microseconds.
p99_us() { sort -n | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }'; }

ROWS=()
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); }   # system | durability | ops/s | p99 ms | load | note

# --- BudgetGrains: the silo in its own process, the load generator as the client --------------------------
# The silos the load generator drives: --server URL --server-pid PID for each (start_silo adds them); the
# callers are spread over them. BG_URL and BG_PID are the first silo's.
LG_TARGETS=()
SILO_PIDS=()

# start_silo NAME [silo settings...]: a silo process on a free loopback port, data directory $WORK/NAME, added to
# LG_TARGETS once it says it is ready (in a cluster: once it joined).
start_silo() {
    local name=$1 port tries=600
    port=$(free_port)
    dotnet "$SERVER" --listen "127.0.0.1:$port" --data-dir "$WORK/$name" "${@:2}" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    SILO_PIDS+=("$pid")
    until grep -q "ready on http://127.0.0.1:$port" "$WORK/$name.log"; do
        kill -0 "$pid" 2>/dev/null && ((--tries)) || { cat "$WORK/$name.log" >&2; echo "silo $name did not start" >&2; exit 1; }
        sleep 0.1
    done
    ((${#LG_TARGETS[@]})) || { BG_URL="http://127.0.0.1:$port"; BG_PID=$pid; }
    LG_TARGETS+=(--server "http://127.0.0.1:$port" --server-pid "$pid")
}

# Stops the silos start_silo started.
stop_silos() {
    local pid
    for pid in "${SILO_PIDS[@]}"; do kill "$pid"; done
    for pid in "${SILO_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    SILO_PIDS=()
    LG_TARGETS=()
}

# Runs the load generator and records its markdown row's ops/s and p99 (fields 7 and 11 when cut at '|').
loadgen() {
    local label=$1 scenario=$2 durability=$3 l
    l=$(load)
    echo "== $label (load $l)" >&2
    dotnet "$LOADGEN" "${LG_TARGETS[@]}" --scenario "$scenario" --callers "$CALLERS" \
        --duration "$SECONDS_PER_RUN" --warmup 2 >"$WORK/lg-$scenario.out" 2>&1 \
        || { cat "$WORK/lg-$scenario.out" >&2; echo "load generator failed ($scenario)" >&2; exit 1; }
    local last ops p99 invariants
    last=$(grep '^| ' "$WORK/lg-$scenario.out" | tail -1)
    ops=$(cut -d'|' -f7 <<<"$last" | tr -d ' ,')
    p99=$(cut -d'|' -f11 <<<"$last" | tr -d ' ')
    invariants=$(cut -d'|' -f18 <<<"$last" | tr -d ' ')
    grep -E '^(measured|cpu:)' "$WORK/lg-$scenario.out" >&2
    row "$label" "$durability" "$ops" "$p99" "$l" "I1-I2 $invariants"
}

# h2load: 4 HTTP/2 connections of 16 streams, so 64 requests in flight, each the same pre-framed body.
h2check() {
    local label=$1 body=$2 l
    l=$(load)
    echo "== h2load $label (load $l)" >&2
    local args=(-c 4 -m 16 -t 1 -d "$body" -H 'content-type: application/grpc' -H 'te: trailers')
    # A separate warm-up run: with --warm-up-time, h2load 1.52 counts the warm-up in its totals and its time.
    h2load "${args[@]}" -D 2 "$BG_URL/budget.v1.Admission/Check" >/dev/null
    local ticks
    ticks=$(cpu_ticks "$BG_PID")
    h2load "${args[@]}" -D "$SECONDS_PER_RUN" --log-file "$WORK/h2.log" \
        "$BG_URL/budget.v1.Admission/Check" >"$WORK/h2.out" 2>&1 || { cat "$WORK/h2.out" >&2; exit 1; }
    ticks=$(($(cpu_ticks "$BG_PID") - ticks))
    grep -E '^(finished|requests|status codes|traffic)' "$WORK/h2.out" >&2
    # h2load cannot see grpc-status (a trailer), but a gRPC error is a trailers-only response with no data:
    # so no failed request, and at least a 5-byte prefix and a message per request, means every call answered.
    local answered data
    answered=$(grep -oP '\d+(?= succeeded)' "$WORK/h2.out")
    data=$(grep -oP '\((\d+)\)(?= data)' "$WORK/h2.out" | tr -d '()')
    grep -qE 'requests: .* 0 failed, 0 errored' "$WORK/h2.out" && ((data >= 6 * answered)) \
        || { cat "$WORK/h2.out" >&2; echo "h2load: some calls were not answered with a message" >&2; exit 1; }
    local ops p99
    ops=$(awk '/^finished in/ { gsub(",", "", $4); printf "%.0f", $4 }' "$WORK/h2.out")
    p99=$(cut -f3 "$WORK/h2.log" | p99_us)
    local silo_us
    silo_us=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$answered" 'BEGIN { printf "%.0f", t / hz * 1e6 / n }')
    row "$label" "none (read only)" "$ops" "$p99" "$l" "no .NET client; silo $silo_us µs CPU per call"
}

# Unmeasured load first, so that the rows measure a silo that has been running: .NET compiles hot methods again
# with full optimization only after they ran a while (tiered compilation), which on two shared cores takes several
# seconds of load; a 2 s warm-up per row left the first rows measuring the compiler (seen: 20-30% of the silo's CPU).
WARMUP_SECONDS=${WARMUP_SECONDS:-15}
warm_up() {
    echo "== warm-up: ${WARMUP_SECONDS} s of reserve+release and check, not measured" >&2
    local scenario
    for scenario in reserve-release check; do
        dotnet "$LOADGEN" "${LG_TARGETS[@]}" --scenario "$scenario" --callers "$CALLERS" --duration $((WARMUP_SECONDS / 2)) \
            --warmup 0 >"$WORK/warm-up.out" 2>&1 || { cat "$WORK/warm-up.out" >&2; echo "warm-up failed" >&2; exit 1; }
    done
}

part_budgetgrains() {
    start_silo silo
    local durable="SQLite WAL, synchronous=FULL, group commit"
    warm_up
    loadgen "BudgetGrains reserve (hold only)" reserve "$durable"
    loadgen "BudgetGrains reserve+release (pairs/s)" reserve-release "$durable"
    loadgen "BudgetGrains check (floor: no write)" check "none (read only)"
    dotnet "$LOADGEN" --emit-check-body "$WORK/check-5.bin" --body-key h2load --server "$BG_URL"
    dotnet "$LOADGEN" --emit-check-body "$WORK/check-none.bin" --body-key h2load-no-budgets
    h2check "h2load Check, 5 budgeted scopes" "$WORK/check-5.bin"
    h2check "h2load Check, no budgets (floor: ~empty call)" "$WORK/check-none.bin"
    stop_silos
}

# One silo on the PostgreSQL journal (group commit, one transaction per batch), on the server part_postgres uses.
part_budgetgrains-pg() {
    pg_start
    start_silo silo-pg --http none --storage postgres --postgres "$(pg_database budgetgrains_pg)"
    local durable="PostgreSQL journal, fsync=on, synchronous_commit=on, group commit"
    warm_up
    loadgen "BudgetGrains on PostgreSQL, reserve (hold only)" reserve "$durable"
    loadgen "BudgetGrains on PostgreSQL, reserve+release (pairs/s)" reserve-release "$durable"
    stop_silos
}

# Three silos of one Orleans cluster on one PostgreSQL database; caller i goes through silo i mod 3. The hot
# chain's scopes live on one silo or another, so most calls cross between silos.
part_budgetgrains-cluster() {
    local connection i
    pg_start
    connection=$(pg_database budgetgrains_cluster)
    for ((i = 0; i < SILOS; i++)); do start_silo "cluster$i" --http none --storage postgres --postgres "$connection" --cluster true; done
    local durable="PostgreSQL journal of each of $SILOS silos, fsync=on, synchronous_commit=on, group commit per silo"
    warm_up
    loadgen "BudgetGrains cluster of $SILOS silos, reserve (hold only)" reserve "$durable"
    loadgen "BudgetGrains cluster of $SILOS silos, reserve+release (pairs/s)" reserve-release "$durable"
    stop_silos
}

# --- Redis 7: one Lua script checks all five scopes, then holds on all five, atomically -------------------
# Like a reserve, it also records the reservation under its request id (idempotent: a repeated id changes
# nothing) with a TTL, the hold's expiry. redis-benchmark replaces __rand_int__ with a random number below
# 2e9 (its -r is an int), so a few dozen of 400,000 ids repeat and are answered as repeats, without a write.
HOLD_LUA=$(cat <<'LUA'
local amount = tonumber(ARGV[1])
if redis.call('EXISTS', ARGV[2]) == 1 then return 2 end
for i = 1, #KEYS do
    local c = redis.call('HMGET', KEYS[i], 'limit', 'spent', 'held')
    if tonumber(c[2]) + tonumber(c[3]) + amount > tonumber(c[1]) then return -i end
end
for i = 1, #KEYS do redis.call('HINCRBY', KEYS[i], 'held', amount) end
redis.call('SET', ARGV[2], amount, 'PX', 300000)
return 1
LUA
)

redis_run() {
    local fsync=$1 requests=$2 port l
    port=$(free_port)
    mkdir -p "$WORK/redis-$fsync"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK/redis-$fsync" --save '' \
        --appendonly yes --appendfsync "$fsync" --daemonize no >"$WORK/redis-$fsync.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    wait_for_port "$port"
    local cli=(redis-cli -h 127.0.0.1 -p "$port")
    for scope in tenant cost_center team feature agent; do
        "${cli[@]}" HSET "budget:$scope" limit 1000000000000000000 spent 0 held 0 >/dev/null
    done
    local sha
    sha=$("${cli[@]}" SCRIPT LOAD "$HOLD_LUA")
    l=$(load)
    echo "== Redis appendfsync $fsync (load $l)" >&2
    # -n rather than a duration (redis-benchmark has none), so a time limit too in case Redis is far slower.
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -c "$CALLERS" -n "$requests" -r 2000000000 --csv \
        EVALSHA "$sha" 5 budget:agent budget:team budget:cost_center budget:feature budget:tenant 1 'res:__rand_int__' \
        >"$WORK/redis.csv"
    # Every hold was admitted and is on every scope (nothing denied, nothing lost).
    local held
    held=$("${cli[@]}" HGET budget:tenant held)
    echo "redis: $(tail -1 "$WORK/redis.csv"); tenant held $held of $requests" >&2
    local ops p99
    # The last CSV line: "test","rps","avg","min","p50","p95","p99","max" (counted from the end: the test name has spaces).
    ops=$(tail -1 "$WORK/redis.csv" | tr -d '"' | awk -F, '{ printf "%.0f", $(NF - 6) }')
    p99=$(tail -1 "$WORK/redis.csv" | tr -d '"' | awk -F, '{ print $(NF - 1) }')
    "${cli[@]}" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    wait "$pid" 2>/dev/null || true
    row "Redis $(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-) Lua script" "AOF, appendfsync $fsync" "$ops" "$p99" "$l" "$held holds on 5 keys"
}

part_redis() {
    redis_run always 100000
    redis_run everysec 400000
}

# --- PostgreSQL 15: a transaction locking the five budget rows in a fixed order ---------------------------
pg_run() {
    local connections=$1 label=$2 l
    l=$(load)
    echo "== PostgreSQL row locks, $connections connections (load $l)" >&2
    rm -f "$WORK"/pglog/tx.*
    pgbench -n -M prepared -c "$connections" -j 2 -T "$SECONDS_PER_RUN" -l --log-prefix="$WORK/pglog/tx" -f "$WORK/hold.sql" \
        >"$WORK/pgbench.out" 2>&1 || { cat "$WORK/pgbench.out" >&2; exit 1; }
    grep -E '^(tps|number of (transactions actually processed|failed))' "$WORK/pgbench.out" >&2
    local ops p99 held
    ops=$(awk '/^tps/ { printf "%.0f", $3 }' "$WORK/pgbench.out")
    p99=$(cat "$WORK"/pglog/tx.* | awk '{ print $3 }' | p99_us)   # per-transaction log: 3rd column is latency in µs
    held=$(psql -tAc 'SELECT held FROM budget WHERE id = 5')
    row "PostgreSQL $(pgbench --version | awk '{ print $3 }') row locks, fixed order, $label" "fsync=on, synchronous_commit=on" "$ops" "$p99" "$l" "$held holds on 5 rows so far"
}

# The throw-away PostgreSQL server of the PostgreSQL parts, started by the first of them. max_connections
# leaves room for three silos' pools (each up to 32 read connections, its journal's writer and membership).
pg_start() {
    [[ -z $PG_DATA ]] || return 0
    if [[ $(id -u) == 0 ]]; then PG_USER=postgres; fi
    PG_DATA="$WORK/pg"
    PG_PORT=$(free_port)
    mkdir -p "$PG_DATA"
    [[ -z $PG_USER ]] || chown "$PG_USER" "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -A trust -U bench >"$WORK/initdb.log" 2>&1
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w start \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DATA -c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=256MB" >/dev/null
    export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=bench PGDATABASE=postgres
}

# pg_database NAME: a new database on that server (pg_start first); prints its Npgsql connection string.
pg_database() {
    psql -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1" >&2
    echo "Host=127.0.0.1;Port=$PG_PORT;Username=bench;Database=$1"
}

part_postgres() {
    pg_start
    psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE budget (id int PRIMARY KEY, lim bigint NOT NULL, spent bigint NOT NULL, held bigint NOT NULL);
INSERT INTO budget SELECT g, 1000000000000000000, 0, 0 FROM generate_series(1, 5) g;
CREATE TABLE reservation (id bigint PRIMARY KEY, amount bigint NOT NULL, expires_at timestamptz NOT NULL);
SQL
    # Locks in id order, so concurrent transactions queue instead of deadlocking; the hold and the reservation
    # row are written only when every scope admits. One UPDATE for the five rows saves four round trips.
    cat >"$WORK/hold.sql" <<'SQL'
\set rid random(1, 1000000000000)
BEGIN;
SELECT min((spent + held + 1 <= lim)::int) AS ok FROM (SELECT spent, held, lim FROM budget WHERE id BETWEEN 1 AND 5 ORDER BY id FOR UPDATE) b \gset
\if :ok = 1
UPDATE budget SET held = held + 1 WHERE id BETWEEN 1 AND 5;
INSERT INTO reservation VALUES (:rid, 1, now() + interval '5 minutes') ON CONFLICT DO NOTHING;
\endif
COMMIT;
SQL
    mkdir "$WORK/pglog"
    pg_run "$CALLERS" "one connection per caller"
    # Throughput on the same hot rows falls as waiters grow (1 connection was fastest when tried), so a pool of
    # 8 connections in front of the callers, PostgreSQL's better configuration, is measured too.
    pg_run 8 "8 connections (a pool)"
}

# Each part starts when the machine is quiet (load below $QUIET, at most 90 s of waiting), so its first figure
# is not shared with someone else's build; later figures of a part include that part's own earlier load.
QUIET=${QUIET:-1.5}
for part in "${PARTS[@]}"; do
    for ((waited = 0; waited < 90; waited += 5)); do
        awk -v l="$(load)" -v q="$QUIET" 'BEGIN { exit !(l >= q) }' || break
        sleep 5
    done
    "part_$part"
done

# --- The table ---------------------------------------------------------------------------------------------
# Ratios are to BudgetGrains reserve, when this run measured it.
base=0
for r in "${ROWS[@]}"; do [[ $r != "BudgetGrains reserve (hold only)|"* ]] || base=$(cut -d'|' -f3 <<<"$r"); done
echo
echo "5-scope escrow hold, $CALLERS concurrent callers, loopback, $(nproc) cores, $(date -u +%F), ${SECONDS_PER_RUN} s per run"
echo
echo "| system | durability | ops/s | p99 ms | vs BudgetGrains reserve | load avg before | note |"
echo "|---|---|---|---|---|---|---|"
for r in "${ROWS[@]}"; do
    IFS='|' read -r system durability ops p99 l note <<<"$r"
    ratio=$(awk -v a="$ops" -v b="$base" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else printf "–" }')
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$system" "$durability" "$ops" "$p99" "$ratio" "$l" "$note"
done
