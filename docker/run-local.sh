#!/usr/bin/env bash
# The deployment topology of docker/compose.yaml on this machine, without Docker:
#   local PostgreSQL (database genba_local) + local Redis
#   → `genba db upgrade` once
#   → N independent `genba serve` workers on 127.0.0.1:8001..800N
#   → a small round-robin reverse proxy on 127.0.0.1:8000 (the issuer, http://localhost:8000)
# Ctrl-C (or SIGTERM) stops every process it started, gracefully, and waits for them.
#
# Settings (environment variables, all optional):
#   GENBA_LOCAL_WORKERS=2            number of workers
#   GENBA_LOCAL_PORT=8000            proxy port; the issuer is http://localhost:<port>
#   GENBA_LOCAL_FIRST_PORT=8001      first worker port (workers use consecutive ports)
#   GENBA_LOCAL_WORKER_PORTS="a b"   explicit worker ports instead (overrides the two above)
#   GENBA_LOCAL_DB=genba_local       PostgreSQL database, created if missing (never dropped)
#   GENBA_LOCAL_PG_URL=postgresql://postgres@127.0.0.1:5432/postgres   admin connection
#   GENBA_LOCAL_REDIS_URL=redis://127.0.0.1:6379/0
#   GENBA_LOCAL_STATE_DIR=var/local  secret key file and logs
#   GENBA_LOCAL_PYTHON=.venv/bin/python   the interpreter with genba installed (`make venv`)
#   GENBA_LOCAL_READY_TIMEOUT=60     seconds to wait for every process to answer
# Other GENBA_* settings (e.g. GENBA_ISSUER, GENBA_SECRET_KEY) pass through to the workers.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORKERS="${GENBA_LOCAL_WORKERS:-2}"
PROXY_PORT="${GENBA_LOCAL_PORT:-8000}"
FIRST_PORT="${GENBA_LOCAL_FIRST_PORT:-$((PROXY_PORT + 1))}"
DB_NAME="${GENBA_LOCAL_DB:-genba_local}"
PG_ADMIN_URL="${GENBA_LOCAL_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
REDIS_URL="${GENBA_LOCAL_REDIS_URL:-redis://127.0.0.1:6379/0}"
STATE_DIR="${GENBA_LOCAL_STATE_DIR:-$ROOT/var/local}"
PYTHON="${GENBA_LOCAL_PYTHON:-$ROOT/.venv/bin/python}"
READY_TIMEOUT="${GENBA_LOCAL_READY_TIMEOUT:-60}"
STOP_TIMEOUT=30 # uvicorn's graceful shutdown gives requests in flight 20 s
GENBA="$(dirname "$PYTHON")/genba"
LOG_DIR="$STATE_DIR/logs"

die() {
  echo "run-local: $*" >&2
  exit 1
}

[[ -x "$PYTHON" && -x "$GENBA" ]] || die "no genba next to $PYTHON; run 'make venv' first (or set GENBA_LOCAL_PYTHON)"
[[ "$DB_NAME" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || die "GENBA_LOCAL_DB must be a plain lower-case name, got '$DB_NAME'"
if [[ -n "${GENBA_LOCAL_WORKER_PORTS:-}" ]]; then
  read -r -a WORKER_PORTS <<<"$GENBA_LOCAL_WORKER_PORTS"
else
  [[ "$WORKERS" =~ ^[1-9][0-9]?$ ]] || die "GENBA_LOCAL_WORKERS must be a number from 1 to 99, got '$WORKERS'"
  WORKER_PORTS=()
  for ((i = 0; i < WORKERS; i++)); do WORKER_PORTS+=("$((FIRST_PORT + i))"); done
fi
for port in "$PROXY_PORT" "${WORKER_PORTS[@]}"; do
  if ! [[ "$port" =~ ^[0-9]{1,5}$ ]] || ((port < 1 || port > 65535)); then die "not a port number: '$port'"; fi
done

# -- HTTP without curl: bash's /dev/tcp ------------------------------------------------------------

# http_status PORT PATH: print the status code of GET PATH on 127.0.0.1:PORT; fail if nothing answers.
http_status() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost:%s\r\nConnection: close\r\n\r\n' "$2" "$PROXY_PORT" >&3
    read -r -t 5 _ status _ <&3 || exit 1
    printf '%s' "$status"
  ) 2>/dev/null
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

for port in "$PROXY_PORT" "${WORKER_PORTS[@]}"; do
  if port_in_use "$port"; then die "port $port is already in use"; fi
done

# -- processes and their clean stop ----------------------------------------------------------------

PIDS=()
NAMES=()

stop_all() {
  trap - INT TERM EXIT
  ((${#PIDS[@]})) || return 0
  echo "run-local: stopping ${#PIDS[@]} processes" >&2
  kill -TERM "${PIDS[@]}" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT)) pid
  for pid in "${PIDS[@]}"; do
    while kill -0 "$pid" 2>/dev/null; do
      if ((SECONDS >= deadline)); then
        echo "run-local: process $pid did not stop in ${STOP_TIMEOUT}s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
      sleep 0.1
    done
  done
  wait 2>/dev/null || true
  PIDS=()
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# started NAME: remember the last background process ($!) under NAME.
started() {
  PIDS+=("$!")
  NAMES+=("$1")
}

# wait_ready PORT PATH INDEX: until GET PATH answers 200, while process INDEX is alive.
wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  until [[ "$(http_status "$1" "$2" || true)" == 200 ]]; do
    if ! kill -0 "${PIDS[$3]}" 2>/dev/null; then
      die "${NAMES[$3]} exited before it answered; see $LOG_DIR/${NAMES[$3]}.log"
    fi
    ((SECONDS < deadline)) || die "${NAMES[$3]} did not answer GET $2 on port $1 within ${READY_TIMEOUT}s"
    sleep 0.2
  done
}

# -- the proxy: round robin, X-Forwarded-For/-Proto/-Host, next worker if one refuses connections --

read -r -d '' PROXY_PY <<'PY' || true
import itertools, sys
import httpx, uvicorn

port, upstreams = int(sys.argv[1]), sys.argv[2:]
turn = itertools.cycle(upstreams)
transport = httpx.AsyncHTTPTransport(retries=0)  # no cookie jar, no redirects: a plain pipe
HOP = {b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
       b"transfer-encoding", b"upgrade", b"content-length", b"forwarded", b"x-forwarded-for",
       b"x-forwarded-proto", b"x-forwarded-host"}
TIMEOUT = {"connect": 2.0, "read": 60.0, "write": 60.0, "pool": 10.0}

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP]
    host = dict(scope["headers"]).get(b"host", b"localhost")
    headers += [(b"x-forwarded-for", scope["client"][0].encode()), (b"x-forwarded-proto", scope["scheme"].encode()),
                (b"x-forwarded-host", host)]
    target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
    for _ in upstreams:  # a worker that refuses the connection never saw the request: try the next
        upstream = next(turn)
        request = httpx.Request(scope["method"], f"http://{upstream}{target.decode('latin-1')}", headers=headers,
                                content=body, extensions={"timeout": TIMEOUT})
        try:
            response = await transport.handle_async_request(request)
            break
        except (httpx.ConnectError, httpx.ConnectTimeout):
            continue
    else:
        await send({"type": "http.response.start", "status": 502, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"no worker answered\n"})
        return
    out = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP - {b"content-length"}]
    out.append((b"x-genba-upstream", upstream.encode()))  # which worker answered (local runs only)
    await send({"type": "http.response.start", "status": response.status_code, "headers": out})
    try:
        async for chunk in response.stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        await response.aclose()
    await send({"type": "http.response.body", "body": b""})

