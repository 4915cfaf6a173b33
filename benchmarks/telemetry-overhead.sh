#!/usr/bin/env bash
# Admission throughput with telemetry off, then on (metrics scraped every 5 s, tracing exported over OTLP), alternating,
# one silo process per run, the load generator as the client. Prints one markdown row per run.
#
#   dotnet build -c Release benchmarks/BudgetGrains.LoadGen    # builds the silo too
#   benchmarks/telemetry-overhead.sh [seconds per run, default 10] [rounds, default 2] [scenario, default reserve-commit]
#   MODES="off metrics tracing on" benchmarks/telemetry-overhead.sh 8 2     # each part on its own
# Each run first loads its silo WARMUP_SECONDS (default 15) unmeasured, past tiered compilation (see compare.sh).
# "on" points OTLP at a closed local port: spans and metrics are produced and exported in the background as in
# production, and the export fails off the hot path (the collector's own cost is not part of the silo's).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN=${1:-10}
PAIRS=${2:-2}
SCENARIO=${3:-reserve-commit}
LOADGEN=benchmarks/BudgetGrains.LoadGen/bin/Release/net10.0/BudgetGrains.LoadGen.dll
SERVER=src/BudgetGrains.Server/bin/Release/net10.0/BudgetGrains.Server.dll
for built in "$LOADGEN" "$SERVER"; do
    [[ -f $built ]] || { echo "$built not found; first run: dotnet build -c Release benchmarks/BudgetGrains.LoadGen" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/budgetgrains-telemetry.XXXXXX)
PID=""
SCRAPER=""
cleanup() {
    [[ -z $SCRAPER ]] || kill "$SCRAPER" 2>/dev/null || true
    [[ -z $PID ]] || { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() {
    local mode=$1 n=$2 port http
    port=$(free_port); http=$(free_port)
    local env
    case $mode in
        off) env=(BudgetGrains__Telemetry__Metrics=false BudgetGrains__Telemetry__Tracing=false) ;;
        metrics) env=(BudgetGrains__Telemetry__Metrics=true BudgetGrains__Telemetry__Tracing=false) ;;
        metrics-all) env=(BudgetGrains__Telemetry__Metrics=true BudgetGrains__Telemetry__Tracing=false BudgetGrains__Telemetry__OrleansMeters=all) ;;
        tracing) env=(BudgetGrains__Telemetry__Metrics=false BudgetGrains__Telemetry__Tracing=true BudgetGrains__Telemetry__OtlpEndpoint=http://127.0.0.1:9) ;;
        *) env=(BudgetGrains__Telemetry__Metrics=true BudgetGrains__Telemetry__Tracing=true BudgetGrains__Telemetry__OtlpEndpoint=http://127.0.0.1:9) ;;
    esac
    env "${env[@]}" dotnet "$SERVER" --listen "127.0.0.1:$port" --http "127.0.0.1:$http" --data-dir "$WORK/silo-$mode-$n" >"$WORK/silo.log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    if [[ $mode == on || $mode == metrics* ]]; then
        (while sleep 5; do curl -s -o /dev/null "http://127.0.0.1:$http/metrics"; done) &
        SCRAPER=$!
    fi
    local load
    load=$(cut -d' ' -f1 /proc/loadavg)
    dotnet "$LOADGEN" --server "http://127.0.0.1:$port" --server-pid "$PID" --scenario "$SCENARIO" --callers 64 \
        --duration "$SECONDS_PER_RUN" --warmup "${WARMUP_SECONDS:-15}" >"$WORK/lg.out" 2>&1 || { cat "$WORK/lg.out" >&2; exit 1; }
    [[ -z $SCRAPER ]] || { kill "$SCRAPER"; wait "$SCRAPER" 2>/dev/null || true; SCRAPER=""; }
    kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    local row ops silo_us
    row=$(grep '^| ' "$WORK/lg.out" | tail -1)
    ops=$(cut -d'|' -f7 <<<"$row" | tr -d ' ')
    silo_us=$(grep -oP 'server [0-9.]+ s = [0-9]+%, \K[0-9]+(?= µs per operation)' "$WORK/lg.out" || echo "?")
    echo "| $mode | $n | $load | $ops | $(cut -d'|' -f11 <<<"$row" | tr -d ' ') | $silo_us |"
}

echo "$SCENARIO, 64 callers, ${SECONDS_PER_RUN} s per run, $(nproc) cores, $(date -u +%F)"
echo
echo "| telemetry | run | load avg before | ops/s | p99 ms | silo CPU µs per operation |"
echo "|---|---|---|---|---|---|"
# MODES="off metrics metrics-all tracing on" measures each part on its own; the default compares off with everything on.
for n in $(seq "$PAIRS"); do for mode in ${MODES:-off on}; do run "$mode" "$n"; done; done
