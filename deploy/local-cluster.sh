#!/usr/bin/env bash
# A throw-away BudgetGrains cluster on this machine: one PostgreSQL (Debian's binaries, a temporary data directory,
# a loopback port) and N silos on it, all on 127.0.0.1.
#
#   deploy/local-cluster.sh up [N]    start PostgreSQL and N silos (default 3); one line per silo when each is ready:
#                                     silo <i> pid <pid> grpc http://127.0.0.1:<port> rest http://127.0.0.1:<port>
#   deploy/local-cluster.sh down      stop everything `up` started and delete its files
#
# <pid> is the silo's own process (the built executable, not a wrapper), so `kill -9 <pid>` kills that silo.
# Everything lives in $BUDGETGRAINS_CLUSTER_DIR (default /tmp/budgetgrains-local-cluster): cluster.env (PostgreSQL's
# port and connection string), silos.txt (the lines above), silo<i>.log, pg/. BUDGETGRAINS_SERVER names the silo
# executable, or its BudgetGrains.Server.dll (run as `dotnet <dll>`, still the silo's own process); by default the
# Release build of src/BudgetGrains.Server (built when missing).
set -euo pipefail

DIR=${BUDGETGRAINS_CLUSTER_DIR:-/tmp/budgetgrains-local-cluster}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
READY_TIMEOUT=${BUDGETGRAINS_READY_TIMEOUT:-120}

pg_bin() {
    local bin
    for bin in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [[ -x $bin/initdb && -x $bin/pg_ctl ]] && { echo "$bin"; return; }
    done
    echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install them: apt-get install -y postgresql" >&2
    exit 2
}

# PostgreSQL refuses to run as root: then its programs run as the postgres user the Debian package creates.
as_pg() {
    if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

server_executable() {
    if [[ -n ${BUDGETGRAINS_SERVER:-} ]]; then echo "$BUDGETGRAINS_SERVER"; return; fi
    local exe=$ROOT/src/BudgetGrains.Server/bin/Release/net10.0/BudgetGrains.Server
    if [[ ! -x $exe ]]; then
        echo "building the silo (Release) ..." >&2
        dotnet build -c Release "$ROOT/src/BudgetGrains.Server" >"$DIR/build.log" 2>&1 || { cat "$DIR/build.log" >&2; exit 1; }
    fi
    echo "$exe"
}

up() {
    local count=${1:-3}
    [[ $count =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 up [N]   (N silos, at least 1)" >&2; exit 2; }
    if [[ -e $DIR ]]; then echo "$DIR exists: a cluster is up already (or left over); run: $0 down" >&2; exit 1; fi
    mkdir -p "$DIR"
    chmod 755 "$DIR"
    trap 'echo "start failed; cleaning up" >&2; down >/dev/null 2>&1 || true' ERR
    local bin exe port connection
    bin=$(pg_bin)
    exe=$(server_executable)
    port=$(free_port)
    mkdir -p "$DIR/pg"
    [[ $(id -u) != 0 ]] || chown postgres "$DIR/pg"
    as_pg "$bin/initdb" -D "$DIR/pg/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$DIR/initdb.log" 2>&1
    as_pg "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/postgres.log" -w -t 60 start \
        -o "-p $port -k $DIR/pg -c listen_addresses=127.0.0.1 -c max_connections=300" >/dev/null
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres budgetgrains
    connection="Host=127.0.0.1;Port=$port;Username=postgres;Database=budgetgrains"
    printf 'PG_BIN=%s\nPG_PORT=%s\nPOSTGRES=%q\n' "$bin" "$port" "$connection" >"$DIR/cluster.env"

    local i pid
    for ((i = 1; i <= count; i++)); do
        # The executable itself in the background: $! is the silo's own pid.
        local run=("$exe")
        [[ $exe != *.dll ]] || run=(dotnet "$exe")
        nohup "${run[@]}" --storage postgres --postgres "$connection" --cluster true \
            --listen 127.0.0.1:0 --http 127.0.0.1:0 --data-dir "$DIR/silo$i" \
            >"$DIR/silo$i.log" 2>&1 </dev/null &
        echo "$!" >"$DIR/silo$i.pid"
    done
    : >"$DIR/silos.txt"
    for ((i = 1; i <= count; i++)); do
        pid=$(cat "$DIR/silo$i.pid")
        local deadline=$((SECONDS + READY_TIMEOUT)) grpc="" rest=""
        until grpc=$(grep -o 'silo ready on http://127.0.0.1:[0-9]*' "$DIR/silo$i.log" | grep -o 'http://.*'); do
            if ! kill -0 "$pid" 2>/dev/null; then echo "silo $i exited before it was ready:" >&2; tail -20 "$DIR/silo$i.log" >&2; false; fi
            if ((SECONDS > deadline)); then echo "silo $i not ready after ${READY_TIMEOUT}s:" >&2; tail -20 "$DIR/silo$i.log" >&2; false; fi
            sleep 0.2
        done
        rest=$(grep -o 'REST API on http://127.0.0.1:[0-9]*' "$DIR/silo$i.log" | grep -o 'http://.*')
        echo "silo $i pid $pid grpc $grpc rest $rest" | tee -a "$DIR/silos.txt"
    done
    trap - ERR
}

down() {
    [[ -d $DIR ]] || { echo "no local cluster in $DIR"; return 0; }
    local file pid
    for file in "$DIR"/silo*.pid; do
        [[ -f $file ]] || continue
        pid=$(cat "$file")
        kill "$pid" 2>/dev/null || true
    done
    for file in "$DIR"/silo*.pid; do
        [[ -f $file ]] || continue
        pid=$(cat "$file")
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ -f $DIR/pg/data/postmaster.pid ]]; then
        # shellcheck disable=SC1091
        source "$DIR/cluster.env"
        as_pg "$PG_BIN/pg_ctl" -D "$DIR/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
    echo "local cluster stopped; $DIR removed"
}

case ${1:-} in
    up) shift; up "$@" ;;
    down) down ;;
    *) echo "usage: $0 up [N] | down" >&2; exit 2 ;;
esac
