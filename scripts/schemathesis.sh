#!/usr/bin/env bash
# Runs Schemathesis against openapi.yaml and a local server it starts (and
# stops, by pid) on a free port, with an admin token of team t1: no 5xx, and
# every response conforms to the schema.
set -euo pipefail
cd "$(dirname "$0")/.."
st=${SCHEMATHESIS:-.cache/venv-st/bin/schemathesis}
server=.cache/bin/teamkeys-local
examples=${SCHEMATHESIS_MAX_EXAMPLES:-30}
export TEAMKEYS_LOCAL_JWT_SECRET=schemathesis-local-secret TEAMKEYS_CACHE=$PWD/.cache

go build -o "$server" ./cmd/teamkeys-local
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
TEAMKEYS_ADDR=127.0.0.1:$port "$server" serve >"$log" 2>&1 &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 120); do
  curl -s -o /dev/null "http://127.0.0.1:$port/" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
token=$("$server" token -sub schemathesis -team t1 -role admin)
"$st" --config-file .ci/schemathesis.toml run openapi.yaml \
  --url "http://127.0.0.1:$port" -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "$examples" --phases examples,coverage,fuzzing,stateful --seed 20261125
