#!/usr/bin/env bash
# CI: the non-transactional part of the contract suite against dynalite, a second server that
# validates requests the way DynamoDB does. Installs dynalite (npm, .ci/dynalite/package.json,
# into a scratch directory), starts it on 127.0.0.1 on a free port, runs tests/integration/test_contract_dynalite.py with
# DYNALITE_ENDPOINT set, and stops it. Needs node (v18+) and npm; PYTHON defaults to `python`
# (the CI venv's, when .ci/run has activated it).
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python}"
# A scratch copy of .ci/dynalite/package.json: node_modules never lands in the working tree.
dir="$(mktemp -d)"
log="$dir/dynalite.log"
pid=""
# Keep the tests' exit status: `wait` on the killed server would otherwise become the script's.
trap 'status=$?; [ -n "$pid" ] && { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }; rm -rf "$dir"; exit $status' EXIT
cp .ci/dynalite/package.json "$dir/"
# --no-package-lock: the range in package.json is the pin; dynalite runs in memory here, so
# leveldown's native build (an optional install script npm may skip) is not needed.
npm install --prefix "$dir" --no-audit --no-fund --no-package-lock --silent

port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
export NODE_PATH="$dir/node_modules"
# The CLI (node_modules/dynalite/cli.js --port P) listens on every interface; the same server,
# started through its API, listens on loopback only. Tables become ACTIVE at once.
node -e "require('dynalite')({createTableMs: 0, deleteTableMs: 0, updateTableMs: 0})
  .listen(Number(process.argv[1]), '127.0.0.1')" "$port" >"$log" 2>&1 &
pid=$!

for _ in $(seq 1 100); do
    if "$python" -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2).close()" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "dynalite did not start:" >&2
        cat "$log" >&2
        exit 1
    fi
    sleep 0.1
done

echo "== contract on dynalite (127.0.0.1:$port)"
DYNALITE_ENDPOINT="http://127.0.0.1:$port" "$python" -m pytest -q -p no:cacheprovider \
    -rs tests/integration/test_contract_dynalite.py
