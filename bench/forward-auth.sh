#!/usr/bin/env bash
# Forward-auth throughput and latency over loopback: wrk at 64 connections
# against /auth/forward of a release portcullis (temp SQLite), the way nginx
# calls it, with an application token in the CF_Authorization cookie (verified
# and re-evaluated on every request). Prints decisions/s and p99.
#
# wrk runs one thread by default: on a 2-core machine a second wrk thread takes
# the server's other core, and p99 then mostly measures how long a request
# waits for the scheduler's next time slice. One thread still saturates the
# server. THREADS=2 reproduces the other setting.
#
#   bench/forward-auth.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-64}
THREADS=${THREADS:-1}
BIN=${PORTCULLIS_BIN:-target/release/portcullis}
[ -x "$BIN" ] || cargo build --release -p portcullis-cli
if ! command -v wrk >/dev/null; then
  SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y -qq wrk >/dev/null
fi

WORK=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
TOKEN="bench-$RANDOM$RANDOM"
# The server logs at `error` unless PORTCULLIS_LOG says otherwise (at `info`
# every decision also writes a JSON log line).
LOG_LEVEL=${PORTCULLIS_LOG:-error}
PORTCULLIS_ADMIN_TOKEN=$TOKEN PORTCULLIS_LOG=$LOG_LEVEL \
  "$BIN" serve --listen "127.0.0.1:$PORT" --database "sqlite://$WORK/p.db" >"$WORK/log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
api() { curl -fsS -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$2" "http://127.0.0.1:$PORT$1"; }
api /client/v4/accounts/bench/access/apps \
  '{"name":"app","domain":"app.example.com","type":"self_hosted","policies":[{"name":"staff","decision":"allow","include":[{"email_domain":{"domain":"example.com"}}],"require":[{"geo":{"country_code":"US"}}]}]}' >/dev/null
sleep 0.3
JWT=$(api /v1/accounts/bench/decide '{"resource":{"host":"app.example.com"},"identity":{"email":"alice@example.com"},"network":{"country":"US"},"issue_token":true}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
# Sanity: one call through the same headers wrk sends.
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-Host: app.example.com' -H 'X-Forwarded-Uri: /' \
  -H 'CF-IPCountry: US' -H "Cookie: CF_Authorization=$JWT" "http://127.0.0.1:$PORT/auth/forward")
[ "$status" = 200 ] || { echo "forward-auth answered $status, expected 200" >&2; exit 1; }

echo "wrk -t$THREADS -c$CONNS -d${DURATION}s --latency http://127.0.0.1:$PORT/auth/forward (CF_Authorization cookie)"
wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
  -H 'X-Forwarded-Host: app.example.com' -H 'X-Forwarded-Uri: /' -H 'CF-IPCountry: US' \
  -H "Cookie: CF_Authorization=$JWT" "http://127.0.0.1:$PORT/auth/forward" | tee "$WORK/wrk.txt"
rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
p99=$(awk '$1=="99%" {print $2}' "$WORK/wrk.txt")
non2xx=$(awk '/Non-2xx/ {print $5}' "$WORK/wrk.txt")
echo "forward-auth: ${rps} decisions/s, p99 ${p99} at ${CONNS} connections${non2xx:+ (non-2xx: $non2xx)}"
# Every decision must also have its access-log row: a run that outpaces the log
# writer (rows dropped when its queue is full) is not a valid result.
sent=$(awk '/requests in/ {print $1}' "$WORK/wrk.txt")
sleep 2
rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from access_logs where action = ?", ("login",)).fetchone()[0])' "$WORK/p.db")
echo "access-log rows: ${rows} for ${sent} completed requests (+1 sanity call, + up to ${CONNS} in flight when wrk stopped)"
