#!/usr/bin/env bash
# The dashboard's first page as a newcomer sees it: a silo process on a fresh data directory, 10,000 budgets created
# over REST (1 cost center, 100 teams, 9,899 features), then a fresh headless chromium opening / (nothing cached) and
# reloading it (cached), several times; then the same after a silo restart (no grain active, nothing JIT-compiled).
# Prints markdown rows: time to first byte, DOMContentLoaded, the first budgets drawn, and the responses before that.
#
#   dotnet build -c Release src/BudgetGrains.Server && dotnet build -c Release benchmarks/BudgetGrains.DashboardProbe
#   benchmarks/dashboard-first-page.sh [runs, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
SERVER=src/BudgetGrains.Server/bin/Release/net10.0/BudgetGrains.Server.dll
PROBE=benchmarks/BudgetGrains.DashboardProbe/bin/Release/net10.0/BudgetGrains.DashboardProbe.dll
for built in "$SERVER" "$PROBE"; do
    [[ -f $built ]] || { echo "$built not found; first run: dotnet build -c Release src/BudgetGrains.Server && dotnet build -c Release benchmarks/BudgetGrains.DashboardProbe" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/budgetgrains-dashboard.XXXXXX)
PID=""
cleanup() {
    [[ -z $PID ]] || { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    rm -rf "$WORK"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
HTTP=$(free_port)

start() {
    dotnet "$SERVER" --listen "127.0.0.1:$PORT" --http "127.0.0.1:$HTTP" --data-dir "$WORK/data" >>"$WORK/silo.log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$HTTP/readyz" && return; sleep 0.1; done
    echo "the silo did not get ready; its log:" >&2; cat "$WORK/silo.log" >&2; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }

start
python3 - "$HTTP" <<'PY'
import http.client, json, sys, threading
port = int(sys.argv[1])
def put(conn, scope, limit, parent=""):
    body = json.dumps({"limitNanos": str(limit), "parent": parent})
    conn.request("PUT", "/api/v1/budgets/" + scope, body, {"content-type": "application/json"})
    answer = conn.getresponse(); answer.read()
    if answer.status != 200: raise SystemExit(f"PUT {scope}: {answer.status}")
conn = http.client.HTTPConnection("127.0.0.1", port)
put(conn, "cost_center/all", 1_000_000_000_000)
for t in range(100): put(conn, f"team/t{t:03d}", 100_000_000_000, "cost_center/all")
def features(first):
    c = http.client.HTTPConnection("127.0.0.1", port)
    for f in range(first, 9_899, 4): put(c, f"feature/f{f:05d}", 1_000_000_000, f"team/t{f % 100:03d}")
threads = [threading.Thread(target=features, args=(k,)) for k in range(4)]
for t in threads: t.start()
for t in threads: t.join()
PY
echo "10,000 budgets created; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "### Right after creating them (grains active)"
dotnet "$PROBE" "http://127.0.0.1:$HTTP/" --runs "$RUNS"
stop
start
echo
echo "### After a silo restart (no grain active), load average $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet "$PROBE" "http://127.0.0.1:$HTTP/" --runs "$RUNS"
