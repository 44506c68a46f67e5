#!/usr/bin/env bash
# HTTP load test: the same hello-world service on magpie and on tokio, under wrk, in
# two rows: `hyper` (a hyper service_fn on hyper's HTTP/1 connection API,
# benches/src/bin/http_server.rs) and `axum` (one axum Router: magpie::hyper::serve vs
# axum::serve, benches/src/bin/axum_server.rs).
#
#   benches/http-load.sh                # both apps, 10 s per run, 2 workers, port 8080
#   APPS=axum DURATION=30s WORKERS=4 PORT=9000 benches/http-load.sh
#
# Builds the servers (release), installs wrk with apt-get when it is missing, then for
# each app and runtime: start the server, run
#   wrk -t2 -c50  -d$DURATION --latency http://127.0.0.1:$PORT/
#   wrk -t2 -c500 -d$DURATION --latency http://127.0.0.1:$PORT/
# stop the server, and print requests/s and p99 latency with the magpie/tokio ratios.
# When perf is installed (PERF=0 turns it off) the server's CPU time during each run is
# measured with `perf stat -p` and reported as CPU microseconds per request: on a box
# whose cores are shared (with wrk, or with other work) that is steadier than req/s.
# Not part of CI (CI only compiles the benches).
#
# The server and wrk run on the same machine and share its cores: on a small machine
# the numbers measure the whole box (client included), so compare the ratio, not the
# absolute values.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WORKERS=${WORKERS:-2}
PORT=${PORT:-8080}
THREADS=${THREADS:-2}
CONNS=${CONNS:-"50 500"}
RUNTIMES=${RUNTIMES:-"magpie tokio"}
APPS=${APPS:-"hyper axum"}
PERF=${PERF:-$(command -v perf >/dev/null 2>&1 && echo 1 || echo 0)}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"

if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk not found: installing it with apt-get"
    SUDO=""
    if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk
fi

echo "building the servers (release)"
cargo build --release -q -p magpie-benches --bin http_server --bin axum_server
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
declare -A SERVER_OF=([hyper]="$target_dir/release/http_server" [axum]="$target_dir/release/axum_server")

# wrk's "99%   1.23ms" -> milliseconds
to_ms() {
    awk '{
        v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000; else if (u == "m") v *= 60000;
        printf "%.2f", v
    }'
}

server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap stop_server EXIT

declare -A RPS P99 CPU

# Measures one app on every runtime and prints its tables.
run_app() {
    local app=$1 SERVER=${SERVER_OF[$1]}
    for rt in $RUNTIMES; do
        "$SERVER" --runtime "$rt" --port "$PORT" --workers "$WORKERS" >"$OUT/server-$app-$rt.log" 2>&1 &
        server_pid=$!
        # wait until it accepts
        up=""
        for _ in $(seq 200); do
            if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then up=1; break; fi
            sleep 0.05
        done
        if [ -z "$up" ]; then
            echo "the $rt server did not start:"; cat "$OUT/server-$app-$rt.log"; exit 1
        fi
        # warm-up (not measured)
        wrk -t"$THREADS" -c50 -d2s "http://127.0.0.1:$PORT/" >/dev/null
        for c in $CONNS; do
            log="$OUT/wrk-$app-$rt-c$c.txt"
            echo "== $app on $rt: wrk -t$THREADS -c$c -d$DURATION --latency"
            perf_pid=""
            if [ "$PERF" = 1 ]; then
                perf stat -x, -e task-clock -p "$server_pid" -o "$OUT/perf-$app-$rt-c$c.txt" &
                perf_pid=$!
            fi
            wrk -t"$THREADS" -c"$c" -d"$DURATION" --latency "http://127.0.0.1:$PORT/" | tee "$log"
            CPU[$rt,$c]="-"
            if [ -n "$perf_pid" ]; then
                kill -INT "$perf_pid"; wait "$perf_pid" || true
                total=$(awk '/requests in/ {print $1}' "$log")
                CPU[$rt,$c]=$(awk -F, -v n="$total" '$3 == "task-clock" { printf "%.2f", $1 * 1000 / n }' "$OUT/perf-$app-$rt-c$c.txt")
            fi
            RPS[$rt,$c]=$(awk '/^Requests\/sec:/ {print $2}' "$log")
            P99[$rt,$c]=$(awk '$1 == "99%" {print $2}' "$log" | to_ms)
            if grep -q "Non-2xx\|Socket errors" "$log"; then
                echo "note: $rt at $c connections reported errors (see above)"
            fi
        done
        stop_server
    done

    echo
    echo "== $app"
    echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); server ($WORKERS workers) and wrk (-t$THREADS) share them"
    printf '| connections | runtime | req/s | p99 (ms) | server CPU µs/req |\n|---|---|---|---|---|\n'
    for c in $CONNS; do
        for rt in $RUNTIMES; do
            printf '| %s | %s | %s | %s | %s |\n' "$c" "$rt" "${RPS[$rt,$c]}" "${P99[$rt,$c]}" "${CPU[$rt,$c]}"
        done
    done
    if [[ " $RUNTIMES " == *" magpie "* && " $RUNTIMES " == *" tokio "* ]]; then
        echo
        printf '| connections | req/s magpie/tokio | p99 magpie/tokio | CPU/req magpie/tokio |\n|---|---|---|---|\n'
        for c in $CONNS; do
            awk -v c="$c" -v rm="${RPS[magpie,$c]}" -v rt="${RPS[tokio,$c]}" \
                -v pm="${P99[magpie,$c]}" -v pt="${P99[tokio,$c]}" \
                -v cm="${CPU[magpie,$c]}" -v ct="${CPU[tokio,$c]}" \
                'BEGIN {
                    cr = (ct + 0 > 0 ? sprintf("%.2f", cm / ct) : "-");
                    printf "| %s | %.2f | %.2f | %s |\n", c, rm / rt, (pt > 0 ? pm / pt : 0), cr
                }'
        done
    fi
}

for app in $APPS; do
    run_app "$app"
done
echo "(raw wrk output in $OUT)"