uvicorn.run(app, host="127.0.0.1", port=port, lifespan="off", server_header=False, log_level="info",
            timeout_graceful_shutdown=20)
PY

# -- start ----------------------------------------------------------------------------------------

mkdir -p "$LOG_DIR"
SECRET_FILE="$STATE_DIR/secret.key"
if [[ -z "${GENBA_SECRET_KEY:-}" && ! -s "$SECRET_FILE" ]]; then
  # One secret for every worker (they decrypt each other's keys), made before any of them starts.
  (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(48))' >"$SECRET_FILE")
fi

PG_BASE="${PG_ADMIN_URL%/*}"
export GENBA_DATABASE_URL="postgresql+psycopg://${PG_BASE#*://}/$DB_NAME"
export GENBA_REDIS_URL="$REDIS_URL"
export GENBA_ISSUER="${GENBA_ISSUER:-http://localhost:$PROXY_PORT}"
export GENBA_SECRET_FILE="$SECRET_FILE"
export PYTHONUNBUFFERED=1

"$PYTHON" - "$PG_ADMIN_URL" "$DB_NAME" "$REDIS_URL" <<'PY' || die "PostgreSQL or Redis is not usable (see the line above)"
import sys
import psycopg, redis
from psycopg import sql

admin_url, name, redis_url = sys.argv[1:]
try:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"run-local: created database {name}")
except psycopg.Error as exc:
    sys.exit(f"run-local: PostgreSQL at {admin_url}: {str(exc).strip().splitlines()[0]}")
try:
    redis.Redis.from_url(redis_url, socket_connect_timeout=5).ping()
except redis.RedisError as exc:
    sys.exit(f"run-local: Redis at {redis_url}: {exc}")
PY

cd "$ROOT"
"$GENBA" db upgrade

for port in "${WORKER_PORTS[@]}"; do
  "$GENBA" serve --host 127.0.0.1 --port "$port" --workers 1 --proxy-headers >"$LOG_DIR/worker-$port.log" 2>&1 &
  started "worker-$port"
done
UPSTREAMS=()
for port in "${WORKER_PORTS[@]}"; do UPSTREAMS+=("127.0.0.1:$port"); done
"$PYTHON" -c "$PROXY_PY" "$PROXY_PORT" "${UPSTREAMS[@]}" >"$LOG_DIR/proxy.log" 2>&1 &
started proxy

for i in "${!WORKER_PORTS[@]}"; do wait_ready "${WORKER_PORTS[$i]}" /readyz "$i"; done
wait_ready "$PROXY_PORT" /readyz "$((${#PIDS[@]} - 1))"

echo "Genba ID is running: ${#WORKER_PORTS[@]} workers on database $DB_NAME and $REDIS_URL"
echo "  issuer  $GENBA_ISSUER  (proxy on 127.0.0.1:$PROXY_PORT, log $LOG_DIR/proxy.log)"
for port in "${WORKER_PORTS[@]}"; do
  echo "  worker  http://127.0.0.1:$port  (log $LOG_DIR/worker-$port.log)"
done
echo "Press Ctrl-C to stop."

# Until a signal arrives (the traps stop everything) or a process ends by itself (then stop the rest).
status=0
wait -n "${PIDS[@]}" || status=$?
for i in "${!PIDS[@]}"; do
  if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
    echo "run-local: ${NAMES[$i]} exited (status $status); see $LOG_DIR/${NAMES[$i]}.log" >&2
  fi
done
stop_all
exit 1
