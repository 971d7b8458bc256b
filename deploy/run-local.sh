#!/usr/bin/env bash
# Start N CNN Zoo Explorer replicas and nginx in front of them, all on 127.0.0.1.
#
#   deploy/run-local.sh [N]          N replicas (default 2); prints the URL to open
#
# Environment: PYTHON (default: python3 on PATH, e.g. the project's virtualenv), NGINX (default:
# nginx on PATH, Debian's package), PORT (nginx's port, default 8080), TORCH_HOME (the shared
# weights / ONNX cache; fill it once beforehand with `zoo fetch --all` and `zoo export --all`).
# Every replica reads that cache read-only (ZOO_CACHE_READONLY=1): none writes into it while it
# serves. SIGTERM or Ctrl-C stops every process this script started, by PID, and nothing else.
set -euo pipefail

N="${1:-2}"
case "$N" in '' | *[!0-9]* | 0) echo "usage: $0 [N>=1]" >&2; exit 2 ;; esac
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
NGINX="${NGINX:-nginx}"
PORT="${PORT:-8080}"
command -v "$NGINX" >/dev/null || { echo "nginx not found (Debian: apt-get install nginx)" >&2; exit 2; }
RUNDIR="$(mktemp -d "${TMPDIR:-/tmp}/zoo-replicas.XXXXXX")"
PIDS=()

stop() {
    trap - TERM INT EXIT
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    echo "stopped ${#PIDS[@]} processes; logs in $RUNDIR" >&2
}
trap 'stop; exit 0' TERM INT
trap stop EXIT

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_healthy() {  # url seconds
    local deadline=$((SECONDS + $2))
    until "$PYTHON" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$1" 2>/dev/null; do
        if ((SECONDS > deadline)); then echo "no answer from $1 within $2 s; see $RUNDIR" >&2; return 1; fi
        sleep 0.5
    done
}

UPSTREAMS=""
cd "$ROOT"
for i in $(seq 1 "$N"); do
    p="$(free_port)"
    ZOO_CACHE_READONLY=1 "$PYTHON" -m streamlit run app.py --server.address 127.0.0.1 --server.port "$p" \
        --server.headless true --browser.gatherUsageStats false --server.fileWatcherType none \
        >"$RUNDIR/replica-$i.log" 2>&1 &
    PIDS+=("$!")
    UPSTREAMS+="        server 127.0.0.1:$p max_fails=1 fail_timeout=10s;"$'\n'
    echo "replica $i: pid $!, http://127.0.0.1:$p" >&2
done
for p in $(printf '%s' "$UPSTREAMS" | grep -o '127.0.0.1:[0-9]*'); do wait_healthy "http://$p/_stcore/health" 120; done

# The app's upload limit plus the 1 MiB of multipart framing Streamlit itself allows for.
MAX_BODY="$("$PYTHON" -c 'from zoo.inference.images import DEFAULT_MAX_BYTES; print(DEFAULT_MAX_BYTES + 2**20)')"
mkdir -p "$RUNDIR"/{client_body,proxy,fastcgi,uwsgi,scgi}
USER_LINE=""
if [ "$(id -u)" = 0 ]; then USER_LINE="user $(id -un);"; fi  # workers may write request bodies to RUNDIR
{
    echo "$USER_LINE"
    sed -e "s#@RUNDIR@#$RUNDIR#g" -e "s#@LISTEN@#127.0.0.1:$PORT#g" -e "s#@MAX_BODY@#$MAX_BODY#g" \
        -e "/@UPSTREAMS@/{
r /dev/stdin
d
}" deploy/nginx.conf <<<"$UPSTREAMS"
} >"$RUNDIR/nginx.conf"
"$NGINX" -t -q -p "$RUNDIR" -c "$RUNDIR/nginx.conf"
"$NGINX" -p "$RUNDIR" -c "$RUNDIR/nginx.conf" -g "daemon off;" &
PIDS+=("$!")
wait_healthy "http://127.0.0.1:$PORT/_stcore/health" 30
echo "open http://127.0.0.1:$PORT  ($N replicas behind nginx; Ctrl-C stops them all)"
wait
