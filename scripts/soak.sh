#!/usr/bin/env bash
# Soak test: drive gunicorn with wrk at saturation on loopback, bounded in time and count.
#
#   scripts/soak.sh                      # 180 s, 32 connections, 2 workers, at most 2,000,000 requests
#   DURATION=60 CONNECTIONS=64 scripts/soak.sh
#
# Starts its own gunicorn (2 workers, RATELIMIT_ENABLED=false, production settings, JSON
# request logs to a file) on a free 127.0.0.1 port, warms it up, runs wrk with a different
# random valid report per request (scripts/soak.lua), and reports requests, errors and the
# workers' RSS at start and end. Exits 1 on any error (non-200, socket error, 5xx in the log)
# or when a worker's RSS grows by more than MAX_RSS_GROWTH_PCT after warm-up.
# Needs wrk (Debian: apt-get install wrk). Not part of pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-180}            # seconds of measured load
WARMUP=${WARMUP:-15}                 # seconds of load before the start RSS is taken
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}                # wrk threads
WORKERS=${WORKERS:-2}                # gunicorn workers
MAX_REQUESTS=${MAX_REQUESTS:-2000000}
MAX_RSS_GROWTH_PCT=${MAX_RSS_GROWTH_PCT:-20}
PYTHON=${PYTHON:-.venv/bin/python}
GUNICORN=${GUNICORN:-.venv/bin/gunicorn}
HOST=127.0.0.1                       # loopback only, by design

(( DURATION > 0 && DURATION <= 1800 )) || { echo "soak: DURATION must be 1..1800 s" >&2; exit 2; }
(( MAX_REQUESTS > 0 )) || { echo "soak: MAX_REQUESTS must be positive" >&2; exit 2; }
command -v wrk >/dev/null || { echo "soak: wrk not found (apt-get install wrk)" >&2; exit 2; }
[[ -x $GUNICORN ]] || { echo "soak: $GUNICORN not found (pip install -e .)" >&2; exit 2; }

PORT=${PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
WORK=$(mktemp -d -t triage-soak.XXXXXX)
LOG="$WORK/gunicorn.log"
URL="http://$HOST:$PORT"

export TRIAGE_ENV=production RATELIMIT_ENABLED=false SESSION_COOKIE_SECURE=false
SECRET_KEY=$("$PYTHON" -c 'import secrets; print(secrets.token_hex(32))')
export SECRET_KEY
DATA_KEY=$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
export DATA_KEY

"$GUNICORN" -w "$WORKERS" -b "$HOST:$PORT" --timeout 60 --log-level warning 'web:create_app()' >"$LOG" 2>&1 &
MASTER=$!
cleanup() {
  if kill -0 "$MASTER" 2>/dev/null; then
    kill -TERM "$MASTER" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$MASTER" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$MASTER" 2>/dev/null || true
  fi
}
trap cleanup EXIT

for _ in $(seq 150); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  kill -0 "$MASTER" 2>/dev/null || { echo "soak: gunicorn exited:" >&2; tail -20 "$LOG" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "$URL/healthz" >/dev/null || { echo "soak: gunicorn did not come up" >&2; exit 1; }

workers() { cat "/proc/$MASTER/task/$MASTER/children" 2>/dev/null || pgrep -P "$MASTER"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_all() { for pid in $(workers); do printf '%s:%s ' "$pid" "$(rss_kb "$pid")"; done; }

read -r -a PIDS <<<"$(workers | tr '\n' ' ')"
echo "soak: gunicorn $MASTER on $URL, workers ${PIDS[*]}; logs in $WORK"
echo "soak: RSS after boot (KB):   $(rss_all)"

wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" -s scripts/soak.lua "$URL" -- 0 >"$WORK/warmup.txt" || true
declare -A START
for pid in "${PIDS[@]}"; do START[$pid]=$(rss_kb "$pid"); done
echo "soak: RSS after warm-up (KB): $(rss_all)"
lines_before=$(wc -l <"$LOG")

per_thread=$(( (MAX_REQUESTS + THREADS - 1) / THREADS ))
echo "soak: wrk -t $THREADS -c $CONNECTIONS -d ${DURATION}s (at most $MAX_REQUESTS requests)"
(
  while sleep 30; do echo "soak:   RSS at $(date -u +%T) (KB): $(rss_all)"; done
) &
SAMPLER=$!
wrk -t "$THREADS" -c "$CONNECTIONS" -d "${DURATION}s" --timeout 10s --latency -s scripts/soak.lua "$URL" -- "$per_thread" \
  | tee "$WORK/wrk.txt"
kill "$SAMPLER" 2>/dev/null || true

echo "soak: RSS at end (KB):       $(rss_all)"
summary=$(grep '^SOAK ' "$WORK/wrk.txt")
get() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$summary"; }
errors=$(( $(get non200) + $(get connect_errors) + $(get read_errors) + $(get write_errors) + $(get timeouts) ))
logged_5xx=$(tail -n +"$((lines_before + 1))" "$LOG" | grep -c '"status":5' || true)
other_lines=$(tail -n +"$((lines_before + 1))" "$LOG" | grep -vc '^{"time"' || true)
restarts=$(grep -ci 'booting worker\|worker timeout\|worker.*exited' "$LOG" || true)

status=0
growth_report=""
for pid in "${PIDS[@]}"; do
  end=$(rss_kb "$pid")
  if [[ $end == 0 ]]; then growth_report+="$pid:gone "; status=1; continue; fi
  pct=$(( (end - START[$pid]) * 100 / START[$pid] ))
  growth_report+="$pid:${START[$pid]}->${end}KB(${pct}%) "
  (( pct <= MAX_RSS_GROWTH_PCT )) || status=1
done
echo "soak: result: $summary"
echo "soak: errors=$errors logged_5xx=$logged_5xx non_json_log_lines=$other_lines worker_restarts=$restarts"
echo "soak: worker RSS growth after warm-up: $growth_report(limit ${MAX_RSS_GROWTH_PCT}%)"
(( errors == 0 && logged_5xx == 0 && restarts == 0 )) || status=1
[[ $status == 0 ]] && echo "soak: PASS" || echo "soak: FAIL"
exit "$status"
