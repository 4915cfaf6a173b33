#!/usr/bin/env bash
# Where the SQLite journal's writes go: runs one load-generator scenario against a fresh silo, stops the silo with
# kill -9 (so its WAL is left as written, not checkpointed away), then reads the WAL frame by frame and names the table
# each page belongs to (SQLite's dbstat). Prints page frames and WAL bytes per admitted operation, by table. A count,
# not a timing: it does not depend on how busy the machine is (only batch sizes do, a little).
#
#   dotnet build -c Release benchmarks/BudgetGrains.LoadGen     # builds the silo too
#   benchmarks/wal-frames.sh [scenario, default reserve] [seconds, default 6]
# The reserve scenario releases the holds it left open at its end, so each admitted reservation is written twice.
set -euo pipefail
cd "$(dirname "$0")/.."
SCENARIO=${1:-reserve}
SECONDS_TO_RUN=${2:-6}
SERVER=src/BudgetGrains.Server/bin/Release/net10.0/BudgetGrains.Server.dll
LOADGEN=benchmarks/BudgetGrains.LoadGen/bin/Release/net10.0/BudgetGrains.LoadGen.dll
for built in "$SERVER" "$LOADGEN"; do
    [[ -f $built ]] || { echo "$built not found; first run: dotnet build -c Release benchmarks/BudgetGrains.LoadGen" >&2; exit 2; }
done
python3 -c 'import sqlite3; sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING dbstat")' 2>/dev/null \
    || { echo "python3 with SQLite's dbstat table is needed (Debian's python3 has it)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/budgetgrains-wal.XXXXXX)
PID=""
cleanup() { [[ -n $PID ]] && kill -9 "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dotnet "$SERVER" --listen "127.0.0.1:$PORT" --data-dir "$WORK/data" >"$WORK/silo.log" 2>&1 &
PID=$!
until grep -q "ready on" "$WORK/silo.log"; do
    kill -0 "$PID" 2>/dev/null || { cat "$WORK/silo.log" >&2; exit 1; }
    sleep 0.2
done
dotnet "$LOADGEN" --server "http://127.0.0.1:$PORT" --scenario "$SCENARIO" --callers 64 --duration "$SECONDS_TO_RUN" --warmup 0 >"$WORK/lg.out" 2>&1 \
    || { cat "$WORK/lg.out" >&2; exit 1; }
# The admitted column of the load generator's markdown row.
ADMITTED=$(grep "^| $SCENARIO " "$WORK/lg.out" | tail -1 | cut -d'|' -f14 | tr -d ' ,')
kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=""
python3 - "$WORK/data/budgetgrains.db" "$ADMITTED" <<'PY'
import collections, sqlite3, struct, sys
db, admitted = sys.argv[1], int(sys.argv[2])
wal = open(db + "-wal", "rb").read()
_, _, page_size, _, salt1, salt2, _, _ = struct.unpack(">IIIIIIII", wal[:32])
offset, frames, commits, pages = 32, 0, 0, collections.Counter()
while offset + 24 + page_size <= len(wal):
    page, db_size, s1, s2, _, _ = struct.unpack(">IIIIII", wal[offset:offset + 24])
    if (s1, s2) != (salt1, salt2): break   # frames of an earlier generation of the log
    pages[page] += 1; frames += 1; commits += db_size > 0
    offset += 24 + page_size
owner = dict((page, name) for name, page in sqlite3.connect(db).execute("SELECT name, pageno FROM dbstat"))
by_table = collections.Counter()
for page, count in pages.items(): by_table[owner.get(page, "(free or other)")] += count
print(f"admitted {admitted}, batches {commits}, page frames {frames}: {frames / admitted:.2f} frames and "
      f"{frames * (page_size + 24) // admitted} WAL bytes per admitted operation")
print("frames per admitted operation, by table: " + ", ".join(f"{name} {count / admitted:.2f}" for name, count in by_table.most_common(6)))
PY
