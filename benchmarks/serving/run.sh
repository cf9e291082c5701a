#!/usr/bin/env bash
# Example 13's server under load: requests per second and p50/p99 latency of single-input predictions, with one
# client and with 8 concurrent clients, with micro-batching (up to 32 inputs or 2 ms; up to 8 or 0.5 ms) and without (batches of 1).
#     benchmarks/serving/run.sh BUILD_DIR      (needs the targets 13_inference_server and serve_load)
set -euo pipefail
build=${1:-build}
server=$build/examples/13_inference_server
load=$build/benchmarks/serve_load
store=$(mktemp -d)/store
trap 'kill $pid 2>/dev/null || true; rm -rf "$(dirname "$store")"' EXIT

"$server" --train-demo --store "$store" >/dev/null
for batching in "--max-batch 32 --max-wait-us 2000" "--max-batch 8 --max-wait-us 500" "--max-batch 1 --max-wait-us 0"; do
    echo "server: $batching"
    rm -f "$store.log"
    "$server" --store "$store" --port 0 $batching > "$store.log" &
    pid=$!
    until grep -q "http://" "$store.log" 2>/dev/null; do sleep 0.1; done
    port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\).*|\1|p' "$store.log")
    "$load" "$port" 1 2000
    "$load" "$port" 8 1000
    kill $pid
    wait $pid 2>/dev/null || true
done
